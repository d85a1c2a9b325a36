"""``cblas_sgemm`` through ctypes: a float32 product that adds itself to its output (``beta = 1``), for a bias;
and ``cblas_saxpy``, for a large update ``y += a * x`` on BLAS's own threads.

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

__all__ = ["gemm", "numpy_sgemm", "numpy_saxpy", "bind"]

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
# the names NumPy's OpenBLAS wheels give a CBLAS function (scipy-openblas 64- and 32-bit integers, older openblas64_)
_NAMES = (("scipy_cblas_{}64_", ctypes.c_int64), ("cblas_{}64_", ctypes.c_int64),
          ("scipy_cblas_{}", ctypes.c_int), ("cblas_{}", ctypes.c_int))
_numpy = {}  # name -> NumPy's OpenBLAS's bound function (False: not found)


def bind(fn, int_type=ctypes.c_int):
    """Declare the arguments of a ctypes ``cblas_sgemm`` whose integers are ``int_type``; returns it."""
    fn.restype = None
    fn.argtypes = [ctypes.c_int] * 3 + [int_type] * 3 + [ctypes.c_float, ctypes.c_void_p, int_type, ctypes.c_void_p,
                                                         int_type, ctypes.c_float, ctypes.c_void_p, int_type]
    return fn


def _bind_saxpy(fn, int_type):
    fn.restype = None
    fn.argtypes = [int_type, ctypes.c_float, ctypes.c_void_p, int_type, ctypes.c_void_p, int_type]
    return fn


def _numpy_function(name: str, binder):
    """CBLAS function ``name`` of the OpenBLAS that NumPy loaded, bound by ``binder(fn, int_type)``, or None
    (another BLAS, no threadpoolctl)."""
    found = _numpy.get(name)
    if found is None:
        found = _numpy[name] = False
        try:
            from threadpoolctl import ThreadpoolController
            libs = ThreadpoolController().select(internal_api="openblas").lib_controllers
        except Exception:  # noqa: BLE001 - no threadpoolctl, or it could not inspect the process: NumPy's own
            libs = []
        for lib in libs:
            if "numpy" not in lib.filepath:
                continue
            try:
                handle = ctypes.CDLL(lib.filepath)  # already loaded: the same library, the same threads
            except OSError:
                continue
            for pattern, int_type in _NAMES:
                fn = getattr(handle, pattern.format(name), None)
                if fn is not None:
                    found = _numpy[name] = binder(fn, int_type)
                    break
            if found:
                break
    return found or None


def numpy_sgemm():
    """``cblas_sgemm`` of the OpenBLAS that NumPy loaded, bound, or None (another BLAS, no threadpoolctl)."""
    return _numpy_function("sgemm", bind)


def numpy_saxpy():
    """``cblas_saxpy(n, a, x, incx, y, incy)`` of the OpenBLAS that NumPy loaded, bound, where it computes
    ``y = fma(x, a, y)``, rounded once as PyTorch's ``y.add_(x, alpha=a)`` is (checked once against
    ``optim_numpy.fma``, over a length that OpenBLAS shares among its threads, midpoint cases among the
    values); else None."""
    global _saxpy_checked
    fn = _numpy_function("saxpy", _bind_saxpy)
    if fn is not None and _saxpy_checked is None:
        _saxpy_checked = _fused(fn)
    return fn if _saxpy_checked else None


_saxpy_checked = None  # whether NumPy's saxpy rounds as a fused multiply-add (None: not checked yet)


def _fused(fn) -> bool:
    from .optim_numpy import fma
    n = 40_009                                   # above OpenBLAS's threading threshold, with a tail
    rng = xp.random.default_rng(0)
    a = (1 - 2.0 ** -20) * 2.0 ** -12
    x = rng.standard_normal(n).astype(xp.float32)
    y = rng.standard_normal(n).astype(xp.float32)
    x[::97] = (1 + 2.0 ** -20) * 2.0 ** -12      # x * a + y just below a midpoint of y's neighbours
    y[::97] = 1 + 2.0 ** -23
    want = xp.empty_like(y)
    fma(x, a, y, out=want)
    fn(n, a, x.ctypes.data, 1, y.ctypes.data, 1)
    return bool(xp.array_equal(y, want))


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
