"""Optimizer updates in NumPy passes: the reference of ``optim_numba`` (same names, the same arithmetic in
the same order, so both give the same bits) and the path for float64, non-contiguous parameters, AMSGrad,
or no numba. Scalars are Python floats, cast to the parameters' dtype here; ``tmp`` is a scratch array of
the parameters' shape.

Each pass of a large update goes over blocks of ``BLOCK`` elements (256 KiB of float32 per array: the arrays of
one block stay in the core's L2 cache from one pass to the next), where the arrays allow it (one memory layout,
contiguous); the arithmetic of each element is the same.
"""
from __future__ import annotations

from ..backend import xp

BLOCK = 1 << 16


def _blocks(*arrays):
    """Tuples of views of ``arrays`` (None entries stay None), block by block when they are large, contiguous and
    of one memory layout; else the one tuple ``arrays``."""
    a0 = arrays[0]
    if a0.size <= 2 * BLOCK or not (a0.flags.c_contiguous or a0.flags.f_contiguous) or any(
            a is not None and (a.strides != a0.strides or a.shape != a0.shape) for a in arrays):
        yield arrays
        return
    views = [None if a is None else a.ravel("K") for a in arrays]
    for start in range(0, a0.size, BLOCK):
        yield tuple(None if a is None else a[start:start + BLOCK] for a in views)

__all__ = ["adam_update", "add_scaled", "lerp_", "sgd_momentum"]


def lerp_(a, b, weight: float, tmp) -> None:
    """``a += weight * (b - a)`` in place, in PyTorch's two-branch form (exact at weight 0 and 1)."""
    xp.subtract(b, a, out=tmp)
    if weight < 0.5:
        tmp *= a.dtype.type(weight)
        a += tmp
    else:
        tmp *= a.dtype.type(1.0 - weight)
        xp.subtract(b, tmp, out=a)


def adam_update(d, u, m, v, w1: float, b2: float, c2: float, nstep: float, bc2s: float, eps: float, tmp,
                vmax=None) -> None:
    """``m = lerp(m, u, w1)``; ``v = b2 * v + (c2 * u) * u``; with ``vmax`` (AMSGrad) ``vmax = max(vmax, v)``
    stands in for ``v`` below; ``d += nstep * (m / (sqrt(v) / bc2s + eps))``."""
    for block in _blocks(d, u, m, v, tmp, vmax):
        _adam_block(*block, w1, b2, c2, nstep, bc2s, eps)


def _adam_block(d, u, m, v, tmp, vmax, w1, b2, c2, nstep, bc2s, eps) -> None:
    T = d.dtype.type
    lerp_(m, u, w1, tmp)
    v *= T(b2)
    xp.multiply(u, T(c2), out=tmp)
    tmp *= u
    v += tmp
    if vmax is not None:
        xp.maximum(vmax, v, out=vmax)
        v = vmax
    xp.sqrt(v, out=tmp)
    tmp /= T(bc2s)
    tmp += T(eps)
    xp.divide(m, tmp, out=tmp)
    tmp *= T(nstep)
    d += tmp


def add_scaled(d, u, a: float, tmp) -> None:
    """``d += u * a``."""
    xp.multiply(u, d.dtype.type(a), out=tmp)
    d += tmp


def sgd_momentum(d, u, buf, momentum: float, dampening: float, nesterov: bool, lr: float, tmp, tmp2) -> None:
    """``buf = momentum * buf + (1 - dampening) * u`` (``+ u`` when ``dampening`` is 0);
    ``d += -lr * (u + momentum * buf if nesterov else buf)``. ``u`` may be ``tmp`` (when not ``nesterov``)."""
    same = u is tmp
    for d, u, buf, tmp, tmp2 in _blocks(d, u, buf, tmp, tmp2):
        _momentum_block(d, tmp if same else u, buf, momentum, dampening, nesterov, lr, tmp, tmp2)


def _momentum_block(d, u, buf, momentum: float, dampening: float, nesterov: bool, lr: float, tmp, tmp2) -> None:
    T = d.dtype.type
    buf *= T(momentum)
    if dampening == 0:
        buf += u
    else:                                  # nesterov is off here (SGD refuses the mix), so u may be scaled in place
        xp.multiply(u, T(1.0 - dampening), out=tmp)
        buf += tmp
    if nesterov:                           # u + momentum * buf
        t = tmp2 if u is tmp else tmp
        xp.multiply(buf, T(momentum), out=t)
        xp.add(u, t, out=tmp)
        buf = tmp
    add_scaled(d, buf, -lr, tmp)
