"""Sizes nothing can allocate, refused early: ``check_shape`` turns a tensor request with a negative dimension, a
dimension that is not an int, or more bytes than this machine's memory into a ValueError naming the function,
the shape and the bytes, before NumPy is asked (which gives a MemoryError deep inside, or, with the memory
overcommitted, a machine that swaps until the process is killed). Within ``budget(n, what)``, the tensors checked
may not add up to more than ``n`` bytes: a model rebuilt from a run directory's config can take no more memory
than its weights file holds, whatever the config says.

>>> check_shape((2, 3), "float32", "zeros")
(2, 3)
>>> check_shape((10 ** 12, 10 ** 6), "float32", "zeros")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: zeros: a tensor of shape (1000000000000, 1000000) float32 needs 3.5 EiB of memory, more than ...
"""
from __future__ import annotations

import math
import operator
import os
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any, Iterator, Sequence

import numpy as np

__all__ = ["memory_bytes", "check_shape", "check_count", "format_bytes", "budget"]

_BUDGET: ContextVar[list | None] = ContextVar("lucidnet_budget", default=None)  # [bytes allowed, used, what]


@lru_cache(maxsize=1)
def memory_bytes() -> int | None:
    """This machine's physical memory in bytes (None where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows) or no such name
        return None


def format_bytes(n: float) -> str:
    """``n`` bytes in binary units: ``"3.6 GiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} EiB"


def _dimension(d: Any, i: int, shape: Sequence, who: str) -> int:
    if isinstance(d, (bool, np.bool_)):
        raise TypeError(f"{who}: dimension {i} of the shape {tuple(shape)} is a bool, not an int")
    try:
        n = operator.index(d)
    except TypeError:
        raise TypeError(f"{who}: dimension {i} of the shape {tuple(shape)} is a {type(d).__name__}, not an "
                        "int") from None
    if n < 0:
        raise ValueError(f"{who}: dimension {i} of the shape {tuple(shape)} is negative")
    return n


def check_count(count: int, itemsize: int, what: str, who: str) -> None:
    """Refuse ``count`` elements of ``itemsize`` bytes when they need more than this machine's memory."""
    total = memory_bytes()
    need = count * itemsize
    if total is not None and need > total:
        raise ValueError(f"{who}: {what} needs {format_bytes(need)} of memory, more than this machine's "
                         f"{format_bytes(total)}")
    b = _BUDGET.get()
    if b is not None:
        b[1] += need
        if b[1] > b[0]:
            raise ValueError(f"{who}: {what} needs {format_bytes(need)} of memory, past the "
                             f"{format_bytes(b[0])} that {b[2]}")


@contextmanager
def budget(nbytes: int, what: str) -> Iterator[None]:
    """Within the block, the tensors that ``check_shape`` and ``check_count`` pass add up to at most ``nbytes``;
    ``what`` says where that figure comes from ("model.safetensors can hold"), for the error message."""
    token = _BUDGET.set([int(nbytes), 0, what])
    try:
        yield
    finally:
        _BUDGET.reset(token)


def check_shape(shape: Sequence, dtype: Any, who: str) -> tuple[int, ...]:
    """``shape`` as a tuple of ints, once each dimension is a non-negative int and the tensor fits in this machine's
    memory; a ValueError (a TypeError for a dimension that is not an int) naming ``who`` otherwise."""
    dims = tuple(_dimension(d, i, shape, who) for i, d in enumerate(shape))
    dt = np.dtype(dtype)
    check_count(math.prod(dims), dt.itemsize, f"a tensor of shape {dims} {dt}", who)
    return dims
