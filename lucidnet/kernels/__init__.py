"""Every compiled kernel with its NumPy twin, and the one place that chooses between them.

Families (compiled module / NumPy twin):

- ``conv``: ``conv_numba`` / ``conv_numpy``: im2col, col2im, max-pooling (the wrappers below lock them);
- ``depthwise``: ``depthwise_numba`` / ``depthwise_numpy``: depthwise convolution (one filter per channel);
- ``rnn``: ``rnn_numba`` / ``rnn_numpy``: the recurrent layers' loops over time;
- ``norm``: ``norm_numba`` / none (batch norm's and layer norm's NumPy paths are written inline in
  ``lucidnet.fused.norm``);
- ``act``: ``act_numba`` / none (exact GELU, hardtanh, row softmax, dropout; their NumPy paths are written inline
  in ``lucidnet.ops.activation``, ``lucidnet.fused.attention`` and ``lucidnet.fused.dropout``);
- ``optim``: ``optim_numba`` / ``optim_numpy``: Adam's and SGD's update passes;
- ``gemm``: ``gemm_numba`` (the packed-weight GEMM of ``rnn_numba``; NumPy's twin is ``numpy.matmul``);
- ``ctc``: ``ctc_numba`` / ``ctc_numpy``: the CTC loss's forward-backward (the wrappers below lock them);
- ``qgemm``: ``qgemm_numba`` / ``qgemm_numpy``: the int8 GEMM with int32 accumulation of quantized layers;
  the compiled one needs the CPU's integer dot-product instruction (AVX512-VNNI or AVX-VNNI), see
  :func:`select_qgemm`; ``qlinear`` wraps it (activation quantization, threads, dequantization).

``threads`` holds lucidnet's row workers and the scoped BLAS thread switch of the recurrent kernels.

The compiled kernels run float32 work (float64 is for checking and takes the NumPy path, which keeps
first-call compiles few). numba is imported on the first float32 call that uses it, never at
``import lucidnet``; a numba that fails to import gives one warning and the NumPy kernels from then on.
``LUCIDNET_NUMBA=0`` in the environment (read by ``lucidnet.config``), or :func:`set_numba`, selects NumPy.

>>> import numpy as np
>>> from lucidnet import kernels
>>> previous = kernels.set_numba(False)
>>> kernels.numba_enabled(), kernels.select("rnn", np.zeros(1, np.float32)).__name__
(False, 'lucidnet.kernels.rnn_numpy')
>>> _ = kernels.set_numba(previous)
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import threading
import warnings
from types import ModuleType

from .. import config
from ..backend import xp
from . import conv_numpy

__all__ = ["numba_available", "numba_enabled", "numba_loaded", "set_numba", "compiled", "select", "select_qgemm",
           "status",
           "im2col", "col2im", "maxpool_forward", "maxpool_backward", "depthwise_forward",
           "depthwise_backward_input", "depthwise_backward_weight", "ctc_forward", "ctc_backward"]

# family -> (compiled module, NumPy twin or None)
FAMILIES = {"conv": ("conv_numba", "conv_numpy"), "depthwise": ("depthwise_numba", "depthwise_numpy"),
            "rnn": ("rnn_numba", "rnn_numpy"), "norm": ("norm_numba", None), "act": ("act_numba", None),
            "optim": ("optim_numba", "optim_numpy"), "gemm": ("gemm_numba", None),
            "ctc": ("ctc_numba", "ctc_numpy"), "qgemm": ("qgemm_numba", "qgemm_numpy"),
            "embedding": ("embedding_numba", None)}

_available = importlib.util.find_spec("numba") is not None
_enabled = _available and config.NUMBA
_broken: str | None = None  # why numba failed to import, once it has
_loaded: dict[str, ModuleType] = {}  # family -> compiled module, once imported


def numba_available() -> bool:
    """Whether numba is installed and imports (``pip install lucidnet`` installs it)."""
    return _available


def numba_enabled() -> bool:
    """Whether float32 calls take the compiled kernels."""
    return _enabled


def numba_loaded() -> bool:
    """Whether a compiled kernel (hence numba) has been imported."""
    return bool(_loaded)


def set_numba(enabled: bool) -> bool:
    """Use the compiled kernels (when numba is available) or the NumPy ones; returns the previous setting."""
    global _enabled
    previous = _enabled
    _enabled = bool(enabled) and _available
    return previous


def status() -> tuple[str, str]:
    """(``"compiled"`` or ``"NumPy"``, why), for ``lucidnet.show_config()``."""
    if _broken is not None:
        return "NumPy", f"numba failed to import: {_broken}"
    if not _available:
        return "NumPy", "numba is not installed"
    if not _enabled:
        return "NumPy", "turned off (LUCIDNET_NUMBA=0 or kernels.set_numba(False))"
    return "compiled", "numba, for float32 work; float64 takes the NumPy kernels; off with LUCIDNET_NUMBA=0"


def _prepare_numba() -> None:
    """What lucidnet sets in numba before its first kernel compiles: the threading layer."""
    import numba

    # numba's "workqueue" threads sleep between kernels; GNU OpenMP's spin, and steal the cores from OpenBLAS's
    # GEMM threads that run between our kernels (measured: much slower steps). NUMBA_THREADING_LAYER decides
    # when it is set. workqueue must not be entered from two threads at once: the wrappers below lock.
    if "NUMBA_THREADING_LAYER" not in os.environ:
        numba.config.THREADING_LAYER = "workqueue"


def _load(family: str) -> ModuleType | None:
    global _enabled, _available, _broken
    module = _loaded.get(family)
    if module is not None:
        return module
    first = not _loaded
    try:
        if first:
            _prepare_numba()
        module = importlib.import_module(f".{FAMILIES[family][0]}", __name__)
    except Exception as e:  # a broken install (say numba built for another NumPy): NumPy kernels, with a word
        warnings.warn(f"lucidnet: numba is installed but failed to import ({e}); using the NumPy kernels",
                      RuntimeWarning, stacklevel=4)
        _enabled = _available = False
        _broken = str(e)
        return None
    _loaded[family] = module
    if first:
        import numba
        config.numba_loaded(numba)  # an explicit thread setting reaches numba and the new BLAS
    return module


def compiled(family: str, *arrays) -> ModuleType | None:
    """The compiled module of ``family`` when the compiled kernels are on and every array is float32
    (importing numba the first time); None otherwise."""
    if not (_enabled and all(a.dtype == xp.float32 for a in arrays)):
        return None
    return _loaded.get(family) or _load(family)


def select(family: str, *arrays) -> ModuleType:
    """The kernels of ``family`` for these arrays: the compiled module, or its NumPy twin."""
    module = compiled(family, *arrays)
    if module is None:
        twin = FAMILIES[family][1]
        if twin is None:
            raise ValueError(f"kernels: the {family!r} family has no NumPy twin module")
        module = importlib.import_module(f".{twin}", __name__)
    return module


def subnormals_flushed():
    """A context in which the calling thread flushes subnormal floats to zero (x86's FTZ and DAZ, set through
    numba: ``kernels.mxcsr_numba``), the previous mode back after; a no-op with the compiled kernels off or
    elsewhere than x86-64. The optimizers update under it (see ``lucidnet.optim``)."""
    global _flush_mode
    if compiled("optim", _F32) is None:
        return contextlib.nullcontext()
    if _flush_mode is None:  # looked up once: the module and whether this CPU has MXCSR
        from . import mxcsr_numba
        _flush_mode = mxcsr_numba.flushing if mxcsr_numba.supported() else contextlib.nullcontext
    return _flush_mode()


_F32 = xp.zeros(0, dtype=xp.float32)
_flush_mode = None  # the context factory subnormals_flushed uses, once known


def select_qgemm(*arrays) -> ModuleType:
    """The int8 GEMM kernels (for float32 input ``arrays``, when given): ``qgemm_numba`` where the compiled
    kernels are on and the CPU has VNNI (numba's own int8 loops lose to float32 BLAS: the README's Quantization
    section), else ``qgemm_numpy`` (exact, through float32 BLAS)."""
    module = compiled("qgemm", *arrays)
    if module is None or not module.lanes():
        from . import qgemm_numpy
        return qgemm_numpy
    return module


_lock = threading.Lock()  # numba's workqueue threading layer must not be entered by two threads at once


def _conv_kernel(name: str, checked: tuple, *args, family: str = "conv") -> None:
    """Run kernel ``name`` of ``family`` compiled (under the lock) when ``checked`` arrays allow it, else in
    NumPy."""
    nb = compiled(family, *checked)
    if nb is None:
        getattr(conv_numpy if family == "conv" else select(family, *checked), name)(*args)
        return
    with _lock:
        getattr(nb, name)(*args)


def im2col(x, cols, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo, groups, fill=0) -> None:
    """Copy every (kh, kw) window of ``x`` (N, H, W, C) into a row of ``cols`` (N*ho*wo, >= C*kh*kw),
    columns ordered (group, i, j, channel); taps in the padding give ``fill``. float32, or uint8 (the int8
    convolution's quantized input, whose padding is its zero point)."""
    checked = () if x.dtype == cols.dtype == xp.uint8 else (x, cols)
    _conv_kernel("im2col", checked, x, cols, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo, groups, fill)


def col2im(cols, gx, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo, groups) -> None:
    """The adjoint of :func:`im2col`: overwrite ``gx`` (N, H, W, C) with the sum of the window entries
    of ``cols`` that each pixel was copied to."""
    _conv_kernel("col2im", (cols, gx), cols, gx, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo, groups)


def maxpool_forward(x, out, arg, kh, kw, sh, sw, pt, pl, dh, dw) -> None:
    """Max over every window of ``x`` (N, H, W, C) into ``out`` (N, ho, wo, C), and in ``arg`` (int32)
    the flat index h * W + w of the maximum (the first one in window order; NaN wins, as in PyTorch)."""
    _conv_kernel("maxpool_forward", (x, out), x, out, arg, kh, kw, sh, sw, pt, pl, dh, dw)


def maxpool_backward(g, arg, out, gx, positive: bool, kh, kw, sh, sw, pt, pl, dh, dw) -> None:
    """Overwrite ``gx`` (N, H, W, C) with zeros plus each ``g`` (N, ho, wo, C) at its maximum's index
    (the geometry is that of the forward). With ``positive``, only where the pooled ``out`` is > 0: the
    gradient through a ReLU before the pool, in the same pass."""
    _conv_kernel("maxpool_backward", (g, gx), g, arg, out, gx, bool(positive), kh, kw, sh, sw, pt, pl, dh, dw)


def depthwise_forward(x, w, out, sh, sw, pt, pl, dh, dw) -> None:
    """Depthwise convolution: ``out`` (N, ho, wo, C) = each channel of ``x`` (N, H, W, C) correlated with its
    own filter ``w[:, :, c]`` (w: (kh, kw, C)); taps in the padding read zeros."""
    _conv_kernel("forward", (x, w, out), x, w, out, sh, sw, pt, pl, dh, dw, family="depthwise")


def depthwise_backward_input(g, w, gx, sh, sw, pt, pl, dh, dw) -> None:
    """Overwrite ``gx`` (N, H, W, C) with the gradient of :func:`depthwise_forward` w.r.t. its input, given
    the output gradient ``g`` (N, ho, wo, C)."""
    _conv_kernel("backward_input", (g, w, gx), g, w, gx, sh, sw, pt, pl, dh, dw, family="depthwise")


def depthwise_backward_weight(g, x, gw, sh, sw, pt, pl, dh, dw) -> None:
    """Overwrite ``gw`` (kh, kw, C) with the gradient of :func:`depthwise_forward` w.r.t. its weight."""
    _conv_kernel("backward_weight", (g, x, gw), g, x, gw, sh, sw, pt, pl, dh, dw, family="depthwise")


def ctc_forward(lp, targets, il, tl, blank, alpha, nll) -> None:
    """CTC forward pass: ``alpha`` (N, T, 2S+1) and ``nll`` (N,) = -log p(target | input) of log-probabilities
    ``lp`` (T, N, C), padded ``targets`` (N, S) and lengths ``il``, ``tl`` (see ``ctc_numpy``)."""
    _conv_kernel("forward", (lp, alpha, nll), lp, targets, il, tl, int(blank), alpha, nll, family="ctc")


def ctc_backward(lp, targets, il, tl, blank, alpha, nll, gr, zero_infinity, grad) -> None:
    """Overwrite ``grad`` (T, N, C) with PyTorch's gradient of ``sum(nll * gr)`` with respect to ``lp``."""
    _conv_kernel("backward", (lp, alpha, nll, gr, grad), lp, targets, il, tl, int(blank), alpha, nll, gr,
                 bool(zero_infinity), grad, family="ctc")
