"""Regression metrics: mean squared / absolute error and RMSE, exact over the epoch's elements."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import Metric, _array
from .classification import _squeeze_binary

__all__ = ["MeanSquaredError", "MeanAbsoluteError", "RootMeanSquaredError"]


class _ErrorSum(Metric):
    """Sum of a per-element error (float64 accumulator) and the element count."""

    _state = ("total", "count")

    def reset(self) -> None:
        self.total, self.count = 0.0, 0

    def _err(self, d: np.ndarray) -> float:
        raise NotImplementedError

    def update(self, output: Any, target: Any) -> None:
        out, tgt = _array(output), _array(target)
        out = _squeeze_binary(out, tgt)
        if out.shape != tgt.shape:
            raise ValueError(f"{type(self).__name__}: output of shape {out.shape} and target of shape {tgt.shape} "
                             "differ (broadcasting them is almost always a bug); reshape one of them")
        d = np.subtract(out, tgt, dtype=out.dtype if out.dtype.kind == "f" else np.float64)
        self.total += self._err(d)
        self.count += int(d.size)

    def result(self) -> float:
        return self.total / self.count if self.count else math.nan


class MeanSquaredError(_ErrorSum):
    """Mean of ``(output - target)**2`` over every element of the epoch."""

    name = "mse"

    def _err(self, d):
        return float(np.square(d, out=d).sum(dtype=np.float64))


class MeanAbsoluteError(_ErrorSum):
    """Mean of ``|output - target|`` over every element of the epoch."""

    name = "mae"

    def _err(self, d):
        return float(np.abs(d, out=d).sum(dtype=np.float64))


class RootMeanSquaredError(MeanSquaredError):
    """Square root of the epoch's mean squared error (not a mean of per-batch roots)."""

    name = "rmse"

    def result(self) -> float:
        return math.sqrt(self.total / self.count) if self.count else math.nan
