"""``CSVLogger``: one CSV row per epoch with the epoch's logs."""
from __future__ import annotations

import csv
import os
from typing import IO, Any

import numpy as np

from .base import Callback

__all__ = ["CSVLogger"]


def _scalar(v: Any) -> bool:
    return isinstance(v, (int, float, np.number)) and not isinstance(v, bool) or v is None


class CSVLogger(Callback):
    """Write ``epoch`` (0-based, as ``History.epoch``) and every scalar of the epoch logs (``loss``,
    metrics, ``val_*``, ``lr``) to ``filename``, one row per epoch, flushed as it is written.

    ``append=True`` adds to an existing file (its header is kept). A resumed run (``fit(resume=...)``)
    always appends, and first drops the rows of epochs it is about to redo.

    >>> logger = CSVLogger("training.csv")
    """

    rank_zero_only = True  # prints or writes files: rank 0 alone, in a data-parallel run

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False):
        self.filename, self.sep, self.append = os.fspath(filename), separator, append
        self.keys: list[str] | None = None
        self._file: IO[str] | None = None
        self._writer: Any = None

    def _existing(self) -> tuple[list[str] | None, list[list[str]]]:
        if not os.path.exists(self.filename):
            return None, []
        with open(self.filename, newline="") as f:
            rows = list(csv.reader(f, delimiter=self.sep))
        return (rows[0], rows[1:]) if rows else (None, [])

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        start = getattr(self.trainer, "start_epoch", 0)
        resumed = getattr(self.trainer, "resumed", False)
        self.keys = None
        if resumed or self.append:
            header, rows = self._existing()
            if resumed and header and "epoch" in header:
                col = header.index("epoch")
                rows = [r for r in rows if r and int(r[col]) < start]
                with open(self.filename, "w", newline="") as f:
                    w = csv.writer(f, delimiter=self.sep)
                    w.writerow(header)
                    w.writerows(rows)
            self.keys = header[1:] if header else None
            self._file = open(self.filename, "a", newline="")
        else:
            d = os.path.dirname(self.filename)
            if d:
                os.makedirs(d, exist_ok=True)
            self._file = open(self.filename, "w", newline="")
        self._writer = csv.writer(self._file, delimiter=self.sep)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if self._file is None:
            return
        if self.keys is None:
            self.keys = [k for k in logs if _scalar(logs[k])]
            self._writer.writerow(["epoch", *self.keys])
        row = [epoch] + ["" if logs.get(k) is None else repr(float(logs[k])) for k in self.keys]
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._file is not None:
            self._file.close()
            self._file, self._writer = None, None
