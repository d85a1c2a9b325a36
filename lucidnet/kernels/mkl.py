"""float32 GEMMs through Intel's oneMKL, installed (``pip install "lucidnet[mkl]"``) and asked for
(``LUCIDNET_BLAS=mkl`` or ``set_enabled(True)``): :func:`gemm`.

NumPy's OpenBLAS runs the 2-D products of the layers (``x @ W.T`` of a ``Linear``, a convolution's im2col product,
their gradients) slower than oneMKL on the same shapes on these CPUs (the README's Speed section has the figures),
though not on every shape (SimpleCNN's convolutions ran slower through it); PyTorch's CPU build uses
oneMKL/oneDNN. When it is on and the ``mkl`` package is installed, :func:`gemm` calls its ``cblas_sgemm`` through
ctypes (the GIL released during the call) for float32 operands that are row- or column-major with unit inner
stride, and ``kernels.threads.matmul`` takes it for such products. oneMKL's OpenMP threads are told to wait 1 ms
after each call before they sleep (``KMP_BLOCKTIME=1``, set before it loads unless the variable is set): long
enough for the next GEMM of a step, too short to take the cores from numba's kernels for long (the default, 200
ms, spins through them; 0 wakes them for every GEMM). They follow ``lucidnet.set_num_threads``; its results are
made reproducible whatever the arrays' memory alignment (``MKL_CBWR=AUTO,STRICT`` unless set). By default
(``LUCIDNET_BLAS`` unset or ``numpy``) NumPy's BLAS runs them.

>>> import numpy as np
>>> a, b = np.ones((2, 3), np.float32), np.ones((3, 4), np.float32)
>>> out = gemm(a, b) if enabled() else a @ b
>>> out[0]
array([3., 3., 3., 3.], dtype=float32)
"""
from __future__ import annotations

import ctypes
import glob
import os
import sys

from . import cblas

__all__ = ["available", "enabled", "set_enabled", "gemm", "library_path", "set_threads", "is_loaded", "status"]

_lib = None        # the loaded libmkl_rt (False: looked for, not found or failed)
_why = ""          # why it is not in use
_enabled = os.environ.get("LUCIDNET_BLAS", "numpy").strip().lower() in ("mkl", "onemkl")  # opt-in: see the docstring


def library_path() -> str | None:
    """Where ``libmkl_rt`` is: the ``mkl`` package's library in this environment, or None."""
    for root in dict.fromkeys((sys.prefix, sys.base_prefix, os.path.dirname(os.path.dirname(sys.executable)))):
        hits = sorted(glob.glob(os.path.join(root, "lib", "libmkl_rt.so*")))
        if hits:
            return hits[0]
    return None


def _load():
    global _lib, _why
    if _lib is not None:
        return _lib
    path = library_path()
    if path is None:
        _lib, _why = False, "the mkl package is not installed (pip install \"lucidnet[mkl]\")"
        return _lib
    os.environ.setdefault("KMP_BLOCKTIME", "1")  # OpenMP threads sleep 1 ms after a call (read at load)
    os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")  # the same bits run to run, whatever the arrays' alignment
    try:
        lib = ctypes.CDLL(path)
        f = lib.cblas_sgemm
    except (OSError, AttributeError) as e:
        _lib, _why = False, f"{path} failed to load: {e}"
        return _lib
    cblas.bind(f)
    lib.MKL_Set_Num_Threads.argtypes = [ctypes.c_int]
    _lib = lib
    from .. import config
    if config.threads_explicit():
        set_threads(config.threads_explicit())
    return _lib


def available() -> bool:
    """Whether oneMKL is installed and loads."""
    return bool(_load())


def enabled() -> bool:
    """Whether float32 GEMMs go through oneMKL."""
    return _enabled and available()


def set_enabled(on: bool) -> bool:
    """Use oneMKL for float32 GEMMs when it is installed (``True``; ``LUCIDNET_BLAS=mkl`` at start) or NumPy's BLAS
    (``False``, the default); returns the previous setting."""
    global _enabled
    previous, _enabled = _enabled, bool(on)
    return previous


def status() -> str:
    """A line for ``show_config``."""
    if not _enabled:
        return "NumPy's (the default; LUCIDNET_BLAS=mkl for oneMKL, with the mkl extra)"
    return f"oneMKL ({library_path()})" if available() else f"NumPy's ({_why})"


def is_loaded() -> bool:
    """Whether oneMKL has been loaded (by a first GEMM)."""
    return bool(_lib)


def set_threads(n: int) -> None:
    """oneMKL's thread count."""
    if _load():
        _lib.MKL_Set_Num_Threads(int(n))


def gemm(a, b, out=None, bias=None):
    """``a @ b`` (``+ bias``, float32 (N,)) for float32 ``a`` (M, K) and ``b`` (K, N) through ``cblas_sgemm``,
    into ``out`` (C-contiguous float32 (M, N)) when given; None when the operands do not fit (another dtype or
    layout: use NumPy). The bias is written into the output first and the product added to it by the GEMM."""
    if not enabled():
        return None
    return cblas.gemm(_lib.cblas_sgemm, a, b, out, bias)
