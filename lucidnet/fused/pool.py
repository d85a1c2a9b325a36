"""Pooling over NCHW tensors: ``max_pool2d``, ``avg_pool2d`` and ``adaptive_avg_pool2d``, PyTorch's semantics.

Like the convolutions (see ``conv.py``), the pools work on NHWC memory and return NCHW views of it, so a
conv -> relu -> pool -> conv chain never transposes. Max-pooling runs a fused multi-threaded kernel when
numba is installed (``lucidnet.kernels``); average pooling is a few shifted adds.

>>> import lucidnet as ln
>>> from lucidnet.fused.pool import max_pool2d, avg_pool2d
>>> x = ln.arange(16.0).reshape(1, 1, 4, 4)
>>> max_pool2d(x, 2)[0, 0].tolist()
[[5.0, 7.0], [13.0, 15.0]]
>>> avg_pool2d(x, 2)[0, 0].tolist()
[[2.5, 4.5], [10.5, 12.5]]
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

from ..autograd.function import Function
from ..backend import xp
from .. import kernels as K
from .conv import _as_batch, nhwc, pair, unbatch

IntOrPair = Union[int, Sequence[int]]

__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"]


def pool_out_size(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output size; with ceil_mode the last window must start inside the input or its left pad."""
    span = d * (k - 1) + 1
    out = (size + 2 * p - span + ((s - 1) if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


class MaxPool2d(Function):
    """Max over windows. Given ``relu_out`` (the output of a ReLU whose input z is this node's parent), it
    pools ``relu_out`` and its backward gives the gradient w.r.t. z in the same pass: max(relu(z)) takes its
    gradient at the window's maximum, and ReLU passes it only where that maximum is > 0."""

    def forward(self, x, kernel=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1), ceil_mode=False,
                indices=None, relu_out=None):
        """``indices``: a list that receives the (N, ho, wo, C) int32 argmax array, when given."""
        src = x if relu_out is None else relu_out
        n, c, h, w = src.shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
        ho = pool_out_size(h, kh, sh, ph, dh, ceil_mode)
        wo = pool_out_size(w, kw, sw, pw, dw, ceil_mode)
        out = xp.empty((n, ho, wo, c), dtype=src.dtype)
        arg = xp.empty((n, ho, wo, c), dtype=xp.int32)
        K.maxpool_forward(nhwc(src), out, arg, kh, kw, sh, sw, ph, pw, dh, dw)
        if indices is not None:
            indices.append(arg)
        self.arg, self.out, self.after_relu = arg, out, relu_out is not None
        self.in_shape, self.geom = (n, h, w, c), (kh, kw, sh, sw, ph, pw, dh, dw)
        return out.transpose(0, 3, 1, 2)

    def backward(self, g):
        gx = xp.empty(self.in_shape, dtype=g.dtype)
        K.maxpool_backward(nhwc(g), self.arg, self.out, gx, self.after_relu, *self.geom)
        return (gx.transpose(0, 3, 1, 2),)


def _through_relu(x):
    """(z, relu(z) array) when ``x`` is the output of ops.relu(z) and nothing asks for x's own gradient,
    so that max-pooling can differentiate through both at once; else (x, None)."""
    from ..ops.activation import ReLU
    node = getattr(x, "_node", None)
    if type(node) is ReLU and not node.freed and node.parents[0] is not None and not x._retains_grad:
        return node.parents[0], x.array
    return x, None


def _avg_divisor(h, w, ho, wo, kernel, stride, padding, count_include_pad, divisor_override, dtype):
    """(ho, wo) divisors, as PyTorch: the window clipped to input + padding, or to the input alone."""
    if divisor_override:
        return xp.full((ho, wo), divisor_override, dtype=dtype)
    sizes = []
    for size, o, k, s, p in ((h, ho, kernel[0], stride[0], padding[0]), (w, wo, kernel[1], stride[1], padding[1])):
        start = xp.arange(o) * s - p
        end = xp.minimum(start + k, size + p)
        if count_include_pad:
            sizes.append(end - start)
        else:
            sizes.append(xp.minimum(end, size) - xp.maximum(start, 0))
    return (sizes[0][:, None] * sizes[1][None, :]).astype(dtype)


def _channels_last(a) -> bool:
    """Whether the NCHW array ``a`` lies in NHWC memory (the output of a conv or a pool)."""
    return a.shape[1] > 1 and a.transpose(0, 2, 3, 1).flags.c_contiguous


def _zeros(shape, channels_last: bool, dtype):
    """Zeros of NCHW ``shape``, in NHWC memory when ``channels_last``."""
    if channels_last:
        n, c, h, w = shape
        return xp.zeros((n, h, w, c), dtype=dtype).transpose(0, 3, 1, 2)
    return xp.zeros(shape, dtype=dtype)


class AvgPool2d(Function):
    """Sum of the kH*kW shifted strided views, divided by PyTorch's divisor; the layout of x is kept."""

    def forward(self, x, kernel=(2, 2), stride=(2, 2), padding=(0, 0), ceil_mode=False, count_include_pad=True,
                divisor_override=None):
        n, c, h, w = x.shape
        (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
        ho = pool_out_size(h, kh, sh, ph, 1, ceil_mode)
        wo = pool_out_size(w, kw, sw, pw, 1, ceil_mode)
        hp, wp = max(h + ph, (ho - 1) * sh + kh), max(w + pw, (wo - 1) * sw + kw)
        xpad = x
        if hp > h or wp > w or ph or pw:
            xpad = xp.pad(x, ((0, 0), (0, 0), (ph, hp - h - ph), (pw, wp - w - pw)))
        last = _channels_last(x)
        out = _zeros((n, c, ho, wo), last, x.dtype)
        for i in range(kh):
            for j in range(kw):
                out += xpad[:, :, i:i + (ho - 1) * sh + 1:sh, j:j + (wo - 1) * sw + 1:sw]
        div = _avg_divisor(h, w, ho, wo, kernel, stride, padding, count_include_pad, divisor_override, x.dtype)
        out /= div
        self.div, self.geom, self.last = div, (kh, kw, sh, sw, ph, pw, ho, wo), last
        self.in_hw, self.padded = (h, w), (n, c, hp, wp)
        return out

    def backward(self, g):
        kh, kw, sh, sw, ph, pw, ho, wo = self.geom
        h, w = self.in_hw
        gd = g / self.div
        gx = _zeros(self.padded, self.last, g.dtype)
        for i in range(kh):
            for j in range(kw):
                gx[:, :, i:i + (ho - 1) * sh + 1:sh, j:j + (wo - 1) * sw + 1:sw] += gd
        return (gx[:, :, ph:ph + h, pw:pw + w],)


def _adaptive_bounds(size: int, out: int):
    """PyTorch's adaptive windows: [floor(i * size / out), ceil((i + 1) * size / out))."""
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


class AdaptiveAvgPool2d(Function):
    """Each output cell is the mean of its window; rows and columns are pooled one after the other."""

    def forward(self, x, output_size=(1, 1)):
        n, c, h, w = x.shape
        ho, wo = output_size
        self.in_shape, self.out_size = x.shape, output_size
        if (ho, wo) == (1, 1):
            return x.mean(axis=(2, 3), keepdims=True)
        self.rows, self.cols = _adaptive_bounds(h, ho), _adaptive_bounds(w, wo)
        tmp = xp.empty((n, c, ho, w), dtype=x.dtype)
        for i, (a, b) in enumerate(self.rows):
            xp.mean(x[:, :, a:b, :], axis=2, out=tmp[:, :, i, :])
        out = xp.empty((n, c, ho, wo), dtype=x.dtype)
        for j, (a, b) in enumerate(self.cols):
            xp.mean(tmp[:, :, :, a:b], axis=3, out=out[:, :, :, j])
        return out

    def backward(self, g):
        n, c, h, w = self.in_shape
        ho, wo = self.out_size
        if (ho, wo) == (1, 1):
            return (xp.broadcast_to(g / (h * w), (n, c, h, w)).copy(),)
        tmp = xp.zeros((n, c, ho, w), dtype=g.dtype)
        for j, (a, b) in enumerate(self.cols):
            tmp[:, :, :, a:b] += g[:, :, :, j:j + 1] / (b - a)
        gx = xp.zeros((n, c, h, w), dtype=g.dtype)
        for i, (a, b) in enumerate(self.rows):
            gx[:, :, a:b, :] += tmp[:, :, i:i + 1, :] / (b - a)
        return (gx,)


# ---- checks and the functional API ------------------------------------------------------------
def pool_params(who: str, kernel_size, stride, padding, dilation) -> tuple:
    """Validated (kernel, stride, padding, dilation) pairs; stride None (or empty) means the kernel size."""
    k = pair(kernel_size, "kernel_size", who, 1)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) else pair(stride, "stride", who, 1)
    p = pair(padding, "padding", who, 0)
    d = pair(dilation, "dilation", who, 1)
    for pi, ki, di in zip(p, k, d):
        if pi > (di * (ki - 1) + 1) // 2:
            raise ValueError(f"{who}: padding {p} must be at most half of the (dilated) kernel size {k}")
    return k, s, p, d


def _pool_args(who, x, kernel_size, stride, padding, dilation):
    if x.dtype.kind != "f":
        raise TypeError(f"{who}: expected a floating input, got dtype {x.dtype}")
    k, s, p, d = pool_params(who, kernel_size, stride, padding, dilation)
    h, w = x.shape[2], x.shape[3]
    if h + 2 * p[0] < d[0] * (k[0] - 1) + 1 or w + 2 * p[1] < d[1] * (k[1] - 1) + 1:
        raise ValueError(f"{who}: input of shape {tuple(x.shape)} is too small for kernel {k}"
                         + (f" dilated by {d}" if d != (1, 1) else "") + f" with padding {p}")
    return k, s, p, d


def max_pool2d(x, kernel_size: IntOrPair, stride: Optional[IntOrPair] = None, padding: IntOrPair = 0,
               dilation: IntOrPair = 1, ceil_mode: bool = False, return_indices: bool = False, *,
               _who: str = "max_pool2d"):
    """Max over (kH, kW) windows of x (N, C, H, W); stride defaults to the kernel size. With
    ``return_indices`` also the flat index h * W + w of each maximum (int64), as PyTorch returns it."""
    x, unbatched = _as_batch(_who, x, 2)
    k, s, p, d = _pool_args(_who, x, kernel_size, stride, padding, dilation)
    arg: list = []
    src, relu_out = _through_relu(x)
    out = MaxPool2d.apply(src, kernel=k, stride=s, padding=p, dilation=d, ceil_mode=bool(ceil_mode),
                          indices=arg if return_indices else None, relu_out=relu_out)
    out = unbatch(out, unbatched)
    if not return_indices:
        return out
    from ..tensor import Tensor
    idx = arg[0].transpose(0, 3, 1, 2).astype(xp.int64)  # PyTorch's layout: (N, C, ho, wo), flat h * W + w
    return out, Tensor._make(idx[0] if unbatched else idx, None)


def avg_pool2d(x, kernel_size: IntOrPair, stride: Optional[IntOrPair] = None, padding: IntOrPair = 0,
               ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: Optional[int] = None, *,
               _who: str = "avg_pool2d"):
    """Mean over (kH, kW) windows of x (N, C, H, W); padding counts as zeros unless ``count_include_pad=False``."""
    x, unbatched = _as_batch(_who, x, 2)
    k, s, p, _ = _pool_args(_who, x, kernel_size, stride, padding, 1)
    if divisor_override is not None and (isinstance(divisor_override, bool) or not isinstance(divisor_override, int)
                                         or divisor_override <= 0):
        raise ValueError(f"{_who}: divisor_override must be a positive int, got {divisor_override!r}")
    out = AvgPool2d.apply(x, kernel=k, stride=s, padding=p, ceil_mode=bool(ceil_mode),
                          count_include_pad=bool(count_include_pad), divisor_override=divisor_override)
    return unbatch(out, unbatched)


def adaptive_avg_pool2d(x, output_size, *, _who: str = "adaptive_avg_pool2d"):
    """Average pooling to a fixed (oH, oW) whatever the input size; ``1`` or ``(1, 1)`` is global average
    pooling; ``None`` in the pair keeps that input dim."""
    x, unbatched = _as_batch(_who, x, 2)
    if x.dtype.kind != "f":
        raise TypeError(f"{_who}: expected a floating input, got dtype {x.dtype}")
    size = (output_size, output_size) if not isinstance(output_size, (tuple, list)) else tuple(output_size)
    if len(size) == 1:
        size = size * 2
    if len(size) != 2:
        raise ValueError(f"{_who}: output_size must be an int or a pair, got {output_size!r}")
    size = tuple(x.shape[2 + i] if v is None else v for i, v in enumerate(size))
    size = pair(size, "output_size", _who, 1)
    return unbatch(AdaptiveAvgPool2d.apply(x, output_size=size), unbatched)
