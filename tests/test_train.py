"""The training loop: fit / evaluate / predict, History, schedulers, data forms, checkpoint and resume
(including a run killed with SIGKILL mid-epoch and resumed to bit-identical weights)."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import lucidnet as ln
from lucidnet import nn
from lucidnet.data import DataLoader, TensorDataset
from lucidnet.serialization import load_checkpoint
from lucidnet.train import Callback, Trainer


def blobs(n=300, seed=0, classes=3, dim=4):
    """Well-separated Gaussian blobs: a classification problem a small MLP solves almost perfectly."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=4.0, size=(classes, dim))
    y = rng.integers(0, classes, size=n)
    x = (centers[y] + rng.normal(size=(n, dim))).astype(np.float32)
    return x, y


def mlp(dim=4, classes=3, hidden=16, p=0.0):
    layers = [nn.Linear(dim, hidden), nn.ReLU()] + ([nn.Dropout(p)] if p else []) + [nn.Linear(hidden, classes)]
    return nn.Sequential(*layers)


class Recorder(Callback):
    """Records the hooks called, and the weights at every epoch end."""

    def __init__(self):
        self.calls, self.weights, self.modes = [], [], []

    def on_train_begin(self, logs=None):
        self.calls.append("train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(f"epoch_begin{epoch}")

    def on_batch_begin(self, batch, logs=None):
        self.modes.append(self.model.training)

    def on_batch_end(self, batch, logs=None):
        self.calls.append(f"batch{batch}")
        assert set(logs) == {"loss", "size"}

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(f"epoch_end{epoch}")
        self.weights.append(self.model.state_dict())

    def on_train_end(self, logs=None):
        self.calls.append("train_end")


# ---- fit, evaluate, predict -------------------------------------------------------------------------

def test_fit_converges_and_history_has_every_key():
    x, y = blobs()
    model = mlp()
    rec = Recorder()
    h = ln.fit(model, (x[:240], y[:240]), loss="cross_entropy", optimizer="adam", lr=0.01, epochs=6,
               val_data=(x[240:], y[240:]), batch_size=32, callbacks=[rec], verbose=0)
    assert isinstance(h, ln.train.History)
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert all(len(v) == 6 for v in h.history.values()) and h.epoch == list(range(6))
    assert h.history["val_accuracy"][-1] > 0.95 and h.history["accuracy"][-1] > 0.95
    assert h.history["loss"][-1] < h.history["loss"][0] / 3
    assert h.history["lr"] == [0.01] * 6
    assert all(type(v) is float for v in h.history["loss"])
    # hooks in order: 8 batches per epoch (240 / 32)
    assert rec.calls[:3] == ["train_begin", "epoch_begin0", "batch0"]
    assert rec.calls[9:11] == ["batch7", "epoch_end0"] and rec.calls[-1] == "train_end"
    assert all(rec.modes)  # training batches run in train mode
    assert all(p.dtype == np.float32 for p in model.parameters())
    assert h.params["epochs"] == 6 and h.params["steps"] == 8


def test_epoch_loss_is_the_sample_weighted_mean_and_val_matches_evaluate():
    x, y = blobs(n=70)
    model = mlp()
    batch_losses = []

    class Losses(Callback):
        def on_batch_end(self, batch, logs=None):
            batch_losses.append((logs["loss"], logs["size"]))

    h = ln.fit(model, (x, y), loss="cross_entropy", optimizer=ln.optim.SGD(model.parameters(), lr=0.0),
               epochs=1, batch_size=32, callbacks=[Losses()], val_data=(x, y), verbose=0)
    assert [n for _, n in batch_losses] == [32, 32, 6]
    expected = sum(v * n for v, n in batch_losses) / 70
    assert h.history["loss"][0] == pytest.approx(expected, rel=1e-12)
    # lr 0: the weights did not move, so the validation loss is the exact loss over the same data
    ev = ln.evaluate(model, (x, y), loss="cross_entropy", batch_size=7)
    assert h.history["val_loss"][0] == pytest.approx(ev["loss"], rel=1e-6)
    assert h.history["loss"][0] == pytest.approx(ev["loss"], rel=1e-6)
    logits = model(ln.tensor(x)).numpy()
    assert ev["accuracy"] == pytest.approx(np.mean(logits.argmax(1) == y))


def test_validation_runs_in_eval_mode_under_no_grad():
    seen = []

    class Probe(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            seen.append((self.training, ln.is_grad_enabled()))
            return self.fc(x)

    x, y = blobs(n=40)
    model = Probe()
    ln.fit(model, (x, y), loss="cross_entropy", epochs=1, batch_size=20, val_data=(x, y), verbose=0)
    assert seen == [(True, True)] * 2 + [(False, False)] * 2
    assert model.training  # the model's mode is put back after fit


def test_predict_and_evaluate():
    x, y = blobs(n=50)
    model = mlp(p=0.5)
    model.train()
    pred = ln.predict(model, x, batch_size=16)
    assert pred.shape == (50, 3) and pred.dtype == np.float32
    with ln.no_grad():
        model.eval()
        np.testing.assert_allclose(pred, model(ln.tensor(x)).numpy(), rtol=1e-6)  # eval mode: no dropout
        model.train()
    assert model.training
    # a dataset of (x, y): the target is ignored
    np.testing.assert_allclose(ln.predict(model, TensorDataset(x, y), batch_size=16), pred, rtol=1e-6)
    ev = ln.evaluate(model, DataLoader(TensorDataset(x, y), batch_size=8), loss="cross_entropy",
                     metrics=["accuracy", "top2_accuracy", "f1"])
    assert set(ev) == {"loss", "accuracy", "top2_accuracy", "f1"}
    assert ev["top2_accuracy"] >= ev["accuracy"]
    with pytest.raises(ValueError, match="give a loss or metrics"):
        ln.evaluate(model, (x, y))


def test_multi_input_model_regression_and_tuple_data():
    """(users, items, ratings): the last array is the target, the others are the model's inputs."""
    rng = np.random.default_rng(1)
    users, items = rng.integers(0, 10, 400), rng.integers(0, 12, 400)
    u_true, i_true = rng.normal(size=10), rng.normal(size=12)
    ratings = (u_true[users] + i_true[items]).astype(np.float32)

    class Biases(nn.Module):
        def __init__(self):
            super().__init__()
            self.u = nn.Parameter(ln.zeros(10))
            self.i = nn.Parameter(ln.zeros(12))

        def forward(self, u, i):
            return self.u[u] + self.i[i]

    model = Biases()
    h = ln.fit(model, (users, items, ratings), loss="mse", optimizer="adam", lr=0.1, epochs=15, batch_size=50,
               metrics=["mae", "rmse"], verbose=0)
    assert set(h.history) == {"loss", "mae", "rmse", "lr"}  # no accuracy for a regression loss
    assert h.history["rmse"][-1] < 0.1
    assert h.history["loss"][-1] == pytest.approx(h.history["rmse"][-1] ** 2, rel=1e-5)  # both exact epoch MSEs
    pred = ln.predict(model, (users[:5], items[:5]))
    np.testing.assert_allclose(pred, ratings[:5], atol=0.3)


def test_loss_forms_and_errors():
    x, y = blobs(n=60)
    model = mlp()
    h = ln.fit(model, (x, y), loss=nn.CrossEntropyLoss(), epochs=1, verbose=0)
    assert "accuracy" in h.history  # a loss module is recognised as a classification loss
    h = ln.fit(model, (x, y), loss=lambda o, t: ln.nn.functional.cross_entropy(o, t), metrics=["accuracy"],
               epochs=1, verbose=0)
    assert set(h.history) == {"loss", "accuracy", "lr"}
    with pytest.raises(ValueError, match="unknown loss 'crossentropy'"):
        ln.fit(model, (x, y), loss="crossentropy", verbose=0)
    with pytest.raises(ValueError, match="the loss must return a scalar Tensor"):
        ln.fit(model, (x, y), loss=lambda o, t: ln.nn.functional.cross_entropy(o, t, reduction="none"),
               verbose=0)
    with pytest.raises(ValueError, match="different lengths"):
        ln.fit(model, (x, y[:-1]), loss="cross_entropy", verbose=0)
    with pytest.raises(TypeError, match="expected a DataLoader, a Dataset, or arrays"):
        ln.fit(model, 3, loss="cross_entropy", verbose=0)
    with pytest.raises(ValueError, match="unknown optimizer 'adamm'"):
        ln.fit(model, (x, y), loss="cross_entropy", optimizer="adamm", verbose=0)
    with pytest.raises(ValueError, match="share the name"):
        ln.fit(model, (x, y), loss="cross_entropy", metrics=["accuracy", "accuracy"], verbose=0)


def test_binary_logits_accuracy_uses_threshold_zero():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(200, 3)).astype(np.float32)
    y = (x[:, 0] - x[:, 1] > 0).astype(np.float32)[:, None]
    model = nn.Linear(3, 1)
    h = ln.fit(model, (x, y), loss="bce_with_logits", optimizer="adam", lr=0.05, epochs=10, verbose=0)
    logits = ln.predict(model, x)
    assert h.history["accuracy"][-1] > 0.9
    tr = Trainer(model, "bce_with_logits")
    assert tr.evaluate((x, y))["accuracy"] == pytest.approx(np.mean((logits > 0) == (y > 0.5)))


def test_trainer_is_reusable_and_the_doc_loop_runs():
    x, y = blobs(n=100)
    model = mlp()
    tr = Trainer(model, loss="cross_entropy", optimizer=ln.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                 metrics=["accuracy"], verbose=0, clip_grad_norm=1.0)
    h1 = tr.fit((x, y), epochs=2, batch_size=25)
    h2 = tr.fit((x, y), epochs=3, batch_size=25)
    assert len(h1) == 2 and len(h2) == 3 and tr.global_step == 12
    assert tr.evaluate((x, y))["accuracy"] > 0.9


def test_keys_added_by_callbacks_reach_the_history_and_the_checkpoint(tmp_path):
    class Double(Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["double_loss"] = 2 * logs["loss"]

    x, y = blobs(n=40)
    h = ln.fit(mlp(), TensorDataset(x, y), loss="cross_entropy", epochs=2, batch_size=8, callbacks=[Double()],
               checkpoint=tmp_path / "c.ckpt", verbose=0)
    assert h.history["double_loss"] == [2 * v for v in h.history["loss"]]
    assert load_checkpoint(tmp_path / "c.ckpt")["history"]["history"] == h.history


# ---- learning-rate schedules ------------------------------------------------------------------------

def test_scheduler_per_epoch_and_per_step():
    x, y = blobs(n=64)
    model = mlp()
    opt = ln.optim.SGD(model.parameters(), lr=0.1)
    sched = ln.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    h = ln.fit(model, (x, y), loss="cross_entropy", optimizer=opt, scheduler=sched, epochs=5, batch_size=16,
               verbose=0)
    np.testing.assert_allclose(h.history["lr"], [0.1, 0.1, 0.05, 0.05, 0.025])
    opt = ln.optim.SGD(model.parameters(), lr=0.1)
    sched = ln.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)  # 4 steps per epoch
    h = ln.fit(model, (x, y), loss="cross_entropy", optimizer=opt, scheduler=sched, scheduler_interval="step",
               epochs=2, batch_size=16, verbose=0)
    # the lr in use at the end of each epoch: after 4 steps 0.1*0.5 (step 3), after 8 steps 0.1*0.25 (step 6)
    np.testing.assert_allclose(h.history["lr"], [0.05, 0.025])


def test_reduce_lr_on_plateau_gets_the_monitored_metric():
    x, y = blobs(n=64)
    model = mlp()
    opt = ln.optim.SGD(model.parameters(), lr=1.0)
    # the loss is scaled by zero: no gradient, nothing learns, val_loss stays 0 and never improves
    sched = ln.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=0)
    h = ln.fit(model, (x, y), loss=lambda o, t: ln.nn.functional.cross_entropy(o, t) * 0.0, optimizer=opt,
               scheduler=sched, epochs=4, val_data=(x, y), verbose=0, metrics=[])
    # epoch 0 sets the best; each later epoch is no better -> halve (patience 0)
    np.testing.assert_allclose(h.history["lr"], [1.0, 1.0, 0.5, 0.25])
    assert sched.last_epoch == 4


# ---- checkpoints and resume --------------------------------------------------------------------------

def _run(tmp_path, epochs, resume=False, seed=11):
    ln.manual_seed(seed)
    x, y = blobs(n=90, seed=3)
    model = mlp(p=0.3)
    opt = ln.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    sched = ln.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.8)
    h = ln.fit(model, (x, y), loss="cross_entropy", optimizer=opt, scheduler=sched, epochs=epochs, batch_size=16,
               val_data=(x[:30], y[:30]), metrics=["accuracy", "f1"],
               callbacks=[ln.train.CSVLogger(tmp_path / "log.csv"),
                          ln.train.EarlyStopping("val_loss", patience=10)],
               checkpoint=tmp_path / "run.ckpt", resume=resume, verbose=0)
    return model, h


def test_resume_after_finished_epochs_continues_bit_identically(tmp_path):
    full_model, full_h = _run(tmp_path / "a", epochs=4)
    _run(tmp_path / "b", epochs=2)                      # stops after 2 epochs (checkpoint at the epoch end)
    ck = load_checkpoint(tmp_path / "b" / "run.ckpt")
    assert ck["epoch"] == 2 and ck["step"] == 12 and ck["extra"]["in_epoch"] is False
    model, h = _run(tmp_path / "b", epochs=4, resume=True, seed=999)  # a different seed: the RNG is restored
    for (k, a), b in zip(full_model.state_dict().items(), model.state_dict().values()):
        assert np.array_equal(a, b), k
    assert h.history == full_h.history and h.epoch == [0, 1, 2, 3]
    with open(tmp_path / "b" / "log.csv") as f:
        rows = f.read().splitlines()
    with open(tmp_path / "a" / "log.csv") as f:
        assert rows == f.read().splitlines()  # the resumed CSV continues the first run's rows
    assert rows[0].split(",") == ["epoch", "loss", "accuracy", "f1", "val_loss", "val_accuracy", "val_f1", "lr"]
    assert len(rows) == 5


def test_resume_options(tmp_path):
    x, y = blobs(n=40)
    model = mlp()
    # resume=True without a file starts fresh (the first launch of a preemptible job)
    h = ln.fit(model, (x, y), loss="cross_entropy", epochs=1, checkpoint=tmp_path / "c.ckpt", resume=True,
               verbose=0)
    assert len(h) == 1 and os.path.exists(tmp_path / "c.ckpt")
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        ln.fit(model, (x, y), loss="cross_entropy", resume=tmp_path / "missing.ckpt", verbose=0)
    with pytest.raises(ValueError, match="checkpoint_every is given without checkpoint"):
        ln.fit(model, (x, y), loss="cross_entropy", checkpoint_every=2, verbose=0)
    with pytest.raises(ValueError, match="does not fit the model"):
        ln.fit(mlp(hidden=8), (x, y), loss="cross_entropy", resume=tmp_path / "c.ckpt", verbose=0)


_SCRIPT = textwrap.dedent('''
    import json, sys, time
    import numpy as np
    import lucidnet as ln
    from lucidnet.data import DataLoader, TensorDataset

    mode, ckpt, out, pause_at = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    ln.manual_seed(1234)
    rng = np.random.default_rng(7)
    x = rng.normal(size=(200, 6)).astype(np.float32)
    y = (x[:, :3].sum(1) > x[:, 3:].sum(1)).astype(np.int64) + (x[:, 0] > 1).astype(np.int64)
    model = ln.nn.Sequential(ln.nn.Linear(6, 16), ln.nn.ReLU(), ln.nn.Dropout(0.2), ln.nn.Linear(16, 3))
    opt = ln.optim.Adam(model.parameters(), lr=0.01)
    sched = ln.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    loader = DataLoader(TensorDataset(x[:160], y[:160]), batch_size=16, shuffle=True, prefetch=True)

    class Pause(ln.train.Callback):  # parks the run at one step so the test can SIGKILL it there
        def on_batch_end(self, batch, logs=None):
            if self.trainer.global_step == pause_at:
                open(out + ".paused", "w").close()
                time.sleep(600)

    kw = dict(checkpoint=ckpt, checkpoint_every=3) if mode != "plain" else {}
    h = ln.fit(model, loader, loss="cross_entropy", optimizer=opt, epochs=4, val_data=(x[160:], y[160:]),
               metrics=["accuracy", "f1"], scheduler=sched, callbacks=[Pause()], verbose=0,
               resume=(mode == "resume"), **kw)
    ln.save(model.state_dict(), out)
    with open(out + ".json", "w") as f:
        json.dump(h.history, f)
''')


def test_sigkill_mid_epoch_then_resume_is_bit_identical(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(_SCRIPT)
    ckpt, py = str(tmp_path / "run.ckpt"), sys.executable

    def run(mode, out, pause_at=-1):
        subprocess.run([py, str(script), mode, ckpt, str(tmp_path / out), str(pause_at)], check=True, timeout=120)

    run("plain", "plain.st")  # the uninterrupted run, no checkpoints at all
    # 10 steps per epoch, a checkpoint every 3 steps and at each epoch end; park at step 15 (epoch 1, batch 4):
    # the newest checkpoint is then step 12, mid-epoch.
    killed = tmp_path / "killed.st"
    proc = subprocess.Popen([py, str(script), "ckpt", ckpt, str(killed), "15"])
    try:
        deadline = time.monotonic() + 120
        while not os.path.exists(str(killed) + ".paused"):
            assert proc.poll() is None, "the training run ended before it was killed"
            assert time.monotonic() < deadline, "the training run never reached step 15"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not killed.exists()  # it never finished
    ck = load_checkpoint(ckpt)
    assert ck["step"] == 12 and ck["epoch"] == 1
    assert ck["extra"]["in_epoch"] is True and ck["extra"]["batch_in_epoch"] == 2
    assert ck["loader_state_dict"]["position"] == 2 and ck["loader_state_dict"]["permutation"] is not None
    assert len(ck["history"]["epoch"]) == 1

    run("resume", "resumed.st")
    plain, resumed = ln.load(tmp_path / "plain.st"), ln.load(tmp_path / "resumed.st")
    assert list(plain) == list(resumed)
    for k in plain:
        assert plain[k].dtype == resumed[k].dtype == np.float32
        assert plain[k].numpy().tobytes() == resumed[k].numpy().tobytes(), f"{k} differs after resuming"
    with open(tmp_path / "plain.st.json") as f1, open(tmp_path / "resumed.st.json") as f2:
        h_plain, h_resumed = json.load(f1), json.load(f2)
    assert h_plain == h_resumed and len(h_plain["loss"]) == 4
