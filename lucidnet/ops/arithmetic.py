"""Elementwise arithmetic and math: + - * / neg pow exp log sqrt abs maximum minimum clip where."""
from __future__ import annotations

from ..autograd.function import Function, unbroadcast
from ..backend import xp
from ._util import operands


class Add(Function):
    saves_inputs = False

    def forward(self, a, b):
        self.sa, self.sb = a.shape, b.shape
        return a + b

    def backward(self, g):
        return (unbroadcast(g, self.sa) if self.needs[0] else None,
                unbroadcast(g, self.sb) if self.needs[1] else None)


class Sub(Function):
    saves_inputs = False

    def forward(self, a, b):
        self.sa, self.sb = a.shape, b.shape
        return a - b

    def backward(self, g):
        return (unbroadcast(g, self.sa) if self.needs[0] else None,
                unbroadcast(-g, self.sb) if self.needs[1] else None)


class Mul(Function):
    saves_inputs = "product"

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        return (unbroadcast(g * self.b, self.a.shape) if self.needs[0] else None,
                unbroadcast(g * self.a, self.b.shape) if self.needs[1] else None)


class Div(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        ga = gb = None
        gq = g / self.b
        if self.needs[0]:
            ga = unbroadcast(gq, self.a.shape)
        if self.needs[1]:
            gb = unbroadcast(-gq * self.a / self.b, self.b.shape)
        return ga, gb


class Pow(Function):
    saves_output = True

    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = a ** b
        return self.out

    def backward(self, g):
        a, b = self.a, self.b
        ga = gb = None
        if self.needs[0]:
            with xp.errstate(divide="ignore", invalid="ignore"):
                d = b * a ** (b - 1)
            if (b == 0).any():  # d/da a**0 is 0 everywhere, also at a == 0 where the formula gives 0 * inf
                d = xp.where(b == 0, xp.zeros((), dtype=d.dtype), d)
            ga = unbroadcast(g * d, a.shape)
        if self.needs[1]:
            with xp.errstate(divide="ignore", invalid="ignore"):
                la = xp.where(a > 0, xp.log(xp.where(a > 0, a, 1)), 0).astype(self.out.dtype)
            gb = unbroadcast(g * self.out * la, b.shape)
        return ga, gb


class Maximum(Function):
    """Elementwise maximum; where the inputs tie, the gradient is split evenly (as in PyTorch)."""
    sign = 1

    def forward(self, a, b):
        self.a, self.b = a, b
        return xp.maximum(a, b) if self.sign > 0 else xp.minimum(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        # asarray, not astype: with 0-d inputs the comparison is a NumPy scalar, which cannot be assigned into
        wa = xp.asarray((a > b) if self.sign > 0 else (a < b), dtype=g.dtype)
        wa[xp.broadcast_to(a == b, wa.shape)] = 0.5
        return (unbroadcast(g * wa, a.shape) if self.needs[0] else None,
                unbroadcast(g * (1 - wa), b.shape) if self.needs[1] else None)


class Minimum(Maximum):
    sign = -1


class Neg(Function):
    saves_inputs = False

    def forward(self, a):
        return -a

    def backward(self, g):
        return (-g,)


class Exp(Function):
    saves_inputs = False
    saves_output = True

    def forward(self, a):
        self.out = xp.exp(a)
        return self.out

    def backward(self, g):
        return (g * self.out,)


class Sin(Function):
    def forward(self, a):
        self.a = a
        return xp.sin(a)

    def backward(self, g):
        return (g * xp.cos(self.a),)


class Cos(Function):
    def forward(self, a):
        self.a = a
        return xp.cos(a)

    def backward(self, g):
        return (-g * xp.sin(self.a),)


class Log(Function):
    def forward(self, a):
        self.a = a
        return xp.log(a)

    def backward(self, g):
        return (g / self.a,)


class Sqrt(Function):
    saves_inputs = False
    saves_output = True

    def forward(self, a):
        self.out = xp.sqrt(a)
        return self.out

    def backward(self, g):
        return (g / (2 * self.out),)


class Abs(Function):
    def forward(self, a):
        self.a = a
        return xp.abs(a)

    def backward(self, g):
        return (g * xp.sign(self.a),)


class Clip(Function):
    saves_inputs = False

    def forward(self, a, lo=None, hi=None):
        out = xp.clip(a, lo, hi)
        self.inside = out == a  # a in [lo, hi] (a NaN is not): one bool pass, and one multiply in backward
        return out

    def backward(self, g):
        return (xp.multiply(g, self.inside),)


class Where(Function):
    def forward(self, cond, a, b):
        self.cond, self.sa, self.sb = cond, a.shape, b.shape
        return xp.where(cond, a, b)

    def backward(self, g):
        z = xp.zeros((), dtype=g.dtype)
        return (None,
                unbroadcast(xp.where(self.cond, g, z), self.sa) if self.needs[1] else None,
                unbroadcast(xp.where(self.cond, z, g), self.sb) if self.needs[2] else None)


def _broadcast_error(name, *xs):
    shapes = " and ".join(str(tuple(xp.shape(getattr(x, "array", x)))) for x in xs)
    return ValueError(f"{name}: shapes {shapes} do not broadcast together")


def _binary(op, name):
    def f(a, b):
        a, b = operands(a, b, name)
        try:
            return op.apply(a, b)
        except ValueError:
            try:
                xp.broadcast_shapes(xp.shape(getattr(a, "array", a)), xp.shape(getattr(b, "array", b)))
            except ValueError:
                raise _broadcast_error(name, a, b) from None
            raise
    f.__name__ = name
    f.__doc__ = f"Elementwise ``{name}`` with broadcasting; the gradient is summed back to each input's shape."
    return f


add = _binary(Add, "add")
sub = _binary(Sub, "sub")
mul = _binary(Mul, "mul")
_div = _binary(Div, "div")


def div(a, b):
    """True division; two integer operands give the default float dtype (float32), as in PyTorch."""
    from ..tensor import Tensor, get_default_dtype
    from .misc import cast
    if all(isinstance(t, Tensor) and t.array.dtype.kind != "f" for t in (a, b)):
        a, b = cast(a, get_default_dtype()), cast(b, get_default_dtype())
    elif isinstance(a, Tensor) and a.array.dtype.kind != "f" and not isinstance(b, (Tensor, float)):
        a = cast(a, get_default_dtype())
    elif isinstance(b, Tensor) and b.array.dtype.kind != "f" and not isinstance(a, (Tensor, float)):
        b = cast(b, get_default_dtype())
    return _div(a, b)
pow = _binary(Pow, "pow")  # noqa: A001
maximum = _binary(Maximum, "maximum")
minimum = _binary(Minimum, "minimum")


def neg(x):
    return Neg.apply(x)


def exp(x):
    return Exp.apply(x)


def log(x):
    return Log.apply(x)


def sin(x):
    return Sin.apply(x)


def cos(x):
    return Cos.apply(x)


def sqrt(x):
    return Sqrt.apply(x)


def abs(x):  # noqa: A001
    return Abs.apply(x)


def clip(x, min=None, max=None):  # noqa: A002
    """Clamp into [min, max]; the gradient passes where the input lies inside (bounds included)."""
    dt = x.array.dtype
    lo = None if min is None else xp.asarray(min, dtype=dt)
    hi = None if max is None else xp.asarray(max, dtype=dt)
    return Clip.apply(x, lo=lo, hi=hi)


clamp = clip


def where(condition, x, y):
    """``x`` where ``condition`` holds, else ``y`` (broadcast); no gradient flows to the condition."""
    from ..tensor import Tensor

    cond = condition.array if isinstance(condition, Tensor) else xp.asarray(condition)
    x, y = operands(x, y, "where")
    try:
        return Where.apply(cond.astype(bool, copy=False), x, y)
    except ValueError:
        try:
            xp.broadcast_shapes(cond.shape, xp.shape(getattr(x, "array", x)), xp.shape(getattr(y, "array", y)))
        except ValueError:
            raise _broadcast_error("where", cond, x, y) from None
        raise
