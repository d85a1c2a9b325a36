"""An int8 GEMM with int32 accumulation on the CPU's integer dot-product instruction (VNNI ``vpdpbusd``).

``c = (a_u8 @ w_s8.T - offset) * scale + bias``: unsigned 8-bit activations times signed 8-bit weights,
summed exactly in int32, then turned to float32 in the same pass (the dequantisation of
``lucidnet.quantization``). ``vpdpbusd`` multiplies four u8 by four s8 and adds the four products into one
int32 lane, with no intermediate saturation (unlike ``vpmaddubsw``, which saturates pairs to int16).

numba's own loops do not reach it: an int8 x int8 -> int32 loop written in Python compiles to ``vpmaddwd``
(int16 pairs) on 256-bit registers, and a u8 x s8 one to ``vpdpwssd``, both well below float32 BLAS (the
README's Quantization section has the figures). So, as ``gemm_numba`` does for float32, the block is written
as LLVM IR through ``numba.extending.intrinsic`` and calls ``llvm.x86.avx512.vpdpbusd.{512,256}``; it is
compiled only where the CPU has AVX512-VNNI (16 lanes) or AVX-VNNI (8 lanes): :func:`lanes` says which,
and ``kernels.qgemm`` takes the NumPy twin (``qgemm_numpy``) elsewhere.

Layout: the weight (N, K) int8 is packed once into panels of ``L`` output columns, ``(ceil(N / L), K4, L,
4)`` with ``K4 = ceil(K / 4)``: a vector holds four consecutive k of ``L`` columns. The activations (M, >= 4*K4)
uint8 rows are read four bytes at a time and broadcast. A block computes ``R`` rows by ``L`` columns in ``R``
accumulators.

>>> import numpy as np
>>> from lucidnet.kernels import qgemm_numba as q
>>> if q.lanes():
...     w = np.array([[1, -2, 3], [4, 5, -6]], np.int8)
...     a = np.array([[1, 2, 3, 0], [0, 0, 1, 0]], np.uint8)
...     c = np.empty((2, q.padded(2)), np.float32)
...     ones, zeros = np.ones(q.padded(2), np.float32), np.zeros(q.padded(2), np.float32)
...     q.qgemm_rows(a, q.pack(w), c, np.zeros(q.padded(2), np.int32), ones, zeros, 0, 2)
...     print(c[:, :2].tolist())
... else:
...     print([[6.0, -4.0], [3.0, -6.0]])
[[6.0, -4.0], [3.0, -6.0]]
"""
from __future__ import annotations

import numpy as np
from llvmlite import binding, ir
from numba import njit, types
from numba.extending import intrinsic

from .gemm_numba import broadcast_loop

__all__ = ["lanes", "padded", "pack", "qgemm_rows", "qgemm_panels", "quantize_rows"]


def _host_lanes() -> int:
    features = binding.get_host_cpu_features()
    if features.get("avx512vnni") and features.get("avx512vl", True):
        return 16
    if features.get("avxvnni"):
        return 8
    return 0


_LANES = _host_lanes()
L = _LANES or 16  # int32 lanes of one vector: 16 with AVX512-VNNI, 8 with AVX-VNNI


def lanes() -> int:
    """16 (AVX512-VNNI), 8 (AVX-VNNI), or 0 when the CPU has no integer dot-product instruction."""
    return _LANES


def padded(n: int) -> int:
    """``n`` rounded up to whole panels: the width of an output written by :func:`qgemm_rows`."""
    return -(-n // L) * L


def pack(w: np.ndarray) -> np.ndarray:
    """Pack ``w`` (N, K) int8 into panels (ceil(N / L), ceil(K / 4), L, 4); the padding is zero."""
    n, k = w.shape
    k4 = -(-k // 4)
    out = np.zeros((padded(n), 4 * k4), dtype=np.int8)
    out[:n, :k] = w
    return np.ascontiguousarray(out.reshape(padded(n) // L, L, k4, 4).transpose(0, 2, 1, 3))


def _block(rows: int):
    """An intrinsic ``block(a, r0, wp, p, c, off, scale, bias)``: rows ``r0:r0+rows``, columns ``Lp:Lp+L`` of
    ``c`` = (``a`` @ panel p - off) * scale + bias. ``a`` (M, >= 4*K4) uint8 with unit column stride; ``wp``
    from :func:`pack`; ``c`` (M, >= L(p+1)) float32 with unit column stride; ``off`` int32, ``scale`` and
    ``bias`` float32, each (>= L(p+1),). Nothing is checked here: :func:`qgemm_rows` checks."""
    @intrinsic
    def block(typingctx, a, r0, wp, p, c, off, scale, bias):
        sig = types.void(a, r0, wp, p, c, off, scale, bias)

        def codegen(context, builder, signature, args):
            av, r0v, wv, pv, cv, ov, sv, bv = args
            aa, wa, ca, oa, sa, ba = (context.make_array(signature.args[i])(context, builder, args[i])
                                      for i in (0, 2, 4, 5, 6, 7))
            i32, i64, f32 = ir.IntType(32), ir.IntType(64), ir.FloatType()
            vi, vf = ir.VectorType(i32, L), ir.VectorType(f32, L)
            k4 = builder.extract_value(wa.shape, 1)
            a_rs = builder.extract_value(aa.strides, 0)  # bytes
            c_rs = builder.sdiv(builder.extract_value(ca.strides, 0), ir.Constant(i64, 4))
            lc = ir.Constant(i64, L)
            a0 = builder.gep(aa.data, [builder.mul(r0v, a_rs)])
            w0 = builder.bitcast(wa.data, vi.as_pointer())
            w0 = builder.gep(w0, [builder.mul(pv, k4)])
            name = f"llvm.x86.avx512.vpdpbusd.{32 * L}"
            dot = builder.module.globals.get(name) or ir.Function(builder.module, ir.FunctionType(vi, [vi] * 3), name)
            zero = ir.Constant(vi, [0] * L)

            def step(g):  # (64 weight bytes, four activation bytes of each row as one i32) at group g
                ag = builder.gep(a0, [builder.mul(g, ir.Constant(i64, 4))])
                return builder.load(builder.gep(w0, [g]), align=1), [
                    builder.load(builder.bitcast(builder.gep(ag, [builder.mul(ir.Constant(i64, r), a_rs)]),
                                                 i32.as_pointer()), align=1) for r in range(rows)]

            out = broadcast_loop(builder, k4, rows, zero, step, lambda acc, x, w: builder.call(dot, [acc, x, w]))
            col = builder.mul(pv, lc)

            def vec(a, t):
                return builder.load(builder.bitcast(builder.gep(a.data, [col]), t.as_pointer()), align=1)

            offv, scv, biv = vec(oa, vi), vec(sa, vf), vec(ba, vf)
            c0 = builder.gep(ca.data, [builder.add(builder.mul(r0v, c_rs), col)])
            for r, o in enumerate(out):
                y = builder.sitofp(builder.sub(o, offv), vf)
                y = builder.fadd(builder.fmul(y, scv), biv)
                ptr = builder.gep(c0, [builder.mul(ir.Constant(i64, r), c_rs)])
                builder.store(y, builder.bitcast(ptr, vf.as_pointer()), align=4)
            return context.get_dummy_value()
        return sig, codegen
    return block


_b8, _b4, _b2, _b1 = _block(8), _block(4), _block(2), _block(1)


@njit(nogil=True, cache=True)
def _check(a, wp, c, off, scale, bias, r1):  # pragma: no cover - compiled
    width = wp.shape[0] * wp.shape[2]
    if a.shape[1] < 4 * wp.shape[1] or a.strides[1] != 1 or c.shape[1] < width or c.strides[1] != 4 \
            or r1 > a.shape[0] or r1 > c.shape[0] or off.shape[0] < width or scale.shape[0] < width \
            or bias.shape[0] < width or wp.shape[2] != L or wp.shape[3] != 4:
        raise ValueError("qgemm: shapes do not fit")


@njit(nogil=True, cache=True)
def _rows(a, wp, c, off, scale, bias, p, r0, r1):  # pragma: no cover - compiled
    r = r0
    while r + 8 <= r1:
        _b8(a, r, wp, p, c, off, scale, bias)
        r += 8
    if r + 4 <= r1:
        _b4(a, r, wp, p, c, off, scale, bias)
        r += 4
    if r + 2 <= r1:
        _b2(a, r, wp, p, c, off, scale, bias)
        r += 2
    if r < r1:
        _b1(a, r, wp, p, c, off, scale, bias)


@njit(nogil=True, cache=True)
def qgemm_rows(a, wp, c, off, scale, bias, r0, r1):  # pragma: no cover - compiled
    """``c[r0:r1, :padded(N)] = (a[r0:r1] @ w.T - off) * scale + bias`` where ``wp = pack(w)``.

    ``a`` (M, >= 4 * ceil(K / 4)) uint8 (columns past K must meet zero weights: any value); ``off`` int32,
    ``scale`` and ``bias`` float32 of length >= padded(N). Rows ``r0:r1`` only, so threads may split a call.
    Rows are taken in blocks of 64 so that they stay in cache while every panel passes over them.
    """
    _check(a, wp, c, off, scale, bias, r1)
    for b0 in range(r0, r1, 64):
        b1 = min(b0 + 64, r1)
        for p in range(wp.shape[0]):
            _rows(a, wp, c, off, scale, bias, p, b0, b1)


@njit(nogil=True, cache=True)
def qgemm_panels(a, wp, c, off, scale, bias, p0, p1):  # pragma: no cover - compiled
    """As :func:`qgemm_rows` over all rows and panels ``p0:p1`` only (for few rows: threads split columns)."""
    _check(a, wp, c, off, scale, bias, a.shape[0])
    for p in range(p0, p1):
        _rows(a, wp, c, off, scale, bias, p, 0, a.shape[0])


@njit(nogil=True, cache=True)
def quantize_rows(x, inv_scale, zero_point, out, r0, r1):  # pragma: no cover - compiled
    """``out[r0:r1, :K] = clip(rint(x * inv_scale) + zero_point, 0, 255)`` as uint8 (``x`` float32 (M, K));
    the same float32 arithmetic as ``qgemm_numpy.quantize_rows``, so both give the same bytes."""
    lo, hi = np.float32(0.0), np.float32(255.0)
    for i in range(r0, r1):
        xi, oi = x[i], out[i]
        for j in range(x.shape[1]):
            v = np.rint(xi[j] * inv_scale) + zero_point
            v = lo if v < lo else v
            v = hi if v > hi else v
            oi[j] = np.uint8(v)
