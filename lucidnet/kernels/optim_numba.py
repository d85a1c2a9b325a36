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
from numba import njit

_OPTS = dict(cache=True, nogil=True, error_model="numpy")


@njit(**_OPTS)
def adam_update(d, u, m, v, w1, b2, c2, nstep, bc2s, eps):  # pragma: no cover - compiled
    """1-D float32 arrays: ``m = lerp(m, u, w1)``; ``v = b2 * v + (c2 * u) * u``;
    ``d += nstep * (m / (sqrt(v) / bc2s + eps))``."""
    n = d.shape[0]
    if w1 < np.float32(0.5):
        for i in range(n):
            m[i] = m[i] + (u[i] - m[i]) * w1
    else:
        w0 = np.float32(1.0) - w1
        for i in range(n):
            m[i] = u[i] - (u[i] - m[i]) * w0
    for i in range(n):
        v[i] = v[i] * b2 + (u[i] * c2) * u[i]
    for i in range(n):
        d[i] = d[i] + (m[i] / (np.sqrt(v[i]) / bc2s + eps)) * nstep


@njit(**_OPTS)
def add_scaled(d, u, a):  # pragma: no cover - compiled
    """1-D float32 arrays: ``d += u * a``."""
    for i in range(d.shape[0]):
        d[i] = d[i] + u[i] * a
