"""Detection losses on lucidnet Tensors, with torchvision's names and semantics.

>>> import lucidnet as ln
>>> x, t = ln.tensor([[2.0, -2.0]]), ln.tensor([[1.0, 0.0]])
>>> sigmoid_focal_loss(x, t).numpy().round(5)    # easy examples weigh little
array([[0.00045, 0.00135]], dtype=float32)
"""
from __future__ import annotations

from ...nn.losses import binary_cross_entropy_with_logits
from ...ops import sigmoid
from ...tensor import Tensor

__all__ = ["sigmoid_focal_loss"]


def sigmoid_focal_loss(inputs: Tensor, targets: Tensor, alpha: float = 0.25, gamma: float = 2.0,
                       reduction: str = "none") -> Tensor:
    """The focal loss of RetinaNet (Lin et al. 2017) on logits ``inputs`` and 0/1 (or soft) ``targets`` of the
    same shape: binary cross-entropy scaled by ``(1 - p_t) ** gamma`` and, when ``alpha >= 0``, weighted by
    ``alpha`` for positives and ``1 - alpha`` for negatives. ``reduction``: "none", "mean" or "sum"
    (torchvision's ``sigmoid_focal_loss``)."""
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"sigmoid_focal_loss: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
    if tuple(inputs.shape) != tuple(targets.shape):
        raise ValueError(f"sigmoid_focal_loss: inputs {tuple(inputs.shape)} and targets {tuple(targets.shape)} "
                         "must have the same shape")
    p = sigmoid(inputs)
    ce = binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = loss * (alpha * targets + (1 - alpha) * (1 - targets))
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss
