"""Layers: Linear, activations, Dropout, Flatten, Identity and the containers; gradients and PyTorch parity."""
import numpy as np
import pytest
from helpers import parity, rand, torch

import lucidnet as ln
import lucidnet.nn.functional as F
from lucidnet import nn


def module_gradcheck(module, x):
    """Finite differences (float64) for the input and every parameter of ``module``."""
    module.double()
    xt = ln.tensor(x, dtype=ln.float64, requires_grad=True)
    params = list(module.parameters())
    assert ln.autograd.gradcheck(lambda inp, *ps: module(inp), [xt, *params])


def module_parity(module, tmodule, x, atol=1e-5, rtol=1e-4):
    """Same weights (PyTorch's, loaded through load_state_dict), same input: outputs, input and weight grads."""
    th = torch()
    module.load_state_dict({k: v.detach().numpy() for k, v in tmodule.state_dict().items()})
    x = x.astype(np.float32)
    xl = ln.tensor(x, requires_grad=True)
    xt = th.tensor(x, requires_grad=True)
    yl, yt = module(xl), tmodule(xt)
    assert yl.dtype == np.float32 and tuple(yl.shape) == tuple(yt.shape)
    np.testing.assert_allclose(yl.numpy(), yt.detach().numpy(), atol=atol, rtol=rtol)
    w = np.random.default_rng(7).standard_normal(yl.shape).astype(np.float32)
    (yl * ln.tensor(w)).sum().backward()
    (yt * th.tensor(w)).sum().backward()
    assert xl.grad.dtype == np.float32
    np.testing.assert_allclose(xl.grad, xt.grad.numpy(), atol=atol, rtol=rtol)
    tparams = dict(tmodule.named_parameters())
    for name, p in module.named_parameters():
        assert p.grad.dtype == np.float32, name
        np.testing.assert_allclose(p.grad, tparams[name].grad.numpy(), atol=atol, rtol=rtol, err_msg=name)


# ---- Linear -----------------------------------------------------------------------------------------

LINEAR_CASES = [((8, 5), True), ((8, 5), False), ((3, 4, 5), True), ((3, 4, 5), False), ((5,), True)]


@pytest.mark.parametrize("shape,bias", LINEAR_CASES)
def test_linear_gradcheck(shape, bias):
    module_gradcheck(nn.Linear(5, 3, bias=bias), rand(*shape))


@parity
@pytest.mark.parametrize("shape,bias", LINEAR_CASES)
def test_linear_parity(shape, bias):
    th = torch()
    module_parity(nn.Linear(5, 3, bias=bias), th.nn.Linear(5, 3, bias=bias), rand(*shape, seed=1))


def test_linear_default_init_is_pytorchs():
    fc = nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)
    w, b = fc.weight.numpy(), fc.bias.numpy()
    assert w.shape == (300, 400) and b.shape == (300,) and w.dtype == np.float32 and b.dtype == np.float32
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.01 * bound and abs(w.mean()) < 0.01 * bound
    assert np.abs(w).max() > 0.99 * bound  # the whole range is used, not a narrower one
    assert nn.Linear(4, 2, bias=False).bias is None


def test_linear_shape_error_names_the_layer_and_shapes():
    fc = nn.Linear(784, 10)
    with pytest.raises(ValueError) as e:
        fc(ln.randn(32, 785))
    assert str(e.value).startswith("Linear(in_features=784, out_features=10) got input of shape (32, 785)")
    assert "784" in str(e.value).split("(32, 785)")[1]
    with pytest.raises(ValueError, match=r"got input of shape \(\)"):
        fc(ln.tensor(1.0))


def test_linear_dtype_error_and_float64_path():
    fc = nn.Linear(4, 2)
    with pytest.raises(TypeError, match=r"Linear\(in_features=4, out_features=2\) got input of dtype float64 "
                                        r"but its weight is float32"):
        fc(ln.randn(3, 4, dtype=ln.float64))
    assert fc.double()(ln.randn(3, 4, dtype=ln.float64)).dtype == np.float64
    with pytest.raises(ValueError, match="in_features must be a non-negative int"):
        nn.Linear(-1, 3)


def test_linear_keeps_float32_through_backward():
    fc = nn.Linear(6, 4)
    x = ln.randn(5, 6, requires_grad=True)
    y = fc(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == fc.weight.grad.dtype == fc.bias.grad.dtype == np.float32


# ---- activations ------------------------------------------------------------------------------------

def _acts(n):
    return {
        "relu": n.ReLU(), "sigmoid": n.Sigmoid(), "tanh": n.Tanh(), "leaky_relu": n.LeakyReLU(0.2),
        "elu": n.ELU(alpha=0.7), "gelu": n.GELU(), "gelu_tanh": n.GELU(approximate="tanh"), "silu": n.SiLU(),
        "softplus": n.Softplus(beta=2.0, threshold=5.0), "softmax": n.Softmax(dim=1),
        "log_softmax": n.LogSoftmax(dim=0), "identity": n.Identity(),
    }


ACT_NAMES = list(_acts(nn))


@pytest.mark.parametrize("name", ACT_NAMES)
def test_activation_gradcheck(name):
    module_gradcheck(_acts(nn)[name], 3 * rand(4, 5, seed=2))


@parity
@pytest.mark.parametrize("name", ACT_NAMES)
def test_activation_parity(name):
    th = torch()
    x = 3 * rand(4, 5, seed=3)
    x[0, :2] = [40.0, -40.0]  # far tails: stable forms, softplus past its threshold
    module_parity(_acts(nn)[name], _acts(th.nn)[name], x)


def test_activation_modules_use_the_ops():
    x = ln.randn(3, 4)
    np.testing.assert_array_equal(nn.LeakyReLU(0.3)(x).numpy(), F.leaky_relu(x, 0.3).numpy())
    np.testing.assert_array_equal(nn.Softmax(0)(x).numpy(), F.softmax(x, 0).numpy())
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")


# ---- Dropout ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics_and_scaling(p, backend):
    x = ln.ones(400, 500)
    y = nn.Dropout(p)(x).numpy()
    assert y.dtype == np.float32
    dropped = (y == 0).mean()
    assert abs(dropped - p) < 0.01  # ~9 standard errors at n = 200,000
    np.testing.assert_array_equal(np.unique(y), [0.0, np.float32(1 / (1 - p))])
    assert abs(y.mean() - 1.0) < 0.03  # inverted dropout keeps the expectation


def test_dropout_backward_matches_the_mask(backend):
    p = 0.3
    x = ln.tensor(rand(50, 40, seed=4, dtype=np.float32) + 5.0, requires_grad=True)  # no zeros in x
    y = nn.Dropout(p)(x)
    # the mask is kept in float32 (NumPy) or as one byte per element (the compiled kernels)
    assert y._node.mask.values.dtype == (np.bool_ if backend == "numba" else np.float32)
    g = rand(50, 40, seed=5, dtype=np.float32)
    y.backward(g)
    kept = y.numpy() != 0
    assert 0.6 < kept.mean() < 0.8
    np.testing.assert_allclose(y.numpy(), np.where(kept, x.numpy() / (1 - p), 0), rtol=1e-6)
    np.testing.assert_allclose(x.grad, np.where(kept, g / (1 - p), 0), rtol=1e-6)
    assert x.grad.dtype == np.float32


def test_dropout_masks_repeat_under_the_seed_and_differ_between_calls(backend):
    """Every call draws a fresh mask from lucidnet's generator; manual_seed repeats the sequence. The compiled
    kernels' counter-hash bits show no correlation between neighbours or between the halves of a mask."""
    x = ln.ones(200, 1000)
    ln.manual_seed(3)
    a, b = nn.Dropout(0.5)(x).numpy() > 0, nn.Dropout(0.5)(x).numpy() > 0
    ln.manual_seed(3)
    np.testing.assert_array_equal(nn.Dropout(0.5)(x).numpy() > 0, a)
    assert abs((a == b).mean() - 0.5) < 0.01
    flat = a.reshape(-1).astype(float)
    assert abs(np.corrcoef(flat[:-1], flat[1:])[0, 1]) < 0.01
    assert abs(np.corrcoef(flat[:100_000], flat[100_000:])[0, 1]) < 0.01


def test_dropout_float64_stays_float64():
    p = 0.25
    x = ln.tensor(rand(30, 30, seed=6) + 3.0, dtype=ln.float64, requires_grad=True)
    y = F.dropout(x, p)
    assert y.dtype == np.float64
    kept = y.numpy() != 0
    np.testing.assert_allclose(y.numpy()[kept], x.numpy()[kept] / (1 - p), rtol=1e-15)
    y.sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad, kept / (1 - p), rtol=1e-15)


def test_dropout_gradcheck_with_a_fixed_mask():
    drop = nn.Dropout(0.4)

    def fn(x):
        ln.manual_seed(11)  # the same mask on every call of the finite-difference check
        return drop(x)

    assert ln.autograd.gradcheck(fn, [ln.tensor(rand(6, 7, seed=7), dtype=ln.float64, requires_grad=True)])


def test_dropout_eval_is_identity_and_draws_nothing():
    drop = nn.Dropout(0.5).eval()
    x = ln.randn(20, 20)
    state = ln.get_rng_state()
    assert drop(x) is x
    assert F.dropout(x, 0.5, training=False) is x
    assert ln.get_rng_state() == state


def test_dropout_seeded_determinism():
    x = ln.ones(64, 64)
    drop = nn.Dropout(0.5)
    ln.manual_seed(123)
    a = drop(x).numpy()
    b = drop(x).numpy()
    ln.manual_seed(123)
    c = drop(x).numpy()
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, b)


@parity
def test_dropout_edge_probabilities_like_pytorch():
    th = torch()
    x = rand(5, 6, seed=8, dtype=np.float32)
    g = rand(5, 6, seed=9, dtype=np.float32)
    for p in (0.0, 1.0):
        xl, xt = ln.tensor(x, requires_grad=True), th.tensor(x, requires_grad=True)
        yl, yt = nn.Dropout(p)(xl), th.nn.Dropout(p)(xt)
        np.testing.assert_array_equal(yl.numpy(), yt.detach().numpy())
        yl.backward(g)
        yt.backward(th.tensor(g))
        np.testing.assert_array_equal(xl.grad, xt.grad.numpy())
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            nn.Dropout(p)
    assert repr(nn.Dropout(0.2)) == repr(th.nn.Dropout(0.2))


# ---- Flatten ----------------------------------------------------------------------------------------

FLATTEN_CASES = [(1, -1), (0, -1), (1, 2), (2, -1), (-3, -2), (3, 3)]


@pytest.mark.parametrize("start,end", FLATTEN_CASES)
def test_flatten_gradcheck(start, end):
    module_gradcheck(nn.Flatten(start, end), rand(2, 3, 4, 2, seed=10))


@parity
@pytest.mark.parametrize("start,end", FLATTEN_CASES)
def test_flatten_parity(start, end):
    th = torch()
    module_parity(nn.Flatten(start, end), th.nn.Flatten(start, end), rand(2, 3, 4, 2, seed=11))


def test_flatten_out_of_range_dims_are_an_error():
    with pytest.raises(ValueError, match=r"Flatten\(start_dim=1, end_dim=-1\) got input of shape \(5,\)"):
        nn.Flatten()(ln.randn(5))
    with pytest.raises(ValueError, match="start_dim <= end_dim"):
        nn.Flatten(2, 1)(ln.randn(2, 3, 4))


# ---- containers -------------------------------------------------------------------------------------

def test_sequential_indexing_slicing_and_growth():
    a, r, b = nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)
    seq = nn.Sequential(a, r, b)
    assert len(seq) == 3 and list(seq) == [a, r, b]
    assert seq[0] is a and seq[-1] is b
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and list(head) == [a, r]
    assert [n for n, _ in seq[1:].named_parameters()] == ["2.weight", "2.bias"]  # keeps the names
    x = ln.randn(5, 4)
    np.testing.assert_allclose(seq(x).numpy(), b(r(a(x))).numpy())
    assert seq.append(nn.Sigmoid()) is seq and len(seq) == 4 and isinstance(seq[3], nn.Sigmoid)
    seq[3] = nn.Tanh()
    assert isinstance(seq[3], nn.Tanh)
    del seq[1]
    assert list(seq._modules) == ["0", "1", "2"] and seq[1] is b
    seq.insert(1, nn.ReLU())
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear", "Tanh"]
    with pytest.raises(IndexError, match="out of range"):
        seq[7]
    with pytest.raises(TypeError, match="integers or slices"):
        seq["0"]


def test_sequential_from_ordered_dict():
    from collections import OrderedDict
    seq = nn.Sequential(OrderedDict([("fc", nn.Linear(4, 3)), ("act", nn.ReLU()), ("out", nn.Linear(3, 1))]))
    assert [n for n, _ in seq.named_parameters()] == ["fc.weight", "fc.bias", "out.weight", "out.bias"]
    assert seq.fc is seq[0] and seq(ln.randn(2, 4)).shape == (2, 1)


def test_module_list_registers_its_modules():
    layers = nn.ModuleList([nn.Linear(3, 3) for _ in range(2)])
    layers.append(nn.Linear(3, 1))
    layers += [nn.ReLU()]
    assert len(layers) == 4 and isinstance(layers[-1], nn.ReLU)
    assert [n for n, _ in layers.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias",
                                                          "2.weight", "2.bias"]
    assert isinstance(layers[:2], nn.ModuleList) and len(layers[:2]) == 2
    del layers[0]
    assert list(layers._modules) == ["0", "1", "2"]
    layers.insert(0, nn.Identity())
    assert isinstance(layers[0], nn.Identity) and len(layers) == 4
    with pytest.raises(TypeError, match="use append"):
        layers.extend(nn.ReLU())
    with pytest.raises(NotImplementedError):
        layers(ln.randn(1, 3))


def test_module_dict_registers_its_modules():
    d = nn.ModuleDict({"enc": nn.Linear(3, 2), "act": nn.ReLU()})
    d["dec"] = nn.Linear(2, 3)
    assert list(d) == ["enc", "act", "dec"] and "enc" in d and len(d) == 3
    assert [n for n, _ in d.named_parameters()] == ["enc.weight", "enc.bias", "dec.weight", "dec.bias"]
    assert d.pop("act").__class__ is nn.ReLU and list(d.keys()) == ["enc", "dec"]
    with pytest.raises(KeyError, match="no module 'nope'"):
        d["nope"]
    with pytest.raises(KeyError, match="already exists"):
        d["train"] = nn.ReLU()  # would shadow Module.train
    d.clear()
    assert len(d) == 0 and list(d.parameters()) == []


# ---- functional and utils ---------------------------------------------------------------------------

def test_functional_reexports():
    from lucidnet import ops
    from lucidnet.nn import losses
    for name in ["sigmoid", "tanh", "gelu", "softplus", "softmax", "log_softmax", "linear", "pad"]:
        assert getattr(F, name) is getattr(ops, name)
    x = ln.tensor([-2.0, -0.5, 0.5, 8.0])
    for name, args in [("relu", ()), ("relu6", ()), ("leaky_relu", (0.2,)), ("elu", (0.5,)), ("silu", ()),
                       ("hardtanh", (-1.0, 1.0))]:  # PyTorch's inplace= makes these wrappers of the ops
        np.testing.assert_array_equal(getattr(F, name)(x, *args).numpy(), getattr(ops, name)(x, *args).numpy())
    for name in losses.__all__:
        assert getattr(F, name) is getattr(losses, name)
    assert nn.functional is F


def test_utils_clip_grad():
    fc = nn.Linear(4, 3)
    fc(ln.randn(5, 4)).sum().backward()
    grads = [p.grad.array.copy() for p in fc.parameters()]
    total = nn.utils.clip_grad_norm_(fc.parameters(), 0.1)
    expected = np.sqrt(sum((g.astype(np.float64) ** 2).sum() for g in grads))
    np.testing.assert_allclose(float(total), expected, rtol=1e-5)
    np.testing.assert_allclose(np.sqrt(sum((p.grad.array.astype(np.float64) ** 2).sum() for p in fc.parameters())),
                               0.1, rtol=1e-4)
    nn.utils.clip_grad_value_(fc.parameters(), 0.01)
    assert max(np.abs(p.grad.array).max() for p in fc.parameters()) <= 0.01
    assert not hasattr(ln.optim, "clip_grad_norm_")   # as in PyTorch: torch.nn.utils, not torch.optim
