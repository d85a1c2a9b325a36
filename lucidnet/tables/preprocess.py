"""The transforms between a user's table and a network's inputs, learnt on the training rows and saved as JSON
in the run directory (``preprocess.json``), so that ``predict`` and ``evaluate`` apply exactly the same ones.

Numeric columns: missing values imputed with the training median, then standardised with the training mean
and std; a column with missing training values gets a 0/1 indicator column beside it. Categorical columns:
each training value (a missing value is a value of its own) gets a code, 0 is kept for values never seen in
training; at most ``ONE_HOT_MAX`` categories are one-hot columns, more are codes for an embedding. The
target: class indices (classification) or the value standardised with the training mean and std
(regression; ``target_from`` inverts it).

>>> p = Preprocessor.fit({"x": ["1", "3", ""], "c": ["a", "b", "a"], "y": ["0", "1", "1"]},
...                      {"x": "numeric", "c": "categorical"}, "y", "classification")
>>> x, codes = p.transform({"x": ["2"], "c": ["zebra"]})
>>> x.round(3).tolist(), codes.shape, p.classes
([[0.0, 0.0, 0.0, 0.0]], (1, 0), ['0', '1'])
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .schema import is_missing, to_number

__all__ = ["Preprocessor", "ONE_HOT_MAX", "embedding_dim"]

ONE_HOT_MAX = 16
MISSING_VALUE = "<missing>"


def embedding_dim(cardinality: int) -> int:
    """The embedding width of a categorical column with ``cardinality`` codes (fast.ai's rule of thumb, at
    most 32)."""
    return int(min(32, round(1.6 * cardinality ** 0.56)))


def _numbers(name: str, values: Sequence, where: Callable[[int], str] | None) -> np.ndarray:
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        if is_missing(v):
            continue
        n = to_number(v)
        if n is None:
            at = where(i) if where is not None else f"row {i + 1}"
            raise ValueError(f"{at}: column {name!r} is numeric, but {v!r} is not a number")
        out[i] = n
    return out


class Preprocessor:
    """Fitted column transforms (see the module's docstring); ``to_dict``/``from_dict`` save and restore it."""

    def __init__(self, numeric: list[dict], categorical: list[dict], target: dict):
        self.numeric, self.categorical, self.target = numeric, categorical, target

    # ---- fitting --------------------------------------------------------------------------------------
    @classmethod
    def fit(cls, data: Mapping[str, Sequence], kinds: Mapping[str, str], target: str, target_type: str,
            where: Callable[[int], str] | None = None) -> "Preprocessor":
        """Learn the transforms of ``kinds`` (column -> "numeric" | "categorical") and of the ``target`` column
        (``target_type`` "classification" | "regression") from the training rows ``data``."""
        numeric, categorical = [], []
        for name, kind in kinds.items():
            if kind == "numeric":
                x = _numbers(name, data[name], where)
                present = x[~np.isnan(x)]
                median = float(np.median(present)) if len(present) else 0.0
                filled = np.where(np.isnan(x), median, x)
                std = float(filled.std())
                numeric.append({"name": name, "median": median, "mean": float(filled.mean()),
                                "std": std if std > 0 else 1.0, "indicator": bool(len(present) < len(x))})
            else:
                seen: dict[str, int] = {}
                for v in data[name]:
                    key = MISSING_VALUE if is_missing(v) else v.strip()
                    seen[key] = seen.get(key, 0) + 1
                values = sorted(seen, key=lambda k: (-seen[k], k))  # most frequent first
                categorical.append({"name": name, "values": values,
                                    "encoding": "one-hot" if len(values) <= ONE_HOT_MAX else "embedding"})
        y = [v for v in data[target]]
        missing = [i for i, v in enumerate(y) if is_missing(v)]
        if missing:
            at = where(missing[0]) if where is not None else f"row {missing[0] + 1}"
            raise ValueError(f"{at}: the target column {target!r} is empty ({len(missing)} rows have no target)")
        if target_type == "classification":
            labels = sorted({v.strip() for v in y}, key=lambda s: (to_number(s) is None, to_number(s) or 0.0, s))
            if len(labels) < 2:
                raise ValueError(f"the target column {target!r} has one class only ({labels[0]!r}); classification "
                                 "needs at least two")
            tgt = {"name": target, "type": target_type, "classes": labels}
        else:
            t = _numbers(target, y, where)
            std = float(t.std())
            tgt = {"name": target, "type": target_type, "mean": float(t.mean()), "std": std if std > 0 else 1.0}
        return cls(numeric, categorical, tgt)

    # ---- applying -------------------------------------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        """The feature columns a file must have."""
        return [c["name"] for c in self.numeric] + [c["name"] for c in self.categorical]

    @property
    def classes(self) -> list[str] | None:
        return self.target.get("classes")

    @property
    def num_features(self) -> int:
        """Width of the float input: numeric columns, their indicators, one-hot columns."""
        return (len(self.numeric) + sum(c["indicator"] for c in self.numeric)
                + sum(len(c["values"]) for c in self.categorical if c["encoding"] == "one-hot"))

    @property
    def cardinalities(self) -> list[int]:
        """Codes per embedded column (the values seen in training, plus 0 for an unseen one)."""
        return [len(c["values"]) + 1 for c in self.categorical if c["encoding"] == "embedding"]

    def transform(self, data: Mapping[str, Sequence], where: Callable[[int], str] | None = None,
                  source: str = "the file") -> tuple[np.ndarray, np.ndarray]:
        """(float32 features (N, num_features), int64 codes (N, embedded columns)) of the rows ``data``."""
        absent = [c for c in self.columns if c not in data]
        if absent:
            raise ValueError(f"{source} lacks the column{'s' if len(absent) > 1 else ''} "
                             f"{', '.join(map(repr, absent))} the model was trained on")
        n = len(data[self.columns[0]]) if self.columns else 0
        parts, codes = [], []
        for c in self.numeric:
            x = _numbers(c["name"], data[c["name"]], where)
            gap = np.isnan(x)
            parts.append(((np.where(gap, c["median"], x) - c["mean"]) / c["std"])[:, None])
            if c["indicator"]:
                parts.append(gap[:, None].astype(np.float64))
        for c in self.categorical:
            index = {v: i + 1 for i, v in enumerate(c["values"])}
            code = np.array([index.get(MISSING_VALUE if is_missing(v) else v.strip(), 0) for v in data[c["name"]]],
                            dtype=np.int64)
            if c["encoding"] == "one-hot":
                hot = np.zeros((n, len(c["values"])))
                rows = np.flatnonzero(code > 0)
                hot[rows, code[rows] - 1] = 1.0
                parts.append(hot)
            else:
                codes.append(code[:, None])
        x = np.concatenate(parts, axis=1).astype(np.float32) if parts else np.zeros((n, 0), np.float32)
        return x, (np.concatenate(codes, axis=1) if codes else np.zeros((n, 0), np.int64))

    def target_to(self, values: Sequence, where: Callable[[int], str] | None = None) -> np.ndarray:
        """The target column as class indices (int64) or standardised values (float32, shape (N, 1))."""
        t = self.target
        missing = [i for i, v in enumerate(values) if is_missing(v)]
        if missing:
            at = where(missing[0]) if where is not None else f"row {missing[0] + 1}"
            raise ValueError(f"{at}: the target column {t['name']!r} is empty")
        if t["type"] == "classification":
            index = {c: i for i, c in enumerate(t["classes"])}
            out = []
            for i, v in enumerate(values):
                if v.strip() not in index:
                    at = where(i) if where is not None else f"row {i + 1}"
                    raise ValueError(f"{at}: the class {v!r} of {t['name']!r} was not in the training data "
                                     f"(classes: {', '.join(t['classes'])})")
                out.append(index[v.strip()])
            return np.array(out, dtype=np.int64)
        y = _numbers(t["name"], values, where)
        return ((y - t["mean"]) / t["std"]).astype(np.float32)[:, None]

    def target_from(self, output: np.ndarray) -> np.ndarray:
        """A regression network's outputs (N, 1) in the target's own units."""
        return output[:, 0].astype(np.float64) * self.target["std"] + self.target["mean"]

    # ---- saving ---------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"numeric": self.numeric, "categorical": self.categorical, "target": self.target}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], source: str = "preprocess.json") -> "Preprocessor":
        """The preprocessor ``to_dict`` saved; a ValueError naming ``source`` and the entry for anything else."""
        try:
            numeric, categorical, target = d["numeric"], d["categorical"], d["target"]
            _expect(isinstance(numeric, list) and isinstance(categorical, list) and isinstance(target, dict),
                    "the numeric and categorical lists and the target object")
            for c in numeric:
                _expect(isinstance(c, dict) and isinstance(c["name"], str) and isinstance(c["indicator"], bool)
                        and all(_finite(c[k]) for k in ("median", "mean", "std")) and c["std"] > 0,
                        f"numeric column {c!r:.60}")
            for c in categorical:
                _expect(isinstance(c, dict) and isinstance(c["name"], str) and isinstance(c["values"], list)
                        and all(isinstance(v, str) for v in c["values"]) and c["encoding"] in ("one-hot", "embedding"),
                        f"categorical column {c!r:.60}")
            if target["type"] == "classification":
                classes = target["classes"]
                _expect(isinstance(classes, list) and len(set(map(str, classes))) == len(classes) >= 2
                        and all(isinstance(v, str) and v == v.strip() and not is_missing(v) for v in classes),
                        "target classes (two or more distinct values, none missing)")
            else:
                _expect(target["type"] == "regression" and _finite(target["mean"]) and _finite(target["std"])
                        and target["std"] > 0, "target")
            _expect(isinstance(target["name"], str), "target name")
        except KeyError as e:
            raise ValueError(f"{source}: not a lucidnet table preprocessing file (missing {e})") from None
        except (TypeError, ValueError) as e:
            raise ValueError(f"{source}: not a lucidnet table preprocessing file (bad {e})") from None
        return cls(numeric, categorical, target)


def _expect(ok: bool, what: str) -> None:
    if not ok:
        raise ValueError(what)


def _finite(v: Any) -> bool:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:  # an int past float's range
        return False
