"""The CTC loss's forward-backward in compiled loops (numba), parallel over the samples of a batch.

Signatures, arrays and results as ``ctc_numpy.py`` (its NumPy twin, the reference). Each sample walks only
its own 2 * tl + 1 states and il time steps; the backward keeps two rows of beta and forms the gradient of
each time step as soon as its beta is known, so it allocates two short rows per sample. Log-space sums are
``max + log1p(exp(-|a - b|))``, with -inf handled first (no NaN from -inf - -inf).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .launch import parallel


@njit(inline="always", cache=True)
def _lae(a, b):  # pragma: no cover - compiled
    """log(exp(a) + exp(b))."""
    if a == -np.inf:
        return b
    if b == -np.inf:
        return a
    if a > b:
        return a + math.log1p(math.exp(b - a))
    return b + math.log1p(math.exp(a - b))


@njit(inline="always", cache=True)
def _label(targets, b, s, blank):  # pragma: no cover - compiled
    return blank if s % 2 == 0 else targets[b, s // 2]


@parallel(min_size=4096, error_model="numpy")
def forward(lp, targets, il, tl, blank, alpha, nll):  # pragma: no cover - compiled
    n = lp.shape[1]
    neg = -np.inf
    for b in prange(n):
        tb, lb = il[b], tl[b]
        s2 = 2 * lb + 1
        if tb == 0:
            nll[b] = 0.0 if lb == 0 else np.inf
            continue
        for s in range(s2):
            alpha[b, 0, s] = neg
        alpha[b, 0, 0] = lp[0, b, blank]
        if lb > 0:
            alpha[b, 0, 1] = lp[0, b, targets[b, 0]]
        for t in range(1, tb):
            for s in range(s2):
                a = alpha[b, t - 1, s]
                if s > 0:
                    a = _lae(a, alpha[b, t - 1, s - 1])
                if s > 1 and s % 2 == 1 and targets[b, s // 2] != targets[b, s // 2 - 1]:
                    a = _lae(a, alpha[b, t - 1, s - 2])
                alpha[b, t, s] = a + lp[t, b, _label(targets, b, s, blank)]
        ll = alpha[b, tb - 1, s2 - 1]
        if lb > 0:
            ll = _lae(ll, alpha[b, tb - 1, s2 - 2])
        nll[b] = -ll


@parallel(min_size=4096, error_model="numpy")
def backward(lp, targets, il, tl, blank, alpha, nll, gr, zero_infinity, grad):  # pragma: no cover - compiled
    t_, n, c_ = lp.shape
    neg = -np.inf
    for b in prange(n):
        tb, lb = il[b], tl[b]
        s2 = 2 * lb + 1
        for t in range(tb, t_):
            for c in range(c_):
                grad[t, b, c] = 0
        if tb == 0:
            continue
        if np.isinf(nll[b]):
            fill = 0.0 if zero_infinity else np.nan
            for t in range(tb):
                for c in range(c_):
                    grad[t, b, c] = fill
            continue
        g, ll = gr[b], nll[b]
        cur = np.empty(s2, lp.dtype)
        nxt = np.empty(s2, lp.dtype)
        for t in range(tb - 1, -1, -1):
            for s in range(s2):
                e = lp[t, b, _label(targets, b, s, blank)]
                if t == tb - 1:
                    cur[s] = e if s >= s2 - 2 else neg
                    continue
                v = nxt[s]
                if s < s2 - 1:
                    v = _lae(v, nxt[s + 1])
                if s < s2 - 2 and s % 2 == 1 and targets[b, s // 2 + 1] != targets[b, s // 2]:
                    v = _lae(v, nxt[s + 2])
                cur[s] = v + e
            for c in range(c_):
                grad[t, b, c] = math.exp(lp[t, b, c])
            for s in range(s2):
                lab = _label(targets, b, s, blank)
                v = alpha[b, t, s] + cur[s]
                if v > neg:
                    grad[t, b, lab] -= math.exp(v - lp[t, b, lab] + ll)
            for c in range(c_):
                grad[t, b, c] *= g
            cur, nxt = nxt, cur
