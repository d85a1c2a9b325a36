"""Converters of the reductions: sum, mean, var, max/min (over axes, or along one dim: the values),
logsumexp and cumsum."""
from __future__ import annotations

import math

import numpy as np

from ..ops import reduce as R
from .registry import converts


def _axes(op):
    axes = op.attrs.get("axes")
    return None if axes is None else tuple(int(a) for a in axes)


@converts(R.Sum, R.Mean)
def sum_mean(g, op):
    return g.reduce("ReduceSum" if op.kind is R.Sum else "ReduceMean", g.input(op, 0), _axes(op),
                    bool(op.attrs.get("keepdims", False)))


@converts(R.Extreme)
def extreme(g, op):
    kind = "ReduceMax" if op.attrs.get("mode", "max") == "max" else "ReduceMin"
    return g.reduce(kind, g.input(op, 0), _axes(op), bool(op.attrs.get("keepdims", False)))


@converts(R.ExtremeAlong)
def extreme_along(g, op):
    kind = "ReduceMax" if op.attrs.get("mode", "max") == "max" else "ReduceMin"
    return g.reduce(kind, g.input(op, 0), (int(op.attrs.get("axis", 0)),), bool(op.attrs.get("keepdims", False)))


@converts(R.Var)
def var(g, op):
    """mean((x - mean(x))^2) * n / (n - correction), n the number of reduced elements (a static count)."""
    a1, a2 = op.inputs[0], op.twin.inputs[0]
    axes = _axes(op)
    count = [int(np.prod([a.shape[i] for i in (range(a.ndim) if axes is None else axes)])) for a in (a1, a2)]
    if count[0] != count[1]:
        g.fail("var over a dynamic axis is not supported (its count of elements would have to be computed)")
    n, c = count[0], int(op.attrs.get("correction", 1))
    x = g.input(op, 0)
    centred = g.node("Sub", [x, g.reduce("ReduceMean", x, axes, True)])
    out = g.reduce("ReduceMean", g.node("Mul", [centred, centred]), axes, bool(op.attrs.get("keepdims", False)))
    scale = n / (n - c) if n > c else math.nan
    return out if scale == 1 else g.node("Mul", [out, g.scalar(scale, op.out.dtype)])


@converts(R.LogSumExp)
def logsumexp(g, op):
    """max + log(sum(exp(x - max))), the stable form."""
    x, axes, keep = g.input(op, 0), _axes(op), bool(op.attrs.get("keepdims", False))
    m = g.reduce("ReduceMax", x, axes, True)
    s = g.node("Log", [g.reduce("ReduceSum", g.node("Exp", [g.node("Sub", [x, m])]), axes, True)])
    out = g.node("Add", [s, m])
    if keep:
        return out
    return g.node("Squeeze", [out] + ([] if axes is None else [g.ints(axes)]))


@converts(R.CumSum)
def cumsum(g, op):
    return g.node("CumSum", [g.input(op, 0), g.scalar(int(op.attrs.get("axis", 0)), np.int64)])
