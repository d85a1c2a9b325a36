"""Casts, copies and comparisons (comparisons carry no gradient)."""
from __future__ import annotations

import operator

from ..autograd import tracing
from ..autograd.function import Function
from ..backend import xp
from ._util import data_of


class Cast(Function):
    saves_inputs = False

    def forward(self, a, dtype=None):
        self.src = a.dtype
        return a.astype(dtype)

    def backward(self, g):
        return (g.astype(self.src),)


class Clone(Function):
    saves_inputs = False

    def forward(self, a):
        return a.copy()

    def backward(self, g):
        return (g,)


def cast(x, dtype):
    from ..tensor import Tensor
    dt = xp.dtype(dtype)
    if x.array.dtype == dt:
        return x
    if x.requires_grad and dt.kind == "f":
        return Cast.apply(x, dtype=dt)
    return tracing.noted(Cast, (x,), {"dtype": dt}, Tensor._make(x.array.astype(dt), None))


def clone(x):
    return Clone.apply(x)


_CMP = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge}


class Compare:
    """What a recording (``autograd.tracing``) notes a comparison as: ``op`` is eq, ne, lt, le, gt or ge."""


def compare(a, b, op: str):
    from ..tensor import Tensor
    out = Tensor._make(xp.asarray(_CMP[op](data_of(a), data_of(b))), None)
    return tracing.noted(Compare, (a, b), {"op": op}, out)


def eq(a, b):
    return compare(a, b, "eq")


def ne(a, b):
    return compare(a, b, "ne")


def lt(a, b):
    return compare(a, b, "lt")


def le(a, b):
    return compare(a, b, "le")


def gt(a, b):
    return compare(a, b, "gt")


def ge(a, b):
    return compare(a, b, "ge")
