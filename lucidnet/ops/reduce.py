"""Reductions: sum, mean, max/min (values and indices), var, std, logsumexp, argmax/argmin."""
from __future__ import annotations

import builtins

from ..autograd.function import Function
from ..backend import xp
from ._util import keep, norm_axis


def _expand_back(g, shape, axes, keepdims):
    """Reshape a reduced gradient so it broadcasts against the input of ``shape``."""
    if axes is None:
        return g.reshape((1,) * len(shape)) if g.ndim else g
    if not keepdims:
        g = xp.expand_dims(g, axes)
    return g


class Sum(Function):
    saves_inputs = False

    def forward(self, a, axes=None, keepdims=False):
        self.shape, self.axes, self.keepdims = a.shape, axes, keepdims
        return xp.sum(a, axis=axes, keepdims=keepdims)

    def backward(self, g):
        g = _expand_back(g, self.shape, self.axes, self.keepdims)
        return (xp.broadcast_to(g, self.shape),)


class Mean(Function):
    saves_inputs = False

    def forward(self, a, axes=None, keepdims=False):
        self.shape, self.axes, self.keepdims = a.shape, axes, keepdims
        n = a.size if axes is None else int(xp.prod([a.shape[i] for i in axes]))
        self.scale = 1.0 / builtins.max(n, 1)
        return xp.mean(a, axis=axes, keepdims=keepdims)

    def backward(self, g):
        g = _expand_back(g * self.scale, self.shape, self.axes, self.keepdims)
        return (xp.broadcast_to(g, self.shape),)


class Var(Function):
    def forward(self, a, axes=None, keepdims=False, correction=1):
        self.a, self.axes, self.keepdims = a, axes, keepdims
        n = a.size if axes is None else int(xp.prod([a.shape[i] for i in axes]))
        self.denom = builtins.max(n - correction, 0)
        self.mu = xp.mean(a, axis=axes, keepdims=True)
        return xp.var(a, axis=axes, keepdims=keepdims, ddof=correction)

    def backward(self, g):
        g = _expand_back(g, self.a.shape, self.axes, self.keepdims)
        scale = 2.0 / self.denom if self.denom > 0 else float("nan")
        return (g * (self.a - self.mu) * scale,)


class Extreme(Function):
    """max or min over axes; ties share the gradient evenly (PyTorch's rule for full reductions)."""

    saves_output = True

    def forward(self, a, axes=None, keepdims=False, mode="max"):
        self.a, self.axes, self.keepdims = a, axes, keepdims
        f = xp.max if mode == "max" else xp.min
        self.out = f(a, axis=axes, keepdims=True)
        return self.out if keepdims else (self.out.reshape(()) if axes is None else xp.squeeze(self.out, axes))

    def backward(self, g):
        g = _expand_back(g, self.a.shape, self.axes, self.keepdims)
        mask = (self.a == self.out).astype(g.dtype)
        mask /= mask.sum(axis=self.axes, keepdims=True)
        return (g * mask,)


class ExtremeAlong(Function):
    """max/min along one dim with indices: the gradient goes to the chosen index only (as in PyTorch)."""

    saves_inputs = False

    def forward(self, a, axis=0, keepdims=False, mode="max"):
        self.shape, self.axis, self.keepdims = a.shape, axis, keepdims
        idx = (xp.argmax if mode == "max" else xp.argmin)(a, axis=axis)
        self.idx = xp.expand_dims(idx, axis)
        out = xp.take_along_axis(a, self.idx, axis=axis)
        self.indices = self.idx if keepdims else idx
        return out if keepdims else xp.squeeze(out, axis)

    def backward(self, g):
        if not self.keepdims:
            g = xp.expand_dims(g, self.axis)
        out = xp.zeros(self.shape, dtype=g.dtype)
        xp.put_along_axis(out, self.idx, g, axis=self.axis)
        return (out,)


class LogSumExp(Function):
    def forward(self, a, axes=None, keepdims=False):
        self.a, self.axes, self.keepdims = a, axes, keepdims
        m = xp.max(a, axis=axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        s = xp.log(xp.sum(xp.exp(a - m), axis=axes, keepdims=True)) + m
        self.lse = s
        return s if keepdims else (s.reshape(()) if axes is None else xp.squeeze(s, axes))

    def backward(self, g):
        g = _expand_back(g, self.a.shape, self.axes, self.keepdims)
        return (g * xp.exp(self.a - self.lse),)


def sum(x, dim=None, keepdim=None, *, axis=None, keepdims=None):  # noqa: A001
    """Sum over ``dim`` (int or tuple; all when None). ``x.sum(dim=1, keepdim=True)``."""
    return Sum.apply(x, axes=norm_axis(dim, axis, x.ndim), keepdims=keep(keepdim, keepdims))


def _as_float(x):
    """Integer and bool tensors average into the default float dtype (as in NumPy, but never float64)."""
    if x.array.dtype.kind == "f":
        return x
    from ..tensor import get_default_dtype
    from .misc import cast
    return cast(x, get_default_dtype())


def mean(x, dim=None, keepdim=None, *, axis=None, keepdims=None):
    """Mean over ``dim``; integer and bool tensors give the default float dtype (float32)."""
    x = _as_float(x)
    return Mean.apply(x, axes=norm_axis(dim, axis, x.ndim), keepdims=keep(keepdim, keepdims))


def var(x, dim=None, keepdim=None, *, unbiased=None, correction=None, axis=None, keepdims=None, ddof=None):
    """Variance; unbiased (correction=1) by default, as in PyTorch. ``ddof`` is NumPy's spelling."""
    if correction is None:
        correction = ddof if ddof is not None else (0 if unbiased is False else 1)
    x = _as_float(x)
    return Var.apply(x, axes=norm_axis(dim, axis, x.ndim), keepdims=keep(keepdim, keepdims), correction=correction)


def std(x, dim=None, keepdim=None, *, unbiased=None, correction=None, axis=None, keepdims=None, ddof=None):
    return var(x, dim, keepdim, unbiased=unbiased, correction=correction, axis=axis, keepdims=keepdims, ddof=ddof).sqrt()


def logsumexp(x, dim=None, keepdim=None, *, axis=None, keepdims=None):
    """log(sum(exp(x))) computed stably (the max is subtracted first)."""
    return LogSumExp.apply(x, axes=norm_axis(dim, axis, x.ndim), keepdims=keep(keepdim, keepdims))


class ValuesIndices(tuple):
    """``(values, indices)`` as returned by ``x.max(dim)``, with ``.values`` and ``.indices``."""

    @property
    def values(self):
        return self[0]

    @property
    def indices(self):
        return self[1]


def _extreme(x, dim, keepdim, axis, keepdims, mode):
    from ..tensor import Tensor

    d = dim if dim is not None else axis
    kd = keep(keepdim, keepdims)
    if d is None:
        return Extreme.apply(x, axes=None, keepdims=kd, mode=mode)
    if isinstance(d, tuple):  # NumPy style: values only
        return Extreme.apply(x, axes=norm_axis(d, None, x.ndim), keepdims=kd, mode=mode)
    ax = norm_axis(d, None, x.ndim)[0]
    out = ExtremeAlong.apply(x, axis=ax, keepdims=kd, mode=mode)
    node = out._node
    if node is not None:
        idx = node.indices
    else:
        f = xp.argmax if mode == "max" else xp.argmin
        idx = f(x.array, axis=ax, keepdims=kd)
    return ValuesIndices((out, Tensor._make(idx.astype(xp.int64, copy=False), None)))


def max(x, dim=None, keepdim=None, *, axis=None, keepdims=None):  # noqa: A001
    """Over all elements: the max value. Along ``dim``: ``(values, indices)``, as in PyTorch."""
    return _extreme(x, dim, keepdim, axis, keepdims, "max")


def min(x, dim=None, keepdim=None, *, axis=None, keepdims=None):  # noqa: A001
    return _extreme(x, dim, keepdim, axis, keepdims, "min")


def argmax(x, dim=None, keepdim=False, *, axis=None):
    from ..tensor import Tensor
    d = dim if dim is not None else axis
    return Tensor._make(xp.argmax(x.array, axis=d, keepdims=keepdim if d is not None else False).astype(xp.int64), None)


def argmin(x, dim=None, keepdim=False, *, axis=None):
    from ..tensor import Tensor
    d = dim if dim is not None else axis
    return Tensor._make(xp.argmin(x.array, axis=d, keepdims=keepdim if d is not None else False).astype(xp.int64), None)


class CumSum(Function):
    saves_inputs = False

    def forward(self, a, axis=0):
        self.axis = axis
        return xp.cumsum(a, axis=axis, dtype=a.dtype if a.dtype.kind == "f" else None)

    def backward(self, g):
        return (xp.flip(xp.cumsum(xp.flip(g, self.axis), axis=self.axis), self.axis),)


def cumsum(x, dim: int):
    """Running sums along ``dim`` (PyTorch's ``cumsum``; integers sum as int64)."""
    return CumSum.apply(x, axis=dim % builtins.max(x.ndim, 1))


def _order(x, dim: int, descending: bool):
    """Indices that sort ``x`` along ``dim``, stably (equal elements keep their order, descending too)."""
    a = x.array
    if descending:
        return xp.flip(xp.argsort(xp.flip(a, dim), axis=dim, kind="stable"), dim) * -1 + (a.shape[dim] - 1)
    return xp.argsort(a, axis=dim, kind="stable")


def sort(x, dim: int = -1, descending: bool = False, stable: bool = False):
    """(values, indices) sorted along ``dim``; the values carry the gradient back to where they came from."""
    from ..tensor import Tensor
    from .index import gather
    if x.ndim == 0:
        return ValuesIndices((x, Tensor._make(xp.zeros((), xp.int64), None)))
    d = dim % x.ndim
    indices = Tensor._make(_order(x, d, descending).astype(xp.int64), None)
    return ValuesIndices((gather(x, d, indices), indices))


def argsort(x, dim: int = -1, descending: bool = False, stable: bool = False):
    return sort(x, dim, descending).indices


def topk(x, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002
    """The ``k`` largest (or smallest) values along ``dim`` and their indices, largest first."""
    d = dim % builtins.max(x.ndim, 1)
    if not 0 <= k <= x.shape[d]:
        raise ValueError(f"topk: k ({k}) out of range for a dimension of size {x.shape[d]}")
    from ..tensor import Tensor
    from .index import gather
    idx = xp.take(_order(x, d, largest), xp.arange(k), axis=d)
    indices = Tensor._make(idx.astype(xp.int64), None)
    return ValuesIndices((gather(x, d, indices), indices))
