"""oneMKL GEMMs (lucidnet.kernels.mkl), where the mkl package is installed; NumPy's BLAS otherwise."""
import numpy as np
import pytest

from lucidnet.kernels import mkl, threads


def test_gemm_matches_numpy_in_every_layout():
    if not mkl.available():
        pytest.skip("oneMKL is not installed (pip install 'lucidnet[mkl]')")
    previous = mkl.set_enabled(True)
    try:
        rng = np.random.default_rng(0)
        a, b = rng.standard_normal((37, 19), dtype=np.float32), rng.standard_normal((19, 23), dtype=np.float32)
        want = a.astype(np.float64) @ b.astype(np.float64)
        wide = rng.standard_normal((37, 40), dtype=np.float32)
        for x, y in [(a, b), (np.asfortranarray(a), b), (a, np.asfortranarray(b)), (a.T.copy().T, b.T.copy().T),
                     (wide[:, 3:22], b)]:  # row-strided view
            x[...] = a
            got = mkl.gemm(x, y)
            assert got is not None and got.dtype == np.float32
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(threads.matmul(x, y), want, rtol=1e-5, atol=1e-5)
        out = np.empty((37, 23), np.float32)
        assert mkl.gemm(a, b, out) is out
        assert mkl.gemm(a.astype(np.float64), b) is None      # not float32: NumPy's
        assert mkl.gemm(a[:, ::2], b[::2]) is None           # no unit stride: NumPy's
        sq = rng.standard_normal((8, 8), dtype=np.float32)
        assert mkl.gemm(sq, sq, out=sq) is None              # the output overlaps an operand: NumPy's
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
