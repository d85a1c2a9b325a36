"""Box operations, named and defined as torchvision's (``torchvision.ops``): boxes are ``(x0, y0, x1, y1)``
with ``x0 <= x1`` and ``y0 <= y1``.

NumPy functions (no gradient) serve target assignment, post-processing and evaluation: :func:`box_area`,
:func:`box_iou`, :func:`nms`, :func:`batched_nms`, :func:`clip_boxes_to_image`, :func:`remove_small_boxes`, and
the anchor-free box encoding of FCOS (:func:`encode_ltrb` / :func:`decode_ltrb`: distances from a point to the
four sides, in units of the feature stride). :func:`generalized_box_iou_loss` is a differentiable loss on
lucidnet Tensors.

>>> b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], np.float32)
>>> box_iou(b[:1], b).round(4)
array([[1.    , 0.3333, 0.    ]], dtype=float32)
>>> nms(b, np.array([0.9, 0.8, 0.7], np.float32), iou_threshold=0.3)
array([0, 2])
"""
from __future__ import annotations

import numpy as np

from ... import ops
from ...tensor import Tensor

__all__ = ["box_area", "box_iou", "nms", "batched_nms", "clip_boxes_to_image", "remove_small_boxes",
           "encode_ltrb", "decode_ltrb", "generalized_box_iou_loss"]


def _boxes(b: np.ndarray, who: str) -> np.ndarray:
    b = np.asarray(b)
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f"{who}: expected boxes of shape (N, 4) as x0, y0, x1, y1; got shape {b.shape}")
    return b


def box_area(boxes: np.ndarray) -> np.ndarray:
    """(N,) areas of (N, 4) boxes."""
    b = _boxes(boxes, "box_area")
    return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])


def box_iou(boxes1: np.ndarray, boxes2: np.ndarray) -> np.ndarray:
    """(N, M) intersection over union of every pair of ``boxes1`` (N, 4) and ``boxes2`` (M, 4); 0 where both
    boxes are empty."""
    a, b = _boxes(boxes1, "box_iou"), _boxes(boxes2, "box_iou")
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0).astype(np.result_type(a, b, np.float32))


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression: the indices (int64) of the boxes kept, by decreasing score. A box is
    dropped when its IoU with a kept box of higher score exceeds ``iou_threshold`` (torchvision's ``nms``).
    The IoU matrix is computed once; each kept box suppresses the rest in one vector operation."""
    b = _boxes(boxes, "nms")
    scores = np.asarray(scores)
    if scores.shape != (len(b),):
        raise ValueError(f"nms: expected one score per box ({len(b)}), got shape {scores.shape}")
    order = np.argsort(-scores, kind="stable")
    iou = box_iou(b[order], b[order])
    alive = np.ones(len(order), bool)
    for i in range(len(order)):
        if alive[i]:
            alive[i + 1:] &= iou[i, i + 1:] <= iou_threshold
    return order[alive].astype(np.int64)


def batched_nms(boxes: np.ndarray, scores: np.ndarray, idxs: np.ndarray, iou_threshold: float) -> np.ndarray:
    """NMS within each category of ``idxs`` (boxes of different categories never suppress each other): the
    kept indices by decreasing score."""
    b = _boxes(boxes, "batched_nms").astype(np.float64)
    if not len(b):
        return np.zeros(0, np.int64)
    offset = np.asarray(idxs, np.float64)[:, None] * (b.max() + 1)
    return nms(b + offset, scores, iou_threshold)


def clip_boxes_to_image(boxes: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Boxes clipped to an image of ``size`` (height, width)."""
    b = _boxes(boxes, "clip_boxes_to_image").copy()
    h, w = size
    b[:, 0::2] = np.clip(b[:, 0::2], 0, w)
    b[:, 1::2] = np.clip(b[:, 1::2], 0, h)
    return b


def remove_small_boxes(boxes: np.ndarray, min_size: float) -> np.ndarray:
    """Indices of the boxes whose sides are both at least ``min_size``."""
    b = _boxes(boxes, "remove_small_boxes")
    return np.flatnonzero(((b[:, 2] - b[:, 0]) >= min_size) & ((b[:, 3] - b[:, 1]) >= min_size))


def encode_ltrb(points: np.ndarray, boxes: np.ndarray, stride: float | np.ndarray = 1.0) -> np.ndarray:
    """(N, 4) distances (left, top, right, bottom) from ``points`` (N, 2) as x, y to the sides of ``boxes``
    (N, 4), divided by ``stride`` (a number or (N,)): FCOS's regression target (positive inside the box).

    >>> encode_ltrb(np.array([[4.0, 4.0]]), np.array([[0.0, 2.0, 8.0, 12.0]]), 2.0)
    array([[2., 1., 2., 4.]])
    """
    p, b = np.asarray(points), _boxes(boxes, "encode_ltrb")
    s = np.asarray(stride, dtype=np.result_type(p, b)).reshape(-1, 1) if np.ndim(stride) else stride
    return np.stack([p[:, 0] - b[:, 0], p[:, 1] - b[:, 1], b[:, 2] - p[:, 0], b[:, 3] - p[:, 1]], axis=1) / s


def decode_ltrb(points: np.ndarray, distances: np.ndarray, stride: float | np.ndarray = 1.0) -> np.ndarray:
    """The boxes whose (left, top, right, bottom) distances from ``points`` are ``distances * stride``: the
    inverse of :func:`encode_ltrb`.

    >>> decode_ltrb(np.array([[4.0, 4.0]]), np.array([[2.0, 1.0, 2.0, 4.0]]), 2.0)
    array([[ 0.,  2.,  8., 12.]])
    """
    p, d = np.asarray(points), np.asarray(distances)
    d = d * (np.asarray(stride).reshape(-1, 1) if np.ndim(stride) else stride)
    return np.stack([p[:, 0] - d[:, 0], p[:, 1] - d[:, 1], p[:, 0] + d[:, 2], p[:, 1] + d[:, 3]], axis=1)


def generalized_box_iou_loss(boxes1: Tensor, boxes2: Tensor, reduction: str = "none", eps: float = 1e-7) -> Tensor:
    """``1 - GIoU`` of matched boxes (N, 4) and (N, 4) (Rezatofighi et al. 2019; torchvision's
    ``generalized_box_iou_loss``): IoU minus the share of the smallest enclosing box that the union leaves
    empty. ``reduction``: "none" (N,), "mean" or "sum". Differentiable in both arguments.

    >>> import lucidnet as ln
    >>> a = ln.tensor([[0.0, 0.0, 2.0, 2.0]]); b = ln.tensor([[1.0, 0.0, 3.0, 2.0]])
    >>> round(generalized_box_iou_loss(a, b).item(), 4)    # IoU 1/3, hull 6, union 6
    0.6667
    """
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"generalized_box_iou_loss: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
    if boxes1.ndim != 2 or boxes1.shape[-1] != 4 or tuple(boxes1.shape) != tuple(boxes2.shape):
        raise ValueError(f"generalized_box_iou_loss: expected two (N, 4) box tensors of the same shape, got "
                         f"{tuple(boxes1.shape)} and {tuple(boxes2.shape)}")
    x1, y1, x2, y2 = (boxes1[:, i] for i in range(4))
    u1, v1, u2, v2 = (boxes2[:, i] for i in range(4))
    iw = (ops.minimum(x2, u2) - ops.maximum(x1, u1)).clip(min=0.0)
    ih = (ops.minimum(y2, v2) - ops.maximum(y1, v1)).clip(min=0.0)
    inter = iw * ih
    union = (x2 - x1) * (y2 - y1) + (u2 - u1) * (v2 - v1) - inter
    iou = inter / (union + eps)
    hull = (ops.maximum(x2, u2) - ops.minimum(x1, u1)) * (ops.maximum(y2, v2) - ops.minimum(y1, v1))
    loss = 1 - (iou - (hull - union) / (hull + eps))
    if reduction == "mean":
        return loss.mean() if loss.shape[0] else loss.sum()
    return loss.sum() if reduction == "sum" else loss
