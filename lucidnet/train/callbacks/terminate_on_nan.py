"""``TerminateOnNaN``: stop training as soon as a batch's loss is NaN or infinite, naming the step and the cause."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import Callback

__all__ = ["TerminateOnNaN"]


def _finite(x: Any) -> bool:
    """Whether every float in ``x`` (a Tensor, an array, or a tuple of them) is finite."""
    if isinstance(x, (tuple, list)):
        return all(_finite(v) for v in x)
    a = getattr(x, "array", x)
    return not (isinstance(a, np.ndarray) and a.dtype.kind in "fc") or bool(np.isfinite(a).all())


class TerminateOnNaN(Callback):
    """Stop the run after the first batch whose loss is not finite (the epoch ends there; its logs and
    validation still run, so ``History`` shows the NaN). ``self.terminated`` says whether it fired and
    ``self.reason`` says where: the step, and the input batch, the first layer whose output was not finite in
    that batch's forward pass, or the loss itself when every layer's output was finite. (Forward hooks on the
    model's leaf modules keep a reference to each output of the batch; nothing is checked unless the loss is
    not finite.) A ``TrainingCheckpoint`` does not save the non-finite state, so the last good one is kept.

    >>> cb = TerminateOnNaN()
    """

    def __init__(self, verbose: int = 1):
        self.verbose = verbose
        self.terminated = False
        self.reason: str | None = None
        self._seen: list[tuple[str, Any, tuple, Any]] = []
        self._recording = False
        self._handles: list[Any] = []

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.terminated, self.reason = False, None
        self._remove_hooks()
        named = getattr(self.model, "named_modules", None)
        for name, module in (named() if named is not None else []):
            if not any(True for _ in module.children()):
                self._handles.append(module.register_forward_hook(self._record(name or type(module).__name__)))

    def _record(self, name: str):
        def hook(module: Any, inputs: tuple, output: Any) -> None:
            if self._recording:
                self._seen.append((name, module, inputs, output))
        return hook

    def on_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._seen.clear()
        self._recording = True

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._recording = False
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            t = self.trainer
            self.reason = (f"step {t.global_step} (epoch {t.epoch + 1}, batch {batch + 1}): the loss is {loss}; "
                           f"{self._cause()}")
            if self.verbose:
                print(f"Terminating training: invalid loss at {self.reason}")
            self.terminated = True
            t.stop_training = True
        self._seen.clear()

    def _cause(self) -> str:
        if not self._seen:
            return "no layer output was recorded"
        name, module, inputs, _ = self._seen[0]
        if not _finite(inputs):
            return f"the input batch holds NaN or infinity (layer '{name}' ({type(module).__name__}) saw it first)"
        for name, module, _, output in self._seen:
            if not _finite(output):
                bad = [n for n, p in module.named_parameters(recurse=False) if not _finite(p)]
                why = (f": its {', '.join(bad)} already not finite (earlier steps diverged: lower the learning "
                       "rate, or clip gradients)" if bad else "")
                return f"layer '{name}' ({type(module).__name__}) gave the first non-finite output{why}"
        what = getattr(self.trainer, "loss_name", None) or "the loss function"
        return (f"every layer's output was finite: the loss ({what}) made it (from NaN or infinite targets, or from "
                "outputs too large for it)")

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._remove_hooks()

    def _remove_hooks(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()
        self._seen.clear()
