"""Kernels of the convolution and pooling ops: numba when it is installed, NumPy otherwise.

The numba kernels (``numba_impl``) are multi-threaded and fused; the NumPy kernels (``numpy_impl``) are the
reference they are tested against. numba is an optional dependency (``pip install lucidnet[fast]``); it
runs float32 work (float64 is for checking and takes the NumPy path, which keeps first-call compiles
few). Set ``LUCIDNET_NUMBA=0`` in the environment, or call :func:`set_numba`, to use NumPy only.

>>> from lucidnet.ops import _kernels
>>> previous = _kernels.set_numba(False)
>>> _kernels.numba_enabled()
False
>>> _ = _kernels.set_numba(previous)
"""
from __future__ import annotations

import importlib.util
import os
import threading
import warnings

from ...backend import xp
from . import numpy_impl

_nb = None  # the numba_impl module, imported on the first float32 call (importing numba takes about half a second)
_available = importlib.util.find_spec("numba") is not None
_enabled = _available and os.environ.get("LUCIDNET_NUMBA", "1") not in ("0", "false", "no", "off")

__all__ = ["numba_available", "numba_enabled", "set_numba", "im2col", "col2im", "maxpool_forward",
           "maxpool_backward"]


def numba_available() -> bool:
    """Whether numba is installed (``pip install lucidnet[fast]``)."""
    return _available


def numba_enabled() -> bool:
    return _enabled


def set_numba(enabled: bool) -> bool:
    """Use the numba kernels (when installed) or the NumPy ones; returns the previous setting."""
    global _enabled
    previous = _enabled
    _enabled = bool(enabled) and _available
    return previous


_lock = threading.Lock()  # numba's workqueue threading layer must not be entered by two threads at once


def _numba(*arrays) -> bool:
    """Whether this call takes the numba kernels (importing them the first time)."""
    global _nb, _enabled, _available
    if not (_enabled and all(a.dtype == xp.float32 for a in arrays)):
        return False
    if _nb is None:
        try:
            _nb = importlib.import_module(".numba_impl", __name__)
        except Exception as e:  # a broken install (say numba built for another NumPy): NumPy kernels, with a word
            warnings.warn(f"lucidnet: numba is installed but failed to import ({e}); using the NumPy kernels",
                          RuntimeWarning, stacklevel=3)
            _enabled = _available = False
            return False
    return True


def im2col(x, cols, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo, groups) -> None:
    """Copy every (kh, kw) window of ``x`` (N, H, W, C) into a row of ``cols`` (N*ho*wo, >= C*kh*kw),
    columns ordered (group, i, j, channel); taps in the padding give zeros."""
    if _numba(x, cols):
        with _lock:
            _nb.im2col(x, cols, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo, groups)
    else:
        numpy_impl.im2col(x, cols, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo, groups)


def col2im(cols, gx, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo, groups) -> None:
    """The adjoint of :func:`im2col`: overwrite ``gx`` (N, H, W, C) with the sum of the window entries
    of ``cols`` that each pixel was copied to."""
    if _numba(cols, gx):
        with _lock:
            _nb.col2im(cols, gx, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo, groups)
    else:
        numpy_impl.col2im(cols, gx, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo, groups)


def maxpool_forward(x, out, arg, kh, kw, sh, sw, pt, pl, dh, dw) -> None:
    """Max over every window of ``x`` (N, H, W, C) into ``out`` (N, ho, wo, C), and in ``arg`` (int32)
    the flat index h * W + w of the maximum (the first one in window order; NaN wins, as in PyTorch)."""
    if _numba(x, out):
        with _lock:
            _nb.maxpool_forward(x, out, arg, kh, kw, sh, sw, pt, pl, dh, dw)
    else:
        numpy_impl.maxpool_forward(x, out, arg, kh, kw, sh, sw, pt, pl, dh, dw)


def maxpool_backward(g, arg, out, gx, positive: bool, kh, kw, sh, sw, pt, pl, dh, dw) -> None:
    """Overwrite ``gx`` (N, H, W, C) with zeros plus each ``g`` (N, ho, wo, C) at its maximum's index
    (the geometry is that of the forward). With ``positive``, only where the pooled ``out`` is > 0: the
    gradient through a ReLU before the pool, in the same pass."""
    if _numba(g, gx):
        with _lock:
            _nb.maxpool_backward(g, arg, out, gx, bool(positive), kh, kw, sh, sw, pt, pl, dh, dw)
    else:
        numpy_impl.maxpool_backward(g, arg, out, gx, positive, kh, kw, sh, sw, pt, pl, dh, dw)
