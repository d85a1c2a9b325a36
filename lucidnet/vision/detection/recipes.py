"""Pedestrian detection and segmentation recipes on Penn-Fudan (``lucidnet train --dataset pennfudan --model
detector|segmenter``, or ``run`` in Python).

``detector``: the pretrained MobileNetV2 with a feature pyramid, the FCOS head and the mask decoder: boxes,
and an instance mask per box (the person mask within it). ``segmenter``: the same backbone and decoder
without the box head (person masks only). Both train on the 120 training images of the fixed split (with
``val_split``: validation held out of those 120 only) with flips, scale jitter, random crops and colour
jitter, every image letterboxed to ``image_size`` (a multiple of 32), and are tested on the 50 test images:
COCO box AP / AP50 / AP75 and mask AP (pycocotools) for the detector, person IoU and Dice for both. ``inference``:
``native`` (the default) tests and detects each image at its own resolution (padded to multiples of 32),
``letterbox`` at ``image_size``.

>>> sorted(RECIPES), RECIPES["detector"].model["heads"]
(['detector', 'segmenter'], ['boxes', 'masks'])
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ... import __version__, models
from ...datasets.pennfudan import PennFudan
from ...inspect import Monitor
from ...inspect.report import finish_run
from ...optim.factory import build_optimizer, build_scheduler, optimizer_defaults
from ...random import generator, manual_seed
from ...train import CSVLogger, fit, rundir, steps_per_epoch
from ...train.recipe import Recipe, Run, RunOptions, data_dir
from . import joint as J
from .data import DetectionDataset, loader, split_batch
from .draw import comparison_grid, draw_detections, png_bytes
from .fcos import DetectionLoss
from .metrics import coco_ap, mask_iou_dice
from .predict import Prediction, predict_images

__all__ = ["RECIPES", "DATASETS", "TASKS", "evaluate", "detect_files", "augmentation", "samples_of"]

DATASETS = ("pennfudan",)
TASKS = ("object-detection", "person-segmentation")
_TRAIN = {"epochs": 40, "batch_size": 8, "optimizer": "adamw", "lr": 1e-3, "weight_decay": 1e-4,
          "schedule": "cosine", "val_split": 0.0}
_DATA = {"image_size": 320, "inference": "native"}
INFERENCE = ("native", "letterbox")
REPORT_IMAGES = 6  # test images drawn in report.html, ground truth beside prediction
# the report's own figures: key (plots/KEY.png) -> (title, caption); lucidnet report keeps them when it rebuilds
FIGURES = {"detections": ("Test images: ground truth (left) and prediction (right)",
                          f"The first {REPORT_IMAGES} test images; right: detections with score at least 0.3 and "
                          "their instance masks (the predicted person mask within each box; a segmenter: the "
                          "person mask).")}


def samples_of(ds: PennFudan) -> list[J.Sample]:
    """The database's images as joint-transform samples (image, instance mask, boxes)."""
    return [J.Sample(it.image, boxes=it.boxes, mask=it.mask) for it in ds]


def augmentation(size: int) -> J.JointCompose:
    """The training transform: flip, scale jitter (longer side 0.6-1.3 x ``size``), a random ``size`` crop,
    colour jitter."""
    return J.JointCompose([J.RandomHorizontalFlip(), J.RandomScale(size, (0.6, 1.3)), J.RandomCrop(size),
                           J.ColorJitter()])


def _check(recipe: Recipe) -> dict[str, Any]:
    s = {**recipe.train, **recipe.data}
    defaults = optimizer_defaults(s["optimizer"])
    s["lr"] = defaults["lr"] if s["lr"] is None else s["lr"]
    s["weight_decay"] = defaults.get("weight_decay", 0.0) if s["weight_decay"] is None else s["weight_decay"]
    if not isinstance(s["image_size"], int) or s["image_size"] < 64 or s["image_size"] % 32:
        raise ValueError(f"recipe {recipe.name!r}: image_size must be a multiple of 32 of at least 64, got "
                         f"{s['image_size']!r}")
    if s["inference"] not in INFERENCE:
        raise ValueError(f"recipe {recipe.name!r}: inference must be one of {INFERENCE}, got {s['inference']!r}")
    if not 0 <= s["val_split"] < 1:
        raise ValueError(f"recipe {recipe.name!r}: val_split must be in [0, 1), got {s['val_split']}")
    if s["lr"] <= 0 or s["weight_decay"] < 0:
        raise ValueError(f"recipe {recipe.name!r}: lr must be positive and weight_decay non-negative")
    return s


def _run(recipe: Recipe, options: RunOptions) -> Run:
    s = _check(recipe)
    manual_seed(options.seed)
    t0 = time.perf_counter()
    if options.download:
        raise ValueError("download does not apply to pennfudan: its terms forbid redistribution; unpack "
                         "PennFudanPed.zip and give it with --data")
    train_db, test_db = PennFudan(options.data, "train"), PennFudan(options.data, "test")
    train, test = samples_of(train_db), samples_of(test_db)
    val = None
    if s["val_split"]:
        perm = generator().permutation(len(train))
        n_val = max(1, int(round(len(train) * s["val_split"])))
        val = [train[i] for i in perm[:n_val]]
        train = [train[i] for i in perm[n_val:]]
    size = s["image_size"]
    cfg = {"name": "pedestrian_net", **recipe.model}
    config = {"model": cfg, "recipe": recipe.name, "task": recipe.task, "dataset": recipe.dataset,
              "data_dir": data_dir(options), "classes": ["person"],
              "input": {"image_size": size, "inference": s["inference"]},
              "train": {**s, "seed": options.seed}, "lucidnet_version": __version__}
    model = models.build(cfg)
    if cfg.get("pretrained"):
        from ..pretrained import load_pth, weights_path
        model.load_imagenet_weights(load_pth(weights_path(cfg["pretrained"])))
    ds = DetectionDataset(train, size, augmentation(size))
    loss = DetectionLoss(ds.points, model.heads)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = build_optimizer(s["optimizer"], params, lr=s["lr"], weight_decay=s["weight_decay"])
    scheduler = build_scheduler(s["schedule"], opt, s["epochs"] * steps_per_epoch(len(train), s["batch_size"]),
                                warmup=min(100, s["epochs"] * steps_per_epoch(len(train), s["batch_size"]) // 10))
    out = None if options.out is None else Path(options.out)
    if options.verbose:
        print(f"lucidnet {__version__}: training {recipe.name} on pennfudan ({len(train)} train"
              f"{f' / {len(val)} validation' if val else ''} / {len(test)} test images; training images "
              f"letterboxed to {size}, test images {'at their own size' if s['inference'] == 'native' else 'too'})"
              + (f" -> {out}" if out else ""))
    monitor = Monitor() if out is not None else None
    callbacks = [] if out is None else [CSVLogger(out / rundir.HISTORY), monitor]
    val_data = None if val is None else loader(DetectionDataset(val, size), s["batch_size"], shuffle=False)
    history = fit(model, loader(ds, s["batch_size"]), loss=loss, optimizer=opt, epochs=s["epochs"],
                  val_data=val_data, scheduler=scheduler, scheduler_interval="step", metrics=[],
                  split_batch=split_batch, verbose=options.verbose, callbacks=callbacks,
                  checkpoint=None if out is None else out / rundir.CHECKPOINT,
                  checkpoint_every=None if out is None else 50, resume=True if options.resume else None)
    train_time = time.perf_counter() - t0
    metrics, preds = _test(model, test, _inference_size(config["input"]))
    metrics.update({"epochs": len(history.history.get("loss", [])), "train_seconds": round(train_time, 1)})
    if history.history.get("loss"):
        metrics["train_loss"] = float(history.history["loss"][-1])
    finish_run(out, model, config, metrics, _message(metrics, len(test), train_time), history, monitor,
               figures=[_figure(test, preds)])
    return Run(model, history, metrics, config, train_time, artifacts={"predictions": preds})


def _message(m: dict, n: int, seconds: float) -> str:
    parts = [f"box AP {m['box_AP']:.3f} AP50 {m['box_AP50']:.3f} AP75 {m['box_AP75']:.3f}"] if "box_AP" in m else []
    if "mask_AP" in m:
        parts.append(f"mask AP {m['mask_AP']:.3f}")
    parts.append(f"person IoU {m['person_iou']:.3f} Dice {m['person_dice']:.3f}")
    return f"{', '.join(parts)}  ({n} test images, {seconds:.1f} s)"


def _truth(s: J.Sample) -> dict[str, np.ndarray]:
    return {"boxes": s.boxes, "masks": np.stack([s.mask == i for i in s.ids]) if len(s.ids) else
            np.zeros((0, *s.size), bool)}


def _inference_size(spec: dict) -> int | None:
    """What ``predict_images`` takes for a run's ``input``: None (each image at its own resolution) or the
    letterbox side (runs made before ``inference`` existed were letterboxed)."""
    return None if spec.get("inference", "letterbox") == "native" else spec["image_size"]


def _test(model, test: Sequence[J.Sample], size: int | None) -> tuple[dict[str, Any], list[Prediction]]:
    """The test metrics of ``model`` on ``test`` and its predictions (``size``: as ``predict_images``)."""
    preds = predict_images(model, [s.image for s in test], size)
    truth = [_truth(s) for s in test]
    metrics: dict[str, Any] = {}
    if "boxes" in model.heads:
        dets = [{"boxes": p.boxes, "scores": p.scores, "masks": p.masks} for p in preds]
        metrics.update({f"box_{k}": v for k, v in coco_ap(truth, dets, "bbox").items()})
        if "masks" in model.heads:
            metrics.update({f"mask_{k}": v for k, v in coco_ap(truth, dets, "segm").items()})
    if "masks" in model.heads:
        seg = mask_iou_dice([p.person > 0.5 for p in preds], [s.mask > 0 for s in test])
        metrics.update({"person_iou": seg["iou"], "person_dice": seg["dice"], "person_mean_iou": seg["mean_iou"]})
    return metrics, preds


def _figure(test: Sequence[J.Sample], preds: Sequence[Prediction]) -> tuple[str, str, bytes, str]:
    pairs = []
    for s, p in list(zip(test, preds))[:REPORT_IMAGES]:
        t = _truth(s)
        keep = p.scores >= 0.3
        masks = p.masks[keep] if p.masks is not None and keep.any() else \
            None if p.person is None else (p.person > 0.5)[None]
        pairs.append((draw_detections(s.image, t["boxes"], masks=t["masks"]),
                      draw_detections(s.image, p.boxes[keep], scores=p.scores[keep], masks=masks)))
    title, caption = FIGURES["detections"]
    return "detections", title, png_bytes(comparison_grid(pairs)), caption


def evaluate(run_dir: str | Path, data: str | Path | None = None) -> dict[str, Any]:
    """The test metrics of a pennfudan run, on the 50 test images of the fixed split (read from ``data`` or
    the directory the run read)."""
    model, config = rundir.load_run(run_dir)
    test = samples_of(PennFudan(data if data is not None else config.get("data_dir"), "test"))
    t0 = time.perf_counter()
    metrics, _ = _test(model, test, _inference_size(config["input"]))
    metrics["seconds_per_image"] = (time.perf_counter() - t0) / len(test)
    return {"data": f"pennfudan test split ({len(test)} images)", **metrics}


def detect_files(run_dir: str | Path, paths: Sequence[str | Path], score_threshold: float = 0.3
                 ) -> list[tuple[np.ndarray, Prediction]]:
    """(image, prediction with score at least ``score_threshold``) of each image file, with a pennfudan run."""
    from ...datasets.images import decode_image
    model, config = rundir.load_run(run_dir)
    images = [np.asarray(decode_image(p, "RGB")) for p in paths]
    out = []
    for im, p in zip(images, predict_images(model, images, _inference_size(config["input"]))):
        keep = p.scores >= score_threshold
        out.append((im, Prediction(p.boxes[keep], p.scores[keep], p.labels[keep], p.person,
                                   None if p.masks is None else p.masks[keep])))
    return out


def _recipe(name: str, task: str, model: dict, description: str, data: dict | None = None, **train: Any) -> Recipe:
    return Recipe(name, family="vision", task=task, datasets=DATASETS, model=model, train={**_TRAIN, **train},
                  data={**_DATA, **(data or {})}, runner=_run, description=description)


RECIPES: dict[str, Recipe] = {r.name: r for r in (
    _recipe("detector", "object-detection",
            {"heads": ["boxes", "masks"], "channels": 64, "freeze": 7, "pretrained": "mobilenet_v2"},
            "MobileNetV2 (ImageNet) + FPN + FCOS head + mask decoder: boxes and instance masks"),
    _recipe("segmenter", "person-segmentation",
            {"heads": ["masks"], "channels": 64, "freeze": 7, "pretrained": "mobilenet_v2"},
            "MobileNetV2 (ImageNet) + a U-Net-style decoder: the person mask", data={"image_size": 384}),
)}
