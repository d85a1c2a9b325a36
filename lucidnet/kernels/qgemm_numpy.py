"""NumPy twin of ``qgemm_numba``: the int8 GEMM with int32 accumulation, exact, through float32 BLAS.

Same names and results as the compiled module. A u8 x s8 product is at most 255 * 128 in magnitude, so a
sum of 512 of them stays below 2**24 and is exact in float32: the product runs as float32 GEMMs over
chunks of 512 along K, each chunk's sums converted to int32 and added. Used where numba is off or missing,
where the CPU has no VNNI instruction, and by the tests as the reference the compiled kernel is held to.
"""
from __future__ import annotations

from ..backend import xp

__all__ = ["lanes", "padded", "pack", "qgemm_rows", "qgemm_panels", "quantize_rows"]

CHUNK = 512  # 512 * 255 * 128 < 2**24: every partial sum of a chunk is an exact float32


def lanes() -> int:
    """0: no vector lanes of its own (the compiled module gives 16 or 8)."""
    return 0


def padded(n: int) -> int:
    """The output width :func:`qgemm_rows` writes: ``n`` (no panels)."""
    return n


def pack(w):
    """``w`` (N, K) int8 as the float32 (K, N) matrix the chunked GEMMs read."""
    return xp.ascontiguousarray(w.T, dtype=xp.float32)


def _accumulate(a, wp):
    """``a @ wp`` in int32, exactly (``a`` uint8 (M, >= K), ``wp`` float32 (K, N))."""
    k = wp.shape[0]
    acc = xp.zeros((a.shape[0], wp.shape[1]), dtype=xp.int32)
    for k0 in range(0, k, CHUNK):
        k1 = min(k0 + CHUNK, k)
        acc += (a[:, k0:k1].astype(xp.float32) @ wp[k0:k1]).astype(xp.int32)
    return acc


def _finish(acc, off, scale, bias, out):
    n = acc.shape[1]
    acc -= off[:n]
    xp.multiply(acc, scale[:n], out=out, casting="unsafe")
    out += bias[:n]


def qgemm_rows(a, wp, c, off, scale, bias, r0, r1):
    """``c[r0:r1, :N] = (a[r0:r1, :K] @ w.T - off) * scale + bias``, ``wp = pack(w)``."""
    _finish(_accumulate(a[r0:r1], wp), off, scale, bias, c[r0:r1, :wp.shape[1]])


def qgemm_panels(a, wp, c, off, scale, bias, p0, p1):
    """As :func:`qgemm_rows` for all rows and output columns ``p0:p1``."""
    _finish(_accumulate(a, wp[:, p0:p1]), off[p0:p1], scale[p0:p1], bias[p0:p1], c[:, p0:p1])


def quantize_rows(x, inv_scale, zero_point, out, r0, r1):
    """``out[r0:r1, :K] = clip(rint(x * inv_scale) + zero_point, 0, 255)`` as uint8 (``x`` float32 (M, K))."""
    q = xp.rint(x[r0:r1] * inv_scale)
    q += zero_point
    xp.clip(q, 0, 255, out=q)
    out[r0:r1, :x.shape[1]] = q
