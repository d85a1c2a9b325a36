"""The x86 floating-point control register (MXCSR) of the calling thread, read and written from compiled code.

Two of its bits decide what happens to subnormal numbers (below 1.2e-38 in float32): FTZ (flush to zero,
0x8000) makes results that would be subnormal zero, DAZ (denormals are zero, 0x0040) reads subnormal inputs
as zero. With both off (every process starts so, as IEEE 754 asks) an operation that meets a subnormal takes
a microcode assist, about twenty times slower on these CPUs; with both on, subnormals cost nothing and are
lost. ``lucidnet.set_flush_denormal`` (PyTorch's ``torch.set_flush_denormal``) and the optimizers' update
(``flushing``) use this module; the bits are per thread.
"""
from __future__ import annotations

import platform
from contextlib import contextmanager
from typing import Iterator

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["FLUSH", "supported", "get", "set", "flushing", "set_all_threads"]

FLUSH = 0x8040  # FTZ | DAZ


def supported() -> bool:
    """Whether this CPU has MXCSR (x86-64)."""
    return platform.machine().lower() in ("x86_64", "amd64")


def _mxcsr_call(builder, name: str, ptr) -> None:
    fnty = ir.FunctionType(ir.VoidType(), [ir.IntType(8).as_pointer()])
    fn = cgutils.get_or_insert_function(builder.module, fnty, name)
    builder.call(fn, [builder.bitcast(ptr, ir.IntType(8).as_pointer())])


@intrinsic
def _stmxcsr(typingctx):  # pragma: no cover - compiled
    def codegen(context, builder, sig, args):
        ptr = cgutils.alloca_once(builder, ir.IntType(32))
        _mxcsr_call(builder, "llvm.x86.sse.stmxcsr", ptr)
        return builder.load(ptr)
    return types.uint32(), codegen


@intrinsic
def _ldmxcsr(typingctx, value):  # pragma: no cover - compiled
    def codegen(context, builder, sig, args):
        ptr = cgutils.alloca_once(builder, ir.IntType(32))
        builder.store(args[0], ptr)
        _mxcsr_call(builder, "llvm.x86.sse.ldmxcsr", ptr)
    return types.void(types.uint32), codegen


@njit(cache=True)
def _get() -> int:  # pragma: no cover - compiled
    return _stmxcsr()


@njit(cache=True)
def _set(value) -> None:  # pragma: no cover - compiled
    _ldmxcsr(np.uint32(value))


@njit(parallel=True, cache=True)
def _set_threads(value, n) -> None:  # pragma: no cover - compiled
    for i in prange(n):  # one chunk per thread of numba's pool (static schedule)
        _ldmxcsr(np.uint32(value))


def get() -> int:
    """The calling thread's MXCSR."""
    return int(_get())


def set(value: int) -> None:  # noqa: A001 - the register's verb
    """Write the calling thread's MXCSR."""
    _set(np.uint32(value))


def set_all_threads(flush: bool) -> None:
    """FTZ and DAZ on (``flush``) or off in the calling thread and in numba's worker threads."""
    from numba import get_num_threads

    value = (get() | FLUSH) if flush else (get() & ~FLUSH)
    set(value)
    n = get_num_threads()
    if n > 1:
        _set_threads(np.uint32(value), n)


@contextmanager
def flushing() -> Iterator[None]:
    """FTZ and DAZ on in the calling thread for the block, the previous MXCSR back after it."""
    old = get()
    if old & FLUSH == FLUSH:
        yield
        return
    set(old | FLUSH)
    try:
        yield
    finally:
        set(old)
