"""nn.Embedding and its op: lookup of any index shape, scatter-add backward (repeats add), padding_idx,
init, errors; float64 gradient checks and PyTorch parity."""
import numpy as np
import pytest

import lucidnet as ln
from helpers import check_grad, check_parity, parity, rand
from lucidnet.nn.embedding import Embedding
from lucidnet.fused.embedding import embedding, index_add_rows


def _reference(v, idx, g):
    out = np.zeros((v, g.shape[1]), np.float64)
    np.add.at(out, idx, g.astype(np.float64))
    return out


# the three kernels: bias tables (d <= 2, bincount), few repeats (de-duplication rounds), many repeats
# (rounds, then sort + reduceat on the residue), a tiny vocabulary (sort + reduceat at once)
@pytest.mark.parametrize("v,n,d", [(50, 40, 1), (50, 40, 2), (1682, 1024, 64), (30, 500, 8), (65, 2048, 16),
                                   (5, 3, 4), (100, 1, 3)])
def test_index_add_rows_matches_add_at(v, n, d):
    rng = np.random.default_rng(v + n + d)
    idx = rng.integers(0, v, n)
    g = rng.standard_normal((n, d)).astype(np.float32)
    out = np.zeros((v, d), np.float32)
    index_add_rows(out, idx, g)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, _reference(v, idx, g), atol=1e-4)


def test_index_add_rows_adds_to_existing_and_handles_skewed_repeats():
    rng = np.random.default_rng(3)
    idx = np.concatenate([np.full(300, 7), rng.integers(0, 2000, 700)])  # one id 300 times, the rest rare
    rng.shuffle(idx)
    g = rng.standard_normal((len(idx), 5))
    out = np.ones((2000, 5))
    index_add_rows(out, idx, g)
    np.testing.assert_allclose(out, 1 + _reference(2000, idx, g), atol=1e-10)
    index_add_rows(out, np.zeros(0, np.int64), np.zeros((0, 5)))  # empty: nothing changes
    np.testing.assert_allclose(out, 1 + _reference(2000, idx, g), atol=1e-10)


def test_module_init_shapes_dtype_and_padding():
    emb = Embedding(10, 4, padding_idx=-1)
    assert emb.padding_idx == 9 and emb.weight.dtype == np.float32 and emb.weight.shape == (10, 4)
    assert np.all(emb.weight.array[9] == 0)
    ln.manual_seed(0)
    big = Embedding(1000, 100)
    w = big.weight.array
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1.0) < 0.02  # N(0, 1), as in PyTorch
    out = emb(ln.tensor([[1, 9, 9], [0, 2, 3]]))
    assert out.shape == (2, 3, 4) and out.dtype == np.float32
    assert Embedding(3, 2, dtype=ln.float64).weight.dtype == np.float64
    assert repr(emb) == "Embedding(10, 4, padding_idx=9)"


def test_padding_row_gets_no_gradient_and_repeats_add():
    emb = Embedding(6, 3, padding_idx=0)
    idx = ln.tensor([0, 2, 2, 5, 0, 2])
    (emb(idx) * 2.0).sum().backward()
    g = emb.weight.grad
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g[:, 0], [0, 0, 6, 0, 0, 2])


def test_errors_name_the_layer():
    emb = Embedding(5, 2)
    with pytest.raises(IndexError, match=r"Embedding\(5, 2\): index 5 is out of range"):
        emb(ln.tensor([0, 5]))
    with pytest.raises(IndexError, match="index -1"):
        emb(ln.tensor([-1]))
    with pytest.raises(TypeError, match="integers"):
        emb(ln.tensor([1.0]))
    with pytest.raises(ValueError, match="positive int"):
        Embedding(0, 3)
    with pytest.raises(ValueError, match="padding_idx"):
        Embedding(4, 3, padding_idx=4)


def test_from_pretrained_freezes_and_shares():
    w = ln.tensor(rand(4, 3, dtype=np.float32))
    emb = Embedding.from_pretrained(w)
    assert not emb.weight.requires_grad
    assert np.shares_memory(emb.weight.array, w.array)
    np.testing.assert_array_equal(emb(ln.tensor([3])).numpy()[0], w.numpy()[3])
    assert Embedding.from_pretrained(w, freeze=False).weight.requires_grad


def test_state_dict_round_trip():
    a, b = Embedding(7, 3), Embedding(7, 3)
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(a.weight.data, b.weight.data)


@pytest.mark.parametrize("idx", [np.array([1, 3, 3, 0]), np.array([[0, 4], [4, 4], [2, 1]]), np.array(2)])
def test_embedding_grad(idx):
    check_grad(lambda w: embedding(ln.tensor(idx), w), rand(5, 3, seed=2))


def test_embedding_grad_padding():
    # the padding row's gradient is zero by definition (PyTorch's rule), so finite differences check the
    # other rows: the table is built around a constant padding row
    pad = ln.tensor(rand(1, 2, seed=5), dtype=ln.float64)
    idx = ln.tensor(np.array([0, 1, 1, 2]))
    check_grad(lambda a, b: embedding(idx, ln.cat([a, pad, b], 0), padding_idx=1), rand(1, 2, seed=4),
               rand(1, 2, seed=6))


def test_embedding_grad_through_a_model_path():
    # two tables, a product and a sum: the MF forward
    u, i = ln.tensor(np.array([0, 1, 1, 2])), ln.tensor(np.array([3, 3, 0, 1]))
    check_grad(lambda p, q: (embedding(u, p) * embedding(i, q)).sum(1), rand(3, 4, seed=5), rand(4, 4, seed=6))


@parity
@pytest.mark.parametrize("padding_idx", [None, 2])
@pytest.mark.parametrize("shape", [(40,), (6, 7)])
def test_embedding_parity(shape, padding_idx):
    torch = pytest.importorskip("torch")
    idx = np.random.default_rng(1).integers(0, 9, shape)
    check_parity(lambda w: embedding(ln.tensor(idx), w, padding_idx=padding_idx),
                 lambda w: torch.nn.functional.embedding(torch.tensor(idx), w, padding_idx=padding_idx),
                 rand(9, 5, seed=3))


@parity
def test_embedding_parity_large_batch():
    """The rounds and sort kernels on workload-sized batches, against PyTorch."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    for v, n, d in ((1682, 1024, 64), (65, 2048, 64)):
        idx = rng.integers(0, v, n)
        check_parity(lambda w: embedding(ln.tensor(idx), w),
                     lambda w: torch.nn.functional.embedding(torch.tensor(idx), w),
                     rand(v, d, seed=v).astype(np.float32))


@parity
def test_module_matches_torch_module():
    torch = pytest.importorskip("torch")
    emb = Embedding(8, 3, padding_idx=1)
    ref = torch.nn.Embedding(8, 3, padding_idx=1)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(emb.weight.array))
    idx = np.array([[1, 2, 7], [7, 7, 0]])
    out, out_ref = emb(ln.tensor(idx)), ref(torch.tensor(idx))
    np.testing.assert_allclose(out.numpy(), out_ref.detach().numpy())
    w = np.random.default_rng(0).standard_normal(out.shape).astype(np.float32)
    (out * ln.tensor(w)).sum().backward()
    (out_ref * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(emb.weight.grad, ref.weight.grad.numpy(), atol=1e-6)


def test_tables_read_with_the_same_ids_share_one_plan_per_pass(numpy_kernels):
    import lucidnet.fused.embedding as E
    rng = np.random.default_rng(5)
    idx = ln.tensor(rng.integers(0, 40, 64))
    a, b = Embedding(40, 4), Embedding(40, 6)
    for _ in range(2):  # the shared entry lives for one forward/backward pass only
        a.weight.grad = b.weight.grad = None
        out = ln.cat([a(idx), b(idx)], 1)
        assert len(E._shared.entries) == 1
        w = rng.standard_normal(out.shape).astype(np.float32)
        (out * ln.tensor(w)).sum().backward(retain_graph=True)
        assert not E._shared.entries
        np.testing.assert_allclose(a.weight.grad, _reference(40, idx.numpy(), w[:, :4]), atol=1e-5)
        np.testing.assert_allclose(b.weight.grad, _reference(40, idx.numpy(), w[:, 4:]), atol=1e-5)
    (out * ln.tensor(w)).sum().backward()  # a second backward through the same graph plans again
    np.testing.assert_allclose(b.weight.grad, 2 * _reference(40, idx.numpy(), w[:, 4:]), atol=1e-5)
    with ln.no_grad():
        a(idx)
    assert not E._shared.entries  # no gradient, no entry
    for _ in range(100):  # graphs never backpropagated: the entries stay bounded
        a(ln.tensor(rng.integers(0, 40, 64)))
    assert len(E._shared.entries) <= E._shared.limit
    E._shared.entries.clear()


from lucidnet.fused.embedding import embedding_dot  # noqa: E402

U_IDX, I_IDX = np.array([0, 2, 2, 1, 0]), np.array([3, 3, 0, 1, 3])


def test_embedding_dot_grad():
    check_grad(lambda p, q: embedding_dot(ln.tensor(U_IDX), ln.tensor(I_IDX), p, q), rand(3, 4, seed=1),
               rand(4, 4, seed=2))


@parity
def test_embedding_dot_parity():
    torch = pytest.importorskip("torch")
    u, i = torch.tensor(U_IDX), torch.tensor(I_IDX)
    check_parity(lambda p, q: embedding_dot(ln.tensor(U_IDX), ln.tensor(I_IDX), p, q),
                 lambda p, q: (p[u] * q[i]).sum(1), rand(3, 4, seed=1), rand(4, 4, seed=2))
    rng = np.random.default_rng(0)  # workload size: the de-duplication kernel
    uu, ii = rng.integers(0, 943, 1024), rng.integers(0, 1682, 1024)
    check_parity(lambda p, q: embedding_dot(ln.tensor(uu), ln.tensor(ii), p, q),
                 lambda p, q: (p[torch.tensor(uu)] * q[torch.tensor(ii)]).sum(1),
                 rand(943, 64, seed=3).astype(np.float32), rand(1682, 64, seed=4).astype(np.float32))


def test_embedding_dot_checks_and_one_sided_gradient():
    p = ln.tensor(rand(3, 4, dtype=np.float32), requires_grad=True)
    q = ln.tensor(rand(4, 4, dtype=np.float32))
    out = embedding_dot(ln.tensor(U_IDX), ln.tensor(I_IDX), p, q)
    assert out.dtype == np.float32 and out.shape == (5,)
    out.sum().backward()
    assert p.grad.dtype == np.float32 and q.grad is None
    with pytest.raises(IndexError, match=r"embedding_dot \(items\): index 4 is out of range"):
        embedding_dot(ln.tensor([0]), ln.tensor([4]), p, q)
    with pytest.raises(ValueError, match="rows of 4 and 3"):
        embedding_dot(ln.tensor([0]), ln.tensor([0]), p, ln.tensor(rand(4, 3)))
    with pytest.raises(ValueError, match="one length"):
        embedding_dot(ln.tensor([0, 1]), ln.tensor([0]), p, q)
    with pytest.raises(TypeError, match="upcast"):
        embedding_dot(ln.tensor([0]), ln.tensor([0]), p, ln.tensor(rand(4, 4), dtype=ln.float64))


def test_a_plan_left_over_from_a_partial_backward_is_not_reused(numpy_kernels):
    """Two lookups of one index array, a backward that reaches only one of them: the plan made then must not
    serve a later pass after the array was changed in place."""
    import lucidnet.fused.embedding as E
    E._shared.entries.clear()
    a, b = Embedding(30, 4), Embedding(30, 4)
    idx = ln.tensor(np.arange(20) % 7)
    out_a, _ = a(idx), b(idx)
    out_a.sum().backward()  # reaches a's lookup only: the shared entry keeps its plan, one user short
    assert len(E._shared.entries) == 1
    idx.data[:] = np.arange(20)[::-1]  # changed in place
    w = np.random.default_rng(1).standard_normal((20, 4)).astype(np.float32)
    a.weight.grad = None
    (a(idx) * ln.tensor(w)).sum().backward()
    np.testing.assert_allclose(a.weight.grad, _reference(30, idx.numpy(), w), atol=1e-5)
    E._shared.entries.clear()


@pytest.fixture
def numpy_kernels():
    """The NumPy kernels (the plans of the rounds kernel belong to them; the compiled scatter needs none)."""
    from lucidnet import kernels
    previous = kernels.set_numba(False)
    yield
    kernels.set_numba(previous)


@pytest.mark.parametrize("v,n,d", [(943, 1024, 32), (65, 2048, 64), (10, 7, 2), (5000, 300, 48)])
def test_index_add_rows_in_both_kernels(backend, v, n, d):
    """The embedding backward's scatter-add, repeats added (compiled: in order; NumPy: rounds, or a sort)."""
    from lucidnet.fused.embedding import index_add_rows
    rng = np.random.default_rng(v + n)
    idx, g = rng.integers(0, v, n), rng.standard_normal((n, d)).astype(np.float32)
    want = np.zeros((v, d))
    np.add.at(want, idx, g.astype(np.float64))
    strided = np.concatenate([g, g], 1)[:, :d]  # a view with a row stride, as a concatenation's gradient slice
    for zeroed, grad in ((True, g), (False, g), (True, strided)):
        out = np.zeros((v, d), np.float32) if zeroed else np.ones((v, d), np.float32)
        index_add_rows(out, idx, grad, zeroed=zeroed)
        np.testing.assert_allclose(out, want + (0 if zeroed else 1), rtol=1e-5, atol=1e-5)
