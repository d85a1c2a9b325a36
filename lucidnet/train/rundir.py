"""A run directory: everything a trained model needs to be evaluated, used or rebuilt. This module owns its
file names and how they are saved and loaded; the applications, ``lucidnet.inspect`` and the CLI use it.

    model.safetensors       the weights (lucidnet.save)
    config.json             what ran: the architecture (rebuilt with lucidnet.models.build), the recipe and its
                            settings, the data, the task, and what the task needs (input normalisation, classes)
    history.csv             per-epoch loss and metrics
    metrics.json            final test metrics
    checkpoint.safetensors  the training state while a run is in progress (removed when it finishes)
    report.html             curves, per-layer statistics and the doctor's findings (lucidnet.inspect), with
                            plots/*.png, monitor.json, diagnosis.json and predictions.npz beside it
    vocab.json              a text run's vocabulary; sample.txt: a language model's sample
    catalog.json            a recommender's ids, titles and seen items

>>> import tempfile, lucidnet as ln
>>> d = tempfile.mkdtemp()
>>> model = ln.models.build({"name": "mlp", "in_features": 4, "hidden": [8], "num_classes": 3})
>>> save_run(d, model, {"model": ln.models.config_of(model), "task": "image-classification"})
>>> load_run(d)[1]["task"]
'image-classification'
"""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

from .. import models
from ..serialization import load, save
from ..serialization.atomic import atomic_write

__all__ = ["MODEL", "CONFIG", "HISTORY", "METRICS", "CHECKPOINT", "REPORT", "MONITOR", "PREDICTIONS", "DIAGNOSIS",
           "PLOTS", "VOCAB", "SAMPLE", "CATALOG", "save_run", "load_run", "load_config", "write_json", "read_json",
           "read_history", "write_metrics"]

MODEL, CONFIG, HISTORY, METRICS, CHECKPOINT = ("model.safetensors", "config.json", "history.csv", "metrics.json",
                                               "checkpoint.safetensors")
REPORT, MONITOR, PREDICTIONS, DIAGNOSIS, PLOTS = ("report.html", "monitor.json", "predictions.npz", "diagnosis.json",
                                                  "plots")
VOCAB, SAMPLE, CATALOG = "vocab.json", "sample.txt", "catalog.json"


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """``obj`` as indented JSON, written atomically."""
    atomic_write(Path(path), [json.dumps(obj, indent=2).encode() + b"\n"])


def read_json(path: str | os.PathLike) -> Any:
    """A JSON file, with an error naming the file when it is not valid JSON."""
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{p}: not valid JSON ({e})") from None


def save_run(out: str | os.PathLike, model: Any, config: dict) -> None:
    """The model's weights and its config."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save(model.state_dict(), out / MODEL)
    write_json(out / CONFIG, config)


def write_metrics(out: str | os.PathLike, metrics: dict) -> None:
    """``metrics.json``; the run is finished, so its training checkpoint goes."""
    write_json(Path(out) / METRICS, metrics)
    (Path(out) / CHECKPOINT).unlink(missing_ok=True)


def load_config(run_dir: str | os.PathLike) -> dict:
    """The ``config.json`` of a run directory, with clear errors for a missing directory or file."""
    d = Path(run_dir)
    if not d.is_dir():
        raise FileNotFoundError(f"run directory {str(d)!r} does not exist (expected the --out of 'lucidnet train')")
    if not (d / CONFIG).is_file():
        raise FileNotFoundError(f"{d / CONFIG} is missing: {d} is not a complete run directory")
    config = read_json(d / CONFIG)
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise ValueError(f"{d / CONFIG}: expected an object with a 'model' entry (a lucidnet run's config)")
    return config


def load_run(run_dir: str | os.PathLike) -> tuple[Any, dict]:
    """(model in eval mode, config) from a run directory, with clear errors for what is missing."""
    d = Path(run_dir)
    config = load_config(d)
    if not (d / MODEL).is_file():
        raise FileNotFoundError(f"{d / MODEL} is missing: {d} is not a complete run directory")
    model = models.build(config["model"])
    model.load_state_dict(load(d / MODEL))
    model.eval()
    return model, config


def read_history(path: str | os.PathLike) -> dict[str, list]:
    """``history.csv`` (written by ``CSVLogger``) as ``{column: [float or None per epoch]}``, without ``epoch``."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return {}
    header, body = rows[0], [r for r in rows[1:] if r]
    return {k: [float(r[i]) if i < len(r) and r[i] != "" else None for r in body]
            for i, k in enumerate(header) if k != "epoch"}
