"""``ModelCheckpoint``: save the model's weights (safetensors, via ``lucidnet.save``) during training."""
from __future__ import annotations

import math
import os
from typing import Any

from .base import Callback, monitored, resolve_mode

__all__ = ["ModelCheckpoint"]


class ModelCheckpoint(Callback):
    """Save ``model.state_dict()`` to ``filepath`` every epoch (or every ``save_freq`` batches), or only when
    ``monitor`` improves (``save_best_only=True``). Each file is written atomically (a temporary file
    renamed over the target), so a run killed while saving leaves the previous file intact.

    ``filepath`` may hold format fields filled from the epoch (1-based, as Keras) and the epoch logs:
    ``"ckpt/model-{epoch:02d}-{val_loss:.3f}.safetensors"``.

    >>> cb = ModelCheckpoint("best.safetensors", monitor="val_accuracy", save_best_only=True)
    >>> cb.mode
    'max'
    """

    rank_zero_only = True  # prints or writes files: rank 0 alone, in a data-parallel run

    def __init__(self, filepath: str | os.PathLike, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, mode: str = "auto", save_freq: str | int = "epoch",
                 initial_value_threshold: float | None = None):
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError(f"ModelCheckpoint: save_freq must be 'epoch' or a positive number of batches, "
                             f"got {save_freq!r}")
        self.filepath, self.monitor, self.verbose = os.fspath(filepath), monitor, verbose
        self.save_best_only, self.save_freq = save_best_only, save_freq
        self.mode = resolve_mode(monitor, mode, "ModelCheckpoint")
        self.initial = initial_value_threshold
        self.best = self._worst()
        self.last_saved: str | None = None

    def _worst(self) -> float:
        if self.initial is not None:
            return float(self.initial)
        return math.inf if self.mode == "min" else -math.inf

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.best = self._worst()

    def _path(self, epoch: int, logs: dict[str, Any], batch: int | None = None) -> str:
        try:
            return self.filepath.format(epoch=epoch + 1, batch=(batch or 0) + 1, **logs)
        except KeyError as e:
            raise KeyError(f"ModelCheckpoint: filepath {self.filepath!r} names {e}, which is not in the logs "
                           f"(available: epoch, batch, {', '.join(sorted(logs))})") from None

    def _save(self, path: str) -> None:
        from ...serialization import save

        d = os.path.dirname(path)
        if d:
            os.makedirs(d, exist_ok=True)
        save(self.model.state_dict(), path)
        self.last_saved = path

    def _maybe_save(self, epoch: int, logs: dict[str, Any], batch: int | None = None) -> None:
        if self.save_best_only:
            current = monitored(logs, self.monitor, "ModelCheckpoint")
            if current is None:
                return
            better = current < self.best if self.mode == "min" else current > self.best
            if not better:
                if self.verbose:
                    print(f"Epoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
                return
            if self.verbose:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to {current:.5f}, "
                      f"saving model to {self._path(epoch, logs, batch)}")
            self.best = current
        elif self.verbose:
            print(f"Epoch {epoch + 1}: saving model to {self._path(epoch, logs, batch)}")
        self._save(self._path(epoch, logs, batch))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.save_freq == "epoch":
            self._maybe_save(epoch, logs or {})

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.save_freq != "epoch" and self.trainer.global_step % self.save_freq == 0:
            self._maybe_save(self.trainer.epoch, self.trainer.running_logs() if self.save_best_only else
                             dict(logs or {}), batch)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = float(state["best"])
