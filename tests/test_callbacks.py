"""Callbacks: EarlyStopping, ModelCheckpoint, CSVLogger, TerminateOnNaN, ProgressBar, LRSchedulerCallback."""
import copy
import csv
import io
import math
import os

import numpy as np
import pytest

import lucidnet as ln
from lucidnet import nn
from lucidnet.train import (Callback, CSVLogger, EarlyStopping, LRSchedulerCallback, ModelCheckpoint, ProgressBar,
                            TerminateOnNaN)


def blobs(n=120, seed=0, classes=3, dim=4):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=4.0, size=(classes, dim))
    y = rng.integers(0, classes, size=n)
    return (centers[y] + rng.normal(size=(n, dim))).astype(np.float32), y


def mlp():
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))


class Script(Callback):
    """Puts a scripted value into the epoch logs (before the callbacks after it see them)."""

    def __init__(self, key, values):
        self.key, self.values = key, values

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


class Weights(Callback):
    def __init__(self):
        self.per_epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.per_epoch.append(copy.deepcopy(self.model.state_dict()))  # state_dict() shares the model's memory


def same_weights(a, b):
    return list(a) == list(b) and all(np.array_equal(a[k], b[k]) for k in a)


# ---- EarlyStopping -----------------------------------------------------------------------------------

def test_early_stopping_stops_after_patience_and_restores_best_weights():
    x, y = blobs()
    model = mlp()
    w = Weights()
    stop = EarlyStopping(monitor="score", patience=2, mode="min", restore_best_weights=True)
    h = ln.fit(model, (x, y), loss="cross_entropy", epochs=10, verbose=0,
               callbacks=[w, Script("score", [5.0, 3.0, 4.0, 3.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]), stop])
    # best at epoch 1; epochs 2 and 3 do not improve -> stop at the end of epoch 3
    assert len(h) == 4 and stop.stopped_epoch == 3 and stop.best_epoch == 1 and stop.best == 3.0
    assert same_weights(model.state_dict(), w.per_epoch[1])
    assert not same_weights(w.per_epoch[3], w.per_epoch[1])


def test_early_stopping_on_a_real_val_loss_that_gets_worse():
    x, y = blobs(n=150)
    model = mlp()
    w = Weights()
    # validation labels are shifted: the better the model learns the training labels, the worse val_loss
    h = ln.fit(model, (x, y), loss="cross_entropy", optimizer="adam", lr=0.02, epochs=30,
               val_data=(x, (y + 1) % 3), callbacks=[w, EarlyStopping(patience=1, restore_best_weights=True)],
               verbose=0)
    assert len(h) < 30
    best = int(np.argmin(h.history["val_loss"]))
    assert len(h) == best + 2  # patience 1: one epoch without improvement
    assert same_weights(model.state_dict(), w.per_epoch[best])
    ev = ln.evaluate(model, (x, (y + 1) % 3), loss="cross_entropy")
    assert ev["loss"] == pytest.approx(h.history["val_loss"][best], rel=1e-6)


def test_early_stopping_modes_min_delta_and_baseline():
    assert EarlyStopping("val_accuracy").mode == "max" and EarlyStopping("val_loss").mode == "min"
    assert EarlyStopping("val_f1").mode == "max" and EarlyStopping("mae").mode == "min"
    x, y = blobs(n=30)
    model = mlp()
    # improvements smaller than min_delta do not count
    stop = EarlyStopping("score", min_delta=0.1, patience=1, mode="max")
    h = ln.fit(model, (x, y), loss="cross_entropy", epochs=6, verbose=0,
               callbacks=[Script("score", [0.5, 0.55, 0.58, 0.9, 1, 1]), stop])
    assert len(h) == 2 and stop.best == 0.5
    # a baseline never beaten stops after patience epochs
    stop = EarlyStopping("score", patience=3, mode="max", baseline=0.9)
    h = ln.fit(model, (x, y), loss="cross_entropy", epochs=8, verbose=0,
               callbacks=[Script("score", [0.5, 0.6, 0.7, 0.8, 0.85, 0.95, 1, 1]), stop])
    assert len(h) == 3
    with pytest.raises(ValueError, match="mode must be"):
        EarlyStopping(mode="up")


def test_early_stopping_warns_on_a_missing_key():
    x, y = blobs(n=30)
    with pytest.warns(RuntimeWarning, match="'val_loss' is not in the logs"):
        h = ln.fit(mlp(), (x, y), loss="cross_entropy", epochs=2, verbose=0, callbacks=[EarlyStopping()])
    assert len(h) == 2


def test_early_stopping_state_round_trips_through_a_checkpoint(tmp_path):
    from lucidnet.serialization import load_checkpoint, save_checkpoint

    model = mlp()
    stop = EarlyStopping("val_loss", restore_best_weights=True)
    stop.wait, stop.best, stop.best_epoch, stop.best_weights = 2, 0.25, 3, model.state_dict()
    save_checkpoint(tmp_path / "c", model=model, extra={"cb": stop.state_dict()})
    other = EarlyStopping("val_loss", restore_best_weights=True)
    other.load_state_dict(load_checkpoint(tmp_path / "c")["extra"]["cb"])
    assert (other.wait, other.best, other.best_epoch) == (2, 0.25, 3)
    assert same_weights(other.best_weights, model.state_dict())


def test_saved_callback_states_match_by_class_when_other_callbacks_come_and_go():
    """A resumed run with a callback more or less (a ProgressBar, a crash hook) before EarlyStopping still gives
    EarlyStopping its state; two of one class keep their order; keys of older checkpoints (position:class) load."""
    from lucidnet.train.callbacks import CallbackList

    first, second = EarlyStopping("val_loss"), EarlyStopping("loss")
    first.wait, first.best, second.wait, second.best = 2, 0.25, 1, 0.5
    saved = CallbackList([Weights(), first, second], trainer=None).state_dict()
    assert set(saved) == {"EarlyStopping#0", "EarlyStopping#1"}
    a, b = EarlyStopping("val_loss"), EarlyStopping("loss")
    CallbackList([a, ProgressBar(0), b], trainer=None).load_state_dict(saved)
    assert (a.wait, a.best, b.wait, b.best) == (2, 0.25, 1, 0.5)
    old = EarlyStopping("val_loss")
    CallbackList([Weights(), old], trainer=None).load_state_dict({"1:EarlyStopping": first.state_dict()})
    assert (old.wait, old.best) == (2, 0.25)


# ---- ModelCheckpoint -----------------------------------------------------------------------------------

def test_model_checkpoint_every_epoch_with_formatted_names(tmp_path):
    x, y = blobs(n=60)
    model = mlp()
    w = Weights()
    path = str(tmp_path / "ckpt" / "m-{epoch:02d}-{val_loss:.3f}.safetensors")
    h = ln.fit(model, (x, y), loss="cross_entropy", epochs=3, val_data=(x, y), verbose=0,
               callbacks=[w, ModelCheckpoint(path)])
    files = sorted(os.listdir(tmp_path / "ckpt"))
    assert files == [f"m-{e + 1:02d}-{h.history['val_loss'][e]:.3f}.safetensors" for e in range(3)]
    for e, name in enumerate(files):
        loaded = ln.load(tmp_path / "ckpt" / name)
        assert same_weights(loaded, w.per_epoch[e])
        fresh = mlp()
        fresh.load_state_dict(loaded)  # a saved file loads into a new model
        assert same_weights(fresh.state_dict(), w.per_epoch[e])


def test_model_checkpoint_save_best_only(tmp_path):
    x, y = blobs(n=60)
    model = mlp()
    w = Weights()
    saves = []

    class Spy(ModelCheckpoint):
        def _save(self, path):
            super()._save(path)
            saves.append(self.trainer.epoch)

    cb = Spy(tmp_path / "best.safetensors", monitor="score", save_best_only=True, mode="max")
    ln.fit(model, (x, y), loss="cross_entropy", epochs=5, verbose=0,
           callbacks=[w, Script("score", [0.5, 0.7, 0.6, 0.8, 0.75]), cb])
    assert saves == [0, 1, 3]
    assert same_weights(ln.load(tmp_path / "best.safetensors"), w.per_epoch[3])
    assert os.listdir(tmp_path) == ["best.safetensors"]  # atomic writes leave no temporary files


def test_model_checkpoint_every_n_batches(tmp_path):
    x, y = blobs(n=64)
    cb = ModelCheckpoint(tmp_path / "b-{epoch}-{batch}.safetensors", save_freq=3)
    ln.fit(mlp(), (x, y), loss="cross_entropy", epochs=2, batch_size=16, verbose=0, callbacks=[cb])
    # 4 steps per epoch: global steps 3 and 6 -> epoch 1 batch 3, epoch 2 batch 2
    assert sorted(os.listdir(tmp_path)) == ["b-1-3.safetensors", "b-2-2.safetensors"]
    with pytest.raises(ValueError, match="save_freq"):
        ModelCheckpoint("x", save_freq=0)


# ---- CSVLogger -----------------------------------------------------------------------------------------

def test_csv_logger_writes_the_history(tmp_path):
    x, y = blobs(n=60)
    path = tmp_path / "logs" / "train.csv"
    h = ln.fit(mlp(), (x, y), loss="cross_entropy", epochs=3, val_data=(x, y), metrics=["accuracy", "f1"],
               verbose=0, callbacks=[CSVLogger(path)])
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["epoch", "loss", "accuracy", "f1", "val_loss", "val_accuracy", "val_f1", "lr"]
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    for key in ("loss", "accuracy", "f1", "val_loss", "val_accuracy", "val_f1", "lr"):
        assert [float(r[key]) for r in rows] == h.history[key]  # full precision
    # append=True adds rows under the same header
    ln.fit(mlp(), (x, y), loss="cross_entropy", epochs=2, val_data=(x, y), metrics=["accuracy", "f1"], verbose=0,
           callbacks=[CSVLogger(path, append=True)])
    with open(path, newline="") as f:
        lines = f.read().splitlines()
    assert len(lines) == 1 + 3 + 2 and lines.count(lines[0]) == 1


def test_csv_logger_skips_arrays(tmp_path):
    x, y = blobs(n=30)
    ln.fit(mlp(), (x, y), loss="cross_entropy", metrics=["accuracy", "confusion_matrix"], epochs=1, verbose=0,
           callbacks=[CSVLogger(tmp_path / "log.csv", separator=";")])
    with open(tmp_path / "log.csv") as f:
        assert f.readline().strip() == "epoch;loss;accuracy;lr"


# ---- TerminateOnNaN ------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_terminate_on_nan_with_a_huge_learning_rate(capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 5)).astype(np.float32)
    y = (x @ rng.normal(size=5)).astype(np.float32)[:, None]
    model = nn.Linear(5, 1)
    batches = []

    class Count(Callback):
        def on_batch_end(self, batch, logs=None):
            batches.append(logs["loss"])

    cb = TerminateOnNaN()
    h = ln.fit(model, (x, y), loss="mse", optimizer=ln.optim.SGD(model.parameters(), lr=1e30), epochs=5,
               batch_size=16, verbose=0, callbacks=[Count(), cb])
    assert cb.terminated and len(h) == 1
    assert not math.isfinite(batches[-1]) and all(math.isfinite(v) for v in batches[:-1])
    assert len(batches) < 16  # stopped inside the first epoch
    assert "invalid loss" in capsys.readouterr().out
    assert not math.isfinite(h.history["loss"][0])
    assert cb.reason.startswith(f"step {len(batches)} (epoch 1, batch {len(batches)}): the loss is ")
    assert "every layer's output was finite: the loss (mse_loss) made it" in cb.reason  # 1e30-sized outputs squared


def test_terminate_on_nan_names_the_layer_that_made_the_nan():
    class Sqrt(nn.Module):
        def forward(self, x):
            return x.sqrt()

    x, y = blobs(n=32)
    cb = TerminateOnNaN(verbose=0)
    with np.errstate(invalid="ignore"):
        ln.fit(nn.Sequential(nn.Linear(4, 8), Sqrt(), nn.Linear(8, 3)), (x, y), loss="cross_entropy", epochs=2,
               batch_size=8, verbose=0, callbacks=[cb])
    assert cb.terminated and cb.reason.startswith("step 1 (epoch 1, batch 1): the loss is nan")
    assert cb.reason.endswith("layer '1' (Sqrt) gave the first non-finite output")


# ---- ProgressBar ---------------------------------------------------------------------------------------

class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal_shows_live_metrics():
    pytest.importorskip("tqdm")
    x, y = blobs(n=64)
    out = FakeTTY()
    ln.fit(mlp(), (x, y), loss="cross_entropy", epochs=2, batch_size=8, verbose=0,
           callbacks=[ProgressBar(verbose=1, file=out, mininterval=0.0)])
    text = out.getvalue()
    assert "Epoch 1/2" in text and "Epoch 2/2" in text and "8/8" in text
    # the bar was redrawn during the epoch with running values, not only at its end
    assert text.count("accuracy: ") > 4 and "lr: " in text


def test_progress_bar_without_a_terminal_prints_one_line_per_epoch():
    x, y = blobs(n=64)
    out = io.StringIO()
    ln.fit(mlp(), (x, y), loss="cross_entropy", epochs=3, val_data=(x, y), verbose=0,
           callbacks=[ProgressBar(verbose=1, file=out)])
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and all(line.startswith(f"Epoch {i + 1}/3 - ") for i, line in enumerate(lines))
    assert "val_accuracy: " in lines[0] and "\r" not in out.getvalue()


def test_verbose_levels(capsys):
    x, y = blobs(n=32)
    ln.fit(mlp(), (x, y), loss="cross_entropy", epochs=2, verbose=0)
    assert capsys.readouterr().out == ""
    ln.fit(mlp(), (x, y), loss="cross_entropy", epochs=2, verbose=1)  # captured output is not a terminal
    assert len(capsys.readouterr().out.splitlines()) == 2
    ln.fit(mlp(), (x, y), loss="cross_entropy", epochs=2, verbose=2)
    assert len(capsys.readouterr().out.splitlines()) == 2
    with pytest.raises(ValueError, match="verbose must be 0, 1 or 2"):
        ln.fit(mlp(), (x, y), loss="cross_entropy", verbose=3)


# ---- LRSchedulerCallback -------------------------------------------------------------------------------

def test_lr_scheduler_callback():
    x, y = blobs(n=32)
    model = mlp()
    opt = ln.optim.SGD(model.parameters(), lr=1.0)
    cb = LRSchedulerCallback(ln.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5))
    h = ln.fit(model, (x, y), loss="cross_entropy", optimizer=opt, epochs=3, verbose=0, callbacks=[cb])
    assert h.history["lr"] == [1.0, 0.5, 0.25] and opt.param_groups[0]["lr"] == 0.125
    assert cb.state_dict()["scheduler"]["last_epoch"] == 3
    plateau = ln.optim.lr_scheduler.ReduceLROnPlateau(opt)
    with pytest.raises(ValueError, match="interval='epoch'"):
        LRSchedulerCallback(plateau, interval="step")
    with pytest.raises(ValueError, match="interval must be"):
        LRSchedulerCallback(cb.scheduler, interval="hour")


def test_callbacks_must_be_callbacks():
    x, y = blobs(n=16)
    with pytest.raises(TypeError, match="expected Callback instances, got function"):
        ln.fit(mlp(), (x, y), loss="cross_entropy", verbose=0, callbacks=[lambda: None])
