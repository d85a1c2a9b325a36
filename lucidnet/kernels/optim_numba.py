"""Optimizer updates in compiled passes (numba): Adam's in three instead of twelve NumPy passes, SGD's
``p += -lr * u`` in one instead of two.

Each loop stores into one array, so LLVM vectorises it (with several stored arrays it has to prove at
run time that they do not overlap, gives up and stays scalar); ``error_model="numpy"`` drops the
division-by-zero branch. No fast-math: the operations and their order are those of the NumPy path
(PyTorch's: ``lerp``, ``mul``/``addcmul``, ``sqrt``/``div``/``add``, ``addcdiv``), so both give the same
bits. The NumPy twin is ``optim_numpy``.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

_OPTS = dict(cache=True, nogil=True, error_model="numpy")


@njit(inline="always", error_model="numpy")
def _adam_span(d, u, m, v, lo, hi, w1, b2, c2, nstep, bc2s, eps):  # pragma: no cover - compiled
    # elements [lo, hi): m = lerp(m, u, w1); v = b2 * v + (c2 * u) * u; d += nstep * (m / (sqrt(v) / bc2s + eps))
    if w1 < np.float32(0.5):
        for i in range(lo, hi):
            m[i] = m[i] + (u[i] - m[i]) * w1
    else:
        w0 = np.float32(1.0) - w1
        for i in range(lo, hi):
            m[i] = u[i] - (u[i] - m[i]) * w0
    for i in range(lo, hi):
        v[i] = v[i] * b2 + (u[i] * c2) * u[i]
    for i in range(lo, hi):
        d[i] = d[i] + (m[i] / (np.sqrt(v[i]) / bc2s + eps)) * nstep


@njit(**_OPTS)
def _adam_serial(d, u, m, v, w1, b2, c2, nstep, bc2s, eps):  # pragma: no cover - compiled
    _adam_span(d, u, m, v, 0, d.shape[0], w1, b2, c2, nstep, bc2s, eps)


_CHUNK = 1 << 14  # elements per parallel chunk: the three passes over a chunk stay in cache


@njit(parallel=True, cache=True, error_model="numpy")
def _adam_parallel(d, u, m, v, w1, b2, c2, nstep, bc2s, eps):  # pragma: no cover - compiled
    n = d.shape[0]
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        _adam_span(d, u, m, v, c * _CHUNK, min(n, (c + 1) * _CHUNK), w1, b2, c2, nstep, bc2s, eps)


def adam_update(d, u, m, v, w1, b2, c2, nstep, bc2s, eps) -> None:
    """1-D float32 arrays: ``m = lerp(m, u, w1)``; ``v = b2 * v + (c2 * u) * u``;
    ``d += nstep * (m / (sqrt(v) / bc2s + eps))``. A large parameter (an embedding table) is updated in chunks
    on numba's threads, each chunk's three passes while it is in cache; the bits are the same."""
    (_adam_parallel if d.shape[0] >= 4 * _CHUNK else _adam_serial)(d, u, m, v, w1, b2, c2, nstep, bc2s, eps)


@njit(**_OPTS)
def add_scaled(d, u, a):  # pragma: no cover - compiled
    """1-D float32 arrays: ``d += u * a``."""
    for i in range(d.shape[0]):
        d[i] = d[i] + u[i] * a
