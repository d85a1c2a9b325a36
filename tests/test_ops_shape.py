"""Shape ops: reshape/view, transpose/permute/T, squeeze/unsqueeze, expand, flatten, cat, stack, split, chunk, pad."""
import numpy as np
import pytest

import lucidnet as ln
from helpers import check_grad, check_parity, parity, rand


def T():
    return pytest.importorskip("torch")


def F():
    return T().nn.functional


# name, lucidnet fn, torch fn, input shape. The lucidnet and torch spellings are the same where PyTorch's are.
SINGLE = [
    ("reshape", lambda x: x.reshape(6, 4), lambda x: x.reshape(6, 4), (2, 3, 4)),
    ("reshape_tuple", lambda x: x.reshape((4, -1)), lambda x: x.reshape((4, -1)), (2, 3, 4)),
    ("reshape_fn", lambda x: ln.reshape(x, (-1,)), lambda x: x.reshape(-1), (2, 3, 4)),
    ("view", lambda x: x.view(3, 8), lambda x: x.view(3, 8), (2, 3, 4)),
    ("reshape_0d", lambda x: x.reshape(1, 1), lambda x: x.reshape(1, 1), ()),
    ("transpose", lambda x: x.transpose(0, 2), lambda x: x.transpose(0, 2), (2, 3, 4)),
    ("transpose_neg", lambda x: x.transpose(-1, -2), lambda x: x.transpose(-1, -2), (2, 3, 4)),
    ("transpose_fn", lambda x: ln.transpose(x, 1, 0), lambda x: x.transpose(1, 0), (3, 4)),
    ("T", lambda x: x.T, lambda x: x.T, (3, 4)),
    ("permute", lambda x: x.permute(2, 0, 1), lambda x: x.permute(2, 0, 1), (2, 3, 4)),
    ("permute_tuple", lambda x: x.permute((1, 2, 0)), lambda x: x.permute((1, 2, 0)), (2, 3, 4)),
    ("permute_neg", lambda x: ln.permute(x, (-1, 0, 1)), lambda x: x.permute(-1, 0, 1), (2, 3, 4)),
    ("squeeze_all", lambda x: x.squeeze(), lambda x: x.squeeze(), (1, 3, 1, 4)),
    ("squeeze_dim", lambda x: x.squeeze(2), lambda x: x.squeeze(2), (1, 3, 1, 4)),
    ("squeeze_neg", lambda x: ln.squeeze(x, -2), lambda x: x.squeeze(-2), (1, 3, 1, 4)),
    ("squeeze_non1_noop", lambda x: x.squeeze(1), lambda x: x.squeeze(1), (1, 3, 1, 4)),
    ("unsqueeze0", lambda x: x.unsqueeze(0), lambda x: x.unsqueeze(0), (3, 4)),
    ("unsqueeze_last", lambda x: x.unsqueeze(-1), lambda x: x.unsqueeze(-1), (3, 4)),
    ("unsqueeze_mid", lambda x: ln.unsqueeze(x, 1), lambda x: x.unsqueeze(1), (3, 4)),
    ("expand", lambda x: x.expand(2, 3, 4), lambda x: x.expand(2, 3, 4), (3, 1)),
    ("expand_minus1", lambda x: x.expand(-1, 5), lambda x: x.expand(-1, 5), (3, 1)),
    ("expand_tuple", lambda x: x.expand((4, 2, 3)), lambda x: x.expand((4, 2, 3)), (1, 3)),
    ("broadcast_to", lambda x: ln.ops.broadcast_to(x, (2, 3, 4)), lambda x: T().broadcast_to(x, (2, 3, 4)), (4,)),
    ("flatten", lambda x: x.flatten(), lambda x: x.flatten(), (2, 3, 4)),
    ("flatten_1", lambda x: x.flatten(1), lambda x: x.flatten(1), (2, 3, 4)),
    ("flatten_0_1", lambda x: ln.flatten(x, 0, 1), lambda x: x.flatten(0, 1), (2, 3, 4)),
    ("flatten_neg", lambda x: x.flatten(-2, -1), lambda x: x.flatten(-2, -1), (2, 3, 4)),
    ("flatten_0d", lambda x: x.flatten(), lambda x: x.flatten(), ()),
    ("split_int", lambda x: x.split(2, dim=1), lambda x: x.split(2, dim=1), (3, 5)),
    ("split_sizes", lambda x: ln.split(x, [1, 3, 1], dim=1), lambda x: x.split([1, 3, 1], dim=1), (3, 5)),
    ("split_neg_dim", lambda x: x.split(2, dim=-1), lambda x: x.split(2, dim=-1), (3, 5)),
    ("split_dim0", lambda x: x.split(1), lambda x: x.split(1), (3, 5)),
    ("chunk", lambda x: x.chunk(3, dim=1), lambda x: x.chunk(3, dim=1), (3, 5)),
    ("chunk_fn", lambda x: ln.chunk(x, 2), lambda x: x.chunk(2), (4, 2)),
    ("pad_last", lambda x: ln.pad(x, (1, 2)), lambda x: F().pad(x, (1, 2)), (2, 3, 4)),
    ("pad_two", lambda x: ln.pad(x, (1, 0, 0, 2)), lambda x: F().pad(x, (1, 0, 0, 2)), (2, 3, 4)),
    ("pad_value", lambda x: ln.pad(x, (2, 2, 1, 1, 1, 0), value=-1.5),
     lambda x: F().pad(x, (2, 2, 1, 1, 1, 0), value=-1.5), (2, 3, 4)),
    ("pad_zero", lambda x: ln.pad(x, (0, 0)), lambda x: F().pad(x, (0, 0)), (2, 3)),
    # chains of views: the gradient must travel back through every one
    ("chain", lambda x: x.permute(2, 0, 1).reshape(4, 6).T.unsqueeze(0).expand(2, 6, 4).flatten(1),
     lambda x: x.permute(2, 0, 1).reshape(4, 6).T.unsqueeze(0).expand(2, 6, 4).flatten(1), (2, 3, 4)),
]
CASES = [pytest.param(fn, th, s, id=name) for name, fn, th, s in SINGLE]


def _arr(shape, seed=1):
    return np.asarray(rand(*shape, seed=seed))


@pytest.mark.parametrize("fn,th,shape", CASES)
def test_shape_op_grad(fn, th, shape):
    check_grad(fn, _arr(shape))


@parity
@pytest.mark.parametrize("fn,th,shape", CASES)
def test_shape_op_parity(fn, th, shape):
    outs, _ = check_parity(fn, th, _arr(shape))
    for o in outs:
        assert o.dtype == np.float32


# ---- many-input ops: cat / stack ------------------------------------------------------------------

MULTI = [
    ("cat0", lambda *t: ln.cat(t), lambda *t: T().cat(t), [(2, 3), (4, 3), (1, 3)]),
    ("cat1", lambda *t: ln.cat(list(t), dim=1), lambda *t: T().cat(t, dim=1), [(2, 3), (2, 1), (2, 5)]),
    ("cat_neg", lambda *t: ln.cat(t, dim=-1), lambda *t: T().cat(t, dim=-1), [(2, 2, 3), (2, 2, 1)]),
    ("concatenate_axis", lambda *t: ln.concatenate(t, axis=1), lambda *t: T().cat(t, dim=1),
     [(2, 3, 2), (2, 1, 2)]),
    ("cat_one", lambda *t: ln.cat(t), lambda *t: T().cat(t), [(3, 2)]),
    ("cat_same_twice", lambda a: ln.cat([a, a * 2, a], dim=0), lambda a: T().cat([a, a * 2, a], dim=0), [(2, 3)]),
    ("stack0", lambda *t: ln.stack(t), lambda *t: T().stack(t), [(2, 3), (2, 3), (2, 3)]),
    ("stack1", lambda *t: ln.stack(t, dim=1), lambda *t: T().stack(t, dim=1), [(2, 3), (2, 3)]),
    ("stack_last", lambda *t: ln.stack(t, dim=-1), lambda *t: T().stack(t, dim=-1), [(2, 3), (2, 3)]),
    ("stack_axis", lambda *t: ln.stack(t, axis=2), lambda *t: T().stack(t, dim=2), [(2, 3), (2, 3), (2, 3)]),
    ("stack_same_twice", lambda a: ln.stack([a, a]), lambda a: T().stack([a, a]), [(2, 3)]),
    ("split_then_cat", lambda a: ln.cat(a.split([2, 1], dim=1)[::-1], dim=1),
     lambda a: T().cat(a.split([2, 1], dim=1)[::-1], dim=1), [(4, 3)]),
]
MCASES = [pytest.param(fn, th, shapes, id=name) for name, fn, th, shapes in MULTI]


@pytest.mark.parametrize("fn,th,shapes", MCASES)
def test_multi_input_grad(fn, th, shapes):
    check_grad(fn, *[_arr(s, seed=i) for i, s in enumerate(shapes)])


@parity
@pytest.mark.parametrize("fn,th,shapes", MCASES)
def test_multi_input_parity(fn, th, shapes):
    outs, _ = check_parity(fn, th, *[_arr(s, seed=i) for i, s in enumerate(shapes)])
    assert outs[0].dtype == np.float32


def test_cat_and_stack_with_inputs_that_need_no_grad():
    a = ln.ones(2, 3, requires_grad=True)
    b = ln.zeros(1, 3)
    out = ln.cat([b, a, b])
    out.backward(np.arange(12, dtype=np.float32).reshape(4, 3))
    np.testing.assert_array_equal(a.grad, np.arange(3, 9).reshape(2, 3))
    assert b.grad is None
    a.grad = None
    s = ln.stack([b.reshape(3), a[0], a[1]])
    s.backward(np.arange(9, dtype=np.float32).reshape(3, 3))
    np.testing.assert_array_equal(a.grad, np.arange(3, 9).reshape(2, 3))


def test_cat_accepts_numpy_arrays_and_keeps_float32():
    out = ln.cat([ln.ones(1, 2), np.zeros((1, 2), np.float32)])
    assert out.dtype == np.float32 and out.shape == (2, 2)


# ---- results, not just gradients ------------------------------------------------------------------

def test_split_and_chunk_sizes_like_torch():
    x = ln.tensor(np.arange(10.0))
    assert [p.shape[0] for p in x.split(3)] == [3, 3, 3, 1]
    assert [p.shape[0] for p in x.chunk(4)] == [3, 3, 3, 1]
    assert [p.shape[0] for p in x.chunk(5)] == [2, 2, 2, 2, 2]
    assert [p.shape[0] for p in ln.split(x, [4, 6])] == [4, 6]


def test_views_do_not_copy_forward_but_backward_is_independent():
    """x.reshape shares memory with x (like PyTorch's view); gradient arrays never alias data."""
    x = ln.tensor(rand(2, 3), requires_grad=True)
    y = x.reshape(3, 2)
    assert np.shares_memory(y.numpy(), x.numpy())
    y.sum().backward()
    assert not np.shares_memory(x.grad, x.numpy())


def test_unsqueeze_squeeze_round_trip_and_pad_values():
    x = ln.tensor([[1.0, 2.0]])
    assert x.unsqueeze(-1).shape == (1, 2, 1) and x.unsqueeze(-1).squeeze().shape == (2,)
    np.testing.assert_array_equal(ln.pad(x, (1, 1), value=9.0).numpy(), [[9.0, 1.0, 2.0, 9.0]])
    assert x.size() == (1, 2) and x.size(1) == 2 and x.dim() == 2 and x.numel() == 2


# ---- errors --------------------------------------------------------------------------------------

def test_reshape_error_names_shapes():
    with pytest.raises(ValueError, match=r"reshape.*\(2, 3\).*6 elements.*\(4,\)"):
        ln.ones(2, 3).reshape(4)


def test_cat_shape_mismatch_names_shapes():
    with pytest.raises(ValueError, match=r"cat.*\(2, 3\).*\(2, 4\)"):
        ln.cat([ln.ones(2, 3), ln.ones(2, 4)], dim=0)
    with pytest.raises(ValueError, match=r"cat"):
        ln.cat([ln.ones(2, 3), ln.ones(3)])
    with pytest.raises(ValueError, match=r"cat.*non-empty"):
        ln.cat([])


def test_stack_shape_mismatch_names_shapes():
    with pytest.raises(ValueError, match=r"stack.*\(2, 3\).*\(3, 2\)"):
        ln.stack([ln.ones(2, 3), ln.ones(3, 2)])


def test_cat_mixed_float_dtypes_raise():
    with pytest.raises(TypeError, match="cat.*float32.*float64|cat.*float64.*float32"):
        ln.cat([ln.ones(2), ln.ones(2, dtype=ln.float64)])
    with pytest.raises(TypeError, match="stack"):
        ln.stack([ln.ones(2), ln.ones(2, dtype=ln.float64)])


def test_permute_expand_split_pad_errors():
    with pytest.raises(ValueError, match=r"permute.*\(2, 3\)"):
        ln.ones(2, 3).permute(0, 0)
    with pytest.raises(ValueError, match=r"expand.*\(2, 3\).*\(4, 3\)"):
        ln.ones(2, 3).expand(4, 3)
    with pytest.raises(ValueError, match=r"split.*\[1, 1\].*3"):
        ln.ones(3).split([1, 1])
    with pytest.raises(ValueError, match=r"pad"):
        ln.pad(ln.ones(2), (1, 1, 1, 1))
    with pytest.raises(ValueError, match=r"pad.*negative"):
        ln.pad(ln.ones(2), (-1, 1))


def test_expand_errors_like_torch():
    with pytest.raises(ValueError, match=r"expand.*\(2, 3\).*\(-1, 2, 3\)"):
        ln.ones(2, 3).expand(-1, 2, 3)  # -1 in a new leading dim
    with pytest.raises(ValueError, match=r"expand.*\(3, 1\).*\(1, 4\)"):
        ln.ones(3, 1).expand(1, 4)  # would need to shrink a dim
    with pytest.raises(ValueError, match=r"expand.*\(2, 3\)"):
        ln.ones(2, 3).expand(3)  # fewer dims than the input


def test_transpose_with_one_dim_is_a_clear_error():
    with pytest.raises(TypeError, match="transpose.*two dims"):
        ln.ones(2, 3).transpose(0)


def test_cat_and_stack_of_int_and_float_follow_the_float_dtype():
    assert ln.cat([ln.tensor([1, 2]), ln.ones(2)]).dtype == np.float32
    assert ln.stack([ln.ones(2, dtype=ln.float64), ln.tensor([1, 2])]).dtype == np.float64
    assert ln.cat([ln.tensor([1, 2]), ln.tensor([3])]).dtype == np.int64
    x = ln.ones(2, requires_grad=True)
    out = ln.cat([ln.tensor([True, False]), x])
    np.testing.assert_array_equal(out.numpy(), [1, 0, 1, 1])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [1, 1])
