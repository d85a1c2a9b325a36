"""Drawing detections: boxes, scores and instance masks on an image (Pillow), and the report's grid of test
images with the ground truth beside the predictions.

>>> import numpy as np
>>> im = draw_detections(np.zeros((40, 60, 3), np.uint8), np.array([[5, 5, 30, 35]], np.float32),
...                      scores=np.array([0.9], np.float32))
>>> im.shape, im.dtype
((40, 60, 3), dtype('uint8'))
"""
from __future__ import annotations

import io
from typing import Sequence

import numpy as np

__all__ = ["draw_detections", "comparison_grid", "png_bytes", "PALETTE"]

PALETTE = ((230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240),
           (240, 50, 230), (210, 245, 60), (250, 190, 190), (0, 128, 128))


def draw_detections(image: np.ndarray, boxes: np.ndarray, scores: np.ndarray | None = None,
                    masks: np.ndarray | None = None, alpha: float = 0.45, width: int = 2) -> np.ndarray:
    """uint8 (H, W, 3): ``image`` with each instance mask tinted (``alpha``) and each box outlined in its
    colour, its score written above it."""
    from PIL import Image, ImageDraw
    out = image.astype(np.float32)
    if masks is not None:
        for k, m in enumerate(masks):
            c = np.asarray(PALETTE[k % len(PALETTE)], np.float32)
            out[m] = out[m] * (1 - alpha) + c * alpha
    im = Image.fromarray(out.round().astype(np.uint8))
    draw = ImageDraw.Draw(im)
    for k, b in enumerate(np.asarray(boxes).reshape(-1, 4)):
        c = PALETTE[k % len(PALETTE)]
        x0, y0 = float(b[0]), float(b[1])   # a box under a pixel wide or high is drawn one pixel wide or high
        draw.rectangle([x0, y0, max(x0, float(b[2]) - 1), max(y0, float(b[3]) - 1)], outline=c, width=width)
        if scores is not None:
            text = f"{float(scores[k]):.2f}"
            y = max(float(b[1]) - 11, 0)
            draw.rectangle([float(b[0]), y, float(b[0]) + 6 * len(text) + 2, y + 10], fill=c)
            draw.text((float(b[0]) + 1, y - 1), text, fill=(255, 255, 255))
    return np.asarray(im)


def png_bytes(image: np.ndarray) -> bytes:
    """A uint8 (H, W, 3) image as PNG bytes."""
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def comparison_grid(pairs: Sequence[tuple[np.ndarray, np.ndarray]], height: int = 240, gap: int = 6) -> np.ndarray:
    """One uint8 image: each (ground truth, prediction) pair side by side in a row, scaled to ``height``."""
    from PIL import Image
    rows = []
    for left, right in pairs:
        cells = []
        for im in (left, right):
            w = max(1, round(im.shape[1] * height / im.shape[0]))
            cells.append(np.asarray(Image.fromarray(im).resize((w, height), Image.BILINEAR)))
        rows.append(np.concatenate([cells[0], np.full((height, gap, 3), 255, np.uint8), cells[1]], axis=1))
    width = max(r.shape[1] for r in rows)
    out = np.full((len(rows) * (height + gap), width, 3), 255, np.uint8)
    for i, r in enumerate(rows):
        out[i * (height + gap):i * (height + gap) + height, :r.shape[1]] = r
    return out
