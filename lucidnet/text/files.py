"""Labelled texts of the user's own (``lucidnet train --data reviews.csv --text-column review --label-column
sentiment``): read from a CSV, TSV or JSON-lines file (``lucidnet.datasets.tables``), split into the training,
validation and test texts the text-classification recipes take.

The test texts are ``test_data`` (a file of its own) or ``test_split`` of the file held out (stratified by
label, drawn with the run's seed: ``lucidnet evaluate`` recomputes them); the validation texts, which pick the
epoch, likewise ``val_data`` or ``val_split`` of what is left. An empty text or label is an error naming the
file and the line; so is a file with one label only.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "r.csv")
>>> _ = open(path, "w").write("review,sentiment\\n" + "".join(f"good film {i},pos\\nbad film {i},neg\\n" for i in range(10)))
>>> splits, classes = text_splits(path, {"text_column": "review", "label_column": "sentiment", "test_split": 0.2,
...                                      "val_split": 0.25, "test_data": None, "val_data": None}, seed=0)
>>> classes, [len(splits[s][0]) for s in ("train", "dev", "test")]
(['neg', 'pos'], [12, 4, 4])
"""
from __future__ import annotations

import os
from typing import Any, Mapping

import numpy as np

from ..data import holdout
from ..datasets.tables import read_table
from ..datasets.textfiles import sorted_classes

__all__ = ["read_texts", "text_splits", "FILE_SETTINGS"]

# the data settings of a text-classification recipe that apply to a file of the user's own
FILE_SETTINGS = {"text_column": None, "label_column": None, "val_split": 0.1, "test_split": 0.1, "val_data": None,
                 "test_data": None}


def read_texts(path: str | os.PathLike, text_column: str | None, label_column: str | None) -> tuple[list[str], list[str]]:
    """(texts, labels) of the two named columns of ``path``."""
    if not text_column or not label_column:
        raise ValueError("a file of labelled texts needs --text-column and --label-column (text_column= and "
                         "label_column= in Python): the columns holding the texts and their labels")
    table = read_table(path)
    texts, labels = table.column(text_column, "--text-column"), table.column(label_column, "--label-column")
    for i, (t, y) in enumerate(zip(texts, labels)):
        for value, what in ((y, "label"), (t, "text")):
            if value is None or not value.strip():
                raise ValueError(f"{table.where(i)}: the {what} ({label_column if what == 'label' else text_column!r}) "
                                 "is empty")
    return [t.strip() for t in texts], [y.strip() for y in labels]


def _split(texts: list[str], labels: list[str], fraction: float, seed: int, what: str) -> tuple:
    keep, held = holdout(len(texts), fraction, seed, stratify=np.array(labels, dtype=object), what=what)
    pick = lambda idx: ([texts[i] for i in idx], [labels[i] for i in idx])  # noqa: E731
    return pick(keep), pick(held)


def text_splits(path: str | os.PathLike, s: Mapping[str, Any], seed: int,
                only_test: bool = False) -> tuple[dict[str, tuple[list[str], np.ndarray]], list[str]]:
    """({"train", "dev", "test"}: (texts, class indices)), classes) of file ``path`` with settings ``s`` (those of
    ``FILE_SETTINGS``); ``only_test``: the test texts alone (``evaluate``)."""
    texts, labels = read_texts(path, s["text_column"], s["label_column"])
    classes = sorted_classes(labels)
    if len(classes) < 2:
        raise ValueError(f"{path}: every label is {classes[0]!r}; classification needs at least two")
    if s["test_data"] is not None:
        test = read_texts(s["test_data"], s["text_column"], s["label_column"])
    else:
        (texts, labels), test = _split(texts, labels, float(s["test_split"]), seed, f"texts of {path}")
    out = {"test": test}
    if not only_test:
        if s["val_data"] is not None:
            out["dev"] = read_texts(s["val_data"], s["text_column"], s["label_column"])
        else:
            if not s["val_split"]:
                raise ValueError("a text classifier picks its epoch on validation texts: give --val-split above 0 "
                                 "or --val-data FILE")
            (texts, labels), out["dev"] = _split(texts, labels, float(s["val_split"]), seed, "training texts")
        out["train"] = (texts, labels)
    index = {c: i for i, c in enumerate(classes)}
    result = {}
    for name, (t, y) in out.items():
        unknown = sorted(set(y) - set(index))
        if unknown:
            raise ValueError(f"the {name} texts have the label {unknown[0]!r}, which no training text has "
                             f"(labels: {', '.join(classes)})")
        result[name] = (t, np.array([index[v] for v in y], dtype=np.int64))
    return result, classes
