"""RNN (tanh, relu), LSTM, GRU and their cells: float64 gradient checks of the fused layer node (one and two
directions, lengths, initial states, stacked layers), variable-length semantics (padding never leaks),
the numba step kernels against the NumPy ones, dropout between layers, state-dict names, errors.
PyTorch parity is in test_rnn_parity.py."""
import numpy as np
import pytest

import lucidnet as ln
from helpers import check_grad, rand
from lucidnet import nn
from lucidnet import kernels as _kernels
from lucidnet.fused.rnn import MODES, rnn_layer

T, B, I, H = 4, 3, 2, 3
LENGTHS = np.array([4, 1, 3])
ALL_MODES = ["rnn_tanh", "rnn_relu", "lstm", "gru"]



def _weights(mode, dirs, in_size=I, seed=10, scale=0.6):
    g = MODES[mode] * H
    out = []
    for d in range(dirs):
        s = seed + 4 * d
        out += [rand(g, in_size, seed=s) * scale, rand(g, H, seed=s + 1) * scale, rand(g, seed=s + 2) * 0.3,
                rand(g, seed=s + 3) * 0.3]
    return out


def _layer_fn(mode, dirs, lengths=None, batch_first=False, with_state=True):
    lens = None if lengths is None else np.asarray(lengths, dtype=np.int64)

    def fn(x, *rest):
        k = 0
        h0 = c0 = None
        if with_state:
            h0, k = rest[0], 1
            if mode == "lstm":
                c0, k = rest[1], 2
        y, h, c = rnn_layer(mode, x, h0, c0, list(rest[k:]), lens, batch_first)
        return (y, h) if c is None else (y, h, c)
    return fn


def _inputs(mode, dirs, batch_first=False, with_state=True):
    x = rand(B, T, I, seed=1) if batch_first else rand(T, B, I, seed=1)
    states = [rand(dirs, B, H, seed=2) * 0.5] if with_state else []
    if with_state and mode == "lstm":
        states.append(rand(dirs, B, H, seed=3) * 0.5)
    return [x, *states, *_weights(mode, dirs)]


# ---- float64 gradient checks of the layer node ---------------------------------------------------------------

@pytest.mark.parametrize("mode", ALL_MODES)
@pytest.mark.parametrize("dirs,lengths,batch_first", [(1, None, False), (2, LENGTHS, True), (1, LENGTHS, False)])
def test_layer_grad(mode, dirs, lengths, batch_first):
    check_grad(_layer_fn(mode, dirs, lengths, batch_first), *_inputs(mode, dirs, batch_first))


@pytest.mark.parametrize("mode", ["lstm", "gru"])
def test_layer_grad_without_initial_state_or_bias(mode):
    ins = _inputs(mode, 2, with_state=False)
    ins[3] = ins[4] = ins[7] = ins[8] = None  # no biases: the kernels add zeros
    fn = _layer_fn(mode, 2, LENGTHS, with_state=False)
    check_grad(fn, *ins)


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh"])
def test_grad_through_final_state_only(mode):
    """Only h_n (or c_n) reaches the loss: the side output alone drives the layer's backward."""
    fn = _layer_fn(mode, 2, LENGTHS)
    check_grad(lambda *a: fn(*a)[1], *_inputs(mode, 2))
    if mode == "lstm":
        check_grad(lambda *a: fn(*a)[2], *_inputs(mode, 2))


@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU, nn.RNN])
def test_module_grad_two_layers_bidirectional(cls):
    ln.manual_seed(3)
    m = cls(2, 2, num_layers=2, bidirectional=True, batch_first=True, dtype=ln.float64)
    x = ln.tensor(rand(3, 4, 2, seed=4), dtype=ln.float64, requires_grad=True)
    h0 = ln.tensor(rand(4, 3, 2, seed=5) * 0.5, dtype=ln.float64, requires_grad=True)
    hx = (h0, ln.tensor(rand(4, 3, 2, seed=6) * 0.5, dtype=ln.float64, requires_grad=True)) if cls is nn.LSTM else h0
    states = list(hx) if cls is nn.LSTM else [hx]

    def fn(x, *_):
        out, st = m(x, tuple(states) if cls is nn.LSTM else states[0], lengths=[4, 2, 3])
        return (out, *st) if cls is nn.LSTM else (out, st)
    assert ln.autograd.gradcheck(fn, [x, *states, *m.parameters()])


@pytest.mark.parametrize("cls", [nn.RNNCell, nn.LSTMCell, nn.GRUCell])
def test_cell_grad(cls):
    cell = cls(3, 2, dtype=ln.float64)
    x = ln.tensor(rand(4, 3, seed=1), dtype=ln.float64, requires_grad=True)
    h = ln.tensor(rand(4, 2, seed=2), dtype=ln.float64, requires_grad=True)
    hx = (h, ln.tensor(rand(4, 2, seed=3), dtype=ln.float64, requires_grad=True)) if cls is nn.LSTMCell else h
    states = list(hx) if cls is nn.LSTMCell else [hx]
    assert ln.autograd.gradcheck(lambda x, *_: cell(x, hx), [x, *states, *cell.parameters()])


# ---- variable lengths: padding never leaks -------------------------------------------------------------------

@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU, nn.RNN])
def test_padding_does_not_leak(cls, backend):
    ln.manual_seed(1)
    m = cls(I, H, bidirectional=True, batch_first=True)
    x = rand(B, T, I, seed=7, dtype=np.float32)
    x2 = x.copy()
    for b, n in enumerate(LENGTHS):
        x2[b, n:] = 100.0  # different padding
    outs = []
    for arr in (x, x2):
        xt = ln.tensor(arr, requires_grad=True)
        out, st = m(xt, lengths=LENGTHS)
        h = st[0] if cls is nn.LSTM else st
        (out.sum() + h.sum()).backward()
        outs.append((out.numpy(), h.numpy(), xt.grad))
    (o1, h1, g1), (o2, h2, g2) = outs
    np.testing.assert_array_equal(o1, o2)
    np.testing.assert_array_equal(h1, h2)
    np.testing.assert_array_equal(g1, g2)
    for b, n in enumerate(LENGTHS):
        assert not o1[b, n:].any() and not g1[b, n:].any()  # zero outputs and no gradient at padding
        assert o1[b, :n].all()


@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU, nn.RNN])
def test_final_states_are_those_of_each_sequence_alone(cls, backend):
    ln.manual_seed(2)
    m = cls(I, H, num_layers=2, bidirectional=True)
    x = rand(T, B, I, seed=8, dtype=np.float32)
    out, st = m(ln.tensor(x), lengths=LENGTHS)
    for b, n in enumerate(LENGTHS):
        out_b, st_b = m(ln.tensor(x[:n, b:b + 1]))
        np.testing.assert_allclose(out.numpy()[:n, b:b + 1], out_b.numpy(), atol=1e-6)
        for s, s_b in zip(st if cls is nn.LSTM else [st], st_b if cls is nn.LSTM else [st_b]):
            np.testing.assert_allclose(s.numpy()[:, b:b + 1], s_b.numpy(), atol=1e-6)


def test_zero_length_keeps_the_initial_state():
    m = nn.GRU(I, H)
    h0 = ln.tensor(rand(1, B, H, seed=3, dtype=np.float32))
    out, h = m(ln.randn(T, B, I), h0, lengths=[0, 2, 4])
    np.testing.assert_array_equal(h.numpy()[0, 0], h0.numpy()[0, 0])
    assert not out.numpy()[:, 0].any()


# ---- the numba kernels against the NumPy ones ---------------------------------------------------------------

def test_numba_tanh_approximation():
    if not _kernels.numba_available():
        pytest.skip("numba is not installed")
    from lucidnet.kernels import rnn_numba as _rnn_numba
    x = np.concatenate([np.linspace(-12, 12, 200001), [0.0, 1e-30, -1e-8, 1e4, -1e4]]).astype(np.float32)
    out = np.empty_like(x)
    _rnn_numba.tanh(x, out)
    assert np.abs(out.astype(np.float64) - np.tanh(x.astype(np.float64))).max() < 5e-7
    assert np.abs(out).max() <= 1.0
    nan = np.array([np.nan], np.float32)
    _rnn_numba.tanh(nan, nan)
    assert np.isnan(nan[0])


@pytest.mark.parametrize("chain", [False, True], ids=["one_gemm", "in_chain"])
@pytest.mark.parametrize("mode", ALL_MODES)
def test_numba_layer_matches_numpy(mode, chain, monkeypatch):
    if not _kernels.numba_available():
        pytest.skip("numba is not installed")
    if chain:  # the input gradient step by step in the compiled loop, as from CHAIN_ROWS batch rows up
        monkeypatch.setattr("lucidnet.fused.rnn.CHAIN_ROWS", 1)
    ins = [a.astype(np.float32) for a in _inputs(mode, 2, batch_first=True)]
    results = []
    for use in (False, True):
        previous = _kernels.set_numba(use)
        try:
            ts = [ln.tensor(a, requires_grad=True) for a in ins]
            outs = _layer_fn(mode, 2, LENGTHS, batch_first=True)(*ts)
            sum((o * ln.tensor(rand(*o.shape, seed=i, dtype=np.float32))).sum() for i, o in enumerate(outs)).backward()
            results.append([o.numpy() for o in outs] + [t.grad for t in ts])
        finally:
            _kernels.set_numba(previous)
    for a, b in zip(*results):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_allclose(a, b, atol=2e-6, rtol=1e-5)


# ---- the modules ----------------------------------------------------------------------------------------------

def test_parameter_names_shapes_and_init():
    m = nn.LSTM(5, 4, num_layers=2, bidirectional=True)
    names = [(k, v.shape) for k, v in m.state_dict().items()]
    expected = []
    for layer, size in ((0, 5), (1, 8)):
        for sfx in ("", "_reverse"):
            expected += [(f"weight_ih_l{layer}{sfx}", (16, size)), (f"weight_hh_l{layer}{sfx}", (16, 4)),
                         (f"bias_ih_l{layer}{sfx}", (16,)), (f"bias_hh_l{layer}{sfx}", (16,))]
    assert names == expected
    ln.manual_seed(0)
    big = nn.GRU(30, 100)
    w = big.weight_hh_l0.array
    assert w.dtype == np.float32 and abs(w).max() <= 0.1 and abs(w).max() > 0.099  # U(-1/sqrt(H), 1/sqrt(H))
    assert [k for k in nn.RNN(2, 3, bias=False).state_dict()] == ["weight_ih_l0", "weight_hh_l0"]
    assert [k for k in nn.GRUCell(2, 3).state_dict()] == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]


def test_shapes_float32_and_unbatched():
    m = nn.LSTM(3, 4, num_layers=2, batch_first=True)
    x = ln.randn(2, 5, 3, requires_grad=True)
    out, (h, c) = m(x)
    assert out.shape == (2, 5, 4) and h.shape == c.shape == (2, 2, 4)
    assert out.dtype == h.dtype == c.dtype == np.float32
    (out.sum() + h.sum() + c.sum()).backward()
    assert x.grad.dtype == np.float32 and all(p.grad.dtype == np.float32 for p in m.parameters())
    out1, (h1, c1) = m(x[0].detach())  # unbatched: (seq_len, input_size)
    assert out1.shape == (5, 4) and h1.shape == (2, 4)
    np.testing.assert_allclose(out1.numpy(), out.numpy()[0], atol=1e-6)
    gru = nn.GRU(3, 4, bidirectional=True)
    out2, h2 = gru(ln.randn(5, 3), ln.zeros(2, 4))
    assert out2.shape == (5, 8) and h2.shape == (2, 4)
    assert nn.RNN(3, 4, nonlinearity="relu")(ln.randn(5, 2, 3))[0].numpy().min() >= 0


def test_carried_state_equals_one_long_run():
    """Truncated BPTT: feeding the final state back in continues the sequence exactly."""
    m = nn.LSTM(3, 4, batch_first=True)
    x = ln.randn(2, 8, 3)
    full, _ = m(x)
    a, st = m(x[:, :5])
    b, _ = m(x[:, 5:], (st[0].detach(), st[1].detach()))
    np.testing.assert_allclose(np.concatenate([a.numpy(), b.numpy()], 1), full.numpy(), atol=1e-6)


def test_backward_twice_with_retain_graph():
    m = nn.GRU(2, 3)
    x = ln.randn(4, 2, 2, requires_grad=True)
    out, h = m(x)
    loss = out.sum() + h.sum()
    loss.backward(retain_graph=True)
    first = x.grad.array.copy()
    loss.backward()
    np.testing.assert_allclose(x.grad, 2 * first, rtol=1e-6)


def test_dropout_between_layers_follows_the_seed():
    m = nn.LSTM(3, 8, num_layers=2, dropout=0.5)
    x = ln.randn(6, 2, 3)
    ln.manual_seed(5)
    a = m(x)[0].numpy()
    ln.manual_seed(5)
    b = m(x)[0].numpy()
    c = m(x)[0].numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    m.eval()
    np.testing.assert_array_equal(m(x)[0].numpy(), m(x)[0].numpy())
    with pytest.warns(UserWarning, match="no effect"):
        nn.GRU(3, 8, dropout=0.2)


def test_cells_run_steps_like_the_layer():
    layer, cell = nn.LSTM(3, 4), nn.LSTMCell(3, 4)
    cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
    x = ln.randn(5, 2, 3)
    out, (h_n, c_n) = layer(x)
    h, c = None, None
    for t in range(5):
        h, c = cell(x[t], None if h is None else (h, c))
        np.testing.assert_allclose(h.numpy(), out.numpy()[t], atol=1e-6)
    np.testing.assert_allclose(c.numpy(), c_n.numpy()[0], atol=1e-6)


def test_repr_and_double():
    assert repr(nn.LSTM(64, 256, batch_first=True)) == "LSTM(64, 256, batch_first=True)"
    assert repr(nn.RNN(2, 3, 2, "relu", bidirectional=True)) == \
        "RNN(2, 3, num_layers=2, nonlinearity='relu', bidirectional=True)"
    assert repr(nn.GRUCell(2, 3, bias=False)) == "GRUCell(2, 3, bias=False)"
    m = nn.GRU(2, 3).double()
    out, h = m(ln.randn(4, 1, 2, dtype=ln.float64))
    assert out.dtype == h.dtype == np.float64


def test_errors_name_the_layer_and_shapes():
    m = nn.LSTM(4, 5)
    with pytest.raises(ValueError, match=r"LSTM\(4, 5\): expected input of shape \(seq_len, batch, input_size\) "
                                         r"with input_size=4, got shape \(7, 2, 3\)"):
        m(ln.randn(7, 2, 3))
    with pytest.raises(ValueError, match="3-D input"):
        m(ln.randn(4))
    with pytest.raises(ValueError, match=r"length 8 is out of range; lengths must lie in \[0, 7\]"):
        m(ln.randn(7, 2, 4), lengths=[8, 3])
    with pytest.raises(ValueError, match="length -1 is out of range"):
        m(ln.randn(7, 2, 4), lengths=[-1, 3])
    with pytest.raises(ValueError, match="one entry per batch element"):
        m(ln.randn(7, 2, 4), lengths=[3])
    with pytest.raises(TypeError, match="integers"):
        m(ln.randn(7, 2, 4), lengths=[3.0, 2.0])
    with pytest.raises(ValueError, match=r"expected h_0 of shape \(1, 2, 5\), got \(2, 2, 5\)"):
        m(ln.randn(7, 2, 4), (ln.zeros(2, 2, 5), ln.zeros(1, 2, 5)))
    with pytest.raises(TypeError, match=r"hx must be a tuple \(h_0, c_0\)"):
        m(ln.randn(7, 2, 4), ln.zeros(1, 2, 5))
    with pytest.raises(TypeError, match="dtype float64 but the weights are float32"):
        m(ln.randn(7, 2, 4, dtype=ln.float64))
    with pytest.raises(ValueError, match=r"GRUCell\(4, 5\): expected input of shape \(batch, input_size\)"):
        nn.GRUCell(4, 5)(ln.randn(2, 3))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(2, 3, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size must be a positive int"):
        nn.GRU(2, 0)


@pytest.mark.parametrize("mode", ["lstm", "gru"])
def test_weights_of_either_memory_layout(mode, backend):
    """Row-major (nn's) and column-major weights give the same results; gradients keep each weight's layout."""
    ins = [a.astype(np.float32) for a in _inputs(mode, 2, batch_first=True)]
    results = []
    for order in ("C", "F"):
        arrays = [ins[0], *ins[1:-8], *[np.asarray(w, order=order) for w in ins[-8:]]]
        ts = [ln.tensor(a, requires_grad=True) for a in arrays]
        for t, a in zip(ts, arrays):
            t.array = a  # keep the memory layout (ln.tensor copies into row-major)
        outs = _layer_fn(mode, 2, LENGTHS, batch_first=True)(*ts)
        sum((o * ln.tensor(rand(*o.shape, seed=i, dtype=np.float32))).sum() for i, o in enumerate(outs)).backward()
        for t in ts[-8:]:
            if t.ndim == 2:
                assert t.grad.array.flags.f_contiguous == (order == "F")
        results.append([o.numpy() for o in outs] + [t.grad for t in ts])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)
