"""``WeightAveraging``: validate, keep and finish with a running average of the weights (EMA or SWA).

An ``optim.swa_utils.AveragedModel`` of the model is updated after every optimizer step. Each validation runs
on the averaged weights, swapped into the model (the optimizer's parameters, in place) until training goes on,
so the callbacks that react to it (``EarlyStopping(restore_best_weights=True)``, ``ModelCheckpoint``) see and
keep the weights that were measured; the model's own weights come back before the next step. At the end of
training the model holds the averaged weights. Put it before ``EarlyStopping`` in the list: callbacks run in
order, and a later ``restore_best_weights`` then has the last word. PyTorch Lightning's ``WeightAveraging``
callback; Keras's ``use_ema`` optimizers with ``SwapEMAWeights``.

>>> import lucidnet as ln
>>> ema = WeightAveraging(decay=0.999)           # or decay=None: the equal (SWA) average from start_step on
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ...autograd import version
from ...optim.swa_utils import AveragedModel, get_ema_multi_avg_fn, get_swa_multi_avg_fn
from .base import Callback

__all__ = ["WeightAveraging"]


class WeightAveraging(Callback):
    """Average the weights along training; validate and finish with the average.

    Args:
        decay: the exponential moving average's decay per step (``averaged = decay * averaged + (1 - decay) *
            current``); None for the equal average of every step from ``start_step`` on (SWA).
        start_step: the optimizer step from which the weights are averaged (the first copies them).
        use_buffers: average the buffers (BatchNorm's running statistics) too, rather than take the model's.
    """

    def __init__(self, decay: float | None = 0.999, start_step: int = 0, use_buffers: bool = True):
        if decay is not None and (isinstance(decay, bool) or not 0.0 < float(decay) < 1.0):
            raise ValueError(f"WeightAveraging: decay must be in (0, 1) or None (the equal average), got {decay!r}")
        if isinstance(start_step, bool) or not isinstance(start_step, int) or start_step < 0:
            raise ValueError(f"WeightAveraging: start_step must be a non-negative int, got {start_step!r}")
        self.decay, self.start_step, self.use_buffers = decay, start_step, bool(use_buffers)
        self.averaged: AveragedModel | None = None
        self._seen = -1  # the global step the average includes
        self._backup: list[np.ndarray] | None = None  # the model's own weights while the average is swapped in

    def _weights(self, model: Any) -> list:
        return list(model.parameters()) + (list(model.buffers()) if self.use_buffers else [])

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        rule = get_swa_multi_avg_fn() if self.decay is None else get_ema_multi_avg_fn(self.decay)
        self.averaged = AveragedModel(self.model, multi_avg_fn=rule, use_buffers=self.use_buffers)
        self._seen, self._backup = -1, None

    def _update(self) -> None:
        step = self.trainer.global_step
        if step > self._seen and step > self.start_step and self._backup is None:
            self.averaged.update_parameters(self.model)
            self._seen = step

    def _swap(self, arrays: list[np.ndarray]) -> None:
        for t, a in zip(self._weights(self.model), arrays):
            np.copyto(t.array, a)
            version.bump(t.array)

    def _swap_back(self) -> None:
        if self._backup is not None:
            backup, self._backup = self._backup, None
            self._swap(backup)

    def on_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._swap_back()

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._update()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._swap_back()

    def on_validation_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._update()  # a validation inside an epoch comes before its step's on_batch_end
        if self._backup is None and int(self.averaged.n_averaged.item()) > 0:
            self._backup = [t.array.copy() for t in self._weights(self.model)]
            self._swap([t.array for t in self._weights(self.averaged.module)])

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._swap_back()
        if self.averaged is not None and int(self.averaged.n_averaged.item()) > 0:
            self._swap([t.array for t in self._weights(self.averaged.module)])

    def state_dict(self) -> dict[str, Any]:
        if self.averaged is None:
            return {}
        s: dict[str, Any] = {"seen": self._seen, "averaged": dict(self.averaged.state_dict())}
        if self._backup is not None:
            s["backup"] = {str(i): a for i, a in enumerate(self._backup)}
        return s

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state:
            return
        self._seen = int(state["seen"])
        self.averaged.load_state_dict({k: np.array(v) for k, v in state["averaged"].items()})
        backup = state.get("backup")
        self._backup = None if backup is None else [np.array(backup[str(i)]) for i in range(len(backup))]
