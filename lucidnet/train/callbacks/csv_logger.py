"""``CSVLogger``: one CSV row per epoch with the epoch's logs (and, when asked, one per validation)."""
from __future__ import annotations

import csv
import os
from typing import IO, Any, Callable

import numpy as np

from .base import Callback

__all__ = ["CSVLogger"]


def _scalar(v: Any) -> bool:
    return isinstance(v, (int, float, np.number)) and not isinstance(v, bool) or v is None


class _Table:
    """A CSV file of rows ``[*index, *logs]``, flushed as they are written; its columns are the index's and the
    scalars of the first row's logs. ``open(keep)`` appends to an existing file and first drops the rows for
    which ``keep(row)`` (a dict of the row's strings) is false; ``open(None)`` starts a new file."""

    def __init__(self, filename: str, index: list[str], sep: str):
        self.filename, self.index, self.sep = filename, index, sep
        self.keys: list[str] | None = None
        self._file: IO[str] | None = None
        self._writer: Any = None

    def open(self, keep: Callable[[dict[str, str]], bool] | None, append: bool = False) -> None:
        self.keys = None
        if (keep is not None or append) and os.path.exists(self.filename):
            with open(self.filename, newline="") as f:
                rows = list(csv.reader(f, delimiter=self.sep))
            header, rows = (rows[0], rows[1:]) if rows else (None, [])
            if keep is not None and header and all(k in header for k in self.index):
                rows = [r for r in rows if r and keep(dict(zip(header, r)))]
                with open(self.filename, "w", newline="") as f:
                    w = csv.writer(f, delimiter=self.sep)
                    w.writerow(header)
                    w.writerows(rows)
            self.keys = header[len(self.index):] if header else None
            self._file = open(self.filename, "a", newline="")
        else:
            d = os.path.dirname(self.filename)
            if d:
                os.makedirs(d, exist_ok=True)
            self._file = open(self.filename, "w", newline="")
        self._writer = csv.writer(self._file, delimiter=self.sep)

    def write(self, index: list[Any], logs: dict[str, Any]) -> None:
        if self._file is None:
            return
        if self.keys is None:
            self.keys = [k for k in logs if _scalar(logs[k])]
            self._writer.writerow([*self.index, *self.keys])
        self._writer.writerow(index + ["" if logs.get(k) is None else repr(float(logs[k])) for k in self.keys])
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file, self._writer = None, None


class CSVLogger(Callback):
    """Write ``epoch`` (0-based, as ``History.epoch``) and every scalar of the epoch logs (``loss``,
    metrics, ``val_*``, ``lr``) to ``filename``, one row per epoch, flushed as it is written.

    ``append=True`` adds to an existing file (its header is kept). A resumed run (``fit(resume=...)``)
    always appends, and first drops the rows of epochs it is about to redo.

    ``validations``: a second file with one row per validation, ``step`` (the optimizer's global step),
    ``epoch`` (fractional: 0.25 after a quarter of the first epoch, 1.0 at its end) and the ``val_*``
    quantities: every point of a run that validates inside its epochs (``fit(val_check_interval=...)``), which
    the per-epoch file holds only at the epochs' ends. A resumed run keeps the rows up to its checkpoint's step.

    >>> logger = CSVLogger("training.csv", validations="validations.csv")
    """

    rank_zero_only = True  # prints or writes files: rank 0 alone, in a data-parallel run

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False,
                 validations: str | os.PathLike | None = None):
        self.filename, self.sep, self.append = os.fspath(filename), separator, append
        self._epochs = _Table(self.filename, ["epoch"], separator)
        self._validations = None if validations is None else _Table(os.fspath(validations), ["step", "epoch"],
                                                                    separator)

    @property
    def keys(self) -> list[str] | None:
        """The columns after ``epoch`` (None before the first row)."""
        return self._epochs.keys

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        start = getattr(self.trainer, "start_epoch", 0)
        resumed = getattr(self.trainer, "resumed", False)
        self._epochs.open((lambda row: int(row["epoch"]) < start) if resumed else None, self.append)
        if self._validations is not None:
            step = getattr(self.trainer, "global_step", 0)
            self._validations.open((lambda row: float(row["step"]) <= step) if resumed else None, self.append)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epochs.write([epoch], logs or {})

    def on_validation_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._validations is None:
            return
        t = self.trainer
        steps = (getattr(t, "params", None) or {}).get("steps")
        where = round(t.epoch + t.batch_in_epoch / steps, 6) if steps else ""
        self._validations.write([t.global_step, where], logs or {})

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._epochs.close()
        if self._validations is not None:
            self._validations.close()
