"""``x @ W.T + b`` with an int8 weight: the product of the quantized layers (``lucidnet.quantization``).

The weight is quantized once, per output channel and symmetric (:class:`Int8Weight`); the input is
quantized at each call, per tensor and asymmetric to uint8 (:func:`activation_qparams`: PyTorch's dynamic
quantization scheme), or with a scale and zero point fixed by calibration (static quantization). The int8
products accumulate in int32 (``kernels.select_qgemm``: VNNI where the CPU has it, exact float32 BLAS chunks
otherwise) and the result is dequantized in the same pass: ``(acc - zp * colsum(W_q)) * s_x * s_w + b``.

>>> import numpy as np
>>> from lucidnet.kernels.qlinear import Int8Weight, int8_linear
>>> w = Int8Weight.from_float(np.array([[1.0, -2.0], [0.5, 0.25]], np.float32))
>>> y = int8_linear(np.array([[1.0, 1.0], [2.0, 0.0]], np.float32), w, np.zeros(2, np.float32))
>>> bool(np.allclose(y, [[-1.0, 0.75], [2.0, 1.0]], atol=0.06))   # within the quantization steps
True
"""
from __future__ import annotations

from . import select_qgemm
from ..backend import xp
from .threads import own_blas, run_rows

__all__ = ["Int8Weight", "activation_qparams", "quantize_weight", "int8_linear", "quantize_input", "quantize_into",
           "int8_matmul"]

QMAX = 127  # weights: symmetric, in [-127, 127] (so -w is representable too)


def quantize_weight(w, axis: int = 0):
    """(int8 values, float32 scales): ``w`` quantized symmetrically per slice along ``axis`` (per output
    channel), ``scale = max|w| / 127`` (1 for an all-zero slice)."""
    w = xp.asarray(w, dtype=xp.float32)
    other = tuple(i for i in range(w.ndim) if i != axis % w.ndim)
    amax = xp.abs(w).max(axis=other) if w.size else xp.zeros(w.shape[axis], xp.float32)
    scale = xp.where(amax > 0, amax / QMAX, 1.0).astype(xp.float32)
    shape = [1] * w.ndim
    shape[axis] = -1
    q = xp.clip(xp.rint(w / scale.reshape(shape)), -QMAX, QMAX).astype(xp.int8)
    return q, scale


def activation_qparams(lo: float, hi: float) -> tuple[float, int]:
    """(scale, zero point) of uint8 quantization for values in [lo, hi], the range widened to hold 0 (so 0
    is exact, as padding needs): PyTorch's ``_choose_qparams`` for quint8 without reduce_range."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if not (xp.isfinite(lo) and xp.isfinite(hi)):
        raise ValueError(f"int8 quantization: the input holds NaN or infinity (range {lo}..{hi}); it cannot be "
                         "quantized")
    scale = (hi - lo) / 255.0
    if scale == 0.0:
        return 1.0, 0
    scale = float(xp.float32(scale))
    zp = int(min(max(round(-lo / scale), 0), 255))
    return scale, zp


class Int8Weight:
    """A weight (N, K) quantized per output row: ``q`` int8 (N, K), ``scale`` float32 (N,); packed for the
    kernel in use on first use (and again if the kernel choice changes)."""

    __slots__ = ("q", "scale", "colsum", "_packs")

    def __init__(self, q, scale):
        if q.dtype != xp.int8 or q.ndim != 2 or scale.shape != (q.shape[0],):
            raise ValueError(f"Int8Weight: expected int8 (N, K) values and (N,) scales, got {q.dtype} {q.shape} "
                             f"and {scale.shape}")
        self.q, self.scale = xp.ascontiguousarray(q), xp.asarray(scale, dtype=xp.float32)
        self.colsum = self.q.sum(axis=1, dtype=xp.int32)
        self._packs: dict = {}

    @classmethod
    def from_float(cls, w) -> "Int8Weight":
        """Quantize a float weight (N, K) per row."""
        return cls(*quantize_weight(w, 0))

    def packed(self, k):
        """The weight packed for kernel module ``k``."""
        p = self._packs.get(k.__name__)
        if p is None:
            p = self._packs[k.__name__] = k.pack(self.q)
        return p

    def dequantize(self):
        """The float32 weight the int8 values stand for."""
        return self.q.astype(xp.float32) * self.scale[:, None]


def _pad(v, n, dtype):
    out = xp.zeros(n, dtype=dtype)
    out[:v.shape[0]] = v
    return out


def int8_linear(x, w: Int8Weight, bias=None, qparams: tuple[float, int] | None = None):
    """``x @ w.T + bias`` for float32 ``x`` (M, K) through the int8 kernel -> float32 (M, N) (possibly a view
    of a wider array). ``qparams`` (scale, zero point) of the input; None: from its range (dynamic)."""
    if x.shape[1] != w.q.shape[1]:
        raise ValueError(f"int8_linear: input of shape {x.shape} does not fit a weight of shape {w.q.shape}")
    a, qparams = quantize_input(x, qparams)
    return int8_matmul(a, w, bias, qparams)


def quantize_input(x, qparams: tuple[float, int] | None = None):
    """``(a, qparams)``: float32 ``x`` (M, K) quantized to uint8 ``a`` (M, K rounded up to a multiple of 4, the
    columns past K zero), as :func:`int8_matmul` takes it; ``qparams`` None: from ``x``'s range (dynamic)."""
    m, k_ = x.shape
    if qparams is None:
        qparams = activation_qparams(x.min(), x.max()) if x.size else (1.0, 0)
    k4 = -(-k_ // 4) * 4
    a = xp.empty((m, k4), dtype=xp.uint8)
    if k4 != k_:
        a[:, k_:] = 0
    quantize_into(x, qparams, a)
    return a, qparams


def quantize_into(x, qparams: tuple[float, int], out) -> None:
    """``out[:, :K] = clip(rint(x / scale) + zero_point, 0, 255)`` as uint8, for float32 ``x`` (M, K) (the
    kernel's own rounding: ``x * (1 / scale)``)."""
    x = xp.ascontiguousarray(x, dtype=xp.float32)
    kern = select_qgemm(x)
    with own_blas():
        run_rows(kern.quantize_rows, x.shape[0], x, xp.float32(1.0 / qparams[0]), xp.float32(qparams[1]), out)


def int8_matmul(a, w: Int8Weight, bias, qparams: tuple[float, int], out=None):
    """The float32 (M, N) result of an already quantized uint8 input ``a`` (M, K rounded up to a multiple of 4,
    the columns past K zero) with ``qparams`` (scale, zero point): ``(a @ W_q.T - zp * colsum) * s_x * s_w + b``;
    written into ``out`` (a C-contiguous float32 (M, N) array) when given."""
    m, n = a.shape[0], w.q.shape[0]
    kern = select_qgemm()
    s_x, zp = qparams
    width = kern.padded(n)
    off = _pad(w.colsum * xp.int32(zp), width, xp.int32)
    scale = _pad(w.scale * xp.float32(s_x), width, xp.float32)
    b = _pad(xp.zeros(n, xp.float32) if bias is None else xp.asarray(bias, xp.float32), width, xp.float32)
    direct = out is not None and width == n and out.flags.c_contiguous and out.shape == (m, n)
    c = out if direct else xp.empty((m, width), dtype=xp.float32)
    wp = w.packed(kern)
    with own_blas():
        if m >= 16:
            run_rows(kern.qgemm_rows, m, a, wp, c, off, scale, b)
        else:  # few rows: the threads share the output columns (panels)
            run_rows(kern.qgemm_panels, width // max(kern.lanes(), 1), a, wp, c, off, scale, b)
    if out is not None and not direct:
        out[...] = c[:, :n]
        return out
    return c if width == n else c[:, :n]
