"""``ProgressBar``: a live tqdm bar per epoch on a terminal, one summary line per epoch otherwise."""
from __future__ import annotations

import sys
import time
from typing import IO, Any

from .base import Callback

__all__ = ["ProgressBar", "format_logs"]


def _fmt(v: Any) -> str | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None  # arrays (a confusion matrix) are not shown
    if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e5):
        return f"{x:.3e}"
    return f"{x:.4f}"


def format_logs(logs: dict[str, Any]) -> str:
    """``"loss: 0.1234 - accuracy: 0.9500 - lr: 1.000e-04"`` (non-scalar values left out)."""
    parts = []
    for k, v in logs.items():
        s = _fmt(v)
        if s is not None:
            parts.append(f"{k}: {s}")
    return " - ".join(parts)


class ProgressBar(Callback):
    """Show training progress.

    ``verbose=1``: on a terminal, a tqdm bar per epoch with the running loss and metrics (refreshed at most
    every ``mininterval`` seconds); when the output is not a terminal (a log file, CI), one summary line
    per epoch. ``verbose=2``: one line per epoch always. ``verbose=0``: nothing. tqdm comes with lucidnet;
    where it is missing, lines are printed instead of bars.

    ``fit(verbose=...)`` adds one of these unless a ``ProgressBar`` is among the callbacks.
    """

    rank_zero_only = True  # prints or writes files: rank 0 alone, in a data-parallel run

    def __init__(self, verbose: int = 1, file: IO[str] | None = None, mininterval: float = 0.1):
        if verbose not in (0, 1, 2):
            raise ValueError(f"ProgressBar: verbose must be 0, 1 or 2, got {verbose!r}")
        self.verbose, self.file, self.mininterval = verbose, file, float(mininterval)
        self._bar: Any = None
        self._tqdm: Any = None
        self._use_bar = False

    def _out(self) -> IO[str]:
        return self.file if self.file is not None else sys.stdout

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        out = self._out()
        isatty = getattr(out, "isatty", None)
        self._use_bar = self.verbose == 1 and bool(isatty and isatty())
        if self._use_bar:
            try:
                from tqdm import tqdm
            except ImportError:  # optional dependency: fall back to lines
                self._use_bar = False
            else:
                self._tqdm = tqdm

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._t0 = time.perf_counter()
        self._next = self._t0 + self.mininterval
        if self._use_bar:
            params = self.trainer.params
            self._bar = self._tqdm(total=params.get("steps"), initial=self.trainer.batch_in_epoch,
                                   desc=f"Epoch {epoch + 1}/{params.get('epochs')}", file=self._out(),
                                   unit="batch", dynamic_ncols=True, leave=True, mininterval=self.mininterval)

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        bar = self._bar
        if bar is None:
            return
        bar.update(1)
        now = time.perf_counter()
        if now >= self._next:  # the running metrics cost a little: compute them only when shown
            self._next = now + self.mininterval
            bar.set_postfix_str(format_logs(self.trainer.running_logs()), refresh=False)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if self._bar is not None:
            self._bar.set_postfix_str(format_logs(logs), refresh=True)
            self._bar.close()
            self._bar = None
        elif self.verbose:
            took = time.perf_counter() - self._t0
            line = f"Epoch {epoch + 1}/{self.trainer.params.get('epochs')} - {took:.1f}s - {format_logs(logs)}"
            print(line, file=self._out(), flush=True)

    def on_validation_end(self, logs: dict[str, Any] | None = None) -> None:
        t = self.trainer
        if not self.verbose or not t.validating_in_epoch:  # the epoch's own line shows its end's
            return
        line = (f"Epoch {t.epoch + 1}/{t.params.get('epochs')} - batch {t.batch_in_epoch}/{t.params.get('steps')} - "
                f"{format_logs(logs or {})}")
        if self._bar is not None:
            self._tqdm.write(line, file=self._out())
        else:
            print(line, file=self._out(), flush=True)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
