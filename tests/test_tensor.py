"""Tensor: construction and dtypes, properties, conversion, casts, in-place rules, grad modes."""
import threading

import numpy as np
import pytest

import lucidnet as ln
from helpers import check_grad, check_parity, parity, rand


# ---- construction and dtypes ----------------------------------------------------------------------

@pytest.mark.parametrize("data,dtype", [
    ([1.0, 2.0], np.float32), (1.5, np.float32), (np.array([1.0, 2.0]), np.float32),
    (np.array([1.0], np.float16), np.float32), ([1, 2], np.int64), (np.array([1], np.int32), np.int64),
    (3, np.int64), ([True, False], np.bool_), (np.array([1], np.uint8), np.uint8),
])
def test_tensor_default_dtypes(data, dtype):
    """Floats default to float32 (even from float64 NumPy data), integers to int64 for indices."""
    assert ln.tensor(data).dtype == dtype


def test_tensor_explicit_float64_and_copy_semantics():
    a = np.array([1.0, 2.0])
    t = ln.tensor(a, dtype=ln.float64)
    assert t.dtype == np.float64
    a[0] = 100.0
    assert t.numpy()[0] == 1.0  # tensor() copies
    f = ln.from_numpy(a)
    assert f.dtype == np.float64 and np.shares_memory(f.numpy(), a)  # from_numpy wraps
    assert ln.as_tensor(t) is t and ln.as_tensor(t, dtype=ln.float32).dtype == np.float32
    assert ln.tensor(t).dtype == np.float32 and not np.shares_memory(ln.tensor(t).numpy(), t.numpy())


def test_tensor_rejects_unsupported_data():
    with pytest.raises(TypeError, match="complex"):
        ln.tensor([1 + 2j])


def test_set_default_dtype():
    try:
        ln.set_default_dtype(ln.float64)
        assert ln.get_default_dtype() == np.float64
        assert ln.tensor([1.0]).dtype == np.float64 and ln.zeros(2).dtype == np.float64
        assert ln.randn(2).dtype == np.float64
    finally:
        ln.set_default_dtype(ln.float32)
    assert ln.tensor([1.0]).dtype == np.float32
    with pytest.raises(TypeError, match="floating"):
        ln.set_default_dtype(ln.int64)


@pytest.mark.parametrize("make,shape,dtype", [
    (lambda: ln.zeros(2, 3), (2, 3), np.float32), (lambda: ln.zeros((2, 3)), (2, 3), np.float32),
    (lambda: ln.ones(4, dtype=ln.float64), (4,), np.float64), (lambda: ln.full((2, 2), 3.5), (2, 2), np.float32),
    (lambda: ln.empty(3), (3,), np.float32), (lambda: ln.eye(3), (3, 3), np.float32),
    (lambda: ln.arange(5), (5,), np.int64), (lambda: ln.arange(0, 1, 0.25), (4,), np.float32),
    (lambda: ln.linspace(0, 1, 5), (5,), np.float32), (lambda: ln.randn(2, 3), (2, 3), np.float32),
    (lambda: ln.rand(3, dtype=ln.float64), (3,), np.float64), (lambda: ln.randint(0, 5, (4,)), (4,), np.int64),
    (lambda: ln.randperm(6), (6,), np.int64), (lambda: ln.zeros_like(ln.ones(2, dtype=ln.float64)), (2,), np.float64),
    (lambda: ln.ones_like(ln.ones(2, 2)), (2, 2), np.float32),
])
def test_factories(make, shape, dtype):
    t = make()
    assert t.shape == shape and t.dtype == dtype and not t.requires_grad


def test_factories_with_requires_grad_and_values():
    z = ln.zeros(2, requires_grad=True)
    assert z.requires_grad and z.is_leaf and z.grad is None
    np.testing.assert_array_equal(ln.eye(2).numpy(), np.eye(2))
    np.testing.assert_array_equal(ln.arange(2, 8, 2).numpy(), [2, 4, 6])
    assert sorted(ln.randperm(5).tolist()) == [0, 1, 2, 3, 4]
    r = ln.rand(1000)
    assert 0 <= r.numpy().min() and r.numpy().max() < 1


def test_random_is_reproducible_through_manual_seed_and_state():
    ln.manual_seed(123)
    a = ln.randn(5).numpy()
    state = ln.get_rng_state()
    b = ln.randn(5).numpy()
    ln.set_rng_state(state)
    np.testing.assert_array_equal(ln.randn(5).numpy(), b)
    ln.manual_seed(123)
    np.testing.assert_array_equal(ln.randn(5).numpy(), a)
    assert not np.array_equal(a, b)


# ---- properties and conversion -------------------------------------------------------------------

def test_properties():
    x = ln.tensor(rand(2, 3, 4))
    assert x.shape == (2, 3, 4) and x.ndim == 3 and x.dim() == 3 and len(x) == 2 and x.numel() == 24
    assert x.size() == (2, 3, 4) and x.size(-1) == 4
    with pytest.raises(TypeError, match="0-d"):
        len(ln.tensor(1.0))


def test_item_numpy_tolist_and_python_numbers():
    x = ln.tensor([[2.5]], requires_grad=True)
    assert x.item() == 2.5 and isinstance(x.item(), float)
    assert float(x) == 2.5 and int(ln.tensor([3])) == 3 and isinstance(ln.tensor([3]).item(), int)
    assert x.tolist() == [[2.5]]
    assert isinstance(x.numpy(), np.ndarray) and x.numpy().dtype == np.float32
    assert np.asarray(x).shape == (1, 1) and np.asarray(x, dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match=r"item.*one-element.*\(2,\)"):
        ln.tensor([1.0, 2.0]).item()


def test_bool_of_tensor():
    assert bool(ln.tensor([1.0])) and not bool(ln.tensor(0.0))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(ln.tensor([1.0, 2.0]))


def test_numpy_and_detach_share_memory_like_torch():
    x = ln.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf and np.shares_memory(d.numpy(), x.numpy())
    y = x * 2
    assert not y.detach().requires_grad and y.detach().grad_fn is None
    y.detach_()
    assert not y.requires_grad and y.grad_fn is None


def test_numpy_array_copies_and_asarray_shares_like_torch():
    import torch
    for make, lib in ((ln.ones, "lucidnet"), (torch.ones, "torch")):
        t = make(3)
        np.array(t)[0] = 5.0                      # a copy: the tensor keeps its values
        assert t.tolist() == [1.0, 1.0, 1.0], lib
        np.asarray(t)[1] = 6.0                    # the tensor's own memory
        assert t.tolist() == [1.0, 6.0, 1.0], lib
        a = np.asarray(t, dtype=np.float64)       # another dtype: a copy
        a[2] = 7.0
        assert a.dtype == np.float64 and t.tolist() == [1.0, 6.0, 1.0], lib
    with pytest.raises(ValueError, match="float32 tensor cannot be seen as float64 without a copy"):
        np.asarray(ln.ones(3), dtype=np.float64, copy=False)


def test_as_tensor_shares_a_numpy_array_of_its_dtype_like_torch():
    import torch
    for lib in (ln, torch):
        a = np.zeros(3, np.float32)
        t = lib.as_tensor(a)
        t.add_(1.0)                               # the array's own memory: both see the change
        a[0] = 5.0
        assert a.tolist() == [5.0, 1.0, 1.0] and t.tolist() == [5.0, 1.0, 1.0], lib.__name__
        b = np.zeros(2, np.int64)
        lib.as_tensor(b).add_(2)
        assert b.tolist() == [2, 2], lib.__name__
        assert lib.as_tensor(t) is t
        c = np.zeros(2, np.float32)
        lib.as_tensor(c, dtype=lib.float64).add_(1.0)  # another dtype: a copy
        assert c.tolist() == [0.0, 0.0], lib.__name__
    d = np.zeros(2)  # float64 data: lucidnet's tensors default to float32 (a copy); asked for, it is shared
    assert ln.as_tensor(d).dtype == ln.float32 and np.shares_memory(ln.as_tensor(d, dtype=ln.float64).numpy(), d)


def test_repr():
    assert repr(ln.tensor([1.0, 2.0])) == "tensor([1., 2.])"            # PyTorch's: the default dtype unsaid
    assert repr(ln.tensor([0.5, 2.0])) == "tensor([0.5000, 2.0000])"    # four decimals
    assert repr(ln.tensor([1.0], dtype=ln.float64)) == "tensor([1.], dtype=float64)"
    assert repr(ln.tensor([1, 2], dtype=ln.int32)) == "tensor([1, 2], dtype=int32)"
    assert repr(ln.zeros(0, 3)) == "tensor([], size=(0, 3))"
    assert "requires_grad=True" in repr(ln.tensor([1.0], requires_grad=True))
    assert "grad_fn=<Mul>" in repr(ln.tensor([1.0], requires_grad=True) * 2)
    assert repr(ln.tensor(3)) == "tensor(3)"


def test_tensor_is_hashable_by_identity():
    a, b = ln.ones(2), ln.ones(2)
    assert len({a, b}) == 2 and {a: 1}[a] == 1


# ---- requires_grad rules ---------------------------------------------------------------------------

def test_only_float_tensors_can_require_grad():
    with pytest.raises(TypeError, match="floating.*int64"):
        ln.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="floating"):
        ln.tensor([1, 2]).requires_grad_()


def test_requires_grad_propagates_and_leaf_flags():
    a = ln.ones(2, requires_grad=True)
    b = ln.ones(2)
    assert (a + b).requires_grad and not (b + b).requires_grad
    assert a.is_leaf and not (a + b).is_leaf and (b + b).is_leaf
    assert (a + b).grad_fn is not None and (b + b).grad_fn is None
    with pytest.raises(RuntimeError, match="non-leaf.*detach"):
        (a * 2).requires_grad_(False)
    a.requires_grad_(False)
    assert not (a * 2).requires_grad


def test_in_place_changes_refused_on_tensors_that_require_grad():
    w = ln.ones(3, requires_grad=True)
    for op in (lambda: w.zero_(), lambda: w.fill_(2.0), lambda: w.copy_(ln.zeros(3))):
        with pytest.raises(RuntimeError, match="in place.*no_grad"):
            op()
    with ln.no_grad():
        w.fill_(2.0)
        w.copy_(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(w.numpy(), [1, 2, 3])
    assert w.dtype == np.float32
    p = ln.ones(2, 3)
    p.copy_(ln.zeros(3))  # broadcasts like PyTorch
    np.testing.assert_array_equal(p.numpy(), 0)
    with pytest.raises(ValueError, match=r"copy_.*\(4,\).*\(2, 3\)"):
        p.copy_(ln.zeros(4))
    p.zero_()
    assert p.numpy().sum() == 0


# ---- grad modes -------------------------------------------------------------------------------------

def test_no_grad_context_and_decorator():
    x = ln.ones(2, requires_grad=True)
    with ln.no_grad():
        assert not ln.is_grad_enabled()
        y = x * 2
        with ln.enable_grad():
            z = x * 2
    assert ln.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and z.requires_grad

    @ln.no_grad()
    def f(t):
        return t * 3
    assert not f(x).requires_grad and ln.is_grad_enabled()


def test_grad_mode_restored_after_exception_and_set_grad_enabled():
    with pytest.raises(ZeroDivisionError):
        with ln.no_grad():
            1 / 0
    assert ln.is_grad_enabled()
    ln.set_grad_enabled(False)
    try:
        assert not (ln.ones(1, requires_grad=True) * 2).requires_grad
    finally:
        ln.set_grad_enabled(True)
    assert ln.is_grad_enabled()


def test_grad_mode_is_per_thread():
    seen = []
    with ln.no_grad():
        t = threading.Thread(target=lambda: seen.append(ln.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]


# ---- casts and clone ---------------------------------------------------------------------------------

def test_casts():
    x = ln.tensor([1.7, -2.2], requires_grad=True)
    assert x.double().dtype == np.float64 and x.float() is x
    assert x.long().dtype == np.int64 and x.long().tolist() == [1, -2] and not x.long().requires_grad
    assert x.int().dtype == np.int32 and x.bool().dtype == np.bool_
    assert x.to(ln.float64).dtype == np.float64 and x.astype("float64").dtype == np.float64


def test_cast_is_differentiable_and_gradient_comes_back_in_the_source_dtype():
    x = ln.tensor([1.0, 2.0], requires_grad=True)
    y = (x.double() * ln.tensor([3.0, 4.0], dtype=ln.float64)).sum()
    y.backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


@parity
def test_cast_and_clone_parity():
    torch = pytest.importorskip("torch")
    a = rand(3, 2).astype(np.float32)
    w = rand(3, 2, seed=1)
    x, xt = ln.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, yt = x.double() * ln.tensor(w, dtype=ln.float64), xt.double() * torch.tensor(w)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12)
    y.sum().backward()
    yt.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-6)
    check_parity(lambda t: t.clone() * t, lambda t: t.clone() * t, rand(3, 2))


def test_clone_copies():
    x = ln.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert not np.shares_memory(c.numpy(), x.numpy()) and c.requires_grad
    c.backward(np.array([1.0, 2.0], np.float32))
    np.testing.assert_array_equal(x.grad, [1.0, 2.0])


def test_clone_and_cast_grad():
    check_grad(lambda t: t.clone() * t + t.clone().clone(), rand(3, 2))
    check_grad(lambda t: t.double() * t.to(ln.float64), rand(3, 2))  # same-dtype casts are the identity
