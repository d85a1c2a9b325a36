"""The metric protocol: ``Metric`` (accumulate per batch, ``result()`` per epoch), ``Mean`` and
``FunctionMetric``."""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ...tensor import Tensor

__all__ = ["Metric", "Mean", "FunctionMetric"]


def _array(x: Any) -> np.ndarray:
    return x.array if isinstance(x, Tensor) else np.asarray(x)


class Metric:
    """Base class: ``update(output, target)`` per batch, ``result()`` for the epoch, ``reset()`` between
    epochs. ``state_dict()``/``load_state_dict()`` hold the accumulators (for mid-epoch checkpoints).

    Subclasses keep their accumulators in the attributes named by ``_state`` (numbers or arrays).
    """

    name: str = "metric"
    _state: tuple[str, ...] = ()

    def __init__(self, name: str | None = None):
        if name is not None:
            self.name = name
        self.reset()

    def reset(self) -> None:
        raise NotImplementedError

    def update(self, output: Any, target: Any) -> None:
        raise NotImplementedError

    def result(self) -> Any:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k in self._state
                for v in [getattr(self, k)]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for k in self._state:
            if k not in state:
                raise KeyError(f"{type(self).__name__}.load_state_dict: missing {k!r}")
            v = state[k]
            if isinstance(v, np.ndarray) and v.ndim == 0:
                v = v.item()
            elif v is not None and not isinstance(v, np.ndarray):
                v = type(getattr(self, k))(v) if getattr(self, k) is not None else v
            setattr(self, k, v.copy() if isinstance(v, np.ndarray) else v)

    def __call__(self, output: Any, target: Any) -> Any:
        """One-shot: reset, update with this output and target, return the result."""
        self.reset()
        self.update(output, target)
        return self.result()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class Mean(Metric):
    """A weighted mean of values: ``update(value, weight)`` (the training loss, weighted by batch size)."""

    name = "mean"
    _state = ("total", "count")

    def reset(self) -> None:
        self.total, self.count = 0.0, 0.0

    def update(self, value: Any, weight: Any = 1.0) -> None:  # type: ignore[override]
        w = float(weight)
        self.total += float(value) * w
        self.count += w

    def result(self) -> float:
        return self.total / self.count if self.count else math.nan


class FunctionMetric(Metric):
    """Wrap ``fn(output, target) -> number`` (arrays in): the epoch value is its per-batch values averaged,
    weighted by batch size (exact only for functions that are means over samples)."""

    _state = ("total", "count")

    def __init__(self, fn: Callable[[np.ndarray, np.ndarray], Any], name: str | None = None):
        if not callable(fn):
            raise TypeError(f"FunctionMetric: expected a callable, got {type(fn).__name__}")
        self.fn = fn
        super().__init__(name or getattr(fn, "__name__", "metric"))

    def reset(self) -> None:
        self.total, self.count = 0.0, 0

    def update(self, output: Any, target: Any) -> None:
        out, tgt = _array(output), _array(target)
        n = len(tgt) if tgt.ndim else 1
        self.total += float(self.fn(out, tgt)) * n
        self.count += n

    def result(self) -> float:
        return self.total / self.count if self.count else math.nan
