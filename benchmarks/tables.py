#!/usr/bin/env python3
"""Your own tables: lucidnet beside scikit-learn on the real tables shipped inside scikit-learn, one command.

    python benchmarks/tables.py [--folds 5] [--datasets breast_cancer wine digits diabetes]

Every dataset is cut into the same 5 folds (stratified for classification, shuffled with seed 0); on each fold
four learners train on the other four folds and are scored on it: ``lucidnet train`` (the CLI, the table
recipe, given the fold's rows as CSV files: --data train.csv --test-data test.csv), ``lucidnet.sklearn``'s
``NeuralNetClassifier``/``NeuralNetRegressor`` (defaults), scikit-learn's ``MLPClassifier``/``MLPRegressor``
(defaults, in a Pipeline after a StandardScaler, as scikit-learn's guide advises) and
``HistGradientBoostingClassifier``/``Regressor`` (defaults). The table: mean +- std of accuracy (R^2 for
diabetes) over the folds, with the test rows misclassified over all folds, and the mean fit time per fold
(for the CLI: its training time, from reading the CSV to the trained model, as it reports in metrics.json;
the whole command, report included, in brackets). The learners of a fold run back to back, so that a load
on the machine falls on all of them alike.
California housing is downloaded by scikit-learn and is not offline here, so it is not in the table.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

LOADERS = {"breast_cancer": "load_breast_cancer", "wine": "load_wine", "digits": "load_digits",
           "diabetes": "load_diabetes"}
REGRESSION = {"diabetes"}


def write_fold(path: Path, x: np.ndarray, y: np.ndarray) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([f"x{i}" for i in range(x.shape[1])] + ["target"])
        w.writerows([*map(repr, row.tolist()), t] for row, t in zip(x, y.tolist()))
    return path


def cli_fold(tmp: Path, xtr, ytr, xte, yte, regression: bool) -> tuple[float, float, float]:
    """(score, training seconds, command seconds) of ``lucidnet train`` on one fold."""
    from lucidnet.cli import main
    train, test = write_fold(tmp / "train.csv", xtr, ytr), write_fold(tmp / "test.csv", xte, yte)
    args = ["train", "--data", str(train), "--test-data", str(test), "--target", "target", "--quiet",
            "--out", str(tmp / "run"), "--overwrite"]
    if regression:
        args += ["--target-type", "regression"]
    t0 = time.perf_counter()
    with open(os.devnull, "w") as devnull:
        stdout, sys.stdout = sys.stdout, devnull
        try:
            rc = main(args)
        finally:
            sys.stdout = stdout
    wall = time.perf_counter() - t0
    if rc != 0:
        raise SystemExit(f"lucidnet train failed on a fold: {' '.join(args)}")
    m = json.loads((tmp / "run" / "metrics.json").read_text())
    return (m["test_r2"] if regression else m["test_accuracy"]), m["train_seconds"], wall


def estimators(regression: bool) -> dict:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from lucidnet.sklearn import NeuralNetClassifier, NeuralNetRegressor
    if regression:
        return {"lucidnet NeuralNetRegressor": lambda: NeuralNetRegressor(random_state=0),
                "sklearn MLPRegressor": lambda: make_pipeline(StandardScaler(), MLPRegressor(random_state=0)),
                "sklearn HistGradientBoosting": lambda: HistGradientBoostingRegressor(random_state=0)}
    return {"lucidnet NeuralNetClassifier": lambda: NeuralNetClassifier(random_state=0),
            "sklearn MLPClassifier": lambda: make_pipeline(StandardScaler(), MLPClassifier(random_state=0)),
            "sklearn HistGradientBoosting": lambda: HistGradientBoostingClassifier(random_state=0)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--datasets", nargs="+", default=list(LOADERS), choices=list(LOADERS))
    args = p.parse_args()
    from sklearn import datasets
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.model_selection import KFold, StratifiedKFold
    warnings.simplefilter("ignore", ConvergenceWarning)
    rows = []
    for name in args.datasets:
        d = getattr(datasets, LOADERS[name])()
        x, y = d.data.astype(np.float64), d.target
        regression = name in REGRESSION
        folds = (KFold if regression else StratifiedKFold)(args.folds, shuffle=True, random_state=0)
        results: dict[str, list] = {}
        sizes = [len(te) for _, te in folds.split(x, y)]
        with tempfile.TemporaryDirectory() as tmp:
            for k, (tr, te) in enumerate(folds.split(x, y)):
                score, train_s, wall = cli_fold(Path(tmp), x[tr], y[tr], x[te], y[te], regression)
                results.setdefault("lucidnet train (CLI)", []).append((score, train_s, wall))
                for label, make in estimators(regression).items():
                    est = make()
                    t0 = time.perf_counter()
                    est.fit(x[tr], y[tr])
                    fit_s = time.perf_counter() - t0
                    pred = est.predict(x[te])
                    score = r2_score(y[te], pred) if regression else accuracy_score(y[te], pred)
                    results.setdefault(label, []).append((score, fit_s, None))
                print(f"{name}: fold {k + 1}/{args.folds} done", file=sys.stderr)
        for label, values in results.items():
            s = np.array([v[0] for v in values])
            t = np.array([v[1] for v in values])
            wall = [v[2] for v in values if v[2] is not None]
            wrong = "" if regression else f" ({sum(round((1 - v[0]) * n) for v, n in zip(values, sizes))} wrong)"
            rows.append((name, f"{x.shape[0]}x{x.shape[1]}", "R^2" if regression else "accuracy", label,
                         f"{s.mean():.4f} +- {s.std():.4f}{wrong}",
                         f"{t.mean():.2f}" + (f" ({np.mean(wall):.2f})" if wall else "")))
    print(f"{args.folds}-fold cross-validation, mean fit seconds per fold on this machine")
    print("| dataset | rows x cols | metric | learner | score | fit s |")
    print("|---|---|---|---|---:|---:|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
