"""In-place tensor updates with PyTorch's rules (issue 24, point 1): ``p -= lr * p.grad`` under no_grad()
updates the parameter itself; ``.data`` and ``.grad`` are tensors; a leaf that requires grad is refused
while the graph is recorded; computed tensors are updated with the op recorded; an array that backward
needs and that was changed in place raises at backward (version counters), as in PyTorch."""
import numpy as np
import pytest

import lucidnet as ln
from lucidnet import nn


@pytest.fixture(scope="module")
def th():
    return pytest.importorskip("torch")


def _pair(th, values, dtype="float32", grad=False):
    a = np.asarray(values, dtype=dtype)
    return ln.tensor(a, requires_grad=grad), th.tensor(a, requires_grad=grad)


# ---- the silent no-op of issue 24: a hand-written SGD loop ------------------------------------------

def test_a_hand_written_sgd_loop_updates_the_parameters_in_place():
    ln.manual_seed(0)
    x = ln.randn(64, 3)
    y = x @ ln.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    w, b = ln.zeros(3, 1, requires_grad=True), ln.zeros(1, requires_grad=True)
    same_w, same_array = w, w.array
    losses = []
    for _ in range(50):
        loss = ((x @ w + b - y) ** 2).mean()
        losses.append(loss.item())
        loss.backward()
        with ln.no_grad():
            w -= 0.1 * w.grad
            b -= 0.1 * b.grad
            w.grad.zero_()
            b.grad.zero_()
    assert w is same_w and w.array is same_array and w.requires_grad and w.is_leaf
    assert losses[-1] < 0.01 * losses[0]
    np.testing.assert_allclose(w.numpy().ravel(), [1.0, -2.0, 0.5], atol=0.05)


def test_data_and_grad_are_tensors_sharing_memory():
    p = nn.Parameter(ln.tensor([1.0, 2.0]))
    d = p.data
    assert isinstance(d, ln.Tensor) and not d.requires_grad and d.is_leaf and d.array is p.array
    p.data.add_(ln.tensor([0.5, 0.5]))            # the word language model's update: p.data.add_(p.grad, alpha=-lr)
    p.data.mul_(2)
    assert p.tolist() == [3.0, 5.0]
    (p * p).sum().backward()
    assert isinstance(p.grad, ln.Tensor) and p.grad.tolist() == [6.0, 10.0]
    p.data.add_(p.grad, alpha=-0.5)
    assert p.tolist() == [0.0, 0.0]
    p.grad.zero_()
    assert p.grad.tolist() == [0.0, 0.0]
    p.data = ln.tensor([7.0, 8.0, 9.0])            # assigning .data swaps the memory (PyTorch allows a new shape)
    assert p.shape == (3,) and p.requires_grad
    with pytest.raises(TypeError, match="expected a Tensor"):
        p.data = np.zeros(3, np.float32)
    with pytest.raises(TypeError, match="expected a Tensor or None"):
        p.grad = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match="shape"):
        p.grad = ln.zeros(2)
    with pytest.raises(ValueError, match="dtype"):
        p.grad = ln.zeros(3, dtype=ln.float64)
    p.grad = ln.ones(3)
    assert p.grad.tolist() == [1.0, 1.0, 1.0]


# ---- values: each in-place op against PyTorch -------------------------------------------------------

CASES = [
    ("add_", lambda t, o: t.add_(o)), ("add_ alpha", lambda t, o: t.add_(o, alpha=-0.5)),
    ("sub_", lambda t, o: t.sub_(o)), ("sub_ alpha", lambda t, o: t.sub_(o, alpha=2.0)),
    ("mul_", lambda t, o: t.mul_(o)), ("div_", lambda t, o: t.div_(o)),
    ("+=", lambda t, o: t.__iadd__(o)), ("-=", lambda t, o: t.__isub__(o)),
    ("*=", lambda t, o: t.__imul__(o)), ("/=", lambda t, o: t.__itruediv__(o)),
    ("+= scalar", lambda t, o: t.__iadd__(1.5)), ("*= scalar", lambda t, o: t.__imul__(-2.0)),
    ("pow_", lambda t, o: t.pow_(2)), ("**=", lambda t, o: t.__ipow__(3)),
    ("neg_", lambda t, o: t.neg_()), ("clamp_", lambda t, o: t.clamp_(-0.5, 0.25)),
    ("clamp_ min", lambda t, o: t.clamp_(min=0.0)), ("fill_", lambda t, o: t.fill_(3.5)),
    ("zero_", lambda t, o: t.zero_()), ("copy_", lambda t, o: t.copy_(o)),
    ("abs_", lambda t, o: t.abs_()), ("exp_", lambda t, o: t.exp_()), ("relu_", lambda t, o: t.relu_()),
    ("sigmoid_", lambda t, o: t.sigmoid_()), ("tanh_", lambda t, o: t.tanh_()),
    ("sqrt_", lambda t, o: t.abs_().sqrt_()), ("log_", lambda t, o: t.abs_().log_()),
]


@pytest.mark.parametrize("name,op", CASES, ids=[c[0] for c in CASES])
def test_in_place_values_match_pytorch_and_views_see_them(th, name, op):
    rng = np.random.default_rng(0)
    a, o = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((4,)).astype(np.float32) + 2
    t, tt = _pair(th, a)
    view, tview = t[1], tt[1]
    r, tr = op(t, ln.tensor(o)), op(tt, th.tensor(o))
    assert r is t and tr is tt
    np.testing.assert_allclose(t.numpy(), tt.numpy(), rtol=1e-6)
    np.testing.assert_allclose(view.numpy(), tview.numpy(), rtol=1e-6)     # views share the change
    assert t.dtype == np.float32


def test_masked_fill_copy_cast_and_integer_rules_match_pytorch(th):
    t, tt = _pair(th, [[1.0, 2.0], [3.0, 4.0]])
    m = np.array([True, False])
    t.masked_fill_(ln.tensor(m), -1.0)
    tt.masked_fill_(th.tensor(m), -1.0)
    assert t.tolist() == tt.tolist()
    i, ti = ln.tensor([1, 2, 3]), th.tensor([1, 2, 3])
    i += 2
    ti += 2
    i.mul_(3)
    ti.mul_(3)
    assert i.tolist() == ti.tolist() and i.dtype == np.int64
    i.copy_(ln.tensor([1.7, -2.7, 3.2]))          # copy_ casts (truncates toward zero), as PyTorch
    ti.copy_(th.tensor([1.7, -2.7, 3.2]))
    assert i.tolist() == ti.tolist()
    with pytest.raises(RuntimeError, match="int64"):
        i += 0.5                                   # PyTorch: result type Float can't be cast to Long
    with pytest.raises(RuntimeError):
        ti += 0.5
    with pytest.raises(RuntimeError, match="does not broadcast"):
        ln.zeros(3).add_(ln.ones(2, 3))            # the result would have another shape
    with pytest.raises(RuntimeError):
        th.zeros(3).add_(th.ones(2, 3))
    with pytest.raises(TypeError, match="bool mask"):
        ln.zeros(2).masked_fill_(ln.tensor([1, 0]), 1.0)


def test_normal_and_uniform_fill_in_place_from_the_generator():
    ln.manual_seed(3)
    t = ln.empty(20000)
    arr = t.array
    assert t.normal_(2.0, 0.5) is t and t.array is arr
    assert abs(t.numpy().mean() - 2.0) < 0.02 and abs(t.numpy().std() - 0.5) < 0.02
    t.uniform_(-1.0, 3.0)
    assert t.numpy().min() >= -1.0 and t.numpy().max() < 3.0 and abs(t.numpy().mean() - 1.0) < 0.05
    ln.manual_seed(3)
    again = ln.empty(5).normal_(2.0, 0.5).tolist()
    ln.manual_seed(3)
    assert ln.empty(5).normal_(2.0, 0.5).tolist() == again       # manual_seed repeats the draws
    with pytest.raises(TypeError, match="floating"):
        ln.zeros(3, dtype=ln.int64).normal_()


# ---- rules while the graph is recorded --------------------------------------------------------------

def test_a_leaf_that_requires_grad_is_refused_while_recording_as_in_pytorch(th):
    for t in (ln.ones(2, requires_grad=True), th.ones(2, requires_grad=True)):
        with pytest.raises(RuntimeError, match="leaf"):
            t += 1
        with pytest.raises(RuntimeError, match="leaf"):
            t.mul_(2)
    w = ln.ones(2, requires_grad=True)
    with ln.no_grad():
        w.mul_(3)
        w[0] = 5.0
    assert w.tolist() == [5.0, 3.0] and w.requires_grad and w.is_leaf


def test_in_place_ops_on_computed_tensors_are_recorded_with_pytorchs_gradients(th):
    def program(lib, a, b):
        h = a * 3
        h += b                       # a computed tensor, changed in place
        h *= a
        h.clamp_(max=8.0)
        h.sub_(b, alpha=2.0)
        out = lib.zeros(3, dtype=a.dtype)
        out += h * b                 # a tensor that did not require grad takes one that does
        return out.sum() + h.sum()

    (a, ta), (b, tb) = _pair(th, [0.5, -1.0, 2.0], grad=True), _pair(th, [1.0, 2.0, -0.5], grad=True)
    loss, tloss = program(ln, a, b), program(th, ta, tb)
    loss.backward()
    tloss.backward()
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-6)
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-6)


def test_recorded_in_place_ops_pass_a_float64_finite_difference_check():
    def f(a, b):
        h = a.tanh()
        h = h * 1.0                  # a fresh computed tensor, which no op has used yet
        h.mul_(b)
        h.add_(a, alpha=0.5)
        h.div_(b * b + 1)
        h.clamp_(-0.3, 0.4)
        return h

    ln.manual_seed(1)
    a, b = (ln.randn(4, 3, dtype=ln.float64, requires_grad=True) for _ in range(2))
    assert ln.autograd.gradcheck(f, [a, b])


def test_in_place_on_a_used_tensor_or_a_view_in_the_graph_is_refused_loudly():
    a = ln.ones(3, requires_grad=True)
    h = a * 2
    y = h.sigmoid()                  # h is an input of a recorded op: PyTorch's h changes under it
    with pytest.raises(RuntimeError, match="already an input"):
        h += 1
    v = (a * 2)[1:]                  # a view of another tensor
    with pytest.raises(RuntimeError, match="view"):
        v.mul_(2)
    with pytest.raises(RuntimeError, match="recorded"):
        ln.zeros(3)[0] = y[0]        # assignment of a value that requires grad would lose its gradient
    with ln.no_grad():
        h += 1                       # outside the graph: written in place
    assert h.tolist() == [3.0, 3.0, 3.0]


# ---- version counters: backward refuses arrays changed since the forward ----------------------------

def test_backward_raises_when_a_saved_array_was_changed_in_place_as_in_pytorch(th):
    for lib in (ln, th):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        x = lib.tensor([3.0, 4.0])
        loss = (w * x).sum()         # d/dw needs x; w itself is not read
        with lib.no_grad():
            w -= 0.1                 # an optimizer step between forward and backward: harmless here
        loss.backward()
        loss = (w * x).sum()
        x.add_(1)                    # the input d/dw reads changed in place
        with pytest.raises(RuntimeError, match="modified by an in.?place operation"):
            loss.backward()
        v = lib.tensor([3.0, 4.0], requires_grad=True)
        loss = (w * v).sum()         # now each factor is read for the other's gradient
        with lib.no_grad():
            w -= 0.1
        with pytest.raises(RuntimeError, match="modified by an in.?place operation"):
            loss.backward()
        loss = (w + x).sum()         # addition reads nothing: changing x is harmless, in both
        x.mul_(2)
        loss.backward()


def test_an_optimizer_step_between_forward_and_backward_is_caught():
    m = nn.Linear(3, 2)
    opt = ln.optim.SGD(m.parameters(), lr=0.1)
    x = ln.randn(4, 3, requires_grad=True)
    loss = m(x).sum()
    loss.backward(retain_graph=True)
    opt.step()                       # the weight the graph saved is now another
    with pytest.raises(RuntimeError, match=r"input 1 of Linear is at version \d+; expected version \d+"):
        loss.backward()


def test_views_share_a_version_counter():
    w = ln.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = ln.tensor([1.0, 1.0, 1.0])
    loss = (w * x).sum()
    x[1:].mul_(2)                    # through a view of the saved array
    with pytest.raises(RuntimeError, match="modified"):
        loss.backward()
    loss = (w * x).sum()
    x.data.zero_()                   # through .data, as in PyTorch
    with pytest.raises(RuntimeError, match="modified"):
        loss.backward()


# ---- inplace=True layers and functions ---------------------------------------------------------------

@pytest.mark.parametrize("name", ["ReLU", "ReLU6", "LeakyReLU", "ELU", "SiLU", "Hardtanh"])
def test_inplace_activation_layers_change_their_input_as_in_pytorch(th, name):
    a = np.array([[-2.0, -0.5, 0.5, 7.0]], np.float32)
    x, tx = ln.tensor(a), th.tensor(a)
    layer, tlayer = getattr(nn, name)(inplace=True), getattr(th.nn, name)(inplace=True)
    y, ty = layer(x), tlayer(tx)
    assert y is x and ty is tx
    np.testing.assert_allclose(x.numpy(), tx.numpy(), rtol=1e-6)
    (w, tw), (b, tb) = _pair(th, [[0.5, -1.0, 2.0, 1.5]], grad=True), _pair(th, [[1.0, 1.0, -3.0, 0.2]], grad=True)
    h, th_ = w * 3 + b, tw * 3 + tb                # a computed tensor: the layer is recorded in the graph
    out, tout = layer(h), tlayer(th_)
    assert out is h
    (out * out).sum().backward()
    (tout * tout).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-5)


def test_functional_inplace_forms_change_their_input():
    import lucidnet.nn.functional as F
    x = ln.tensor([-1.0, 2.0])
    assert F.relu(x, inplace=True) is x and x.tolist() == [0.0, 2.0]
    assert F.leaky_relu(x, 0.1, inplace=False) is not x
    ln.manual_seed(0)
    x = ln.ones(1000)
    assert F.dropout(x, 0.5, training=True, inplace=True) is x
    assert set(np.unique(x.numpy()).tolist()) == {0.0, 2.0}
    x = ln.ones(4)
    assert F.dropout(x, 0.5, training=False, inplace=True).tolist() == [1.0] * 4
    x = ln.ones(2, 6, 3, 3)
    assert nn.Dropout2d(0.5, inplace=True)(x) is x


def test_an_output_that_backward_reads_is_guarded_too(th):
    for lib in (ln, th):
        x = lib.tensor([0.5, 1.0], requires_grad=True)
        y = x.exp()                  # exp's backward reads its output
        with lib.no_grad():
            y.add_(1)
        with pytest.raises(RuntimeError, match="modified by an in.?place operation"):
            y.sum().backward()
        z = x * 2                    # a product's output is not read: changing it is harmless
        with lib.no_grad():
            z.add_(1)
        z.sum().backward()
