"""PyTorch parity of RNN (tanh, relu), LSTM, GRU and their cells: outputs, final states and the gradients
w.r.t. the input, the initial states and every parameter; stacked, bidirectional, batch_first, and with
lengths (PyTorch side: pack_padded_sequence(enforce_sorted=False) / pad_packed_sequence). State dicts load
in both directions."""
import numpy as np
import pytest

import lucidnet as ln
from helpers import parity, rand
from lucidnet import nn
from lucidnet import kernels as _kernels

KINDS = [("RNN", {"nonlinearity": "tanh"}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("GRU", {})]
CONFIGS = [{}, {"batch_first": True}, {"num_layers": 2, "bidirectional": True},
           {"num_layers": 2, "bidirectional": True, "batch_first": True, "bias": False}]
T, B, I, H = 5, 4, 3, 4


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _close(a, b, what):
    np.testing.assert_allclose(a, b, atol=2e-5, rtol=1e-4, err_msg=what)


def _compare(torch, kind, kw, lengths=None, hx=True):
    m = getattr(nn, kind)(I, H, **kw)
    ref = getattr(torch.nn, kind)(I, H, **kw)
    ref.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})  # lucidnet -> PyTorch
    bf = kw.get("batch_first", False)
    n = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    arrays = {"x": rand(*((B, T, I) if bf else (T, B, I)), seed=1, dtype=np.float32)}
    if hx:
        arrays["h0"] = rand(n, B, H, seed=2, dtype=np.float32)
        if kind == "LSTM":
            arrays["c0"] = rand(n, B, H, seed=3, dtype=np.float32)
    ls = {k: ln.tensor(v, requires_grad=True) for k, v in arrays.items()}
    ts = {k: torch.tensor(v, requires_grad=True) for k, v in arrays.items()}

    def states(d):
        if not hx:
            return None
        return (d["h0"], d["c0"]) if kind == "LSTM" else d["h0"]

    out, st = m(ls["x"], states(ls), lengths=lengths)
    if lengths is None:
        out_t, st_t = ref(ts["x"], states(ts))
    else:
        pack = torch.nn.utils.rnn.pack_padded_sequence(ts["x"], torch.tensor(lengths), batch_first=bf,
                                                       enforce_sorted=False)
        out_t, st_t = ref(pack, states(ts))
        out_t, _ = torch.nn.utils.rnn.pad_packed_sequence(out_t, batch_first=bf, total_length=T)
    outs = [out, *st] if kind == "LSTM" else [out, st]
    outs_t = [out_t, *st_t] if kind == "LSTM" else [out_t, st_t]
    rng = np.random.default_rng(7)
    loss, loss_t = 0, 0
    for name, a, b in zip(("output", "h_n", "c_n"), outs, outs_t):
        assert a.dtype == np.float32 and tuple(a.shape) == tuple(b.shape), (name, a.shape, b.shape)
        _close(a.numpy(), b.detach().numpy(), name)
        w = rng.standard_normal(a.shape).astype(np.float32)
        loss = loss + (a * ln.tensor(w)).sum()
        loss_t = loss_t + (b * torch.tensor(w)).sum()
    loss.backward()
    loss_t.backward()
    for k in arrays:
        assert ls[k].grad.dtype == np.float32
        _close(ls[k].grad, ts[k].grad.numpy(), f"grad {k}")
    for name, p in ref.named_parameters():
        g = m.get_parameter(name).grad
        assert g.dtype == np.float32
        _close(g, p.grad.numpy(), f"grad {name}")


@parity
@pytest.mark.parametrize("kind,extra", KINDS, ids=["rnn_tanh", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("cfg", CONFIGS, ids=["plain", "batch_first", "2layer_bidir", "2layer_bidir_bf_nobias"])
def test_parity(torch, kind, extra, cfg):
    _compare(torch, kind, {**cfg, **extra})


@parity
@pytest.mark.parametrize("kind,extra", KINDS, ids=["rnn_tanh", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("cfg", CONFIGS[1:], ids=["batch_first", "2layer_bidir", "2layer_bidir_bf_nobias"])
def test_parity_with_lengths(torch, kind, extra, cfg):
    _compare(torch, kind, {**cfg, **extra}, lengths=[5, 2, 4, 1])
    _compare(torch, kind, {**cfg, **extra}, lengths=[3, 1, 2, 3], hx=False)  # all shorter than the input


@parity
@pytest.mark.parametrize("numba,chain", [(False, False), (True, False), (True, True)],
                         ids=["numpy", "numba", "numba_in_chain"])
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_parity_both_kernel_paths(torch, kind, numba, chain, monkeypatch):
    """numba_in_chain: the compiled loops also do the input projection and gradient step by step (from
    ``CHAIN_ROWS`` batch rows up; this batch of 4 gets one GEMM over all steps otherwise)."""
    if numba and not _kernels.numba_available():
        pytest.skip("numba is not installed")
    if chain:
        monkeypatch.setattr("lucidnet.fused.rnn.CHAIN_ROWS", 1)
    previous = _kernels.set_numba(numba)
    try:
        _compare(torch, kind, {"num_layers": 2, "bidirectional": True}, lengths=[5, 2, 4, 1])
    finally:
        _kernels.set_numba(previous)


@parity
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_torch_state_dict_loads(torch, kind):
    ref = getattr(torch.nn, kind)(I, H, num_layers=2, bidirectional=True)
    m = getattr(nn, kind)(I, H, num_layers=2, bidirectional=True)
    m.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})  # PyTorch -> lucidnet
    x = rand(T, B, I, seed=4, dtype=np.float32)
    out, _ = m(ln.tensor(x))
    out_t, _ = ref(torch.tensor(x))
    _close(out.numpy(), out_t.detach().numpy(), "output")
    assert list(m.state_dict()) == list(ref.state_dict())


@parity
@pytest.mark.parametrize("kind,extra", [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("LSTMCell", {}),
                                        ("GRUCell", {})])
def test_cell_parity(torch, kind, extra):
    m = getattr(nn, kind)(I, H, **extra)
    ref = getattr(torch.nn, kind)(I, H, **extra)
    ref.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    arrays = [rand(B, I, seed=1, dtype=np.float32), rand(B, H, seed=2, dtype=np.float32),
              rand(B, H, seed=3, dtype=np.float32)]
    ls = [ln.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    lstm = kind == "LSTMCell"
    out = m(ls[0], (ls[1], ls[2]) if lstm else ls[1])
    out_t = ref(ts[0], (ts[1], ts[2]) if lstm else ts[1])
    outs, outs_t = (list(out), list(out_t)) if lstm else ([out], [out_t])
    w = [rand(B, H, seed=9 + i, dtype=np.float32) for i in range(len(outs))]
    sum((o * ln.tensor(v)).sum() for o, v in zip(outs, w)).backward()
    sum((o * torch.tensor(v)).sum() for o, v in zip(outs_t, w)).backward()
    for a, b in zip(outs, outs_t):
        _close(a.numpy(), b.detach().numpy(), "output")
    for i in range(3 if lstm else 2):
        _close(ls[i].grad, ts[i].grad.numpy(), f"grad input {i}")
    for name, p in ref.named_parameters():
        _close(m.get_parameter(name).grad, p.grad.numpy(), f"grad {name}")
