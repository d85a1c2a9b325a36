"""Where PyTorch shares memory, lucidnet shares it too: a PyTorch program that changes a tensor in place through a
view, ``.data``, a state dict or a NumPy array (``import lucidnet as torch``) changes the same things. Each case runs
on both libraries and must give the same answer (an in-place update that silently misses is the worst kind of bug)."""
import warnings

import numpy as np
import pytest
from helpers import torch

import lucidnet as ln


def _base(T):
    return T.arange(12, dtype=T.float32).reshape(3, 4)


def _through(view, write=lambda v: v.fill_(100.0)):
    """Whether writing through ``view(x)`` changes ``x``."""
    def case(T):
        x = _base(T)
        write(view(x))
        return bool((x == 100.0).any())
    return case


def _from_numpy(T):
    a = np.zeros(3, np.float32)
    T.from_numpy(a).add_(1.0)
    return a.tolist()


def _as_tensor(T):
    a = np.zeros(3, np.float32)
    T.as_tensor(a).add_(1.0)
    return a.tolist()


def _tensor_copies(T):
    a = np.zeros(3, np.float32)
    T.tensor(a).add_(1.0)
    return a.tolist()


def _numpy_shares(T):
    t = T.zeros(3)
    t.numpy()[0] = 1.0
    return t.tolist()


def _param_data(T):
    lin = T.nn.Linear(2, 2)
    lin.weight.data.fill_(3.0)
    return float(lin.weight.detach()[0, 0])


def _parameter_of_tensor(T):
    t = T.zeros(3)
    p = T.nn.Parameter(t)
    with T.no_grad():
        p.add_(1.0)
    return t.tolist()


def _buffer(T):
    m, t = T.nn.Module(), T.zeros(3)
    m.register_buffer("b", t)
    m.b.add_(1.0)
    return t.tolist()


def _from_pretrained(T):
    w = T.zeros(4, 2)
    e = T.nn.Embedding.from_pretrained(w)
    with T.no_grad():
        e.weight.add_(1.0)
    return w.tolist()


def _data_assignment(T):
    lin, w = T.nn.Linear(2, 2), T.zeros(2, 2)
    lin.weight.data = w
    w.add_(1.0)
    return float(lin.weight.detach()[0, 0])


def _state_dict_value(T):
    lin = T.nn.Linear(2, 2)
    lin.state_dict()["weight"].fill_(5.0)
    return float(lin.weight.detach()[1, 1])


def _optimizer_state(T):
    lin = T.nn.Linear(1, 1)
    opt = T.optim.SGD(lin.parameters(), lr=0.1, momentum=0.9)
    lin(T.ones(1, 1)).sum().backward()
    opt.step()
    opt.state_dict()["state"][0]["momentum_buffer"].mul_(0.0)
    return float(opt.state_dict()["state"][0]["momentum_buffer"].sum())


def _double_copies(T):
    t = T.zeros(2)
    t.double().add_(1.0)
    return t.tolist()


CASES = {
    "view": _through(lambda x: x.view(-1)), "reshape": _through(lambda x: x.reshape(-1)),
    "flatten": _through(lambda x: x.flatten()), "row": _through(lambda x: x[0]), "slice": _through(lambda x: x[:, 1:3]),
    "t": _through(lambda x: x.t()), "T": _through(lambda x: x.T), "transpose": _through(lambda x: x.transpose(0, 1)),
    "permute": _through(lambda x: x.permute(1, 0)), "unsqueeze": _through(lambda x: x.unsqueeze(0)),
    "squeeze": _through(lambda x: x.unsqueeze(0).squeeze(0)), "narrow": _through(lambda x: x.narrow(1, 0, 2)),
    "select": _through(lambda x: x.select(0, 1)), "unbind": _through(lambda x: x.unbind(0)[1]),
    "chunk": _through(lambda x: x.chunk(2, dim=1)[0]), "split": _through(lambda x: x.split(2, dim=1)[1]),
    "movedim": _through(lambda x: x.movedim(0, 1)), "swapaxes": _through(lambda x: x.swapaxes(0, 1)),
    "unflatten": _through(lambda x: x.flatten().unflatten(0, (3, 4))), "detach": _through(lambda x: x.detach()),
    "contiguous": _through(lambda x: x.contiguous()), "to same dtype": _through(lambda x: x.to(x.dtype)),
    "float()": _through(lambda x: x.float()), "cpu()": _through(lambda x: x.cpu()), "data": _through(lambda x: x.data),
    "view_as": _through(lambda x: x.view_as(x)), "clone": _through(lambda x: x.clone()),
    "setitem on a row": _through(lambda x: x[1], lambda v: v.__setitem__(0, 100.0)),
    "from_numpy": _from_numpy, "as_tensor": _as_tensor, "tensor copies": _tensor_copies, "numpy()": _numpy_shares,
    "param.data": _param_data, "Parameter(t)": _parameter_of_tensor, "register_buffer": _buffer,
    "Embedding.from_pretrained": _from_pretrained, "param.data = t": _data_assignment,
    "state_dict value": _state_dict_value, "optimizer state": _optimizer_state, "double() copies": _double_copies,
}


@pytest.mark.parametrize("name", list(CASES))
def test_memory_is_shared_where_pytorch_shares_it(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's note on converting a tensor that requires grad
        assert CASES[name](ln) == CASES[name](torch())


@pytest.mark.parametrize("op", ["add_", "mul_", "clamp_"])
def test_changing_an_expanded_tensor_in_place_is_refused_as_in_pytorch(op):
    for T in (ln, torch()):
        e = T.zeros(1, 3).expand(2, 3)
        with pytest.raises(RuntimeError, match="more than one element of the written-to tensor refers to a single "
                                               "memory location"):
            getattr(e, op)(2.0)


def test_writes_into_memory_lucidnet_cannot_write_are_refused_clearly():
    e = ln.zeros(1, 3).expand(2, 3)
    with pytest.raises(RuntimeError, match=r"__setitem__: the tensor is an expand\(\) or broadcast view"):
        e[0] = 5.0  # PyTorch writes row 0 (distinct memory) through the view; lucidnet refuses, loudly
    for op in ("fill_", "zero_"):  # PyTorch writes one value through the view; lucidnet refuses, loudly
        with pytest.raises(RuntimeError, match=r"fill_: the tensor is an expand\(\) or broadcast view"):  # zero_ fills
            getattr(e, op)(*([] if op == "zero_" else [1.0]))
    a = np.zeros(3, np.float32)
    a.flags.writeable = False
    t = ln.from_numpy(a)
    with pytest.raises(RuntimeError, match="add_: the tensor's memory is a read-only NumPy array"):
        t.add_(1.0)
    with pytest.raises(RuntimeError, match="__setitem__: the tensor's memory is a read-only NumPy array"):
        t[0] = 1.0
    assert a.tolist() == [0.0, 0.0, 0.0]
