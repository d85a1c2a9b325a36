"""lucidnet.set_flush_denormal: PyTorch's torch.set_flush_denormal."""
import numpy as np
import pytest

import lucidnet as ln


def test_flush_denormal_flushes_and_restores():
    tiny = np.full(4, 1e-39, np.float32)  # subnormal in float32
    try:
        if not ln.set_flush_denormal(True):
            pytest.skip("this platform cannot flush subnormals")
        assert (tiny * np.float32(0.5) == 0).all()
        out = (ln.tensor(tiny) * 0.5).array
        assert (out == 0).all()
    finally:
        assert ln.set_flush_denormal(False)
    assert (tiny * np.float32(0.5) > 0).all()


def test_flush_denormal_takes_a_bool():
    with pytest.raises(TypeError, match="mode must be a bool"):
        ln.set_flush_denormal(1)


def test_numba_worker_threads_flush_too():
    numba = pytest.importorskip("numba")
    from lucidnet.kernels import act_numba
    n = 1 << 18
    sub, ones, out = np.full(n, 1e-39, np.float32), np.ones(n, np.float32), np.empty(n, np.float32)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        act_numba.positive_grad.parallel(sub, ones, out)  # the pool is running before the switch
        assert (out > 0).all()
        if not ln.set_flush_denormal(True):
            pytest.skip("this platform cannot flush subnormals")
        act_numba.positive_grad.parallel(sub, ones, out)  # every thread reads the subnormal inputs as zero
        assert (out == 0).all()
    finally:
        ln.set_flush_denormal(False)
        numba.set_num_threads(before)
    act_numba.positive_grad.parallel(sub, ones, out)
    assert (out > 0).all()
