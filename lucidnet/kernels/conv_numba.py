"""Multi-threaded fused kernels (numba) for convolution and max-pooling, on NHWC arrays.

Each kernel has a NumPy twin of the same signature in ``conv_numpy.py`` (the reference the tests compare
against, and the path that runs when numba is missing). Arrays are C-contiguous; outputs are written into
the arrays passed in. Geometry: kernel (kh, kw), stride (sh, sw), top/left padding (pt, pl), dilation
(dh, dw); an input pixel ``h = oh * sh - pt + i * dh`` feeds output row ``oh`` through kernel tap ``i``.
Loops run in parallel over samples or (sample, row) pairs, so no two threads write the same memory.

The inner loops run over channels (contiguous in NHWC) on flat arrays with unsigned indices: numba then
emits no negative-index wraparound checks, and LLVM vectorizes the loops (several times faster).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .launch import parallel

_U1 = np.uint64(1)


@njit(inline="always", cache=True)
def _copy(dst, d, src, s, n):  # pragma: no cover - compiled
    """dst[d:d+n] = src[s:s+n] for flat arrays."""
    d, s, n = np.uint64(d), np.uint64(s), np.uint64(n)
    i = np.uint64(0)
    while i < n:
        dst[d + i] = src[s + i]
        i += _U1


@njit(inline="always", cache=True)
def _add(dst, d, src, s, n):  # pragma: no cover - compiled
    """dst[d:d+n] += src[s:s+n] for flat arrays."""
    d, s, n = np.uint64(d), np.uint64(s), np.uint64(n)
    i = np.uint64(0)
    while i < n:
        dst[d + i] += src[s + i]
        i += _U1


@njit(inline="always", cache=True)
def _fill(dst, d, n, v):  # pragma: no cover - compiled
    """dst[d:d+n] = v for a flat array."""
    d, n = np.uint64(d), np.uint64(n)
    i = np.uint64(0)
    while i < n:
        dst[d + i] = v
        i += _U1


@parallel(min_size=8192)
def im2col(x, cols, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo, groups, fill):  # pragma: no cover - compiled
    # x: (N, H, W, C); cols: (N*ho*wo, >= C*kh*kw), row m = (n, oh, ow), columns ordered (group, i, j, c);
    # taps in the padding get ``fill`` (0; a uint8 input's zero point)
    n_, h_, w_, c_ = x.shape
    ld = cols.shape[1]
    cg = c_ // groups
    kk = kh * kw
    xf = x.reshape(-1)
    cf = cols.reshape(-1)
    if c_ == 1:  # one channel (a first layer): scalar taps, no inner loop
        for nh in prange(n_ * ho):
            n = nh // ho
            oh = nh - n * ho
            for ow in range(wo):
                row = (nh * wo + ow) * ld
                for i in range(kh):
                    h = oh * sh - pt + i * dh
                    for j in range(kw):
                        w = ow * sw - pl + j * dw
                        v = xf[np.uint64((n * h_ + h) * w_ + w)] if 0 <= h < h_ and 0 <= w < w_ else fill
                        cf[np.uint64(row + i * kw + j)] = v
        return
    for nh in prange(n_ * ho):
        n = nh // ho
        oh = nh - n * ho
        for ow in range(wo):
            m = nh * wo + ow
            for g in range(groups):
                for i in range(kh):
                    h = oh * sh - pt + i * dh
                    for j in range(kw):
                        w = ow * sw - pl + j * dw
                        dst = m * ld + (g * kk + i * kw + j) * cg
                        if 0 <= h < h_ and 0 <= w < w_:
                            _copy(cf, dst, xf, ((n * h_ + h) * w_ + w) * c_ + g * cg, cg)
                        else:
                            _fill(cf, dst, cg, fill)


@parallel()
def col2im(cols, gx, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo, groups):  # pragma: no cover - compiled
    # the adjoint of im2col: gx[n, h, w, c] = sum of the cols entries that im2col copied from (n, h, w, c).
    # One sample per thread: its rows of cols are read once, in order, and added into gx[n] (cache-resident).
    n_, h_, w_, c_ = gx.shape
    ld = cols.shape[1]
    cg = c_ // groups
    kk = kh * kw
    gf = gx.reshape(-1)
    cf = cols.reshape(-1)
    hwc = h_ * w_ * c_
    for n in prange(n_):
        _fill(gf, n * hwc, hwc, 0)
        for oh in range(ho):
            for ow in range(wo):
                m = (n * ho + oh) * wo + ow
                for g in range(groups):
                    for i in range(kh):
                        h = oh * sh - pt + i * dh
                        if h < 0 or h >= h_:
                            continue
                        for j in range(kw):
                            w = ow * sw - pl + j * dw
                            if w < 0 or w >= w_:
                                continue
                            _add(gf, ((n * h_ + h) * w_ + w) * c_ + g * cg, cf, m * ld + (g * kk + i * kw + j) * cg,
                                 cg)


@parallel(min_size=16384)
def maxpool_forward(x, out, arg, kh, kw, sh, sw, pt, pl, dh, dw):  # pragma: no cover - compiled
    # x: (N, H, W, C); out, arg: (N, ho, wo, C); arg holds the flat index h * W + w of each maximum.
    # Like PyTorch: the first maximum in row-major window order wins, and a NaN wins over any number.
    n_, h_, w_, c_ = x.shape
    ho, wo = out.shape[1], out.shape[2]
    xf = x.reshape(-1)
    of = out.reshape(-1)
    af = arg.reshape(-1)
    uc = np.uint64(c_)
    if kh == kw == sh == sw == 2 and pt == pl == 0 and dh == dw == 1 and 2 * ho <= h_ and 2 * wo <= w_:
        # the usual 2x2 / stride 2 pooling: four taps, all inside, no bounds checks (twice as fast)
        for nh in prange(n_ * ho):
            n = nh // ho
            oh = nh - n * ho
            for ow in range(wo):
                o = np.uint64((nh * wo + ow) * c_)
                i0 = 2 * oh * w_ + 2 * ow
                s0 = np.uint64((n * h_ * w_ + i0) * c_)
                c = np.uint64(0)
                while c < uc:
                    m, a = xf[s0 + c], i0
                    for t, idx in ((uc, i0 + 1), (np.uint64(w_) * uc, i0 + w_), (np.uint64(w_ + 1) * uc, i0 + w_ + 1)):
                        v = xf[s0 + t + c]
                        if v > m or v != v:
                            m, a = v, idx
                    of[o + c] = m
                    af[o + c] = a
                    c += _U1
        return
    for nh in prange(n_ * ho):
        n = nh // ho
        oh = nh - n * ho
        h0 = oh * sh - pt
        while h0 < 0:
            h0 += dh
        for ow in range(wo):
            w0 = ow * sw - pl
            while w0 < 0:
                w0 += dw
            o = np.uint64((nh * wo + ow) * c_)
            c = np.uint64(0)
            while c < uc:
                of[o + c] = -np.inf
                af[o + c] = h0 * w_ + w0
                c += _U1
            for i in range(kh):
                h = oh * sh - pt + i * dh
                if h < 0 or h >= h_:
                    continue
                for j in range(kw):
                    w = ow * sw - pl + j * dw
                    if w < 0 or w >= w_:
                        continue
                    idx = h * w_ + w
                    s = np.uint64(((n * h_ + h) * w_ + w) * c_)
                    c = np.uint64(0)
                    while c < uc:
                        v = xf[s + c]
                        if v > of[o + c] or v != v:
                            of[o + c] = v
                            af[o + c] = idx
                        c += _U1


@parallel(min_size=16384)
def maxpool_backward(g, arg, out, gx, positive, kh, kw, sh, sw, pt, pl, dh, dw):  # pragma: no cover - compiled
    # g, arg, out: (N, ho, wo, C); gx: (N, H, W, C), overwritten: each g at its maximum's place, zeros
    # elsewhere. With ``positive`` only where out > 0: the pool's input was relu(z) and gx is the gradient
    # w.r.t. z (ReLU's backward fused in).
    n_, ho, wo, c_ = g.shape
    h_, w_ = gx.shape[1], gx.shape[2]
    gf = g.reshape(-1)
    af = arg.reshape(-1)
    of = out.reshape(-1)
    xf = gx.reshape(-1)
    uc = np.uint64(c_)
    if kh == kw == sh == sw == 2 and pt == pl == 0 and dh == dw == 1 and 2 * ho == h_ and 2 * wo == w_:
        # 2x2 windows tiling the input: write each window's four places in one pass (no zeroing pass)
        for nh in prange(n_ * ho):
            n = nh // ho
            oh = nh - n * ho
            for ow in range(wo):
                o = np.uint64((nh * wo + ow) * c_)
                i0 = 2 * oh * w_ + 2 * ow
                s0 = np.uint64((n * h_ * w_ + i0) * c_)
                c = np.uint64(0)
                while c < uc:
                    a, v = af[o + c], gf[o + c]
                    if positive and not of[o + c] > 0:
                        v = 0
                    for t, idx in ((np.uint64(0), i0), (uc, i0 + 1), (np.uint64(w_) * uc, i0 + w_),
                                   (np.uint64(w_ + 1) * uc, i0 + w_ + 1)):
                        xf[s0 + t + c] = v if a == idx else 0
                    c += _U1
        return
    hwc = h_ * w_ * c_
    per = ho * wo * c_
    for n in prange(n_):
        _fill(xf, n * hwc, hwc, 0)
        base = np.uint64(n * hwc)
        for q in range(ho * wo):
            o = np.uint64(n * per + q * c_)
            c = np.uint64(0)
            while c < uc:
                if not positive or of[o + c] > 0:
                    xf[base + np.uint64(af[o + c]) * uc + c] += gf[o + c]
                c += _U1
