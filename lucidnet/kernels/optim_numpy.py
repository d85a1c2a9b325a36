"""Optimizer updates in NumPy passes: the reference of ``optim_numba`` (same names, the same arithmetic in
the same order, so both give the same bits) and the path for float64, non-contiguous parameters, AMSGrad,
or no numba. Where PyTorch adds a scaled tensor (``add_(t, alpha=a)``: SGD's steps) it makes one fused
multiply-add, rounded once; :func:`fma` gives that rounding for float32 (and float16) arrays. Scalars are
Python floats, cast to the parameters' dtype here; ``tmp`` is a scratch array of the parameters' shape.

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

__all__ = ["adam_update", "add_scaled", "fma", "lerp_", "sgd_momentum"]


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


def fma(x, a, y, out) -> None:
    """``out = x * a + y`` rounded once, a fused multiply-add (PyTorch's ``y.add(x, alpha=a)``); ``a`` a Python
    float, cast to the arrays' dtype first. ``out`` may be ``x`` or ``y``.

    float32 and float16: exact. The product is exact in float64 and the sum is rounded there to odd (to nearest,
    then one ulp towards the exact sum where that was inexact and landed on an even significand, the exact error
    coming from Knuth's two-sum), so the final rounding to the arrays' precision rounds the exact value once
    (Boldo & Melquiond, 2008). float64 rounds twice (the product, then the sum).

    >>> import numpy as np
    >>> x, y, out = np.float32([1 + 2**-12]), np.float32([-1.0]), np.empty(1, np.float32)
    >>> fma(x, 1 + 2**-12, y, out); float(out[0]) == 2**-11 + 2**-24      # x * x - 1 exactly
    True
    """
    T = out.dtype.type
    if out.dtype.itemsize >= 8:
        xp.add(xp.multiply(x, T(a)), y, out=out)
        return
    for out, x, y in _blocks(out, x, y):       # float64 temporaries of one block at a time
        _fma_block(x, xp.float64(T(a)), y, out)


def _fma_block(x, a, y, out) -> None:
    f64 = xp.float64
    p = x.astype(f64)
    p *= a
    y = y.astype(f64)
    s = p + y
    t = s - p                                   # two-sum: e = (p + y) - s exactly
    e = (p - (s - t)) + (y - t)
    fix = (e != 0) & xp.isfinite(e) & ((s.view(xp.int64) & 1) == 0)
    if fix.any():
        s[fix] = xp.nextafter(s[fix], xp.copysign(f64(xp.inf), e[fix]))
    out[...] = s


def add_scaled(d, u, a: float) -> None:
    """``d = fma(u, a, d)``: PyTorch's ``d.add_(u, alpha=a)``."""
    fma(u, a, d, out=d)


def sgd_momentum(d, u, buf, momentum: float, dampening: float, nesterov: bool, lr: float, tmp) -> None:
    """``buf = momentum * buf + (1 - dampening) * u`` (``+ u`` when ``dampening`` is 0);
    ``d += -lr * (u + momentum * buf if nesterov else buf)``, each ``+ a * t`` one :func:`fma`, as in PyTorch.
    ``u`` may be ``tmp``."""
    same = u is tmp
    for d, u, buf, tmp in _blocks(d, u, buf, tmp):
        _momentum_block(d, tmp if same else u, buf, momentum, dampening, nesterov, lr, tmp)


def _momentum_block(d, u, buf, momentum: float, dampening: float, nesterov: bool, lr: float, tmp) -> None:
    buf *= d.dtype.type(momentum)
    if dampening == 0:
        buf += u
    else:
        fma(u, 1.0 - dampening, buf, out=buf)
    if nesterov:                           # u + momentum * buf
        fma(buf, momentum, u, out=tmp)
        buf = tmp
    add_scaled(d, buf, -lr)
