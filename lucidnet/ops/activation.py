"""Activations, each with its backward, stable at large inputs (no overflow, no NaN at +-1000)."""
from __future__ import annotations

import math

from .. import kernels
from ..autograd.function import Function
from ..backend import xp


def stable_sigmoid(a):
    """The logistic function of an array, without overflow for large |a| (no autograd)."""
    # 1/(1+exp(-a)) overflows exp for a << 0; use exp(-|a|) on both sides instead
    e = xp.exp(-xp.abs(a))
    return xp.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)


class Sigmoid(Function):
    saves_inputs = False
    saves_output = True

    def forward(self, a):
        self.out = stable_sigmoid(a)
        return self.out

    def backward(self, g):
        s = self.out
        return (g * s * (1 - s),)


class Tanh(Function):
    saves_inputs = False
    saves_output = True

    def forward(self, a):
        self.out = xp.tanh(a)
        return self.out

    def backward(self, g):
        return (g * (1 - self.out * self.out),)


class ReLU(Function):
    saves_inputs = False
    saves_output = True

    def forward(self, a):
        self.out = xp.maximum(a, 0)
        return self.out

    def backward(self, g):
        out = self.out
        nb = kernels.compiled("act", g, out)
        if nb is not None and memory_order(out) is not None:  # one compiled pass, in the output's layout
            return (_masked_grad(nb.positive_grad, g, out),)
        return (g * (out > 0),)


class Hardtanh(Function):
    """x clipped to [min_val, max_val]; the gradient passes strictly inside (PyTorch's rule)."""

    def forward(self, a, min_val=-1.0, max_val=1.0):
        lo, hi = a.dtype.type(min_val), a.dtype.type(max_val)
        nb = self.fused = kernels.compiled("act", a)
        flat = memory_order(a) if nb is not None else None
        if flat is not None:  # one compiled pass, in the input's memory layout (a conv's channels-last)
            out, self.inside = xp.empty_like(a), xp.empty_like(a, dtype=bool)
            nb.clip_forward(flat, lo, hi, memory_order(out), memory_order(self.inside))
            return out
        self.fused = None
        self.inside = (a > min_val) & (a < max_val)
        return xp.clip(a, lo, hi)

    def backward(self, g):
        inside = self.inside
        if self.fused is not None and g.dtype == xp.float32:
            return (_masked_grad(self.fused.mask_grad, g, inside),)
        return (g * inside,)


def _masked_grad(kernel, g, mask):
    """``kernel(g, mask, gx)`` on flat memory-order views (``mask`` must have one), ``gx`` in the mask's layout;
    ``g`` of another layout is copied into ``gx`` first."""
    gx = xp.empty_like(mask, dtype=g.dtype)
    gf = memory_order(g) if g.strides == gx.strides else None
    if gf is None:
        gx[...] = g
        gf = memory_order(gx)
    kernel(gf, memory_order(mask), memory_order(gx))
    return gx


def memory_order(a):
    """The elements of ``a`` as a flat view in memory order (a transposed or channels-last array too), or
    None when they do not fill one contiguous block."""
    flat = a.ravel(order="K")
    return flat if flat.size == 0 or xp.may_share_memory(flat, a) else None


class LeakyReLU(Function):
    def forward(self, a, slope=0.01):
        self.pos, self.slope = a > 0, slope
        return xp.where(self.pos, a, a * slope)

    def backward(self, g):
        return (xp.where(self.pos, g, g * self.slope),)


class ELU(Function):
    def forward(self, a, alpha=1.0):
        self.pos, self.alpha = a > 0, alpha
        self.em = xp.expm1(xp.minimum(a, 0))
        return xp.where(self.pos, a, alpha * self.em)

    def backward(self, g):
        return (xp.where(self.pos, g, g * self.alpha * (self.em + 1)),)


class GELU(Function):
    """Exact GELU, x * Phi(x), or the tanh approximation (``approximate='tanh'``), as in PyTorch.

    Exact GELU on float32 runs the compiled kernels of ``kernels.act_numba`` when numba is on (one pass
    each way); the NumPy form below is their reference."""

    def forward(self, a, approximate="none"):
        self.a, self.approximate = a, approximate
        nb = self.fused = kernels.compiled("act", a) if approximate == "none" else None
        if nb is not None:
            flat = self.a = xp.ascontiguousarray(a).reshape(-1)
            out = xp.empty_like(flat)
            if any(self.needs):
                self.cdf = xp.empty_like(flat)
                nb.gelu_forward(flat, out, self.cdf)
            else:
                nb.gelu(flat, out)
            return out.reshape(a.shape)
        if approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            self.t = xp.tanh(k * (a + 0.044715 * a ** 3))
            return 0.5 * a * (1 + self.t)
        self.cdf = (0.5 * (1 + _erf(a / math.sqrt(2)))).astype(a.dtype, copy=False)
        return a * self.cdf

    def backward(self, g):
        a = self.a
        if self.fused is not None:
            out = xp.empty_like(a)
            self.fused.gelu_backward(xp.ascontiguousarray(g).reshape(-1), a, self.cdf, out)
            return (out.reshape(g.shape),)
        if self.approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            t = self.t
            d = 0.5 * (1 + t) + 0.5 * a * (1 - t * t) * k * (1 + 3 * 0.044715 * a * a)
            return (g * d,)
        pdf = xp.exp(-0.5 * a * a) * (1 / math.sqrt(2 * math.pi))
        return (g * (self.cdf + a * pdf),)


def _erf(x):
    """Elementwise erf in the input's dtype (NumPy has no erf ufunc).

    float32: Abramowitz-Stegun 7.1.26 (absolute error < 1.5e-7, below float32's resolution near 1);
    float64: math.erf per element (exact, slower; float64 is for checking, not speed)."""
    if x.dtype == xp.float64:
        return xp.vectorize(math.erf, otypes=[xp.float64])(x)
    t = 1 / (1 + 0.3275911 * xp.abs(x))
    y = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * xp.exp(-x * x)
    return (xp.sign(x) * y).astype(x.dtype)


class SiLU(Function):
    def forward(self, a):
        self.a = a
        self.s = stable_sigmoid(a)
        return a * self.s

    def backward(self, g):
        s = self.s
        return (g * s * (1 + self.a * (1 - s)),)


class Softplus(Function):
    """log(1 + exp(beta*x)) / beta, linear above ``threshold`` (PyTorch's form)."""

    def forward(self, a, beta=1.0, threshold=20.0):
        self.a, self.beta, self.threshold = a, beta, threshold
        z = a * beta
        # log1p(exp(z)) = max(z,0) + log1p(exp(-|z|)), stable for any z
        sp = (xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))) / beta
        return xp.where(z > threshold, a, sp).astype(a.dtype, copy=False)

    def backward(self, g):
        z = self.a * self.beta
        return (xp.where(z > self.threshold, g, g * stable_sigmoid(z)),)


class Softmax(Function):
    saves_inputs = False
    saves_output = True

    def forward(self, a, axis=-1):
        self.axis = axis
        e = xp.exp(a - a.max(axis=axis, keepdims=True))
        e /= e.sum(axis=axis, keepdims=True)
        self.out = e
        return e

    def backward(self, g):
        s = self.out
        gs = g * s
        gs -= s * gs.sum(axis=self.axis, keepdims=True)
        return (gs,)


class LogSoftmax(Function):
    saves_inputs = False
    saves_output = True

    def forward(self, a, axis=-1):
        self.axis = axis
        z = a - a.max(axis=axis, keepdims=True)
        z -= xp.log(xp.exp(z).sum(axis=axis, keepdims=True))
        self.out = z
        return z

    def backward(self, g):
        return (g - xp.exp(self.out) * g.sum(axis=self.axis, keepdims=True),)


def sigmoid(x):
    return Sigmoid.apply(x)


def tanh(x):
    return Tanh.apply(x)


def relu(x):
    return ReLU.apply(x)


def hardtanh(x, min_val: float = -1.0, max_val: float = 1.0):
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val={min_val} must not exceed max_val={max_val}")
    return Hardtanh.apply(x, min_val=float(min_val), max_val=float(max_val))


def relu6(x):
    """min(max(x, 0), 6): ``hardtanh(x, 0, 6)``."""
    return Hardtanh.apply(x, min_val=0.0, max_val=6.0)


def leaky_relu(x, negative_slope: float = 0.01):
    return LeakyReLU.apply(x, slope=negative_slope)


def elu(x, alpha: float = 1.0):
    return ELU.apply(x, alpha=alpha)


def gelu(x, approximate: str = "none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(x, approximate=approximate)


def silu(x):
    return SiLU.apply(x)


def softplus(x, beta: float = 1.0, threshold: float = 20.0):
    return Softplus.apply(x, beta=beta, threshold=threshold)


def softmax(x, dim: int = -1, *, axis=None):
    return Softmax.apply(x, axis=dim if axis is None else axis)


def log_softmax(x, dim: int = -1, *, axis=None):
    return LogSoftmax.apply(x, axis=dim if axis is None else axis)
