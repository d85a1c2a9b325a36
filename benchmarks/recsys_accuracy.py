#!/usr/bin/env python3
"""The recommendation accuracy figures of issue 6 on MovieLens-100K, from the library's recipes.

    LUCIDNET_DATA=../shared/data python benchmarks/recsys_accuracy.py [--skip-folds] [--seed 0] [--json OUT] [--progress]

1. Explicit, official u1 split: BiasedMF and I-AutoRec trained on u1.base only (5% of u1.base held out to
   choose the epoch count, then a refit on all of u1.base), RMSE and MAE on u1.test; baselines (global mean,
   user + item biases) beside them.
2. The same for u1..u5 and the 5-fold average (``--skip-folds`` leaves it out).
3. Implicit, leave-one-out: NeuMF trained on all but each user's latest two interactions, the epoch count
   chosen on the second-latest (validation), then refit on all but the latest; HR@10 and NDCG@10 of the
   latest against 99 sampled unrated items; baselines (global mean, user + item biases, popularity) by the
   same code. The test items are never used for any choice.

Every model figure is the one ``lucidnet train --dataset ml-100k --model NAME [--split uK] --seed SEED`` gives:
the benchmark runs the same recipes through the same ``lucidnet.train.recipe.run`` path, seeded the same way.

The BLAS thread count changes the last bits of matrix products, and over hundreds of epochs the figures: the
benchmark leaves it as the environment sets it, as ``lucidnet train`` does, so the two agree in the same shell.
For figures that do not depend on the machine's core count, run both with ``OPENBLAS_NUM_THREADS=1`` (also the
faster setting on a busy 2-core machine, where a second BLAS thread only waits).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

import lucidnet as ln
from lucidnet.recsys import MovieLens100K
from lucidnet.recsys.recipes import RECIPES, how_trained
from lucidnet.train.recipe import run


def _recipe(name: str, split: str | None, data: str | None, seed: int, verbose: int) -> tuple[dict, dict]:
    """(the model's figures, the baselines') of recipe ``name`` run exactly as ``lucidnet train --dataset ml-100k
    --model NAME [--split SPLIT] --seed SEED`` runs it (the same ``run`` path, so the same seeding)."""
    r = run(RECIPES[name], None if split is None else {"split": split}, data=data, seed=seed, verbose=verbose)
    sel, met = r.artifacts["selection"], r.metrics
    if split is None:
        m = {"hr": met["test_hr10"], "ndcg": met["test_ndcg10"], "users": met["test_users"]}
        best = int(np.argmax(sel.history.history["val_hr"]))
        m.update(val_hr=sel.history.history["val_hr"][best], val_ndcg=sel.history.history["val_ndcg"][best],
                 **sel.pretrained)
    else:
        m = {"rmse": met["test_rmse"], "mae": met["test_mae"], "n": met["test_ratings"],
             "best_val_rmse": min(sel.history.history["val_rmse"])}
    refit_on = "train + validation" if split is None else f"the whole {split}.base"
    m.update(epochs=sel.epochs, refit=sel.refit, seconds=round(r.seconds, 1), trained=how_trained(sel, refit_on))
    return m, met["baselines"]


def explicit_split(data: str | None, split: str, seed: int, verbose: int = 0) -> dict:
    out: dict = {}
    for name in ("mf", "autorec"):
        m, baselines = _recipe(name, split, data, seed, verbose)
        out = {**baselines, **out, name: m}
    return out


def implicit(data: str | None, seed: int, verbose: int = 0) -> dict:
    m, baselines = _recipe("neumf", None, data, seed, verbose)
    return {**baselines, "neumf": m}


def _row(name: str, m: dict, keys: tuple[str, ...]) -> str:
    return f"  {name:16s}" + "".join(f"  {k} {m[k]:.4f}" for k in keys) + (
        f"   ({m['trained']}; {m['seconds']} s)" if "trained" in m else "")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None, help="directory holding u.data etc. (default: $LUCIDNET_DATA/ml-100k)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-folds", action="store_true", help="only u1 for the explicit models")
    p.add_argument("--skip-implicit", action="store_true")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    p.add_argument("--progress", action="store_true", help="show each training run's progress")
    a = p.parse_args()
    ds = MovieLens100K(a.data)
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    print(f"lucidnet {ln.__version__}, {ds}, seed {a.seed}, OPENBLAS_NUM_THREADS={threads}")
    result: dict = {}
    splits = ["u1"] if a.skip_folds else ["u1", "u2", "u3", "u4", "u5"]
    for split in splits:
        r = result.setdefault("explicit", {})[split] = explicit_split(a.data, split, a.seed, int(a.progress))
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
        r = result["implicit"] = implicit(a.data, a.seed, int(a.progress))
        print("\nimplicit, leave-one-out (latest item per user vs 99 sampled unrated items; epoch chosen on the "
              "second-latest)")
        for name, m in r.items():
            print(_row(name, m, ("hr", "ndcg")))
        n = r["neumf"]
        print(f"  neumf on validation at the chosen epoch: HR@10 {n['val_hr']:.4f}, NDCG@10 {n['val_ndcg']:.4f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
