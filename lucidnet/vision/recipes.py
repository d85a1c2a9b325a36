"""Image-classification recipes (``lucidnet train --dataset fashion-mnist --model cnn``, or ``run`` in Python).

Every image model takes the dataset's (N, C, H, W) images ((N, 1, 28, 28) for (Fashion-)MNIST), standardised
with the training set's mean and std (per channel for an image folder); the pretrained ``mobilenet`` takes the
[0, 1] pixels and normalises them inside (ImageNet's statistics). ``dataset="image-folder"`` trains on a folder
of one's own images (``data=FOLDER``, one sub-folder per class; see ``lucidnet.vision.data.load_folder``) with
the data settings ``test_split`` (default 0.2 of each class held out, drawn with the run's seed), ``test_data``
(another folder to test on) and ``image_size`` (default: inferred, at most 64 pixels a side, the model's
``input_size`` for ``mobilenet``); the other datasets refuse them. ``augment`` adds random crops and flips
(``lucidnet.vision.transforms``, applied per batch by the DataLoader). ``optimizer`` is a name of
``lucidnet.optim.factory`` (``lr`` and ``weight_decay`` left at None take its defaults), ``schedule`` a per-step
schedule over the run. ``val_split`` left at None holds out the dataset's default (``VAL_SPLIT``: 10% of the
bundled subset and of an image folder, none of the full datasets) for validation. ``labels_per_class`` trains on
that many labelled images per class only (drawn with the run's seed): learning from few labels.

>>> sorted(RECIPES)
['cnn', 'mlp', 'mobilenet', 'resnet', 'vgg']
>>> RECIPES["cnn"].train["optimizer"], RECIPES["cnn"].train["epochs"]
('adam', 10)
"""
from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__, models
from ..data import DataLoader, TensorDataset
from ..inspect import Monitor
from ..inspect.report import finish_run
from ..nn import CrossEntropyLoss, SyncBatchNorm
from ..nn.losses import cross_entropy
from ..ops import softmax as _softmax
from ..optim.factory import build_optimizer, build_scheduler, optimizer_defaults
from ..random import generator, manual_seed
from ..tensor import from_numpy
from ..train import EVAL_BATCH_SIZE, CSVLogger, fit, predict, rundir, steps_per_epoch
from ..train.metrics import confusion_matrix
from ..train.recipe import Recipe, Run, RunOptions, data_dir
from . import data as image_data
from .data import IMAGE_FOLDER, MAX_SIDE, ImageData, image_size_of
from . import transforms as T

__all__ = ["RECIPES", "DATASETS", "TASKS", "AUGMENTATIONS", "model_config", "augmentation", "normalise", "evaluate",
           "predict_files"]

DATASETS = tuple(image_data.DATASETS)
TASKS = ("image-classification",)
# augment POLICY -> the random transforms of a training batch (of standardised images; see augmentation())
AUGMENTATIONS = ("crop-flip", "crop-flip-erase")

# the data settings of an image folder (the other datasets refuse them); None: the defaults of load_folder
_DATA = {"test_split": None, "test_data": None, "image_size": None}
_TRAIN = {"epochs": 10, "batch_size": 128, "optimizer": "adam", "lr": None, "weight_decay": None,
          "schedule": "cosine", "augment": None, "label_smoothing": 0.0, "val_split": None, "labels_per_class": None,
          "sync_bn": False}
# val_split left at None: the dataset's default, 10% of the bundled subset held out (so its report and the doctor
# judge overfitting), none of the full datasets (their test split is large; the README's figures train on all)
VAL_SPLIT = {"fashion-mnist-bundled": 0.1, IMAGE_FOLDER: 0.1}


def _run(recipe: Recipe, options: RunOptions) -> Run:
    """Train an image classifier, write its run directory (with ``options.out``), return the ``Run``."""
    s = _check(recipe)
    manual_seed(options.seed)
    t0 = time.perf_counter()
    dataset = recipe.dataset
    data = _load(recipe, options)
    pretrained = recipe.model.get("pretrained")
    shape = tuple(data.x_train.shape[1:])
    start = options.model  # fine-tuning a given model (lucidnet prune): its config is the run's
    model_cfg = model_config(recipe, shape, len(data.classes)) if start is None else _start_config(start, shape, data)
    config = {"model": model_cfg, "recipe": recipe.name,
              "task": recipe.task, "input": {"shape": list(shape), **_statistics(data.x_train, data, pretrained)},
              "classes": data.classes, "dataset": dataset, "data_dir": data_dir(options), "pretrained": pretrained,
              "train": {**s, "seed": options.seed},
              "lucidnet_version": __version__}
    if data.info:  # an image folder: how its images were read, and its test split, for evaluate and predict
        config["input"]["mode"] = data.info["mode"]
        config["data"] = {k: data.info[k] for k in ("layout", "test_split", "test_data", "images")}
        config["data"]["seed"] = options.seed
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
    augment = augmentation(s["augment"], shape, background=_background(config["input"]))
    train_data = (x_train, y_train) if augment is None else DataLoader(
        TensorDataset(x_train, y_train), batch_size=s["batch_size"], shuffle=True, transform=augment)
    model = models.build(config["model"]) if start is None else start
    if pretrained and start is None:
        from .pretrained import load_pth, weights_path
        model.load_imagenet_weights(load_pth(weights_path(pretrained)))
    if s["sync_bn"]:  # under mpiexec: batch statistics over every rank's share of the batch (one process: as BN)
        model = SyncBatchNorm.convert_sync_batchnorm(model)
    opt = build_optimizer(s["optimizer"], model.parameters(), lr=s["lr"], weight_decay=s["weight_decay"])
    scheduler = build_scheduler(s["schedule"], opt, s["epochs"] * steps_per_epoch(len(x_train), s["batch_size"]))
    out = None if options.out is None else Path(options.out)
    if options.verbose:
        what = dataset if not data.info else (f"the image folder {config['data_dir']} "
                                              f"({'x'.join(map(str, shape[1:]))}, {'grey' if shape[0] == 1 else 'RGB'})")
        print(f"lucidnet {__version__}: training {recipe.name} on {what} "
              f"({len(x_train)} train / {len(x_test)} test images)" + (f" -> {out}" if out else ""))
    monitor = Monitor() if out is not None else None
    callbacks = list(options.callbacks) + ([] if out is None else [CSVLogger(out / rundir.HISTORY), monitor])
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


def _start_config(model: Any, shape: tuple, data: ImageData) -> dict:
    """The registry config of a model given to start from, checked against the data."""
    cfg = models.config_of(model)
    if cfg.get("num_classes") != len(data.classes):
        raise ValueError(f"the model to start from has {cfg.get('num_classes')} classes, the data {len(data.classes)}")
    if cfg.get("in_channels", shape[0]) != shape[0] or cfg.get("in_features", int(np.prod(shape))) != np.prod(shape):
        raise ValueError(f"the model to start from does not take images of shape {shape} (its config: {cfg})")
    return cfg


def _load(recipe: Recipe, options: RunOptions) -> ImageData:
    """The recipe's dataset; the settings and options that do not apply to it refused."""
    dataset, settings = recipe.dataset, recipe.data
    if dataset == IMAGE_FOLDER:
        if options.data is None:
            raise ValueError(f"{IMAGE_FOLDER} trains on a folder of your own images, one sub-folder per class: give "
                             "it as data= (--data DIR)")
        if options.download:
            raise ValueError(f"download does not apply to {IMAGE_FOLDER}: it reads your own folder (--data)")
        return image_data.load_folder(options.data, test_data=settings["test_data"],
                                      test_split=settings["test_split"], seed=options.seed,
                                      image_size=settings["image_size"],
                                      max_side=recipe.model.get("input_size", MAX_SIDE), progress=bool(options.verbose))
    if (options.download or options.data is not None) and image_data.DATASETS[dataset][1]:
        what = "download" if options.download else "a data directory (--data)"
        raise ValueError(f"{what} does not apply to {dataset}: it ships with lucidnet (for files of your own, "
                         f"use --dataset fashion-mnist or mnist, or {IMAGE_FOLDER} for a folder of images)")
    return image_data.load(dataset, options.data, options.download)


def _statistics(x: np.ndarray, data: ImageData, pretrained: str | None) -> dict[str, Any]:
    """The input normalisation of a run: the training images' mean and std (per channel, as lists, for an image
    folder; one number for the other datasets); a pretrained network normalises inside and takes the [0, 1]
    pixels as they are."""
    if pretrained:
        return {"mean": 0.0, "std": 1.0} if not data.info else {"mean": [0.0] * x.shape[1], "std": [1.0] * x.shape[1]}
    if not data.info:
        return {"mean": float(x.mean()), "std": float(x.std())}
    channels = [x[:, c] for c in range(x.shape[1])]
    return {"mean": [float(xc.mean(dtype=np.float64)) for xc in channels],
            "std": [max(float(xc.std(dtype=np.float64)), 1e-6) for xc in channels]}


def _background(norm: dict) -> float | tuple[float, ...]:
    """A 0 pixel after standardising (per channel when the statistics are): what crops pad with."""
    if isinstance(norm["mean"], list):
        return tuple((0.0 - m) / sd for m, sd in zip(norm["mean"], norm["std"]))
    return (0.0 - norm["mean"]) / norm["std"]


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
    if not isinstance(s["sync_bn"], bool):
        raise ValueError(f"recipe {recipe.name!r}: sync_bn must be True or False, got {s['sync_bn']!r}")
    if s["augment"] is not None and s["augment"] not in AUGMENTATIONS:
        raise ValueError(f"recipe {recipe.name!r}: augment must be one of {', '.join(AUGMENTATIONS)}, "
                         f"got {s['augment']!r}")
    test_split = recipe.data.get("test_split")
    if test_split is not None and (isinstance(test_split, bool) or not 0 < test_split < 1):
        raise ValueError(f"recipe {recipe.name!r}: test_split must be in (0, 1), got {test_split!r}")
    image_size_of(recipe.data.get("image_size"), f"recipe {recipe.name!r}: image_size")
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
    """Images (N, C, H, W) standardised with the mean and std that a run's ``config["input"]`` recorded: one
    number each, or one per channel (lists).

    >>> normalise(np.ones((1, 2, 1, 1), np.float32), {"input": {"mean": [0.5, 0.0], "std": [0.5, 2.0]}}).ravel()
    array([1. , 0.5], dtype=float32)
    """
    norm = config["input"]
    mean, std = (np.asarray(norm[k], dtype=np.float32) for k in ("mean", "std"))
    if mean.ndim:  # per channel
        mean, std = mean.reshape(-1, 1, 1), std.reshape(-1, 1, 1)
    return ((x - mean) / std).astype(np.float32, copy=False)


def augmentation(policy: str | None, input_shape: tuple, background: float | tuple[float, ...]) -> T.Compose | None:
    """The batch transform of ``augment=policy`` for standardised images whose background (a 0 pixel before
    standardising; one value or one per channel) is ``background``: what the crop pads with and erasing paints.
    Crops keep the image size, from the image padded by 1/14 of its shorter side (2 pixels at 28x28)."""
    if policy is None:
        return None
    padding = max(1, round(min(input_shape[1:]) / 14))
    steps = [T.RandomCrop(tuple(input_shape[1:]), padding=padding, fill=background), T.RandomHorizontalFlip()]
    if policy == "crop-flip-erase":
        steps.append(T.RandomErasing(p=0.5, scale=(0.02, 0.2), value=background))
    return T.Compose(steps)


def evaluate(run_dir: str | Path, data: str | Path | None = None) -> dict[str, Any]:
    """Accuracy, loss and the confusion matrix of an image run on the test split of the dataset it was trained
    on (read from ``data``, if given)."""
    model, config = rundir.load_run(run_dir)
    if config["dataset"] == IMAGE_FOLDER:
        test, what = _folder_test_split(config, data)
    else:
        test, what = image_data.load(config["dataset"], data, splits=("test",)), f"{config['dataset']} test split"
    logits = predict(model, normalise(test.x_test, config), batch_size=EVAL_BATCH_SIZE)
    cm = confusion_matrix(logits, test.y_test, num_classes=len(config["classes"]))
    loss = cross_entropy(from_numpy(logits), from_numpy(test.y_test)).item()
    return {"data": f"{what} ({len(test.y_test)} images)",
            "accuracy": float(np.trace(cm) / max(cm.sum(), 1)), "loss": float(loss),
            "classes": list(config["classes"]), "confusion_matrix": cm.tolist()}


def calibration_images(run_dir: str | Path, count: int, data: str | Path | None = None, seed: int = 0) -> np.ndarray:
    """``count`` training images of the dataset a run trained on (drawn with ``seed``), normalised as the run's
    input: what static quantization calibrates on (``lucidnet quantize RUN --calibrate N``)."""
    config = rundir.load_config(run_dir)
    if count < 1:
        raise ValueError(f"--calibrate must be a positive number of images, got {count}")
    if config.get("dataset") == IMAGE_FOLDER:
        root = data if data is not None else config.get("data_dir")
        if root is None:
            raise ValueError("the run does not record its image folder: give it (--data DIR)")
        recorded = config.get("data", {})
        train = image_data.load_folder(root, test_data=recorded.get("test_data"), test_split=recorded.get("test_split"),
                                       seed=recorded.get("seed", config["train"]["seed"]),
                                       image_size=config["input"]["shape"][1:], mode=config["input"]["mode"],
                                       classes=list(config["classes"]), splits=("train",))
    else:
        train = image_data.load(config["dataset"], data, splits=("train",))
    x = train.x_train
    pick = np.random.default_rng(seed).choice(len(x), size=min(count, len(x)), replace=False)
    return normalise(x[np.sort(pick)], config)


def _folder_test_split(config: dict, data: str | Path | None) -> tuple[ImageData, str]:
    """The test images of an image-folder run, found again: the folder's test/, the run's ``test_data``, or the
    images held out of ``data`` (default: the folder it trained on) with the run's fraction and seed. A warning
    when the folder no longer holds the images the run saw (the split then differs)."""
    recorded = config.get("data", {})
    root = data if data is not None else config.get("data_dir")
    if root is None and recorded.get("test_data") is None:
        raise ValueError("the run does not record its image folder: give it (--data DIR)")
    shape = config["input"]["shape"]
    test = image_data.load_folder(root if root is not None else recorded["test_data"],
                                  test_data=recorded.get("test_data"), test_split=recorded.get("test_split"),
                                  seed=recorded.get("seed", config["train"]["seed"]), image_size=shape[1:],
                                  mode=config["input"]["mode"], classes=list(config["classes"]), splits=("test",))
    seen, now = recorded.get("images", {}), test.info["images"]
    if test.info["layout"] == "held out" and now["train"] is not None and seen.get("train") is not None \
            and (now["train"], now["test"]) != (seen["train"], seen["test"]):
        warnings.warn(f"{root} holds {now['train'] + now['test']} images, the run trained with "
                      f"{seen['train'] + seen['test']}: the held-out test images are not the ones the run held out")
    where = {"train/test": f"{root}/test", "test_data": str(recorded.get("test_data")),
             "held out": f"{root} held-out test split ({recorded.get('test_split')})"}
    return test, f"image folder {where[test.info['layout']]}"


def predict_files(run_dir: str | Path, paths: list[str]) -> tuple[np.ndarray, list[str]]:
    """(class probabilities (N, classes), class names) of image files with an image run: read, resized and
    normalised as its training images were (an image folder's run), or as (Fashion-)MNIST images."""
    model, config = rundir.load_run(run_dir)
    x = image_data.read_run_images(paths, config["input"])
    return softmax_array(predict(model, normalise(x, config))), list(config["classes"])


def softmax_array(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of a NumPy array of logits (``lucidnet.ops.softmax``)."""
    return _softmax(from_numpy(logits), 1).numpy()


def _recipe(name: str, model: dict, description: str, **train: Any) -> Recipe:
    return Recipe(name, family="vision", task="image-classification", datasets=DATASETS, model=model,
                  train={**_TRAIN, **train}, data=dict(_DATA), runner=_run, description=description,
                  starts_from_model=True,
                  applies={k: (IMAGE_FOLDER,) for k in _DATA})  # the others have their splits and 28x28 images


RECIPES: dict[str, Recipe] = {r.name: r for r in (
    _recipe("mlp", {"name": "mlp", "hidden": [512, 256]}, "an MLP 784-512-256-10"),
    _recipe("cnn", {"name": "cnn"}, "SimpleCNN: two conv3x3-ReLU-maxpool stages, linear(128), dropout"),
    _recipe("vgg", {"name": "vgg"}, "a small VGG with batch norm (two stages of two conv3x3)"),
    _recipe("resnet", {"name": "resnet", "depth": 20, "width": 16}, "ResNet-20, CIFAR-style"),
    _recipe("mobilenet", {"name": "imagenet_transfer", "pretrained": "mobilenet_v2", "input_size": 96},
            "MobileNetV2 pretrained on ImageNet, fine-tuned on the images resized to 96x96 (grey into RGB)",
            lr=3e-4, batch_size=32),
)}
