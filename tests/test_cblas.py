"""A float32 product with its bias added by the GEMM (lucidnet.kernels.cblas): NumPy's own OpenBLAS through CBLAS,
the same values as ``a @ b + bias``, and the large outputs of ``kernels.threads.matmul`` take it; and the large
updates ``y += a * x`` that ``kernels.threads.axpy`` gives that BLAS's saxpy, with the bits of a fused multiply-add."""
import numpy as np
import pytest

from helpers import check_gemm_layouts
from lucidnet.kernels import cblas, threads


@pytest.fixture
def sgemm():
    f = cblas.numpy_sgemm()
    if f is None:
        pytest.skip("NumPy's BLAS is not an OpenBLAS that threadpoolctl finds")
    return f


def test_numpy_openblas_is_found_where_numpy_ships_it():
    from threadpoolctl import threadpool_info
    if any(i.get("internal_api") == "openblas" and "numpy" in i["filepath"] for i in threadpool_info()):
        assert cblas.numpy_sgemm() is not None


def test_gemm_matches_numpy_in_every_layout(sgemm):
    check_gemm_layouts(lambda a, b, out=None, bias=None: cblas.gemm(sgemm, a, b, out, bias))


def test_large_outputs_with_a_bias_take_the_gemm(sgemm, monkeypatch):
    calls = []
    real = cblas.gemm
    monkeypatch.setattr(cblas, "gemm", lambda *a, **k: calls.append(a[1].shape) or real(*a, **k))
    monkeypatch.setattr(threads, "_taken", False)
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((600, 40), dtype=np.float32), rng.standard_normal((40, 500), dtype=np.float32)
    bias = rng.standard_normal(500, dtype=np.float32)
    want = x.astype(np.float64) @ w + bias
    np.testing.assert_allclose(threads.matmul(x, w, bias=bias), want, rtol=1e-5, atol=1e-5)
    assert calls == [(600, 40)]                                   # 300,000 outputs: the bias inside the GEMM
    np.testing.assert_allclose(threads.matmul(x[:100], w, bias=bias), want[:100], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(threads.matmul(x, w), want - bias, rtol=1e-5, atol=1e-5)
    with threads.own_blas():                                      # the row workers' products: a pass after them
        np.testing.assert_allclose(threads.matmul(x, w, bias=bias), want, rtol=1e-5, atol=1e-5)
    assert calls == [(600, 40)]                                   # small, no bias, or inside own_blas: NumPy's


def test_a_linear_layer_gives_the_same_values_either_way(sgemm, monkeypatch):
    import lucidnet as ln
    lin = ln.nn.Linear(64, 1024)
    x = ln.randn(512, 64)
    with ln.no_grad():
        fused = lin(x).numpy()
        monkeypatch.setattr(threads, "BIAS_IN_GEMM", 1 << 62)
        after = lin(x).numpy()
    np.testing.assert_allclose(fused, after, rtol=1e-6, atol=1e-6)


@pytest.fixture
def saxpy():
    if cblas.numpy_sgemm() is None:
        pytest.skip("NumPy's BLAS is not an OpenBLAS that threadpoolctl finds")
    f = cblas.numpy_saxpy()
    if f is None:
        pytest.skip("NumPy's OpenBLAS's saxpy does not round as a fused multiply-add on this CPU")
    return f


def test_large_updates_take_blas_saxpy_with_the_bits_of_the_fused_kernels(saxpy, monkeypatch):
    from lucidnet.kernels import optim_numpy
    monkeypatch.setattr(threads, "_owned", False)
    rng = np.random.default_rng(0)
    n = threads.AXPY_MIN + 13
    x, y = rng.standard_normal(n, dtype=np.float32), rng.standard_normal(n, dtype=np.float32)
    x[::101], y[::101] = (1 + 2.0 ** -20) * 2.0 ** -12, 1 + 2.0 ** -23   # sums just below a midpoint
    a = (1 - 2.0 ** -20) * 2.0 ** -12
    want = np.empty_like(y)
    optim_numpy.fma(x, a, y, out=want)
    got = y.copy()
    assert threads.axpy(a, x, got)
    np.testing.assert_array_equal(got, want)
    assert threads.blas_spinning()                              # BLAS's threads are awake after it
    for args in ((x[:1000], got[:1000]), (x.astype(np.float64), got.astype(np.float64)), (x[::2], got[::2]),
                 (x.reshape(-1, 1)[:, 0][:-13].reshape(512, -1), got[:-13].reshape(512, -1))):
        before = args[1].copy()
        assert not threads.axpy(a, *args)                       # small, float64, strided, 2-D: the caller's kernel
        np.testing.assert_array_equal(args[1], before)
    monkeypatch.setattr(threads, "_owned", True)                # inside own_blas: BLAS is on one thread
    assert not threads.axpy(a, x, got)


def test_a_saxpy_that_rounds_twice_is_not_used(saxpy, monkeypatch):
    """The check ``numpy_saxpy`` makes once: a saxpy whose results are not the fused multiply-add's (a CPU
    without FMA, OpenBLAS's older kernels) is refused, and SGD then takes its compiled kernel."""
    def rounds_twice(n, a, px, incx, py, incy):
        import ctypes
        x = np.ctypeslib.as_array(ctypes.cast(px, ctypes.POINTER(ctypes.c_float)), (n,))
        y = np.ctypeslib.as_array(ctypes.cast(py, ctypes.POINTER(ctypes.c_float)), (n,))
        y += x * np.float32(a)
    assert cblas._fused(saxpy)
    assert not cblas._fused(rounds_twice)
    monkeypatch.setattr(cblas, "_saxpy_checked", False)
    assert cblas.numpy_saxpy() is None
    x = np.ones(threads.AXPY_MIN, np.float32)
    assert not threads.axpy(0.5, x, x.copy())
