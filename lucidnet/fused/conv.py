"""Convolutions, PyTorch's layouts: ``conv2d``, ``conv1d`` and ``conv_transpose2d``, each one im2col + GEMM
(a 1x1 convolution a GEMM alone; a depthwise one, groups == channels, its own kernels: ``DepthwiseConv2d``).

Tensors are NCHW and weights are PyTorch's ((out, in/groups, kH, kW); transposed: (in, out/groups, kH, kW)).
Inside, images are NHWC in memory: im2col copies each window's channels as contiguous runs, one GEMM per
group makes the output, and the output is returned as an NCHW *view* of its NHWC buffer (the values are
what NCHW means; only the strides differ, as with PyTorch's channels_last). The next conv or pool then
reads it without a copy. Gradients come back in the layout of the tensor they belong to.

>>> import lucidnet as ln
>>> from lucidnet.fused.conv import conv2d
>>> x = ln.ones(1, 1, 4, 4)
>>> w = ln.ones(2, 1, 3, 3)
>>> conv2d(x, w, padding=1).shape
(1, 2, 4, 4)
>>> conv2d(x, w)[0, 0].tolist()
[[9.0, 9.0], [9.0, 9.0]]
"""
from __future__ import annotations

from typing import Sequence, Union

from ..autograd.function import Function
from ..backend import xp
from .. import kernels as K
from ..kernels.threads import matmul

IntOrPair = Union[int, Sequence[int]]
Padding = Union[int, Sequence[int], str]

__all__ = ["conv1d", "conv2d", "conv_transpose2d"]


# ---- helpers shared with the pooling ops -------------------------------------------------------
def nhwc(a):
    """An (N, C, H, W) array as a C-contiguous (N, H, W, C) array: a view when its memory is NHWC."""
    t = a.transpose(0, 2, 3, 1)
    return t if t.flags.c_contiguous else xp.ascontiguousarray(t)


def pair(v, name: str, who: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints, each >= ``minimum``, as a pair; a clear error otherwise."""
    if isinstance(v, (int, xp.integer)) and not isinstance(v, bool):
        v = (int(v), int(v))
    elif isinstance(v, (tuple, list)) and len(v) == 1 and isinstance(v[0], (int, xp.integer)):
        v = (int(v[0]), int(v[0]))
    if (not isinstance(v, (tuple, list)) or len(v) != 2
            or any(isinstance(e, bool) or not isinstance(e, (int, xp.integer)) for e in v)):
        raise ValueError(f"{who}: {name} must be an int or a pair of ints, got {v!r}")
    if any(e < minimum for e in v):
        raise ValueError(f"{who}: {name} must be >= {minimum}, got {tuple(v)}")
    return int(v[0]), int(v[1])


def out_size(size: int, k: int, s: int, pad_total: int, d: int) -> int:
    return (size + pad_total - d * (k - 1) - 1) // s + 1


def _check_float(who: str, x, w, b) -> None:
    if x.dtype.kind != "f":
        raise TypeError(f"{who}: expected a floating input, got dtype {x.dtype}")
    for name, t in (("weight", w), ("bias", b)):
        if t is not None and t.dtype != x.dtype:
            raise TypeError(f"{who}: input dtype {x.dtype} differs from {name} dtype {t.dtype}; convert one "
                            "(x.float() / x.double(), or layer.float() / layer.double()): lucidnet does not upcast "
                            "silently")


def _group_mm(a, b, out, groups: int) -> None:
    """out[:, group g] = a[:, group g] @ b[g]; a (M, G*Ka), b (G, Ka, Kb), out (M, G*Kb)."""
    if groups == 1:
        matmul(a, b[0], out=out)
        return
    ka, kb = b.shape[1], b.shape[2]
    for g in range(groups):
        matmul(a[:, g * ka:(g + 1) * ka], b[g], out=out[:, g * kb:(g + 1) * kb])


_SMALL_GEMM = 1 << 18  # OpenBLAS runs a GEMM with M*N*K below about this on the calling thread alone


def _mm_tn(a, b):
    """a.T @ b for a (M, Ka), b (M, Kb): a weight gradient, a reduction over M rows (often 1e5 and more).

    A long reduction with a small result is a poor GEMM for a multi-threaded BLAS: its threads meet at a
    barrier for every block of the reduction, hundreds of times, and on a busy machine each meeting can wait
    a whole time slice (measured: 2 ms becoming 10 ms to seconds). Such a product is summed instead from
    chunks of rows small enough that each is one single-threaded GEMM (one batched matmul call; measured
    0.8 ms for the first layer of the ``cnn`` workload). Larger products take one GEMM, computed as
    (b.T @ a).T, which OpenBLAS runs faster with the long reduction.
    """
    m, ka = a.shape
    kb = b.shape[1]
    rows = _SMALL_GEMM // max(1, ka * kb)
    if rows >= 256 and m >= 4 * rows:
        nb = m // rows
        head = nb * rows
        out = xp.matmul(a[:head].reshape(nb, rows, ka).transpose(0, 2, 1), b[:head].reshape(nb, rows, kb)).sum(0)
        if head < m:
            out += xp.matmul(a[head:].T, b[head:])
        return out
    return matmul(b.T, a).T


def _group_mm_t(a, b, groups: int):
    """(G, Ka, Kb) with [g] = a[:, group g].T @ b[:, group g] (the weight gradient of ``_group_mm``)."""
    if groups == 1:
        return _mm_tn(a, b)[None]
    ka, kb = a.shape[1] // groups, b.shape[1] // groups
    return xp.stack([_mm_tn(a[:, g * ka:(g + 1) * ka], b[:, g * kb:(g + 1) * kb]) for g in range(groups)])


def _bias_grad(g2):
    """Sum of (M, C) over rows, as a GEMV (multi-threaded, one pass)."""
    return xp.matmul(xp.ones(g2.shape[0], dtype=g2.dtype), g2)


# ---- the ops ----------------------------------------------------------------------------------------
_FOLD_BIAS_MAX_K = 64  # below this reduction length a ones column in the GEMM is cheaper than a pass to add the bias


class Conv2d(Function):
    """out = conv(x, w) + b; x (N, C, H, W), w (O, C/G, kH, kW), padding (top, bottom, left, right).

    When the GEMM's reduction is short (few input channels, e.g. the first layer of a CNN) the bias rides
    in it: cols get a column of ones and the weight a row holding the bias, which saves a pass over the
    output in the forward and gives the bias gradient with the weight's.
    """

    def forward(self, x, w, b=None, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1):
        n, c, h, wd = x.shape
        o, cg, kh, kw = w.shape
        (sh, sw), (pt, pb, pl, pr), (dh, dw) = stride, padding, dilation
        ho, wo = out_size(h, kh, sh, pt + pb, dh), out_size(wd, kw, sw, pl + pr, dw)
        og, k = o // groups, cg * kh * kw
        pointwise = _pointwise(w.shape, stride, padding, groups)
        fold = b is not None and groups == 1 and k < _FOLD_BIAS_MAX_K and not pointwise
        if pointwise:  # a 1x1 convolution is a plain GEMM on the NHWC pixels: no im2col copy
            cols = nhwc(x).reshape(-1, c)
        else:
            cols = xp.empty((n * ho * wo, c * kh * kw + fold), dtype=x.dtype)  # rows (n, oh, ow); cols (g, i, j, c)
            K.im2col(nhwc(x), cols, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo, groups)
        wk = w.reshape(groups, og, cg, kh, kw).transpose(0, 3, 4, 2, 1).reshape(groups, k, og)  # (G, K, O/G)
        if fold:
            cols[:, k] = 1
            wk = xp.concatenate([wk[0], b[None, :]])[None]                    # (1, K+1, O)
        out = xp.empty((n, ho, wo, o), dtype=x.dtype)
        out2 = out.reshape(-1, o)
        _group_mm(cols, wk, out2, groups)
        if b is not None and not fold:
            out2 += b
        self.geom = (kh, kw, sh, sw, pt, pl, dh, dw, ho, wo, groups)
        self.in_shape = (n, h, wd, c)
        self.w_shape, self.fold, self.pointwise = w.shape, fold, pointwise
        self.cols = cols if self.needs[1] or (fold and self.needs[2]) else None
        self.wk = wk[:, :k] if self.needs[0] else None
        return out.transpose(0, 3, 1, 2)

    def backward(self, g):
        kh, kw, sh, sw, pt, pl, dh, dw, ho, wo, groups = self.geom
        n, h, wd, c = self.in_shape
        o, cg = self.w_shape[0], self.w_shape[1]
        k = cg * kh * kw
        g2 = nhwc(g).reshape(-1, o)                                               # (N*ho*wo, O)
        gx = gw = gb = None
        if self.needs[0]:
            gxh = xp.empty((n, h, wd, c), dtype=g.dtype)
            if self.pointwise:
                matmul(g2, self.wk[0].T, out=gxh.reshape(-1, c))
            else:
                gcols = xp.empty((g2.shape[0], c * kh * kw), dtype=g.dtype)
                _group_mm(g2, self.wk.transpose(0, 2, 1), gcols, groups)
                K.col2im(gcols, gxh, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo, groups)
            gx = gxh.transpose(0, 3, 1, 2)
        want_b = len(self.needs) > 2 and self.needs[2]
        if self.needs[1] or (self.fold and want_b):
            gwk = _group_mm_t(g2, self.cols, groups)                               # (G, O/G, K[+1]), K = (i, j, c)
            if self.fold and want_b:
                gb = xp.ascontiguousarray(gwk[0, :, k])
            if self.needs[1]:
                gw = xp.ascontiguousarray(gwk[:, :, :k].reshape(o, kh, kw, cg).transpose(0, 3, 1, 2))
        if want_b and gb is None:
            gb = _bias_grad(g2)
        return gx, gw, gb


def _pointwise(w_shape, stride, padding, groups) -> bool:
    """Whether a convolution is 1x1, stride 1, unpadded and ungrouped: a GEMM over the pixels."""
    return w_shape[2] == w_shape[3] == 1 and tuple(stride) == (1, 1) and not any(padding) and groups == 1


def is_depthwise(x_shape, w_shape, groups: int) -> bool:
    """Whether conv2d's arguments make a depthwise convolution: one filter per channel (groups == C == O)."""
    return groups > 1 and x_shape[1] == groups and w_shape[0] == groups


class DepthwiseConv2d(Function):
    """out = conv(x, w) + b with one filter per channel (groups == C_in == C_out): x (N, C, H, W), w (C, 1, kH,
    kW), padding (top, bottom, left, right). The depthwise kernels (``kernels.depthwise_*``) run on NHWC
    memory, like the rest of this module: no im2col, no per-group GEMM."""

    def forward(self, x, w, b=None, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
        n, c, h, wd = x.shape
        kh, kw = w.shape[2], w.shape[3]
        (sh, sw), (pt, pb, pl, pr), (dh, dw) = stride, padding, dilation
        ho, wo = out_size(h, kh, sh, pt + pb, dh), out_size(wd, kw, sw, pl + pr, dw)
        xh = nhwc(x)                                                              # (N, H, W, C)
        wk = xp.ascontiguousarray(w.reshape(c, kh, kw).transpose(1, 2, 0))        # (kH, kW, C)
        out = xp.empty((n, ho, wo, c), dtype=x.dtype)
        K.depthwise_forward(xh, wk, out, sh, sw, pt, pl, dh, dw)
        if b is not None:
            out += b
        self.geom = (sh, sw, pt, pl, dh, dw)
        self.in_shape, self.w_shape = (n, h, wd, c), w.shape
        self.xh = xh if self.needs[1] else None
        self.wk = wk if self.needs[0] else None
        return out.transpose(0, 3, 1, 2)

    def backward(self, g):
        gh = nhwc(g)                                                              # (N, ho, wo, C)
        gx = gw = gb = None
        if self.needs[0]:
            gxh = xp.empty(self.in_shape, dtype=g.dtype)
            K.depthwise_backward_input(gh, self.wk, gxh, *self.geom)
            gx = gxh.transpose(0, 3, 1, 2)
        if self.needs[1]:
            c, _, kh, kw = self.w_shape
            gwk = xp.empty((kh, kw, c), dtype=g.dtype)
            K.depthwise_backward_weight(gh, self.xh, gwk, *self.geom)
            gw = xp.ascontiguousarray(gwk.transpose(2, 0, 1)).reshape(self.w_shape)
        if len(self.needs) > 2 and self.needs[2]:
            gb = _bias_grad(gh.reshape(-1, gh.shape[3]))
        return gx, gw, gb


class ConvTranspose2d(Function):
    """The adjoint of Conv2d in x: x (N, Cin, H, W), w (Cin, Cout/G, kH, kW), padding (top, left)."""

    def forward(self, x, w, b=None, stride=(1, 1), padding=(0, 0), output_padding=(0, 0), dilation=(1, 1),
                groups=1):
        n, cin, h, wd = x.shape
        _, cog, kh, kw = w.shape
        (sh, sw), (ph, pw), (oph, opw), (dh, dw) = stride, padding, output_padding, dilation
        ho = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
        wo = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
        cig, k, cout = cin // groups, kh * kw * cog, cog * groups
        x2 = nhwc(x).reshape(-1, cin)                                             # (N*H*W, Cin)
        wt = w.reshape(groups, cig, cog, kh, kw).transpose(0, 1, 3, 4, 2).reshape(groups, cig, k)
        cols = xp.empty((x2.shape[0], groups * k), dtype=x.dtype)
        _group_mm(x2, wt, cols, groups)
        out = xp.empty((n, ho, wo, cout), dtype=x.dtype)
        K.col2im(cols, out, kh, kw, sh, sw, ph, pw, dh, dw, h, wd, groups)
        if b is not None:
            out += b
        self.geom = (kh, kw, sh, sw, ph, pw, dh, dw, h, wd, groups)
        self.in_shape = (n, h, wd, cin)
        self.w_shape = w.shape
        self.x2 = x2 if self.needs[1] else None
        self.wt = wt if self.needs[0] else None
        return out.transpose(0, 3, 1, 2)

    def backward(self, g):
        kh, kw, sh, sw, ph, pw, dh, dw, h, wd, groups = self.geom
        n, _, _, cin = self.in_shape
        cog = self.w_shape[1]
        gh = nhwc(g)                                                              # (N, ho, wo, Cout)
        gcols = xp.empty((n * h * wd, gh.shape[3] * kh * kw), dtype=g.dtype)
        K.im2col(gh, gcols, kh, kw, sh, sw, ph, pw, dh, dw, h, wd, groups)
        gx = gw = gb = None
        if self.needs[0]:
            gx2 = xp.empty((n * h * wd, cin), dtype=g.dtype)
            _group_mm(gcols, self.wt.transpose(0, 2, 1), gx2, groups)
            gx = gx2.reshape(n, h, wd, cin).transpose(0, 3, 1, 2)
        if self.needs[1]:
            gwt = _group_mm_t(self.x2, gcols, groups)                              # (G, Cin/G, K), K = (i, j, c)
            gw = xp.ascontiguousarray(gwt.reshape(cin, kh, kw, cog).transpose(0, 3, 1, 2))
        if len(self.needs) > 2 and self.needs[2]:
            gb = _bias_grad(gh.reshape(-1, gh.shape[3]))
        return gx, gw, gb


# ---- checks and the functional API ------------------------------------------------------------
def _check_conv(who: str, x, w, b, groups, transposed: bool) -> None:
    _check_float(who, x, w, b)
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{who}: groups must be a positive int, got {groups!r}")
    c = x.shape[1]
    if transposed:
        if w.shape[0] != c:
            raise ValueError(f"{who}: input of shape {tuple(x.shape)} has {c} channels, but the weight of shape "
                             f"{tuple(w.shape)} expects {w.shape[0]} (weight layout (in, out/groups, kH, kW))")
        if c % groups:
            raise ValueError(f"{who}: {c} input channels are not divisible by groups={groups}")
        n_out = w.shape[1] * groups
    else:
        if w.shape[0] % groups:
            raise ValueError(f"{who}: weight of shape {tuple(w.shape)} has {w.shape[0]} output channels, not "
                             f"divisible by groups={groups}")
        if c != w.shape[1] * groups:
            raise ValueError(f"{who}: input of shape {tuple(x.shape)} has {c} channels, but the weight of shape "
                             f"{tuple(w.shape)} with groups={groups} expects {w.shape[1] * groups}")
        n_out = w.shape[0]
    if b is not None and tuple(b.shape) != (n_out,):
        raise ValueError(f"{who}: bias of shape {tuple(b.shape)} given for {n_out} output channels")


def unbatch(out, unbatched: bool):
    """Drop the batch dim that ``_as_batch`` added."""
    if not unbatched:
        return out
    from ..ops.shape import squeeze
    return squeeze(out, 0)


def _as_batch(who: str, x, spatial: int):
    """Accept (N, C, *spatial) or an unbatched (C, *spatial); return the batched form and whether it was added."""
    nd = spatial + 2
    if x.ndim == nd:
        return x, False
    if x.ndim == nd - 1:
        from ..ops.shape import unsqueeze
        return unsqueeze(x, 0), True
    dims = "(N, C, L)" if spatial == 1 else "(N, C, H, W)"
    raise ValueError(f"{who}: expected a {nd}-D input {dims} (or {nd - 1}-D unbatched), got shape {tuple(x.shape)}")


def conv_padding(padding: Padding, kernel: tuple, stride: tuple, dilation: tuple, who: str) -> tuple:
    """(top, bottom, left, right) from an int, a pair, 'valid' or 'same' (PyTorch: the odd pixel goes last)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{who}: padding='same' needs stride 1, got stride={stride}")
            out = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                out += [total // 2, total - total // 2]
            return tuple(out)
        raise ValueError(f"{who}: padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
    ph, pw = pair(padding, "padding", who, 0)
    return (ph, ph, pw, pw)


def _check_size(who: str, x_shape, kernel, pads, dilation) -> None:
    h, w = x_shape[2], x_shape[3]
    (kh, kw), (dh, dw) = kernel, dilation
    ph, pw = pads
    if h + ph < dh * (kh - 1) + 1 or w + pw < dw * (kw - 1) + 1:
        raise ValueError(f"{who}: input of shape {tuple(x_shape)} is too small: spatial size ({h}, {w}) with "
                         f"padding ({ph}, {pw}) in total is smaller than the kernel ({kh}, {kw})"
                         + (f" dilated by {dilation}" if dilation != (1, 1) else ""))


def _prologue(who: str, x, weight, bias, groups, stride, dilation, transposed: bool):
    """Checks shared by conv2d and conv_transpose2d; returns (batched x, whether unbatched, stride, dilation)."""
    x, unbatched = _as_batch(who, x, 2)
    if weight.ndim != 4:
        layout = "(in, out/groups, kH, kW)" if transposed else "(out, in/groups, kH, kW)"
        raise ValueError(f"{who}: expected a 4-D weight {layout}, got shape {tuple(weight.shape)}")
    _check_conv(who, x, weight, bias, groups, transposed=transposed)
    return x, unbatched, pair(stride, "stride", who, 1), pair(dilation, "dilation", who, 1)


def conv2d(x, weight, bias=None, stride: IntOrPair = 1, padding: Padding = 0, dilation: IntOrPair = 1,
           groups: int = 1, *, _who: str = "conv2d"):
    """2-D convolution (cross-correlation, as in PyTorch) of x (N, C, H, W) with weight (O, C/groups, kH, kW).

    ``padding``: int, pair, ``"same"`` (stride 1 only) or ``"valid"``. An unbatched (C, H, W) input works too.
    """
    who = _who
    x, unbatched, s, d = _prologue(who, x, weight, bias, groups, stride, dilation, transposed=False)
    kernel = (weight.shape[2], weight.shape[3])
    pads = conv_padding(padding, kernel, s, d, who)
    _check_size(who, x.shape, kernel, (pads[0] + pads[1], pads[2] + pads[3]), d)
    attrs = dict(stride=s, padding=pads, dilation=d)
    op = DepthwiseConv2d
    if not is_depthwise(x.shape, weight.shape, groups):
        op, attrs["groups"] = Conv2d, groups
    out = op.apply(x, weight, **attrs) if bias is None else op.apply(x, weight, bias, **attrs)
    return unbatch(out, unbatched)


def single(v, name: str, who: str, minimum: int) -> int:
    """An int (or a 1-tuple of one), >= ``minimum``; a clear error otherwise."""
    if isinstance(v, (tuple, list)) and len(v) == 1:
        v = v[0]
    if isinstance(v, bool) or not isinstance(v, (int, xp.integer)):
        raise ValueError(f"{who}: {name} must be an int, got {v!r}")
    if v < minimum:
        raise ValueError(f"{who}: {name} must be >= {minimum}, got {v}")
    return int(v)


def conv1d(x, weight, bias=None, stride: int | Sequence[int] = 1, padding: int | Sequence[int] | str = 0,
           dilation: int | Sequence[int] = 1, groups: int = 1, *, _who: str = "conv1d"):
    """1-D convolution of x (N, C, L) with weight (O, C/groups, k): conv2d on (N, C, 1, L).

    ``padding``: int, ``"same"`` (stride 1 only) or ``"valid"``. An unbatched (C, L) input works too.
    """
    from ..ops.shape import reshape
    x, unbatched = _as_batch(_who, x, 1)
    if weight.ndim != 3:
        raise ValueError(f"{_who}: expected a 3-D weight (out, in/groups, k), got shape {tuple(weight.shape)}")
    _check_conv(_who, x, weight, bias, groups, transposed=False)
    s, d = single(stride, "stride", _who, 1), single(dilation, "dilation", _who, 1)
    p = padding if isinstance(padding, str) else (0, single(padding, "padding", _who, 0))
    n, c, length = x.shape
    k = weight.shape[2]
    total = 2 * p[1] if not isinstance(p, str) else (d * (k - 1) if p == "same" else 0)
    if length + total < d * (k - 1) + 1:
        raise ValueError(f"{_who}: input of shape {tuple(x.shape)} is too small: length {length} with padding "
                         f"{total} in total is shorter than the kernel ({k})" + (f" dilated by {d}" if d > 1 else ""))
    w4 = reshape(weight, (weight.shape[0], weight.shape[1], 1, weight.shape[2]))
    out = conv2d(reshape(x, (n, c, 1, length)), w4, bias, (1, s), p, (1, d), groups, _who=_who)
    return unbatch(reshape(out, (n, out.shape[1], out.shape[3])), unbatched)


def conv_transpose2d(x, weight, bias=None, stride: IntOrPair = 1, padding: IntOrPair = 0,
                     output_padding: IntOrPair = 0, groups: int = 1, dilation: IntOrPair = 1, *,
                     _who: str = "conv_transpose2d"):
    """Transposed 2-D convolution (the gradient of conv2d w.r.t. its input) of x (N, Cin, H, W) with weight
    (Cin, Cout/groups, kH, kW); PyTorch's argument order (groups before dilation)."""
    who = _who
    x, unbatched, s, d = _prologue(who, x, weight, bias, groups, stride, dilation, transposed=True)
    p, op = pair(padding, "padding", who, 0), pair(output_padding, "output_padding", who, 0)
    if any(o >= max(si, di) for o, si, di in zip(op, s, d)):
        raise ValueError(f"{who}: output_padding {op} must be smaller than stride {s} or dilation {d}")
    h, w = x.shape[2], x.shape[3]
    kh, kw = weight.shape[2], weight.shape[3]
    ho = (h - 1) * s[0] - 2 * p[0] + d[0] * (kh - 1) + op[0] + 1
    wo = (w - 1) * s[1] - 2 * p[1] + d[1] * (kw - 1) + op[1] + 1
    if ho < 1 or wo < 1:
        raise ValueError(f"{who}: input of shape {tuple(x.shape)} with padding {p} gives an empty output "
                         f"({ho}, {wo}); reduce the padding")
    attrs = dict(stride=s, padding=p, output_padding=op, dilation=d, groups=groups)
    out = ConvTranspose2d.apply(x, weight, **attrs) if bias is None else ConvTranspose2d.apply(x, weight, bias, **attrs)
    return unbatch(out, unbatched)
