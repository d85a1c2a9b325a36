"""Dropout: zero each element with probability ``p`` while training, scale the rest by 1/(1-p).

The mask comes from ``lucidnet.random.generator()`` (so ``manual_seed`` makes runs repeat), drawn in
float32 and turned into the mask in place: no float64 temporaries. In eval mode dropout is the identity.

>>> import lucidnet as ln
>>> drop = ln.nn.Dropout(0.5)
>>> y = drop(ln.ones(1000))
>>> sorted(set(y.tolist()))
[0.0, 2.0]
>>> drop.eval()(ln.ones(3)).tolist()
[1.0, 1.0, 1.0]
"""
from __future__ import annotations

from ..autograd.function import Function
from ..backend import xp
from ..random import generator
from ..tensor import Tensor
from .module import Module


class _Dropout(Function):
    """``x * mask``; the float32 mask holds 0 or 1/(1-p) (float32 inputs) or 0/1 (other dtypes, scaled after)."""

    def forward(self, x, p=0.5):
        m = generator().random(x.shape, dtype=xp.float32)
        xp.greater_equal(m, p, out=m)  # 1.0 where kept, 0.0 where dropped, in place
        scale = 1.0 / (1.0 - p)
        if x.dtype == xp.float32:
            m *= scale
            self.scale = None
            out = x * m
        else:  # float64 (or float16): scale in the input's own precision
            self.scale = scale
            out = x * m
            out *= scale
        self.mask = m
        return out.astype(x.dtype, copy=False)

    def backward(self, g):
        gx = g * self.mask
        if self.scale is not None:
            gx *= self.scale
        return (gx.astype(g.dtype, copy=False),)


class _Zero(Function):
    """p = 1: every element dropped; the output and the gradient are zeros."""

    def forward(self, x):
        return xp.zeros_like(x)

    def backward(self, g):
        return (xp.zeros_like(g),)


def _check_p(p: float, who: str) -> None:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ValueError(f"{who}: dropout probability has to be between 0 and 1, but got {p!r}")


def dropout(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Functional dropout (``F.dropout``): identity unless ``training``; ``inplace`` is accepted and ignored."""
    _check_p(p, "dropout")
    if not training or p == 0:
        return x
    if p == 1:
        return _Zero.apply(x)
    if x.dtype.kind != "f":
        raise TypeError(f"dropout: expected a floating tensor, got dtype {x.dtype}")
    return _Dropout.apply(x, p=float(p))


class Dropout(Module):
    """Randomly zero elements with probability ``p`` in training mode (inverted dropout); identity in eval."""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        _check_p(p, "Dropout")
        self.p = p
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        if not self.training:
            return x
        return dropout(x, self.p, True)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
