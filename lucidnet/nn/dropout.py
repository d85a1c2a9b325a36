"""Dropout: zero each element with probability ``p`` while training, scale the rest by 1/(1-p).
``Dropout2d`` does the same to whole channels (one draw per sample and channel).

The mask comes from ``lucidnet.random.generator()`` (so ``manual_seed`` makes runs repeat): for float32
with the compiled kernels, one draw keys a counter hash that gives every element its bits, and the mask is
drawn, applied and kept (one byte an element) in one pass (``fused.dropout``); otherwise NumPy draws a
float32 uniform per element. No float64 temporaries. In eval mode dropout is the identity.

>>> import lucidnet as ln
>>> drop = ln.nn.Dropout(0.5)
>>> y = drop(ln.ones(1000))
>>> sorted(set(y.tolist()))
[0.0, 2.0]
>>> drop.eval()(ln.ones(3)).tolist()
[1.0, 1.0, 1.0]
"""
from __future__ import annotations

import warnings

from .. import ops
from ..fused.dropout import Dropout as _DropoutFn
from ..fused.dropout import Zero as _Zero
from ..tensor import Tensor
from .module import Module


def _check_p(p: float, who: str) -> None:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ValueError(f"{who}: dropout probability has to be between 0 and 1, but got {p!r}")


def _drop(x: Tensor, p: float, training: bool, who: str, mask_shape: tuple | None = None) -> Tensor:
    _check_p(p, who)
    if not training or p == 0:
        return x
    if p == 1:
        return _Zero.apply(x)
    if x.dtype.kind != "f":
        raise TypeError(f"{who}: expected a floating tensor, got dtype {x.dtype}")
    return _DropoutFn.apply(x, p=float(p), mask_shape=mask_shape)


def dropout(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Functional dropout (``F.dropout``): identity unless ``training``; with ``inplace``, the result is
    written into ``x`` (PyTorch's rules, ``lucidnet.ops.inplace``)."""
    return ops.inplace.apply(x, lambda t: _drop(t, p, training, "dropout"), inplace and training and p > 0,
                             "dropout(inplace=True)")


class Dropout(Module):
    """Randomly zero elements with probability ``p`` in training mode (inverted dropout); identity in eval."""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        _check_p(p, type(self).__name__)
        self.p = p
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        if not self.training:
            return x
        return dropout(x, self.p, True, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


def dropout2d(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Functional channel dropout (``F.dropout2d``): zero whole channels of (N, C, H, W) (or (N, C, L)).

    As in PyTorch, a 2-D input gets element-wise dropout and a 3-D one is read as (N, C, L), each with
    PyTorch's deprecation warning."""
    if x.ndim not in (2, 3, 4):
        raise ValueError(f"dropout2d: expected a 3D (N, C, L) or 4D (N, C, H, W) input, got shape {tuple(x.shape)}")
    if x.ndim == 2:
        warnings.warn("dropout2d: Received a 2-D input to dropout2d, which is deprecated and will result in an "
                      "error in a future release. To retain the behavior and silence this warning, please use "
                      "dropout instead.", UserWarning, stacklevel=2)
        return dropout(x, p, training, inplace)
    if x.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim.",
                      UserWarning, stacklevel=2)
    mask = tuple(x.shape[:2]) + (1,) * (x.ndim - 2)
    return ops.inplace.apply(x, lambda t: _drop(t, p, training, "dropout2d", mask_shape=mask),
                             inplace and training and p > 0, "dropout2d(inplace=True)")


class Dropout2d(Dropout):
    """Zero whole channels with probability ``p`` in training mode (each (sample, channel) pair drawn once),
    scaling the kept channels by 1/(1-p); identity in eval. Input (N, C, H, W), or (N, C, L).

    >>> import lucidnet as ln
    >>> y = ln.nn.Dropout2d(0.5)(ln.ones(2, 8, 3, 3))
    >>> sorted(set(y.numpy().reshape(16, 9).std(axis=1).tolist()))  # each channel kept or dropped whole
    [0.0]
    """

    def forward(self, x: Tensor) -> Tensor:
        if not self.training:
            return x
        return dropout2d(x, self.p, True, self.inplace)
