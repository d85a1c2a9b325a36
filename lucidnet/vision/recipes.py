"""Image-classification recipes (``lucidnet train --dataset fashion-mnist --model cnn``, or ``run`` in Python).

Every image model takes the dataset's (N, 1, 28, 28) images, standardised with the training set's mean and
std; the pretrained ``mobilenet`` takes the [0, 1] pixels and normalises them inside (ImageNet's statistics). ``augment`` adds random crops and flips (``lucidnet.vision.transforms``, applied per batch by the
DataLoader). ``optimizer`` is a name of ``lucidnet.optim.factory`` (``lr`` and ``weight_decay`` left at None
take its defaults), ``schedule`` a per-step schedule over the run. ``val_split`` left at None holds out the
dataset's default (``VAL_SPLIT``: 10% of the bundled subset, none of the full datasets) for validation.
``labels_per_class`` trains on that many labelled images per class only (drawn with the run's seed): learning
from few labels.

>>> sorted(RECIPES)
['cnn', 'mlp', 'mobilenet', 'resnet', 'vgg']
>>> RECIPES["cnn"].train["optimizer"], RECIPES["cnn"].train["epochs"]
('adam', 10)
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__, models
from ..data import DataLoader, TensorDataset
from ..inspect import Monitor
from ..inspect.report import finish_run
from ..nn import CrossEntropyLoss
from ..nn.losses import cross_entropy
from ..ops import softmax as _softmax
from ..optim.factory import build_optimizer, build_scheduler, optimizer_defaults
from ..random import generator, manual_seed
from ..tensor import from_numpy
from ..train import EVAL_BATCH_SIZE, CSVLogger, fit, predict, rundir, steps_per_epoch
from ..train.metrics import confusion_matrix
from ..train.recipe import Recipe, Run, RunOptions, data_dir
from . import data as image_data
from . import transforms as T

__all__ = ["RECIPES", "DATASETS", "TASKS", "AUGMENTATIONS", "model_config", "augmentation", "normalise", "evaluate",
           "predict_files"]

DATASETS = tuple(image_data.DATASETS)
TASKS = ("image-classification",)
# augment POLICY -> the random transforms of a training batch (of standardised images; see augmentation())
AUGMENTATIONS = ("crop-flip", "crop-flip-erase")

_TRAIN = {"epochs": 10, "batch_size": 128, "optimizer": "adam", "lr": None, "weight_decay": None,
          "schedule": "cosine", "augment": None, "label_smoothing": 0.0, "val_split": None, "labels_per_class": None}
# val_split left at None: the dataset's default, 10% of the bundled subset held out (so its report and the doctor
# judge overfitting), none of the full datasets (their test split is large; the README's figures train on all)
VAL_SPLIT = {"fashion-mnist-bundled": 0.1}


def _run(recipe: Recipe, options: RunOptions) -> Run:
    """Train an image classifier, write its run directory (with ``options.out``), return the ``Run``."""
    s = _check(recipe)
    manual_seed(options.seed)
    t0 = time.perf_counter()
    dataset = recipe.dataset
    if (options.download or options.data is not None) and image_data.DATASETS[dataset][1]:
        what = "download" if options.download else "a data directory (--data)"
        raise ValueError(f"{what} does not apply to {dataset}: it ships with lucidnet (for files of your own, "
                         "use --dataset fashion-mnist or mnist)")
    data = image_data.load(dataset, options.data, options.download)
    pretrained = recipe.model.get("pretrained")
    # a pretrained network normalises inside (ImageNet's statistics): it takes the [0, 1] pixels as they are
    mean, std = (0.0, 1.0) if pretrained else (float(data.x_train.mean()), float(data.x_train.std()))
    shape = tuple(data.x_train.shape[1:])
    config = {"model": model_config(recipe, shape, len(data.classes)), "recipe": recipe.name,
              "task": recipe.task, "input": {"shape": list(shape), "mean": mean, "std": std},
              "classes": data.classes, "dataset": dataset, "data_dir": data_dir(options), "pretrained": pretrained,
              "train": {**s, "seed": options.seed},
              "lucidnet_version": __version__}
    x_train, y_train = normalise(data.x_train, config), data.y_train
    x_test = normalise(data.x_test, config)
    data.x_train = None  # the standardised copy is all training needs
    if s["labels_per_class"]:
        keep = few_labels(y_train, s["labels_per_class"], len(data.classes))
        x_train, y_train = x_train[keep], y_train[keep]
    val = None
    if s["val_split"]:
        perm = generator().permutation(len(x_train))
        n_val = int(round(len(x_train) * s["val_split"]))
        vi, ti = perm[:n_val], perm[n_val:]
        val = (x_train[vi], y_train[vi])
        x_train, y_train = x_train[ti], y_train[ti]
    augment = augmentation(s["augment"], shape, background=(0.0 - mean) / std)
    train_data = (x_train, y_train) if augment is None else DataLoader(
        TensorDataset(x_train, y_train), batch_size=s["batch_size"], shuffle=True, transform=augment)
    model = models.build(config["model"])
    if pretrained:
        from .pretrained import load_pth, weights_path
        model.load_imagenet_weights(load_pth(weights_path(pretrained)))
    opt = build_optimizer(s["optimizer"], model.parameters(), lr=s["lr"], weight_decay=s["weight_decay"])
    scheduler = build_scheduler(s["schedule"], opt, s["epochs"] * steps_per_epoch(len(x_train), s["batch_size"]))
    out = None if options.out is None else Path(options.out)
    if options.verbose:
        print(f"lucidnet {__version__}: training {recipe.name} on {dataset} "
              f"({len(x_train)} train / {len(x_test)} test images)" + (f" -> {out}" if out else ""))
    monitor = Monitor() if out is not None else None
    callbacks = [] if out is None else [CSVLogger(out / rundir.HISTORY), monitor]
    history = fit(model, train_data, loss=CrossEntropyLoss(label_smoothing=s["label_smoothing"]), optimizer=opt,
                  epochs=s["epochs"], batch_size=s["batch_size"], val_data=val, scheduler=scheduler,
                  scheduler_interval="step", metrics=["accuracy"], verbose=options.verbose, callbacks=callbacks,
                  checkpoint=None if out is None else out / rundir.CHECKPOINT,
                  checkpoint_every=None if out is None else 200, resume=True if options.resume else None)
    train_time = time.perf_counter() - t0
    logits = predict(model, x_test, batch_size=EVAL_BATCH_SIZE)
    test_loss = cross_entropy(from_numpy(logits), from_numpy(data.y_test)).item()
    metrics = {"test_loss": float(test_loss), "test_accuracy": float(np.mean(logits.argmax(1) == data.y_test)),
               "epochs": len(history.history.get("loss", [])), "train_seconds": round(train_time, 2)}
    if history.history.get("loss"):
        metrics["train_loss"] = float(history.history["loss"][-1])
    message = (f"test accuracy: {metrics['test_accuracy']:.4f}  test loss: {metrics['test_loss']:.4f}  "
               f"({len(x_test)} test images, {train_time:.1f} s)")
    finish_run(out, model, config, metrics, message, history, monitor,
               y_true=data.y_test, logits=logits, images=data.x_test)
    return Run(model, history, metrics, config, train_time)


def few_labels(y: np.ndarray, per_class: int, num_classes: int) -> np.ndarray:
    """Indices of ``per_class`` examples of each class, drawn at random (the library generator), in random order:
    a training set with few labels. Fewer than ``per_class`` examples of a class is an error naming it.

    >>> import lucidnet as ln
    >>> _ = ln.manual_seed(0)
    >>> idx = few_labels(np.array([0, 1, 0, 1, 0, 1]), 2, 2)
    >>> sorted(np.array([0, 1, 0, 1, 0, 1])[idx].tolist())
    [0, 0, 1, 1]
    """
    rng = generator()
    picked = []
    for c in range(num_classes):
        idx = np.flatnonzero(y == c)
        if len(idx) < per_class:
            raise ValueError(f"labels_per_class={per_class}: class {c} has only {len(idx)} training examples")
        picked.append(rng.choice(idx, per_class, replace=False))
    return rng.permutation(np.concatenate(picked))


def _check(recipe: Recipe) -> dict[str, Any]:
    """The training settings with the optimizer's defaults filled in, checked."""
    s = dict(recipe.train)
    defaults = optimizer_defaults(s["optimizer"])
    s["lr"] = defaults["lr"] if s["lr"] is None else s["lr"]
    s["weight_decay"] = defaults.get("weight_decay", 0.0) if s["weight_decay"] is None else s["weight_decay"]
    if s["val_split"] is None:  # few labels: all of them train
        s["val_split"] = 0.0 if s["labels_per_class"] else VAL_SPLIT.get(recipe.dataset, 0.0)
    if not 0 <= s["val_split"] < 1:
        raise ValueError(f"recipe {recipe.name!r}: val_split must be in [0, 1), got {s['val_split']}")
    if s["lr"] <= 0 or s["weight_decay"] < 0 or not 0 <= s["label_smoothing"] < 1:
        raise ValueError(f"recipe {recipe.name!r}: lr must be positive, weight_decay non-negative and "
                         f"label_smoothing in [0, 1)")
    if s["labels_per_class"] is not None and (not isinstance(s["labels_per_class"], int) or s["labels_per_class"] < 1):
        raise ValueError(f"recipe {recipe.name!r}: labels_per_class must be a positive int, got "
                         f"{s['labels_per_class']!r}")
    if s["augment"] is not None and s["augment"] not in AUGMENTATIONS:
        raise ValueError(f"recipe {recipe.name!r}: augment must be one of {', '.join(AUGMENTATIONS)}, "
                         f"got {s['augment']!r}")
    return s


def model_config(recipe: Recipe, input_shape: tuple, num_classes: int) -> dict:
    """The registry config of ``recipe``'s model for images of ``input_shape`` (C, H, W)."""
    cfg = dict(recipe.model, num_classes=num_classes)
    cfg.pop("pretrained", None)  # weights to start from: not part of the architecture
    if cfg["name"] == "mlp":
        cfg["in_features"] = int(np.prod(input_shape))
    else:
        cfg["in_channels"] = int(input_shape[0])
    if cfg["name"] == "cnn":
        cfg["image_size"] = [int(s) for s in input_shape[1:]]
    return cfg


def normalise(x: np.ndarray, config: dict) -> np.ndarray:
    """Images standardised with the mean and std that a run's ``config["input"]`` recorded."""
    norm = config["input"]
    return ((x - np.float32(norm["mean"])) / np.float32(norm["std"])).astype(np.float32, copy=False)


def augmentation(policy: str | None, input_shape: tuple, background: float) -> T.Compose | None:
    """The batch transform of ``augment=policy`` for standardised images whose background (a 0 pixel before
    standardising) is ``background``: what the crop pads with and erasing paints."""
    if policy is None:
        return None
    steps = [T.RandomCrop(tuple(input_shape[1:]), padding=2, fill=background), T.RandomHorizontalFlip()]
    if policy == "crop-flip-erase":
        steps.append(T.RandomErasing(p=0.5, scale=(0.02, 0.2), value=background))
    return T.Compose(steps)


def evaluate(run_dir: str | Path, data: str | Path | None = None) -> dict[str, Any]:
    """Accuracy, loss and the confusion matrix of an image run on the test split of the dataset it was trained
    on (read from ``data``, if given)."""
    model, config = rundir.load_run(run_dir)
    test = image_data.load(config["dataset"], data, splits=("test",))
    logits = predict(model, normalise(test.x_test, config), batch_size=EVAL_BATCH_SIZE)
    cm = confusion_matrix(logits, test.y_test, num_classes=len(config["classes"]))
    loss = cross_entropy(from_numpy(logits), from_numpy(test.y_test)).item()
    return {"data": f"{config['dataset']} test split ({len(test.y_test)} images)",
            "accuracy": float(np.trace(cm) / max(cm.sum(), 1)), "loss": float(loss),
            "classes": list(config["classes"]), "confusion_matrix": cm.tolist()}


def predict_files(run_dir: str | Path, paths: list[str]) -> tuple[np.ndarray, list[str]]:
    """(class probabilities (N, classes), class names) of image files with an image run."""
    model, config = rundir.load_run(run_dir)
    shape = config["input"]["shape"]  # (C, H, W)
    x = np.stack([image_data.read_image(p, (shape[-2], shape[-1])) for p in paths])[:, None]
    return softmax_array(predict(model, normalise(x, config))), list(config["classes"])


def softmax_array(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of a NumPy array of logits (``lucidnet.ops.softmax``)."""
    return _softmax(from_numpy(logits), 1).numpy()


def _recipe(name: str, model: dict, description: str, **train: Any) -> Recipe:
    return Recipe(name, family="vision", task="image-classification", datasets=DATASETS, model=model,
                  train={**_TRAIN, **train}, runner=_run, description=description)


RECIPES: dict[str, Recipe] = {r.name: r for r in (
    _recipe("mlp", {"name": "mlp", "hidden": [512, 256]}, "an MLP 784-512-256-10"),
    _recipe("cnn", {"name": "cnn"}, "SimpleCNN: two conv3x3-ReLU-maxpool stages, linear(128), dropout"),
    _recipe("vgg", {"name": "vgg"}, "a small VGG with batch norm (two stages of two conv3x3)"),
    _recipe("resnet", {"name": "resnet", "depth": 20, "width": 16}, "ResNet-20, CIFAR-style"),
    _recipe("mobilenet", {"name": "imagenet_transfer", "pretrained": "mobilenet_v2", "input_size": 96},
            "MobileNetV2 pretrained on ImageNet, fine-tuned on the images resized to 96x96 (grey into RGB)",
            lr=3e-4, batch_size=32),
)}
