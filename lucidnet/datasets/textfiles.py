"""Text datasets from plain files: "label, separator, text" lines (``LabeledText``), and finding or downloading a
dataset's files (``locate_files``).

A labelled-text file has one sample per line: a label, a separator, the text (or the text first with
``label_first=False``, or named columns under a header line with ``header=True``). Lines may end in LF or
CRLF; blank lines are skipped; any other line that cannot be read is an error naming the file and the line.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "train.txt")
>>> _ = open(path, "w").write("1 a stirring , funny film\\n0 a sour little movie\\n")
>>> ds = LabeledText(path)
>>> len(ds), ds.texts[0], ds.targets.tolist(), ds.classes
(2, 'a stirring , funny film', [1, 0], ['0', '1'])
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..data.dataset import Dataset
from .download import data_roots, download_file
from .errors import DatasetError, DatasetNotFoundError, not_found

__all__ = ["read_labeled_lines", "LabeledText", "locate_files", "sorted_classes"]


def sorted_classes(labels) -> list[str]:
    """The distinct label strings in class-index order: numerically when all are integers, else as text.

    >>> sorted_classes(["10", "2", "2"]), sorted_classes(["pos", "neg"])
    (['2', '10'], ['neg', 'pos'])
    """
    distinct = set(labels)
    numeric = all(r.lstrip("-").isdigit() for r in distinct)
    return sorted(distinct, key=(lambda r: (int(r), r)) if numeric else None)


def _lines(path: Path):
    """(line number, line without its LF/CRLF end) for each line of a UTF-8 file."""
    try:
        data = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        line = path.read_bytes()[:e.start].count(b"\n") + 1
        raise DatasetError(f"{path}, line {line}: not valid UTF-8 ({e.reason})") from None
    lines = data.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for no, line in enumerate(lines, 1):
        yield no, line[:-1] if line.endswith("\r") else line


def read_labeled_lines(path: str | os.PathLike, sep: str | None = None, label_first: bool = True,
                       header: bool = False, label_column: str = "label", text_column: str = "sentence",
                       classes: Sequence[str] | None = None) -> tuple[list[str], list[str]]:
    """``(texts, labels)`` (both lists of str) from a labelled-text file.

    ``sep``: the separator (None: the first run of whitespace). Without a header the line is split once, at
    the first separator (``label_first``) or the last one, so the text may contain the separator. With
    ``header=True`` the first line names the columns (split at every ``sep``; default TAB there) and
    ``label_column``/``text_column`` pick them; every line must have as many fields as the header.
    ``classes``: when given, a label not among them is an error naming the line.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"{path}: no such file")
    texts: list[str] = []
    labels: list[str] = []
    rows = _lines(path)
    columns = None
    if header:
        sep = "\t" if sep is None else sep
        first = next(rows, None)
        if first is None:
            raise DatasetError(f"{path}: the file is empty; expected a header line naming the columns")
        names = first[1].split(sep)
        missing = [c for c in (label_column, text_column) if c not in names]
        if missing:
            raise DatasetError(f"{path}, line 1: the header {names} has no column {missing[0]!r}")
        columns = (names.index(label_column), names.index(text_column), len(names))
    for no, line in rows:
        if not line.strip():
            continue
        if columns is not None:
            fields = line.split(sep)
            if len(fields) != columns[2]:
                raise DatasetError(f"{path}, line {no}: expected {columns[2]} fields separated by {sep!r} (as the "
                                   f"header), found {len(fields)}: {line[:80]!r}")
            label, text = fields[columns[0]], fields[columns[1]]
        else:
            parts = line.split(sep, 1) if label_first else line.rsplit(sep, 1)
            if len(parts) != 2:
                what = "whitespace" if sep is None else repr(sep)
                raise DatasetError(f"{path}, line {no}: expected a label and a text separated by {what}, found "
                                   f"{line[:80]!r}")
            label, text = parts if label_first else parts[::-1]
        label, text = label.strip(), text.strip()
        if not label or not text:
            raise DatasetError(f"{path}, line {no}: the {'label' if not label else 'text'} is empty: {line[:80]!r}")
        if classes is not None and label not in classes:
            raise DatasetError(f"{path}, line {no}: the label {label!r} is not one of {list(classes)}: {line[:80]!r}")
        texts.append(text)
        labels.append(label)
    return texts, labels


class LabeledText(Dataset):
    """Samples ``(text, label)`` from a labelled-text file (see ``read_labeled_lines`` for the format).

    ``classes``: the label strings in class-index order; a label not among them is an error naming the line.
    ``class_names``: readable names for them (default: the labels themselves).
    Default: the distinct labels, sorted (numerically when all are integers). ``.texts`` (list of str) and
    ``.targets`` (int64 array) hold the data.
    """

    def __init__(self, path: str | os.PathLike, classes: Sequence[str] | None = None, *, sep: str | None = None,
                 label_first: bool = True, header: bool = False, label_column: str = "label",
                 text_column: str = "sentence", class_names: Sequence[str] | None = None):
        self.path = Path(path)
        self.texts, raw = read_labeled_lines(self.path, sep, label_first, header, label_column, text_column, classes)
        self.classes = list(classes) if classes is not None else sorted_classes(raw)
        index = {c: i for i, c in enumerate(self.classes)}
        self.targets = np.array([index[r] for r in raw], dtype=np.int64)
        self.class_names = list(class_names) if class_names is not None else self.classes

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, index: int) -> tuple[str, Any]:
        return self.texts[index], self.targets[index]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} texts, {self.num_classes} classes, path='{self.path}')"


def locate_files(name: str, files: Sequence[str], root: str | os.PathLike | None = None, download: bool = False,
                 sources: Mapping[str, tuple[str, str]] | None = None, who: str = "") -> Path:
    """The directory holding every one of ``files`` for dataset ``name``.

    Looked for in ``root`` (when given: it or ``root/name``), else in ``$LUCIDNET_DATA/name`` and the user
    cache. ``download=True`` fetches the missing files into the first place looked in, from ``sources``
    (file -> (url, md5)), MD5-checked. Otherwise a ``DatasetNotFoundError`` lists where it looked and why.
    """
    who = who or name
    if root is not None:
        r = Path(root).expanduser()
        candidates = [(r, "given"), (r / name, "given")]
    else:
        candidates = data_roots(name)
    for path, _ in candidates:
        if all((path / f).is_file() for f in files):
            return path
    target = candidates[0][0]
    if download:
        if not sources:
            raise DatasetError(f"{who}: no download source is known for {', '.join(files)}")
        for f in files:
            if not (target / f).is_file():
                url, md5 = sources[f]
                download_file(url, target / f, md5=md5)
        return target
    how = (f"download it (download=True in Python, --download on the command line; fetches it into {target}), or "
           if sources else "")
    raise not_found(who, files, candidates, f"{how}set LUCIDNET_DATA to a directory holding {name}/ with these "
                                            "files, or point at that directory (root= in Python, --data on the "
                                            "command line).")
