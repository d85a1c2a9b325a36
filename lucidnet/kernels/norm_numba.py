"""Multi-threaded fused batch-norm and layer-norm kernels (numba) for float32 activations laid out as rows.

That is the layout of a convolution's output (channels last: M = N*H*W rows of C channels) and of a
BatchNorm1d input (N, C). The training forward reads the input twice (statistics, then the output) and the
backward reads it and the gradient twice; the NumPy path in ``norm.py`` makes about five passes each way
and is the reference these are tested against.

Statistics are summed per thread over a fixed block of rows (so results do not depend on scheduling):
in float32 over runs of 32 rows (full vector width), each run's sums added into float64 totals; after
subtracting a per-channel shift (the first row), which keeps the one-pass variance ``E[d^2] - E[d]^2``
free of cancellation.

Layer norm normalises each row of (R, D) on its own: one pass forward (mean and the centred variance of a
row while it is in cache, then the row out), one pass backward that also sums the weight's and bias's
gradients per thread over a fixed block of rows; the NumPy path of ``lucidnet.fused.norm`` is their
reference.
"""
from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange

from .launch import parallel

_FAST = {"arcp", "contract", "reassoc"}  # row sums in vector lanes; not nnan/ninf: NaN and inf keep their meaning


@njit(inline="always")
def _block(partial, t, m):  # pragma: no cover - compiled
    # thread t's fixed block of the m rows, (start, stop); its partial sums partial[t] zeroed
    nt = partial.shape[0]
    step = (m + nt - 1) // nt
    partial[t, :, :] = 0.0
    return t * step, min(m, (t + 1) * step)


_RUN = 32  # rows summed in float32 before their sums go into the float64 totals


@njit(inline="always")
def _flush(s, q, s32, q32):  # pragma: no cover - compiled
    # a run's float32 sums added into the float64 totals, and zeroed for the next run
    for j in range(s.shape[0]):
        s[j] += s32[j]
        q[j] += q32[j]
        s32[j] = 0
        q32[j] = 0


@parallel()
def _sums(x, shift, partial):  # pragma: no cover - compiled
    # partial[t, 0, c] = sum of (x - shift) over thread t's rows, partial[t, 1, c] = sum of its squares
    m, c = x.shape
    for t in prange(partial.shape[0]):
        s, q = partial[t, 0], partial[t, 1]
        start, stop = _block(partial, t, m)
        s32, q32 = np.zeros(c, np.float32), np.zeros(c, np.float32)
        for i0 in range(start, stop, _RUN):
            for i in range(i0, min(stop, i0 + _RUN)):
                row = x[i]
                for j in range(c):
                    d = row[j] - shift[j]
                    s32[j] += d
                    q32[j] += d * d
            _flush(s, q, s32, q32)


@parallel()
def _affine(x, a, b, out, lo, hi, inside, clip):  # pragma: no cover - compiled
    # out = x * a + b, per column; with clip, out clipped to [lo, hi] and inside = lo < out < hi (NaN stays)
    m, c = x.shape
    for i in prange(m):
        row, dst = x[i], out[i]
        if clip:
            ins = inside[i]
            for j in range(c):
                v = row[j] * a[j] + b[j]
                ins[j] = (v > lo) and (v < hi)
                if v < lo:
                    v = lo
                elif v > hi:
                    v = hi
                dst[j] = v
        else:
            for j in range(c):
                dst[j] = row[j] * a[j] + b[j]


@parallel()
def _grad_sums(g, inside, masked, x, mean, partial):  # pragma: no cover - compiled
    # partial[t, 0, c] = sum of g, partial[t, 1, c] = sum of g * (x - mean), over thread t's rows; g masked by
    # inside (g * inside, an activation's gradient folded in) when masked
    m, c = x.shape
    for t in prange(partial.shape[0]):
        s, d = partial[t, 0], partial[t, 1]
        start, stop = _block(partial, t, m)
        s32, d32 = np.zeros(c, np.float32), np.zeros(c, np.float32)
        for i0 in range(start, stop, _RUN):
            for i in range(i0, min(stop, i0 + _RUN)):
                grow, xrow = g[i], x[i]
                if masked:
                    ins = inside[i]
                    for j in range(c):
                        gv = grow[j] * np.float32(ins[j])
                        s32[j] += gv
                        d32[j] += gv * (xrow[j] - mean[j])
                else:
                    for j in range(c):
                        gv = grow[j]
                        s32[j] += gv
                        d32[j] += gv * (xrow[j] - mean[j])
            _flush(s, d, s32, d32)


@parallel()
def _grad_input(g, inside, masked, x, mean, k, c0, a, out):  # pragma: no cover - compiled
    # out = (g - c0 - (x - mean) * k) * a, per column (g * inside for g when masked)
    m, c = x.shape
    for i in prange(m):
        grow, xrow, dst = g[i], x[i], out[i]
        if masked:
            ins = inside[i]
            for j in range(c):
                dst[j] = (grow[j] * np.float32(ins[j]) - c0[j] - (xrow[j] - mean[j]) * k[j]) * a[j]
        else:
            for j in range(c):
                dst[j] = (grow[j] - c0[j] - (xrow[j] - mean[j]) * k[j]) * a[j]


def _partial(c: int) -> np.ndarray:
    return np.empty((get_num_threads(), 2, c), dtype=np.float64)


def moments(x2):
    """(M, C) float32 -> (mean, biased variance), float32 (C,) each."""
    m = x2.shape[0]
    shift = x2[0].copy()
    partial = _partial(x2.shape[1])
    _sums(x2, shift, partial)
    s, q = partial[:, 0].sum(axis=0), partial[:, 1].sum(axis=0)  # (C,) float64: tiny
    mean = shift + s / m
    var = np.maximum(q / m - (s / m) ** 2, 0.0)
    return mean.astype(np.float32), var.astype(np.float32)


_NO_MASK = np.ones((1, 1), dtype=np.bool_)


def affine(x2, a, b, clip=None):
    """A new (M, C) array ``x2 * a + b``; with ``clip=(lo, hi)`` (float32) that clipped, and the bool mask of
    the entries strictly inside: -> (out, inside or None)."""
    out = np.empty_like(x2)
    if clip is None:
        _affine(x2, a, b, out, np.float32(0), np.float32(0), _NO_MASK, False)
        return out, None
    inside = np.empty(x2.shape, dtype=np.bool_)
    _affine(x2, a, b, out, clip[0], clip[1], inside, True)
    return out, inside


def grad_sums(g2, x2, mean, inside=None):
    """(sum of g, sum of g * (x - mean)) per column, float32 (C,) each; g masked by ``inside`` if given."""
    partial = _partial(x2.shape[1])
    _grad_sums(g2, _NO_MASK if inside is None else inside, inside is not None, x2, mean, partial)
    return partial[:, 0].sum(axis=0).astype(np.float32), partial[:, 1].sum(axis=0).astype(np.float32)


def grad_input(g2, x2, mean, k, c0, a, inside=None):
    """A new (M, C) array ``(g - c0 - (x - mean) * k) * a``; g masked by ``inside`` if given."""
    out = np.empty_like(x2)
    _grad_input(g2, _NO_MASK if inside is None else inside, inside is not None, x2, mean, k, c0, a, out)
    return out


@parallel(fastmath=_FAST)
def _ln_rows(x, w, b, eps, out, xhat, invstd, save):  # pragma: no cover - compiled
    # per row: xhat = (x - mean) / sqrt(var + eps), out = xhat * w + b; xhat kept when save
    r, d = x.shape
    for i in prange(r):
        row, dst = x[i], out[i]
        s = np.float32(0)
        for j in range(d):
            s += row[j]
        mean = s / np.float32(d)
        q = np.float32(0)
        for j in range(d):
            c = row[j] - mean
            q += c * c
        rs = np.float32(1) / np.sqrt(q / np.float32(d) + eps)
        invstd[i] = rs
        if save:
            xh = xhat[i]
            for j in range(d):
                v = (row[j] - mean) * rs
                xh[j] = v
                dst[j] = v * w[j] + b[j]
        else:
            for j in range(d):
                dst[j] = (row[j] - mean) * rs * w[j] + b[j]


@parallel(fastmath=_FAST)
def _ln_grad_rows(g, xhat, invstd, w, gx, partial):  # pragma: no cover - compiled
    # gx = invstd * (g w - mean(g w) - xhat * mean(g w xhat)) per row; partial[t, 0] = sum of g * xhat and
    # partial[t, 1] = sum of g over thread t's rows, per column
    r, d = g.shape
    for t in prange(partial.shape[0]):
        sw, sb = partial[t, 0], partial[t, 1]
        start, stop = _block(partial, t, r)
        for i in range(start, stop):
            grow, xrow, dst = g[i], xhat[i], gx[i]
            m1 = np.float32(0)
            m2 = np.float32(0)
            for j in range(d):
                gh = grow[j] * w[j]
                m1 += gh
                m2 += gh * xrow[j]
            m1 /= np.float32(d)
            m2 /= np.float32(d)
            rs = invstd[i]
            for j in range(d):
                dst[j] = (grow[j] * w[j] - m1 - xrow[j] * m2) * rs
                sw[j] += np.float64(grow[j] * xrow[j])
                sb[j] += np.float64(grow[j])


def layer_norm(x2, w, b, eps: float, save: bool):
    """(R, D) float32 rows -> (out, xhat or None, invstd (R,)); ``w`` and ``b`` (D,) (ones and zeros for none)."""
    out = np.empty_like(x2)
    xhat = np.empty_like(x2) if save else out[:0]
    invstd = np.empty(x2.shape[0], dtype=np.float32)
    _ln_rows(x2, w, b, np.float32(eps), out, xhat, invstd, save)
    return out, (xhat if save else None), invstd


def layer_norm_backward(g2, xhat, invstd, w):
    """-> (gx (R, D), sum of g * xhat (D,), sum of g (D,)), float32."""
    gx = np.empty_like(g2)
    partial = _partial(g2.shape[1])
    _ln_grad_rows(g2, xhat, invstd, w, gx, partial)
    return gx, partial[:, 0].sum(axis=0).astype(np.float32), partial[:, 1].sum(axis=0).astype(np.float32)
