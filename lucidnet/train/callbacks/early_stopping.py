"""``EarlyStopping``: stop training when a monitored quantity has stopped improving."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import Callback, monitored, resolve_mode

__all__ = ["EarlyStopping"]


def _snapshot(model: Any) -> dict[str, np.ndarray]:
    """Copies of the model's weights as they are now (``state_dict()`` shares the model's memory)."""
    return {k: np.array(v, copy=True) for k, v in model.state_dict().items()}


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    Args:
        monitor: a key of the epoch logs (``"val_loss"``, ``"val_accuracy"``, ``"loss"``).
        min_delta: the smallest change that counts as an improvement (absolute).
        patience: epochs without improvement before stopping.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (max for accuracy-like names).
        baseline: training stops unless the quantity beats this value within ``patience`` epochs.
        restore_best_weights: at the end of training, load the weights of the best epoch.
        start_from_epoch: epochs of warm-up before improvement is watched.

    A ``val_*`` quantity is watched at every validation: with ``fit(val_check_interval=...)`` inside the epochs
    too, so the best weights may be those of the middle of an epoch (``best_epoch``, ``best_step``: the epoch,
    0-based, and the global step of the best value); an epoch counts as improving when any of its validations
    improved.

    >>> import lucidnet as ln
    >>> stop = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0, verbose: int = 0,
                 mode: str = "auto", baseline: float | None = None, restore_best_weights: bool = False,
                 start_from_epoch: int = 0):
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}")
        self.monitor, self.patience, self.verbose = monitor, int(patience), verbose
        self.mode = resolve_mode(monitor, mode, "EarlyStopping")
        self.min_delta = abs(float(min_delta))
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.start_from_epoch = int(start_from_epoch)
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.stopped_epoch = -1
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = -1
        self.best_step = -1
        self.best_weights: dict[str, np.ndarray] | None = None
        self._improved = False  # whether a validation of the epoch in progress improved (past the baseline)

    def _better(self, a: float, b: float) -> bool:
        return a < b - self.min_delta if self.mode == "min" else a > b + self.min_delta

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._reset()

    def _consider(self, current: float, epoch: int) -> None:
        """Keep ``current`` (and the weights) if it is the best so far."""
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = _snapshot(self.model)
        if self._better(current, self.best):
            self.best, self.best_epoch, self.best_step = current, epoch, int(self.trainer.global_step)
            if self.restore_best_weights:
                self.best_weights = _snapshot(self.model)
            if self.baseline is None or self._better(current, self.baseline):
                self._improved = True
            # better than before but not yet better than the baseline: the patience keeps running

    def on_validation_end(self, logs: dict[str, Any] | None = None) -> None:
        epoch = self.trainer.epoch
        if epoch >= self.start_from_epoch and logs and logs.get(self.monitor) is not None:
            self._consider(float(logs[self.monitor]), epoch)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if epoch < self.start_from_epoch:
            return
        current = monitored(logs, self.monitor, "EarlyStopping")
        if current is None:
            return
        self._consider(current, epoch)  # a quantity validation did not report (a training one), or seen already
        improved, self._improved = self._improved, False
        self.wait = 0 if improved else self.wait + 1
        if not improved and self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.trainer.stop_training = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.stopped_epoch >= 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the best validation: epoch {self.best_epoch + 1}, step "
                      f"{self.best_step}.")
            self.model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict[str, Any]:
        s: dict[str, Any] = {"wait": self.wait, "best": self.best, "best_epoch": self.best_epoch,
                             "best_step": self.best_step, "stopped_epoch": self.stopped_epoch,
                             "improved": int(self._improved)}
        if self.best_weights is not None:
            s["best_weights"] = dict(self.best_weights)
        return s

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.wait, self.best = int(state["wait"]), float(state["best"])
        self.best_epoch, self.stopped_epoch = int(state["best_epoch"]), int(state["stopped_epoch"])
        self.best_step, self._improved = int(state.get("best_step", -1)), bool(state.get("improved", 0))
        bw = state.get("best_weights")
        self.best_weights = None if bw is None else {k: np.array(v) for k, v in bw.items()}
