"""Detection and segmentation metrics: COCO box AP / AP50 / AP75 (and mask AP) computed by ``pycocotools``
(the reference implementation; ``pip install lucidnet[detection]``), and person IoU / Dice of semantic masks.

Ground truth per image: ``boxes`` (K, 4) ``x0, y0, x1, y1`` and optionally instance ``masks`` (K, H, W) bool;
predictions: ``boxes``, ``scores`` and optionally ``masks``. One category (person) unless labels are given.

>>> import numpy as np
>>> gt = [{"boxes": np.array([[0, 0, 10, 10]], np.float32)}]
>>> pred = [{"boxes": np.array([[0, 0, 10, 10]], np.float32), "scores": np.array([0.9], np.float32)}]
>>> round(coco_ap(gt, pred)["AP50"], 6)
1.0
"""
from __future__ import annotations

import contextlib
import io
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["coco_ap", "mask_iou_dice"]


def _pycocotools():
    try:
        from pycocotools import mask as mask_utils
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError:
        raise ImportError("COCO AP needs pycocotools: pip install pycocotools (or lucidnet[detection])") from None
    return COCO, COCOeval, mask_utils


def _xywh(b: np.ndarray) -> list[float]:
    return [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]


def _rle(mask: np.ndarray, mask_utils) -> dict:
    r = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    r["counts"] = r["counts"].decode("ascii")
    return r


def coco_ap(ground_truth: Sequence[Mapping[str, Any]], predictions: Sequence[Mapping[str, Any]],
            iou_type: str = "bbox") -> dict[str, float]:
    """``{"AP", "AP50", "AP75", "AR100"}`` of ``predictions`` against ``ground_truth`` (one dict per image, in
    the same order), COCO's definitions (101-point interpolated precision, IoU 0.50:0.05:0.95, at most 100
    detections per image). ``iou_type``: "bbox" or "segm" (needs ``masks`` on both sides). With no ground
    truth box at all the APs are -1 (COCO's "undefined")."""
    if iou_type not in ("bbox", "segm"):
        raise ValueError(f"coco_ap: iou_type must be 'bbox' or 'segm', got {iou_type!r}")
    if len(ground_truth) != len(predictions):
        raise ValueError(f"coco_ap: {len(ground_truth)} ground-truth images but {len(predictions)} predictions")
    COCO, COCOeval, mask_utils = _pycocotools()
    images, anns, dets, cats = [], [], [], set()
    for i, (g, p) in enumerate(zip(ground_truth, predictions), start=1):
        gb = np.asarray(g["boxes"], np.float64).reshape(-1, 4)
        gl = np.asarray(g.get("labels", np.zeros(len(gb))), np.int64)
        gm = g.get("masks")
        if iou_type == "segm" and (gm is None or p.get("masks") is None):
            raise ValueError(f"coco_ap: mask AP needs instance masks in the ground truth and the predictions "
                             f"(image {i} has none)")
        h, w = (gm.shape[1:] if gm is not None and len(gm) else g.get("size", (int(gb[:, 3].max(initial=1)) + 1,
                                                                                 int(gb[:, 2].max(initial=1)) + 1)))
        images.append({"id": i, "height": int(h), "width": int(w)})
        for k, b in enumerate(gb):
            ann = {"id": len(anns) + 1, "image_id": i, "category_id": int(gl[k]) + 1, "bbox": _xywh(b),
                   "iscrowd": 0, "area": float((b[2] - b[0]) * (b[3] - b[1]))}
            if gm is not None:
                ann["area"] = float(gm[k].sum())
                if iou_type == "segm":
                    ann["segmentation"] = _rle(gm[k], mask_utils)
            anns.append(ann)
            cats.add(int(gl[k]) + 1)
        pb = np.asarray(p["boxes"], np.float64).reshape(-1, 4)
        pl = np.asarray(p.get("labels", np.zeros(len(pb))), np.int64)
        for k, b in enumerate(pb):
            det = {"image_id": i, "category_id": int(pl[k]) + 1, "bbox": _xywh(b), "score": float(p["scores"][k])}
            if iou_type == "segm":
                det["segmentation"] = _rle(p["masks"][k], mask_utils)
            dets.append(det)
            cats.add(int(pl[k]) + 1)
    if not anns:
        return {"AP": -1.0, "AP50": -1.0, "AP75": -1.0, "AR100": -1.0}
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {"images": images, "annotations": anns, "categories": [{"id": c} for c in sorted(cats)]}
        gt.createIndex()
        dt = gt.loadRes(dets) if dets else COCO()
        if not dets:
            return {"AP": 0.0, "AP50": 0.0, "AP75": 0.0, "AR100": 0.0}
        ev = COCOeval(gt, dt, iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    s = ev.stats
    return {"AP": float(s[0]), "AP50": float(s[1]), "AP75": float(s[2]), "AR100": float(s[8])}


def mask_iou_dice(predicted: Sequence[np.ndarray], truth: Sequence[np.ndarray]) -> dict[str, float]:
    """Person IoU and Dice of boolean masks (one (H, W) pair per image): pooled over every pixel of every
    image (``iou``, ``dice``) and averaged over images (``mean_iou``; an image where both are empty counts 1).

    >>> a, b = np.zeros((2, 2), bool), np.zeros((2, 2), bool); a[0] = True; b[:, 0] = True
    >>> mask_iou_dice([a], [b])
    {'iou': 0.3333333333333333, 'dice': 0.5, 'mean_iou': 0.3333333333333333}
    """
    if len(predicted) != len(truth):
        raise ValueError(f"mask_iou_dice: {len(predicted)} predicted masks but {len(truth)} true ones")
    inter = union = total = 0
    per = []
    for p, t in zip(predicted, truth):
        if p.shape != t.shape:
            raise ValueError(f"mask_iou_dice: a predicted mask is {p.shape}, its truth {t.shape}")
        i, u = int(np.logical_and(p, t).sum()), int(np.logical_or(p, t).sum())
        inter, union, total = inter + i, union + u, total + int(p.sum()) + int(t.sum())
        per.append(i / u if u else 1.0)
    return {"iou": inter / union if union else 1.0, "dice": 2 * inter / total if total else 1.0,
            "mean_iou": float(np.mean(per)) if per else 1.0}
