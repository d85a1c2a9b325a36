"""Dropout's autograd Functions: ``x * mask`` with the mask drawn from ``lucidnet.random.generator()``
(``nn.Dropout`` / ``nn.Dropout2d`` are the modules over them)."""
from __future__ import annotations

from ..autograd.function import Function
from ..backend import xp
from ..random import generator

__all__ = ["Dropout", "Zero"]


class Dropout(Function):
    """``x * mask``; the float32 mask holds 0 or 1/(1-p) (float32 inputs) or 0/1 (other dtypes, scaled after).

    ``mask_shape``: the shape of the mask, broadcast over ``x`` (Dropout2d: (N, C, 1, 1), whole channels)."""

    def forward(self, x, p=0.5, mask_shape=None):
        m = generator().random(x.shape if mask_shape is None else mask_shape, dtype=xp.float32)
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
        gx = g * self.mask  # (broadcast from a channel mask: the same shape as g)
        if self.scale is not None:
            gx *= self.scale
        return (gx.astype(g.dtype, copy=False),)


class Zero(Function):
    """p = 1: every element dropped; the output and the gradient are zeros."""

    def forward(self, x):
        return xp.zeros_like(x)

    def backward(self, g):
        return (xp.zeros_like(g),)
