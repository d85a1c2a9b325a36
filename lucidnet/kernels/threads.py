"""lucidnet's own intra-op threads: a GIL-free kernel run over ranges of rows on several threads.

For kernels whose rows are independent for a long stretch of work (a recurrent layer's batch rows over
all time steps): the calling thread takes the first range and persistent worker threads the others, with
one hand-off each way per call and no synchronisation in between. The number of threads is numba's
(``NUMBA_NUM_THREADS``, ``numba.set_num_threads``), the setting the other numba kernels follow.

OpenBLAS's threads spin for a while after every multi-threaded call, and a spinning thread takes a core
from these workers (the README's Threads section has the figures). So a
kernel that runs on these threads takes the threading over for its duration (``with own_blas():``):
OpenBLAS is set to one thread (threadpoolctl), and the large GEMMs of the layers go through :func:`matmul`,
which shares their rows (or columns) out among the same workers, each a single-threaded BLAS call; the
previous BLAS limit comes back after. Once a recurrent kernel has taken the threads over, a large
:func:`matmul` outside such a block opens one for its own duration (the old process-wide switch, scoped).
With :data:`SHARE_GEMMS` set, large float32 GEMMs are shared out that way from the start (when the compiled
kernels are on); otherwise, and for float64 or without numba or threadpoolctl, :func:`matmul` is
``numpy.matmul`` and OpenBLAS threads as it likes.

>>> import numpy as np
>>> from lucidnet.kernels.threads import row_ranges
>>> row_ranges(32, 2), row_ranges(20, 2), row_ranges(5, 2)
([(0, 16), (16, 32)], [(0, 16), (16, 20)], [(0, 5)])
"""
from __future__ import annotations

import os
import sys
import threading
from time import perf_counter

from .. import config
from . import cblas, mkl
from ..backend import xp

__all__ = ["row_ranges", "run_rows", "own_blas", "matmul", "axpy", "set_blas_threads", "blas_info", "blas_spinning"]


def row_ranges(rows: int, threads: int, align: int = 8, min_rows: int = 8) -> list[tuple[int, int]]:
    """Split ``rows`` into at most ``threads`` ranges of whole ``align``-row blocks, none under ``min_rows``."""
    parts = max(1, min(threads, rows // min_rows))
    if parts == 1:
        return [(0, rows)]
    step = -(-rows // parts)
    step = -(-step // align) * align
    return [(r, min(r + step, rows)) for r in range(0, rows, step)]


_SPIN = 2000  # sched_yield calls a wait spins for before it blocks on its lock
_spin = None


def _spinner():
    """``spin(flag, seen, tries)``: wait, without the GIL, until ``flag[0] != seen`` or ``tries`` run out.

    A worker blocked on a lock is slow to wake up (an idle virtual CPU), several times per training step; a
    short spin first makes the hand-off much cheaper. The spin yields the core
    at each turn (``sched_yield``), so a thread with work to do loses nothing to it."""
    global _spin
    if _spin is None:
        import ctypes

        from numba import njit
        try:
            sched_yield = ctypes.CDLL(None).sched_yield
        except (OSError, AttributeError, TypeError):  # no POSIX sched_yield (Windows): block at once
            _spin = lambda flag, seen, tries: None  # noqa: E731
            return _spin
        sched_yield.argtypes, sched_yield.restype = [], ctypes.c_int

        @njit(nogil=True)
        def spin(flag, seen, tries):  # pragma: no cover - compiled
            for _ in range(tries):
                if flag[0] != seen:
                    return
                sched_yield()  # an opaque call: flag[0] is read again at each turn

        _spin = spin
    return _spin


class _Worker:
    """A daemon thread that runs one job at a time, handed over by a pair of locks; each side spins a
    little before it blocks (see :func:`_spinner`)."""

    def __init__(self, index: int):
        self._go, self._done = threading.Lock(), threading.Lock()
        self._go.acquire()
        self._done.acquire()
        self.posted, self.finished = xp.zeros(1, dtype=xp.int64), xp.zeros(1, dtype=xp.int64)
        self.job, self.error = None, None
        self._spin = _spinner()
        threading.Thread(target=self._loop, name=f"lucidnet-rows-{index}", daemon=True).start()

    def _loop(self) -> None:
        seen = 0
        while True:
            self._spin(self.posted, seen, _SPIN)
            self._go.acquire()
            seen += 1
            fn, args = self.job
            try:
                fn(*args)
            except BaseException as e:  # handed back to the caller
                self.error = e
            self.finished[0] = seen
            self._done.release()

    def start(self, fn, args) -> None:
        self.job, self.error = (fn, args), None
        self.posted[0] += 1
        self._go.release()

    def wait(self) -> None:
        self._spin(self.finished, self.posted[0] - 1, _SPIN)
        self._done.acquire()
        self.job = None
        if self.error is not None:
            error, self.error = self.error, None
            raise error


_workers: list[_Worker] = []
_lock = threading.Lock()  # one caller at a time uses the workers; others run their rows on their own thread


def _after_fork() -> None:  # a forked child has none of the parent's threads: start afresh
    global _workers, _lock
    _workers, _lock = [], threading.Lock()


os.register_at_fork(after_in_child=_after_fork)


def _threads() -> int:
    try:
        from numba import get_num_threads
    except ImportError:  # pragma: no cover - only the numba kernels come here
        return 1
    return get_num_threads()


def run_rows(fn, rows: int, *args) -> None:
    """``fn(*args, r0, r1)`` for ranges ``(r0, r1)`` that cover ``range(rows)``, in parallel; ``fn`` must
    release the GIL (numba ``nogil=True``, or a BLAS call) and write only its own rows. In parallel only
    inside an :class:`own_blas` block (else OpenBLAS's spinning threads would compete)."""
    ranges = row_ranges(rows, _threads() if _owned else 1)
    if len(ranges) == 1 or not _lock.acquire(blocking=False):
        fn(*args, 0, rows)
        return
    try:
        while len(_workers) < len(ranges) - 1:
            _workers.append(_Worker(len(_workers)))
        busy = _workers[:len(ranges) - 1]
        for w, (r0, r1) in zip(busy, ranges[1:]):
            w.start(fn, (*args, r0, r1))
        error = None
        try:
            fn(*args, *ranges[0])
        except BaseException as e:
            error = e
        for w in busy:
            try:
                w.wait()
            except BaseException as e:
                error = error or e
        if error is not None:
            raise error
    finally:
        _lock.release()


_owned = False  # inside an own_blas() block: OpenBLAS on one thread, the rows shared out among the workers
_taken = False  # an own_blas() block has taken the threads over once: matmul takes them for its own duration
_MIN_FLOPS = 1 << 22  # smaller GEMMs stay one BLAS call (sharing them out costs more than it saves)
_controllers = None  # threadpoolctl's BLAS controllers (False: no threadpoolctl) ...
_modules_seen = -1  # ... found again whenever the number of imported modules has changed (a new BLAS?)


# OpenBLAS's threads spin for 2**28 clock cycles (OPENBLAS_THREAD_TIMEOUT, ~0.1 s at 2-3 GHz) after every call
# that ran on several of them, holding a core each; a kernel on numba's threads meanwhile waits for them (a GELU
# over 1.5M floats took ~5 ms on two numba threads 10-100 ms after a two-thread GEMM, ~1.5 ms serially and ~1 ms
# on two threads 150 ms after it). Every GEMM that matmul hands to multi-threaded BLAS pushes this back.
BLAS_SPIN_S = 0.2
_SMP_MNK = 65536 * 4  # OpenBLAS runs an m x k x n GEMM on one thread up to m*k*n of this (its SMP threshold)
_spins_until = 0.0
# an output of at least this many elements gets its bias inside the GEMM (cblas, beta = 1) rather than in a pass
# after it: the bert-infer step ~4% faster (in-process A/B); the mlp's outputs, below it, measured 0.98x that way
BIAS_IN_GEMM = 1 << 18


def _note_blas_threads(a, b) -> None:
    """After a product that NumPy's BLAS ran outside an :class:`own_blas` block: if it was large enough for
    OpenBLAS's threads, they spin from now on (:func:`blas_spinning`)."""
    if a.shape[-2] * a.shape[-1] * b.shape[-1] > _SMP_MNK:
        _blas_threads_woken()


def _blas_threads_woken() -> None:
    """BLAS's threads have just run a call: they spin for :data:`BLAS_SPIN_S` from now."""
    global _spins_until
    _spins_until = perf_counter() + BLAS_SPIN_S


# a float32 update of at least this many elements is BLAS's saxpy, on its threads (awake after a backward's GEMMs):
# the mlp's SGD step in ~0.07 ms instead of ~0.12 on one thread, and ~0.35 instead of ~0.7 where memory is slow
AXPY_MIN = 1 << 16


def axpy(a: float, x, y) -> bool:
    """``y = fma(x, a, y)`` (``y += a * x`` rounded once, PyTorch's ``y.add_(x, alpha=a)``) for 1-D contiguous
    float32 ``x`` and ``y`` of at least :data:`AXPY_MIN` elements, by the ``saxpy`` of NumPy's OpenBLAS on its
    own threads, where it rounds that way (``cblas.numpy_saxpy``); returns False, having done nothing, otherwise
    (the caller's kernel does it: the same bits). Subnormal results may be kept by BLAS's other threads where
    the optimizers' kernels flush them (``lucidnet.optim``'s docstring)."""
    if (_owned or x.size < AXPY_MIN or x.dtype != xp.float32 or y.dtype != xp.float32 or x.shape != y.shape
            or x.ndim != 1 or not x.flags.c_contiguous or not y.flags.c_contiguous):
        return False
    fn = cblas.numpy_saxpy()
    if fn is None:
        return False
    fn(x.size, a, x.ctypes.data, 1, y.ctypes.data, 1)
    _blas_threads_woken()
    return True


def blas_spinning() -> bool:
    """Whether BLAS's threads may still be spinning after a multi-threaded product that :func:`matmul` ran
    (the compiled kernels then run serially, ``kernels.launch``)."""
    return perf_counter() < _spins_until


def _blas() -> list:
    """threadpoolctl's controllers of the loaded BLAS libraries ([] without threadpoolctl). A library loaded
    later (scipy's, which numba imports) is found at the next call, and an explicit
    ``lucidnet.set_num_threads`` applies to it."""
    global _controllers, _modules_seen
    if _controllers is False or len(sys.modules) == _modules_seen:
        return _controllers or []
    _modules_seen = len(sys.modules)
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        _controllers = False
        return []
    _controllers = ThreadpoolController().select(user_api="blas").lib_controllers
    if config.threads_explicit():
        for lib in _controllers:
            lib.set_num_threads(config.threads_explicit())
    return _controllers


def set_blas_threads(n: int) -> None:
    """Set every loaded BLAS library to ``n`` threads (nothing without threadpoolctl)."""
    for lib in _blas():
        lib.set_num_threads(n)


def blas_info() -> list[dict]:
    """threadpoolctl's description of each loaded BLAS library ([] without threadpoolctl)."""
    return [lib.info() for lib in _blas()]


class own_blas:
    """``with own_blas():`` take intra-op threading over from OpenBLAS for the block: OpenBLAS runs on one
    thread and :func:`run_rows` / :func:`matmul` share work out among lucidnet's row workers; the previous
    BLAS limits come back at the end (a limit is only switched when it differs, two cheap calls). Nested
    blocks leave it to the outermost. After ``lucidnet.set_num_threads`` that setting governs: BLAS is left
    as it is and the rows run in parallel. Nothing changes with one thread, or without threadpoolctl."""

    __slots__ = ("outer", "restore")

    def __enter__(self) -> "own_blas":
        global _owned, _taken
        self.outer, self.restore = not _owned, ()
        if _owned:
            return self
        libs = _blas()
        if config.threads_explicit():
            _owned = True
        elif _threads() > 1 and libs:
            self.restore = [(lib, n) for lib in libs if (n := lib.num_threads) != 1]
            for lib, _ in self.restore:
                lib.set_num_threads(1)
            _owned = _taken = True
        return self

    def __exit__(self, *exc) -> None:
        global _owned
        if self.outer:
            for lib, n in self.restore:
                lib.set_num_threads(n)
            _owned = False
            _blas()  # a BLAS the kernel's first compile loaded is found now


# large float32 GEMMs outside an own_blas block run on the row workers (one single-threaded BLAS call each):
# off by default. On a quiet machine it cost the mlp and cnn steps about 30% and gained BERT nothing; it helps
# when other processes load the cores (OpenBLAS's threads then wait at their barriers).
SHARE_GEMMS = False


def _share(a, b) -> bool:
    """Whether a large GEMM outside an :class:`own_blas` block is shared out among the row workers: float32
    operands with the compiled kernels on (numba, whose thread count the workers follow, is loaded here the
    lucidnet way). OpenBLAS's own threads meet at a barrier for every block of the product; on a machine
    whose cores are busy with other work each meeting can wait a whole time slice, and a product with few
    output rows and a long reduction (a weight gradient) is hit worst. Two single-threaded halves meet once."""
    if not SHARE_GEMMS:
        return False
    from . import compiled
    return compiled("gemm", a, b) is not None


def _mm_rows(a, b, out, r0, r1):
    xp.matmul(a[r0:r1], b, out=out[r0:r1])


def _mm_cols(a, b, out, c0, c1):
    xp.matmul(a, b[:, c0:c1], out=out[:, c0:c1])


def matmul(a, b, out=None, bias=None):
    """``numpy.matmul(a, b, out=out)`` (``+ bias`` along the last axis when given); a large 2-D product is
    shared out among the row workers by rows of the output (or by columns when it has more of them) inside an
    :class:`own_blas` block; float32 2-D products go to oneMKL where it is installed (``kernels.mkl``), and a
    large float32 output with a bias to NumPy's own OpenBLAS through CBLAS (``kernels.cblas``: the bias added
    by the GEMM, not by a pass after it).

    >>> import numpy as np
    >>> matmul(np.ones((2, 3), np.float32), np.ones((3, 4), np.float32))[0]
    array([3., 3., 3., 3.], dtype=float32)
    """
    if not _owned and mkl.enabled():  # oneMKL, on its own threads, when installed (lucidnet[mkl])
        r = mkl.gemm(a, b, out, bias)
        if r is not None:
            return r
    if bias is not None:
        if (not _owned and out is None and a.ndim == 2 and b.ndim == 2 and a.shape[0] * b.shape[1] >= BIAS_IN_GEMM
                and (sgemm := cblas.numpy_sgemm()) is not None):
            r = cblas.gemm(sgemm, a, b, bias=bias)  # the bias written first, the product added to it
            if r is not None:
                _note_blas_threads(a, b)
                return r
        out = matmul(a, b, out)
        out += bias
        return out
    if (a.ndim != 2 or b.ndim != 2 or 2 * a.shape[0] * a.shape[1] * b.shape[1] < _MIN_FLOPS
            or not (_owned or _taken or _share(a, b))):
        out = xp.matmul(a, b) if out is None else xp.matmul(a, b, out=out)
        if not _owned and a.ndim >= 2 and b.ndim >= 2:
            _note_blas_threads(a, b)
        return out
    if out is None:
        out = xp.empty((a.shape[0], b.shape[1]), dtype=xp.result_type(a, b))
    with own_blas():  # nothing to do inside a block already
        if a.shape[0] >= b.shape[1]:
            run_rows(_mm_rows, a.shape[0], a, b, out)
        else:
            run_rows(_mm_cols, b.shape[1], a, b, out)
    return out
