"""``lucidnet train``: train a model on an image dataset and write a run directory."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from .. import __version__, manual_seed, models, optim
from ..inspect import Monitor
from ..inspect.report import write_run_report
from ..train import CSVLogger, evaluate, fit, predict
from . import datasets, rundir, train_recsys

MODEL_DEFAULTS = {"mlp": {"name": "mlp", "in_features": 784, "hidden": [512, 256], "num_classes": 10}}


def add_parser(sub) -> None:
    p = sub.add_parser(
        "train", help="train a network and write a run directory",
        description="Train a network on an image dataset. With no options: an MLP on the Fashion-MNIST subset "
                    "bundled with lucidnet (about a minute on 2 cores).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dataset", default="fashion-mnist-bundled",
                   choices=list(datasets.DATASETS) + list(train_recsys.DATASETS),
                   help="fashion-mnist and mnist read the upstream IDX .gz files from --data, $LUCIDNET_DATA/NAME "
                        "or the user cache; ml-100k (MovieLens) trains a recommender (--model mf, autorec, neumf)")
    p.add_argument("--data", metavar="DIR", default=None, help="directory with the dataset's IDX files")
    p.add_argument("--download", action="store_true", help="download the dataset if it is not found")
    p.add_argument("--model", default=None, choices=sorted(set(MODEL_DEFAULTS) | set(train_recsys.MODELS)),
                   help="mlp for images; mf, autorec, neumf, gmf or ncf_mlp for ml-100k (default: mlp, or mf)")
    p.add_argument("--epochs", type=int, default=None, help="default: 10 (ml-100k: the model's recipe)")
    p.add_argument("--batch-size", type=int, default=None, help="default: 128 (ml-100k: the model's recipe)")
    p.add_argument("--lr", type=float, default=None,
                   help="Adam learning rate (the peak, with --schedule cosine); default: 1e-3 (ml-100k: the recipe's)")
    p.add_argument("--schedule", default="cosine", choices=["cosine", "constant"],
                   help="learning-rate schedule: cosine decay to 0 over the run, per step, or constant")
    p.add_argument("--val-split", type=float, default=0.0,
                   help="fraction of the training set held out for validation (0: none)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", metavar="DIR", default="runs/latest", help="run directory to write")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    train_recsys.add_arguments(p)
    p.set_defaults(run=run)


def run(args) -> int:
    if args.dataset in train_recsys.DATASETS:
        args.model = args.model or "mf"
        return train_recsys.run(args)
    args.model = args.model or "mlp"
    if args.model not in MODEL_DEFAULTS:
        raise ValueError(f"--model {args.model} is a recommender; use it with --dataset ml-100k")
    args.epochs = 10 if args.epochs is None else args.epochs
    args.batch_size = 128 if args.batch_size is None else args.batch_size
    args.lr = 1e-3 if args.lr is None else args.lr
    if args.epochs < 1 or args.batch_size < 1:
        raise ValueError("--epochs and --batch-size must be positive")
    if not 0 <= args.val_split < 1:
        raise ValueError(f"--val-split must be in [0, 1), got {args.val_split}")
    manual_seed(args.seed)
    t0 = time.perf_counter()
    data = datasets.load(args.dataset, args.data, args.download)
    mean, std = float(data.x_train.mean()), float(data.x_train.std())
    config = {"model": dict(MODEL_DEFAULTS[args.model], num_classes=len(data.classes)),
              "input": {"shape": list(data.x_train.shape[1:]), "mean": mean, "std": std},
              "classes": data.classes, "dataset": args.dataset,
              "train": {"epochs": args.epochs, "batch_size": args.batch_size, "optimizer": "adam", "lr": args.lr,
                        "schedule": args.schedule,
                        "val_split": args.val_split, "seed": args.seed},
              "lucidnet_version": __version__}
    x_train, y_train = rundir.normalise(data.x_train, config), data.y_train
    x_test = rundir.normalise(data.x_test, config)
    val = None
    if args.val_split:
        from ..random import generator
        perm = generator().permutation(len(x_train))
        n_val = int(round(len(x_train) * args.val_split))
        vi, ti = perm[:n_val], perm[n_val:]
        val = (x_train[vi], y_train[vi])
        x_train, y_train = x_train[ti], y_train[ti]
    model = models.build(config["model"])
    opt = optim.Adam(model.parameters(), lr=args.lr)
    steps_per_epoch = -(-len(x_train) // args.batch_size)
    scheduler = (optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs * steps_per_epoch)
                 if args.schedule == "cosine" else None)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    verbose = 0 if args.quiet else 1
    if verbose:
        print(f"lucidnet {__version__}: training {args.model} on {args.dataset} "
              f"({len(x_train)} train / {len(x_test)} test images) -> {out}")
    monitor = Monitor()
    history = fit(model, (x_train, y_train), loss="cross_entropy", optimizer=opt, epochs=args.epochs,
                  batch_size=args.batch_size, val_data=val, scheduler=scheduler, scheduler_interval="step",
                  metrics=["accuracy"], verbose=verbose,
                  callbacks=[CSVLogger(out / rundir.HISTORY), monitor], checkpoint=out / rundir.CHECKPOINT,
                  checkpoint_every=200, resume=True if args.resume else None)
    train_time = time.perf_counter() - t0
    rundir.save_run(out, model, config)
    result = evaluate(model, (x_test, data.y_test), loss="cross_entropy", metrics=["accuracy"], batch_size=1000)
    metrics = {"test_loss": float(result["loss"]), "test_accuracy": float(result["accuracy"]),
               "epochs": len(history.history.get("loss", [])), "train_seconds": round(train_time, 2)}
    if history.history.get("loss"):
        metrics["train_loss"] = float(history.history["loss"][-1])
    rundir.write_json(out / rundir.METRICS, metrics)
    logits = predict(model, x_test, batch_size=1000)
    diagnosis = write_run_report(out, history, monitor, model, config=config, metrics=metrics, y_true=data.y_test,
                                 logits=logits, images=data.x_test)
    (out / rundir.CHECKPOINT).unlink(missing_ok=True)
    print(f"test accuracy: {metrics['test_accuracy']:.4f}  test loss: {metrics['test_loss']:.4f}  "
          f"({len(x_test)} test images, {train_time:.1f} s)  run saved to {out}")
    print(f"{diagnosis}\nreport: {out / 'report.html'}")
    return 0


