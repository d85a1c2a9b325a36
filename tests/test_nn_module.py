"""Module: registration, traversal names, modes, freezing, dtype, state_dict save/load and its errors, repr."""
import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest
from helpers import parity, torch

import lucidnet as ln
from lucidnet import nn


class Block(nn.Module):
    """A param, a sub-module, a param registered after it, and both kinds of buffer."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(ln.ones(3))
        self.fc = nn.Linear(3, 3)
        self.shift = nn.Parameter(ln.zeros(3))
        self.register_buffer("running", ln.zeros(3))
        self.register_buffer("count", ln.tensor(0))
        self.register_buffer("scratch", ln.zeros(2), persistent=False)
        self.note = "plain attribute"

    def forward(self, x):
        return self.fc(x * self.scale) + self.shift


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), Block())
        self.head = nn.Linear(3, 2)

    def forward(self, x):
        return self.head(self.body(x))


# ---- registration and traversal -------------------------------------------------------------------

def test_named_parameters_follow_pytorch_order_and_names():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "body.0.weight", "body.0.bias", "body.2.scale", "body.2.shift", "body.2.fc.weight", "body.2.fc.bias",
        "head.weight", "head.bias"]
    assert all(isinstance(p, nn.Parameter) for p in net.parameters())
    assert [n for n, _ in net.named_buffers()] == ["body.2.running", "body.2.count", "body.2.scratch"]
    assert [n for n, _ in net.named_children()] == ["body", "head"]
    assert [n for n, _ in net.named_modules()] == ["", "body", "body.0", "body.1", "body.2", "body.2.fc", "head"]
    assert list(net.modules())[0] is net and len(list(net.children())) == 2
    assert [n for n, _ in net.body[2].named_parameters(recurse=False)] == ["scale", "shift"]
    assert net.get_submodule("body.2.fc") is net.body[2].fc
    assert net.get_parameter("body.2.fc.bias") is net.body[2].fc.bias
    with pytest.raises(AttributeError, match="no sub-module 'nope'"):
        net.get_submodule("body.nope")


@parity
def test_names_match_pytorch_for_the_same_structure():
    th = torch()

    class TBlock(th.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = th.nn.Parameter(th.ones(3))
            self.fc = th.nn.Linear(3, 3)
            self.shift = th.nn.Parameter(th.zeros(3))
            self.register_buffer("running", th.zeros(3))
            self.register_buffer("count", th.tensor(0))
            self.register_buffer("scratch", th.zeros(2), persistent=False)

    tnet = th.nn.Sequential(OrderedDict(body=th.nn.Sequential(th.nn.Linear(4, 3), th.nn.ReLU(), TBlock()),
                                        head=th.nn.Linear(3, 2)))
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [n for n, _ in tnet.named_parameters()]
    assert [n for n, _ in net.named_buffers()] == [n for n, _ in tnet.named_buffers()]
    assert list(net.state_dict()) == list(tnet.state_dict())
    assert [n for n, _ in net.named_modules()] == [n for n, _ in tnet.named_modules()]


def test_attribute_assignment_moves_between_kinds_and_del_unregisters():
    m = nn.Module()
    m.a = nn.Parameter(ln.ones(2))
    m.a = nn.Linear(2, 2)  # a parameter name reused for a module
    assert "a" not in m._parameters and m._modules["a"] is m.a
    assert [n for n, _ in m.named_parameters()] == ["a.weight", "a.bias"]
    del m.a
    assert list(m.parameters()) == [] and not hasattr(m, "a")
    m.register_parameter("bias", None)
    assert m.bias is None and list(m.named_parameters()) == []
    m.bias = nn.Parameter(ln.zeros(1))
    assert [n for n, _ in m.named_parameters()] == ["bias"]
    m.plain = ln.zeros(2)  # a plain tensor is an attribute, not a parameter or buffer
    assert list(m.named_buffers()) == [] and "plain" not in m.state_dict()


def test_registration_errors():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign Tensor as parameter 'weight'"):
        m.weight = ln.zeros(2, 2)
    with pytest.raises(KeyError, match="must not contain"):
        m.register_buffer("a.b", ln.zeros(1))
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("forward", ln.zeros(1))
    with pytest.raises(TypeError, match="Tensor or None expected"):
        m.register_buffer("buf", np.zeros(1))

    class Bad(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\) first in Bad.__init__"):
        Bad()


def test_shared_parameter_listed_once_but_saved_under_each_name():
    a = nn.Linear(3, 3)
    model = nn.Sequential(a, nn.ReLU(), a)
    assert len(list(model.parameters())) == 2
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    b = nn.Linear(3, 3)
    tied = nn.Sequential(nn.Linear(3, 3), b)
    tied[0].weight = b.weight
    assert len(list(tied.parameters())) == 3


def test_call_runs_forward_and_missing_forward_is_a_clear_error():
    net = Net()
    x = ln.randn(5, 4)
    np.testing.assert_array_equal(net(x).numpy(), net.forward(x).numpy())
    with pytest.raises(NotImplementedError, match="Module has no forward"):
        nn.Module()(x)


def test_train_eval_propagate():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.body.eval()
    assert net.training and not net.body[2].training
    with pytest.raises(ValueError, match="bool"):
        net.train("no")


# ---- gradients: freezing, zero_grad ---------------------------------------------------------------

def test_requires_grad_false_freezes_parameters():
    net = Net()
    net.body.requires_grad_(False)
    net(ln.randn(5, 4)).sum().backward()
    assert all(p.grad is None for p in net.body.parameters())
    assert all(p.grad is not None and p.grad.dtype == np.float32 for p in net.head.parameters())
    net.requires_grad_(False)
    with pytest.raises(RuntimeError, match="does not require grad"):
        net(ln.randn(5, 4)).sum().backward()
    net.requires_grad_(True)
    net(ln.randn(5, 4)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_zero_grad_to_none_or_in_place():
    net = Net()
    net(ln.randn(5, 4)).sum().backward()
    grads = [p.grad for p in net.parameters()]
    net.zero_grad(set_to_none=False)
    assert all(p.grad is g and not g.any() for p, g in zip(net.parameters(), grads))
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_apply_visits_children_first():
    net = Net()
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "ReLU", "Linear", "Block", "Sequential", "Linear", "Net"]

    def init_zero(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.weight)

    net.apply(init_zero)
    assert not net.head.weight.data.any() and not net.body[0].weight.data.any()


# ---- dtype ----------------------------------------------------------------------------------------

def test_to_double_and_back_keeps_parameter_objects():
    net = Net()
    params = list(net.parameters())
    net(ln.randn(5, 4)).sum().backward()
    assert net.double() is net
    assert [id(p) for p in net.parameters()] == [id(p) for p in params]
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in net.parameters())
    assert net.body[2].running.dtype == np.float64
    assert net.body[2].count.dtype == np.int64  # integer buffers keep their dtype
    assert net(ln.randn(5, 4, dtype=ln.float64)).dtype == np.float64
    net.float()
    assert all(p.dtype == np.float32 for p in net.parameters())
    assert net.to("cpu") is net
    with pytest.raises(TypeError, match="floating dtype"):
        net.to(ln.int64)


def test_float64_layer_from_dtype_argument():
    fc = nn.Linear(3, 2, dtype=ln.float64)
    assert fc.weight.dtype == np.float64 and fc.bias.dtype == np.float64
    assert nn.Linear(3, 2).weight.dtype == np.float32


# ---- state_dict -----------------------------------------------------------------------------------

def test_state_dict_holds_detached_tensors_sharing_the_modules_memory_as_pytorchs():
    net = Net()
    sd = net.state_dict()
    assert isinstance(sd, OrderedDict)
    assert list(sd) == ["body.0.weight", "body.0.bias", "body.2.scale", "body.2.shift", "body.2.running",
                        "body.2.count", "body.2.fc.weight", "body.2.fc.bias", "head.weight", "head.bias"]
    assert all(isinstance(v, ln.Tensor) and not v.requires_grad for v in sd.values())
    sd["head.weight"][...] = 123.0  # PyTorch's state dict shares the parameters' memory: the change is the model's
    sd["head.bias"].mul_(0.0)
    assert (net.head.weight.data == 123.0).all() and (net.head.bias.data == 0.0).all()
    snapshot = copy.deepcopy(net.state_dict())  # PyTorch's way to keep the weights as they are now
    net.head.weight.data.fill_(1.0)
    assert (snapshot["head.weight"] == 123.0).all() and (net.state_dict()["head.weight"] == 1.0).all()
    assert net.state_dict(keep_vars=True)["head.weight"] is net.head.weight


def test_state_dict_values_behave_as_pytorchs():
    import torch
    ours, theirs = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    for sd in (ours.state_dict(), theirs.state_dict()):
        w = sd["weight"]
        kept = w.clone()
        w.add_(1.0)
        assert (w == kept + 1.0).all() and not w.requires_grad
    assert (ours.weight.data == ours.state_dict()["weight"]).all()
    assert (theirs.weight.data == theirs.state_dict()["weight"]).all()


def test_state_dict_round_trip_gives_identical_outputs():
    ln.manual_seed(1)
    a = Net()
    a.body[2].running.data[:] = [1.0, 2.0, 3.0]
    ln.manual_seed(2)
    b = Net()
    x = ln.randn(6, 4)
    assert not np.array_equal(a(x).numpy(), b(x).numpy())
    weight_array = b.head.weight.array
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
    np.testing.assert_array_equal(b.body[2].running.numpy(), [1.0, 2.0, 3.0])
    assert b.head.weight.array is weight_array  # loaded in place: an optimizer's references stay valid
    # lucidnet tensors are accepted as values too
    c = Net()
    c.load_state_dict(a.state_dict(keep_vars=True))
    np.testing.assert_array_equal(a(x).numpy(), c(x).numpy())


def test_load_casts_to_the_models_dtype():
    a = nn.Linear(3, 2)
    sd64 = {k: v.astype(np.float64) + 0.5 for k, v in a.state_dict().items()}
    a.load_state_dict(sd64)
    assert a.weight.dtype == np.float32 and a.bias.dtype == np.float32
    np.testing.assert_allclose(a.weight.numpy(), sd64["weight"], rtol=1e-6)
    with pytest.raises(RuntimeError, match="dtype mismatch for bias"):
        a.load_state_dict({"weight": sd64["weight"], "bias": np.array(["a", "b"])})


def test_load_errors_name_missing_unexpected_and_shapes():
    net = nn.Sequential(nn.Linear(784, 10))
    good = net.state_dict()
    before = good["0.weight"].clone()
    with pytest.raises(RuntimeError) as e:
        net.load_state_dict({"0.weight": good["0.weight"]})
    assert 'Missing key(s) in state_dict: "0.bias".' in str(e.value) and "Sequential" in str(e.value)

    with pytest.raises(RuntimeError) as e:
        net.load_state_dict({**good, "0.extra": np.zeros(1), "1.weight": np.zeros(1)})
    assert 'Unexpected key(s) in state_dict: "0.extra", "1.weight".' in str(e.value)

    bad = {"0.weight": np.zeros((10, 785), np.float32), "0.bias": np.zeros(10, np.float32)}
    with pytest.raises(RuntimeError) as e:
        net.load_state_dict(bad)
    assert ("size mismatch for 0.weight: expected shape (10, 784) (the model), found (10, 785) in the state_dict."
            in str(e.value))
    np.testing.assert_array_equal(net[0].weight.numpy(), before)  # nothing was loaded: bias stayed too
    assert np.array_equal(net[0].bias.numpy(), good["0.bias"])

    with pytest.raises(RuntimeError, match="size mismatch"):  # shapes are checked even when not strict
        net.load_state_dict(bad, strict=False)
    with pytest.raises(TypeError, match="mapping"):
        net.load_state_dict([1, 2])


def test_load_non_strict_returns_missing_and_unexpected():
    net = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 2))
    src = nn.Sequential(nn.Linear(3, 2))
    res = net.load_state_dict({**src.state_dict(), "extra": np.ones(1)}, strict=False)
    missing, unexpected = res
    assert missing == ["1.weight", "1.bias"] and unexpected == ["extra"]
    assert res.missing_keys == missing and res.unexpected_keys == unexpected
    np.testing.assert_array_equal(net[0].weight.numpy(), src[0].weight.numpy())


@parity
def test_load_pytorch_state_dict_matches_pytorch_outputs():
    th = torch()
    tmodel = th.nn.Sequential(th.nn.Linear(20, 16), th.nn.Tanh(), th.nn.Dropout(0.3), th.nn.Linear(16, 16),
                              th.nn.GELU(), th.nn.Linear(16, 5), th.nn.LogSoftmax(dim=1))
    model = nn.Sequential(nn.Linear(20, 16), nn.Tanh(), nn.Dropout(0.3), nn.Linear(16, 16), nn.GELU(),
                          nn.Linear(16, 5), nn.LogSoftmax(dim=1))
    model.load_state_dict({k: v.numpy() for k, v in tmodel.state_dict().items()})
    tmodel.eval()
    model.eval()
    x = np.random.default_rng(3).standard_normal((8, 20)).astype(np.float32)
    y = model(ln.tensor(x))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), tmodel(th.tensor(x)).detach().numpy(), atol=1e-5, rtol=1e-5)
    # and back: lucidnet's state_dict loads into PyTorch
    tmodel2 = copy.deepcopy(tmodel)
    for p in tmodel2.parameters():
        p.data.zero_()
    tmodel2.load_state_dict({k: th.tensor(v.numpy()) for k, v in model.state_dict().items()})
    np.testing.assert_allclose(tmodel2(th.tensor(x)).detach().numpy(), y.numpy(), atol=1e-5, rtol=1e-5)


def test_deepcopy_and_pickle_give_independent_equal_models():
    net = Net()
    x = ln.randn(3, 4)
    for clone in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        np.testing.assert_array_equal(clone(x).numpy(), net(x).numpy())
        assert isinstance(clone.head.weight, nn.Parameter) and clone.head.weight.requires_grad
        assert clone.head.weight is clone.head._parameters["weight"]  # registry and attribute stay one object
        clone.head.weight.data[...] = 0
        assert net.head.weight.data.any()


# ---- Parameter ------------------------------------------------------------------------------------

def test_parameter_keeps_dtype_and_shares_data():
    t = ln.randn(2, 3, dtype=ln.float64)
    p = nn.Parameter(t)
    assert p.dtype == np.float64 and p.requires_grad and p.is_leaf and p.array is t.array
    assert nn.Parameter([1.0, 2.0]).dtype == np.float32
    arr = np.zeros(3, np.float32)
    assert nn.Parameter(arr).array is arr
    assert not nn.Parameter(ln.zeros(2), requires_grad=False).requires_grad
    assert type(p * 2) is ln.Tensor  # ops on a parameter give plain tensors
    with pytest.raises(TypeError, match="floating-point"):
        nn.Parameter(ln.tensor([1, 2]))
    assert repr(nn.Parameter(ln.ones(2))).startswith("Parameter containing:\ntensor([1., 1.]")


# ---- repr ----------------------------------------------------------------------------------------

def test_repr_nests_like_pytorch():
    net = Net()
    assert repr(net) == (
        "Net(\n"
        "  (body): Sequential(\n"
        "    (0): Linear(in_features=4, out_features=3, bias=True)\n"
        "    (1): ReLU()\n"
        "    (2): Block(\n"
        "      (fc): Linear(in_features=3, out_features=3, bias=True)\n"
        "    )\n"
        "  )\n"
        "  (head): Linear(in_features=3, out_features=2, bias=True)\n"
        ")")

    class WithExtra(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Identity()

        def extra_repr(self):
            return "k=3"

    assert repr(WithExtra()) == "WithExtra(\n  k=3\n  (fc): Identity()\n)"


@parity
def test_repr_equals_pytorch_repr():
    th = torch()
    mk = lambda n: n.Sequential(n.Linear(784, 128), n.ReLU(), n.Dropout(0.2), n.Flatten(), n.GELU(),  # noqa: E731
                                n.GELU(approximate="tanh"), n.Softmax(dim=1), n.LogSoftmax(dim=1),
                                n.LeakyReLU(0.2), n.ELU(alpha=0.5), n.Softplus(beta=2.0), n.SiLU(), n.Identity(),
                                n.Sigmoid(), n.Tanh(), n.ModuleList([n.Linear(2, 2, bias=False)]),
                                n.ModuleDict({"a": n.ReLU()}), n.Linear(128, 10))
    assert repr(mk(nn)) == repr(mk(th.nn))


def test_inference_eval_no_grad_and_restores_the_mode_even_on_error():
    model = ln.nn.Sequential(ln.nn.Linear(3, 2), ln.nn.Dropout(0.5))
    x = ln.ones(4, 3)
    with ln.inference(model) as m:
        assert m is model and not model.training and not model[1].training
        out = model(x)
        assert not out.requires_grad and not ln.is_grad_enabled()
    assert model.training and ln.is_grad_enabled()
    model.eval()
    with ln.nn.inference(model):
        pass
    assert not model.training  # a model in eval mode stays there
    model.train()
    with pytest.raises(RuntimeError, match="boom"):
        with ln.inference(model):
            raise RuntimeError("boom")
    assert model.training and ln.is_grad_enabled()
    with ln.inference(lambda t: t * 2):  # a plain callable: only no_grad
        assert not ln.is_grad_enabled()
