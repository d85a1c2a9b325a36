"""Reductions: sum, mean, max/min (values and indices), var, std, logsumexp, argmax/argmin."""
import numpy as np
import pytest

import lucidnet as ln
from helpers import check_grad, check_parity, parity, rand


def T():
    return pytest.importorskip("torch")


def _th_reduce(name, dim, keepdim):
    """The same reduction in PyTorch (None = all elements)."""
    def f(x):
        torch = T()
        if name == "logsumexp":
            d = tuple(range(x.ndim)) if dim is None else dim
            return torch.logsumexp(x, dim=d, keepdim=keepdim)
        if name in ("max", "min") and dim is not None:
            return getattr(torch, "amax" if name == "max" else "amin")(x, dim=dim, keepdim=keepdim)
        if dim is None:
            out = getattr(x, name)()
            return out.reshape((1,) * x.ndim) if keepdim else out
        return getattr(x, name)(dim=dim, keepdim=keepdim)
    return f


def _ln_reduce(name, dim, keepdim, style):
    def f(x):
        if style == "torch":
            return getattr(x, name)(dim=dim, keepdim=keepdim)
        if style == "numpy":
            return getattr(x, name)(axis=dim, keepdims=keepdim)
        return getattr(ln, name)(x, dim, keepdim)
    return f


REDUCTIONS = ["sum", "mean", "var", "std", "logsumexp", "max", "min"]
DIMS = [None, 0, 1, -1, (0, 2), (1, 2), (0, 1, 2)]
CASES = [pytest.param(name, dim, kd, style, id=f"{name}-{dim}-{'keep' if kd else 'drop'}-{style}")
         for name in REDUCTIONS for dim in DIMS for kd in (False, True)
         for style in (("torch", "numpy", "function") if dim in (None, 1) else ("torch",))
         # max/min with one int dim return (values, indices): covered by their own tests below
         if not (name in ("max", "min") and isinstance(dim, int))]


@pytest.mark.parametrize("name,dim,keepdim,style", CASES)
def test_reduce_grad(name, dim, keepdim, style):
    check_grad(_ln_reduce(name, dim, keepdim, style), rand(2, 3, 4, seed=1))


@parity
@pytest.mark.parametrize("name,dim,keepdim,style", CASES)
def test_reduce_parity(name, dim, keepdim, style):
    outs, _ = check_parity(_ln_reduce(name, dim, keepdim, style), _th_reduce(name, dim, keepdim), rand(2, 3, 4, seed=1))
    assert outs[0].dtype == np.float32


@pytest.mark.parametrize("name", REDUCTIONS)
def test_reduce_float64_stays_float64(name):
    x = ln.tensor(rand(3, 4), dtype=ln.float64, requires_grad=True)
    y = getattr(x, name)()
    assert y.dtype == np.float64 and y.shape == ()
    y.backward()
    assert x.grad.dtype == np.float64


@pytest.mark.parametrize("name", ["sum", "mean", "var", "std", "logsumexp"])
def test_reduce_of_1d_and_0d(name):
    check_grad(lambda x: getattr(x, name)(), rand(5, seed=2))
    check_grad(lambda x: getattr(x, name)(dim=0), rand(5, seed=2))
    if name in ("sum", "mean", "logsumexp"):
        check_grad(lambda x: getattr(x, name)(), np.array(1.7))


# ---- max/min along one dim: (values, indices) -------------------------------------------------

@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1, -1, 2])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_dim_grad(name, dim, keepdim):
    check_grad(lambda x: getattr(x, name)(dim, keepdim=keepdim)[0], rand(2, 3, 4, seed=3))


@parity
@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1, -1, 2])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_dim_parity_values_and_indices(name, dim, keepdim):
    torch = T()
    x = rand(2, 3, 4, seed=3)
    outs, ths = check_parity(lambda t: getattr(t, name)(dim, keepdim=keepdim),
                             lambda t: tuple(getattr(t, name)(dim, keepdim=keepdim)), x)
    assert outs[1].dtype == np.int64 and not outs[1].requires_grad
    np.testing.assert_array_equal(outs[1].numpy(), ths[1].numpy())
    r = getattr(ln, name)(ln.tensor(x), dim=dim, keepdim=keepdim)
    np.testing.assert_array_equal(r.values.numpy(), outs[0].numpy())
    np.testing.assert_array_equal(r.indices.numpy(), ths[1].numpy())
    values, indices = getattr(ln.tensor(x), name)(dim=dim)  # unpacks like PyTorch's
    assert values.shape == tuple(torch.tensor(x).amax(dim).shape) and indices.dtype == np.int64


@parity
def test_max_dim_ties_take_first_index_like_torch():
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0], [5.0, 5.0, 5.0]])
    torch = T()
    outs, ths = check_parity(lambda t: t.max(1), lambda t: tuple(t.max(1)), a)
    np.testing.assert_array_equal(outs[1].numpy(), ths[1].numpy())
    outs, ths = check_parity(lambda t: t.min(0), lambda t: tuple(t.min(0)), a)
    np.testing.assert_array_equal(outs[1].numpy(), ths[1].numpy())
    x = ln.tensor(a, requires_grad=True)
    x.max(1)[0].sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 1, 0], [1, 0, 0], [1, 0, 0]])
    assert torch is not None


@parity
def test_full_max_min_ties_share_gradient_like_torch():
    a = np.array([[1.0, 3.0, 3.0], [2.0, 3.0, 0.0]])
    check_parity(lambda t: t.max(), lambda t: t.max(), a)
    check_parity(lambda t: t.min(), lambda t: t.min(), np.array([[0.0, 3.0], [0.0, 0.0]]))
    x = ln.tensor(a, requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad, [[0, 1 / 3, 1 / 3], [0, 1 / 3, 0]], rtol=1e-6)


@parity
def test_multi_axis_max_ties_share_gradient_like_torch_amax():
    torch = T()
    a = np.array([[[1.0, 3.0], [3.0, 0.0]], [[2.0, 2.0], [1.0, 2.0]]])
    check_parity(lambda t: t.max(axis=(1, 2)), lambda t: torch.amax(t, dim=(1, 2)), a)
    check_parity(lambda t: t.min(axis=(0, 2), keepdims=True), lambda t: torch.amin(t, dim=(0, 2), keepdim=True), a)


def test_max_without_dim_returns_a_tensor_not_a_tuple():
    x = ln.tensor([[1.0, 5.0], [3.0, 2.0]])
    assert isinstance(x.max(), ln.Tensor) and x.max().item() == 5.0
    assert isinstance(ln.min(x), ln.Tensor) and ln.min(x).item() == 1.0


@pytest.mark.parametrize("fn", ["argmax", "argmin"])
def test_argmax_argmin(fn):
    a = rand(3, 5, seed=4)
    x = ln.tensor(a)
    for dim in (None, 0, 1, -1):
        out = getattr(x, fn)(dim)
        assert out.dtype == np.int64 and not out.requires_grad
        np.testing.assert_array_equal(out.numpy(), getattr(np, fn)(a.astype(np.float32), axis=dim))
    np.testing.assert_array_equal(getattr(ln, fn)(x, dim=1, keepdim=True).numpy(),
                                  getattr(np, fn)(a.astype(np.float32), axis=1)[:, None])
    np.testing.assert_array_equal(getattr(ln, fn)(x, axis=0).numpy(), getattr(np, fn)(a.astype(np.float32), axis=0))


# ---- var / std options ------------------------------------------------------------------------

@parity
@pytest.mark.parametrize("kw,thkw", [({"unbiased": False}, {"unbiased": False}), ({"correction": 0}, {"correction": 0}),
                                     ({"ddof": 0}, {"correction": 0}), ({"correction": 2}, {"correction": 2}),
                                     ({}, {})])
@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std_correction(name, kw, thkw):
    x = rand(4, 5, seed=5)
    check_grad(lambda t: getattr(t, name)(dim=1, **kw), x)
    outs, _ = check_parity(lambda t: getattr(t, name)(dim=1, **kw), lambda t: getattr(t, name)(dim=1, **thkw), x)
    assert outs[0].dtype == np.float32


def test_var_matches_numpy_ddof():
    a = rand(4, 5, seed=6).astype(np.float32)
    np.testing.assert_allclose(ln.tensor(a).var(axis=0, ddof=0).numpy(), a.var(axis=0), rtol=1e-5)
    np.testing.assert_allclose(ln.tensor(a).std().numpy(), a.std(ddof=1), rtol=1e-5)


# ---- logsumexp stability ------------------------------------------------------------------------

@parity
def test_logsumexp_stable_at_large_values():
    import warnings
    torch = T()
    a = np.array([[1000.0, 999.0, -1000.0], [-1000.0, -1000.0, -1000.0], [0.0, 1.0, 2.0]])
    x = ln.tensor(a, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = x.logsumexp(dim=1)
        y.sum().backward()
    xt = torch.tensor(a.astype(np.float32), requires_grad=True)
    yt = torch.logsumexp(xt, dim=1)
    yt.sum().backward()
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.filterwarnings("ignore:divide by zero")
def test_logsumexp_of_all_minus_inf_is_minus_inf():
    x = ln.tensor([[-np.inf, -np.inf], [0.0, -np.inf]])
    np.testing.assert_array_equal(ln.logsumexp(x, dim=1).numpy(), [-np.inf, 0.0])


# ---- errors -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sum", "mean", "var", "max", "logsumexp"])
def test_reduce_dim_out_of_range_is_a_clear_error(name):
    with pytest.raises(IndexError, match=r"dimension 2 out of range.*2 dimensions"):
        getattr(ln.ones(2, 3), name)(dim=2)


@pytest.mark.parametrize("name", ["sum", "mean", "logsumexp"])
def test_dim_0_of_a_0d_tensor_like_torch(name):
    x = ln.tensor(2.5, requires_grad=True)
    y = getattr(x, name)(dim=0)
    assert y.shape == ()
    y.backward()
    assert x.grad.shape == () and x.grad == 1.0
