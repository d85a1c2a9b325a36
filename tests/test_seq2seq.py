"""Translation models and decoding: both learn a copy task; beam width 1 is greedy search; cached
(step-by-step) decoding gives the teacher-forced log-probabilities; masks stop information from source
padding and from future target positions (gradients); bad arguments are clear errors."""
import numpy as np
import pytest

import lucidnet as ln
from lucidnet import optim
from lucidnet.nn import functional as F
from lucidnet.text.batching import pad_sequences
from lucidnet.text.decode import beam_search, greedy
from lucidnet.text.seq2seq import AttentionGRU, TransformerTranslator, sinusoidal_positions

PAD, BOS, EOS = 0, 1, 2


def small(kind: str, **kw):
    if kind == "transformer":
        return TransformerTranslator(13, 13, d_model=32, nhead=2, num_encoder_layers=1, num_decoder_layers=2,
                                     dim_feedforward=64, max_len=16, **kw)
    if kind == "sinusoidal":
        return TransformerTranslator(13, 13, d_model=32, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                                     dim_feedforward=64, max_len=16, positions="sinusoidal", tie_embeddings=False, **kw)
    return AttentionGRU(13, 13, embed_dim=16, hidden_size=32, attention_dim=16, output_dim=32, **kw)


def copy_batch(rng, n):
    seqs = [rng.integers(3, 13, rng.integers(3, 9)).tolist() for _ in range(n)]
    src = pad_sequences(seqs, PAD)[0]
    tin = pad_sequences([[BOS] + s for s in seqs], PAD)[0]
    tout = pad_sequences([s + [EOS] for s in seqs], PAD)[0]
    return seqs, ln.tensor(src), ln.tensor(tin), ln.tensor(tout)


@pytest.mark.parametrize("kind", ["transformer", "gru"])
def test_learns_to_copy(kind):
    """A few hundred Adam steps teach either model to copy random sequences: > 99% of tokens right when
    decoding greedily sequences it has not seen."""
    m = small(kind, dropout=0.0)
    rng = np.random.default_rng(0)
    opt = optim.Adam(m.parameters(), lr=3e-3 if kind == "transformer" else 1e-2)
    for _ in range(400 if kind == "transformer" else 700):
        _, s, ti, to = copy_batch(rng, 32)
        loss = F.cross_entropy(m(s, ti).reshape(-1, 13), to.reshape(-1), ignore_index=PAD)
        opt.zero_grad()
        loss.backward()
        opt.step()
    seqs, s, _, _ = copy_batch(np.random.default_rng(1), 200)
    out = greedy(m.eval(), s, bos=BOS, eos=EOS, max_len=10)
    right = [i < len(o) and o[i] == q[i] for o, q in zip(out, seqs) for i in range(len(q))]
    assert np.mean(right) > 0.99


@pytest.mark.parametrize("kind", ["transformer", "sinusoidal", "gru"])
def test_beam_of_one_is_greedy_and_wider_beams_score_at_least_as_well(kind):
    m = small(kind).eval()
    src = ln.tensor(pad_sequences([[4, 5, 6, 7], [8, 9], [10, 11, 12]], PAD)[0])
    g = greedy(m, src, bos=BOS, eos=EOS, max_len=8)
    assert beam_search(m, src, bos=BOS, eos=EOS, beam=1, max_len=8) == g

    def logprob(i, seq):  # the model's log-probability of seq (+ </s> unless it ran to max_len)
        tin = ln.tensor([[BOS] + seq])
        lp = F.log_softmax(m(src[i:i + 1], tin), dim=-1).numpy()[0]
        ends = seq + ([EOS] if len(seq) < 8 else [])
        return sum(lp[t, tok] for t, tok in enumerate(ends[:len(seq) + 1]))
    wide = beam_search(m, src, bos=BOS, eos=EOS, beam=4, max_len=8, length_penalty=0.0)
    for i in range(3):
        assert logprob(i, wide[i]) >= logprob(i, g[i]) - 1e-4


@pytest.mark.parametrize("kind", ["transformer", "sinusoidal", "gru"])
def test_cached_decoding_equals_teacher_forcing(kind):
    """step() after step() (each call one position, keys/values or the RNN state cached) gives the
    log-probabilities of the teacher-forced forward at every real target position."""
    m = small(kind).eval()
    src = ln.tensor(pad_sequences([[4, 5, 6, 7], [8, 9]], PAD)[0])
    tin = ln.tensor([[BOS, 5, 6, 7, 8], [BOS, 9, 10, 0, 0]])
    full = F.log_softmax(m(src, tin), dim=-1).numpy()
    state, steps = m.encode(src), []
    for t in range(5):
        lp, state = m.step(tin.numpy()[:, t], state)
        steps.append(lp.numpy())
    steps = np.stack(steps, 1)
    real = tin.numpy() != PAD
    np.testing.assert_allclose(steps[real], full[real], atol=2e-5)


@pytest.mark.parametrize("kind", ["transformer", "gru"])
def test_no_information_from_source_padding_or_future_targets(kind):
    """The gradient of the logits at target position t is zero with respect to the embeddings of source
    padding and of target positions after t."""
    m = small(kind).eval()
    leaves = {}

    def capture(name):
        def hook(module, inputs, out):
            leaves[name] = ln.tensor(out.numpy(), requires_grad=True)
            return leaves[name]
        return hook
    m.src_embed.register_forward_hook(capture("src"))
    m.tgt_embed.register_forward_hook(capture("tgt"))
    src = ln.tensor(pad_sequences([[4, 5, 6, 7], [8, 9]], PAD)[0])
    tin = ln.tensor([[BOS, 5, 6, 7, 8], [BOS, 9, 10, 11, 12]])
    t = 2
    m(src, tin)[:, t].sum().backward()
    gs, gt = leaves["src"].grad.array, leaves["tgt"].grad.array
    assert np.all(gs[1, 2:] == 0) and np.abs(gs[1, :2]).sum() > 0       # source padding of row 1
    assert np.all(gt[:, t + 1:] == 0) and np.abs(gt[:, :t + 1]).sum() > 0  # the future


def test_sinusoidal_table_and_errors():
    table = sinusoidal_positions(50, 8)
    assert table.dtype == np.float32 and np.allclose(table[0], [0, 1] * 4)
    np.testing.assert_allclose(table[7, 2], np.sin(7 / 10000 ** (2 / 8)), rtol=1e-6)
    with pytest.raises(ValueError, match="positions must be 'learned' or 'sinusoidal'"):
        TransformerTranslator(10, 10, positions="rope")
    with pytest.raises(ValueError, match="share_embeddings needs one vocabulary"):
        TransformerTranslator(10, 12, share_embeddings=True)
    m = small("transformer").eval()
    with pytest.raises(ValueError, match="longer than max_len=16"):
        m(ln.tensor(np.full((1, 20), 5)), ln.tensor([[BOS]]))
    with pytest.raises(ValueError, match="expected src of shape \\(batch, length\\)"):
        m(ln.randn(2, 3), ln.tensor([[BOS]]))
    with pytest.raises(ValueError, match="beam must be a positive int"):
        beam_search(m, ln.tensor([[4]]), bos=BOS, eos=EOS, beam=0)
    with pytest.raises(TypeError, match="has no encode"):
        greedy(ln.nn.Linear(2, 2), ln.tensor([[4]]), bos=BOS, eos=EOS)


@pytest.mark.parametrize("kind", ["transformer", "gru"])
def test_cross_attention_maps_are_distributions_over_the_real_source(kind):
    m = small(kind).eval()
    src = ln.tensor(pad_sequences([[4, 5, 6, 7], [8, 9]], PAD)[0])
    w = m.cross_attention(src, ln.tensor([[BOS, 5, 6], [BOS, 9, 10]]))
    assert w.shape == (2, 3, 4)
    np.testing.assert_allclose(w.sum(axis=2), 1, atol=1e-5)
    assert np.all(w[1, :, 2:] == 0)  # padding gets no attention
