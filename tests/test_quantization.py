"""``lucidnet.quantization``: dynamic int8 (Linear, LSTM/GRU/RNN, Embedding, a BERT encoder), BatchNorm folding,
observers, static int8 (Conv2d, Linear), save/load through safetensors, and the errors. Tolerances: int8
with per-channel weights and per-tensor activations is within a few quantization steps of float32; each test
states its bound relative to the output's scale."""
import io
import warnings

import numpy as np
import pytest

import lucidnet as ln
from lucidnet import nn
from lucidnet.quantization import (DynamicQuantizedLinear, DynamicQuantizedLSTM, FoldedBatchNorm, HistogramObserver,
                                   MinMaxObserver, PercentileObserver, QuantizedConv2d, QuantizedEmbedding,
                                   QuantizedLinear, fold_batchnorm, quantize_dynamic, quantize_static, restore,
                                   spec_of)


def _close(a, b, rel):
    a, b = np.asarray(a.array), np.asarray(b.array)
    assert a.shape == b.shape and a.dtype == np.float32
    assert np.abs(a - b).max() <= rel * np.abs(b).max(), (np.abs(a - b).max(), np.abs(b).max())


def _mlp():
    return nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 5)).eval()


def test_dynamic_linear_close_to_float_and_the_model_left_alone(backend):
    model = _mlp()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    q = quantize_dynamic(model, {nn.Linear}, dtype=ln.qint8)
    assert [type(m).__name__ for m in q] == ["DynamicQuantizedLinear", "ReLU", "DynamicQuantizedLinear", "Tanh",
                                             "DynamicQuantizedLinear"]
    assert all(type(m) is nn.Linear for m in model if "Linear" in type(m).__name__)
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())
    assert q[0].weight.dtype == np.int8 and q[0].weight_scale.shape == (64,) and not q.training
    x = ln.randn(33, 20)
    with ln.no_grad():
        _close(q(x), model(x), 0.03)
        x3 = ln.randn(2, 3, 20)                       # any leading dims
        _close(q(x3), model(x3), 0.03)


def test_dynamic_by_name_and_the_unsupported_layer_warning():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(8, 3), nn.Linear(3, 2)).eval()
    with pytest.warns(UserWarning, match=r"layer '0' \(Conv2d\) has no dynamic int8 version; it stays float32"):
        q = quantize_dynamic(model, {"0", "3"})
    assert type(q[0]) is nn.Conv2d and type(q[2]) is nn.Linear and type(q[3]) is DynamicQuantizedLinear


def test_multihead_attention_stays_float_whole_with_a_warning():
    model = nn.Transformer(d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=32,
                           batch_first=True).eval()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        q = quantize_dynamic(model)
    said = [str(w.message) for w in caught]
    assert len(said) == 3, said  # one for each attention layer: the encoder's, the decoder's two
    assert any("'encoder.layers.0.self_attn' (MultiheadAttention) has no dynamic int8 version; it stays float32 with "
               "its sublayers (encoder.layers.0.self_attn.out_proj)" in m for m in said), said
    assert any("'decoder.layers.0.multihead_attn'" in m for m in said), said
    assert type(q.encoder.layers[0].self_attn.out_proj) is nn.Linear
    assert type(q.encoder.layers[0].linear1) is DynamicQuantizedLinear
    src, tgt = ln.randn(2, 5, 16), ln.randn(2, 4, 16)
    with ln.no_grad():
        _close(q(src, tgt), model(src, tgt), 0.03)


def test_dynamic_errors():
    with pytest.raises(ValueError, match="dtype must be lucidnet.qint8"):
        quantize_dynamic(_mlp(), dtype=ln.float16)
    with pytest.raises(ValueError, match="names 'nope', which is not a submodule"):
        quantize_dynamic(_mlp(), {"nope"})
    with pytest.raises(TypeError, match="set of layer types"):
        quantize_dynamic(_mlp(), nn.Linear)
    q = quantize_dynamic(_mlp())
    with pytest.raises(ValueError, match=r"DynamicQuantizedLinear\(in_features=20, .*expected shape \(\.\.\., 20\)"):
        q(ln.randn(2, 21))
    with pytest.raises(TypeError, match="expected float32 input, got float64"):
        q(ln.randn(2, 20, dtype=ln.float64))
    with pytest.raises(RuntimeError, match="inference-only"):
        q(ln.randn(2, 20, requires_grad=True))


@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU, nn.RNN])
def test_dynamic_recurrent_layers_close_to_float(backend, cls):
    rnn = cls(12, 16, num_layers=2, batch_first=True, bidirectional=True).eval()
    q = quantize_dynamic(nn.Sequential(rnn), {cls})[0]
    x, lengths = ln.randn(5, 7, 12), [7, 3, 5, 1, 6]
    with ln.no_grad():
        out_q, h_q = q(x, lengths=lengths)
        out_f, h_f = rnn(x, lengths=lengths)
        _close(out_q, out_f, 0.05)
        if cls is nn.LSTM:
            _close(h_q[0], h_f[0], 0.05)
            _close(h_q[1], h_f[1], 0.05)
            hx = (ln.randn(4, 5, 16) * 0.5, ln.randn(4, 5, 16) * 0.5)
        else:
            _close(h_q, h_f, 0.05)
            hx = ln.randn(4, 5, 16) * 0.5
        _close(q(x, hx, lengths=lengths)[0], rnn(x, hx, lengths=lengths)[0], 0.05)
    assert float(abs(out_q[3, 1:]).max()) == 0.0    # past the end of a sequence: zeros, as the float layer
    assert q.weight_hh_l1_reverse.dtype == np.int8
    with pytest.raises(ValueError, match="expected float32 initial states of shape"):
        q(x, (ln.randn(1, 5, 16), ln.randn(1, 5, 16)) if cls is nn.LSTM else ln.randn(1, 5, 16))


def test_embedding_is_quantized_per_row_when_named():
    emb = nn.Embedding(50, 8, padding_idx=0)
    q = quantize_dynamic(nn.Sequential(emb), {nn.Embedding})[0]
    assert type(q) is QuantizedEmbedding and q.weight.dtype == np.int8
    ids = ln.tensor([[0, 3, 49], [7, 7, 1]])
    _close(q(ids), emb(ids).detach(), 0.01)
    assert q(ids)[0, 0].tolist() == [0.0] * 8
    with pytest.raises(IndexError, match="index 50 is out of range"):
        q(ln.tensor([50]))


def test_a_bert_classifier_quantized_end_to_end(backend):
    from lucidnet.text.bert import BertClassifier
    ln.manual_seed(1)
    model = BertClassifier({"vocab_size": 60, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
                            "intermediate_size": 64, "max_position_embeddings": 16}, num_classes=3).eval()
    q = quantize_dynamic(model, {nn.Linear, nn.Embedding})
    kinds = {type(m).__name__ for m in q.modules()}
    assert "Linear" not in kinds and "Embedding" not in kinds and "LayerNorm" in kinds
    ids, mask = ln.tensor(np.random.default_rng(0).integers(1, 60, (4, 9))), ln.tensor([9, 5, 2, 9])
    with ln.no_grad():
        _close(q(ids, mask), model(ids, mask), 0.05)


def test_save_and_load_through_safetensors():
    model = nn.Sequential(nn.Linear(6, 10), nn.ReLU(), nn.Linear(10, 4)).eval()
    q = quantize_dynamic(model)
    buf = io.BytesIO()
    ln.save(q.state_dict(), buf)
    buf.seek(0)
    state = ln.load(buf)
    assert state["0.weight"].dtype == np.int8 and state["0.weight_scale"].dtype == np.float32
    again = restore(nn.Sequential(nn.Linear(6, 10), nn.ReLU(), nn.Linear(10, 4)), spec_of(q))
    again.load_state_dict(state)
    x = ln.randn(3, 6)
    with ln.no_grad():
        assert np.array_equal(again(x).array, q(x).array)
    with pytest.raises(ValueError, match="layer 'x' is not in the model"):
        restore(_mlp(), {"format": 1, "layers": {"x": "DynamicQuantizedLinear"}})
    with pytest.raises(ValueError, match="'Linear', not a quantized layer"):
        restore(_mlp(), {"format": 1, "layers": {"0": "Linear"}})


def test_summary_shows_each_layers_dtype_and_size():
    q = quantize_dynamic(nn.Sequential(nn.Linear(100, 50), nn.ReLU(), nn.Linear(50, 10)).eval())
    s = q.summary((100,))
    rows = {r.name: r for r in s.rows}
    assert rows["0"].dtype == "int8" and rows["0"].bytes == 100 * 50 + 4 * 50 + 4 * 50   # values, scales, bias
    assert rows["1"].dtype == "" and rows["1"].bytes == 0
    text = str(s)
    assert "Dtype" in text and "int8" in text and "Total size (parameters and saved buffers): 5.8 KiB" in text
    assert s.unknown_flops == [] and s.flops == 2 * (100 * 50 + 50 * 10) + 60 + 50   # + the ReLU
    assert s.total_params == 0 and s.state_bytes == sum(r.bytes for r in s.rows)


def test_replacing_a_child_keeps_its_place():
    seq = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2))
    seq.__setattr__("0", nn.Tanh())
    assert [type(m).__name__ for m in seq] == ["Tanh", "ReLU", "Linear"]


def _cnn():
    ln.manual_seed(3)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(8, 8, 3, stride=2, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(),
                        nn.Linear(32, 4))
    for m in net:
        if isinstance(m, nn.BatchNorm2d):
            for b in (m.running_mean, m.weight, m.bias):
                b.array[...] = np.random.default_rng(0).normal(size=8).astype(np.float32) * 0.5
            m.running_var.array[...] = np.random.default_rng(1).uniform(0.5, 2, 8).astype(np.float32)
    return net.eval()


def test_fold_batchnorm_is_exact_and_refuses_training_mode():
    net = _cnn()
    folded = fold_batchnorm(net)
    assert isinstance(folded[1], FoldedBatchNorm) and isinstance(folded[5], FoldedBatchNorm)
    assert isinstance(net[1], nn.BatchNorm2d) and folded[4].bias is not None
    x = ln.randn(2, 3, 10, 10)
    with ln.no_grad():
        _close(folded(x), net(x), 1e-5)
    with pytest.raises(ValueError, match="training mode"):
        fold_batchnorm(net.train())
    with pytest.raises(ValueError, match="must name a Conv2d and a BatchNorm2d"):
        fold_batchnorm(net.eval(), pairs=[("2", "1")])


def test_observers():
    rng = np.random.default_rng(0)
    x = rng.normal(size=100_000).astype(np.float32)
    x[:3] = [40.0, -35.0, 30.0]                        # outliers
    mm, pc, hist = MinMaxObserver(), PercentileObserver(99.9), HistogramObserver()
    for o in (mm, pc, hist):
        for part in np.split(x, 4):
            o.observe(part)
    assert mm.range() == (-35.0, 40.0)
    lo, hi = pc.range()
    assert -4 < lo < -2.5 and 2.5 < hi < 4           # the 0.1% tails of N(0, 1): about 3.1
    lo, hi = hist.range()
    assert lo == -hi and 2 < hi < 20                 # clipped well inside the outliers
    relu = HistogramObserver()
    relu.observe(np.abs(x))
    assert relu.range()[0] == 0.0
    with pytest.raises(ValueError, match="no calibration data"):
        MinMaxObserver().qparams()


@pytest.mark.parametrize("observer", ["minmax", "percentile", "entropy"])
def test_static_quantization_of_a_cnn(backend, observer):
    net = _cnn()
    rng = np.random.default_rng(5)
    batches = [ln.tensor(rng.normal(size=(16, 3, 10, 10)).astype(np.float32)) for _ in range(4)]
    q = quantize_static(net, batches, observer=observer)
    assert [type(m).__name__ for m in q][:5] == ["QuantizedConv2d", "FoldedBatchNorm", "ReLU", "MaxPool2d",
                                                 "QuantizedConv2d"]
    assert type(q[8]) is QuantizedLinear and type(net[0]) is nn.Conv2d
    x = ln.tensor(rng.normal(size=(8, 3, 10, 10)).astype(np.float32))
    with ln.no_grad():
        _close(q(x), net(x), 0.08)
    again = restore(_cnn(), spec_of(q))
    again.load_state_dict(q.state_dict())
    with ln.no_grad():
        assert np.array_equal(again(x).array, q(x).array)


def test_static_conv_matches_float_conv_geometry(backend):
    for kw in ({"padding": 1}, {"stride": 2}, {"padding": "same", "dilation": 2}, {"kernel_size": 1}):
        kw = {"kernel_size": 3, **kw}
        conv = nn.Conv2d(4, 6, **kw)
        x = ln.rand(2, 4, 9, 9) * 2 - 1
        q = QuantizedConv2d.from_float(conv, (2 / 255, 128))
        with ln.no_grad():
            _close(q(x), conv(x), 0.03)


def test_static_errors_and_warnings():
    net = nn.Sequential(nn.Conv2d(4, 4, 3, groups=4), nn.Flatten(), nn.Linear(4, 2)).eval()
    with pytest.warns(UserWarning, match=r"layer '0' .*groups=4; only groups=1 convolutions are quantized"):
        q = quantize_static(net, [ln.randn(2, 4, 3, 3)])
    assert type(q[0]) is nn.Conv2d and type(q[2]) is QuantizedLinear
    with pytest.raises(ValueError, match="calibration data is empty"), pytest.warns(UserWarning, match="groups=4"):
        quantize_static(net, [])
    with pytest.raises(ValueError, match="unknown observer 'kl'"):
        quantize_static(net, [ln.randn(2, 4, 3, 3)], observer="kl")
    with pytest.raises(ValueError, match=r"expected shape \(N, C, H, W\) with 4 channels"):
        q2 = quantize_static(nn.Sequential(nn.Conv2d(4, 2, 1)).eval(), [ln.randn(2, 4, 3, 3)])
        q2(ln.randn(2, 3, 3, 3))


def test_static_conv_quantizes_before_unfolding_with_the_same_bytes(backend):
    """The int8 convolution quantizes its input, then unfolds the bytes (padding: the zero point); that gives
    exactly what unfolding the float input and quantizing every window would (the earlier way, 9x the work)."""
    from lucidnet import kernels as K
    from lucidnet.fused.conv import conv_padding, nhwc, out_size
    from lucidnet.kernels.qlinear import int8_linear
    geometries = ({"padding": 1}, {"stride": 2, "padding": 2}, {"padding": "same", "dilation": 2}, {"kernel_size": 1},
                  {"kernel_size": (1, 3), "padding": (0, 1)})
    for c in (1, 3, 8):
        for kw in geometries:
            conv = nn.Conv2d(c, 5, **{"kernel_size": 3, **kw})
            x = ln.rand(2, c, 9, 7) * 3 - 1
            q = QuantizedConv2d.from_float(conv, (4 / 255, 85))
            with ln.no_grad():
                got = q(x).numpy()
            kh, kw_ = q.kernel_size
            pt, pb, pl, pr = conv_padding(q.padding, q.kernel_size, q.stride, q.dilation, "test")
            ho, wo = out_size(9, kh, q.stride[0], pt + pb, q.dilation[0]), out_size(7, kw_, q.stride[1], pl + pr,
                                                                                   q.dilation[1])
            cols = np.empty((2 * ho * wo, c * kh * kw_), np.float32)
            K.im2col(nhwc(x.numpy()), cols, kh, kw_, *q.stride, pt, pl, *q.dilation, ho, wo, 1)
            want = int8_linear(cols, q._int8("weight", (0, 2, 3, 1)), q.bias.numpy(), (4 / 255, 85))
            np.testing.assert_array_equal(got, want.reshape(2, ho, wo, 5).transpose(0, 3, 1, 2), err_msg=f"{c} {kw}")
