"""The int8 GEMM (int32 accumulation) of ``lucidnet.kernels``: compiled (VNNI) and NumPy forms against an exact
int64 reference, and ``int8_linear`` against float32."""
import numpy as np
import pytest

from lucidnet import kernels
from lucidnet.kernels import qgemm_numpy
from lucidnet.kernels.qlinear import Int8Weight, activation_qparams, int8_linear, quantize_weight

SHAPES = [(1, 4, 1), (3, 5, 2), (7, 384, 17), (16, 384, 1536 // 8), (37, 130, 48), (64, 1000, 33), (9, 3, 40)]


def _kernels(backend):
    k = kernels.select_qgemm(np.zeros(1, np.float32))
    if backend == "numba" and k is qgemm_numpy:
        pytest.skip("the CPU has no VNNI instruction: the compiled int8 GEMM is not used here")
    return k


@pytest.mark.parametrize("m,k,n", SHAPES)
@pytest.mark.parametrize("panels", [False, True])
def test_qgemm_is_exact(backend, m, k, n, panels):
    kern = _kernels(backend)
    rng = np.random.default_rng(m * 1000 + k + n)
    k4 = -(-k // 4) * 4
    a = rng.integers(0, 256, (m, k4), dtype=np.uint8)
    w = rng.integers(-128, 128, (n, k), dtype=np.int8)   # -128 too: the kernel does not need the symmetric range
    w[0, :] = -128
    a[0, :] = 255                                         # the extreme products, summed over all of K
    width = kern.padded(n)
    off = rng.integers(-1000, 1000, width).astype(np.int32)
    scale = rng.uniform(0.5, 2, width).astype(np.float32)
    bias = rng.normal(size=width).astype(np.float32)
    c = np.full((m, width), np.nan, np.float32)
    wp = kern.pack(w)
    if panels:
        kern.qgemm_panels(a, wp, c, off, scale, bias, 0, wp.shape[0] if kern is not qgemm_numpy else n)
    else:
        kern.qgemm_rows(a, wp, c, off, scale, bias, 0, m)
    acc = a[:, :k].astype(np.int64) @ w.T.astype(np.int64) - off[:n]
    expected = acc * scale[:n].astype(np.float64) + bias[:n]   # the kernel rounds acc to float32 once
    np.testing.assert_allclose(c[:, :n], expected, rtol=2e-7 * 4, atol=1e-5)


def test_qgemm_rows_split_like_threads(backend):
    kern = _kernels(backend)
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (40, 64), dtype=np.uint8)
    w = rng.integers(-127, 128, (20, 64), dtype=np.int8)
    width = kern.padded(20)
    z, one = np.zeros(width, np.int32), np.ones(width, np.float32)
    whole, parts = np.empty((40, width), np.float32), np.empty((40, width), np.float32)
    wp = kern.pack(w)
    kern.qgemm_rows(a, wp, whole, z, one, z.astype(np.float32), 0, 40)
    for r0, r1 in ((0, 13), (13, 40)):
        kern.qgemm_rows(a, wp, parts, z, one, z.astype(np.float32), r0, r1)
    np.testing.assert_array_equal(whole, parts)


def test_quantize_rows_same_bytes_in_both_forms(backend):
    kern = _kernels(backend)
    rng = np.random.default_rng(2)
    x = (rng.normal(size=(33, 70)) * 3).astype(np.float32)
    x[0, :4] = [0.0, 1e9, -1e9, 0.5]
    s, zp = activation_qparams(-4.0, 5.0)
    got, ref = np.zeros((33, 72), np.uint8), np.zeros((33, 72), np.uint8)
    kern.quantize_rows(x, np.float32(1 / s), np.float32(zp), got, 0, 33)
    qgemm_numpy.quantize_rows(x, np.float32(1 / s), np.float32(zp), ref, 0, 33)
    np.testing.assert_array_equal(got, ref)
    assert got[0, 1] == 255 and got[0, 2] == 0 and got[0, 0] == zp


def test_weight_quantization_per_channel_symmetric():
    w = np.array([[0.0, 0.0], [1.0, -0.5], [-254.0, 127.0]], np.float32)
    q, s = quantize_weight(w)
    np.testing.assert_allclose(s, [1.0, 1 / 127, 2.0])
    np.testing.assert_array_equal(q, [[0, 0], [127, -64], [-127, 64]])   # rint(-63.5) = -64 (half to even)


def test_activation_qparams_hold_zero_exactly():
    s, zp = activation_qparams(0.5, 2.0)          # range widened to [0, 2]
    assert zp == 0 and s == pytest.approx(2 / 255)
    s, zp = activation_qparams(-1.0, 3.0)
    assert -zp * s == pytest.approx(-1.0, abs=s / 2)
    assert activation_qparams(0.0, 0.0) == (1.0, 0)
    with pytest.raises(ValueError, match="NaN or infinity"):
        activation_qparams(float("nan"), 1.0)


@pytest.mark.parametrize("m", [1, 5, 32, 100])
def test_int8_linear_close_to_float(backend, m):
    rng = np.random.default_rng(m)
    x = rng.normal(size=(m, 96)).astype(np.float32)
    wf = (rng.normal(size=(40, 96)) * 0.1).astype(np.float32)
    b = rng.normal(size=40).astype(np.float32)
    y = int8_linear(x, Int8Weight.from_float(wf), b)
    ref = x @ wf.T + b
    # error of both quantizations: |x| <= max|x| with step s_x, weights with step s_w: a few steps of the output
    assert y.shape == (m, 40) and y.dtype == np.float32
    assert np.abs(y - ref).max() < 0.05 * np.abs(ref).max()


def test_int8_linear_forms_agree():
    from lucidnet.kernels import set_numba
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 200)).astype(np.float32)
    w = Int8Weight.from_float(rng.normal(size=(70, 200)).astype(np.float32))
    prev = set_numba(False)
    try:
        ref = int8_linear(x, w)
    finally:
        set_numba(prev)
    np.testing.assert_allclose(int8_linear(x, w), ref, rtol=1e-6, atol=1e-5)


def test_int8_linear_errors():
    w = Int8Weight.from_float(np.ones((3, 4), np.float32))
    with pytest.raises(ValueError, match=r"input of shape \(2, 5\) does not fit a weight of shape \(3, 4\)"):
        int8_linear(np.ones((2, 5), np.float32), w)
    with pytest.raises(ValueError, match="NaN"):
        int8_linear(np.full((2, 4), np.nan, np.float32), w)
    with pytest.raises(ValueError, match="int8"):
        Int8Weight(np.ones((3, 4), np.float32), np.ones(3, np.float32))
