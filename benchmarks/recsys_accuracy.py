#!/usr/bin/env python3
"""The recommendation accuracy figures of issue 6 on MovieLens-100K, from the library's recipes.

    LUCIDNET_DATA=../shared/data python benchmarks/recsys_accuracy.py [--skip-folds] [--seed 0] [--json OUT]

1. Explicit, official u1 split: BiasedMF and I-AutoRec trained on u1.base only (5% of u1.base held out to
   choose the epoch count, then a refit on all of u1.base), RMSE and MAE on u1.test; baselines (global mean,
   user + item biases) beside them.
2. The same for u1..u5 and the 5-fold average (``--skip-folds`` leaves it out).
3. Implicit, leave-one-out: NeuMF trained on all but each user's latest two interactions, the epoch count
   chosen on the second-latest (validation), then refit on all but the latest; HR@10 and NDCG@10 of the
   latest against 99 sampled unrated items; baselines (global mean, user + item biases, popularity) by the
   same code. The test items are never used for any choice.

Runs single-threaded BLAS by default (``OPENBLAS_NUM_THREADS=1`` unless set): the models' matrices are small
and on a shared 2-core machine a second BLAS thread only waits.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import lucidnet as ln  # noqa: E402
from lucidnet.recsys import MovieLens100K  # noqa: E402
from lucidnet.recsys.baselines import GlobalMean, Popularity, UserItemBias  # noqa: E402
from lucidnet.recsys.evaluation import build_leave_one_out, ranking_metrics, rating_errors  # noqa: E402
from lucidnet.recsys.recipes import run_explicit, run_implicit  # noqa: E402


def explicit_split(ds, split: str, seed: int) -> dict:
    base, test = ds.split(split)
    out = {"global_mean": rating_errors(GlobalMean().fit(base), test),
           "user_item_bias": rating_errors(UserItemBias().fit(base, ds.n_users, ds.n_items), test)}
    for name in ("mf", "autorec"):
        ln.manual_seed(seed)
        t0 = time.perf_counter()
        run = run_explicit(name, ds, base)
        m = rating_errors(run.model, test)
        hist = run.history.history
        m.update(epochs=run.epochs, best_val_rmse=min(hist["val_rmse"]), refit=run.refit,
                 seconds=round(time.perf_counter() - t0, 1))
        out[name] = m
    return out


def implicit(ds, seed: int) -> dict:
    ln.manual_seed(seed)
    loo = build_leave_one_out(ds.ratings, ds.n_users, ds.n_items)
    test = (loo.test.user, loo.test.item, loo.test_negatives)
    out = {name: ranking_metrics(b, *test) for name, b in (
        ("global_mean", GlobalMean().fit(loo.train)),
        ("user_item_bias", UserItemBias().fit(loo.train, ds.n_users, ds.n_items)),
        ("popularity", Popularity().fit(loo.train, ds.n_items)))}
    ln.manual_seed(seed + 1)
    t0 = time.perf_counter()
    run = run_implicit("neumf", ds, loo)
    m = ranking_metrics(run.model, *test)
    hist = run.history.history
    best = int(np.argmax(hist["val_hr"]))
    m.update(epochs=run.epochs, val_hr=hist["val_hr"][best], val_ndcg=hist["val_ndcg"][best], refit=run.refit,
             seconds=round(time.perf_counter() - t0, 1), **run.pretrained)
    out["neumf"] = m
    return out


def _row(name: str, m: dict, keys: tuple[str, ...]) -> str:
    how = ", refit on all training data" if m.get("refit") else ""
    return f"  {name:16s}" + "".join(f"  {k} {m[k]:.4f}" for k in keys) + (
        f"   ({m['epochs']} epochs chosen on validation{how}; {m['seconds']} s)" if "epochs" in m else "")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None, help="directory holding u.data etc. (default: $LUCIDNET_DATA/ml-100k)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-folds", action="store_true", help="only u1 for the explicit models")
    p.add_argument("--skip-implicit", action="store_true")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    a = p.parse_args()
    ds = MovieLens100K(a.data)
    print(f"lucidnet {ln.__version__}, {ds}, seed {a.seed}, OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    result: dict = {}
    splits = ["u1"] if a.skip_folds else ["u1", "u2", "u3", "u4", "u5"]
    for split in splits:
        r = result.setdefault("explicit", {})[split] = explicit_split(ds, split, a.seed)
        print(f"\n{split}: trained on {split}.base only (5% of it picks the epoch count), tested on {split}.test")
        for name, m in r.items():
            print(_row(name, m, ("rmse", "mae")))
        sys.stdout.flush()
    if len(splits) == 5:
        folds = result["explicit"]
        avg = {name: {k: float(np.mean([folds[s][name][k] for s in splits])) for k in ("rmse", "mae")}
               for name in folds["u1"]}
        result["explicit"]["5-fold average"] = avg
        print("\n5-fold average (u1..u5)")
        for name, m in avg.items():
            print(_row(name, m, ("rmse", "mae")))
    if not a.skip_implicit:
        r = result["implicit"] = implicit(ds, a.seed)
        print("\nimplicit, leave-one-out (latest item per user vs 99 sampled unrated items; epoch chosen on the "
              "second-latest)")
        for name, m in r.items():
            print(_row(name, m, ("hr", "ndcg")))
        n = r["neumf"]
        towers = (f"; pretrained towers: GMF {n['gmf_epochs']} epochs, MLP {n['mlp_epochs']} epochs"
                  if "gmf_epochs" in n else "")
        print(f"  neumf on validation at the chosen epoch: HR@10 {n['val_hr']:.4f}, NDCG@10 {n['val_ndcg']:.4f}"
              + towers)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
