"""Multi30k, task 1 (Elliott et al. 2016): English-German descriptions of Flickr30k images, one sentence a
line, line i of the German file translating line i of the English one.

``Multi30k(split)``: ``.src`` and ``.tgt`` are the split's sentences (German and English by default,
``language_pair=("en", "de")`` turns it round), raw and untokenized as upstream ships them. Splits:
``train`` (29,000 pairs), ``val`` (1,014), ``test`` (= ``test_2016_flickr``, 1,000). The gzipped upstream
files (``train.de.gz``, ...) are read from ``root``, ``$LUCIDNET_DATA/multi30k`` or
``~/.cache/lucidnet/multi30k``; ``download=True`` fetches them (MD5-checked) from the dataset's repository
at a fixed commit.

>>> import gzip, tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> for lang, text in (("de", "Ein Hund.\\nZwei Katzen.\\n"), ("en", "A dog.\\nTwo cats.\\n")):
...     _ = (d / f"val.{lang}.gz").write_bytes(gzip.compress(text.encode()))
>>> val = Multi30k(d, "val")
>>> len(val), val[1]
(2, ('Zwei Katzen.', 'Two cats.'))
"""
from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

from .errors import DatasetError
from .textfiles import locate_files

__all__ = ["Multi30k", "read_sentences"]

_BASE = "https://raw.githubusercontent.com/multi30k/dataset/a3d2e0d26b56f3846f66a952536ffed4e401d05a/data/task1/raw/"
_MD5 = {"train.de.gz": "81ff90b99829c0cd4b1b587d394afd39", "train.en.gz": "0065d13af80720a55ca8153d126e6627",
        "val.de.gz": "6e0e229eb049e3fc99a1ef02fb2d5f91", "val.en.gz": "2b69aa9253948ac9f67e94917272dd40",
        "test_2016_flickr.de.gz": "efd67d314d98489b716b145475101932",
        "test_2016_flickr.en.gz": "ff2c0fcb4893a13bd73414306bc250ae"}
SPLITS = {"train": "train", "val": "val", "test": "test_2016_flickr", "test_2016_flickr": "test_2016_flickr"}
LANGUAGES = ("de", "en")


def read_sentences(path: str | os.PathLike) -> list[str]:
    """The lines of a gzipped (``.gz``) or plain UTF-8 text file, without their line ends; a clear
    ``DatasetError`` for a corrupt archive, text that is not UTF-8, or an empty file."""
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as e:
        raise DatasetError(f"{path}: not a readable gzip file ({e})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise DatasetError(f"{path}, line {line}: not valid UTF-8 text ({e.reason})") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise DatasetError(f"{path}: the file holds no sentences")
    return [s.rstrip("\r") for s in lines]


class Multi30k:
    """One split of Multi30k as two aligned lists of sentences, ``.src`` and ``.tgt``; ``ds[i]`` is a pair."""

    name = "multi30k"
    SOURCES = {f: (_BASE + f, md5) for f, md5 in _MD5.items()}

    def __init__(self, root: str | os.PathLike | None = None, split: str = "train", download: bool = False,
                 language_pair: tuple[str, str] = ("de", "en")):
        if split not in SPLITS:
            raise ValueError(f"Multi30k: split must be one of {', '.join(SPLITS)}; got {split!r}")
        pair = tuple(language_pair)
        if len(pair) != 2 or set(pair) != set(LANGUAGES):
            raise ValueError(f"Multi30k: language_pair must be ('de', 'en') or ('en', 'de'); got {language_pair!r}")
        self.split, self.language_pair = split, pair
        files = [f"{SPLITS[split]}.{lang}.gz" for lang in pair]
        self.root = locate_files(self.name, files, root, download, self.SOURCES, who=f"Multi30k({split!r})")
        self.src, self.tgt = (read_sentences(self.root / f) for f in files)
        if len(self.src) != len(self.tgt):
            raise DatasetError(f"Multi30k({split!r}): {self.root / files[0]} has {len(self.src)} lines but "
                               f"{self.root / files[1]} has {len(self.tgt)}; the two sides of a split must "
                               "pair line by line")

    def __len__(self) -> int:
        return len(self.src)

    def __getitem__(self, index: int) -> tuple[str, str]:
        return self.src[index], self.tgt[index]

    def __repr__(self) -> str:
        return (f"Multi30k(split={self.split!r}, {'->'.join(self.language_pair)}, {len(self)} pairs, "
                f"root='{self.root}')")
