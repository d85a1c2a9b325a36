"""A user's table as named columns of strings: CSV, TSV, JSON lines, or Parquet (when ``pyarrow`` is installed).

The format comes from the file's extension (``.csv``, ``.tsv``/``.tab``, ``.jsonl``/``.ndjson``, ``.parquet``);
any other is read as CSV. A CSV/TSV file starts with a header line naming the columns, and fields may be
quoted (RFC 4180: a quoted field may hold the separator, quotes doubled, line breaks). Every row must have
as many fields as the header; a JSON-lines file holds one object per line. A value is kept as the text it is
(JSON numbers and booleans as their text; JSON ``null`` as None): what is a number, a category or a missing
value is decided by the reader's user (``lucidnet.tables``, the text recipes). Every fault is a
``DatasetError`` naming the file and the line.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "t.csv")
>>> _ = open(path, "w").write('age,city,note\\n31,Oslo,"likes, commas"\\n,Rome,\\n')
>>> t = read_table(path)
>>> t.columns, t.data["age"], t.data["note"], t.lines
(['age', 'city', 'note'], ['31', ''], ['likes, commas', ''], [2, 3])
"""
from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import DatasetError, DatasetNotFoundError

__all__ = ["Table", "read_table", "table_format"]

FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


@dataclass
class Table:
    """``columns`` in file order; ``data[column]``: the values (str, or None where JSON says null), one per row;
    ``lines[i]``: the line of the file where row ``i`` starts (the row number for Parquet), for messages."""

    path: Path
    columns: list[str]
    data: dict[str, list[str | None]]
    lines: list[int]

    def __len__(self) -> int:
        return len(self.lines)

    def where(self, row: int) -> str:
        """``"FILE, line N"`` of a row, for an error message."""
        return f"{self.path}, {'row' if self.path.suffix.lower() == '.parquet' else 'line'} {self.lines[row]}"

    def column(self, name: str, option: str = "column") -> list[str | None]:
        """The values of column ``name``; a missing column is an error listing those the file has (``option``
        names what asked for it, e.g. ``--target``)."""
        if name not in self.data:
            raise DatasetError(f"{self.path}: {option} {name!r} is not a column of the file; its columns: "
                               f"{', '.join(self.columns)}")
        return self.data[name]


def table_format(path: str | os.PathLike) -> str:
    """``"csv"``, ``"tsv"``, ``"jsonl"`` or ``"parquet"``, from the file's extension (CSV if it is none of them)."""
    return FORMATS.get(Path(path).suffix.lower(), "csv")


def read_table(path: str | os.PathLike) -> Table:
    """The table in ``path`` (see the module's docstring for the formats and the rules)."""
    p = Path(path)
    if not p.is_file():
        raise DatasetNotFoundError(f"{p}: no such file" + (" (a directory: a table is one file)" if p.is_dir() else ""))
    fmt = table_format(p)
    if fmt == "parquet":
        return _read_parquet(p)
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = p.read_bytes()[:e.start].count(b"\n") + 1
        raise DatasetError(f"{p}, line {line}: not valid UTF-8 ({e.reason})") from None
    if fmt == "jsonl":
        return _read_jsonl(p, text)
    return _read_delimited(p, text, "\t" if fmt == "tsv" else ",")


def _read_delimited(p: Path, text: str, sep: str) -> Table:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
    try:
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise DatasetError(f"{p}: the file is empty; expected a header line naming the columns")
        names = [h.strip() for h in header]
        _check_names(p, names)
        rows: list[list[str]] = []
        lines: list[int] = []
        start = reader.line_num + 1
        for fields in reader:
            if not fields or (len(fields) == 1 and not fields[0].strip() and len(names) > 1):
                start = reader.line_num + 1
                continue  # a blank line
            if len(fields) != len(names):
                raise DatasetError(f"{p}, line {start}: expected {len(names)} fields separated by {sep!r} (as the "
                                   f"header), found {len(fields)}")
            rows.append(fields)
            lines.append(start)
            start = reader.line_num + 1
    except csv.Error as e:
        raise DatasetError(f"{p}, line {reader.line_num}: not valid {'TSV' if sep == chr(9) else 'CSV'} ({e})") from None
    data = {name: [r[i] for r in rows] for i, name in enumerate(names)}
    return Table(p, names, data, lines)


def _read_jsonl(p: Path, text: str) -> Table:
    names: list[str] = []
    records: list[dict] = []
    lines: list[int] = []
    for no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise DatasetError(f"{p}, line {no}: not valid JSON ({e.msg})") from None
        except ValueError as e:  # an integer of more digits than Python converts
            raise DatasetError(f"{p}, line {no}: not valid JSON ({e})") from None
        except RecursionError:
            raise DatasetError(f"{p}, line {no}: not valid JSON (nested too deeply)") from None
        if not isinstance(obj, dict):
            raise DatasetError(f"{p}, line {no}: expected a JSON object per line, found {type(obj).__name__}")
        for key, value in obj.items():
            if isinstance(value, (dict, list)):
                raise DatasetError(f"{p}, line {no}: field {key!r} holds a {type(value).__name__}; expected a "
                                   "string, number, boolean or null")
            if key not in names:
                names.append(key)
        records.append(obj)
        lines.append(no)
    if not records:
        raise DatasetError(f"{p}: the file holds no rows")
    data = {name: [_text(r.get(name)) for r in records] for name in names}
    return Table(p, names, data, lines)


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _read_parquet(p: Path) -> Table:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError(f"{p}: reading Parquet needs pyarrow: pip install pyarrow") from None
    try:
        table = pq.read_table(p)
    except Exception as e:  # pyarrow raises its own error types for a corrupt file
        raise DatasetError(f"{p}: not a readable Parquet file ({e})") from None
    names = [str(n) for n in table.column_names]
    _check_names(p, names)
    data = {name: [_text(v) for v in table.column(i).to_pylist()] for i, name in enumerate(names)}
    return Table(p, names, data, list(range(1, table.num_rows + 1)))


def _check_names(p: Path, names: list[str]) -> None:
    empty = [i + 1 for i, n in enumerate(names) if not n]
    if empty:
        raise DatasetError(f"{p}, line 1: column {empty[0]} of the header has no name")
    seen = set()
    for n in names:
        if n in seen:
            raise DatasetError(f"{p}, line 1: the header names column {n!r} twice")
        seen.add(n)
