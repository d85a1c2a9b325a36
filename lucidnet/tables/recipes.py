"""The table recipe: a network trained on a user's own CSV/TSV/JSON-lines/Parquet file to predict one column
(``lucidnet train --data table.csv --target COLUMN``, or ``run(RECIPES["mlp"], {"target": ...}, data=path)``).

The columns are read as ``lucidnet.tables.schema`` infers them (``categorical`` names columns to treat as
categories, ``drop`` columns to leave out; a text column whose every value differs, an identifier, is left
out with a warning); classification or regression follows from the target (``target_type`` overrides). The
rows held out for the test (``test_split`` of them, stratified by class, drawn with the run's seed; or every
row of ``test_data``, a file of its own) never touch training; of the rest, ``val_split`` is held out for
early stopping (``patience`` epochs without a lower validation loss; the best weights are kept). The
transforms (``lucidnet.tables.preprocess``) are learnt on the training rows and saved in the run directory
as ``preprocess.json``, which ``predict_table`` and ``evaluate`` apply to new files.

>>> sorted(RECIPES), RECIPES["mlp"].model["hidden"]
(['mlp'], [256])
"""
from __future__ import annotations

import os
import time
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .. import __version__, models
from ..data import holdout
from ..datasets.tables import Table, read_table
from ..inspect import Monitor
from ..inspect.report import finish_run
from ..optim.factory import build_optimizer
from ..random import manual_seed
from ..train import EVAL_BATCH_SIZE, CSVLogger, EarlyStopping, fit, predict, rundir
from ..train.metrics import confusion_matrix
from ..nn.losses import cross_entropy
from ..ops import softmax
from ..tensor import from_numpy
from ..train.recipe import Recipe, Run, RunOptions
from .preprocess import Preprocessor, embedding_dim
from .schema import infer_kinds, is_missing, target_kind

__all__ = ["RECIPES", "DATASETS", "TASKS", "TARGET_TYPES", "evaluate", "predict_table", "load_table_run",
           "regression_metrics"]

DATASETS = ("table",)
TASKS = ("tabular-classification", "tabular-regression")
TARGET_TYPES = ("classification", "regression")
ID_MIN_ROWS = 20  # a text column whose values all differ is an identifier once the table has this many rows


def _columns(value: Any, option: str) -> list[str]:
    """A list of column names from a list or a comma-separated string."""
    if value is None:
        return []
    names = [v.strip() for v in value.split(",")] if isinstance(value, str) else [str(v) for v in value]
    if any(not n for n in names):
        raise ValueError(f"{option}: empty column name in {value!r}")
    return names


def _plan(table: Table, s: dict[str, Any]) -> tuple[dict[str, str], str, list[str]]:
    """(feature column kinds, target type, columns left out) of the training file, from the settings."""
    target = s["target"]
    if target is None:
        raise ValueError(f"a table needs --target COLUMN (target= in Python): the column to predict; the columns "
                         f"of {table.path}: {', '.join(table.columns)}")
    table.column(target, "--target")
    categorical, drop = _columns(s["categorical"], "--categorical"), _columns(s["drop"], "--drop")
    for name, option in [(n, "--categorical") for n in categorical] + [(n, "--drop") for n in drop]:
        table.column(name, option)
        if name == target:
            raise ValueError(f"{option} names the target column {target!r}")
    features = [c for c in table.columns if c != target and c not in drop]
    kinds = infer_kinds(table.data, features, categorical, where=table.where)
    dropped = list(drop)
    for name in features:
        values = table.data[name]
        if kinds[name] == "categorical" and name not in categorical and len(values) >= ID_MIN_ROWS and \
                len(set(values)) == len(values):
            warnings.warn(f"{table.path}: column {name!r} has a different text in every row (an identifier?): left "
                          "out; name it in --categorical to use it", stacklevel=3)
            dropped.append(name)
            del kinds[name]
    if not kinds:
        raise ValueError(f"{table.path}: no column is left to predict {target!r} from")
    target_type = s["target_type"]
    if target_type is None:
        target_type = target_kind([v for v in table.data[target] if not is_missing(v)])
    elif target_type not in TARGET_TYPES:
        raise ValueError(f"target_type must be one of {', '.join(TARGET_TYPES)}, got {target_type!r}")
    return kinds, target_type, dropped


def _rows(table: Table, index: np.ndarray) -> dict[str, list]:
    return {name: [values[i] for i in index] for name, values in table.data.items()}


def _held_out(table: Table, s: dict[str, Any], target_type: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training rows, test rows) of the training file: all rows and none when the test set is a file of its own."""
    if s["test_data"] is not None:
        return np.arange(len(table)), np.zeros(0, dtype=np.int64)
    return holdout(len(table), float(s["test_split"]), seed, stratify=_classes_of(table, s["target"], target_type),
                   what=f"rows of {table.path}")


def _classes_of(table: Table, target: str, target_type: str, rows: np.ndarray | None = None) -> np.ndarray | None:
    """The target's class of each row (of ``rows``), to stratify a held-out split by; None for regression."""
    if target_type != "classification":
        return None
    values = table.data[target]
    return np.array([(values[i] or "").strip() for i in (range(len(values)) if rows is None else rows)], dtype=object)


def _inputs(pre: Preprocessor, rows: dict[str, list], where=None, source: str = "the file") -> tuple:
    x, codes = pre.transform(rows, where, source)
    return (x, codes) if codes.shape[1] else (x,)


def regression_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """R^2, RMSE and MAE of predictions ``pred`` of targets ``y``.

    >>> regression_metrics(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))
    {'r2': 0.5, 'rmse': 0.5773502691896257, 'mae': 0.3333333333333333}
    """
    err = pred - y
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((err ** 2).sum()) / total if total > 0 else float("nan")
    return {"r2": r2, "rmse": float(np.sqrt((err ** 2).mean())), "mae": float(np.abs(err).mean())}


def _scores(pre: Preprocessor, outputs: np.ndarray, y_raw: Sequence, where=None) -> dict[str, Any]:
    """The test metrics of a table run's outputs on rows with targets ``y_raw``."""
    y = pre.target_to(y_raw, where)
    if pre.target["type"] == "classification":
        cm = confusion_matrix(outputs, y, num_classes=len(pre.classes))
        loss = cross_entropy(from_numpy(outputs), from_numpy(y)).item()
        return {"accuracy": float(np.trace(cm) / max(cm.sum(), 1)), "loss": float(loss),
                "classes": list(pre.classes), "confusion_matrix": cm.tolist()}
    return regression_metrics(pre.target_from(y), pre.target_from(outputs))


def _run(recipe: Recipe, options: RunOptions) -> Run:
    """Train the table recipe on ``options.data`` (a file) and write the run directory (with ``options.out``)."""
    s = {**recipe.model, **recipe.train, **recipe.data}
    if options.data is None:
        raise ValueError("a table run reads your file: give --data FILE (data= in Python) with --target COLUMN")
    if options.download:
        raise ValueError("--download does not apply to a table of your own (--data FILE)")
    manual_seed(options.seed)
    t0 = time.perf_counter()
    table = read_table(options.data)
    kinds, target_type, dropped = _plan(table, s)
    train_rows, test_rows = _held_out(table, s, target_type, options.seed)
    test = read_table(s["test_data"]) if s["test_data"] is not None else None
    fit_rows, val_rows = holdout(len(train_rows), float(s["val_split"]), options.seed,
                                 stratify=_classes_of(table, s["target"], target_type, train_rows), what="training rows")
    fit_rows, val_rows = train_rows[fit_rows], train_rows[val_rows]
    where = lambda i, rows=fit_rows: table.where(int(rows[i]))  # noqa: E731 - a row of the fitted subset
    pre = Preprocessor.fit(_rows(table, fit_rows), kinds, s["target"], target_type, where=where)

    def arrays(t: Table, rows: np.ndarray) -> tuple:
        part = _rows(t, rows)
        w = lambda i: t.where(int(rows[i]))  # noqa: E731
        return (*_inputs(pre, part, w, str(t.path)), pre.target_to(part[s["target"]], w))

    train_arrays = arrays(table, fit_rows)
    val_arrays = arrays(table, val_rows) if len(val_rows) else None
    test_table, test_index = (test, np.arange(len(test))) if test is not None else (table, test_rows)
    test_part = _rows(test_table, test_index)
    test_inputs = _inputs(pre, test_part, lambda i: test_table.where(int(test_index[i])), str(test_table.path))
    classification = target_type == "classification"
    outputs = len(pre.classes) if classification else 1
    cards = pre.cardinalities
    config = {"model": {"name": "tabular_mlp", "num_features": pre.num_features, "cardinalities": cards,
                        "embed_dims": [embedding_dim(c) for c in cards], "hidden": list(s["hidden"]),
                        "num_outputs": outputs, "dropout": float(s["dropout"])},
              "recipe": recipe.name, "task": f"tabular-{target_type}", "dataset": "table",
              "data_dir": os.path.abspath(os.fspath(options.data)),
              "test_data": None if test is None else os.path.abspath(os.fspath(s["test_data"])),
              "target": s["target"], "columns": kinds, "dropped": dropped, "preprocess": rundir.PREPROCESS,
              "train": {**{k: s[k] for k in recipe.train}, "test_split": s["test_split"], "seed": options.seed},
              "lucidnet_version": __version__}
    if classification:
        config["classes"] = list(pre.classes)
    model = models.build(config["model"])
    opt = build_optimizer(s["optimizer"], model.parameters(), lr=s["lr"], weight_decay=s["weight_decay"])
    out = None if options.out is None else Path(options.out)
    if out is not None:
        rundir.write_json(out / rundir.PREPROCESS, pre.to_dict())
    if options.verbose:
        kind = f"{len(pre.classes)} classes" if classification else "regression"
        print(f"lucidnet {__version__}: training {recipe.name} on {table.path.name} to predict {s['target']!r} "
              f"({kind}; {len(fit_rows)} train / {len(val_rows)} validation / {len(test_index)} test rows)"
              + (f" -> {out}" if out else ""))
    monitor = Monitor() if out is not None else None
    stop = EarlyStopping("val_loss" if val_arrays is not None else "loss", patience=int(s["patience"]),
                         restore_best_weights=True)
    callbacks = [stop] + ([] if out is None else [CSVLogger(out / rundir.HISTORY), monitor])
    history = fit(model, train_arrays, loss="cross_entropy" if classification else "mse", optimizer=opt,
                  epochs=int(s["epochs"]), batch_size=int(s["batch_size"]), val_data=val_arrays,
                  metrics=["accuracy"] if classification else [], verbose=options.verbose, callbacks=callbacks,
                  checkpoint=None if out is None else out / rundir.CHECKPOINT,
                  resume=True if options.resume else None)
    train_time = time.perf_counter() - t0
    test_out = predict(model, test_inputs, batch_size=EVAL_BATCH_SIZE)
    scores = _scores(pre, test_out, test_part[s["target"]], lambda i: test_table.where(int(test_index[i])))
    epochs = len(history.history.get("loss", []))
    metrics: dict[str, Any] = {"test_rows": len(test_index), "train_rows": len(fit_rows), "val_rows": len(val_rows),
                               "epochs": epochs, "best_epoch": stop.best_epoch + 1, "train_seconds": round(train_time, 2)}
    if classification:
        metrics.update(test_accuracy=scores["accuracy"], test_loss=scores["loss"])
        message = f"test accuracy: {scores['accuracy']:.4f}  test loss: {scores['loss']:.4f}"
    else:
        metrics.update(test_r2=scores["r2"], test_rmse=scores["rmse"], test_mae=scores["mae"])
        message = f"test R^2: {scores['r2']:.4f}  RMSE: {scores['rmse']:.4g}  MAE: {scores['mae']:.4g}"
    message += f"  ({len(test_index)} test rows, epoch {stop.best_epoch + 1} of {epochs}, {train_time:.1f} s)"
    extra: dict[str, Any] = {}
    if classification:
        extra = {"y_true": pre.target_to(test_part[s["target"]]), "logits": test_out}
    finish_run(out, model, config, metrics, message, history, monitor, **extra)
    return Run(model, history, metrics, config, train_time, {"preprocessor": pre})


def load_table_run(run_dir: str | Path) -> tuple[Any, dict, Preprocessor]:
    """(model, config, preprocessor) of a table run directory."""
    model, config = rundir.load_run(run_dir)
    if config.get("task") not in TASKS:
        raise ValueError(f"{run_dir} holds a {config.get('task')!r} run, not a table run (lucidnet train --data "
                         "FILE --target COLUMN)")
    path = rundir.run_file(run_dir, config, "preprocess", rundir.PREPROCESS)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: {run_dir} is not a complete table run directory")
    return model, config, Preprocessor.from_dict(rundir.read_json(path), str(path))


def evaluate(run_dir: str | Path, data: str | Path | None = None) -> dict[str, Any]:
    """The test metrics of a table run: on the rows it held out of its training file (``data`` left out or that
    file; or its ``test_data`` file), or on every row of another file ``data`` (which needs the target column)."""
    model, config, pre = load_table_run(run_dir)
    trained_on = config["data_dir"]
    same = data is None or os.path.abspath(os.fspath(data)) == trained_on
    if same and config.get("test_data"):
        same, data = False, config["test_data"]
    table = read_table(trained_on if same else data)
    table.column(config["target"], "the target")
    if same:
        s = {"target": config["target"], "test_data": None, "test_split": config["train"]["test_split"]}
        rows = _held_out(table, s, pre.target["type"], int(config["train"]["seed"]))[1]
        what = f"{len(rows)} rows of {table.path.name} held out for the test"
    else:
        rows = np.arange(len(table))
        what = f"{table.path.name} ({len(rows)} rows)"
    part = _rows(table, rows)
    where = lambda i: table.where(int(rows[i]))  # noqa: E731
    outputs = predict(model, _inputs(pre, part, where, str(table.path)), batch_size=EVAL_BATCH_SIZE)
    return {"data": what, **_scores(pre, outputs, part[config["target"]], where)}


def predict_table(run_dir: str | Path, path: str | os.PathLike) -> tuple[Table, dict[str, list]]:
    """(the table read from ``path``, new columns): ``prediction`` for every row (the class, or the value), and
    for a classifier ``probability_CLASS`` for each class. The target column need not be in the file."""
    model, config, pre = load_table_run(run_dir)
    table = read_table(path)
    out = predict(model, _inputs(pre, table.data, table.where, str(table.path)), batch_size=EVAL_BATCH_SIZE)
    if pre.target["type"] == "regression":
        return table, {"prediction": [float(v) for v in pre.target_from(out)]}
    prob = softmax(from_numpy(out), 1).numpy()
    columns: dict[str, list] = {"prediction": [pre.classes[i] for i in prob.argmax(axis=1)]}
    for j, name in enumerate(pre.classes):
        columns[f"probability_{name}"] = [float(p) for p in prob[:, j]]
    return table, columns


RECIPES: dict[str, Recipe] = {r.name: r for r in (
    Recipe("mlp", family="tables", task="tabular", datasets=DATASETS,
           model={"name": "tabular_mlp", "hidden": [256], "dropout": 0.1},
           train={"epochs": 300, "batch_size": 64, "optimizer": "adamw", "lr": 1e-3, "weight_decay": 1e-4,
                  "patience": 20, "val_split": 0.15},
           data={"target": None, "categorical": None, "drop": None, "target_type": None, "test_split": 0.2,
                 "test_data": None},
           runner=_run, description="an MLP (one hidden layer of 256) over standardised numbers, one-hot or "
                                    "embedded categories; early stopping on a validation split"),
)}
