"""Converters of the elementwise ops: arithmetic, math functions, activations, casts, ``where`` and ``clip``."""
from __future__ import annotations

import math

import numpy as np

from ..ops import activation as A
from ..ops import arithmetic as R
from ..ops import inplace as IN
from ..ops import misc as M
from ..ops import unary as U
from .registry import converts

_BINARY = {R.Add: "Add", R.Sub: "Sub", R.Mul: "Mul", R.Div: "Div", R.Pow: "Pow", R.Maximum: "Max",
           R.Minimum: "Min"}
_UNARY = {R.Neg: "Neg", R.Exp: "Exp", R.Log: "Log", R.Sqrt: "Sqrt", R.Abs: "Abs", R.Sin: "Sin", R.Cos: "Cos",
          U.Tan: "Tan", U.Asin: "Asin", U.Acos: "Acos", U.Atan: "Atan", U.Sinh: "Sinh", U.Cosh: "Cosh",
          U.Reciprocal: "Reciprocal", U.Floor: "Floor", U.Ceil: "Ceil", U.Round: "Round", U.Sign: "Sign",
          A.Sigmoid: "Sigmoid", A.Tanh: "Tanh", A.ReLU: "Relu"}


def _dtype(op):
    return op.out.dtype


@converts(*_BINARY)
def binary(g, op):
    return g.node(_BINARY[op.kind], [g.operand(op, 0), g.operand(op, 1)])


@converts(*_UNARY)
def unary(g, op):
    return g.node(_UNARY[op.kind], [g.input(op, 0)])


@converts(U.Log2, U.Log10)
def log_base(g, op):
    base = 2.0 if op.kind is U.Log2 else 10.0
    return g.node("Div", [g.node("Log", [g.input(op, 0)]), g.scalar(math.log(base), _dtype(op))])


@converts(U.Log1p)
def log1p(g, op):
    return g.node("Log", [g.node("Add", [g.input(op, 0), g.scalar(1, _dtype(op))])])


@converts(U.Expm1)
def expm1(g, op):
    return g.node("Sub", [g.node("Exp", [g.input(op, 0)]), g.scalar(1, _dtype(op))])


@converts(U.Exp2)
def exp2(g, op):
    return g.node("Pow", [g.scalar(2, _dtype(op)), g.input(op, 0)])


@converts(U.Rsqrt)
def rsqrt(g, op):
    return g.node("Reciprocal", [g.node("Sqrt", [g.input(op, 0)])])


@converts(U.Square)
def square(g, op):
    x = g.input(op, 0)
    return g.node("Mul", [x, x])


@converts(U.Trunc)
def trunc(g, op):
    x = g.input(op, 0)
    return g.node("Mul", [g.node("Sign", [x]), g.node("Floor", [g.node("Abs", [x])])])


@converts(A.Hardtanh)
def hardtanh(g, op):
    dt = _dtype(op)
    return g.node("Clip", [g.input(op, 0), g.scalar(op.attrs.get("min_val", -1.0), dt),
                           g.scalar(op.attrs.get("max_val", 1.0), dt)])


@converts(R.Clip)
def clip(g, op):
    """``Clip`` with scalar bounds; ``Max``/``Min`` with tensor bounds (which ONNX's ``Clip`` does not take)."""
    out = g.input(op, 0)
    lo, hi = op.attrs.get("lo"), op.attrs.get("hi")
    if all(b is None or np.ndim(b) == 0 for b in (lo, hi)) and all(g.is_const(b) for b in (lo, hi)):
        return g.node("Clip", [out, g.attr(op, "lo") if lo is not None else None,
                               g.attr(op, "hi") if hi is not None else None])
    if lo is not None:
        out = g.node("Max", [out, g.attr(op, "lo")])
    if hi is not None:
        out = g.node("Min", [out, g.attr(op, "hi")])
    return out


@converts(A.LeakyReLU)
def leaky_relu(g, op):
    return g.node("LeakyRelu", [g.input(op, 0)], alpha=float(op.attrs.get("slope", 0.01)))


@converts(A.ELU)
def elu(g, op):
    return g.node("Elu", [g.input(op, 0)], alpha=float(op.attrs.get("alpha", 1.0)))


@converts(A.SiLU)
def silu(g, op):
    x = g.input(op, 0)
    return g.node("Mul", [x, g.node("Sigmoid", [x])])


@converts(A.GELU)
def gelu(g, op):
    """Exact: x * (1 + erf(x / sqrt 2)) / 2; tanh: x * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2 (the
    ``Gelu`` op from opset 20)."""
    x, dt, approx = g.input(op, 0), _dtype(op), op.attrs.get("approximate", "none")
    if g.opset >= 20:
        return g.node("Gelu", [x], approximate=approx)
    if approx == "tanh":
        cube = g.node("Mul", [g.node("Mul", [x, x]), x])
        inner = g.node("Add", [x, g.node("Mul", [cube, g.scalar(0.044715, dt)])])
        t = g.node("Tanh", [g.node("Mul", [inner, g.scalar(math.sqrt(2 / math.pi), dt)])])
    else:
        t = g.node("Erf", [g.node("Mul", [x, g.scalar(1 / math.sqrt(2), dt)])])
    half = g.node("Mul", [x, g.scalar(0.5, dt)])
    return g.node("Mul", [half, g.node("Add", [t, g.scalar(1, dt)])])


@converts(A.Softplus)
def softplus(g, op):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (PyTorch's form)."""
    x, dt = g.input(op, 0), _dtype(op)
    beta, threshold = float(op.attrs.get("beta", 1.0)), float(op.attrs.get("threshold", 20.0))
    z = g.node("Mul", [x, g.scalar(beta, dt)])
    soft = g.node("Div", [g.node("Softplus", [z]), g.scalar(beta, dt)])
    return g.node("Where", [g.node("Greater", [z, g.scalar(threshold, dt)]), x, soft])


@converts(A.Softmax, A.LogSoftmax)
def softmax(g, op):
    return g.node("Softmax" if op.kind is A.Softmax else "LogSoftmax", [g.input(op, 0)],
                  axis=int(op.attrs.get("axis", -1)))


@converts(R.Where)
def where(g, op):
    cond = g.input(op, 0)
    if np.asarray(op.inputs[0]).dtype != np.bool_:
        cond = g.cast(cond, np.bool_)
    return g.node("Where", [cond, g.operand(op, 1), g.operand(op, 2)])


_COMPARE = {"eq": "Equal", "lt": "Less", "le": "LessOrEqual", "gt": "Greater", "ge": "GreaterOrEqual"}


@converts(M.Compare)
def compare(g, op):
    """``Equal``, ``Less``...; ``ne`` is ``Not(Equal)``. A Python number takes the other side's dtype."""
    a, b = op.inputs
    dt = np.result_type(*(x.dtype for x in (a, b) if isinstance(x, np.ndarray)))
    names = []
    for i, x in enumerate((a, b)):
        if not isinstance(x, np.ndarray):
            names.append(g.scalar(x, dt))
        else:
            names.append(g.input(op, i) if x.dtype == dt else g.cast(g.input(op, i), dt))
    kind = op.attrs["op"]
    out = g.node(_COMPARE.get(kind, "Equal"), names)
    return g.node("Not", [out]) if kind == "ne" else out


@converts(M.Cast)
def cast(g, op):
    return g.cast(g.input(op, 0), op.attrs["dtype"])


@converts(IN.Assign)
def assign(g, op):
    """An in-place change (``x += y``, ``relu_``, ``inplace=True``): the tensor is now input 0's value."""
    if np.shape(op.inputs[0]) != op.out.shape:
        g.fail(f"an in-place change broadcasts {np.shape(op.inputs[0])} into {op.out.shape}; use the out-of-place op")
    return g.input(op, 0)


@converts(M.Clone)
def clone(g, op):
    return g.node("Identity", [g.input(op, 0)])
