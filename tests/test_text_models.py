"""Text models: TextCNN, LSTMClassifier, CharLSTM: shapes, padding that never leaks, float64 gradients, PyTorch
parity (each sentence run alone, unpadded, in PyTorch), registry round trip."""
import numpy as np
import pytest

import lucidnet as ln
from lucidnet import models
from lucidnet.text import CharLSTM, LSTMClassifier, TextCNN, pad_sequences
from helpers import parity, torch

SENTENCES = [[5, 6, 7, 8, 9, 3], [4, 2], [7, 7, 1, 9], [3]]


def _batch(sentences, min_len=1, pad_id=0):
    tokens, lengths = pad_sequences(sentences, pad_id, min_len=min_len)
    return ln.tensor(tokens), ln.tensor(lengths)


def _compare_sentence_by_sentence(m, ref, theirs, min_len=1, rtol=1e-4):
    """Our batched, padded forward against ``ref(sentence)`` run on each sentence alone in PyTorch; then the
    gradients of a random weighting of the outputs, for every parameter named in ``theirs``."""
    th = torch()
    out = m(*_batch(SENTENCES, min_len))
    expect = th.stack([ref(s) for s in SENTENCES])
    np.testing.assert_allclose(out.numpy(), expect.detach().numpy(), rtol=rtol, atol=1e-5)
    w = np.random.default_rng(1).standard_normal(out.shape).astype(np.float32)
    (out * ln.tensor(w)).sum().backward()
    (expect * th.tensor(w)).sum().backward()
    ours = dict(m.named_parameters())
    assert set(theirs) == set(ours)
    for name, p in theirs.items():
        assert ours[name].grad.dtype == np.float32
        np.testing.assert_allclose(ours[name].grad, p.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)


def _padding_does_not_leak(model, min_len):
    model.eval()
    tokens, lengths = _batch(SENTENCES, min_len)
    out = model(tokens, lengths).numpy()
    wide = np.concatenate([tokens.numpy(), np.full((len(SENTENCES), 5), 0)], axis=1)
    junk = wide.copy()
    junk[:, tokens.shape[1]:] = 11  # not even the padding id: the lengths alone say where a sentence ends
    for t in (wide, junk):
        np.testing.assert_allclose(model(ln.tensor(t), lengths).numpy(), out, rtol=1e-5, atol=1e-6)
    alone = np.concatenate([model(*_batch([s], min_len)).numpy() for s in SENTENCES])
    np.testing.assert_allclose(alone, out, rtol=1e-5, atol=1e-6)
    return out


def test_textcnn_shapes_dtype_and_padding_invariance():
    m = TextCNN(vocab_size=12, embed_dim=6, num_filters=4, kernel_sizes=(2, 3), num_classes=3)
    out = _padding_does_not_leak(m, m.min_length)
    assert out.shape == (4, 3) and out.dtype == np.float32
    with pytest.raises(ValueError, match="widest kernel"):
        m(ln.tensor([[1, 2]]), ln.tensor([2]))
    with pytest.raises(ValueError, match="lengths must lie in"):
        m(ln.tensor([[1, 2, 3]]), ln.tensor([4]))
    with pytest.raises(ValueError, match="integer dtype"):
        m(ln.randn(2, 3))


def test_textcnn_gradients_by_finite_differences():
    # padding_idx=None: the padding row then has a gradient too (where a short sentence's window covers it)
    m = TextCNN(vocab_size=10, embed_dim=3, num_filters=2, kernel_sizes=(1, 2), dropout=0.0,
                padding_idx=None).double()
    tokens, lengths = _batch([[1, 2, 3], [4, 5], [6]], min_len=2)
    ps = list(m.parameters())
    for p in ps:  # spread the values so no two positions tie in the max over time
        p.data[...] = np.random.default_rng(0).standard_normal(p.shape)
    assert ln.autograd.gradcheck(lambda *_: m(tokens, lengths), ps)


def _torch_textcnn(m):
    th = torch()

    class Ref(th.nn.Module):
        def __init__(self):
            super().__init__()
            c = m.config
            self.embedding = th.nn.Embedding(c["vocab_size"], c["embed_dim"], padding_idx=c["padding_idx"])
            self.convs = th.nn.ModuleList([th.nn.Conv1d(c["embed_dim"], c["num_filters"], k)
                                           for k in c["kernel_sizes"]])
            self.fc = th.nn.Linear(c["num_filters"] * len(c["kernel_sizes"]), c["num_classes"])

        def forward(self, sentence):  # one sentence, unpadded (padded to the widest kernel when shorter)
            k = max(m.kernel_sizes)
            ids = th.tensor(list(sentence) + [0] * max(0, k - len(sentence)))
            x = self.embedding(ids).T[None]
            feats = []
            for kk, conv in zip(m.kernel_sizes, self.convs):
                n = max(len(sentence) - kk + 1, 1)
                feats.append(th.relu(conv(x)[0, :, :n].max(dim=1).values))
            return self.fc(th.cat(feats))

    ref = Ref()
    ref.load_state_dict({k: th.tensor(v.numpy()) for k, v in m.state_dict().items()})
    return ref


@parity
def test_textcnn_matches_pytorch_sentence_by_sentence():
    m = TextCNN(vocab_size=12, embed_dim=5, num_filters=3, kernel_sizes=(2, 3, 5), dropout=0.0)
    ref = _torch_textcnn(m)
    _compare_sentence_by_sentence(m, ref, dict(ref.named_parameters()), m.min_length, rtol=1e-5)


def test_textcnn_dropout_only_in_training_and_registry_round_trip():
    m = TextCNN(vocab_size=12, embed_dim=4, num_filters=8, kernel_sizes=(2,), dropout=0.5)
    tokens, lengths = _batch(SENTENCES, 2)
    m.train()
    a, b = m(tokens, lengths).numpy(), m(tokens, lengths).numpy()
    assert not np.allclose(a, b)
    m.eval()
    np.testing.assert_array_equal(m(tokens, lengths).numpy(), m(tokens, lengths).numpy())
    clone = models.build(models.config_of(m))
    clone.load_state_dict(m.state_dict())
    clone.eval()
    np.testing.assert_array_equal(clone(tokens, lengths).numpy(), m(tokens, lengths).numpy())


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("pooling", ["max", "mean", "last"])
def test_lstm_classifier_padding_invariance(bidirectional, pooling):
    m = LSTMClassifier(vocab_size=12, embed_dim=4, hidden_size=5, bidirectional=bidirectional, pooling=pooling)
    out = _padding_does_not_leak(m, 1)
    assert out.shape == (4, 2) and out.dtype == np.float32
    assert models.build(models.config_of(m)).config == m.config


def test_lstm_classifier_gradients_by_finite_differences():
    m = LSTMClassifier(vocab_size=8, embed_dim=2, hidden_size=2, bidirectional=True, pooling="max",
                       dropout=0.0).double()
    tokens, lengths = _batch([[1, 2, 3], [4, 5], [6]])
    assert ln.autograd.gradcheck(lambda *_: m(tokens, lengths), list(m.parameters()))


@parity
@pytest.mark.parametrize("pooling", ["max", "mean", "last"])
def test_bilstm_classifier_matches_pytorch_sentence_by_sentence(pooling):
    th = torch()
    m = LSTMClassifier(vocab_size=12, embed_dim=4, hidden_size=3, num_layers=2, bidirectional=True,
                       pooling=pooling, dropout=0.0)
    m.eval()
    ref_emb = th.nn.Embedding(12, 4, padding_idx=0)
    ref_lstm = th.nn.LSTM(4, 3, num_layers=2, bidirectional=True, batch_first=True)
    ref_fc = th.nn.Linear(6, 2)
    sd = {k: th.tensor(v.numpy()) for k, v in m.state_dict().items()}
    ref_emb.load_state_dict({"weight": sd["embedding.weight"]})
    ref_lstm.load_state_dict({k[5:]: v for k, v in sd.items() if k.startswith("lstm.")})
    ref_fc.load_state_dict({"weight": sd["fc.weight"], "bias": sd["fc.bias"]})

    def ref(sentence):
        out, (h, _) = ref_lstm(ref_emb(th.tensor(sentence))[None])
        if pooling == "last":
            z = th.cat([h[-2, 0], h[-1, 0]])
        else:
            z = out[0].max(dim=0).values if pooling == "max" else out[0].mean(dim=0)
        return ref_fc(z)

    theirs = {"embedding.weight": ref_emb.weight, "fc.weight": ref_fc.weight, "fc.bias": ref_fc.bias,
              **{f"lstm.{k}": v for k, v in ref_lstm.named_parameters()}}
    _compare_sentence_by_sentence(m, ref, theirs)


@parity
def test_char_lstm_matches_pytorch_with_carried_state():
    th = torch()
    m = CharLSTM(vocab_size=7, embed_dim=3, hidden_size=4, num_layers=2)
    ref_emb, ref_lstm, ref_head = th.nn.Embedding(7, 3), th.nn.LSTM(3, 4, 2, batch_first=True), th.nn.Linear(4, 7)
    sd = {k: th.tensor(v.numpy()) for k, v in m.state_dict().items()}
    ref_emb.load_state_dict({"weight": sd["embedding.weight"]})
    ref_lstm.load_state_dict({k[5:]: v for k, v in sd.items() if k.startswith("lstm.")})
    ref_head.load_state_dict({"weight": sd["head.weight"], "bias": sd["head.bias"]})
    x = np.random.default_rng(0).integers(0, 7, size=(2, 6))
    logits1, state = m(ln.tensor(x[:, :3]))
    logits2, _ = m(ln.tensor(x[:, 3:]), state)
    out, _ = ref_lstm(ref_emb(th.tensor(x)))
    expect = ref_head(out).detach().numpy()
    assert logits1.shape == (2, 3, 7) and logits1.dtype == np.float32
    np.testing.assert_allclose(np.concatenate([logits1.numpy(), logits2.numpy()], axis=1), expect,
                               rtol=1e-4, atol=1e-5)
