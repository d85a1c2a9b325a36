"""NumPy reference kernels for depthwise convolution (one filter per channel), on NHWC arrays.

Same signatures and results as ``depthwise_numba.py``: x (N, H, W, C), weight (kh, kw, C), output
(N, ho, wo, C); geometry as in ``conv_numba`` (stride (sh, sw), top/left padding (pt, pl), dilation
(dh, dw)). Each kernel tap is one strided view of the padded input, so every loop runs over kh * kw taps.
"""
from __future__ import annotations

from ..backend import xp


def _tap(a, i, j, sh, sw, dh, dw, ho, wo):
    """The (N, ho, wo, C) strided view of padded ``a`` that kernel tap (i, j) reads."""
    return a[:, i * dh:i * dh + (ho - 1) * sh + 1:sh, j * dw:j * dw + (wo - 1) * sw + 1:sw]


def _padded(x, pt, pl, hp, wp):
    n, h, w, c = x.shape
    if pt == 0 and pl == 0 and hp <= h and wp <= w:
        return x
    out = xp.zeros((n, max(hp, pt + h), max(wp, pl + w), c), dtype=x.dtype)
    out[:, pt:pt + h, pl:pl + w] = x
    return out


def _span(ho, wo, kh, kw, sh, sw, dh, dw):
    return (ho - 1) * sh + (kh - 1) * dh + 1, (wo - 1) * sw + (kw - 1) * dw + 1


def forward(x, w, out, sh, sw, pt, pl, dh, dw):
    # out[n, oh, ow, c] = sum_ij x[n, oh*sh - pt + i*dh, ow*sw - pl + j*dw, c] * w[i, j, c]
    kh, kw = w.shape[0], w.shape[1]
    ho, wo = out.shape[1], out.shape[2]
    xpad = _padded(x, pt, pl, *_span(ho, wo, kh, kw, sh, sw, dh, dw))
    out[...] = 0
    for i in range(kh):
        for j in range(kw):
            out += _tap(xpad, i, j, sh, sw, dh, dw, ho, wo) * w[i, j]


def backward_input(g, w, gx, sh, sw, pt, pl, dh, dw):
    # the adjoint of forward in x: gx (N, H, W, C) overwritten
    kh, kw = w.shape[0], w.shape[1]
    n, ho, wo, c = g.shape
    h, wd = gx.shape[1], gx.shape[2]
    hp, wp = _span(ho, wo, kh, kw, sh, sw, dh, dw)
    gpad = xp.zeros((n, max(hp, pt + h), max(wp, pl + wd), c), dtype=g.dtype)
    for i in range(kh):
        for j in range(kw):
            _tap(gpad, i, j, sh, sw, dh, dw, ho, wo)[...] += g * w[i, j]
    gx[...] = gpad[:, pt:pt + h, pl:pl + wd]


def backward_weight(g, x, gw, sh, sw, pt, pl, dh, dw):
    # gw[i, j, c] = sum_{n, oh, ow} g[n, oh, ow, c] * x[n, oh*sh - pt + i*dh, ow*sw - pl + j*dw, c]
    kh, kw = gw.shape[0], gw.shape[1]
    ho, wo = g.shape[1], g.shape[2]
    xpad = _padded(x, pt, pl, *_span(ho, wo, kh, kw, sh, sw, dh, dw))
    for i in range(kh):
        for j in range(kw):
            gw[i, j] = xp.einsum("nhwc,nhwc->c", _tap(xpad, i, j, sh, sw, dh, dw, ho, wo), g)
