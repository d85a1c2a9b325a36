"""``lucidnet train``: train a model on an image dataset and write a run directory.

Image models: ``mlp`` (the default), ``cnn`` (``SimpleCNN``), ``vgg`` and ``resnet`` (``lucidnet.vision.models``);
they all take the dataset's (N, 1, 28, 28) images, standardised with the training set's mean and std.
``--augment`` adds random crops and flips (``lucidnet.vision.transforms``, applied per batch by the DataLoader).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from .. import __version__, models, optim
from ..random import manual_seed
from ..data import DataLoader, TensorDataset
from ..inspect import Monitor
from ..nn import CrossEntropyLoss
from ..nn.losses import cross_entropy
from ..tensor import from_numpy
from ..train import CSVLogger, fit, predict
from ..vision import transforms as T
from . import datasets, rundir, train_recsys, train_text

# --model NAME -> the registered model's config (the input's channels, size and classes are added per dataset)
MODEL_DEFAULTS = {"mlp": {"name": "mlp", "hidden": [512, 256]},
                  "cnn": {"name": "cnn"},
                  "vgg": {"name": "vgg"},
                  "resnet": {"name": "resnet", "depth": 20, "width": 16}}
# --optimizer NAME -> (default learning rate, default weight decay)
OPTIMIZERS = {"adam": (1e-3, 0.0), "adamw": (1e-3, 1e-2), "sgd": (0.1, 5e-4)}
# --augment POLICY -> the random transforms of a training batch (of standardised images; see augmentation())
AUGMENTATIONS = ("crop-flip", "crop-flip-erase")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "train", help="train a network and write a run directory",
        description="Train a network on an image dataset. With no options: an MLP on the Fashion-MNIST subset "
                    "bundled with lucidnet (about a minute on 2 cores).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dataset", default="fashion-mnist-bundled",
                   choices=list(datasets.DATASETS) + list(train_recsys.DATASETS) + list(train_text.DATASETS),
                   help="fashion-mnist and mnist read the upstream IDX .gz files from --data, $LUCIDNET_DATA/NAME "
                        "or the user cache; ml-100k (MovieLens) trains a recommender (--model mf, autorec, neumf)")
    p.add_argument("--data", metavar="DIR", default=None, help="directory with the dataset's IDX files")
    p.add_argument("--download", action="store_true", help="download the dataset if it is not found")
    p.add_argument("--model", default=None,
                   choices=sorted(set(MODEL_DEFAULTS) | set(train_recsys.MODELS) | set(train_text.MODELS)),
                   help="images: mlp, cnn (SimpleCNN), vgg (small VGG with batch norm) or resnet (ResNet-20); "
                        "ml-100k: mf, autorec, neumf, gmf or ncf_mlp (default: mlp, or mf)")
    p.add_argument("--epochs", type=int, default=None, help="default: 10 (ml-100k: the model's recipe)")
    p.add_argument("--batch-size", type=int, default=None, help="default: 128 (ml-100k: the model's recipe)")
    p.add_argument("--lr", type=float, default=None,
                   help="learning rate (the peak, with --schedule cosine or onecycle); default: 1e-3 for adam and "
                        "adamw, 0.1 for sgd (ml-100k: the recipe's)")
    p.add_argument("--optimizer", default="adam", choices=sorted(OPTIMIZERS),
                   help="images: adam, adamw (decoupled weight decay) or sgd (momentum 0.9, Nesterov); "
                        "--weight-decay defaults to 0, 1e-2 and 5e-4 for them")
    p.add_argument("--schedule", default="cosine", choices=["cosine", "onecycle", "constant"],
                   help="learning-rate schedule, per step: cosine decay to 0 over the run, onecycle (warm up over "
                        "the first 30%%, then anneal), or constant")
    p.add_argument("--augment", nargs="?", const="crop-flip", default=None, choices=AUGMENTATIONS,
                   help="augment training batches: crop-flip (random 28x28 crops of the image padded by 2 pixels, "
                        "horizontal flips; what --augment alone means) or crop-flip-erase (and random erasing)")
    p.add_argument("--label-smoothing", type=float, default=0.0, help="images: cross-entropy label smoothing")
    p.add_argument("--val-split", type=float, default=0.0,
                   help="fraction of the training set held out for validation (0: none)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", metavar="DIR", default="runs/latest", help="run directory to write")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    train_recsys.add_arguments(p)
    train_text.add_arguments(p)
    p.set_defaults(run=run)


def _image_defaults(args) -> None:
    """Fill the options left unset with the image recipes' defaults, and check them."""
    args.model = args.model or "mlp"
    if args.model not in MODEL_DEFAULTS:
        raise ValueError(f"--model {args.model} is a recommender; use it with --dataset ml-100k")
    lr, weight_decay = OPTIMIZERS[args.optimizer]
    args.epochs = 10 if args.epochs is None else args.epochs
    args.batch_size = 128 if args.batch_size is None else args.batch_size
    args.lr = lr if args.lr is None else args.lr
    args.weight_decay = weight_decay if args.weight_decay is None else args.weight_decay
    if args.epochs < 1 or args.batch_size < 1:
        raise ValueError("--epochs and --batch-size must be positive")
    if not 0 <= args.val_split < 1:
        raise ValueError(f"--val-split must be in [0, 1), got {args.val_split}")
    if args.lr <= 0 or args.weight_decay < 0 or not 0 <= args.label_smoothing < 1:
        raise ValueError("--lr must be positive, --weight-decay non-negative and --label-smoothing in [0, 1)")


def model_config(name: str, input_shape: tuple, num_classes: int) -> dict:
    """The registry config of ``--model name`` for images of ``input_shape`` (C, H, W)."""
    cfg = dict(MODEL_DEFAULTS[name], num_classes=num_classes)
    if name == "mlp":
        cfg["in_features"] = int(np.prod(input_shape))
    else:
        cfg["in_channels"] = int(input_shape[0])
    if name == "cnn":
        cfg["image_size"] = [int(s) for s in input_shape[1:]]
    return cfg


def augmentation(policy: str | None, input_shape: tuple, background: float) -> T.Compose | None:
    """The batch transform of ``--augment policy`` for standardised images whose background (a 0 pixel before
    standardising) is ``background``: what the crop pads with and erasing paints."""
    if policy is None:
        return None
    steps = [T.RandomCrop(tuple(input_shape[1:]), padding=2, fill=background), T.RandomHorizontalFlip()]
    if policy == "crop-flip-erase":
        steps.append(T.RandomErasing(p=0.5, scale=(0.02, 0.2), value=background))
    return T.Compose(steps)


def _optimizer(args, model):
    params = model.parameters()
    if args.optimizer == "sgd":
        return optim.SGD(params, lr=args.lr, momentum=0.9, nesterov=True, weight_decay=args.weight_decay)
    cls = optim.AdamW if args.optimizer == "adamw" else optim.Adam
    return cls(params, lr=args.lr, weight_decay=args.weight_decay)


def _scheduler(args, opt, steps: int):
    if args.schedule == "cosine":
        return optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    if args.schedule == "onecycle":
        return optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps)
    return None


def run(args) -> int:
    if args.dataset in train_recsys.DATASETS:
        args.model = args.model or "mf"
        return train_recsys.run(args)
    if args.dataset in train_text.DATASETS:  # sst2 (lstm, bilstm, textcnn), tinyshakespeare (char-lstm)
        return train_text.run(args)
    _image_defaults(args)
    manual_seed(args.seed)
    t0 = time.perf_counter()
    data = datasets.load(args.dataset, args.data, args.download)
    mean, std = float(data.x_train.mean()), float(data.x_train.std())
    shape = tuple(data.x_train.shape[1:])
    config = {"model": model_config(args.model, shape, len(data.classes)),
              "input": {"shape": list(shape), "mean": mean, "std": std},
              "classes": data.classes, "dataset": args.dataset,
              "train": {"epochs": args.epochs, "batch_size": args.batch_size, "optimizer": args.optimizer,
                        "lr": args.lr, "weight_decay": args.weight_decay, "schedule": args.schedule,
                        "augment": args.augment, "label_smoothing": args.label_smoothing,
                        "val_split": args.val_split, "seed": args.seed},
              "lucidnet_version": __version__}
    x_train, y_train = rundir.normalise(data.x_train, config), data.y_train
    x_test = rundir.normalise(data.x_test, config)
    data.x_train = None  # the standardised copy is all training needs
    val = None
    if args.val_split:
        from ..random import generator
        perm = generator().permutation(len(x_train))
        n_val = int(round(len(x_train) * args.val_split))
        vi, ti = perm[:n_val], perm[n_val:]
        val = (x_train[vi], y_train[vi])
        x_train, y_train = x_train[ti], y_train[ti]
    augment = augmentation(args.augment, shape, background=(0.0 - mean) / std)
    train_data = (x_train, y_train) if augment is None else DataLoader(
        TensorDataset(x_train, y_train), batch_size=args.batch_size, shuffle=True, transform=augment)
    model = models.build(config["model"])
    opt = _optimizer(args, model)
    steps_per_epoch = -(-len(x_train) // args.batch_size)
    scheduler = _scheduler(args, opt, args.epochs * steps_per_epoch)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    verbose = 0 if args.quiet else 1
    if verbose:
        print(f"lucidnet {__version__}: training {args.model} on {args.dataset} "
              f"({len(x_train)} train / {len(x_test)} test images) -> {out}")
    monitor = Monitor()
    history = fit(model, train_data, loss=CrossEntropyLoss(label_smoothing=args.label_smoothing), optimizer=opt,
                  epochs=args.epochs, batch_size=args.batch_size, val_data=val, scheduler=scheduler,
                  scheduler_interval="step", metrics=["accuracy"], verbose=verbose,
                  callbacks=[CSVLogger(out / rundir.HISTORY), monitor], checkpoint=out / rundir.CHECKPOINT,
                  checkpoint_every=200, resume=True if args.resume else None)
    train_time = time.perf_counter() - t0
    rundir.save_run(out, model, config)
    logits = predict(model, x_test, batch_size=rundir.EVAL_BATCH_SIZE)
    test_loss = cross_entropy(from_numpy(logits), from_numpy(data.y_test)).item()
    metrics = {"test_loss": float(test_loss), "test_accuracy": float(np.mean(logits.argmax(1) == data.y_test)),
               "epochs": len(history.history.get("loss", [])), "train_seconds": round(train_time, 2)}
    if history.history.get("loss"):
        metrics["train_loss"] = float(history.history["loss"][-1])
    rundir.finish_run(out, f"test accuracy: {metrics['test_accuracy']:.4f}  test loss: {metrics['test_loss']:.4f}  "
                           f"({len(x_test)} test images, {train_time:.1f} s)  run saved to {out}",
                      history, monitor, model, config, metrics, y_true=data.y_test, logits=logits, images=data.x_test)
    return 0
