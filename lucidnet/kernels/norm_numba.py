"""Multi-threaded fused batch-norm kernels (numba) for float32 activations laid out as rows (M, C).

That is the layout of a convolution's output (channels last: M = N*H*W rows of C channels) and of a
BatchNorm1d input (N, C). The training forward reads the input twice (statistics, then the output) and the
backward reads it and the gradient twice; the NumPy path in ``norm.py`` makes about five passes each way
and is the reference these are tested against.

Statistics are summed in float64, per thread over a fixed block of rows (so results do not depend on
scheduling), after subtracting a per-channel shift (the first row), which keeps the one-pass variance
``E[d^2] - E[d]^2`` free of cancellation.
"""
from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange


@njit(parallel=True, cache=True)
def _sums(x, shift, partial):  # pragma: no cover - compiled
    # partial[t, 0, c] = sum of (x - shift) over thread t's rows, partial[t, 1, c] = sum of its squares
    m, c = x.shape
    nt = partial.shape[0]
    step = (m + nt - 1) // nt
    for t in prange(nt):
        s = partial[t, 0]
        q = partial[t, 1]
        for j in range(c):
            s[j] = 0.0
            q[j] = 0.0
        for i in range(t * step, min(m, (t + 1) * step)):
            row = x[i]
            for j in range(c):
                d = np.float64(row[j]) - np.float64(shift[j])
                s[j] += d
                q[j] += d * d


@njit(parallel=True, cache=True)
def _affine(x, a, b, out):  # pragma: no cover - compiled
    # out = x * a + b, per column
    m, c = x.shape
    for i in prange(m):
        row, dst = x[i], out[i]
        for j in range(c):
            dst[j] = row[j] * a[j] + b[j]


@njit(parallel=True, cache=True)
def _grad_sums(g, x, mean, partial):  # pragma: no cover - compiled
    # partial[t, 0, c] = sum of g, partial[t, 1, c] = sum of g * (x - mean), over thread t's rows
    m, c = x.shape
    nt = partial.shape[0]
    step = (m + nt - 1) // nt
    for t in prange(nt):
        s = partial[t, 0]
        d = partial[t, 1]
        for j in range(c):
            s[j] = 0.0
            d[j] = 0.0
        for i in range(t * step, min(m, (t + 1) * step)):
            grow, xrow = g[i], x[i]
            for j in range(c):
                gv = np.float64(grow[j])
                s[j] += gv
                d[j] += gv * (np.float64(xrow[j]) - np.float64(mean[j]))


@njit(parallel=True, cache=True)
def _grad_input(g, x, mean, k, c0, a, out):  # pragma: no cover - compiled
    # out = (g - c0 - (x - mean) * k) * a, per column
    m, c = x.shape
    for i in prange(m):
        grow, xrow, dst = g[i], x[i], out[i]
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


def affine(x2, a, b):
    """A new (M, C) array ``x2 * a + b``."""
    out = np.empty_like(x2)
    _affine(x2, a, b, out)
    return out


def grad_sums(g2, x2, mean):
    """(sum of g, sum of g * (x - mean)) per column, float32 (C,) each."""
    partial = _partial(x2.shape[1])
    _grad_sums(g2, x2, mean, partial)
    return partial[:, 0].sum(axis=0).astype(np.float32), partial[:, 1].sum(axis=0).astype(np.float32)


def grad_input(g2, x2, mean, k, c0, a):
    """A new (M, C) array ``(g - c0 - (x - mean) * k) * a``."""
    out = np.empty_like(x2)
    _grad_input(g2, x2, mean, k, c0, a, out)
    return out
