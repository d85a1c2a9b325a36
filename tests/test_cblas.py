"""A float32 product with its bias added by the GEMM (lucidnet.kernels.cblas): NumPy's own OpenBLAS through CBLAS,
the same values as ``a @ b + bias``, and the large outputs of ``kernels.threads.matmul`` take it."""
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
