"""``TrainingCheckpoint``: write the whole training state, atomically, so a killed run can resume."""
from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from ...serialization.atomic import remove_stale_temps
from .base import Callback

__all__ = ["TrainingCheckpoint"]


class TrainingCheckpoint(Callback):
    """Save the run (model, optimizer, scheduler, epoch and step, RNG state, history, DataLoader position,
    the epoch's running metrics and the callbacks' state) to ``path`` every ``every_n_steps`` optimizer
    steps and (``every_epoch=True``) at the end of every epoch. ``fit(..., resume=path)`` continues from it,
    bit-identically to a run that never stopped (given the same seed, data and code).

    The file is one safetensors file written atomically: a run killed while writing it keeps the previous
    checkpoint (and the temporary file such a kill leaves is removed when the next run starts); a write that
    fails (a full disk) raises an ``OSError`` naming the file and leaves the previous one as it was. A state
    whose parameters or buffers are not finite (a NaN loss stepped into them) is not saved, with a warning:
    the last good checkpoint stays. ``fit(checkpoint=path, checkpoint_every=N)`` adds one of these; it always
    runs after the other callbacks, so their end-of-step and end-of-epoch updates are in the saved state.

    >>> cb = TrainingCheckpoint("run.ckpt", every_n_steps=100)
    """

    def __init__(self, path: str | os.PathLike, every_n_steps: int | None = None, every_epoch: bool = True):
        if every_n_steps is not None and (isinstance(every_n_steps, bool) or not isinstance(every_n_steps, int)
                                          or every_n_steps < 1):
            raise ValueError(f"TrainingCheckpoint: every_n_steps must be a positive int or None, got {every_n_steps!r}")
        self.path, self.every_n_steps, self.every_epoch = os.fspath(path), every_n_steps, every_epoch
        self.saves = 0
        self.saved_step: int | None = None  # the step of the last checkpoint this callback wrote
        self._warned = False

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        remove_stale_temps(self.path)

    def _not_finite(self) -> str | None:
        """The name of the first parameter or buffer that holds a NaN or an infinity, or None."""
        model = self.trainer.model
        for kind, named in (("parameter", "named_parameters"), ("buffer", "named_buffers")):
            for name, t in getattr(model, named, lambda: [])():
                a = getattr(t, "array", t)
                if isinstance(a, np.ndarray) and a.dtype.kind in "fc" and not np.isfinite(a).all():
                    return f"{kind} {name!r}"
        return None

    def _save(self) -> None:
        bad = self._not_finite()
        if bad is not None:
            if not self._warned:
                kept = "nothing" if self.saved_step is None else f"the checkpoint of step {self.saved_step}"
                warnings.warn(f"TrainingCheckpoint: not saving {self.path} at step {self.trainer.global_step}: the "
                              f"model's {bad} is not finite; {kept} is kept", RuntimeWarning, stacklevel=2)
                self._warned = True
            return
        d = os.path.dirname(self.path)
        if d:
            os.makedirs(d, exist_ok=True)
        self.trainer.save_checkpoint(self.path)
        self.saves += 1
        self.saved_step = self.trainer.global_step

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        n = self.every_n_steps
        if n is not None and self.trainer.global_step % n == 0:
            self._save()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.every_epoch:
            self._save()
