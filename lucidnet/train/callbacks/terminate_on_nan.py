"""``TerminateOnNaN``: stop training as soon as a batch's loss is NaN or infinite."""
from __future__ import annotations

import math
from typing import Any

from .base import Callback

__all__ = ["TerminateOnNaN"]


class TerminateOnNaN(Callback):
    """Stop the run after the first batch whose loss is not finite (the epoch ends there; its logs and
    validation still run, so ``History`` shows the NaN). ``self.terminated`` says whether it fired.

    >>> cb = TerminateOnNaN()
    """

    def __init__(self, verbose: int = 1):
        self.verbose = verbose
        self.terminated = False

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.terminated = False

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            if self.verbose:
                print(f"Batch {batch}: invalid loss {loss}, terminating training")
            self.terminated = True
            self.trainer.stop_training = True
