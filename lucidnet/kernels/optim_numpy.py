"""Optimizer updates in NumPy passes: the reference of ``optim_numba`` (same names, the same arithmetic in
the same order, so both give the same bits) and the path for float64, non-contiguous parameters, AMSGrad,
or no numba. Scalars are Python floats, cast to the parameters' dtype here; ``tmp`` is a scratch array of
the parameters' shape."""
from __future__ import annotations

from ..backend import xp

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
