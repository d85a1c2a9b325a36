"""Indexing: x[...] with basic slices, integer arrays (repeats scatter-add), boolean masks; gather."""
import numpy as np
import pytest

import lucidnet as ln
from helpers import check_grad, check_parity, parity, rand

IDX = np.array([2, 0, 2, 2, 1])          # repeated indices: the backward must add, not overwrite
IDX_NEG = np.array([-1, 0, -1, 1])
IDX2D = np.array([[0, 3], [3, 3]])
MASK = np.array([True, False, True, True])
MASK2D = rand(4, 5, seed=9) > 0.3

# name, key (the same key goes to lucidnet and torch), input shape
KEYS = [
    ("int", 1, (4, 5)),
    ("neg_int", -1, (4, 5)),
    ("int_int", (2, 3), (4, 5)),
    ("slice", slice(1, 3), (4, 5)),
    ("slice_step", (slice(None), slice(None, None, 2)), (4, 5)),
    ("slice_neg", (slice(-3, None), slice(1, -1)), (4, 5)),
    ("ellipsis", (Ellipsis, 1), (2, 3, 4)),
    ("none", (None, slice(1, 3), None), (4, 5)),
    ("int_slice_mixed", (1, slice(None), slice(0, 2)), (2, 3, 4)),
    ("empty_slice", slice(2, 2), (4, 5)),
    ("array", IDX, (3, 4)),
    ("array_neg", IDX_NEG, (4, 3)),
    ("array_2d", IDX2D, (4, 3)),
    ("array_dim1", (slice(None), IDX), (2, 3)),
    ("array_last", (Ellipsis, IDX), (2, 2, 3)),
    ("two_arrays", (np.array([0, 1, 1, 0]), np.array([2, 0, 0, 2])), (2, 3)),
    ("array_then_slice", (IDX, slice(1, 3)), (3, 4)),
    ("list", [0, 0, 1], (3, 2)),
    ("mask_rows", MASK, (4, 3)),
    ("mask_full", MASK2D, (4, 5)),
    ("mask_dim1", (slice(None), MASK), (3, 4)),
    ("mask_all_false", np.zeros(4, dtype=bool), (4, 3)),
]
CASES = [pytest.param(k, s, id=name) for name, k, s in KEYS]


def _torch_key(k):
    import torch
    if isinstance(k, np.ndarray):
        return torch.tensor(k)
    if isinstance(k, tuple):
        return tuple(_torch_key(i) for i in k)
    return k


@pytest.mark.parametrize("key,shape", CASES)
def test_getitem_grad(key, shape):
    check_grad(lambda x: x[key], np.asarray(rand(*shape, seed=1)))


@parity
@pytest.mark.parametrize("key,shape", CASES)
def test_getitem_parity(key, shape):
    pytest.importorskip("torch")
    outs, _ = check_parity(lambda x: x[key], lambda x: x[_torch_key(key)], np.asarray(rand(*shape, seed=1)))
    assert outs[0].dtype == np.float32


@pytest.mark.parametrize("key,shape", CASES)
def test_getitem_with_tensor_keys_matches_numpy_keys(key, shape):
    """An index given as a lucidnet tensor (int64 or bool) works like the NumPy array."""
    def to_t(k):
        if isinstance(k, np.ndarray):
            return ln.tensor(k)
        if isinstance(k, tuple):
            return tuple(to_t(i) for i in k)
        return k
    a = np.asarray(rand(*shape, seed=1)).astype(np.float32)
    x = ln.tensor(a, requires_grad=True)
    y = x[to_t(key)]
    np.testing.assert_array_equal(y.numpy(), a[key if not isinstance(key, list) else np.array(key)])
    w = np.asarray(rand(*y.shape, seed=2)).astype(np.float32)
    (y * ln.tensor(w)).sum().backward()
    expected = np.zeros_like(a)
    np.add.at(expected, key if not isinstance(key, list) else np.array(key), w)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-6)


def test_repeated_indices_add_up():
    x = ln.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[np.array([0, 0, 0, 2])].sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 1.0])
    assert x.grad.dtype == np.float32


def test_embedding_style_lookup_large_repeats():
    """The fast scatter-add path (one integer array on dim 0) against np.add.at, many repeats, negative ids."""
    rng = np.random.default_rng(0)
    table = rng.standard_normal((50, 8)).astype(np.float32)
    ids = rng.integers(-50, 50, size=(400,))
    x = ln.tensor(table, requires_grad=True)
    g = rng.standard_normal((400, 8)).astype(np.float32)
    x[ln.tensor(ids)].backward(g)
    expected = np.zeros_like(table)
    np.add.at(expected, ids, g)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-5, atol=1e-5)


def test_getitem_accumulates_over_two_lookups():
    x = ln.tensor(np.arange(4.0), requires_grad=True)
    (x[[1, 1]].sum() + x[1:3].sum() * 2 + x[x > 2.5].sum()).backward()
    np.testing.assert_array_equal(x.grad, [0, 4, 2, 1])


def test_index_out_of_range_names_the_shape():
    with pytest.raises(IndexError, match=r"\(3, 2\)"):
        ln.ones(3, 2)[5]
    with pytest.raises(IndexError, match=r"\(3, 2\)"):
        ln.ones(3, 2)[np.array([0, 3])]


def test_setitem_outside_the_graph_and_refused_inside():
    x = ln.zeros(3)
    x[1] = 2.0
    x[ln.tensor([0, 2])] = ln.tensor([5.0, 6.0])
    np.testing.assert_array_equal(x.numpy(), [5, 2, 6])
    w = ln.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad"):
        w[0] = 1.0
    with ln.no_grad():
        w[0] = 1.0
    assert w.numpy()[0] == 1.0


# ---- gather ----------------------------------------------------------------------------------------

GATHER = [
    ("dim1", 1, (3, 4), np.array([[0, 0, 3], [1, 2, 1], [3, 3, 3]])),
    ("dim0", 0, (3, 4), np.array([[0, 2, 2, 1], [0, 0, 0, 0]])),
    ("neg_dim", -1, (2, 3, 4), np.array([[[1, 1], [0, 3], [2, 2]], [[3, 0], [0, 0], [1, 2]]])),
    ("dim1_3d", 1, (2, 3, 4), np.array([[[0, 1, 2, 2]], [[2, 2, 2, 0]]])),
    ("smaller_other_dims", 1, (3, 4), np.array([[3, 3], [0, 1]])),
]
GCASES = [pytest.param(d, s, i, id=name) for name, d, s, i in GATHER]


@pytest.mark.parametrize("dim,shape,index", GCASES)
def test_gather_grad(dim, shape, index):
    check_grad(lambda x: ln.gather(x, dim, ln.tensor(index)), np.asarray(rand(*shape, seed=3)))
    check_grad(lambda x: x.gather(dim, index), np.asarray(rand(*shape, seed=3)))


@parity
@pytest.mark.parametrize("dim,shape,index", GCASES)
def test_gather_parity(dim, shape, index):
    torch = pytest.importorskip("torch")
    outs, _ = check_parity(lambda x: ln.gather(x, dim, ln.tensor(index)),
                           lambda x: torch.gather(x, dim, torch.tensor(index)), np.asarray(rand(*shape, seed=3)))
    assert outs[0].dtype == np.float32


def test_gather_index_rank_mismatch_is_clear():
    with pytest.raises(ValueError, match=r"gather.*1 dims.*2.*\(3, 4\)"):
        ln.gather(ln.ones(3, 4), 1, ln.tensor([0, 1]))


def test_float_indices_are_rejected():
    with pytest.raises(IndexError):
        ln.ones(3)[ln.tensor([0.0, 1.0])]


def test_gather_index_larger_than_input_outside_dim_is_clear():
    with pytest.raises(ValueError, match=r"gather.*\(3, 2\).*\(1, 4\)"):
        ln.gather(ln.ones(1, 4), 1, ln.tensor(np.zeros((3, 2), dtype=np.int64)))
