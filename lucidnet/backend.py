"""The one door to the array library.

Every kernel of the engine reaches NumPy through ``xp`` from this module, so that a second array
backend (CuPy mirrors NumPy's API) can be swapped in later without touching the ops.

It also holds the allocator switch. Large NumPy temporaries are fresh ``mmap`` regions whose first
touch costs a page fault per page; glibc can be told to keep freed memory on the heap instead, so a
freed buffer is reused at no cost (PyTorch has a caching allocator for the same reason). lucidnet
turns this on at import; set ``LUCIDNET_ALLOCATOR_CACHE=0`` in the environment to leave malloc alone,
or call :func:`set_allocator_cache` yourself. The cost: the process keeps its peak memory.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

import numpy as xp  # noqa: F401  (the array library of the engine)

__all__ = ["xp", "set_allocator_cache", "allocator_cache_enabled"]

_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
_enabled = False


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "mallopt") else None
    except OSError:
        return None


def set_allocator_cache(enabled: bool = True) -> bool:
    """Keep freed memory on the heap (glibc only), so large temporaries cost no page faults.

    Returns True when the setting was applied (False on platforms without glibc's ``mallopt``).

    >>> import lucidnet
    >>> lucidnet.set_allocator_cache(True) in (True, False)
    True
    """
    global _enabled
    libc = _libc()
    if libc is None:
        return False
    if enabled:
        ok = (libc.mallopt(_M_MMAP_THRESHOLD, 1 << 30) and libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)
              and libc.mallopt(_M_TOP_PAD, 64 << 20))
    else:  # glibc's defaults
        ok = (libc.mallopt(_M_MMAP_THRESHOLD, 128 * 1024) and libc.mallopt(_M_TRIM_THRESHOLD, 128 * 1024)
              and libc.mallopt(_M_TOP_PAD, 0))
    _enabled = bool(ok) and enabled
    return bool(ok)


def allocator_cache_enabled() -> bool:
    return _enabled


if os.environ.get("LUCIDNET_ALLOCATOR_CACHE", "1") not in ("0", "false", "no", "off"):
    set_allocator_cache(True)
