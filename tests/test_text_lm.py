"""Language modelling: streams and chunks for truncated BPTT, the LMTrainer (state carried and detached, clipping,
time limit, checkpoint/resume), evaluate_lm read straight through, and sampling."""
import numpy as np
import pytest

import lucidnet as ln
from lucidnet import nn, optim
from lucidnet.text import CharLSTM, CharVocab, LMTrainer, as_streams, chunks, detach_state, evaluate_lm, generate
from lucidnet.train import CSVLogger


class DecayLM(nn.Module):
    """A tiny recurrent stand-in: h_t = 0.5 h_{t-1} + emb(x_t), logits = W h_t; its state is h."""

    def __init__(self, vocab_size, dim=8):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim)
        self.head = nn.Linear(dim, vocab_size)

    def forward(self, x, state=None):
        e = self.embedding(x)                     # (B, T, D)
        h = state if state is not None else ln.zeros(x.shape[0], e.shape[2])
        outs = []
        for t in range(x.shape[1]):
            h = h * 0.5 + e[:, t]
            outs.append(h)
        return self.head(ln.stack(outs, dim=1)), h


TEXT = "the cat sat on the mat. " * 30


def _vocab_ids():
    v = CharVocab.build([TEXT])
    return v, v.encode(TEXT)


def test_streams_and_chunks():
    s = as_streams(np.arange(23), 4)
    assert s.shape == (4, 5) and s[1].tolist() == [5, 6, 7, 8, 9]
    pairs = list(chunks(s, 3))
    assert [x.shape for x, _ in pairs] == [(4, 3), (4, 1)]
    np.testing.assert_array_equal(np.concatenate([x for x, _ in pairs], 1), s[:, :-1])
    np.testing.assert_array_equal(np.concatenate([y for _, y in pairs], 1), s[:, 1:])
    assert all(x.dtype == np.int64 for x, _ in pairs)
    with pytest.raises(ValueError, match="too few"):
        as_streams(np.arange(5), 3)
    with pytest.raises(ValueError, match="integer ids"):
        as_streams(np.zeros(10), 2)


def test_detach_state_cuts_every_tensor():
    a = ln.randn(2, requires_grad=True) * 2
    out = detach_state((a, [a, None]))
    assert out[0].grad_fn is None and out[1][0].grad_fn is None and out[1][1] is None
    np.testing.assert_array_equal(out[0].numpy(), a.numpy())


@pytest.mark.parametrize("make", [lambda v: DecayLM(v),
                                  lambda v: CharLSTM(v, 4, 6, 2)])
def test_evaluate_lm_with_carried_state_equals_one_pass(make):
    vocab, ids = _vocab_ids()
    model = make(len(vocab))
    model.train()
    one_pass = evaluate_lm(model, ids[:200], batch_size=1, seq_len=1000)
    chunked = evaluate_lm(model, ids[:200], batch_size=1, seq_len=7)
    assert abs(one_pass - chunked) < 1e-5 and model.training  # the mode is restored
    # the same number from two streams read in parallel is a different split of the text, but close
    assert abs(evaluate_lm(model, ids[:200], batch_size=2, seq_len=7) - one_pass) < 0.2
    assert one_pass == pytest.approx(np.log(len(vocab)), rel=0.3)  # untrained: about uniform


def test_lm_trainer_learns_and_logs(tmp_path):
    vocab, ids = _vocab_ids()
    model = DecayLM(len(vocab))
    before = evaluate_lm(model, ids[-120:])
    opt = optim.Adam(model.parameters(), lr=0.05)
    trainer = LMTrainer(model, opt, batch_size=4, seq_len=8, clip_grad_norm=1.0, verbose=0,
                        callbacks=[CSVLogger(tmp_path / "h.csv")])
    hist = trainer.fit(ids[:-120], epochs=3, val_ids=ids[-120:])
    assert len(hist.history["loss"]) == 3 and hist.history["val_loss"][-1] < before - 1.0
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert set(hist.history) >= {"loss", "val_loss", "lr", "seconds"}
    assert (tmp_path / "h.csv").read_text().splitlines()[0].startswith("epoch,loss")
    assert 3 * (trainer.params["steps"] - 1) <= trainer.global_step <= 3 * trainer.params["steps"]


def test_lm_trainer_clips_the_gradient_norm():
    vocab, ids = _vocab_ids()
    model = DecayLM(len(vocab))
    start = [p.data.copy() for p in model.parameters()]
    trainer = LMTrainer(model, optim.SGD(model.parameters(), lr=1.0), batch_size=4, seq_len=8,
                        clip_grad_norm=1e-3, verbose=0)
    trainer.fit(ids, epochs=1)
    moved = np.sqrt(sum(float(((p.data - s) ** 2).sum()) for p, s in zip(model.parameters(), start)))
    assert 0 < moved <= trainer.global_step * 1e-3 * 1.0001


def test_lm_trainer_time_limit_stops_after_a_step():
    vocab, ids = _vocab_ids()
    model = DecayLM(len(vocab))
    trainer = LMTrainer(model, optim.Adam(model.parameters()), batch_size=4, seq_len=8, verbose=0)
    hist = trainer.fit(ids, epochs=5, val_ids=ids[:50], max_seconds=0.0)
    assert trainer.global_step == 1 and len(hist.history["val_loss"]) == 1


def test_lm_trainer_resumes_bit_for_bit(tmp_path):
    vocab, ids = _vocab_ids()

    def run(epochs, resume, ckpt):
        ln.manual_seed(5)
        model = DecayLM(len(vocab))
        opt = optim.Adam(model.parameters(), lr=0.01)
        sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)
        LMTrainer(model, opt, batch_size=4, seq_len=8, scheduler=sched, verbose=0).fit(
            ids, epochs, val_ids=ids[:40], checkpoint=ckpt, resume=resume)
        return model

    straight = run(3, False, None)
    ckpt = tmp_path / "ck.safetensors"
    run(1, False, ckpt)
    resumed = run(3, True, ckpt)
    for a, b in zip(straight.parameters(), resumed.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_lm_trainer_rejects_bad_settings():
    model = DecayLM(5)
    with pytest.raises(ValueError, match="seq_len"):
        LMTrainer(model, optim.Adam(model.parameters()), seq_len=0)


def test_generate_prompt_length_temperature_and_errors():
    vocab, ids = _vocab_ids()
    model = DecayLM(len(vocab))
    LMTrainer(model, optim.Adam(model.parameters(), lr=0.05), batch_size=4, seq_len=8, verbose=0).fit(ids, 2)
    text = generate(model, vocab, "the ", length=40, temperature=0.8, top_k=5)
    assert text.startswith("the ") and len(text) == 44 and set(text) <= set(vocab.tokens)
    greedy = [generate(model, vocab, "the c", 20, temperature=0) for _ in range(2)]
    assert greedy[0] == greedy[1]
    ln.manual_seed(1)
    a = generate(model, vocab, "t", 30, temperature=1.0)
    ln.manual_seed(1)
    assert generate(model, vocab, "t", 30, temperature=1.0) == a
    assert generate(model, vocab, "t", 0) == "t"
    with pytest.raises(ValueError, match="never saw"):
        generate(model, vocab, "XYZ", 5)
    with pytest.raises(ValueError, match="empty"):
        generate(model, vocab, "", 5)


def test_time_cosine_anneals_over_the_time_budget(monkeypatch):
    vocab, ids = _vocab_ids()
    model = DecayLM(len(vocab))
    clock = iter(np.arange(0.0, 1000.0, 0.5))  # every perf_counter() call: half a second later
    monkeypatch.setattr("lucidnet.text.lm.time.perf_counter", lambda: float(next(clock)))
    opt = optim.Adam(model.parameters(), lr=0.1)
    trainer = LMTrainer(model, opt, batch_size=4, seq_len=8, scheduler="time-cosine", verbose=0)
    hist = trainer.fit(ids, epochs=100, max_seconds=5.0)
    assert trainer.elapsed >= 5.0 and 2 <= trainer.global_step <= 10 and len(hist.history["loss"]) == 1
    assert opt.param_groups[0]["lr"] < 0.1 * 0.03  # annealed nearly to 0 by the end of the budget
    with pytest.raises(ValueError, match="max_seconds"):
        trainer.fit(ids, epochs=1)
