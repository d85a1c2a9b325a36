"""Detection and segmentation of whole images with a trained ``PedestrianNet``: letterbox, one forward pass
per batch, boxes (FCOS post-processing) and the person mask mapped back to each image's own pixels, and one
instance mask per box (the person mask within the box).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ...autograd import no_grad
from ...tensor import Tensor
from .fcos import postprocess
from .joint import Letterbox, Sample, collate_images
from .model import level_points

__all__ = ["Prediction", "predict_images", "instance_masks"]


@dataclass
class Prediction:
    """One image's detections in its own pixels: ``boxes`` (D, 4), ``scores`` (D,), ``labels`` (D,); the
    person probability ``person`` (H, W) float32 when the model has a mask head (else None), and
    ``masks`` (D, H, W) bool instance masks."""

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    person: np.ndarray | None = None
    masks: np.ndarray | None = None


def instance_masks(person: np.ndarray, boxes: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """(D, H, W) bool: the person mask (probability above ``threshold``) within each box.

    >>> p = np.zeros((4, 6), np.float32); p[1:3, 1:5] = 0.9
    >>> int(instance_masks(p, np.array([[0, 0, 3, 4]], np.float32))[0].sum())
    4
    """
    h, w = person.shape
    on = person > threshold
    out = np.zeros((len(boxes), h, w), bool)
    for k, (x0, y0, x1, y1) in enumerate(boxes):
        xa, ya = max(int(np.floor(x0)), 0), max(int(np.floor(y0)), 0)
        xb, yb = min(int(np.ceil(x1)), w), min(int(np.ceil(y1)), h)
        out[k, ya:yb, xa:xb] = on[ya:yb, xa:xb]
    return out


def _resize_prob(p: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image
    return np.asarray(Image.fromarray(p.astype(np.float32), mode="F").resize((size[1], size[0]), Image.BILINEAR))


def _batch(images: Sequence[np.ndarray], letterbox: Letterbox | None) -> tuple[np.ndarray, list, list]:
    """(float32 (N, 3, H, W) in [0, 1], each image's scale, each image's (height, width) inside the batch):
    letterboxed, or (None) at their own resolution, padded to multiples of 32 (``collate_images``)."""
    if letterbox is None:
        x, sizes = collate_images(images)
        return x, [1.0] * len(images), sizes
    chunk = [letterbox(Sample(im, boxes=np.zeros((0, 4), np.float32))) for im in images]
    x = np.stack([s.image.transpose(2, 0, 1) for s in chunk]).astype(np.float32) / np.float32(255)
    return x, [s.scale for s in chunk], [s.extra["content"] for s in chunk]


def predict_images(model, images: Sequence[np.ndarray], size: int | None, batch_size: int = 8,
                   score_threshold: float = 0.05, nms_threshold: float = 0.6, max_detections: int = 100,
                   mask_threshold: float = 0.5) -> list[Prediction]:
    """Predictions for uint8 (H, W, 3) ``images`` (any sizes), each letterboxed to ``size`` x ``size``, or with
    ``size=None`` each at its own resolution (padded to multiples of 32; one image per forward pass, so that
    no image's result depends on the others')."""
    heads = tuple(model.config["heads"])
    letterbox = None if size is None else Letterbox(size)
    batch_size = batch_size if letterbox else 1
    was = model.training
    model.eval()
    out_list: list[Prediction] = []
    try:
        for start in range(0, len(images), batch_size):
            x, scales, contents = _batch(images[start:start + batch_size], letterbox)
            points, _ = level_points(x.shape[2:])
            with no_grad():
                out = model(Tensor(x))
            arrays = {k: v.numpy() for k, v in out.items()}
            for i, ((ch, cw), scale) in enumerate(zip(contents, scales)):
                h0, w0 = images[start + i].shape[:2]
                if "boxes" in heads:
                    boxes, scores, labels = postprocess(arrays["cls"][i], arrays["reg"][i], arrays["ctr"][i], points,
                                                        (ch, cw), score_threshold, nms_threshold, max_detections)
                    boxes = boxes / np.float32(scale)
                    boxes[:, 0::2] = boxes[:, 0::2].clip(0, w0)
                    boxes[:, 1::2] = boxes[:, 1::2].clip(0, h0)
                else:
                    boxes, scores, labels = np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
                pred = Prediction(boxes, scores, labels)
                if "masks" in heads:
                    logit = arrays["mask"][i, 0, :ch, :cw]
                    pred.person = _resize_prob(1 / (1 + np.exp(-logit)), (h0, w0))
                    pred.masks = instance_masks(pred.person, boxes, mask_threshold)
                out_list.append(pred)
    finally:
        model.train(was)
    return out_list
