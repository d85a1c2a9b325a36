"""Metrics computed exactly over a whole epoch: each metric accumulates counts or sums batch by batch
(on NumPy arrays, no graph) and ``result()`` turns them into the epoch's value, so an epoch's accuracy
is correct/total over all its samples, not an average of per-batch accuracies.

A metric is updated with the model's output and the target, as arrays or Tensors:

* classification: output ``(N, C)`` scores (logits or probabilities) and target ``(N,)`` class indices;
  more dimensions work with the class axis last (``(B, T, C)`` vs ``(B, T)``) or second, as PyTorch's
  ``cross_entropy`` takes it (``(N, C, L)`` vs ``(N, L)``). A target of the output's shape is a one-hot
  or soft label for ``kind="categorical"``, and a 0/1 label for ``kind="binary"`` (output thresholded at
  ``threshold``: 0.5 for probabilities, 0.0 for logits). An output ``(N, 1)`` against ``(N,)`` is binary.
* regression: output and target of one shape (``(N, 1)`` against ``(N,)`` is accepted).

>>> import numpy as np
>>> acc = Accuracy()
>>> acc.update(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 0]))
>>> acc.update(np.array([[1.0, 0.0]]), np.array([0]))
>>> acc.result()
0.6666666666666666
>>> accuracy(np.array([[0.2, 0.8], [0.9, 0.1]]), np.array([1, 1]))
0.5
"""
from __future__ import annotations

import re
from typing import Any, Callable

import numpy as np

from .base import FunctionMetric, Mean, Metric
from .classification import Accuracy, ConfusionMatrix, F1Score, Precision, Recall, TopKAccuracy
from .regression import MeanAbsoluteError, MeanSquaredError, RootMeanSquaredError

__all__ = ["Metric", "Mean", "Accuracy", "TopKAccuracy", "ConfusionMatrix", "Precision", "Recall", "F1Score",
           "MeanSquaredError", "MeanAbsoluteError", "RootMeanSquaredError", "FunctionMetric", "get",
           "accuracy", "top_k_accuracy", "confusion_matrix", "precision", "recall", "f1_score",
           "mean_squared_error", "mean_absolute_error", "root_mean_squared_error"]


_NAMES: dict[str, Callable[[], Metric]] = {
    "accuracy": Accuracy, "acc": Accuracy,
    "binary_accuracy": lambda: Accuracy(kind="binary"),
    "categorical_accuracy": lambda: Accuracy(kind="categorical"),
    "sparse_categorical_accuracy": Accuracy,
    "top_k_accuracy": TopKAccuracy,
    "precision": Precision, "recall": Recall, "f1": F1Score, "f1_score": F1Score,
    "confusion_matrix": ConfusionMatrix,
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "rmse": RootMeanSquaredError, "root_mean_squared_error": RootMeanSquaredError,
}


def get(metric: str | Metric | Callable, *, binary_threshold: float | None = None,
        kind: str | None = None) -> Metric:
    """A metric from a name (``"accuracy"``, ``"top5_accuracy"``, ``"f1"``, ``"mse"``, ...), a ``Metric``
    (returned as is) or a function ``fn(output, target)`` (wrapped in ``FunctionMetric``).

    For metrics made from names, ``binary_threshold`` sets the threshold for binary outputs (``fit`` passes
    0.0 when the loss works on logits) and ``kind`` replaces ``"auto"`` (``fit`` passes ``"categorical"``
    with a cross-entropy loss, so soft or one-hot targets are compared by argmax).
    """
    if isinstance(metric, Metric):
        return metric
    if isinstance(metric, str):
        key = metric.lower()
        m = re.fullmatch(r"top_?(\d+)(?:_accuracy|_acc)?", key)
        if m:
            return TopKAccuracy(int(m.group(1)))
        if key not in _NAMES:
            raise ValueError(f"unknown metric {metric!r}; known names: {sorted(_NAMES)} and 'top<k>_accuracy'")
        made = _NAMES[key]()
        if binary_threshold is not None and hasattr(made, "threshold"):
            made.threshold = float(binary_threshold)
        if kind is not None and getattr(made, "kind", None) == "auto":
            made.kind = kind
        if key in ("accuracy", "acc") and made.name != key:
            made.name = key
        return made
    if callable(metric):
        return FunctionMetric(metric)
    raise TypeError(f"a metric must be a name, a Metric or a function, got {type(metric).__name__}")


# ---- one-shot functions -----------------------------------------------------------------------------

def accuracy(output: Any, target: Any, kind: str = "auto", threshold: float = 0.5) -> float:
    """The fraction of correct predictions (see :class:`Accuracy`)."""
    return Accuracy(kind, threshold)(output, target)


def top_k_accuracy(output: Any, target: Any, k: int = 5) -> float:
    """The fraction of samples whose true class is among the ``k`` best scores."""
    return TopKAccuracy(k)(output, target)


def confusion_matrix(output: Any, target: Any, num_classes: int | None = None) -> np.ndarray:
    """``cm[true, predicted]`` counts, an int64 array ``(C, C)``."""
    return ConfusionMatrix(num_classes)(output, target)


def precision(output: Any, target: Any, average: str | None = "macro", num_classes: int | None = None) -> Any:
    """Precision, macro-averaged by default (see :class:`Precision`)."""
    return Precision(average, num_classes)(output, target)


def recall(output: Any, target: Any, average: str | None = "macro", num_classes: int | None = None) -> Any:
    """Recall, macro-averaged by default (see :class:`Recall`)."""
    return Recall(average, num_classes)(output, target)


def f1_score(output: Any, target: Any, average: str | None = "macro", num_classes: int | None = None) -> Any:
    """F1, macro-averaged by default (see :class:`F1Score`)."""
    return F1Score(average, num_classes)(output, target)


def mean_squared_error(output: Any, target: Any) -> float:
    return MeanSquaredError()(output, target)


def mean_absolute_error(output: Any, target: Any) -> float:
    return MeanAbsoluteError()(output, target)


def root_mean_squared_error(output: Any, target: Any) -> float:
    return RootMeanSquaredError()(output, target)
