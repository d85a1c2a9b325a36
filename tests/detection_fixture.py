"""A tiny synthetic detection dataset: coloured rectangles on noise, with their instance masks."""
import numpy as np

from lucidnet.vision.detection.joint import Sample, mask_boxes


def rectangles(n: int, size: int = 64, seed: int = 0, max_objects: int = 2) -> list[Sample]:
    """``n`` noise images with 1 to ``max_objects`` bright rectangles each, one per half of the image (so
    they never overlap)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        image = rng.integers(0, 90, (size, size, 3), dtype=np.uint8)
        mask = np.zeros((size, size), np.uint8)
        k = int(rng.integers(1, max_objects + 1))
        slot = size // max_objects
        for i in range(1, k + 1):
            h, w = rng.integers(size // 4, size * 3 // 4), rng.integers(slot // 3, slot)
            y, x = rng.integers(0, size - h + 1), (i - 1) * slot + rng.integers(0, slot - w + 1)
            colour = rng.integers(150, 256, 3)
            image[y:y + h, x:x + w] = colour
            mask[y:y + h, x:x + w] = i
        ids = np.unique(mask)[1:]
        boxes, _ = mask_boxes(mask, ids)
        out.append(Sample(image, boxes=boxes, mask=mask, ids=ids))
    return out
