"""Activations: finite differences (float64), PyTorch parity (float32), stability at +-1000, dtypes."""
import warnings

import numpy as np
import pytest

import lucidnet as ln
from helpers import check_grad, check_parity, parity, rand


def F():
    return pytest.importorskip("torch").nn.functional


def T():
    return pytest.importorskip("torch")


# name, lucidnet fn, torch fn (built lazily so the table imports without torch)
ACTS = [
    ("sigmoid", ln.sigmoid, lambda x: T().sigmoid(x)),
    ("sigmoid.method", lambda x: x.sigmoid(), lambda x: x.sigmoid()),
    ("tanh", ln.tanh, lambda x: T().tanh(x)),
    ("tanh.method", lambda x: x.tanh(), lambda x: x.tanh()),
    ("relu", ln.relu, lambda x: F().relu(x)),
    ("relu.method", lambda x: x.relu(), lambda x: x.relu()),
    ("leaky_relu", ln.ops.leaky_relu, lambda x: F().leaky_relu(x)),
    ("leaky_relu0.2", lambda x: ln.ops.leaky_relu(x, 0.2), lambda x: F().leaky_relu(x, 0.2)),
    ("elu", ln.ops.elu, lambda x: F().elu(x)),
    ("elu0.5", lambda x: ln.ops.elu(x, alpha=0.5), lambda x: F().elu(x, alpha=0.5)),
    ("gelu", ln.ops.gelu, lambda x: F().gelu(x)),
    ("gelu_tanh", lambda x: ln.ops.gelu(x, approximate="tanh"), lambda x: F().gelu(x, approximate="tanh")),
    ("hardtanh", ln.ops.hardtanh, lambda x: F().hardtanh(x)),
    ("hardtanh-2_3", lambda x: ln.nn.functional.hardtanh(x, -2.0, 3.0), lambda x: F().hardtanh(x, -2.0, 3.0)),
    ("relu6", ln.nn.functional.relu6, lambda x: F().relu6(x)),
    ("relu6.module", ln.nn.ReLU6(), lambda x: T().nn.ReLU6()(x)),
    ("hardtanh.module", ln.nn.Hardtanh(-0.5, 2.0), lambda x: T().nn.Hardtanh(-0.5, 2.0)(x)),
    ("silu", ln.ops.silu, lambda x: F().silu(x)),
    ("softplus", ln.ops.softplus, lambda x: F().softplus(x)),
    ("softplus_beta2", lambda x: ln.ops.softplus(x, beta=2.0, threshold=5.0),
     lambda x: F().softplus(x, beta=2.0, threshold=5.0)),
    ("softmax", ln.softmax, lambda x: T().softmax(x, -1)),
    ("softmax_dim0", lambda x: ln.softmax(x, dim=0), lambda x: T().softmax(x, 0)),
    ("softmax_axis0", lambda x: ln.softmax(x, axis=0), lambda x: T().softmax(x, 0)),
    ("softmax.method", lambda x: x.softmax(-1), lambda x: x.softmax(-1)),
    ("log_softmax", ln.log_softmax, lambda x: F().log_softmax(x, -1)),
    ("log_softmax_dim0", lambda x: ln.log_softmax(x, dim=0), lambda x: F().log_softmax(x, 0)),
    ("log_softmax.method", lambda x: x.log_softmax(-1), lambda x: x.log_softmax(-1)),
]
SHAPES = [(7,), (3, 5), (2, 3, 4)]
CASES = [pytest.param(fn, th, s, id=f"{name}-{s}") for name, fn, th in ACTS for s in SHAPES]


def _inputs(shape, seed=0, scale=2.0):
    """Normal values, pushed away from 0 so relu-like kinks are never straddled by finite differences."""
    x = np.asarray(rand(*shape, seed=seed)) * scale
    x[np.abs(x) < 1e-2] += 0.05
    return x


@pytest.mark.parametrize("fn,th,shape", CASES)
def test_activation_grad(fn, th, shape):
    check_grad(fn, _inputs(shape, seed=1))


@parity
@pytest.mark.parametrize("fn,th,shape", CASES)
def test_activation_parity(fn, th, shape):
    outs, _ = check_parity(fn, th, _inputs(shape, seed=1))
    assert outs[0].dtype == np.float32


@pytest.mark.parametrize("fn,th,shape", CASES[::3])
def test_activation_float64_stays_float64(fn, th, shape):
    x = ln.tensor(_inputs(shape), dtype=ln.float64, requires_grad=True)
    y = fn(x)
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float64


@parity
@pytest.mark.parametrize("fn,th,shape", [c for c in CASES if c.values[2] == (3, 5)])
def test_activation_wide_range_parity(fn, th, shape):
    """Values over [-30, 30]: covers the saturated tails, softplus's threshold and the exp branches."""
    x = np.linspace(-30.0, 30.0, 15 * 1).reshape(3, 5) + 0.013
    check_parity(fn, th, x, atol=1e-5, rtol=1e-4)


EXTREME = np.array([-1000.0, -100.0, -20.5, -1.0, 0.5, 20.5, 100.0, 1000.0])


@parity
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fn,th", [pytest.param(fn, th, id=name) for name, fn, th in ACTS if "." not in name])
def test_activation_stable_at_plus_minus_1000(fn, th, dtype):
    """No overflow warnings, no NaN/inf, and PyTorch's values and gradients at +-1000."""
    torch = T()
    x = ln.tensor(EXTREME, dtype=dtype, requires_grad=True)
    w = np.linspace(-1.0, 1.0, EXTREME.size).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = fn(x)
        (y * ln.tensor(w, dtype=dtype)).sum().backward()
    assert y.dtype == dtype and x.grad.dtype == dtype
    tdt = torch.float32 if dtype == np.float32 else torch.float64
    xt = torch.tensor(EXTREME, dtype=tdt, requires_grad=True)
    yt = th(xt)
    (yt * torch.tensor(w)).sum().backward()
    yv = y.numpy()
    fin = np.isfinite(yt.detach().numpy())
    # log_softmax of -1000 next to +1000 is -2000: finite; every output must be finite where PyTorch's is
    assert np.isfinite(yv[fin]).all() and np.isfinite(x.grad).all(), (yv, x.grad)
    np.testing.assert_allclose(yv, yt.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("fn", [ln.softmax, ln.log_softmax, ln.sigmoid, ln.tanh, ln.ops.softplus, ln.ops.silu,
                                ln.ops.gelu, ln.ops.elu])
def test_activation_extreme_rows_have_no_nan(fn):
    """A row of all +1000 or all -1000 (softmax's worst case) stays finite."""
    x = ln.tensor([[1000.0] * 4, [-1000.0] * 4, [1000.0, -1000.0, 0.0, 3.0]], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = fn(x)
        y.backward(np.ones(y.shape, np.float32))
    assert np.isfinite(y.numpy()).all() and np.isfinite(x.grad).all()


def test_softmax_rows_sum_to_one_and_match_exp_log_softmax():
    x = ln.tensor(rand(4, 6, seed=2) * 10)
    s = ln.softmax(x, dim=1)
    np.testing.assert_allclose(s.numpy().sum(1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.exp(ln.log_softmax(x, dim=1).numpy()), s.numpy(), rtol=1e-5, atol=1e-7)


# ---- kinks: PyTorch's choice of (sub)gradient at 0 -------------------------------------------

@parity
@pytest.mark.parametrize("fn,th", [
    pytest.param(ln.relu, lambda x: F().relu(x), id="relu"),
    pytest.param(ln.ops.leaky_relu, lambda x: F().leaky_relu(x), id="leaky_relu"),
    pytest.param(ln.ops.elu, lambda x: F().elu(x), id="elu"),
    pytest.param(lambda x: ln.ops.elu(x, 0.5), lambda x: F().elu(x, 0.5), id="elu0.5"),
    pytest.param(ln.ops.gelu, lambda x: F().gelu(x), id="gelu"),
    pytest.param(ln.ops.silu, lambda x: F().silu(x), id="silu"),
    pytest.param(ln.ops.softplus, lambda x: F().softplus(x), id="softplus"),
    pytest.param(lambda x: ln.ops.softplus(x, threshold=1.0), lambda x: F().softplus(x, threshold=1.0),
                 id="softplus_at_threshold"),
])
def test_gradient_at_zero_and_at_threshold_like_torch(fn, th):
    check_parity(fn, th, np.array([-1.0, 0.0, 1.0, 2.0]))


def test_relu_gradient_values():
    x = ln.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    ln.relu(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 1.0])


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="gelu.*approximate"):
        ln.ops.gelu(ln.ones(2), approximate="fast")


def test_activation_reused_output_graph_is_correct():
    """sigmoid/tanh/exp save their output for backward: using the output again must not corrupt it."""
    x = ln.tensor(rand(3, 4, seed=3), dtype=ln.float64, requires_grad=True)
    check_grad(lambda t: ln.sigmoid(t) * ln.sigmoid(t).exp() + ln.tanh(t) ** 2 + ln.softmax(t, 1) * ln.relu(t),
               x.numpy().copy())


def test_hardtanh_rejects_inverted_range_and_prints_like_pytorch():
    with pytest.raises(ValueError, match="min_val=2.0 must not exceed max_val=1.0"):
        ln.nn.Hardtanh(2.0, 1.0)
    with pytest.raises(ValueError, match="hardtanh"):
        ln.nn.functional.hardtanh(ln.ones(2), 1.0, 0.0)
    assert repr(ln.nn.ReLU6()) == "ReLU6()"
    assert repr(ln.nn.Hardtanh(-2.0, 2.0)) == "Hardtanh(min_val=-2.0, max_val=2.0)"


@pytest.mark.parametrize("shape", [(5,), (3, 4, 70)])
def test_gelu_compiled_matches_numpy_reference(backend, shape):
    """Exact GELU in float32 runs the compiled kernels (kernels.act_numba) when numba is on; both forms agree."""
    from lucidnet import kernels
    x = _inputs(shape, seed=3).astype(np.float32)
    g = rand(*shape, seed=4).astype(np.float32)
    outs = {}
    for compiled in (False, True):
        previous = kernels.set_numba(compiled and backend == "numba")
        try:
            t = ln.tensor(x, requires_grad=True)
            y = ln.ops.gelu(t.transpose() if len(shape) > 1 else t)  # a non-contiguous input too
            (y * ln.tensor(g.T if len(shape) > 1 else g)).sum().backward()
            outs[compiled] = (y.numpy(), t.grad)
        finally:
            kernels.set_numba(previous)
    for a, b in zip(outs[False], outs[True]):
        assert b.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("fn", [ln.nn.functional.relu6, ln.relu], ids=["relu6", "relu"])
@pytest.mark.parametrize("layout", ["C", "channels_last", "strided"])
def test_hardtanh_compiled_matches_numpy_reference(backend, layout, fn):
    """ReLU6 / hardtanh on float32 runs one compiled pass each way when numba is on (ReLU its backward), in the
    input's memory layout (a conv's channels-last output stays channels-last); values, NaN and gradients as the
    NumPy form."""
    from lucidnet import kernels
    base = (rand(2, 5, 6, 3, seed=5) * 4).astype(np.float32)
    base[0, 0, 0, 0] = np.nan
    x = {"C": base, "channels_last": base.transpose(0, 3, 1, 2), "strided": base[:, ::2]}[layout]
    g = rand(*x.shape, seed=6).astype(np.float32)
    outs = {}
    for compiled in (False, True):
        previous = kernels.set_numba(compiled and backend == "numba")
        try:
            t = ln.tensor(x, requires_grad=True)
            y = fn(t)
            y.backward(ln.tensor(g))
            outs[compiled] = (y.numpy(), y.array.strides, t.grad)
        finally:
            kernels.set_numba(previous)
    np.testing.assert_array_equal(outs[False][0], outs[True][0])
    assert outs[False][1] == outs[True][1]
    np.testing.assert_array_equal(outs[False][2], outs[True][2])
    assert outs[True][2].dtype == np.float32


def test_gelu_under_no_grad_and_the_compiled_exponential(backend):
    """GELU under no_grad (the compiled kernel then keeps nothing for a backward) gives the values it gives
    with a graph; the kernels' vectorisable exp(-y) is within 2e-7 (relative) of exp over its range."""
    x = (rand(3, 50, seed=7) * 5).astype(np.float32)
    with ln.no_grad():
        y0 = ln.ops.gelu(ln.tensor(x)).numpy()
    y1 = ln.ops.gelu(ln.tensor(x, requires_grad=True)).numpy()
    np.testing.assert_array_equal(y0, y1)
    if backend == "numba":
        from numba import njit

        from lucidnet.kernels.act_numba import exp_neg

        @njit
        def run(y, out):
            for i in range(y.shape[0]):
                out[i] = exp_neg(y[i])
        y = np.concatenate([np.linspace(0, 87, 100001, dtype=np.float32), np.float32([89, np.inf, np.nan])])
        out = np.empty_like(y)
        run(y, out)
        ref = np.exp(-y[:-3].astype(np.float64))
        assert np.max(np.abs(out[:-3] - ref) / ref) < 2e-7
        assert out[-3] == 0 and out[-2] == 0 and np.isnan(out[-1])
        tail = np.linspace(87, 88, 10001, dtype=np.float32)  # 2^-126 and 2^-127: results near or below FLT_MIN
        run(tail, out[:tail.size])
        ref = np.exp(-tail.astype(np.float64))
        assert np.all(np.abs(out[:tail.size] - ref) <= 2e-7 * ref + 2 ** -149)  # one subnormal step at most
