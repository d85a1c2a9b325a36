"""The other elementwise math functions at PyTorch's top level (``torch.tan``, ``torch.log1p``, ...), each a
Function with its derivative beside it. The step functions (floor, ceil, round, trunc, sign) have zero
gradient, as in PyTorch.

>>> import lucidnet as ln
>>> ln.log1p(ln.tensor([0.0, 1.0])).tolist() == [0.0, float(ln.log(ln.tensor(2.0)))]
True
"""
from __future__ import annotations

from ..autograd.function import Function
from ..backend import xp

__all__ = ["tan", "asin", "acos", "atan", "sinh", "cosh", "log2", "log10", "log1p", "expm1", "exp2", "rsqrt",
           "reciprocal", "square", "floor", "ceil", "round", "trunc", "sign"]


class _OfInput(Function):
    """y = f(a), dy/da = df(a)."""

    f = staticmethod(xp.negative)

    def forward(self, a):
        self.a = a
        return type(self).f(a)

    def backward(self, g):
        return (g * self.df(self.a),)


class _OfOutput(Function):
    """y = f(a), dy/da = df(y)."""

    saves_inputs = False
    saves_output = True
    f = staticmethod(xp.negative)

    def forward(self, a):
        self.out = type(self).f(a)
        return self.out

    def backward(self, g):
        return (g * self.df(self.out),)


class _Step(Function):
    """A piecewise-constant function: zero gradient."""

    saves_inputs = False
    f = staticmethod(xp.floor)

    def forward(self, a):
        return type(self).f(a)

    def backward(self, g):
        return (xp.zeros_like(g),)


class Tan(_OfOutput):
    f = staticmethod(xp.tan)
    def df(self, y): return 1 + y * y  # noqa: E704


class Asin(_OfInput):
    f = staticmethod(xp.arcsin)
    def df(self, a): return 1 / xp.sqrt(1 - a * a)  # noqa: E704


class Acos(_OfInput):
    f = staticmethod(xp.arccos)
    def df(self, a): return -1 / xp.sqrt(1 - a * a)  # noqa: E704


class Atan(_OfInput):
    f = staticmethod(xp.arctan)
    def df(self, a): return 1 / (1 + a * a)  # noqa: E704


class Sinh(_OfInput):
    f = staticmethod(xp.sinh)
    def df(self, a): return xp.cosh(a)  # noqa: E704


class Cosh(_OfInput):
    f = staticmethod(xp.cosh)
    def df(self, a): return xp.sinh(a)  # noqa: E704


class Log2(_OfInput):
    f = staticmethod(xp.log2)
    def df(self, a): return 1 / (a * a.dtype.type(0.6931471805599453))  # noqa: E704


class Log10(_OfInput):
    f = staticmethod(xp.log10)
    def df(self, a): return 1 / (a * a.dtype.type(2.302585092994046))  # noqa: E704


class Log1p(_OfInput):
    f = staticmethod(xp.log1p)
    def df(self, a): return 1 / (1 + a)  # noqa: E704


class Expm1(_OfOutput):
    f = staticmethod(xp.expm1)
    def df(self, y): return y + 1  # noqa: E704


class Exp2(_OfOutput):
    f = staticmethod(xp.exp2)
    def df(self, y): return y * y.dtype.type(0.6931471805599453)  # noqa: E704


class Rsqrt(_OfOutput):
    @staticmethod
    def f(a): return 1 / xp.sqrt(a)  # noqa: E704
    def df(self, y): return -0.5 * y * y * y  # noqa: E704


class Reciprocal(_OfOutput):
    f = staticmethod(xp.reciprocal)
    def df(self, y): return -(y * y)  # noqa: E704


class Square(_OfInput):
    f = staticmethod(xp.square)
    def df(self, a): return 2 * a  # noqa: E704


class Floor(_Step):
    f = staticmethod(xp.floor)


class Ceil(_Step):
    f = staticmethod(xp.ceil)


class Round(_Step):
    f = staticmethod(xp.round)  # halves to even, as PyTorch


class Trunc(_Step):
    f = staticmethod(xp.trunc)


class Sign(_Step):
    f = staticmethod(xp.sign)


def _unary(cls, name: str):
    def fn(x):
        return cls.apply(x)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"PyTorch's ``{name}``, elementwise, with its gradient."
    return fn


tan, asin, acos, atan, sinh, cosh = (_unary(c, n) for c, n in ((Tan, "tan"), (Asin, "asin"), (Acos, "acos"),
                                                                 (Atan, "atan"), (Sinh, "sinh"), (Cosh, "cosh")))
log2, log10, log1p, expm1, exp2, rsqrt = (_unary(c, n) for c, n in ((Log2, "log2"), (Log10, "log10"),
                                                                     (Log1p, "log1p"), (Expm1, "expm1"),
                                                                     (Exp2, "exp2"), (Rsqrt, "rsqrt")))
reciprocal, square = _unary(Reciprocal, "reciprocal"), _unary(Square, "square")
floor, ceil, round, trunc, sign = (_unary(c, n) for c, n in ((Floor, "floor"), (Ceil, "ceil"),  # noqa: A001
                                                              (Round, "round"), (Trunc, "trunc"), (Sign, "sign")))
