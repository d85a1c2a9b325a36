"""Classification metrics: accuracy, top-k accuracy, confusion matrix, precision / recall / F1."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import Metric, _array

__all__ = ["Accuracy", "TopKAccuracy", "ConfusionMatrix", "Precision", "Recall", "F1Score"]


def _binary_target(t: np.ndarray) -> np.ndarray:
    return t if t.dtype == np.bool_ else t >= 0.5


def _class_scores(who: str, output: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(scores (M, C), labels (M,))`` when the output has a class axis the target lacks; None when output
    and target have the same shape (binary, multi-label or one-hot targets)."""
    if output.shape == target.shape:
        return None
    if output.ndim == target.ndim + 1:
        if output.shape[:-1] == target.shape:
            scores = output
        elif output.shape[0] == target.shape[0] and output.shape[2:] == target.shape[1:]:
            scores = np.moveaxis(output, 1, -1)
        else:
            scores = None
        if scores is not None:
            if target.dtype.kind not in "iub":
                raise TypeError(f"{who}: class-index targets must be integers, got dtype {target.dtype}")
            return scores.reshape(-1, scores.shape[-1]), target.reshape(-1)
    raise ValueError(f"{who}: cannot match output of shape {output.shape} with target of shape {target.shape}; "
                     "expected (N, C) scores with (N,) class indices (class axis last or second), or "
                     "output and target of one shape")


def _squeeze_binary(output: np.ndarray, target: np.ndarray) -> np.ndarray:
    """An output ``(..., 1)`` against a target ``(...)`` is one binary score per sample."""
    if output.ndim == target.ndim + 1 and output.shape[-1] == 1 and output.shape[:-1] == target.shape:
        return output.reshape(target.shape)
    return output


def _labels(who: str, kind: str, threshold: float, output: Any, target: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """Predicted and true labels (flat int arrays) and the number of classes the output implies."""
    out, tgt = _array(output), _array(target)
    out = _squeeze_binary(out, tgt)
    cs = _class_scores(who, out, tgt)
    if cs is not None:
        scores, labels = cs
        return scores.argmax(axis=-1), labels.astype(np.int64, copy=False), scores.shape[-1]
    if kind == "categorical" and out.ndim >= 2:  # one-hot / soft targets
        c = out.shape[-1]
        return out.reshape(-1, c).argmax(-1), tgt.reshape(-1, c).argmax(-1), c
    pred = (out > threshold).reshape(-1).astype(np.int64)
    return pred, _binary_target(tgt).reshape(-1).astype(np.int64), 2


class Accuracy(Metric):
    """The fraction of correct predictions over all samples (all positions, for sequence outputs).

    ``kind``: ``"auto"`` (class-index targets: argmax over the class axis; a target of the output's shape:
    binary, output > ``threshold``), ``"categorical"`` (a same-shape target is one-hot / soft: argmax of
    both) or ``"binary"``.
    """

    name = "accuracy"
    _state = ("correct", "total")

    def __init__(self, kind: str = "auto", threshold: float = 0.5, name: str | None = None):
        if kind not in ("auto", "categorical", "binary"):
            raise ValueError(f"Accuracy: kind must be 'auto', 'categorical' or 'binary', got {kind!r}")
        self.kind, self.threshold = kind, float(threshold)
        super().__init__(name)

    def reset(self) -> None:
        self.correct, self.total = 0, 0

    def update(self, output: Any, target: Any) -> None:
        pred, true, _ = _labels("Accuracy", self.kind, self.threshold, output, target)
        self.correct += int(np.count_nonzero(pred == true))
        self.total += int(true.size)

    def result(self) -> float:
        return self.correct / self.total if self.total else math.nan


class TopKAccuracy(Metric):
    """The fraction of samples whose true class is among the ``k`` highest scores (ties count in its favour:
    correct when fewer than ``k`` classes score strictly higher than the true one)."""

    _state = ("correct", "total")

    def __init__(self, k: int = 5, name: str | None = None):
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"TopKAccuracy: k must be a positive integer, got {k!r}")
        self.k = k
        super().__init__(name or f"top{k}_accuracy")

    def reset(self) -> None:
        self.correct, self.total = 0, 0

    def update(self, output: Any, target: Any) -> None:
        out, tgt = _array(output), _array(target)
        cs = _class_scores("TopKAccuracy", out, tgt) if out.shape != tgt.shape else None
        if cs is None:
            raise ValueError(f"TopKAccuracy: expected (N, C) scores with (N,) class indices, got output "
                             f"{out.shape} and target {tgt.shape}")
        scores, labels = cs
        c = scores.shape[-1]
        if labels.size and (labels.min() < 0 or labels.max() >= c):
            raise ValueError(f"TopKAccuracy: target classes must lie in [0, {c}), got values from "
                             f"{labels.min()} to {labels.max()}")
        true_score = np.take_along_axis(scores, labels.astype(np.intp)[:, None], axis=1)
        higher = np.count_nonzero(scores > true_score, axis=1)
        self.correct += int(np.count_nonzero(higher < self.k))
        self.total += int(labels.size)

    def result(self) -> float:
        return self.correct / self.total if self.total else math.nan


class ConfusionMatrix(Metric):
    """Counts ``cm[true, predicted]`` (rows: true class, columns: predicted class, as scikit-learn).

    ``num_classes`` defaults to what the output implies (its class-axis size, or 2 for binary outputs).
    ``result()`` is an int64 array ``(C, C)``.
    """

    name = "confusion_matrix"
    _state = ("matrix",)

    def __init__(self, num_classes: int | None = None, kind: str = "auto", threshold: float = 0.5,
                 name: str | None = None):
        if num_classes is not None and (isinstance(num_classes, bool) or not isinstance(num_classes, int)
                                        or num_classes < 1):
            raise ValueError(f"{type(self).__name__}: num_classes must be a positive integer, got {num_classes!r}")
        self.num_classes, self.kind, self.threshold = num_classes, kind, float(threshold)
        super().__init__(name)

    def reset(self) -> None:
        self.matrix = None if self.num_classes is None else np.zeros((self.num_classes,) * 2, np.int64)

    def update(self, output: Any, target: Any) -> None:
        who = type(self).__name__
        pred, true, c_out = _labels(who, self.kind, self.threshold, output, target)
        if self.matrix is None:
            self.matrix = np.zeros((c_out, c_out), np.int64)
        c = self.matrix.shape[0]
        if true.size and (true.min() < 0 or true.max() >= c):
            raise ValueError(f"{who}: target classes must lie in [0, {c}), got values from {true.min()} to "
                             f"{true.max()}")
        if pred.size and pred.max() >= c:
            raise ValueError(f"{who}: the output predicts class {pred.max()}, but num_classes is {c}")
        self.matrix += np.bincount(true * c + pred, minlength=c * c).reshape(c, c)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        m = state["matrix"]
        self.matrix = None if m is None else np.array(m, dtype=np.int64)

    def result(self) -> np.ndarray:
        return np.zeros((0, 0), np.int64) if self.matrix is None else self.matrix.copy()


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.zeros(a.shape, np.float64)
    np.divide(a, b, out=out, where=b != 0)
    return out


class _PRF(ConfusionMatrix):
    """Precision / recall / F1 from the epoch's confusion matrix.

    ``average``: ``"macro"`` (unweighted mean over the classes that occur in the targets or the
    predictions, scikit-learn's default set of labels), ``"weighted"`` (by class support), ``"micro"``
    (global counts), ``"binary"`` (class 1 only) or ``None`` (an array, one value per class).
    A class with a zero denominator scores 0 (scikit-learn's ``zero_division=0``).
    """

    def __init__(self, average: str | None = "macro", num_classes: int | None = None, kind: str = "auto",
                 threshold: float = 0.5, name: str | None = None):
        if average not in ("macro", "micro", "weighted", "binary", None):
            raise ValueError(f"{type(self).__name__}: average must be 'macro', 'micro', 'weighted', 'binary' "
                             f"or None, got {average!r}")
        self.average = average
        super().__init__(num_classes, kind, threshold, name)

    def _per_class(self, tp, fp, fn) -> np.ndarray:
        raise NotImplementedError

    def result(self) -> Any:
        cm = self.matrix
        if cm is None or cm.sum() == 0:
            return math.nan
        tp = np.diag(cm).astype(np.float64)
        fp = cm.sum(axis=0) - tp
        fn = cm.sum(axis=1) - tp
        if self.average == "micro":
            return float(self._per_class(tp.sum(keepdims=True), fp.sum(keepdims=True), fn.sum(keepdims=True))[0])
        scores = self._per_class(tp, fp, fn)
        if self.average is None:
            return scores
        if self.average == "binary":
            if len(scores) != 2:
                raise ValueError(f"{type(self).__name__}: average='binary' needs 2 classes, found {len(scores)}")
            return float(scores[1])
        support = cm.sum(axis=1)
        if self.average == "weighted":
            return float((scores * support).sum() / support.sum())
        present = (support + cm.sum(axis=0)) > 0
        return float(scores[present].mean())


class Precision(_PRF):
    __doc__ = "Precision tp / (tp + fp) per class, averaged (macro by default).\n\n" + (_PRF.__doc__ or "")
    name = "precision"

    def _per_class(self, tp, fp, fn):
        return _safe_div(tp, tp + fp)


class Recall(_PRF):
    __doc__ = "Recall tp / (tp + fn) per class, averaged (macro by default).\n\n" + (_PRF.__doc__ or "")
    name = "recall"

    def _per_class(self, tp, fp, fn):
        return _safe_div(tp, tp + fn)


class F1Score(_PRF):
    __doc__ = "F1 2tp / (2tp + fp + fn) per class, averaged (macro by default).\n\n" + (_PRF.__doc__ or "")
    name = "f1"

    def _per_class(self, tp, fp, fn):
        return _safe_div(2 * tp, 2 * tp + fp + fn)
