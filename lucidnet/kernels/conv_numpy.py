"""NumPy reference kernels for convolution and max-pooling, on NHWC arrays.

Same signatures and results as the numba kernels in ``conv_numba.py`` (see there for the geometry); these
run when numba is missing or switched off, and the tests hold the numba kernels to them.
"""
from __future__ import annotations

from numpy.lib.stride_tricks import sliding_window_view

from ..backend import xp


def _padded(x, pt, pl, need_h, need_w, value):
    """``x`` (N, H, W, C) with ``pt``/``pl`` rows/cols of ``value`` before and enough after to reach
    need_h x need_w (never cropped)."""
    n, h, w, c = x.shape
    pb, pr = max(0, need_h - h - pt), max(0, need_w - w - pl)
    if not (pt or pb or pl or pr):
        return x
    return xp.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=value)


def _windows(xpad, kh, kw, sh, sw, dh, dw, ho, wo):
    """(N, ho, wo, C, kh, kw) read-only view of every window of ``xpad``."""
    span_h, span_w = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    v = sliding_window_view(xpad, (span_h, span_w), axis=(1, 2))
    return v[:, :(ho - 1) * sh + 1:sh, :(wo - 1) * sw + 1:sw, :, ::dh, ::dw]


def im2col(x, cols, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo, groups, fill):
    n, h, w, c = x.shape
    cg = c // groups
    xpad = _padded(x, pt, pl, (ho - 1) * sh + (kh - 1) * dh + 1, (wo - 1) * sw + (kw - 1) * dw + 1, fill)
    v = _windows(xpad, kh, kw, sh, sw, dh, dw, ho, wo).reshape(n, ho, wo, groups, cg, kh, kw)
    dst = cols[:, :c * kh * kw].reshape(n, ho, wo, groups, kh, kw, cg)
    xp.copyto(dst, v.transpose(0, 1, 2, 3, 5, 6, 4))


def col2im(cols, gx, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo, groups):
    n, h, w, c = gx.shape
    cg = c // groups
    hp = max(pt + h, (ho - 1) * sh + (kh - 1) * dh + 1)
    wp = max(pl + w, (wo - 1) * sw + (kw - 1) * dw + 1)
    gpad = xp.zeros((n, hp, wp, groups, cg), dtype=gx.dtype)
    src = cols[:, :c * kh * kw].reshape(n, ho, wo, groups, kh, kw, cg)
    for i in range(kh):
        for j in range(kw):
            gpad[:, i * dh:i * dh + (ho - 1) * sh + 1:sh, j * dw:j * dw + (wo - 1) * sw + 1:sw] += src[:, :, :, :, i, j]
    gx[...] = gpad[:, pt:pt + h, pl:pl + w].reshape(n, h, w, c)


def maxpool_forward(x, out, arg, kh, kw, sh, sw, pt, pl, dh, dw):
    n, h, w, c = x.shape
    ho, wo = out.shape[1], out.shape[2]
    xpad = _padded(x, pt, pl, (ho - 1) * sh + (kh - 1) * dh + 1, (wo - 1) * sw + (kw - 1) * dw + 1, -xp.inf)
    win = _windows(xpad, kh, kw, sh, sw, dh, dw, ho, wo)
    # flat input index h * W + w of each tap; padded taps never win (-inf, strict comparison)
    hh = xp.arange(ho)[:, None] * sh - pt
    ww = xp.arange(wo)[None, :] * sw - pl
    out[...] = -xp.inf
    arg[...] = (_first_inside(hh, dh) * w + _first_inside(ww, dw))[None, :, :, None]
    for i in range(kh):
        for j in range(kw):
            v = win[..., i, j]
            upd = (v > out) | (v != v)
            xp.copyto(out, v, where=upd)
            xp.copyto(arg, ((hh + i * dh) * w + ww + j * dw)[None, :, :, None], where=upd)


def _first_inside(a, d):
    """The first tap position ``a + k * d`` (k >= 0) that is not in the top/left padding."""
    return a + (xp.maximum(-a, 0) + d - 1) // d * d


def maxpool_backward(g, arg, out, gx, positive, kh, kw, sh, sw, pt, pl, dh, dw):
    n, h, w, c = gx.shape
    if positive:
        g = xp.where(out > 0, g, 0).astype(g.dtype, copy=False)
    flat = (xp.arange(n)[:, None, None, None] * (h * w) + arg) * c + xp.arange(c)
    if sh < (kh - 1) * dh + 1 or sw < (kw - 1) * dw + 1:  # overlapping windows: an input may win several
        gx[...] = xp.bincount(flat.ravel(), weights=g.ravel(), minlength=gx.size).reshape(gx.shape)
    else:
        gx[...] = 0
        gx.reshape(-1)[flat.ravel()] = g.ravel()
