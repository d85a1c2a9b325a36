"""Dropout's autograd Functions: ``x * mask`` with the mask drawn from ``lucidnet.random.generator()``
(``nn.Dropout`` / ``nn.Dropout2d`` are the modules over them), and :func:`drop` / :func:`drop_grad`, the
mask drawn and applied, which the attention kernels share.

float32 with numba on: one compiled pass each way (``kernels.act_numba``), a one-byte keep mask, the bits
from a counter hash keyed by one draw of the generator. Otherwise (float64, a broadcast channel mask, no
numba) NumPy draws a float32 uniform per element; both repeat under ``manual_seed``.

>>> import lucidnet as ln
>>> out, mask = drop(ln.ones(1000).numpy(), 0.5)
>>> sorted(set(out.tolist()))
[0.0, 2.0]
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .. import kernels
from ..autograd.function import Function
from ..backend import xp
from ..random import generator

__all__ = ["Dropout", "Zero", "DropMask", "drop", "drop_grad"]


class DropMask(NamedTuple):
    """A drawn mask: ``values`` is a bool keep mask for the compiled ``kernels`` (scaled by ``scale``), or
    the float mask (0 or 1/(1-p) for float32; 0 or 1, times ``scale``, for other dtypes)."""
    kernels: Any
    values: Any
    scale: Any


def drop(x, p: float, mask_shape: tuple | None = None) -> tuple[Any, DropMask]:
    """-> (x with each element zeroed with probability ``p`` and the rest scaled by 1/(1-p), the mask for
    :func:`drop_grad`). ``mask_shape``: one draw per element of that shape, broadcast over ``x``."""
    nb = kernels.compiled("act", x) if mask_shape is None else None
    if nb is not None:
        flat = xp.ascontiguousarray(x).reshape(-1)
        out, keep = xp.empty_like(flat), xp.empty(flat.shape, dtype=bool)
        key = generator().integers(0, 2 ** 64, dtype=np.uint64)
        scale = np.float32(1.0 / (1.0 - p))
        nb.dropout_forward(flat, key, np.uint64(min(round(p * 2 ** 32), 2 ** 32)), scale, out, keep)
        return out.reshape(x.shape), DropMask(nb, keep, scale)
    m = generator().random(x.shape if mask_shape is None else mask_shape, dtype=xp.float32)
    xp.greater_equal(m, p, out=m)  # 1.0 where kept, 0.0 where dropped, in place
    scale = 1.0 / (1.0 - p)
    if x.dtype == xp.float32:
        m *= scale
        return x * m, DropMask(None, m, None)
    out = x * m  # float64 (or float16): scale in the input's own precision
    out *= scale
    return out.astype(x.dtype, copy=False), DropMask(None, m, scale)


def drop_grad(g, mask: DropMask, out=None):
    """The gradient through :func:`drop` with its ``mask``: ``g`` masked and scaled (into ``out`` if given,
    which may be ``g``)."""
    nb, m, scale = mask
    if nb is not None:
        if out is None:
            out = xp.empty(g.shape, dtype=g.dtype)
        nb.dropout_backward(xp.ascontiguousarray(g).reshape(-1), m, scale, out.reshape(-1))
        return out
    gx = xp.multiply(g, m, out=out)  # (broadcast from a channel mask: the same shape as g)
    if scale is not None:
        gx *= scale
    return gx.astype(g.dtype, copy=False)


class Dropout(Function):
    """``x * mask``: :func:`drop` forward, :func:`drop_grad` backward.

    ``mask_shape``: the shape of the mask, broadcast over ``x`` (Dropout2d: (N, C, 1, 1), whole channels)."""

    def forward(self, x, p=0.5, mask_shape=None):
        out, self.mask = drop(x, p, mask_shape)
        return out

    def backward(self, g):
        return (drop_grad(g, self.mask),)


class Zero(Function):
    """p = 1: every element dropped; the output and the gradient are zeros."""

    def forward(self, x):
        return xp.zeros_like(x)

    def backward(self, g):
        return (xp.zeros_like(g),)
