"""Multi-threaded depthwise-convolution kernels (numba), on NHWC arrays: forward, input and weight gradient.

Each has a NumPy twin of the same signature in ``depthwise_numpy.py`` (the reference). x (N, H, W, C),
weight (kh, kw, C), output (N, ho, wo, C), all C-contiguous; geometry as in ``conv_numba``. The loops run
in parallel over (sample, output row) pairs (or input rows for the input gradient), so no two threads write
the same memory; the innermost loop runs over channels, contiguous in NHWC, which LLVM vectorizes.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def _forward(x, w, out, sh, sw, pt, pl, dh, dw):  # pragma: no cover - compiled
    n_, h_, w_, c_ = x.shape
    kh, kw = w.shape[0], w.shape[1]
    ho, wo = out.shape[1], out.shape[2]
    for nh in prange(n_ * ho):
        n = nh // ho
        oh = nh - n * ho
        for ow in range(wo):
            dst = out[n, oh, ow]
            for c in range(c_):
                dst[c] = 0
            for i in range(kh):
                h = oh * sh - pt + i * dh
                if h < 0 or h >= h_:
                    continue
                for j in range(kw):
                    ww = ow * sw - pl + j * dw
                    if ww < 0 or ww >= w_:
                        continue
                    src = x[n, h, ww]
                    tap = w[i, j]
                    for c in range(c_):
                        dst[c] += src[c] * tap[c]


@njit(parallel=True, cache=True)
def _backward_input(g, w, gx, sh, sw, pt, pl, dh, dw):  # pragma: no cover - compiled
    # gather: gx[n, h, x] = sum over the taps (i, j) whose output pixel (oh, ow) reads (h, x)
    n_, ho, wo, c_ = g.shape
    h_, w_ = gx.shape[1], gx.shape[2]
    kh, kw = w.shape[0], w.shape[1]
    for nh in prange(n_ * h_):
        n = nh // h_
        h = nh - n * h_
        for x in range(w_):
            dst = gx[n, h, x]
            for c in range(c_):
                dst[c] = 0
            for i in range(kh):
                t = h + pt - i * dh
                if t < 0 or t % sh != 0:
                    continue
                oh = t // sh
                if oh >= ho:
                    continue
                for j in range(kw):
                    u = x + pl - j * dw
                    if u < 0 or u % sw != 0:
                        continue
                    ow = u // sw
                    if ow >= wo:
                        continue
                    src = g[n, oh, ow]
                    tap = w[i, j]
                    for c in range(c_):
                        dst[c] += src[c] * tap[c]


@njit(parallel=True, cache=True)
def _backward_weight(g, x, partial, sh, sw, pt, pl, dh, dw):  # pragma: no cover - compiled
    # partial[r, i, j, c] = the weight gradient from output row r = (n, oh) alone (summed by the caller)
    n_, h_, w_, c_ = x.shape
    ho, wo = g.shape[1], g.shape[2]
    kh, kw = partial.shape[1], partial.shape[2]
    for nh in prange(n_ * ho):
        n = nh // ho
        oh = nh - n * ho
        acc = partial[nh]
        for i in range(kh):
            for j in range(kw):
                a = acc[i, j]
                for c in range(c_):
                    a[c] = 0
        for ow in range(wo):
            src = g[n, oh, ow]
            for i in range(kh):
                h = oh * sh - pt + i * dh
                if h < 0 or h >= h_:
                    continue
                for j in range(kw):
                    ww = ow * sw - pl + j * dw
                    if ww < 0 or ww >= w_:
                        continue
                    xv = x[n, h, ww]
                    a = acc[i, j]
                    for c in range(c_):
                        a[c] += src[c] * xv[c]


def forward(x, w, out, sh, sw, pt, pl, dh, dw):
    _forward(x, w, out, sh, sw, pt, pl, dh, dw)


def backward_input(g, w, gx, sh, sw, pt, pl, dh, dw):
    _backward_input(g, w, gx, sh, sw, pt, pl, dh, dw)


def backward_weight(g, x, gw, sh, sw, pt, pl, dh, dw):
    partial = np.empty((g.shape[0] * g.shape[1],) + gw.shape, dtype=gw.dtype)
    _backward_weight(g, x, partial, sh, sw, pt, pl, dh, dw)
    partial.sum(axis=0, out=gw)
