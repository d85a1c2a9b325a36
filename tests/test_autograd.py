"""The backward engine: semantics of backward(), accumulation, graph freeing, deep and wide graphs,
and the ownership optimisation (the engine adds in place into gradient arrays it owns: these tests
catch an array written while someone else still reads it)."""
import gc
import sys

import numpy as np
import pytest

import lucidnet as ln
from helpers import check_grad, parity, rand
from lucidnet.autograd import Function


def T():
    return pytest.importorskip("torch")


# ---- backward(): roots, explicit gradients, errors -------------------------------------------------

def test_scalar_backward():
    x = ln.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0, 6.0])
    assert x.grad.dtype == np.float32


def test_backward_with_explicit_gradient_array_tensor_and_list():
    for g in (np.array([1.0, 10.0], np.float32), ln.tensor([1.0, 10.0]), [1.0, 10.0], np.array([1.0, 10.0])):
        x = ln.tensor([2.0, 3.0], requires_grad=True)
        (x * x).backward(g)
        np.testing.assert_array_equal(x.grad, [4.0, 60.0])
        assert x.grad.dtype == np.float32  # a float64 gradient is brought to the output's dtype


def test_backward_on_one_element_non_0d_output():
    x = ln.tensor([[3.0]], requires_grad=True)
    (x * 2).backward()
    np.testing.assert_array_equal(x.grad, [[2.0]])


def test_backward_on_non_scalar_without_gradient_is_a_clear_error():
    x = ln.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"scalar.*\(2, 3\).*backward\(grad\)"):
        (x * 2).backward()


def test_backward_with_gradient_of_wrong_shape():
    x = ln.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"gradient of shape \(3,\).*\(2, 3\)"):
        (x * 2).backward(np.ones(3))


def test_backward_on_tensor_without_graph_is_a_clear_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ln.ones(2).sum().backward()
    x = ln.ones(2, requires_grad=True)
    with ln.no_grad():
        y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="no_grad"):
        y.backward()


def test_backward_on_a_leaf():
    x = ln.tensor(2.0, requires_grad=True)
    x.backward()
    assert x.grad == 1.0 and x.grad.dtype == np.float32
    g = np.array([1.0, 2.0], np.float32)
    v = ln.tensor([0.0, 0.0], requires_grad=True)
    v.backward(g)
    v.backward(g)
    np.testing.assert_array_equal(v.grad, [2.0, 4.0])
    np.testing.assert_array_equal(g, [1.0, 2.0])  # the caller's gradient is never written


def test_inputs_that_need_no_grad_get_none_and_cost_no_work():
    calls = []

    class Probe(Function):
        def forward(self, a, b):
            return a * b

        def backward(self, g):
            calls.append(self.needs)
            return (g if self.needs[0] else None, g if self.needs[1] else None)

    a, b = ln.ones(2, requires_grad=True), ln.ones(2)
    Probe.apply(a, b).sum().backward()
    assert calls == [(True, False)] and b.grad is None and a.grad is not None


def test_non_leaf_grad_is_not_kept_unless_retain_grad():
    x = ln.ones(3, requires_grad=True)
    h = x * 2
    k = x * 3
    k.retain_grad()
    (h * k).sum().backward()
    assert h.grad is None
    np.testing.assert_array_equal(k.grad, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(x.grad, [12.0, 12.0, 12.0])


def test_retain_grad_on_the_root():
    x = ln.ones(2, requires_grad=True)
    y = x * 2
    y.retain_grad()
    y.backward(np.array([3.0, 4.0], np.float32))
    np.testing.assert_array_equal(y.grad, [3.0, 4.0])
    np.testing.assert_array_equal(x.grad, [6.0, 8.0])


def test_detach_stops_the_gradient():
    x = ln.tensor([1.0, 2.0], requires_grad=True)
    (x * x.detach()).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 2.0])


# ---- accumulation and graph freeing ---------------------------------------------------------------

def test_gradients_accumulate_across_backward_calls_like_torch():
    x = ln.tensor([1.0, 2.0], requires_grad=True)
    for k in range(1, 4):
        (x * x).sum().backward()
        np.testing.assert_array_equal(x.grad, [2.0 * k, 4.0 * k])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_graph_is_freed_after_backward_and_a_second_backward_is_a_clear_error():
    x = ln.ones(3, requires_grad=True)
    w = ln.ones(3, requires_grad=True)
    y = (x * w).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"second time.*retain_graph=True"):
        y.backward()
    # reusing a part of a freed graph in a new graph also fails (PyTorch: the same for saved tensors)
    h = x * w
    h.sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        (h * 2).sum().backward()


def test_retain_graph_allows_a_second_backward():
    x = ln.tensor([0.5, -1.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    g1 = x.grad.array.copy()
    y.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad, 2 * g1, rtol=1e-6)
    y.backward()
    np.testing.assert_allclose(x.grad, 3 * g1, rtol=1e-6)
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_freed_graph_releases_saved_arrays():
    x = ln.ones(1000, requires_grad=True)
    y = x.exp()
    node = y.grad_fn
    assert "out" in vars(node)
    y.sum().backward()
    assert node.freed and "out" not in vars(node)


# ---- deep and wide graphs ----------------------------------------------------------------------------

def test_chain_of_100k_ops_has_no_recursion_limit():
    limit = sys.getrecursionlimit()
    x = ln.tensor([1.0], dtype=ln.float64, requires_grad=True)
    c = 1.0 + 1e-5
    y = x
    for _ in range(100_000):
        y = y * c
    y.sum().backward()
    assert sys.getrecursionlimit() == limit
    np.testing.assert_allclose(x.grad, [c ** 100_000], rtol=1e-9)
    np.testing.assert_allclose(y.numpy(), [c ** 100_000], rtol=1e-9)
    del y  # tearing down a 100k-deep chain must not overflow the C stack either
    gc.collect()


def test_long_chain_with_retain_graph_twice():
    x = ln.tensor([2.0], requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y + 1.0
    y.sum().backward(retain_graph=True)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0])


def _lattice(xs, lib, depth=30):
    """A wide DAG: each layer mixes neighbours of the last one, so every node feeds two others
    (diamonds everywhere, shared subexpressions reused many times)."""
    layer = list(xs)
    n = len(layer)
    for d in range(depth):
        nxt = []
        for i in range(n):
            a, b = layer[i], layer[(i + 1) % n]
            nxt.append((a * b).tanh() + a * 0.5 if d % 2 else a - b * 0.3 + (a * b) * 0.1)
        layer = nxt
    total = layer[0]
    for t in layer[1:]:
        total = total + t
    return total


def test_wide_dag_matches_finite_differences():
    check_grad(lambda *xs: _lattice(xs, ln, depth=8), *[rand(2, seed=i) * 0.5 for i in range(6)])


@parity
def test_wide_dag_matches_torch():
    torch = T()
    n = 40
    arrays = [np.asarray(rand(3, seed=i) * 0.5, dtype=np.float32) for i in range(n)]
    xs = [ln.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, out_t = _lattice(xs, ln), _lattice(ts, torch)
    np.testing.assert_allclose(out.numpy(), out_t.detach().numpy(), rtol=1e-4, atol=1e-5)
    out.sum().backward()
    out_t.sum().backward()
    for x, t in zip(xs, ts):
        assert x.grad.dtype == np.float32
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_each_node_backward_runs_once_in_a_fan_out_and_diamond_graph():
    counts = {}

    class Ident(Function):
        def forward(self, a, tag=None):
            self.tag = tag
            return a.copy()

        def backward(self, g):
            counts[self.tag] = counts.get(self.tag, 0) + 1
            return (g,)

    x = ln.ones(3, requires_grad=True)
    h = Ident.apply(x, tag="h")
    branches = [Ident.apply(h * float(i), tag=f"b{i}") for i in range(200)]
    top = Ident.apply(branches[0], tag="top")
    for b in branches[1:]:
        top = top + b
    top.sum().backward()
    assert counts["h"] == 1 and counts["top"] == 1
    assert all(counts[f"b{i}"] == 1 for i in range(200))
    np.testing.assert_array_equal(x.grad, np.full(3, sum(range(200)), np.float32))


def test_diamond_values():
    x = ln.tensor(3.0, dtype=ln.float64, requires_grad=True)
    a = x * 2
    b = x * x
    y = a * b + a + b  # 2x^3 + 2x + x^2
    y.backward()
    assert x.grad.item() == pytest.approx(6 * 9 + 2 + 6)


# ---- 0-d graphs (NumPy returns scalars, not arrays, from 0-d math) ---------------------------------

def test_0d_graph_with_shared_subexpressions():
    x = ln.tensor(1.5, requires_grad=True)
    h = x * 2
    y = (h + h) * 1.0 + h.exp() + h.sum() + ln.maximum(h, 0.5) + h * h
    y.backward()
    expected = 2 * (2 + np.exp(3.0) + 1 + 1 + 2 * 3.0)
    assert isinstance(x.grad, ln.Tensor) and isinstance(x.grad.array, np.ndarray)
    assert x.grad.shape == () and x.grad.array.shape == () and x.grad.array.dtype == np.float32
    assert x.grad.array == pytest.approx(expected, rel=1e-6)
    y = (x * x) + (x * 3.0)
    y.backward()
    assert x.grad.array == pytest.approx(expected + 2 * 1.5 + 3.0, rel=1e-6)


def test_0d_grads_finite_differences():
    check_grad(lambda a, b: (a * b + a / b - ln.maximum(a, b) + ln.minimum(a, b) * a) ** 2 + (a + a) * (b - a),
               np.array(0.7), np.array(-1.3))


# ---- ownership: in-place accumulation must never write an array someone else still reads ----------

def test_x_plus_x():
    x = ln.tensor([1.0, 2.0], requires_grad=True)
    (x + x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])
    (x + x).sum().backward()
    np.testing.assert_array_equal(x.grad, [4.0, 4.0])
    (x * x + x).sum().backward()
    np.testing.assert_array_equal(x.grad, [7.0, 9.0])


def test_two_leaves_of_one_add_never_share_a_gradient_array():
    a = ln.zeros(3, requires_grad=True)
    b = ln.zeros(3, requires_grad=True)
    (a + b).sum().backward()
    assert a.grad is not b.grad and not np.shares_memory(a.grad.array, b.grad.array)
    (a + b).sum().backward()  # accumulates in place: a shared array would give 4 (or 3)
    np.testing.assert_array_equal(a.grad, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(b.grad, [2.0, 2.0, 2.0])
    (a - b).backward(np.ones(3, np.float32))
    np.testing.assert_array_equal(a.grad, [3.0, 3.0, 3.0])
    np.testing.assert_array_equal(b.grad, [1.0, 1.0, 1.0])


def _leaves_graph():
    """Many leaves fed through ops whose backward returns grad itself, views of it, or broadcasts."""
    a = ln.tensor(rand(2, 3, seed=1), requires_grad=True)
    b = ln.tensor(rand(2, 3, seed=2), requires_grad=True)
    c = ln.tensor(rand(3, seed=3), requires_grad=True)
    d = ln.tensor(rand(6, seed=4), requires_grad=True)
    e = ln.tensor(rand(3, 2, seed=5), requires_grad=True)
    f = ln.tensor(rand(2, 3, seed=6), requires_grad=True)
    h = ln.tensor(rand(2, 3, seed=7), requires_grad=True)
    out = (a + b + c + d.reshape(2, 3) + e.T + f.clone()).sum() + ln.cat([a, h]).sum() + ln.stack([b, h]).mean()
    return [a, b, c, d, e, f, h], out


def test_no_two_leaf_gradients_share_memory_in_a_graph_of_views():
    leaves, out = _leaves_graph()
    out.backward()
    for i, p in enumerate(leaves):
        assert p.grad.array.flags.writeable and p.grad.array.flags.c_contiguous and p.grad.shape == p.shape
        assert not np.shares_memory(p.grad.array, p.array)
        for q in leaves[i + 1:]:
            assert not np.shares_memory(p.grad.array, q.grad.array)


def test_accumulation_in_a_graph_of_views_is_exact():
    leaves, out = _leaves_graph()
    out.backward()
    first = [p.grad.array.copy() for p in leaves]
    for k in (2, 3):
        _, out2 = _rebuild(leaves)
        out2.backward()
        for p, g in zip(leaves, first):
            np.testing.assert_allclose(p.grad, k * g, rtol=1e-6)


def _rebuild(leaves):
    a, b, c, d, e, f, h = leaves
    out = (a + b + c + d.reshape(2, 3) + e.T + f.clone()).sum() + ln.cat([a, h]).sum() + ln.stack([b, h]).mean()
    return leaves, out


def test_a_reference_to_grad_is_updated_in_place_like_torch():
    """PyTorch adds into .grad in place: a held reference sees the sum. Setting .grad = None lets go."""
    x = ln.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    held = x.grad
    (x * 2).sum().backward()
    assert held is x.grad
    np.testing.assert_array_equal(held, [4.0, 4.0])
    x.grad = None
    (x * 2).sum().backward()
    np.testing.assert_array_equal(held, [4.0, 4.0])  # the old array is no longer touched
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])
    assert not np.shares_memory(held.array, x.grad.array)


@parity
def test_held_grad_reference_matches_torch_semantics():
    torch = T()
    xt = torch.tensor([1.0, 2.0], requires_grad=True)
    (xt * 2).sum().backward()
    held_t = xt.grad
    (xt * 2).sum().backward()
    assert held_t is xt.grad and held_t.tolist() == [4.0, 4.0]


def test_user_gradient_and_user_set_grad_are_not_aliased():
    g = np.array([1.0, 2.0], np.float32)
    x = ln.tensor([0.0, 0.0], requires_grad=True)
    x.clone().backward(g)
    assert not np.shares_memory(x.grad.array, g)
    x.clone().backward(g)
    np.testing.assert_array_equal(g, [1.0, 2.0])
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_retained_grad_and_leaf_grad_never_share_memory():
    x = ln.ones(3, requires_grad=True)
    h = x.clone()
    h.retain_grad()
    z = h.clone()
    z.retain_grad()
    z.backward(np.array([1.0, 2.0, 3.0], np.float32))
    grads = [x.grad.array, h.grad.array, z.grad.array]
    for i in range(3):
        for j in range(i + 1, 3):
            assert not np.shares_memory(grads[i], grads[j])
    x2 = ln.ones(3, requires_grad=True)
    k = x2 * 1.0
    k.retain_grad()
    (k + k).sum().backward()
    np.testing.assert_array_equal(k.grad, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(x2.grad, [2.0, 2.0, 2.0])
    assert not np.shares_memory(k.grad.array, x2.grad.array)


def test_sum_gradient_is_a_writeable_array_not_a_broadcast_view():
    x = ln.ones(3, 4, requires_grad=True)
    x.sum().backward()
    assert x.grad.array.flags.writeable and x.grad.array.flags.c_contiguous
    with ln.no_grad():  # what an optimizer does
        x.grad *= 0.5
    x.mean().backward()
    np.testing.assert_allclose(x.grad, np.full((3, 4), 0.5 + 1 / 12), rtol=1e-6)


class _GradAndViewOfGrad(Function):
    """Backward returns grad itself and a view of it (allowed by the ownership rule)."""

    def forward(self, a, b):
        self.sb = b.shape
        return a + b.reshape(a.shape)

    def backward(self, g):
        return g, g.reshape(self.sb)


class _FreshAndViewOfFresh(Function):
    """Backward returns a fresh array and a view of that same fresh array."""

    def forward(self, a, b):
        self.sb = b.shape
        return (a + b.reshape(a.shape)) * 2

    def backward(self, g):
        f = g * 2
        return f, f.reshape(self.sb)


@pytest.mark.parametrize("op", [_GradAndViewOfGrad, _FreshAndViewOfFresh])
def test_a_gradient_and_a_view_of_it_returned_together_are_not_written(op):
    """x gets the gradient array; h (not yet processed) holds a view of it; a later contribution to x
    must not be added into that array while h still needs it."""
    scale = 2.0 if op is _FreshAndViewOfFresh else 1.0
    x = ln.ones(3, 4, requires_grad=True)
    w = ln.ones(12, requires_grad=True)
    h = w * 1.0
    y = op.apply(x, h)
    a = (y * 2.0).sum()
    b = (x * 3.0).sum() + h.sum()  # visited first: x gets its second gradient before h is processed
    (a + b).backward()
    np.testing.assert_array_equal(x.grad, np.full((3, 4), 2.0 * scale + 3.0))
    np.testing.assert_array_equal(w.grad, np.full(12, 2.0 * scale + 1.0))


def test_identity_chain_passes_grad_through_without_corrupting_the_root_gradient():
    x = ln.ones(4, requires_grad=True)
    y = x.clone().clone().reshape(2, 2).clone()
    y.retain_grad()
    g = np.arange(4, dtype=np.float32).reshape(2, 2)
    y.backward(g)
    y2 = x.clone().clone()
    y2.backward(np.ones(4, np.float32))
    np.testing.assert_array_equal(y.grad, g)
    np.testing.assert_array_equal(x.grad, np.arange(4) + 1.0)


# A sample of ops (one from each file): backward twice through a retained graph must give exactly twice
# the gradient, and must not change the forward output or the inputs (a write into a saved array would).
RETAIN_OPS = [
    ("add_bcast", lambda a, b: a + b[0]), ("mul", lambda a, b: a * b), ("div", lambda a, b: a / (b * b + 1)),
    ("pow", lambda a, b: (a * a + 1) ** b), ("max", lambda a, b: ln.maximum(a, b)), ("exp", lambda a, b: a.exp() + b),
    ("log_sqrt", lambda a, b: (a * a + 1).log() + (b * b + 1).sqrt()),
    ("abs_clip", lambda a, b: a.abs() + b.clip(-0.5, 0.5)),
    ("where", lambda a, b: ln.where(a > b, a, b)), ("matmul", lambda a, b: a @ b.T),
    ("sum_mean", lambda a, b: a.sum(0) + b.mean(1, keepdim=True)), ("var_std", lambda a, b: a.var(0) + b.std()),
    ("max_dim", lambda a, b: a.max(1)[0] + b.max()), ("lse", lambda a, b: a.logsumexp(1) + b.min(0)[0].sum()),
    ("shape", lambda a, b: a.T.reshape(-1)[:4] + b.permute(1, 0).flatten()[2:6]),
    ("cat_stack_split", lambda a, b: ln.cat([a, b]).split(1)[2] + ln.stack([a, b], 1)[:, 0].sum(0)),
    ("index", lambda a, b: a[[0, 0, 1]] + b[b > 0].sum()),
    ("gather", lambda a, b: ln.gather(a, 1, ln.tensor([[0, 0], [1, 2]])) + b[:, :2]),
    ("pad_expand", lambda a, b: ln.pad(a, (1, 1)).sum() + b[:1].expand(4, 3)),
    ("acts", lambda a, b: a.sigmoid() + a.tanh() + a.relu() + ln.ops.gelu(b) + ln.ops.silu(b) + ln.ops.softplus(a)),
    ("acts2", lambda a, b: ln.ops.elu(a) + ln.ops.leaky_relu(b) + a.softmax(1) + b.log_softmax(0)),
    ("linear", lambda a, b: ln.ops.linear(a, b, b[:, 0])), ("cast_clone", lambda a, b: a.double().float() + b.clone()),
]


@pytest.mark.parametrize("fn", [pytest.param(f, id=n) for n, f in RETAIN_OPS])
def test_retain_graph_gives_exactly_twice_the_gradient(fn):
    a0, b0 = rand(2, 3, seed=1).astype(np.float32), rand(2, 3, seed=2).astype(np.float32)
    a, b = ln.tensor(a0, requires_grad=True), ln.tensor(b0, requires_grad=True)
    y = fn(a, b)
    y0 = y.numpy().copy()
    w = ln.tensor(rand(*y.shape, seed=3))
    loss = (y * w).sum()
    loss.backward(retain_graph=True)
    ga, gb = a.grad.array.copy(), b.grad.array.copy()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(a.grad, 3 * ga, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b.grad, 3 * gb, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(y.numpy(), y0)
    np.testing.assert_array_equal(a.numpy(), a0)
    np.testing.assert_array_equal(b.numpy(), b0)
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float32


# ---- gradcheck itself ------------------------------------------------------------------------------

def test_gradcheck_catches_a_wrong_backward():
    class WrongSquare(Function):
        def forward(self, a):
            self.a = a
            return a * a

        def backward(self, g):
            return (g * self.a,)  # should be 2 * a

    x = ln.tensor(rand(3), dtype=ln.float64, requires_grad=True)
    with pytest.raises(AssertionError, match="gradcheck"):
        ln.autograd.gradcheck(WrongSquare.apply, [x])
    assert ln.autograd.gradcheck(WrongSquare.apply, [x], raise_exception=False) is False


def test_gradcheck_needs_float64():
    with pytest.raises(TypeError, match="float64"):
        ln.autograd.gradcheck(lambda t: t * 2, [ln.ones(2, requires_grad=True)])


def test_add_of_two_leaves_with_a_writeable_incoming_gradient():
    """When the gradient reaching an Add is an array the engine owns (an explicit gradient, or the
    output of Mul), it still must not be handed to both inputs."""
    a = ln.zeros(3, requires_grad=True)
    b = ln.zeros(3, requires_grad=True)
    (a + b).backward(np.ones(3, np.float32))
    assert not np.shares_memory(a.grad.array, b.grad.array)
    ((a + b) * 2.0).sum().backward()
    np.testing.assert_array_equal(a.grad, [3.0, 3.0, 3.0])
    np.testing.assert_array_equal(b.grad, [3.0, 3.0, 3.0])


@pytest.mark.parametrize("order", [0, 1])
def test_add_of_two_intermediates_that_get_more_gradient_later(order):
    a = ln.ones(3, requires_grad=True)
    b = ln.ones(3, requires_grad=True)
    h1, h2 = a * 1.0, b * 1.0
    s = ((h1 + h2) * 2.0).sum()
    t = (h1 * 3.0).sum() + (h2 * 5.0).sum()
    (s + t if order else t + s).backward()
    np.testing.assert_array_equal(a.grad, [5.0, 5.0, 5.0])
    np.testing.assert_array_equal(b.grad, [7.0, 7.0, 7.0])


def test_view_of_a_shared_gradient_is_not_owned():
    """Add hands one gradient array to r and q; r's backward (a reshape) passes a view of it to x.
    A later in-place addition into x.grad must not reach q's gradient through that view."""
    x = ln.ones(2, 3, requires_grad=True)
    w = ln.ones(6, requires_grad=True)
    r, q = x.reshape(6), w * 1.0
    a = (r + q).sum()
    b = (x * 3.0).sum() + q.sum()  # visited first, so x gets more gradient before q is processed
    (a + b).backward()
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 4.0))
    np.testing.assert_array_equal(w.grad, np.full(6, 2.0))


def test_post_accumulate_grad_hooks_run_once_with_the_whole_gradient():
    w = ln.tensor([1.0, 2.0], requires_grad=True)
    b = ln.tensor([0.5], requires_grad=True)
    seen, ends = [], []

    def hook(t):
        seen.append((t is w, t.grad.tolist()))
        ln.autograd.hooks.queue_callback(lambda: ends.append(len(seen)))

    handles = [w.register_post_accumulate_grad_hook(hook), b.register_post_accumulate_grad_hook(hook)]
    loss = (w * w).sum() * 2 + (w * b).sum()
    loss.backward()
    assert sorted(seen) == [(False, [3.0]), (True, [4.5, 8.5])]
    assert ends == [2, 2]  # queued callbacks ran after the backward, once each
    for h in handles:
        h.remove()
    (w * 3).sum().backward()
    assert len(seen) == 2
    with pytest.raises(RuntimeError, match="no backward is running"):
        ln.autograd.hooks.queue_callback(lambda: None)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(hook)
