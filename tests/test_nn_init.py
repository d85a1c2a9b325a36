"""nn.init: gains, fans, the distributions (statistically), orthogonality, dtypes, seeding."""
import math

import numpy as np
import pytest
from helpers import parity, torch

import lucidnet as ln
from lucidnet import nn
from lucidnet.nn import init

N_SHAPE = (250, 400)  # 100,000 samples: the standard error of a mean is std / 316


def _p(*shape, dtype=None):
    return nn.Parameter(ln.empty(*shape, dtype=dtype))


def _check_moments(a, mean, std, tol_std=0.02):
    a = a.astype(np.float64)
    se = std / math.sqrt(a.size)
    assert abs(a.mean() - mean) < 6 * se, (a.mean(), mean)
    assert abs(a.std() - std) < tol_std * std, (a.std(), std)


# ---- gain and fans ----------------------------------------------------------------------------------

@parity
def test_calculate_gain_matches_pytorch():
    th = torch()
    for name in ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose2d", "sigmoid", "tanh", "relu", "selu",
                 "leaky_relu"]:
        assert init.calculate_gain(name) == pytest.approx(th.nn.init.calculate_gain(name))
    for slope in (0.2, 1, math.sqrt(5)):
        assert init.calculate_gain("leaky_relu", slope) == pytest.approx(th.nn.init.calculate_gain("leaky_relu", slope))
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", True)


def test_fans_need_two_dims_and_floats():
    with pytest.raises(ValueError, match=r"2 or more dims, got shape \(5,\)"):
        init.xavier_uniform_(_p(5))
    with pytest.raises(ValueError, match="2 or more dims"):
        init.kaiming_normal_(_p(5))
    with pytest.raises(TypeError, match="floating tensor"):
        init.normal_(ln.tensor([1, 2]))
    with pytest.raises(TypeError, match="Tensor or Parameter"):
        init.normal_(np.zeros(3))
    with pytest.raises(ValueError, match="mode must be"):
        init.kaiming_uniform_(_p(3, 3), mode="fan_avg")


# ---- basic distributions ----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [ln.float32, ln.float64])
def test_uniform_and_normal_in_place_keep_dtype(dtype):
    t = _p(*N_SHAPE, dtype=dtype)
    arr = t.array
    assert init.uniform_(t, -2.0, 3.0) is t and t.array is arr and t.dtype == dtype
    a = t.numpy()
    assert a.min() >= -2.0 and a.max() < 3.0 and a.min() < -1.99 and a.max() > 2.99
    _check_moments(a, 0.5, 5 / math.sqrt(12))
    assert init.normal_(t, mean=1.5, std=0.3) is t and t.array is arr and t.dtype == dtype
    _check_moments(t.numpy(), 1.5, 0.3)
    assert init.normal_(t, 0.0, 0.0) is t and not t.numpy().any()


def test_constant_zeros_ones_eye():
    t = _p(3, 4)
    np.testing.assert_array_equal(init.constant_(t, 0.25).numpy(), np.full((3, 4), 0.25, np.float32))
    assert not init.zeros_(t).numpy().any()
    assert (init.ones_(t).numpy() == 1).all()
    np.testing.assert_array_equal(init.eye_(t).numpy(), np.eye(3, 4, dtype=np.float32))
    assert t.dtype == np.float32
    with pytest.raises(ValueError, match="2-D"):
        init.eye_(_p(2, 2, 2))


def test_trunc_normal_bounds_and_moments():
    mean, std, a, b = 1.0, 2.0, -1.0, 4.0
    t = init.trunc_normal_(_p(*N_SHAPE), mean, std, a, b)
    x = t.numpy()
    assert t.dtype == np.float32 and x.min() >= a and x.max() <= b
    # moments of the truncated normal, from its closed form
    lo, hi = (a - mean) / std, (b - mean) / std
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
    zmass = cdf(hi) - cdf(lo)
    tmean = mean + std * (pdf(lo) - pdf(hi)) / zmass
    tvar = std ** 2 * (1 + (lo * pdf(lo) - hi * pdf(hi)) / zmass - ((pdf(lo) - pdf(hi)) / zmass) ** 2)
    _check_moments(x, tmean, math.sqrt(tvar))
    d = init.trunc_normal_(_p(*N_SHAPE)).numpy()  # defaults: N(0, 1) cut at +-2
    assert d.min() >= -2 and d.max() <= 2 and d.min() < -1.99
    with pytest.raises(ValueError, match="a < b"):
        init.trunc_normal_(_p(3), a=1.0, b=1.0)
    with pytest.raises(ValueError, match="nearer the mean"):
        init.trunc_normal_(_p(3), mean=0.0, std=1.0, a=10.0, b=11.0)


# ---- Xavier / Kaiming ---------------------------------------------------------------------------------

SHAPES = [(200, 500), (64, 32, 7, 7)]  # a weight matrix and a conv kernel (receptive field 49)


def _fans(shape):
    rf = int(np.prod(shape[2:]))
    return shape[1] * rf, shape[0] * rf


@pytest.mark.parametrize("shape", SHAPES)
def test_xavier(shape):
    fan_in, fan_out = _fans(shape)
    bound = 0.5 * math.sqrt(6 / (fan_in + fan_out))
    w = init.xavier_uniform_(_p(*shape), gain=0.5).numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    _check_moments(w, 0.0, bound / math.sqrt(3))
    w = init.xavier_normal_(_p(*shape), gain=2.0).numpy()
    _check_moments(w, 0.0, 2.0 * math.sqrt(2 / (fan_in + fan_out)))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity,a", [("relu", 0), ("leaky_relu", 0.2), ("tanh", 0)])
def test_kaiming(shape, mode, nonlinearity, a):
    fan = _fans(shape)[0 if mode == "fan_in" else 1]
    std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    w = init.kaiming_uniform_(_p(*shape), a=a, mode=mode, nonlinearity=nonlinearity).numpy()
    bound = math.sqrt(3) * std
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    _check_moments(w, 0.0, std)
    w = init.kaiming_normal_(_p(*shape), a=a, mode=mode, nonlinearity=nonlinearity).numpy()
    _check_moments(w, 0.0, std)


@parity
@pytest.mark.parametrize("shape", SHAPES)
def test_bounds_match_pytorchs(shape):
    th = torch()
    for fn, kw in [("xavier_uniform_", {"gain": 1.5}), ("kaiming_uniform_", {"a": math.sqrt(5)}),
                   ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"})]:
        ours = np.abs(getattr(init, fn)(_p(*shape), **kw).numpy()).max()
        theirs = getattr(th.nn.init, fn)(th.empty(*shape), **kw).abs().max().item()
        assert ours == pytest.approx(theirs, rel=0.01), fn
    for fn, kw in [("xavier_normal_", {"gain": 0.7}), ("kaiming_normal_", {"mode": "fan_out"})]:
        ours = getattr(init, fn)(_p(*shape), **kw).numpy().std()
        theirs = getattr(th.nn.init, fn)(th.empty(*shape), **kw).std().item()
        assert ours == pytest.approx(theirs, rel=0.03), fn


def test_aliases():
    assert init.glorot_uniform_ is init.xavier_uniform_ and init.glorot_normal_ is init.xavier_normal_
    assert init.he_uniform_ is init.kaiming_uniform_ and init.he_normal_ is init.kaiming_normal_


# ---- orthogonal ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(30, 50), (50, 30), (40, 40), (8, 3, 3, 3)])
@pytest.mark.parametrize("dtype", [ln.float32, ln.float64])
def test_orthogonal(shape, dtype):
    t = init.orthogonal_(_p(*shape, dtype=dtype), gain=2.0)
    assert t.dtype == dtype and t.shape == shape
    w = t.numpy().reshape(shape[0], -1).astype(np.float64) / 2.0
    gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    tol = 1e-5 if dtype == ln.float32 else 1e-12
    np.testing.assert_allclose(gram, np.eye(gram.shape[0]), atol=tol)


def test_orthogonal_is_not_biased_to_one_sign():
    # the sign fix of the QR makes q Haar-distributed: the diagonal is not all positive
    diag = np.concatenate([np.diag(init.orthogonal_(_p(20, 20)).numpy()) for _ in range(5)])
    assert 0.25 < (diag > 0).mean() < 0.75


# ---- seeding --------------------------------------------------------------------------------------------

def _model():
    return nn.Sequential(nn.Linear(30, 20), nn.ReLU(), nn.Linear(20, 5))


def test_same_seed_gives_bit_identical_weights():
    ln.manual_seed(42)
    a = _model().state_dict()
    ln.manual_seed(42)
    b = _model().state_dict()
    ln.manual_seed(43)
    c = _model().state_dict()
    for k in a:
        assert a[k].numpy().tobytes() == b[k].numpy().tobytes(), k
        assert not np.array_equal(a[k], c[k]), k


@pytest.mark.parametrize("fn", [init.uniform_, init.normal_, init.trunc_normal_, init.xavier_uniform_,
                                init.xavier_normal_, init.kaiming_uniform_, init.kaiming_normal_, init.orthogonal_])
def test_every_init_follows_the_library_seed(fn):
    ln.manual_seed(7)
    a = fn(_p(12, 9)).numpy().copy()
    ln.manual_seed(7)
    b = fn(_p(12, 9)).numpy()
    assert a.tobytes() == b.tobytes()
    assert not np.array_equal(a, fn(_p(12, 9)).numpy())


def test_init_on_a_parameter_that_requires_grad_records_no_graph():
    p = nn.Parameter(ln.zeros(4, 4))
    init.kaiming_uniform_(p)
    assert p.requires_grad and p.is_leaf and p.grad is None and p.numpy().any()
