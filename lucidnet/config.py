"""Every switch of lucidnet, read in one place, and every process-wide setting it makes.

Environment switches (read once, when lucidnet is imported):

- ``LUCIDNET_NUMBA=0``: NumPy kernels only (default: the compiled numba kernels for float32 work;
  ``lucidnet.kernels.set_numba`` switches at run time).
- ``LUCIDNET_ALLOCATOR_CACHE=0``: leave glibc's malloc alone (default: keep freed memory on the heap, see
  :func:`set_allocator_cache`).
- ``LUCIDNET_NUM_THREADS=n``: as :func:`set_num_threads` ``(n)`` (default: numba's and BLAS's own choice).

Process-wide settings lucidnet makes (:func:`show_config` lists them, with the switch of each): the malloc
tuning (at import), numba's threading layer ``workqueue`` (when the first compiled kernel loads; unless
``NUMBA_THREADING_LAYER`` is set), and OpenBLAS on one thread for the duration of each compiled recurrent
kernel, and (once one has run) of each large GEMM that lucidnet's row workers share out; the previous limit
is restored after each (``lucidnet.set_num_threads`` or ``LUCIDNET_NUMBA=0`` turn it off).

>>> import lucidnet
>>> lucidnet.get_num_threads() >= 1
True
"""
from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["NUMBA", "set_allocator_cache", "allocator_cache_enabled", "set_num_threads", "get_num_threads",
           "threads_explicit", "set_flush_denormal", "show_config"]


def _switch(name: str, default: bool = True) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() not in ("0", "false", "no", "off")


NUMBA = _switch("LUCIDNET_NUMBA")
ALLOCATOR_CACHE = _switch("LUCIDNET_ALLOCATOR_CACHE")

# ---- the allocator -------------------------------------------------------------------------------
# Large NumPy temporaries are fresh mmap regions whose first touch costs a page fault per page; glibc can
# keep freed memory on the heap instead, so a freed buffer is reused at no cost (PyTorch has a caching
# allocator for the same reason). The cost: the process keeps its peak memory.

_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
_allocator_cache = False


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        from ctypes.util import find_library  # slower: it may ask ldconfig
        try:
            libc = ctypes.CDLL(find_library("c"))
        except OSError:
            return None
    return libc if hasattr(libc, "mallopt") else None


def set_allocator_cache(enabled: bool = True) -> bool:
    """Keep freed memory on the heap (glibc only), so large temporaries cost no page faults.

    Returns True when the setting was applied (False on platforms without glibc's ``mallopt``).

    >>> import lucidnet
    >>> lucidnet.set_allocator_cache(True) in (True, False)
    True
    """
    global _allocator_cache
    libc = _libc()
    if libc is None:
        return False
    if enabled:
        ok = (libc.mallopt(_M_MMAP_THRESHOLD, 1 << 30) and libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)
              and libc.mallopt(_M_TOP_PAD, 64 << 20))
    else:  # glibc's defaults
        ok = (libc.mallopt(_M_MMAP_THRESHOLD, 128 * 1024) and libc.mallopt(_M_TRIM_THRESHOLD, 128 * 1024)
              and libc.mallopt(_M_TOP_PAD, 0))
    _allocator_cache = bool(ok) and enabled
    return bool(ok)


def allocator_cache_enabled() -> bool:
    """Whether the malloc tuning of :func:`set_allocator_cache` is in effect."""
    return _allocator_cache


# ---- threads -------------------------------------------------------------------------------------

_num_threads: int | None = None  # set by set_num_threads (or LUCIDNET_NUM_THREADS); None: libraries' defaults


def _default_threads() -> int:
    """numba's default thread count, without importing numba."""
    env = os.environ.get("NUMBA_NUM_THREADS")
    if env and env.strip().isdigit() and int(env) > 0:
        return int(env)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _numba():
    """numba, if lucidnet's compiled kernels have imported it (None before: nothing is imported here)."""
    from . import kernels
    return sys.modules.get("numba") if kernels.numba_loaded() else None


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for numba's kernels, BLAS (through threadpoolctl) and lucidnet's row workers.

    After this call the setting governs: the recurrent kernels no longer switch BLAS to one thread for
    their duration. numba's share is capped at ``NUMBA_NUM_THREADS`` (the most it can start)."""
    global _num_threads
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    _num_threads = n
    numba = _numba()
    if numba is not None:
        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    from .kernels import mkl, threads
    threads.set_blas_threads(n)
    if mkl.is_loaded():
        mkl.set_threads(n)


def get_num_threads() -> int:
    """The number of threads lucidnet's kernels use (numba's, which lucidnet's row workers follow)."""
    numba = _numba()
    if numba is not None:
        return numba.get_num_threads()
    return _num_threads or _default_threads()


def threads_explicit() -> int | None:
    """The thread count :func:`set_num_threads` (or ``LUCIDNET_NUM_THREADS``) set; None when not set."""
    return _num_threads


def numba_loaded(numba) -> None:
    """Called by ``lucidnet.kernels`` when it imports numba: applies an explicit thread setting."""
    if _num_threads is not None:
        numba.set_num_threads(min(_num_threads, numba.config.NUMBA_NUM_THREADS))
        from .kernels import threads
        threads.set_blas_threads(_num_threads)


# ---- subnormal numbers -----------------------------------------------------------------------------

_flush_denormal = False


def set_flush_denormal(mode: bool) -> bool:
    """Flush subnormal floats to zero (``True``) or keep them (``False``, IEEE 754's default), as PyTorch's
    ``torch.set_flush_denormal``: the x86 FTZ and DAZ bits in this thread and numba's (threads started later
    inherit them). Returns whether it could (x86-64 with numba); nothing changes otherwise. Operations that
    meet subnormals (below 1.2e-38 in float32) run about twenty times slower when they are kept.

    >>> import lucidnet
    >>> lucidnet.set_flush_denormal(True) in (True, False)
    True
    >>> _ = lucidnet.set_flush_denormal(False)
    """
    global _flush_denormal
    if not isinstance(mode, bool):
        raise TypeError(f"set_flush_denormal: mode must be a bool, got {mode!r}")
    from . import kernels
    from .backend import xp

    if kernels.compiled("act", xp.zeros(1, xp.float32)) is None:  # numba off or missing (else: loaded, prepared)
        return False
    from .kernels import mxcsr_numba
    if not mxcsr_numba.supported():
        return False
    mxcsr_numba.set_all_threads(mode)
    _flush_denormal = mode
    return True


# ---- show_config ---------------------------------------------------------------------------------

def _version(dist: str) -> str:
    from importlib import metadata
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def show_config() -> None:
    """Print versions, the kernels in use (and why), threads, the BLAS library and every process-wide
    setting lucidnet makes, each with the switch that turns it off."""
    from . import __version__, kernels
    from .kernels import threads

    lines = [f"lucidnet {__version__}"]
    lines += [f"  {d:<14}{_version(d)}" for d in ("numpy", "numba", "threadpoolctl", "safetensors")]
    kind, why = kernels.status()
    lines.append(f"kernels: {kind} ({why})")
    from .kernels import mkl
    lines.append(f"float32 GEMMs: {mkl.status()}")
    numba = _numba()
    blas = threads.blas_info()
    lines.append("threads:")
    lines.append(f"  numba         {get_num_threads()}" + ("" if numba is not None else " (numba not imported yet)"))
    lines.append("  BLAS          " + (", ".join(f"{b['num_threads']}" for b in blas) if blas else
                                      "unknown (threadpoolctl not installed)"))
    lines.append(f"  row workers   {get_num_threads()} (lucidnet's own, for the recurrent kernels and, once one has run, "
                 f"lucidnet's large GEMMs; as many as numba's)")
    lines.append("  set by        " + (f"lucidnet.set_num_threads({_num_threads})" if threads_explicit() else
                                      "the libraries' defaults (lucidnet.set_num_threads, LUCIDNET_NUM_THREADS)"))
    lines.append("BLAS:" + ("".join(f"\n  {b['internal_api']} {b.get('version') or ''} ({b.get('architecture')}), "
                                    f"{b['num_threads']} threads: {b['filepath']}" for b in blas) if blas else " unknown"))
    lines.append("process-wide settings:")
    lines.append(f"  malloc tuning (glibc mallopt, freed memory kept on the heap): "
                 f"{'on' if _allocator_cache else 'off'}; off with LUCIDNET_ALLOCATOR_CACHE=0 or "
                 f"lucidnet.set_allocator_cache(False)")
    layer = os.environ.get("NUMBA_THREADING_LAYER")
    state = (f"NUMBA_THREADING_LAYER={layer} governs" if layer else
             ("set" if numba is not None else "set when the first compiled kernel loads"))
    lines.append(f"  numba threading layer 'workqueue': {state}; off with NUMBA_THREADING_LAYER=<layer>")
    takeover = ("off: lucidnet.set_num_threads governs" if threads_explicit() else
                "on, for the duration of each compiled recurrent kernel and, once one has run, of each large GEMM "
                "the row workers share out (the previous limit is restored after each)")
    lines.append(f"  BLAS on one thread: {takeover}; off with lucidnet.set_num_threads(n) or LUCIDNET_NUMBA=0")
    lines.append(f"  subnormal floats flushed to zero: {'on' if _flush_denormal else 'off'} "
                 "(lucidnet.set_flush_denormal)")
    print("\n".join(lines))


if ALLOCATOR_CACHE:
    set_allocator_cache(True)
_env_threads = os.environ.get("LUCIDNET_NUM_THREADS", "").strip()
if _env_threads:
    if not _env_threads.isdigit() or int(_env_threads) < 1:
        raise ValueError(f"LUCIDNET_NUM_THREADS must be a positive int, got {_env_threads!r}")
    _num_threads = int(_env_threads)  # applied to BLAS now (threadpoolctl: only when asked) and to numba when it loads
    from .kernels import threads as _threads
    _threads.set_blas_threads(_num_threads)
