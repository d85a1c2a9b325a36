"""Loss layers: modules over the functions of ``losses.py`` with PyTorch's constructor arguments.

Class weights (``weight``, ``pos_weight``) are buffers: saved in ``state_dict`` and cast by ``.to()``.

>>> import lucidnet as ln
>>> from lucidnet.nn.loss import CrossEntropyLoss
>>> loss_fn = CrossEntropyLoss(label_smoothing=0.1)
>>> loss = loss_fn(ln.randn(8, 5, requires_grad=True), ln.randint(0, 5, (8,)))
>>> loss.shape, loss.dtype
((), dtype('float32'))
"""
from __future__ import annotations

from typing import Any

from ..tensor import Tensor, tensor
from . import losses as F
from .module import Module

__all__ = ["BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "CTCLoss", "HuberLoss", "L1Loss", "MSELoss",
           "NLLLoss", "SmoothL1Loss"]


def _as_buffer(v: Any) -> Tensor | None:
    return v if v is None or isinstance(v, Tensor) else tensor(v)


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = F._reduction(type(self).__name__, reduction, size_average, reduce)

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class _WeightedLoss(_Loss):
    def __init__(self, weight: Any = None, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _as_buffer(weight))


class MSELoss(_Loss):
    """Mean squared error: ``MSELoss()(input, target)``; target of the input's shape."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """Quadratic below ``beta``, linear above (see :func:`lucidnet.nn.losses.smooth_l1_loss`)."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        if beta < 0:
            raise ValueError(f"SmoothL1Loss: beta must be >= 0, got {beta}")
        self.beta = beta

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)

    def extra_repr(self) -> str:
        return ", ".join(filter(None, [super().extra_repr(), f"beta={self.beta}" if self.beta != 1.0 else ""]))


class HuberLoss(_Loss):
    """Quadratic below ``delta``, ``delta``-scaled linear above."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        if not delta > 0:
            raise ValueError(f"HuberLoss: delta must be positive, got {delta}")
        self.delta = delta

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)

    def extra_repr(self) -> str:
        return ", ".join(filter(None, [super().extra_repr(), f"delta={self.delta}" if self.delta != 1.0 else ""]))


class CrossEntropyLoss(_WeightedLoss):
    """Cross-entropy on logits (N, C) / (N, C, d1, ...) / (C,) against class indices or probabilities;
    ``weight`` (C,), ``ignore_index`` and ``label_smoothing`` as in PyTorch."""

    def __init__(self, weight: Any = None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got {label_smoothing}")
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)

    def extra_repr(self) -> str:
        parts = [super().extra_repr(), f"ignore_index={self.ignore_index}" if self.ignore_index != -100 else "",
                 f"label_smoothing={self.label_smoothing}" if self.label_smoothing else ""]
        return ", ".join(filter(None, parts))


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities against class indices."""

    def __init__(self, weight: Any = None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities; prefer :class:`BCEWithLogitsLoss` on logits."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Binary cross-entropy on logits (stable at any magnitude); ``pos_weight`` weighs the positives."""

    def __init__(self, weight: Any = None, size_average=None, reduce=None, reduction: str = "mean",
                 pos_weight: Any = None) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.register_buffer("pos_weight", _as_buffer(pos_weight))

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight, reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class CTCLoss(_Loss):
    """Connectionist temporal classification loss of log-probabilities (T, N, C) against label sequences:
    ``CTCLoss(blank=0)(log_probs, targets, input_lengths, target_lengths)`` (see
    :func:`lucidnet.nn.losses.ctc_loss`)."""

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> None:
        super().__init__(reduction=reduction)
        if not isinstance(blank, int) or blank < 0:
            raise ValueError(f"CTCLoss: blank must be a class index (an int >= 0), got {blank!r}")
        self.blank, self.zero_infinity = blank, zero_infinity

    def forward(self, log_probs: Tensor, targets: Any, input_lengths: Any, target_lengths: Any) -> Tensor:
        return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=self.blank,
                          reduction=self.reduction, zero_infinity=self.zero_infinity)

    def extra_repr(self) -> str:
        parts = [f"blank={self.blank}" if self.blank else "", super().extra_repr(),
                 "zero_infinity=True" if self.zero_infinity else ""]
        return ", ".join(filter(None, parts))
