"""``cblas_sgemm`` through ctypes: a float32 product that adds itself to its output (``beta = 1``), for a bias.

``numpy.matmul`` has no ``beta``: ``x @ W.T + b`` is a product and then a pass over its output, which the product
has just left spread over the cores' caches. Through CBLAS the bias is written into the output first and the
product added to it by the GEMM itself. :func:`gemm` does that with a loaded ``cblas_sgemm`` (oneMKL's in
``kernels.mkl``); :func:`numpy_sgemm` finds the one of the OpenBLAS that NumPy itself loaded (the same library
and threads as ``numpy.matmul``; its symbols carry the wheel's prefix and suffix, ``scipy_cblas_sgemm64_`` for
NumPy 2's 64-bit-integer build). The sum is the same to rounding, not always to the bit: a product whose inner
dimension spans several of BLAS's blocks adds the bias before the blocks' sums rather than after them.

>>> import numpy as np
>>> a, b = np.ones((2, 3), np.float32), np.ones((3, 4), np.float32)
>>> f = numpy_sgemm()
>>> out = gemm(f, a, b, bias=np.arange(4, dtype=np.float32)) if f else a @ b + np.arange(4, dtype=np.float32)
>>> out[1]
array([3., 4., 5., 6.], dtype=float32)
"""
from __future__ import annotations

import ctypes

from ..backend import xp

__all__ = ["gemm", "numpy_sgemm", "bind"]

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
# the names NumPy's OpenBLAS wheels give cblas_sgemm (scipy-openblas 64- and 32-bit integers, older openblas64_)
_NAMES = (("scipy_cblas_sgemm64_", ctypes.c_int64), ("cblas_sgemm64_", ctypes.c_int64),
          ("scipy_cblas_sgemm", ctypes.c_int), ("cblas_sgemm", ctypes.c_int))
_numpy = None  # NumPy's OpenBLAS's bound cblas_sgemm (False: not found)


def bind(fn, int_type=ctypes.c_int):
    """Declare the arguments of a ctypes ``cblas_sgemm`` whose integers are ``int_type``; returns it."""
    fn.restype = None
    fn.argtypes = [ctypes.c_int] * 3 + [int_type] * 3 + [ctypes.c_float, ctypes.c_void_p, int_type, ctypes.c_void_p,
                                                         int_type, ctypes.c_float, ctypes.c_void_p, int_type]
    return fn


def numpy_sgemm():
    """``cblas_sgemm`` of the OpenBLAS that NumPy loaded, bound, or None (another BLAS, no threadpoolctl)."""
    global _numpy
    if _numpy is None:
        _numpy = False
        try:
            from threadpoolctl import ThreadpoolController
            libs = ThreadpoolController().select(internal_api="openblas").lib_controllers
        except Exception:  # noqa: BLE001 - no threadpoolctl, or it could not inspect the process: NumPy's matmul
            libs = []
        for lib in libs:
            if "numpy" not in lib.filepath:
                continue
            try:
                handle = ctypes.CDLL(lib.filepath)  # already loaded: the same library, the same threads
            except OSError:
                continue
            for name, int_type in _NAMES:
                fn = getattr(handle, name, None)
                if fn is not None:
                    _numpy = bind(fn, int_type)
                    break
            if _numpy:
                break
    return _numpy or None


def _operand(a):
    """(transpose flag, leading dimension) of a 2-D float32 array for row-major CBLAS, or None."""
    s0, s1 = a.strides
    if s1 == 4 and s0 >= 4 * max(a.shape[1], 1):
        return _NO_TRANS, s0 // 4
    if s0 == 4 and s1 >= 4 * max(a.shape[0], 1):
        return _TRANS, s1 // 4
    return None


def gemm(fn, a, b, out=None, bias=None):
    """``a @ b`` (``+ bias``, float32 (N,)) for float32 ``a`` (M, K) and ``b`` (K, N) through the bound
    ``cblas_sgemm`` ``fn``, into ``out`` (C-contiguous float32 (M, N)) when given; None when the operands do not
    fit (another dtype or layout: use NumPy). The bias is written into the output first and the product added
    to it by the GEMM."""
    if a.dtype != xp.float32 or b.dtype != xp.float32 or a.ndim != 2 or b.ndim != 2:
        return None
    m, k = a.shape
    n = b.shape[1]
    if b.shape[0] != k or 0 in (m, n, k):
        return None
    if bias is not None and (bias.dtype != xp.float32 or bias.shape not in ((n,), (1, n))):
        return None
    oa, ob = _operand(a), _operand(b)
    if oa is None or ob is None:
        return None
    if out is None:
        out = xp.empty((m, n), dtype=xp.float32)
    elif (out.dtype != xp.float32 or out.shape != (m, n) or not out.flags.c_contiguous
          or xp.may_share_memory(out, a) or xp.may_share_memory(out, b)):
        return None
    beta = 0.0
    if bias is not None:
        out[...] = bias
        beta = 1.0
    fn(_ROW_MAJOR, oa[0], ob[0], m, n, k, 1.0, a.ctypes.data, oa[1], b.ctypes.data, ob[1], beta, out.ctypes.data, n)
    return out
