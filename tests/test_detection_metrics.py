"""COCO AP through pycocotools on hand-made cases with known answers; person IoU and Dice."""
import numpy as np
import pytest

pytest.importorskip("pycocotools")

from lucidnet.vision.detection.metrics import coco_ap, mask_iou_dice  # noqa: E402


def box_mask(b, size=(40, 40)):
    m = np.zeros(size, bool)
    m[b[1]:b[3], b[0]:b[2]] = True
    return m


def test_ap_of_a_ranked_list():
    # 3 people in 2 images; ranked detections: hit (0.9), miss (0.8), hit (0.7); one person never found.
    # precision/recall after each: (1, 1/3), (1/2, 1/3), (2/3, 2/3). COCO's 101-point interpolation: recall
    # 0..0.33 at precision 1 (34 points), 0.34..0.66 at 2/3 (33 points), the rest 0 -> AP = 56/101 at every IoU
    g1, g2 = [[0, 0, 10, 20], [20, 0, 30, 20]], [[5, 5, 15, 30]]
    gt = [{"boxes": np.array(g1, np.float32)}, {"boxes": np.array(g2, np.float32)}]
    pred = [{"boxes": np.array([[0, 0, 10, 20], [30, 30, 39, 39]], np.float32), "scores": np.array([0.9, 0.8])},
            {"boxes": np.array([[5, 5, 15, 30]], np.float32), "scores": np.array([0.7])}]
    m = coco_ap(gt, pred)
    for key in ("AP", "AP50", "AP75"):
        assert m[key] == pytest.approx(56 / 101, abs=1e-9), key
    assert m["AR100"] == pytest.approx(2 / 3)
    # the same as masks: mask AP equals box AP here
    for g in gt:
        g["masks"] = np.stack([box_mask(b.astype(int)) for b in g["boxes"]])
    for p in pred:
        p["masks"] = np.stack([box_mask(b.astype(int)) for b in p["boxes"]])
    assert coco_ap(gt, pred, "segm")["AP"] == pytest.approx(56 / 101, abs=1e-9)


def test_ap_over_iou_thresholds():
    # IoU 100 / 160 = 0.625: a hit at the thresholds 0.50, 0.55, 0.60 only, 3 of the 10 -> AP 0.3
    gt = [{"boxes": np.array([[0, 0, 10, 10]], np.float32)}]
    pred = [{"boxes": np.array([[0, 0, 10, 16]], np.float32), "scores": np.array([0.5])}]
    m = coco_ap(gt, pred)
    assert m["AP50"] == pytest.approx(1.0) and m["AP75"] == 0.0 and m["AP"] == pytest.approx(0.3)


def test_no_detections_and_bad_input():
    gt = [{"boxes": np.array([[0, 0, 10, 10]], np.float32)}]
    assert coco_ap(gt, [{"boxes": np.zeros((0, 4)), "scores": np.zeros(0)}])["AP"] == 0.0
    with pytest.raises(ValueError, match="1 ground-truth images but 2 predictions"):
        coco_ap(gt, gt * 2)
    with pytest.raises(ValueError, match="mask AP needs instance masks"):
        coco_ap(gt, [{"boxes": np.zeros((0, 4)), "scores": np.zeros(0)}], "segm")


def test_person_iou_dice():
    t = np.zeros((4, 4), bool)
    t[:2] = True                     # 8 pixels
    p = np.zeros((4, 4), bool)
    p[1:3] = True                    # 8 pixels, 4 shared
    m = mask_iou_dice([p, t], [t, t])
    assert m["iou"] == pytest.approx((4 + 8) / (12 + 8))
    assert m["dice"] == pytest.approx(2 * 12 / (16 + 16))
    assert m["mean_iou"] == pytest.approx((4 / 12 + 1) / 2)
