"""Kernels compiled twice (lucidnet.kernels.launch): the serial and parallel forms agree to the bit, and the
choice follows the work's size and numba's thread count."""
import numpy as np
import pytest

numba = pytest.importorskip("numba")

from lucidnet.kernels import act_numba, launch, norm_numba, threads  # noqa: E402


@pytest.fixture
def blas_quiet(monkeypatch):
    """No multi-threaded BLAS product has run lately, and no recurrent kernel has taken BLAS's threads over (its
    row workers would run the large products): whatever the tests before did."""
    monkeypatch.setattr(threads, "_spins_until", 0.0)
    monkeypatch.setattr(threads, "_taken", False)


def test_small_work_or_one_thread_runs_serially(blas_quiet):
    k = act_numba.positive_grad
    big, small = np.zeros(k.min_size, np.float32), np.zeros(k.min_size - 1, np.float32)
    assert k.choose(small) is k.serial
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        assert k.choose(big) is k.serial
        if numba.config.NUMBA_NUM_THREADS > 1:
            numba.set_num_threads(2)
            assert k.choose(big) is k.parallel
    finally:
        numba.set_num_threads(before)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two numba threads")
def test_kernels_run_serially_while_blas_threads_spin(blas_quiet, monkeypatch):
    """After a GEMM that OpenBLAS runs on several threads, whose threads then spin holding the cores, a large
    call runs serially until the spin is over; a small product (one BLAS thread) changes nothing."""
    k, before = act_numba.positive_grad, numba.get_num_threads()
    big = np.zeros(k.min_size, np.float32)
    try:
        numba.set_num_threads(2)
        threads.matmul(np.ones((8, 8), np.float32), np.ones((8, 8), np.float32))
        assert k.choose(big) is k.parallel
        a = np.ones((128, 256), np.float32)
        threads.matmul(a, a.T)
        assert threads.blas_spinning() and k.choose(big) is k.serial
        monkeypatch.setattr(threads, "_spins_until", threads.perf_counter() - 1)  # the spin is over
        assert k.choose(big) is k.parallel
        monkeypatch.setattr(threads, "_taken", True)  # after a recurrent kernel: the row workers run it
        threads.matmul(a, a.T)
        assert k.choose(big) is k.parallel
    finally:
        numba.set_num_threads(before)


def test_forms_agree_to_the_bit():
    rng = np.random.default_rng(0)
    n = 3 * launch.MIN_SIZE + 7
    g, y = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    for kernel, args in [(act_numba.positive_grad, (g, y)), (act_numba.gelu, (g,))]:
        outs = []
        for form in (kernel.parallel, kernel.serial):
            out = np.empty_like(g)
            form(*args, out)
            outs.append(out)
        np.testing.assert_array_equal(outs[0], outs[1])
    x = rng.standard_normal((4099, 48)).astype(np.float32)  # the normalisation sums split rows into fixed blocks
    parts = []
    for form in (norm_numba._sums.parallel, norm_numba._sums.serial):
        partial = np.empty((3, 2, 48))
        form(x, x[0].copy(), partial)
        parts.append(partial)
    np.testing.assert_array_equal(parts[0], parts[1])


def test_min_size_is_checked():
    with pytest.raises(ValueError, match="min_size"):
        launch.parallel(min_size=-1)
