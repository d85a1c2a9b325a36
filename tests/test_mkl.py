"""oneMKL GEMMs (lucidnet.kernels.mkl), where the mkl package is installed; NumPy's BLAS otherwise."""
import numpy as np
import pytest

from helpers import check_gemm_layouts
from lucidnet.kernels import mkl, threads


def test_gemm_matches_numpy_in_every_layout():
    if not mkl.available():
        pytest.skip("oneMKL is not installed (pip install 'lucidnet[mkl]')")
    previous = mkl.set_enabled(True)
    try:
        check_gemm_layouts(mkl.gemm)
        rng = np.random.default_rng(1)
        a, b = rng.standard_normal((37, 19), dtype=np.float32), rng.standard_normal((19, 23), dtype=np.float32)
        np.testing.assert_allclose(threads.matmul(a, b), a.astype(np.float64) @ b, rtol=1e-5, atol=1e-5)
    finally:
        mkl.set_enabled(previous)


def test_disabled_means_numpy():
    previous = mkl.set_enabled(False)
    try:
        a = np.ones((4, 3), np.float32)
        assert not mkl.enabled() and mkl.gemm(a, a.T) is None
        assert "NumPy" in mkl.status()
    finally:
        mkl.set_enabled(previous)
