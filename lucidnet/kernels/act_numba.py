"""Multi-threaded elementwise activation kernels (numba) for float32 arrays, flat and contiguous.

Exact GELU, x * Phi(x) with Phi(x) = (1 + erf(x / sqrt(2))) / 2: one pass forward (which keeps Phi for the
backward) and one pass backward. erf is the Abramowitz-Stegun 7.1.26 form that the NumPy path of
``lucidnet.ops.activation`` uses for float32 (absolute error < 1.5e-7); that path is their reference.

Hardtanh (ReLU6): the clipped output and the mask of the inputs strictly inside the bounds in one pass, and
the masked gradient in one pass (the NumPy path makes four passes forward).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

_FAST = {"afn", "arcp", "contract", "reassoc"}  # not nnan/ninf: NaN and inf inputs keep their meaning
_RSQRT2 = np.float32(0.7071067811865476)    # 1 / sqrt(2)
_RSQRT2PI = np.float32(0.3989422804014327)  # 1 / sqrt(2 pi)


@njit(inline="always", fastmath=_FAST)
def _erf(x):  # pragma: no cover - compiled
    # x: float32; the polynomial of ops.activation._erf, in float32
    ax = abs(x)
    t = np.float32(1) / (np.float32(1) + np.float32(0.3275911) * ax)
    y = np.float32(1) - (((((np.float32(1.061405429) * t - np.float32(1.453152027)) * t) + np.float32(1.421413741))
                          * t - np.float32(0.284496736)) * t + np.float32(0.254829592)) * t * math.exp(-ax * ax)
    return math.copysign(y, x)


@njit(parallel=True, cache=True, fastmath=_FAST)
def gelu_forward(x, out, cdf):  # pragma: no cover - compiled
    # cdf = Phi(x), out = x * Phi(x); all (n,)
    half = np.float32(0.5)
    for i in prange(x.shape[0]):
        v = x[i]
        c = half * (np.float32(1) + _erf(v * _RSQRT2))
        cdf[i] = c
        out[i] = v * c


@njit(parallel=True, cache=True, fastmath=_FAST)
def gelu_backward(g, x, cdf, out):  # pragma: no cover - compiled
    # out = g * (Phi(x) + x * phi(x)); all (n,)
    half = np.float32(0.5)
    for i in prange(x.shape[0]):
        v = x[i]
        out[i] = g[i] * (cdf[i] + v * math.exp(-half * v * v) * _RSQRT2PI)


@njit(parallel=True, cache=True)
def clip_forward(x, lo, hi, out, inside):  # pragma: no cover - compiled
    # out = x clipped to [lo, hi] (NaN stays NaN), inside = lo < x < hi; all (n,)
    for i in prange(x.shape[0]):
        v = x[i]
        inside[i] = (v > lo) and (v < hi)
        r = v
        if v < lo:
            r = lo
        elif v > hi:
            r = hi
        out[i] = r


@njit(parallel=True, cache=True)
def mask_grad(g, inside, out):  # pragma: no cover - compiled
    # out = g * inside (a NaN gradient outside stays NaN, as with the NumPy product); all (n,)
    for i in prange(g.shape[0]):
        out[i] = g[i] * np.float32(inside[i])
