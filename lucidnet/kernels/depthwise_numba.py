"""Multi-threaded depthwise-convolution kernels (numba), on NHWC arrays: forward, input and weight gradient.

Each has a NumPy twin of the same signature in ``depthwise_numpy.py`` (the reference). x (N, H, W, C),
weight (kh, kw, C), output (N, ho, wo, C), all C-contiguous; geometry as in ``conv_numba``. The loops run
in parallel over (sample, output row) pairs (or input rows for the input gradient), so no two threads write
the same memory; the innermost loop runs over channels, contiguous in NHWC, which LLVM vectorizes. A 3x3
kernel (undilated) away from the borders takes a path with the nine taps in one sum per channel (held in
a register, not read and written back per tap); its order of additions is the general loop's.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .launch import parallel


@njit(inline="always")
def _taps9(r0, r1, r2, c0, step, w, dst):  # pragma: no cover - compiled
    # dst[c] = sum over (a, b) of r_a[c0 + step * b, c] * w[a, b, c], in the order of the general loops
    ca, cb, cc = c0, c0 + step, c0 + 2 * step
    for c in range(dst.shape[0]):
        dst[c] = (r0[ca, c] * w[0, 0, c] + r0[cb, c] * w[0, 1, c] + r0[cc, c] * w[0, 2, c]
                  + r1[ca, c] * w[1, 0, c] + r1[cb, c] * w[1, 1, c] + r1[cc, c] * w[1, 2, c]
                  + r2[ca, c] * w[2, 0, c] + r2[cb, c] * w[2, 1, c] + r2[cc, c] * w[2, 2, c])


@parallel(min_size=8192)
def _forward(x, w, out, sh, sw, pt, pl, dh, dw):  # pragma: no cover - compiled
    n_, h_, w_, c_ = x.shape
    kh, kw = w.shape[0], w.shape[1]
    ho, wo = out.shape[1], out.shape[2]
    for nh in prange(n_ * ho):
        n = nh // ho
        oh = nh - n * ho
        h0 = oh * sh - pt
        rows9 = kh == 3 and kw == 3 and dh == 1 and dw == 1 and h0 >= 0 and h0 + 2 < h_
        for ow in range(wo):
            dst = out[n, oh, ow]
            w0 = ow * sw - pl
            if rows9 and w0 >= 0 and w0 + 2 < w_:
                _taps9(x[n, h0], x[n, h0 + 1], x[n, h0 + 2], w0, 1, w, dst)
                continue
            for c in range(c_):
                dst[c] = 0
            for i in range(kh):
                h = h0 + i * dh
                if h < 0 or h >= h_:
                    continue
                for j in range(kw):
                    ww = w0 + j * dw
                    if ww < 0 or ww >= w_:
                        continue
                    src = x[n, h, ww]
                    tap = w[i, j]
                    for c in range(c_):
                        dst[c] += src[c] * tap[c]


@parallel(min_size=8192)
def _backward_input(g, w, gx, sh, sw, pt, pl, dh, dw):  # pragma: no cover - compiled
    # gather: gx[n, h, x] = sum over the taps (i, j) whose output pixel (oh, ow) reads (h, x)
    n_, ho, wo, c_ = g.shape
    h_, w_ = gx.shape[1], gx.shape[2]
    kh, kw = w.shape[0], w.shape[1]
    for nh in prange(n_ * h_):
        n = nh // h_
        h = nh - n * h_
        # stride 1: tap (i, j) reads output pixel (h + pt - i, x + pl - j)
        t0 = h + pt
        rows9 = kh == 3 and kw == 3 and dh == 1 and dw == 1 and sh == 1 and sw == 1 and t0 - 2 >= 0 and t0 < ho
        for x in range(w_):
            dst = gx[n, h, x]
            u0 = x + pl
            if rows9 and u0 - 2 >= 0 and u0 < wo:
                _taps9(g[n, t0], g[n, t0 - 1], g[n, t0 - 2], u0, -1, w, dst)
                continue
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


@parallel(min_size=8192)
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
