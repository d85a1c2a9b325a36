"""Language modelling: streams and chunks for truncated BPTT, the Trainer with a TBPTTStep (state carried,
detached and reset, clipping, time budget, checkpoint/resume), evaluate_lm read straight through, and sampling."""
import numpy as np
import pytest

import lucidnet as ln
from lucidnet import nn, optim
from lucidnet.data import StreamLoader, as_streams, chunks
from lucidnet.text import CharLSTM, CharVocab, evaluate_lm, generate
from lucidnet.train import Callback, CSVLogger, TBPTTStep, Trainer
from lucidnet.train.steps import detach_state


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


def lm_trainer(model, opt, seq_len=8, **kw):
    return Trainer(model, optimizer=opt, step=TBPTTStep(seq_len), verbose=0, **kw)


def test_stream_loader_length_and_random_offset():
    ids = np.arange(1000)
    loader = StreamLoader(ids, 4, 8)
    assert len(loader) == -(-(1000 // 4 - 1) // 8)
    ln.manual_seed(0)
    firsts = {int(next(iter(loader))[0][0, 0]) for _ in range(20)}
    assert len(firsts) > 1 and all(0 <= f < 8 for f in firsts)  # a new offset below seq_len each epoch
    assert int(next(iter(StreamLoader(ids, 4, 8, random_offset=False)))[0][0, 0]) == 0
    assert int(next(iter(StreamLoader(ids[:100], 4, 8)))[0][0, 0]) == 0  # too short for an offset
    with pytest.raises(ValueError, match="seq_len"):
        StreamLoader(ids, 4, 0)


def test_tbptt_learns_and_logs(tmp_path):
    vocab, ids = _vocab_ids()
    model = DecayLM(len(vocab))
    before = evaluate_lm(model, ids[-120:])
    opt = optim.Adam(model.parameters(), lr=0.05)
    trainer = lm_trainer(model, opt, clip_grad_norm=1.0, callbacks=[CSVLogger(tmp_path / "h.csv")])
    hist = trainer.fit(ids[:-120], epochs=3, batch_size=4, val_data=ids[-120:])
    assert len(hist.history["loss"]) == 3 and hist.history["val_loss"][-1] < before - 1.0
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert set(hist.history) == {"loss", "val_loss", "lr", "seconds"}
    assert hist.history["seconds"] == sorted(hist.history["seconds"])
    assert (tmp_path / "h.csv").read_text().splitlines()[0].startswith("epoch,loss")
    assert 3 * (trainer.params["steps"] - 1) <= trainer.global_step <= 3 * trainer.params["steps"]
    assert hist.history["val_loss"][-1] == evaluate_lm(model, ids[-120:])  # validation: straight through


class StateLog(nn.Module):
    """DecayLM that records whether each call got a state, and whether that state was part of a graph."""

    def __init__(self, vocab_size):
        super().__init__()
        self.lm, self.calls = DecayLM(vocab_size), []

    def forward(self, x, state=None):
        if self.training:
            self.calls.append(None if state is None else state.grad_fn is None)
        return self.lm(x, state)


def test_tbptt_carries_detaches_and_resets_the_state():
    vocab, ids = _vocab_ids()
    model = StateLog(len(vocab))
    trainer = lm_trainer(model, optim.SGD(model.parameters(), lr=0.1))
    trainer.fit(ids, epochs=2, batch_size=4, shuffle=False)
    n = trainer.params["steps"]
    # each epoch: a fresh state, then the previous chunk's state, cut from its graph
    assert model.calls == ([None] + [True] * (n - 1)) * 2


def test_tbptt_clips_the_gradient_norm():
    vocab, ids = _vocab_ids()
    model = DecayLM(len(vocab))
    start = [p.array.copy() for p in model.parameters()]
    trainer = lm_trainer(model, optim.SGD(model.parameters(), lr=1.0), clip_grad_norm=1e-3)
    trainer.fit(ids, epochs=1, batch_size=4)
    moved = np.sqrt(sum(float(((p.array - s) ** 2).sum()) for p, s in zip(model.parameters(), start)))
    assert 0 < moved <= trainer.global_step * 1e-3 * 1.0001


def test_tbptt_time_limit_stops_after_a_step():
    vocab, ids = _vocab_ids()
    model = DecayLM(len(vocab))
    trainer = lm_trainer(model, optim.Adam(model.parameters()))
    hist = trainer.fit(ids, epochs=5, batch_size=4, val_data=ids[:50], max_seconds=0.0)
    assert trainer.global_step == 1 and len(hist.history["val_loss"]) == 1


def test_tbptt_resumes_bit_for_bit(tmp_path):
    vocab, ids = _vocab_ids()

    def run(epochs, resume, ckpt):
        ln.manual_seed(5)
        model = DecayLM(len(vocab))
        opt = optim.Adam(model.parameters(), lr=0.01)
        sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)
        hist = lm_trainer(model, opt, scheduler=sched, scheduler_interval="step").fit(
            ids, epochs, batch_size=4, val_data=ids[:40], checkpoint=ckpt, resume=resume)
        return model, hist

    straight, h1 = run(3, None, None)
    ckpt = tmp_path / "ck.safetensors"
    run(1, None, ckpt)
    resumed, h2 = run(3, True, ckpt)
    for a, b in zip(straight.parameters(), resumed.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    assert h1.history["loss"] == h2.history["loss"] and h1.history["val_loss"] == h2.history["val_loss"]


def test_train_char_lm_resumes_bit_for_bit(tmp_path):
    from lucidnet.text.recipes import train_char_lm

    text = TEXT * 4
    kw = dict(overrides={"hidden_size": 8, "embed_dim": 4, "num_layers": 1, "epochs": 2, "batch_size": 4,
                         "seq_len": 8}, verbose=0)
    ln.manual_seed(0)
    straight = train_char_lm("char-lstm", text, TEXT, **kw)
    ckpt = tmp_path / "lm.safetensors"

    class Kill(Callback):  # the run dies as the second epoch starts, after the first one's checkpoint
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    ln.manual_seed(0)
    with pytest.raises(KeyboardInterrupt):
        train_char_lm("char-lstm", text, TEXT, **kw, checkpoint=ckpt, callbacks=[Kill()])
    ln.manual_seed(123)  # the checkpoint restores the generator
    resumed = train_char_lm("char-lstm", text, TEXT, **kw, checkpoint=ckpt, resume=True)
    assert resumed.history.history["loss"] == straight.history.history["loss"]
    assert resumed.metrics["val_loss"] == straight.metrics["val_loss"]
    for a, b in zip(straight.model.parameters(), resumed.model.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_tbptt_step_rejects_bad_settings():
    with pytest.raises(ValueError, match="seq_len"):
        TBPTTStep(seq_len=0)


def test_generate_prompt_length_temperature_and_errors():
    vocab, ids = _vocab_ids()
    model = DecayLM(len(vocab))
    lm_trainer(model, optim.Adam(model.parameters(), lr=0.05)).fit(ids, 2, batch_size=4)
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



class TickLM(DecayLM):
    """DecayLM on a fake clock: each training forward takes 1 second, each validation forward 100."""

    def __init__(self, vocab_size, now):
        super().__init__(vocab_size)
        self.now = now

    def forward(self, x, state=None):
        self.now[0] += 1.0 if self.training else 100.0
        return super().forward(x, state)


class LRLog(Callback):
    def __init__(self):
        self.lrs = []

    def on_batch_begin(self, batch, logs=None):
        self.lrs.append(self.trainer.current_lr())


def _timed_run(ids, budget, epochs, ckpt=None, resume=None):
    ln.manual_seed(3)
    now = [0.0]
    model = TickLM(12, now)
    opt = optim.Adam(model.parameters(), lr=0.1)
    sched = optim.lr_scheduler.CosineAnnealingTimeLR(opt, budget, clock=lambda: now[0])
    log = LRLog()
    trainer = Trainer(model, optimizer=opt, step=TBPTTStep(8), scheduler=sched, scheduler_interval="step",
                      callbacks=[log], verbose=0, clock=lambda: now[0])
    hist = trainer.fit(ids, epochs, batch_size=4, val_data=ids[:40], checkpoint=ckpt, resume=resume)
    return trainer, hist, log.lrs, model


def test_time_cosine_anneals_over_training_time_only():
    ids = np.arange(400) % 12
    n = len(StreamLoader(ids, 4, 8))
    budget = n + 3.0  # one epoch and three steps of training time; validation (100 s a call) is not counted
    trainer, hist, lrs, _ = _timed_run(ids, budget, epochs=100)
    assert trainer.global_step == n + 3 and hist.history["seconds"] == [float(n), float(n + 3)]
    # the lr of step j: the cosine at the training time before it
    expected = [0.1 * 0.5 * (1.0 + np.cos(np.pi * min(1.0, j / budget))) for j in range(n + 3)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12, atol=1e-15)
    assert trainer.optimizer.param_groups[0]["lr"] == 0.0 and trainer.scheduler.done


def test_time_budget_resumes_bit_for_bit(tmp_path):
    ids = np.arange(400) % 12
    budget = len(StreamLoader(ids, 4, 8)) * 2.5
    _, h1, lrs1, straight = _timed_run(ids, budget, epochs=10)
    ckpt = tmp_path / "t.safetensors"
    _timed_run(ids, budget, epochs=1, ckpt=ckpt)
    _, h2, lrs2, resumed = _timed_run(ids, budget, epochs=10, ckpt=ckpt, resume=True)
    assert h2.history == h1.history and lrs1[-len(lrs2):] == lrs2
    for a, b in zip(straight.parameters(), resumed.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
