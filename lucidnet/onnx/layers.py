"""Converters of the layers' ops: linear and matmul, einsum, convolutions, pooling, normalisation, embedding
lookups and interpolation."""
from __future__ import annotations

import numpy as np

from ..fused import conv as C
from ..fused import embedding as E
from ..fused import interpolate as IP
from ..fused import norm as N
from ..fused import pool as P
from ..ops import linalg as L
from .registry import converts


@converts(L.Linear)
def linear(g, op):
    """``Gemm`` (transB) for 2-D inputs, ``MatMul`` with the transposed weight and ``Add`` otherwise."""
    x1, w = op.inputs[0], op.inputs[1]
    has_bias = len(op.inputs) > 2 and op.inputs[2] is not None
    if x1.ndim == 2:
        return g.node("Gemm", [g.input(op, 0), g.input(op, 1)] + ([g.input(op, 2)] if has_bias else []), transB=1)
    if g.is_const(w):
        wt = g.param(w, "T", lambda a: np.ascontiguousarray(a.T))
    else:
        wt = g.node("Transpose", [g.input(op, 1)], perm=[1, 0])
    out = g.node("MatMul", [g.input(op, 0), wt])
    return g.node("Add", [out, g.input(op, 2)]) if has_bias else out


@converts(L.MatMul)
def matmul(g, op):
    return g.node("MatMul", [g.input(op, 0), g.input(op, 1)])


@converts(L.Einsum)
def einsum(g, op):
    equation = ",".join(op.attrs["inputs"]) + "->" + op.attrs["output"]
    return g.node("Einsum", [g.input(op, i) for i in range(len(op.inputs))], equation=equation)


@converts(C.Conv2d, C.DepthwiseConv2d)
def conv2d(g, op):
    t, b, left, r = op.attrs.get("padding", (0, 0, 0, 0))
    w = op.inputs[1]
    groups = w.shape[0] if op.kind is C.DepthwiseConv2d else int(op.attrs.get("groups", 1))
    inputs = [g.input(op, 0), g.input(op, 1)] + ([g.input(op, 2)] if len(op.inputs) > 2 and op.inputs[2] is not None
                                                   else [])
    return g.node("Conv", inputs, kernel_shape=list(w.shape[2:]), pads=[t, left, b, r], group=groups,
                  strides=list(op.attrs.get("stride", (1, 1))), dilations=list(op.attrs.get("dilation", (1, 1))))


@converts(C.ConvTranspose2d)
def conv_transpose2d(g, op):
    ph, pw = op.attrs.get("padding", (0, 0))
    w = op.inputs[1]
    inputs = [g.input(op, 0), g.input(op, 1)] + ([g.input(op, 2)] if len(op.inputs) > 2 and op.inputs[2] is not None
                                                   else [])
    return g.node("ConvTranspose", inputs, kernel_shape=list(w.shape[2:]), pads=[ph, pw, ph, pw],
                  strides=list(op.attrs.get("stride", (1, 1))), dilations=list(op.attrs.get("dilation", (1, 1))),
                  output_padding=list(op.attrs.get("output_padding", (0, 0))), group=int(op.attrs.get("groups", 1)))


@converts(P.MaxPool2d)
def max_pool2d(g, op):
    """``MaxPool``; after a ReLU the op pools the ReLU's output (``relu_out``)."""
    x = g.attr(op, "relu_out") if op.attrs.get("relu_out") is not None else g.input(op, 0)
    ph, pw = op.attrs.get("padding", (0, 0))
    return g.node("MaxPool", [x], kernel_shape=list(op.attrs["kernel"]), strides=list(op.attrs["stride"]),
                  pads=[ph, pw, ph, pw], dilations=list(op.attrs.get("dilation", (1, 1))),
                  ceil_mode=int(bool(op.attrs.get("ceil_mode", False))))


@converts(P.AvgPool2d)
def avg_pool2d(g, op):
    ph, pw = op.attrs.get("padding", (0, 0))
    kernel = list(op.attrs["kernel"])
    out = g.node("AveragePool", [g.input(op, 0)], kernel_shape=kernel, strides=list(op.attrs["stride"]),
                 pads=[ph, pw, ph, pw], ceil_mode=int(bool(op.attrs.get("ceil_mode", False))),
                 count_include_pad=int(bool(op.attrs.get("count_include_pad", True))))
    div = op.attrs.get("divisor_override")
    if div is None:
        return out
    if ph or pw or op.attrs.get("ceil_mode"):
        g.fail("avg_pool2d with divisor_override and padding or ceil_mode is not supported")
    return g.node("Mul", [out, g.scalar(kernel[0] * kernel[1] / div, op.out.dtype)])


def _window_matrix(size: int, out: int, dtype) -> np.ndarray:
    """(out, size): row i averages PyTorch's adaptive window i."""
    a = np.zeros((out, size), dtype=dtype)
    for i in range(out):
        lo, hi = i * size // out, -(-(i + 1) * size // out)
        a[i, lo:hi] = 1.0 / (hi - lo)
    return a


@converts(P.AdaptiveAvgPool2d)
def adaptive_avg_pool2d(g, op):
    """``GlobalAveragePool`` for 1x1; ``AveragePool`` when the windows tile the input; else the averages as
    two matrix products (rows, then columns)."""
    oh, ow = op.attrs.get("output_size", (1, 1))
    x = g.input(op, 0)
    if (oh, ow) == (1, 1):
        return g.node("GlobalAveragePool", [x])
    (h, w), (h2, w2) = op.inputs[0].shape[2:], op.twin.inputs[0].shape[2:]
    if (h, w) != (h2, w2):
        g.fail("adaptive average pooling to a size other than 1x1 needs a static height and width")
    if h % oh == 0 and w % ow == 0:
        k = [h // oh, w // ow]
        return g.node("AveragePool", [x], kernel_shape=k, strides=k)
    dt = op.out.dtype
    x = g.node("MatMul", [g.const(_window_matrix(h, oh, dt), "adaptive_rows"), x])
    return g.node("MatMul", [x, g.const(np.ascontiguousarray(_window_matrix(w, ow, dt).T), "adaptive_cols")])


@converts(N.BatchNorm)
def batch_norm(g, op):
    """``BatchNormalization`` on the running statistics; with batch statistics (no running ones kept), the
    normalisation over every axis but 1; then the folded clip (ReLU6) if any."""
    x1 = op.inputs[0]
    c, dt, eps = x1.shape[1], op.out.dtype, float(op.attrs.get("eps", 1e-5))
    w = g.input(op, 1) or g.const(np.ones(c, dt), "ones", key=("ones", c, dt.str))
    b = g.input(op, 2) or g.const(np.zeros(c, dt), "zeros", key=("zeros", c, dt.str))
    x = g.input(op, 0)
    if not op.attrs.get("training", False):
        out = g.node("BatchNormalization", [x, w, b, g.attr(op, "running_mean"), g.attr(op, "running_var")],
                     epsilon=eps)
    else:
        axes = [0] + list(range(2, x1.ndim))
        per_channel = g.ints([c] + [1] * (x1.ndim - 2))
        centred = g.node("Sub", [x, g.reduce("ReduceMean", x, axes, True)])
        var = g.reduce("ReduceMean", g.node("Mul", [centred, centred]), axes, True)
        norm = g.node("Div", [centred, g.node("Sqrt", [g.node("Add", [var, g.scalar(eps, dt)])])])
        out = g.node("Add", [g.node("Mul", [norm, g.node("Reshape", [w, per_channel])]),
                             g.node("Reshape", [b, per_channel])])
    clip = op.attrs.get("clip")
    if clip is not None:
        out = g.node("Clip", [out, g.scalar(clip[0], dt), g.scalar(clip[1], dt)])
    return out


@converts(N.LayerNorm)
def layer_norm(g, op):
    nshape = tuple(op.attrs["nshape"])
    dt = op.out.dtype
    w = g.input(op, 1) or g.const(np.ones(nshape, dt), "ones", key=("ones", nshape, dt.str))
    inputs = [g.input(op, 0), w] + ([g.input(op, 2)] if len(op.inputs) > 2 and op.inputs[2] is not None else [])
    return g.node("LayerNormalization", inputs, axis=-len(nshape), epsilon=float(op.attrs.get("eps", 1e-5)))


@converts(N.GroupNorm)
def group_norm(g, op):
    """Normalise (N, G, rest) over its last axis, back to the input's shape, then scale and shift per channel."""
    x1 = op.inputs[0]
    c, dt, groups = x1.shape[1], op.out.dtype, int(op.attrs.get("groups", 1))
    x = g.input(op, 0)
    rows = g.node("Reshape", [x, g.ints([0, groups, -1])])
    centred = g.node("Sub", [rows, g.reduce("ReduceMean", rows, [2], True)])
    var = g.reduce("ReduceMean", g.node("Mul", [centred, centred]), [2], True)
    norm = g.node("Div", [centred, g.node("Sqrt", [g.node("Add", [var, g.scalar(float(op.attrs.get("eps", 1e-5)),
                                                                                     dt)])])])
    out = g.node("Reshape", [norm, g.node("Shape", [x])])
    per_channel = g.ints([c] + [1] * (x1.ndim - 2))
    if op.inputs[1] is not None:
        out = g.node("Mul", [out, g.node("Reshape", [g.input(op, 1), per_channel])])
    if len(op.inputs) > 2 and op.inputs[2] is not None:
        out = g.node("Add", [out, g.node("Reshape", [g.input(op, 2), per_channel])])
    return out


@converts(E.Embedding)
def embedding(g, op):
    return g.node("Gather", [g.input(op, 0), g.attr(op, "indices")], axis=0)


@converts(E.EmbeddingDot)
def embedding_dot(g, op):
    p = g.node("Gather", [g.input(op, 0), g.attr(op, "users")], axis=0)
    q = g.node("Gather", [g.input(op, 1), g.attr(op, "items")], axis=0)
    return g.reduce("ReduceSum", g.node("Mul", [p, q]), [1], False)


@converts(IP.Interpolate)
def interpolate(g, op):
    """``mat_h @ x @ mat_w.T`` with the interpolation matrices as initializers (a static input size)."""
    x = g.input(op, 0)
    mat_h, mat_w = op.inputs[1], op.inputs[2]
    if op.inputs[0].shape[2:] != op.twin.inputs[0].shape[2:]:
        g.fail("interpolation needs a static height and width (make those axes static)")
    if mat_h is not None:
        x = g.node("MatMul", [g.input(op, 1), x])
    if mat_w is not None:
        x = g.node("MatMul", [x, g.param(mat_w, "T", lambda a: np.ascontiguousarray(a.T))])
    return x if x != g.input(op, 0) else g.node("Identity", [x])
