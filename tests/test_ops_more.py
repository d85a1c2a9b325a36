"""The ops PyTorch programs reach for that lucidnet lacked (issue 24, point 8): flip, repeat, tril/triu,
narrow, cumsum, sort/argsort/topk, scatter/scatter_add, einsum, mm/bmm, and the non-differentiable helpers
(one_hot, multinomial, new_*/*_like, t, view_as, expand_as). Each differentiable one: a float64
finite-difference check and a PyTorch parity check of values and gradients."""
import numpy as np
import pytest

import lucidnet as ln
from helpers import check_grad, check_parity, rand, torch

IDX = np.array([[0, 2, 1], [3, 0, 2]])

# name, lucidnet fn, torch fn, inputs
CASES = [
    ("flip", lambda x: x.flip([0, 2]), lambda x: x.flip([0, 2]), (rand(2, 3, 4),)),
    ("flip int dim", lambda x: ln.flip(x, 1), lambda x: x.flip(1), (rand(2, 3),)),
    ("repeat", lambda x: x.repeat(2, 1, 3), lambda x: x.repeat(2, 1, 3), (rand(3, 2),)),
    ("repeat same rank", lambda x: x.repeat(2, 2), lambda x: x.repeat(2, 2), (rand(3, 2),)),
    ("tril", lambda x: x.tril(), lambda x: x.tril(), (rand(4, 4),)),
    ("triu -1 batched", lambda x: ln.triu(x, -1), lambda x: x.triu(-1), (rand(2, 3, 5),)),
    ("narrow", lambda x: x.narrow(1, 1, 2) * 2, lambda x: x.narrow(1, 1, 2) * 2, (rand(3, 4),)),
    ("select", lambda x: x.select(1, -2) ** 2, lambda x: x.select(1, -2) ** 2, (rand(3, 4, 2),)),
    ("unbind", lambda x: x.unbind(1)[0] * x.unbind(1)[2], lambda x: x.unbind(1)[0] * x.unbind(1)[2], (rand(3, 4),)),
    ("movedim", lambda x: x.movedim((0, 2), (2, 0)) * ln.arange(24.0, dtype=x.dtype).reshape(4, 3, 2),
     lambda x: x.movedim((0, 2), (2, 0)) * _th().arange(24.0, dtype=x.dtype).reshape(4, 3, 2), (rand(2, 3, 4),)),
    ("swapaxes", lambda x: ln.swapaxes(x, 0, 1).cumsum(0), lambda x: _th().swapaxes(x, 0, 1).cumsum(0),
     (rand(3, 4),)),
    ("unflatten", lambda x: x.unflatten(1, (2, -1)).cumsum(1), lambda x: x.unflatten(1, (2, -1)).cumsum(1),
     (rand(3, 6),)),
    ("cumsum", lambda x: x.cumsum(1) ** 2, lambda x: x.cumsum(1) ** 2, (rand(3, 4),)),
    ("sort values", lambda x: x.sort(1, descending=True).values * ln.arange(4.0, dtype=x.dtype),
     lambda x: x.sort(1, descending=True).values * x.new_tensor([0.0, 1.0, 2.0, 3.0]), (rand(3, 4),)),
    ("topk values", lambda x: x.topk(2, 0).values ** 2, lambda x: x.topk(2, 0).values ** 2, (rand(5, 3),)),
    ("scatter", lambda x, s: x.scatter(1, ln.tensor(IDX[:, :2]), s), lambda x, s: x.scatter(1, _t(IDX[:, :2]), s),
     (rand(2, 4), rand(2, 2, seed=1))),
    ("scatter_add", lambda x, s: x.scatter_add(1, ln.tensor(IDX), s) ** 2,
     lambda x, s: x.scatter_add(1, _t(IDX), s) ** 2, (rand(2, 4), rand(2, 3, seed=1))),
    ("einsum matmul", lambda a, b: ln.einsum("ij,jk->ik", a, b), lambda a, b: _th().einsum("ij,jk->ik", a, b),
     (rand(3, 4), rand(4, 2, seed=1))),
    ("einsum batched outer sum", lambda a, b: ln.einsum("bi,bj->bij", a, b).sum(),
     lambda a, b: _th().einsum("bi,bj->bij", a, b).sum(), (rand(2, 3), rand(2, 4, seed=1))),
    ("einsum implicit", lambda a: ln.einsum("ij", a) * 2, lambda a: _th().einsum("ij", a) * 2, (rand(3, 2),)),
    ("einsum summed alone", lambda a, b: ln.einsum("ij,k->k", a, b), lambda a, b: _th().einsum("ij,k->k", a, b),
     (rand(3, 2), rand(4, seed=1))),
    ("mm", lambda a, b: a.mm(b), lambda a, b: a.mm(b), (rand(3, 4), rand(4, 2, seed=1))),
    ("bmm", lambda a, b: ln.bmm(a, b), lambda a, b: _th().bmm(a, b), (rand(2, 3, 4), rand(2, 4, 2, seed=1))),
]


def _th():
    return torch()


def _t(a):
    return torch().tensor(a)


@pytest.mark.parametrize("name,fn,tfn,inputs", CASES, ids=[c[0] for c in CASES])
def test_gradients_match_finite_differences(name, fn, tfn, inputs):
    check_grad(fn, *inputs)


@pytest.mark.parametrize("name,fn,tfn,inputs", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients_match_pytorch(name, fn, tfn, inputs):
    check_parity(fn, tfn, *inputs)


def test_indices_and_helpers_match_pytorch():
    th = torch()
    a = np.array([[3.0, 1.0, 3.0, 2.0], [0.0, 5.0, 5.0, 1.0]], np.float32)
    x, tx = ln.tensor(a), th.tensor(a)
    for desc in (False, True):
        assert x.argsort(1, descending=desc).tolist() == th.argsort(tx, dim=1, descending=desc, stable=True).tolist()
    assert x.topk(2, largest=False).indices.tolist() == tx.topk(2, largest=False).indices.tolist()
    assert ln.nn.functional.one_hot(ln.tensor([0, 2, 1]), 4).tolist() == \
        th.nn.functional.one_hot(th.tensor([0, 2, 1]), 4).tolist()
    assert x.t().shape == tuple(tx.t().shape) and x.nelement() == tx.nelement()
    assert x.view_as(ln.zeros(8)).shape == (8,) and ln.ones(1, 4).expand_as(x).shape == (2, 4)
    assert x.new_zeros(2, 3).dtype == np.float32 and x.new_full((2,), 7.0).tolist() == [7.0, 7.0]
    assert x.long().new_ones(2).dtype == np.int64 and x.new_tensor([1, 2]).dtype == np.float32
    assert ln.randn_like(x).shape == (2, 4) and ln.full_like(x, 3.0).tolist() == [[3.0] * 4] * 2
    y = ln.zeros(2, 4)
    assert y.scatter_(1, ln.tensor(IDX[:, :2]), value=1.0) is y and y.tolist() == \
        th.zeros(2, 4).scatter_(1, th.tensor(IDX[:, :2]), 1.0).tolist()
    ln.manual_seed(0)
    draws = ln.multinomial(ln.tensor([[0.0, 1.0, 3.0], [1.0, 0.0, 0.0]]), 2000, replacement=True)
    counts = np.bincount(draws.numpy()[0], minlength=3)
    assert draws.shape == (2, 2000) and counts[0] == 0 and 2.6 < counts[2] / counts[1] < 3.4
    assert set(draws.numpy()[1].tolist()) == {0}
    assert sorted(ln.multinomial(ln.tensor([1.0, 1.0, 1.0]), 3).tolist()) == [0, 1, 2]


def test_bad_arguments_are_refused_clearly():
    x = ln.zeros(3, 4)
    with pytest.raises(ValueError, match="repeat dims"):
        x.repeat(2)
    with pytest.raises(ValueError, match="exceeds dimension size"):
        x.narrow(1, 3, 2)
    with pytest.raises(ValueError, match="out of range"):
        x.topk(5)
    with pytest.raises(ValueError, match="index out of range"):
        x.scatter(1, ln.tensor([[4]]), value=1.0)
    with pytest.raises(NotImplementedError, match=r"\.\.\."):
        ln.einsum("...i->i", x)
    with pytest.raises(ValueError, match="distinct letters"):
        ln.einsum("ii->i", ln.zeros(3, 3))
    with pytest.raises(ValueError, match="2-D"):
        ln.mm(ln.zeros(2, 3, 4), x)
    with pytest.raises(ValueError, match="without replacement"):
        ln.multinomial(ln.tensor([1.0, 0.0]), 2)


@pytest.mark.parametrize("view", [lambda x: x.select(0, 1), lambda x: x.unbind(1)[2], lambda x: x.movedim(0, 1),
                                  lambda x: x.moveaxis(1, 0), lambda x: x.swapaxes(0, 1), lambda x: x.swapdims(1, 0),
                                  lambda x: x.flatten().unflatten(0, (3, 4))],
                         ids=["select", "unbind", "movedim", "moveaxis", "swapaxes", "swapdims", "unflatten"])
def test_view_ops_share_memory_as_pytorchs(view):
    """An in-place change to the view reaches the tensor it views, as in PyTorch, with the same values."""
    th = torch()
    mine, theirs = ln.arange(12.0).reshape(3, 4), th.arange(12.0).reshape(3, 4)
    for x in (mine, theirs):
        v = view(x)
        v.mul_(-1.0)
    np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    np.testing.assert_array_equal(view(mine).numpy(), view(theirs).numpy())


def test_view_ops_refuse_what_pytorch_refuses():
    x = ln.zeros(2, 3)
    with pytest.raises(IndexError, match="select: index 3 is out of range for dimension 1 of size 3"):
        x.select(1, 3)
    with pytest.raises(ValueError, match="movedim: source .0, 1. and destination .0,. differ in length"):
        x.movedim((0, 1), (0,))
    with pytest.raises(ValueError, match="movedim: repeated dim in destination"):
        x.movedim((0, 1), (1, -1))
    with pytest.raises(ValueError, match=r"unflatten: sizes \(2, 2\) do not multiply to 3, the size of dim 1"):
        x.unflatten(1, (2, 2))
    with pytest.raises(ValueError, match="unflatten: sizes"):
        x.unflatten(1, (-1, -1))
    assert tuple(ln.unflatten(ln.zeros(2, 6), -1, (3, 2)).shape) == (2, 3, 2) and len(ln.unbind(x)) == 2
