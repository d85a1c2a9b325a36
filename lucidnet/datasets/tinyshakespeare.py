"""Tiny Shakespeare (Karpathy's char-rnn): 1,115,394 characters of Shakespeare's plays in one text file.

``TinyShakespeare(split)``: ``.text`` is the split's text: the first 90% of the characters for ``"train"``,
the last 10% for ``"val"`` (the usual char-rnn/nanoGPT split), or all of it (``"all"``). The file is read
from ``root``, ``$LUCIDNET_DATA/tinyshakespeare`` or ``~/.cache/lucidnet/tinyshakespeare``;
``download=True`` fetches it (MD5-checked).

>>> from lucidnet.datasets.tinyshakespeare import split_text
>>> split_text("abcdefghij", "train"), split_text("abcdefghij", "val")
('abcdefghi', 'j')
"""
from __future__ import annotations

import os

from .errors import DatasetError
from .textfiles import locate_files

__all__ = ["TinyShakespeare", "split_text"]

_URL = ("https://raw.githubusercontent.com/karpathy/char-rnn/6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/"
        "data/tinyshakespeare/input.txt")
SPLITS = ("train", "val", "all")


def split_text(text: str, split: str, val_fraction: float = 0.1) -> str:
    """The ``split`` part of ``text``: the first ``1 - val_fraction`` of it (train), the rest (val), or all."""
    if split not in SPLITS:
        raise ValueError(f"TinyShakespeare: split must be one of {', '.join(SPLITS)}; got {split!r}")
    if not 0 < val_fraction < 1:
        raise ValueError(f"TinyShakespeare: val_fraction must be in (0, 1), got {val_fraction}")
    if split == "all":
        return text
    cut = int(round(len(text) * (1 - val_fraction)))
    return text[:cut] if split == "train" else text[cut:]


class TinyShakespeare:
    """One split of Tiny Shakespeare as a string, ``.text``."""

    name = "tinyshakespeare"
    FILE = "input.txt"
    SOURCES = {"input.txt": (_URL, "6fb458f1232090904fb40fe944165e91")}

    def __init__(self, root: str | os.PathLike | None = None, split: str = "train", download: bool = False,
                 val_fraction: float = 0.1):
        split_text("", split, val_fraction)  # validates the arguments before looking for files
        self.split = split
        self.root = locate_files(self.name, [self.FILE], root, download, self.SOURCES,
                                 who=f"TinyShakespeare({split!r})")
        path = self.root / self.FILE
        try:
            full = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise DatasetError(f"{path}: not valid UTF-8 text ({e.reason} at byte {e.start})") from None
        if not full:
            raise DatasetError(f"{path}: the file is empty")
        self.text = split_text(full, split, val_fraction)

    def __len__(self) -> int:
        return len(self.text)

    def __repr__(self) -> str:
        return f"TinyShakespeare(split={self.split!r}, {len(self)} characters, root='{self.root}')"
