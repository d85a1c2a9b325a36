"""Multi-threaded elementwise activation kernels (numba) for float32 arrays, flat and contiguous.

Exact GELU, x * Phi(x) with Phi(x) = (1 + erf(x / sqrt(2))) / 2: one pass forward (which keeps Phi for the
backward, or only the output under no_grad) and one pass backward. erf is the Abramowitz-Stegun 7.1.26 form
that the NumPy path of ``lucidnet.ops.activation`` uses for float32 (absolute error < 1.5e-7); that path is
their reference. The exponentials are :func:`exp_neg`, a polynomial with the power of two built from its
bits, so that the loops compile to vector instructions (numba's ``math.exp`` is one libm call per
element without Intel's SVML).

Hardtanh (ReLU6): the clipped output and the mask of the inputs strictly inside the bounds in one pass, and
the masked gradient in one pass (the NumPy path makes four passes forward).

Softmax over the rows of a (R, S) array, in place (the attention weights): max, exponentials and sum, scale;
a row whose every entry is -inf becomes zeros.

Dropout: the keep mask drawn and applied in one pass, and the masked gradient in one pass. Element i is
kept when the high 32 bits of SplitMix64's output for the counter ``key + i`` are at or above ``p * 2^32``;
``key`` is one draw from lucidnet's generator per call (so ``manual_seed`` repeats a run), and every
element's bits depend on its index alone, so threads cannot change them.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

from .launch import parallel

_FAST = {"afn", "arcp", "contract", "reassoc"}  # not nnan/ninf: NaN and inf inputs keep their meaning
_RSQRT2 = np.float32(0.7071067811865476)    # 1 / sqrt(2)
_RSQRT2PI = np.float32(0.3989422804014327)  # 1 / sqrt(2 pi)
_LOG2E = np.float32(1.4426950408889634)
_LN2_HI = np.float32(0.693359375)      # ln 2 = _LN2_HI + _LN2_LO (Cody-Waite: n * _LN2_HI is exact)
_LN2_LO = np.float32(-2.12194440e-4)


@intrinsic
def _f32_from_bits(typingctx, bits):
    """The float32 whose bit pattern is the int32 ``bits`` (a bitcast, which vectorises)."""
    if bits != types.int32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


@njit(inline="always", fastmath=_FAST)
def exp_neg(y):  # pragma: no cover - compiled
    """exp(-y) for float32 y >= 0 (relative error < 1e-7; 0 beyond y = 88, NaN for NaN), without a libm call.

    exp(-y) = 2^-n * exp(r) with n = round(y / ln 2) and r = n ln 2 - y in [-0.35, 0.35]; exp(r) by its
    Taylor polynomial of degree 7, 2^-n (n <= 127) as the product of two powers of two written as bits (exact,
    so the result is that of one rounding of p * 2^-n)."""
    big = y > np.float32(88.0)
    if big:
        y = np.float32(0)
    n = np.int32(y * _LOG2E + np.float32(0.5))
    fn = np.float32(n)
    r = (fn * _LN2_HI - y) + fn * _LN2_LO
    p = np.float32(1 / 5040)
    p = p * r + np.float32(1 / 720)
    p = p * r + np.float32(1 / 120)
    p = p * r + np.float32(1 / 24)
    p = p * r + np.float32(1 / 6)
    p = p * r + np.float32(0.5)
    p = p * r + np.float32(1)
    p = p * r + np.float32(1)
    h = n >> np.int32(1)                 # 2^-n = 2^-h * 2^-(n - h), each a normal float32
    s = _f32_from_bits(np.int32((np.int32(127) - h) << np.int32(23)))
    s *= _f32_from_bits(np.int32((np.int32(127) - (n - h)) << np.int32(23)))
    return np.float32(0) if big else p * s


@njit(inline="always", fastmath=_FAST)
def _erf(x):  # pragma: no cover - compiled
    # x: float32; the polynomial of ops.activation._erf, in float32
    ax = abs(x)
    t = np.float32(1) / (np.float32(1) + np.float32(0.3275911) * ax)
    y = np.float32(1) - (((((np.float32(1.061405429) * t - np.float32(1.453152027)) * t) + np.float32(1.421413741))
                          * t - np.float32(0.284496736)) * t + np.float32(0.254829592)) * t * exp_neg(ax * ax)
    return y if x >= np.float32(0) else -y


@parallel(min_size=16384, fastmath=_FAST)
def gelu_forward(x, out, cdf):  # pragma: no cover - compiled
    # cdf = Phi(x), out = x * Phi(x); all (n,)
    half = np.float32(0.5)
    for i in prange(x.shape[0]):
        v = x[i]
        c = half * (np.float32(1) + _erf(v * _RSQRT2))
        cdf[i] = c
        out[i] = v * c


@parallel(min_size=16384, fastmath=_FAST)
def gelu(x, out):  # pragma: no cover - compiled
    # out = x * Phi(x), nothing kept for a backward; all (n,)
    half = np.float32(0.5)
    for i in prange(x.shape[0]):
        v = x[i]
        out[i] = v * (half * (np.float32(1) + _erf(v * _RSQRT2)))


@parallel(min_size=16384, fastmath=_FAST)
def gelu_backward(g, x, cdf, out):  # pragma: no cover - compiled
    # out = g * (Phi(x) + x * phi(x)); all (n,)
    half = np.float32(0.5)
    for i in prange(x.shape[0]):
        v = x[i]
        out[i] = g[i] * (cdf[i] + v * exp_neg(half * v * v) * _RSQRT2PI)


@parallel()
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


@parallel()
def mask_grad(g, inside, out):  # pragma: no cover - compiled
    # out = g * inside (a NaN gradient outside stays NaN, as with the NumPy product); all (n,)
    for i in prange(g.shape[0]):
        out[i] = g[i] * np.float32(inside[i])


@parallel()
def positive_grad(g, y, out):  # pragma: no cover - compiled
    # out = g * (y > 0): ReLU's backward from its output (a NaN gradient stays NaN, as with the NumPy product)
    for i in prange(g.shape[0]):
        out[i] = g[i] * np.float32(y[i] > 0)


@parallel(min_size=16384, fastmath=_FAST)
def softmax_rows(s):  # pragma: no cover - compiled
    # each row of s (R, S) replaced by its softmax; a row of -inf only becomes zeros
    r, n = s.shape
    for i in prange(r):
        row = s[i]
        m = row[0]
        for j in range(1, n):
            m = max(m, row[j])
        if m == -np.inf:
            for j in range(n):
                row[j] = np.float32(0)
            continue
        total = np.float32(0)
        for j in range(n):
            e = exp_neg(m - row[j])
            row[j] = e
            total += e
        inv = np.float32(1) / total
        for j in range(n):
            row[j] *= inv


@njit(inline="always")
def _splitmix64(z):  # pragma: no cover - compiled
    # SplitMix64's output function (uint64 arithmetic wraps)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@parallel(min_size=32768)
def dropout_forward(x, key, threshold, scale, out, keep):  # pragma: no cover - compiled
    # keep[i] = bits(key + i) >= threshold; out[i] = x[i] * (scale or 0); all (n,); key, threshold uint64
    golden = np.uint64(0x9E3779B97F4A7C15)
    zero = np.float32(0)
    for i in prange(x.shape[0]):
        bits = _splitmix64(key + np.uint64(i) * golden) >> np.uint64(32)
        k = bits >= threshold
        keep[i] = k
        out[i] = x[i] * (scale if k else zero)


@parallel()
def dropout_backward(g, keep, scale, out):  # pragma: no cover - compiled
    # out[i] = g[i] * (scale or 0) (a NaN gradient where dropped stays NaN, as with a float mask)
    zero = np.float32(0)
    for i in prange(g.shape[0]):
        out[i] = g[i] * (scale if keep[i] else zero)
