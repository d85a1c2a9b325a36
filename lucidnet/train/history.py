"""``History``: what ``fit`` returns, one list per logged quantity with one value per epoch.

>>> h = History()
>>> h.append(0, {"loss": 0.9, "accuracy": 0.5, "lr": 0.1})
>>> h.append(1, {"loss": 0.4, "accuracy": 0.8, "lr": 0.1})
>>> h.history["loss"], h.epoch
([0.9, 0.4], [0, 1])
>>> h["accuracy"][-1]
0.8
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .callbacks.base import Callback

__all__ = ["History"]


def _plain(v: Any) -> Any:
    """NumPy scalars become Python numbers (arrays, like a confusion matrix, are kept as arrays)."""
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray) and v.ndim == 0:
        return v.item()
    return v


class History(Callback):
    """Per-epoch logs of a training run (a callback, as in Keras: ``fit`` runs it after your callbacks, so
    keys they add to the epoch logs are recorded too).

    ``history``: ``{"loss": [...], "val_loss": [...], "accuracy": [...], "lr": [...], ...}``;
    ``epoch``: the epoch indices (0-based) the values belong to; ``params``: the run's settings
    (epochs, steps per epoch, ...). A key that appears in a later epoch only (a metric added by a
    callback) is padded with None for the epochs before it, so every list has ``len(epoch)`` entries.
    ``validations``: every validation of the run, in order, as ``{"epoch": e, "step": global step, "val_...":
    ...}`` (one an epoch, at its end; more with ``fit(val_check_interval=...)``).
    """

    saved_with_callbacks = False  # the trainer saves it in the checkpoint's history slot

    def __init__(self) -> None:
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []
        self.params: dict[str, Any] = {}
        self.validations: list[dict[str, Any]] = []

    def append(self, epoch: int, logs: dict[str, Any]) -> None:
        n = len(self.epoch)
        self.epoch.append(int(epoch))
        for k, v in logs.items():
            self.history.setdefault(k, [None] * n).append(_plain(v))
        for k, vals in self.history.items():
            if len(vals) == n:
                vals.append(None)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.append(epoch, logs or {})

    def on_validation_end(self, logs: dict[str, Any] | None = None) -> None:
        entry = {"epoch": int(self.trainer.epoch), "step": int(self.trainer.global_step)}
        self.validations.append({**entry, **{k: _plain(v) for k, v in (logs or {}).items()}})

    def __getitem__(self, key: str) -> list:
        return self.history[key]

    def __contains__(self, key: str) -> bool:
        return key in self.history

    def keys(self):
        return self.history.keys()

    def __len__(self) -> int:
        return len(self.epoch)

    def state_dict(self) -> dict[str, Any]:
        return {"history": {k: list(v) for k, v in self.history.items()}, "epoch": list(self.epoch),
                "params": dict(self.params), "validations": [dict(v) for v in self.validations]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.history = {k: [_plain(x) for x in v] for k, v in state["history"].items()}
        self.epoch = [int(e) for e in state["epoch"]]
        self.params = dict(state.get("params", {}))
        self.validations = [{k: _plain(x) for k, x in v.items()} for v in state.get("validations", [])]

    def __repr__(self) -> str:
        last = {k: v[-1] for k, v in self.history.items() if v and isinstance(v[-1], (int, float))}
        body = ", ".join(f"{k}={v:.4g}" for k, v in last.items())
        return f"History({len(self.epoch)} epochs{': ' + body if body else ''})"
