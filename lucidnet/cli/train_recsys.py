"""The recommendation side of ``lucidnet train``: ``--dataset ml-100k --model mf|autorec|neumf|gmf|ncf_mlp``.

The recipes are ``lucidnet.recsys.recipes``. Explicit models (mf, autorec) train on the ``--split`` base file
(default u1.base) only: a validation fraction carved out of it picks the epoch count, then the model is
refit on the whole base file; RMSE/MAE are reported on its test file. Implicit models (neumf, gmf,
ncf_mlp) use leave-one-out: each user's latest interaction is the test item, the one before it the
validation item that picks the epoch count; the model is then refit on everything but the test items, and
HR@10 and NDCG@10 are reported against 99 sampled unrated items. Baselines are scored by the same code.

The run directory is the usual one (model.safetensors, config.json, history.csv, metrics.json, report.html) plus
``catalog.json`` (raw ids, titles, seen items), which ``lucidnet recommend RUN_DIR --user ID`` reads.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .. import __version__, models
from ..random import manual_seed
from ..recsys import SPLITS, MovieLens100K
from ..recsys.baselines import GlobalMean, Popularity, UserItemBias
from ..recsys.evaluation import build_leave_one_out, ranking_metrics, rating_errors
from ..recsys.recipes import EXPLICIT, RECIPES, run_explicit, run_implicit
from ..train import CSVLogger
from . import rundir

DATASETS = ("ml-100k",)
CATALOG = "catalog.json"
MODELS = tuple(RECIPES)


def add_arguments(p) -> None:
    """Options read only by the recommendation path of ``lucidnet train``."""
    g = p.add_argument_group("ml-100k (recommendation)")
    g.add_argument("--split", default="u1", choices=SPLITS,
                   help="explicit models (mf, autorec): train on SPLIT.base, report RMSE on SPLIT.test")
    g.add_argument("--weight-decay", type=float, default=None, help="L2 weight decay (default: the model's recipe)")
    g.add_argument("--negatives", type=int, default=None, help="implicit models: negatives per positive per epoch")


def run(args) -> int:
    """Train a recommender on MovieLens-100K and write a run directory (see the module docstring)."""
    if args.model not in RECIPES:
        raise ValueError(f"--dataset ml-100k takes --model {', '.join(MODELS)}; got {args.model!r}")
    overrides = {k: getattr(args, k, None) for k in ("epochs", "batch_size", "lr", "weight_decay", "negatives")}
    if any(overrides[k] is not None and overrides[k] < 1 for k in ("epochs", "batch_size")):
        raise ValueError("--epochs and --batch-size must be positive")
    if args.model in EXPLICIT:
        overrides.pop("negatives")
    seed = getattr(args, "seed", None) or 0
    manual_seed(seed)
    t0 = time.perf_counter()
    ds = MovieLens100K(getattr(args, "data", None), download=bool(getattr(args, "download", False)))
    out = Path(getattr(args, "out", None) or "runs/latest")
    out.mkdir(parents=True, exist_ok=True)
    verbose = 0 if getattr(args, "quiet", False) else 2
    if getattr(args, "resume", False):
        print("note: ml-100k runs take a minute or two and do not checkpoint; --resume starts the run again")
    cbs = [CSVLogger(out / rundir.HISTORY)]
    explicit = args.model in EXPLICIT
    if verbose:
        print(f"lucidnet {__version__}: training {args.model} on ml-100k -> {out}")
    if explicit:
        split = getattr(args, "split", None) or "u1"
        val_fraction = getattr(args, "val_split", None) or 0.05
        base, test = ds.split(split)
        run_ = run_explicit(args.model, ds, base, val_fraction=val_fraction, overrides=overrides, verbose=verbose,
                            callbacks=cbs)
        task: dict[str, Any] = {"task": "explicit", "split": split, "val_fraction": val_fraction}
    else:
        loo = build_leave_one_out(ds.ratings, ds.n_users, ds.n_items)
        run_ = run_implicit(args.model, ds, loo, overrides=overrides, verbose=verbose, callbacks=cbs)
        task = {"task": "implicit",
                "protocol": "leave-one-out (latest interaction), 99 sampled negatives, HR@10 / NDCG@10"}
    model = run_.model
    train_time = time.perf_counter() - t0
    config = {"model": models.config_of(model), "dataset": "ml-100k", **task,
              "train": {**run_.train_config, "optimizer": "adam", "seed": seed, "epochs_chosen": run_.epochs,
                        "refit": run_.refit, **run_.pretrained},
              "lucidnet_version": __version__}
    rundir.save_run(out, model, config)
    model.catalog.save(out / CATALOG)
    epochs = run_.epochs
    metrics: dict[str, Any] = {"epochs": epochs, "train_seconds": round(train_time, 2)}
    if explicit:
        m = rating_errors(model, test)
        metrics.update(test_rmse=m["rmse"], test_mae=m["mae"], test_ratings=m["n"])
        metrics["baselines"] = {
            "global_mean": rating_errors(GlobalMean().fit(base), test),
            "user_item_bias": rating_errors(UserItemBias().fit(base, ds.n_users, ds.n_items), test)}
        line = f"{split}.test RMSE {m['rmse']:.4f}  MAE {m['mae']:.4f}"
    else:
        m = ranking_metrics(model, loo.test.user, loo.test.item, loo.test_negatives)
        metrics.update(test_hr10=m["hr"], test_ndcg10=m["ndcg"], test_users=m["users"])
        metrics["baselines"] = {
            name: ranking_metrics(b, loo.test.user, loo.test.item, loo.test_negatives)
            for name, b in (("global_mean", GlobalMean().fit(loo.train)),
                            ("user_item_bias", UserItemBias().fit(loo.train, ds.n_users, ds.n_items)),
                            ("popularity", Popularity().fit(loo.train, ds.n_items)))}
        line = f"leave-one-out HR@10 {m['hr']:.4f}  NDCG@10 {m['ndcg']:.4f}"
    how = "then refit on all training data" if run_.refit else "best epoch kept"
    rundir.finish_run(out, f"{line}  ({epochs} epochs chosen on validation, {how}; {train_time:.1f} s)  run saved to "
                           f"{out}", run_.history, None, model, config, metrics)
    return 0
