"""Kernels compiled twice (lucidnet.kernels.launch): the serial and parallel forms agree to the bit, and the
choice follows the work's size and numba's thread count."""
import numpy as np
import pytest

numba = pytest.importorskip("numba")

from lucidnet.kernels import act_numba, launch, norm_numba  # noqa: E402


def test_small_work_or_one_thread_runs_serially():
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
