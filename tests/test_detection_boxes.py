"""Box operations and detection losses: hand-made cases with known answers, float64 gradient checks, and
parity with the same formulas written in PyTorch (no torchvision)."""
import numpy as np
import pytest

import lucidnet as ln
from lucidnet.vision.detection.boxes import (batched_nms, box_area, box_iou, clip_boxes_to_image, decode_ltrb,
                                             encode_ltrb, generalized_box_iou_loss, nms, remove_small_boxes)
from lucidnet.vision.detection.losses import sigmoid_focal_loss

from helpers import check_grad, check_parity


def test_box_iou_known_answers():
    a = np.array([[0, 0, 10, 10], [0, 0, 0, 0]], np.float32)
    b = np.array([[0, 0, 10, 10], [5, 5, 15, 15], [10, 0, 20, 10], [0, 0, 5, 10], [0, 0, 0, 0]], np.float32)
    iou = box_iou(a, b)
    np.testing.assert_allclose(iou[0], [1.0, 25 / 175, 0.0, 0.5, 0.0], rtol=1e-6)
    np.testing.assert_array_equal(iou[1], 0.0)  # empty boxes: 0, not NaN
    assert iou.dtype == np.float32 and iou.shape == (2, 5)
    np.testing.assert_array_equal(box_area(b), [100, 100, 100, 50, 0])


def test_nms_known_answers():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10.5], [20, 20, 30, 30], [21, 20, 31, 30],
                      [50, 50, 60, 60]], np.float32)
    scores = np.array([0.5, 0.9, 0.3, 0.8, 0.85, 0.1], np.float32)
    # 1 (0.9) suppresses 0 (IoU 0.68) and 2 (0.65); 4 (0.85) suppresses 3 (0.82); 5 stands alone
    np.testing.assert_array_equal(nms(boxes, scores, 0.5), [1, 4, 5])
    # at a threshold above every overlap nothing goes, in score order
    np.testing.assert_array_equal(nms(boxes, scores, 0.96), [1, 4, 3, 0, 2, 5])
    # a suppressed box suppresses nothing: 0 -> 1 (IoU 0.5 > 0.4) goes, so 2 (IoU 0 with 0) stays
    chain = np.array([[0, 0, 10, 10], [0, 0, 10, 20], [0, 10, 10, 20]], np.float32)
    np.testing.assert_array_equal(nms(chain, np.array([0.9, 0.8, 0.7]), 0.4), [0, 2])
    assert nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), 0.5).shape == (0,)


def test_batched_nms_keeps_categories_apart():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]], np.float32)
    kept = batched_nms(boxes, np.array([0.9, 0.8, 0.7]), np.array([0, 1, 0]), 0.5)
    np.testing.assert_array_equal(kept, [0, 1])


def test_nms_refuses_bad_shapes():
    with pytest.raises(ValueError, match=r"nms: expected boxes of shape \(N, 4\)"):
        nms(np.zeros((3, 5)), np.zeros(3), 0.5)
    with pytest.raises(ValueError, match="one score per box"):
        nms(np.zeros((3, 4)), np.zeros(2), 0.5)


def test_clip_and_small_boxes():
    b = np.array([[-5, 2, 50, 40], [3, 3, 4, 20]], np.float32)
    np.testing.assert_array_equal(clip_boxes_to_image(b, (30, 40)), [[0, 2, 40, 30], [3, 3, 4, 20]])
    np.testing.assert_array_equal(remove_small_boxes(b, 2), [0])


def test_ltrb_round_trip():
    rng = np.random.default_rng(0)
    pts = rng.uniform(10, 20, (7, 2))
    boxes = np.concatenate([pts - rng.uniform(1, 9, (7, 2)), pts + rng.uniform(1, 9, (7, 2))], axis=1)
    stride = rng.choice([8.0, 16.0], 7)
    d = encode_ltrb(pts, boxes, stride)
    assert (d > 0).all()
    np.testing.assert_allclose(decode_ltrb(pts, d, stride), boxes)


def _random_boxes(rng, n):
    xy = rng.uniform(0, 10, (n, 2))
    return np.concatenate([xy, xy + rng.uniform(0.5, 6, (n, 2))], axis=1)


def test_giou_loss_known_answers():
    a = ln.tensor([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
    b = ln.tensor([[0.0, 0.0, 2.0, 2.0], [2.0, 0.0, 3.0, 1.0], [0.0, 0.0, 2.0, 2.0]])
    # identical: 0; disjoint 1x1 boxes 1 apart: IoU 0, hull 3, union 2 -> 1 + 1/3; nested: IoU 1/4, hull = union
    np.testing.assert_allclose(generalized_box_iou_loss(a, b).numpy(), [0.0, 4 / 3, 0.75], rtol=1e-5, atol=1e-6)
    assert generalized_box_iou_loss(a, b, reduction="sum").shape == ()
    with pytest.raises(ValueError, match="reduction"):
        generalized_box_iou_loss(a, b, reduction="avg")


def _torch_giou(b1, b2, eps=1e-7):
    import torch
    x1, y1, x2, y2 = b1.unbind(-1)
    u1, v1, u2, v2 = b2.unbind(-1)
    inter = (torch.min(x2, u2) - torch.max(x1, u1)).clamp(min=0) * (torch.min(y2, v2) - torch.max(y1, v1)).clamp(min=0)
    union = (x2 - x1) * (y2 - y1) + (u2 - u1) * (v2 - v1) - inter
    hull = (torch.max(x2, u2) - torch.min(x1, u1)) * (torch.max(y2, v2) - torch.min(y1, v1))
    return 1 - (inter / (union + eps) - (hull - union) / (hull + eps))


def test_giou_loss_gradcheck():
    rng = np.random.default_rng(1)
    a, b = _random_boxes(rng, 6), _random_boxes(rng, 6)
    check_grad(lambda x, y: generalized_box_iou_loss(x, y), a, b)


@pytest.mark.parity
def test_giou_loss_parity():
    rng = np.random.default_rng(2)
    a, b = _random_boxes(rng, 16), _random_boxes(rng, 16)
    check_parity(lambda x, y: generalized_box_iou_loss(x, y, reduction="mean"),
                 lambda x, y: _torch_giou(x, y).mean(), a, b)


def _torch_focal(x, t, alpha=0.25, gamma=2.0):
    import torch
    p = torch.sigmoid(x)
    ce = torch.nn.functional.binary_cross_entropy_with_logits(x, t, reduction="none")
    p_t = p * t + (1 - p) * (1 - t)
    return ce * (1 - p_t) ** gamma * (alpha * t + (1 - alpha) * (1 - t))


def test_focal_loss_gradcheck():
    rng = np.random.default_rng(3)
    x, t = rng.normal(0, 2, (4, 5)), (rng.uniform(size=(4, 5)) > 0.7).astype(np.float64)
    check_grad(lambda a, b: sigmoid_focal_loss(a, b), x, t)


@pytest.mark.parity
def test_focal_loss_parity():
    rng = np.random.default_rng(4)
    x, t = rng.normal(0, 3, (6, 7)), (rng.uniform(size=(6, 7)) > 0.7).astype(np.float64)
    check_parity(lambda a, b: sigmoid_focal_loss(a, b, reduction="sum"), lambda a, b: _torch_focal(a, b).sum(), x, t)
