"""Indexing: ``x[...]`` (basic, integer-array and boolean) with a scatter-add backward; gather."""
from __future__ import annotations

from ..autograd.function import Function
from ..backend import xp


def _is_basic(key) -> bool:
    items = key if isinstance(key, tuple) else (key,)
    return all(k is None or k is Ellipsis or isinstance(k, (int, slice)) for k in items)


def _scatter_add(out, key, g):
    """out[key] += g, correct where integer indices repeat (sort + reduceat, not np.add.at, on the common case)."""
    if isinstance(key, xp.ndarray) and key.dtype != bool and key.ndim == 1:
        # one integer array on the first dim (embedding-style lookup): group equal rows
        idx = key % out.shape[0] if key.size and key.min() < 0 else key
        order = xp.argsort(idx, kind="stable")
        sidx = idx[order]
        starts = xp.flatnonzero(xp.r_[True, sidx[1:] != sidx[:-1]]) if sidx.size else xp.zeros(0, dtype=xp.intp)
        if sidx.size:
            sums = xp.add.reduceat(g[order], starts, axis=0)
            out[sidx[starts]] += sums
        return
    xp.add.at(out, key, g)


class GetItem(Function):
    saves_inputs = False

    def forward(self, a, key=None):
        self.shape, self.key = a.shape, key
        self.basic = _is_basic(key)
        return a[key]

    def backward(self, g):
        out = xp.zeros(self.shape, dtype=g.dtype)
        if self.basic:
            out[self.key] = g
        else:
            _scatter_add(out, self.key, g)
        return (out,)


class Gather(Function):
    saves_inputs = False

    def forward(self, a, index=None, axis=0):
        self.shape, self.index, self.axis = a.shape, index, axis
        if any(i != s for d, (i, s) in enumerate(zip(index.shape, a.shape)) if d != axis):
            # PyTorch lets the index be smaller than the input outside ``axis``: read that corner only
            a = a[tuple(slice(None) if d == axis else slice(0, i) for d, i in enumerate(index.shape))]
        return xp.take_along_axis(a, index, axis=axis)

    def backward(self, g):
        out = xp.zeros(self.shape, dtype=g.dtype)
        # put_along_axis overwrites on duplicates; add.at is the correct scatter-add here
        idx = list(xp.ix_(*[xp.arange(s) for s in self.index.shape]))
        idx[self.axis] = self.index
        xp.add.at(out, tuple(idx), g)
        return (out,)


def _key(key):
    from ..tensor import Tensor
    if isinstance(key, Tensor):
        return key.array
    if isinstance(key, tuple):
        return tuple(k.array if isinstance(k, Tensor) else (xp.asarray(k) if isinstance(k, list) else k) for k in key)
    if isinstance(key, list):
        return xp.asarray(key)
    return key


def getitem(x, key):
    k = _key(key)
    try:
        return GetItem.apply(x, key=k)
    except IndexError as e:
        raise IndexError(f"indexing a tensor of shape {tuple(x.shape)}: {e}") from None


def gather(x, dim, index):
    """PyTorch's gather: ``out[i][j] = x[i][index[i][j]]`` along ``dim``."""
    from ..tensor import Tensor
    idx = index.array if isinstance(index, Tensor) else xp.asarray(index)
    if idx.ndim != x.ndim:
        raise ValueError(f"gather: index has {idx.ndim} dims, input has {x.ndim} (shape {tuple(x.shape)})")
    ax = dim % x.ndim
    if any(i > s for d, (i, s) in enumerate(zip(idx.shape, x.shape)) if d != ax):
        raise ValueError(f"gather: index of shape {tuple(idx.shape)} is larger than the input of shape "
                         f"{tuple(x.shape)} outside dim {ax}")
    return Gather.apply(x, index=idx.astype(xp.intp, copy=False), axis=ax)


def _along(index, axis: int) -> tuple:
    """The full index of the positions ``index`` names along ``axis`` (the others: their own positions)."""
    idx = list(xp.ix_(*[xp.arange(s) for s in index.shape]))
    idx[axis] = index
    return tuple(idx)


class Scatter(Function):
    """PyTorch's ``scatter`` (``add=False``: written, the last write wins) and ``scatter_add``."""

    saves_inputs = False

    def forward(self, a, src, index=None, axis=0, add=False):
        self.index, self.axis, self.add = index, axis, add
        out = a.copy()
        where = _along(index, axis)
        src = xp.broadcast_to(src, index.shape) if xp.ndim(src) == 0 else src[tuple(slice(0, s) for s in index.shape)]
        if add:
            xp.add.at(out, where, src)
        else:
            out[where] = src
        return out

    def backward(self, g):
        where = _along(self.index, self.axis)
        ga = gs = None
        if self.needs[0]:
            ga = g.copy()
            if not self.add:
                ga[where] = 0
        if len(self.needs) > 1 and self.needs[1]:
            gs = g[where]
        return ga, gs


def scatter(x, dim: int, index, src=None, *, value=None, add: bool = False):
    """A copy of ``x`` with ``src`` (a tensor, or the number ``value``) written at ``index`` along ``dim``
    (PyTorch's ``scatter``; ``add=True``: ``scatter_add``)."""
    from ..tensor import Tensor
    dim = dim % x.ndim
    idx = xp.asarray(index.array if isinstance(index, Tensor) else index)
    if idx.dtype.kind not in "iu" or idx.ndim != x.ndim:
        raise ValueError(f"scatter: index must be an integer tensor of {x.ndim} dims, got dtype {idx.dtype} and "
                         f"shape {idx.shape}")
    if idx.size and (idx.min() < 0 or idx.max() >= x.shape[dim]):
        raise ValueError(f"scatter: index out of range [0, {x.shape[dim]}) along dim {dim}")
    if (src is None) == (value is None):
        raise TypeError("scatter: give src (a tensor) or value (a number), one of them")
    if src is None:
        return Scatter.apply(x, xp.asarray(value, dtype=x.dtype), index=idx, axis=dim, add=add)
    if isinstance(src, Tensor) and any(i > s for i, s in zip(idx.shape, src.shape)):
        raise ValueError(f"scatter: index of shape {idx.shape} is larger than src of shape {tuple(src.shape)}")
    return Scatter.apply(x, src, index=idx, axis=dim, add=add)


def one_hot(x, num_classes: int = -1):
    """int64 one-hot vectors of the class indices ``x`` (PyTorch's ``F.one_hot``)."""
    from ..tensor import Tensor
    a = x.array
    if a.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected an integer tensor of class indices, got dtype {a.dtype}")
    n = int(a.max()) + 1 if num_classes == -1 and a.size else num_classes
    if a.size and (a.min() < 0 or a.max() >= n):
        raise ValueError(f"one_hot: class values must be in [0, {n})")
    return Tensor._make((a[..., None] == xp.arange(n)).astype(xp.int64), None)
