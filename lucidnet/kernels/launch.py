"""Compiled kernels that go onto numba's threads only when that pays: :func:`parallel`.

A ``parallel=True`` numba kernel hands its loop to the threading layer's workers on every call. With ``workqueue``
(lucidnet's choice: its workers sleep between kernels) that hand-off costs more than a small kernel's work, and
much more when other processes hold the cores and a sleeping worker waits for a time slice (the README's Threads
section has the figures). So each kernel is compiled twice from one source: the parallel form, for calls with
enough work when numba has more than one thread and BLAS's threads are not spinning after a multi-threaded
product (:func:`~lucidnet.kernels.threads.blas_spinning`: they would hold the cores for ~0.1 s), and a serial
form (``prange`` runs as ``range``) for everything else, both under numba's NumPy error model (under the Python
one a serial loop with a division does not vectorise). Both forms compute each element the same way; the
kernels whose results depend on how rows are split (the normalisation sums) split them into a fixed number of
blocks given by the caller, so both forms return the same bits.

>>> import numpy as np
>>> from numba import prange
>>> @parallel(min_size=1000, cache=False)
... def double(x, out):
...     for i in prange(x.shape[0]):
...         out[i] = 2 * x[i]
>>> x = np.arange(3, dtype=np.float32); out = np.empty_like(x)
>>> double(x, out); out
array([0., 2., 4.], dtype=float32)
>>> double.choose(np.zeros(10)) is double.serial
True
"""
from __future__ import annotations

import types
from typing import Any, Callable

from numba import get_num_threads, njit

from .threads import blas_spinning

__all__ = ["parallel", "MIN_SIZE"]

MIN_SIZE = 1 << 16  # elements of the first argument below which a kernel runs serially (one pass of light work)


class Dual:
    """A kernel compiled twice: ``parallel`` (numba's threads) and ``serial``; calling it picks one by the size
    of its first argument (the work) and numba's thread count."""

    def __init__(self, fn: Callable, min_size: int, options: dict[str, Any]):
        # numba's NumPy error model (x / 0 gives inf, no check) in both forms: a parallel loop compiles with it,
        # and a serial loop under the Python model does not vectorise
        options = {"cache": True, "error_model": "numpy", **options}
        self.parallel = njit(parallel=True, **options)(fn)
        twin = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_serial", fn.__defaults__,
                                  fn.__closure__)
        twin.__qualname__ = fn.__qualname__ + "_serial"  # its own numba cache files (they are named after it)
        self.serial = njit(**options)(twin)
        self.min_size = min_size
        self.__name__, self.__qualname__, self.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
        self.__wrapped__ = fn

    def choose(self, work) -> Any:
        """The form a call whose first argument is ``work`` runs: serial while BLAS's threads spin after a
        multi-threaded product (they hold the cores numba's threads would need, ``threads.blas_spinning``)."""
        if work.size >= self.min_size and get_num_threads() > 1 and not blas_spinning():
            return self.parallel
        return self.serial

    def __call__(self, *args: Any) -> Any:
        return self.choose(args[0])(*args)


def parallel(min_size: int = MIN_SIZE, **options: Any) -> Callable[[Callable], Dual]:
    """Decorator: compile a ``prange`` kernel as a :class:`Dual` (``options`` go to numba's ``njit``, e.g.
    ``fastmath``; ``cache`` is on unless given). ``min_size``: the size of the first argument from which the
    parallel form runs; lower it for kernels that do much work per element of their first argument."""
    if min_size < 0:
        raise ValueError(f"parallel: min_size must be >= 0, got {min_size}")
    return lambda fn: Dual(fn, min_size, options)
