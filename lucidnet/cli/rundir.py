"""A run directory: everything a trained model needs to be evaluated, used or rebuilt.

    model.safetensors   the weights (lucidnet.save)
    config.json         the architecture (rebuilt with lucidnet.models.build), input normalisation, classes,
                        dataset and training recipe
    history.csv         per-epoch loss and metrics
    metrics.json        final test metrics
    report.html         curves, per-layer statistics and the doctor's findings (lucidnet.inspect; plots/*.png,
                        monitor.json, diagnosis.json and, for classifiers of images, predictions.npz beside it)
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .. import models
from ..serialization import load, save
from ..serialization.atomic import atomic_write

MODEL, CONFIG, HISTORY, METRICS, CHECKPOINT = ("model.safetensors", "config.json", "history.csv", "metrics.json",
                                               "checkpoint.safetensors")
# batch size of test-set passes: large enough to be fast, small enough that the im2col buffer of a convolution
# over a whole batch stays near 100 MB
EVAL_BATCH_SIZE = 250


def write_json(path: Path, obj: Any) -> None:
    atomic_write(path, [json.dumps(obj, indent=2).encode() + b"\n"])


def save_run(out: Path, model, config: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    save(model.state_dict(), out / MODEL)
    write_json(out / CONFIG, config)


def load_run(run_dir: str | os.PathLike):
    """(model in eval mode, config) from a run directory, with clear errors for what is missing."""
    d = Path(run_dir)
    if not d.is_dir():
        raise FileNotFoundError(f"run directory {str(d)!r} does not exist (expected the --out of 'lucidnet train')")
    for name in (CONFIG, MODEL):
        if not (d / name).is_file():
            raise FileNotFoundError(f"{d / name} is missing: {d} is not a complete run directory")
    try:
        config = json.loads((d / CONFIG).read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{d / CONFIG}: not valid JSON ({e})") from None
    model = models.build(config["model"])
    model.load_state_dict(load(d / MODEL))
    model.eval()
    return model, config


def normalise(x: np.ndarray, config: dict) -> np.ndarray:
    norm = config["input"]
    return ((x - np.float32(norm["mean"])) / np.float32(norm["std"])).astype(np.float32, copy=False)


def finish_run(out: Path, message: str, history: Any, monitor: Any, model: Any, config: dict, metrics: dict,
               **predictions) -> None:
    """The end of every ``lucidnet train`` run: ``metrics.json``, the training checkpoint removed, ``message``
    printed, then the report (:func:`write_report`)."""
    write_json(Path(out) / METRICS, metrics)
    (Path(out) / CHECKPOINT).unlink(missing_ok=True)
    print(message)
    write_report(out, history, monitor, model, config, metrics, **predictions)


def write_report(out: Path, history: Any, monitor: Any, model: Any, config: dict, metrics: dict, **predictions) -> None:
    """Write the run's ``report.html`` (lucidnet.inspect) and print the doctor's findings and where the report is."""
    from ..inspect.report import write_run_report
    diagnosis = write_run_report(out, history, monitor, model, config=config, metrics=metrics, **predictions)
    print(f"{diagnosis}\nreport: {Path(out) / 'report.html'}")
