"""``TrainingCheckpoint``: write the whole training state, atomically, so a killed run can resume."""
from __future__ import annotations

import os
from typing import Any

from .base import Callback

__all__ = ["TrainingCheckpoint"]


class TrainingCheckpoint(Callback):
    """Save the run (model, optimizer, scheduler, epoch and step, RNG state, history, DataLoader position,
    the epoch's running metrics and the callbacks' state) to ``path`` every ``every_n_steps`` optimizer
    steps and (``every_epoch=True``) at the end of every epoch. ``fit(..., resume=path)`` continues from it,
    bit-identically to a run that never stopped (given the same seed, data and code).

    The file is one safetensors file written atomically: a run killed while writing it keeps the previous
    checkpoint. ``fit(checkpoint=path, checkpoint_every=N)`` adds one of these; it always runs after the
    other callbacks, so their end-of-step and end-of-epoch updates are in the saved state.

    >>> cb = TrainingCheckpoint("run.ckpt", every_n_steps=100)
    """

    def __init__(self, path: str | os.PathLike, every_n_steps: int | None = None, every_epoch: bool = True):
        if every_n_steps is not None and (isinstance(every_n_steps, bool) or not isinstance(every_n_steps, int)
                                          or every_n_steps < 1):
            raise ValueError(f"TrainingCheckpoint: every_n_steps must be a positive int or None, got {every_n_steps!r}")
        self.path, self.every_n_steps, self.every_epoch = os.fspath(path), every_n_steps, every_epoch
        self.saves = 0

    def _save(self) -> None:
        d = os.path.dirname(self.path)
        if d:
            os.makedirs(d, exist_ok=True)
        self.trainer.save_checkpoint(self.path)
        self.saves += 1

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        n = self.every_n_steps
        if n is not None and self.trainer.global_step % n == 0:
            self._save()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.every_epoch:
            self._save()
