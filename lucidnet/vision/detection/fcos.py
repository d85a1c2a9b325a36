"""FCOS training targets, loss and post-processing (Tian et al. 2019), for the locations of
``model.level_points``.

Targets: a location is positive for a box when it lies within ``radius`` strides of the box centre (centre
sampling) and inside the box, and the largest of its four side distances falls in its level's size range;
among several boxes, the smallest wins. Per location the dense target row is ``[class + 1 (0 background),
x0, y0, x1, y1, centre-ness]``.

Loss: focal loss over every location and class (divided by the positives), GIoU loss of the decoded boxes
weighted by the centre-ness target, binary cross-entropy of the centre-ness; the mask head adds binary
cross-entropy and soft Dice of the person mask.

>>> import numpy as np
>>> pts, strides = np.array([[10.0, 10.0], [30.0, 30.0]], np.float32), np.array([8.0, 8.0], np.float32)
>>> fcos_targets(np.array([[0, 0, 20, 20]], np.float32), np.array([0]), pts, strides, ranges={8: (0, 64)}).round(3)
array([[ 1.,  0.,  0., 20., 20.,  1.],
       [ 0.,  0.,  0.,  0.,  0.,  0.]], dtype=float32)
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ... import ops
from ...nn.losses import binary_cross_entropy_with_logits
from ...tensor import Tensor
from .boxes import batched_nms, clip_boxes_to_image, encode_ltrb, generalized_box_iou_loss
from .losses import sigmoid_focal_loss

__all__ = ["fcos_targets", "default_ranges", "DetectionLoss", "postprocess", "TARGET_COLUMNS"]

TARGET_COLUMNS = 6


def default_ranges(strides: Sequence[int]) -> dict[int, tuple[float, float]]:
    """The size range (of the largest side distance) each stride's level answers for: FCOS's 64, 128, ...
    boundaries starting at stride 8, the last level open-ended.

    >>> default_ranges((8, 16, 32))
    {8: (0.0, 64.0), 16: (64.0, 128.0), 32: (128.0, inf)}
    """
    out, lo = {}, 0.0
    for i, s in enumerate(strides):
        hi = float("inf") if i == len(strides) - 1 else 8.0 * s
        out[s] = (lo, hi)
        lo = hi
    return out


def fcos_targets(boxes: np.ndarray, labels: np.ndarray, points: np.ndarray, strides: np.ndarray,
                 ranges: Mapping[int, tuple[float, float]] | None = None, radius: float = 1.5) -> np.ndarray:
    """float32 (L, 6) dense targets of the ``points`` (L, 2) with ``strides`` (L,) for ``boxes`` (K, 4) of
    classes ``labels`` (K,)."""
    L = len(points)
    out = np.zeros((L, TARGET_COLUMNS), np.float32)
    if not len(boxes):
        return out
    ranges = ranges or default_ranges(sorted({int(s) for s in strides}))
    lo = np.array([ranges[int(s)][0] for s in strides], np.float32)
    hi = np.array([ranges[int(s)][1] for s in strides], np.float32)
    px, py = points[:, 0:1], points[:, 1:2]                               # (L, 1)
    b = boxes.astype(np.float32)
    l, t, r, bt = px - b[:, 0], py - b[:, 1], b[:, 2] - px, b[:, 3] - py  # (L, K)
    inside = np.minimum(np.minimum(l, t), np.minimum(r, bt)) > 0
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    rad = strides[:, None] * radius
    central = (np.abs(px - cx) < rad) & (np.abs(py - cy) < rad)
    far = np.maximum(np.maximum(l, t), np.maximum(r, bt))
    fits = (far >= lo[:, None]) & (far <= hi[:, None])
    ok = inside & central & fits
    area = np.where(ok, ((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]))[None, :], np.inf)
    best = area.argmin(axis=1)
    pos = np.isfinite(area[np.arange(L), best])
    k = best[pos]
    out[pos, 0] = labels[k] + 1
    out[pos, 1:5] = b[k]
    d = encode_ltrb(points[pos], b[k])
    out[pos, 5] = np.sqrt((np.minimum(d[:, 0], d[:, 2]) / np.maximum(d[:, 0], d[:, 2]))
                          * (np.minimum(d[:, 1], d[:, 3]) / np.maximum(d[:, 1], d[:, 3])))
    return out


class DetectionLoss:
    """The training loss of a ``PedestrianNet`` output dict against ``(dense targets (N, L, 6), person masks
    (N, H, W))`` (either may be None when its head is absent); the parts of the last call are in ``parts``."""

    def __init__(self, points: np.ndarray, heads: Sequence[str] = ("boxes", "masks"), num_classes: int = 1,
                 mask_weight: float = 1.0):
        self.points, self.heads, self.num_classes, self.mask_weight = points, tuple(heads), num_classes, mask_weight
        self.parts: dict[str, float] = {}

    def __call__(self, out: Mapping[str, Tensor], target: Sequence) -> Tensor:
        dense, masks = target
        total, parts = None, {}
        if "boxes" in self.heads:
            det = self.detection(out, dense.numpy() if isinstance(dense, Tensor) else np.asarray(dense))
            parts.update({k: float(v.item()) for k, v in det.items()})
            total = det["cls"] + det["box"] + det["ctr"]
        if "masks" in self.heads:
            m = self.mask(out["mask"], masks if isinstance(masks, Tensor) else Tensor(np.asarray(masks, np.float32)))
            parts["mask"] = float(m.item())
            total = m * self.mask_weight if total is None else total + m * self.mask_weight
        self.parts = parts
        return total

    def detection(self, out: Mapping[str, Tensor], dense: np.ndarray) -> dict[str, Tensor]:
        n, L = dense.shape[:2]
        if out["cls"].shape[1] != L or len(self.points) != L:
            raise ValueError(f"DetectionLoss: the model predicts {out['cls'].shape[1]} locations, the targets hold "
                             f"{L} and the loss was built for {len(self.points)}: are the images of the size the "
                             f"targets were made for?")
        labels = dense[..., 0].astype(np.int64)
        onehot = np.zeros((n, L, self.num_classes), np.float32)
        pos = np.flatnonzero(labels.ravel() > 0)
        onehot.reshape(-1, self.num_classes)[pos, labels.ravel()[pos] - 1] = 1.0
        n_pos = max(len(pos), 1)
        cls = sigmoid_focal_loss(out["cls"], Tensor(onehot), reduction="sum") / n_pos
        if not len(pos):
            zero = out["reg"].sum() * 0.0
            return {"cls": cls, "box": zero, "ctr": out["ctr"].sum() * 0.0}
        rows = dense.reshape(-1, TARGET_COLUMNS)[pos]
        pts = Tensor(np.tile(self.points, (n, 1))[pos])
        d = out["reg"].reshape(-1, 4)[pos]
        pred = ops.cat([pts - d[:, 0:2], pts + d[:, 2:4]], 1)
        ctr_t = rows[:, 5]
        giou = generalized_box_iou_loss(pred, Tensor(rows[:, 1:5]))
        box = (giou * Tensor(ctr_t)).sum() / max(float(ctr_t.sum()), 1e-6)
        ctr = binary_cross_entropy_with_logits(out["ctr"].reshape(-1)[pos], Tensor(ctr_t), reduction="sum") / n_pos
        return {"cls": cls, "box": box, "ctr": ctr}

    @staticmethod
    def mask(logits: Tensor, target: Tensor) -> Tensor:
        """Binary cross-entropy plus soft Dice (1 - 2|p t| / (|p| + |t|), per image, averaged) of (N, 1, H, W)
        logits against (N, H, W) 0/1 masks."""
        t = target.reshape(logits.shape)
        bce = binary_cross_entropy_with_logits(logits, t)
        p = ops.sigmoid(logits)
        inter = (p * t).sum(dim=(1, 2, 3))
        dice = 1 - (2 * inter + 1) / (p.sum(dim=(1, 2, 3)) + t.sum(dim=(1, 2, 3)) + 1)
        return bce + dice.mean()


def postprocess(cls: np.ndarray, reg: np.ndarray, ctr: np.ndarray, points: np.ndarray, size: tuple[int, int],
                score_threshold: float = 0.05, nms_threshold: float = 0.6, max_detections: int = 100,
                pre_nms: int = 1000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(boxes (D, 4), scores (D,), labels (D,)) of one image from its head outputs (cls logits (L, C), side
    distances (L, 4), centre-ness logits (L, 1)): score ``sqrt(sigmoid(cls) * sigmoid(ctr))`` above
    ``score_threshold``, the ``pre_nms`` best, boxes clipped to ``size`` (height, width), NMS per class,
    the ``max_detections`` best."""
    prob = 1 / (1 + np.exp(-cls.astype(np.float64)))
    c = 1 / (1 + np.exp(-ctr.astype(np.float64)))
    score = np.sqrt(prob * c)
    loc, lab = np.nonzero(score > score_threshold)
    s = score[loc, lab]
    if len(s) > pre_nms:
        top = np.argpartition(-s, pre_nms)[:pre_nms]
        loc, lab, s = loc[top], lab[top], s[top]
    p, d = points[loc], reg[loc]
    boxes = clip_boxes_to_image(np.concatenate([p - d[:, :2], p + d[:, 2:]], 1), size)
    ok = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    boxes, s, lab = boxes[ok], s[ok], lab[ok]
    keep = batched_nms(boxes, s, lab, nms_threshold)[:max_detections]
    return boxes[keep].astype(np.float32), s[keep].astype(np.float32), lab[keep].astype(np.int64)
