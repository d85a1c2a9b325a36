"""What each column of a user's table is: numeric or categorical, and whether the target asks for classification
or regression. Inferred from the training file, overridable, and saved with the run so that ``predict`` and
``evaluate`` read new files the same way.

A value is missing when it is empty or one of ``MISSING`` (as pandas reads them). A column is numeric when
every present value is a number; categorical when it has text, or when named in ``categorical``. A column
whose values are nearly all numbers but a few (at most ``STRAY`` of them) is taken for a numeric column with
bad values, an error naming the first one's line (name it in ``categorical`` if it is meant as categories).
The target: categorical text, or integers with at most ``MAX_CLASSES`` distinct values, mean classification;
other numbers regression.

>>> kinds = infer_kinds({"age": ["31", "", "40"], "city": ["Oslo", "Rome", "Oslo"]}, ["age", "city"])
>>> kinds
{'age': 'numeric', 'city': 'categorical'}
>>> target_kind(["0", "1", "1", "0"]), target_kind(["0.5", "1.25", "3", "2"])
('classification', 'regression')
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

__all__ = ["MISSING", "is_missing", "to_number", "infer_kinds", "target_kind", "MAX_CLASSES"]

MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-nan", "#n/a"})
MAX_CLASSES = 20  # integer targets with at most this many distinct values are classes
STRAY = 0.02      # a numeric column may not hold more than this fraction of text values


def is_missing(value: str | None) -> bool:
    return value is None or value.strip().lower() in MISSING


def to_number(value: str) -> float | None:
    """The finite number ``value`` spells, or None."""
    try:
        v = float(value.strip())
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def infer_kinds(data: dict[str, list], columns: Sequence[str], categorical: Sequence[str] = (),
                where: Callable[[int], str] | None = None) -> dict[str, str]:
    """``{column: "numeric" | "categorical"}`` for ``columns`` of ``data`` (see the module's docstring);
    ``where(row)`` names a row's file and line in errors."""
    kinds = {}
    for name in columns:
        if name in categorical:
            kinds[name] = "categorical"
            continue
        values = data[name]
        present = [(i, v) for i, v in enumerate(values) if not is_missing(v)]
        bad = [(i, v) for i, v in present if to_number(v) is None]
        if not present:
            kinds[name] = "numeric"  # all missing: imputed, its indicator says so
        elif not bad:
            kinds[name] = "numeric"
        elif len(bad) <= max(1, STRAY * len(present)) and len(bad) < len(present):
            i, v = bad[0]
            at = where(i) if where is not None else f"row {i + 1}"
            raise ValueError(f"{at}: column {name!r} holds numbers but {v!r} here is not one ("
                             f"{len(bad)} such value{'s' if len(bad) > 1 else ''}); fix the file, or name the column "
                             "in --categorical if its values are categories")
        else:
            kinds[name] = "categorical"
    return kinds


def target_kind(values: Sequence[str]) -> str:
    """``"classification"`` or ``"regression"`` for a target column's (present) values."""
    numbers = [to_number(v) for v in values]
    if any(n is None for n in numbers):
        return "classification"
    distinct = set(numbers)
    if all(float(n).is_integer() for n in distinct) and len(distinct) <= MAX_CLASSES:
        return "classification"
    return "regression"
