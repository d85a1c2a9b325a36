"""``fit(val_check_interval=...)``: validation inside the epochs (Lightning's ``val_check_interval``, Hugging Face's
``eval_steps``), the best of every validation kept by ``EarlyStopping(restore_best_weights=True)``, a resumed run
validating where an uninterrupted one does, and bad values refused."""
import argparse
import math

import numpy as np
import pytest
from helpers import separable_data

import lucidnet as ln
from lucidnet import nn
from lucidnet.cli.train import val_check_interval_arg
from lucidnet.data import DataLoader, TensorDataset
from lucidnet.train import Callback, CSVLogger, EarlyStopping, Trainer
from lucidnet.train.rundir import read_history, read_validations
from lucidnet.train.steps import SupervisedStep
from lucidnet.train.val_check import in_epoch_points


def data(n=100, seed=0):
    return separable_data(n, seed)


def model_and_opt(seed=0, lr=0.3):
    ln.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    return model, ln.optim.SGD(model.parameters(), lr=lr)


class Where(Callback):
    """Records (epoch, global step, batch in epoch, in epoch?) and the weights at every validation."""

    def __init__(self):
        self.points, self.weights = [], {}

    def on_validation_end(self, logs=None):
        t = self.trainer
        self.points.append((t.epoch, t.global_step, t.batch_in_epoch, t.validating_in_epoch))
        self.weights[t.global_step] = {k: v.clone() for k, v in t.model.state_dict().items()}


class Counted(SupervisedStep):
    """The default step, counting its validations; ``scores``: the val_score each returns, in turn."""

    def __init__(self, scores=None):
        self.evaluations, self.scores = 0, scores

    def evaluate(self, trainer, val):
        self.evaluations += 1
        logs = trainer.evaluate(val)
        if self.scores is not None:
            logs["score"] = self.scores[self.evaluations - 1]
        return logs


@pytest.mark.parametrize("interval, steps, expected", [
    (3, 10, [3, 6, 9]), (5, 10, [5]), (10, 10, []), (50, 10, []), (1, 3, [1, 2]),
    (0.25, 10, [3, 5, 8]), (0.5, 7, [4]), (1.0, 10, []), (0.3, 10, [3, 6, 9]), (0.25, 2105, [526, 1053, 1579])])
def test_in_epoch_points(interval, steps, expected):
    at = in_epoch_points(interval, steps)
    assert [i for i in range(1, steps + 1) if at(i)] == expected


def test_validates_at_the_right_steps_and_once_at_each_epoch_end():
    x, y = data()
    model, opt = model_and_opt()
    where, step = Where(), Counted()
    h = Trainer(model, "cross_entropy", opt, step=step, verbose=0).fit(
        (x, y), epochs=2, batch_size=10, shuffle=False, val_data=(x, y), val_check_interval=5, callbacks=[where])
    # 10 batches an epoch: after batch 5 (inside) and at the end (batch 10, not twice)
    assert where.points == [(0, 5, 5, True), (0, 10, 10, False), (1, 15, 5, True), (1, 20, 10, False)]
    assert step.evaluations == 4
    assert [(v["epoch"], v["step"]) for v in h.validations] == [(0, 5), (0, 10), (1, 15), (1, 20)]
    # the epoch logs carry the epoch end's validation, the in-epoch ones their own (other weights)
    assert h.history["val_loss"] == [h.validations[1]["val_loss"], h.validations[3]["val_loss"]]
    assert h.validations[0]["val_loss"] != h.validations[1]["val_loss"]
    # a float: fractions of the epoch
    where = Where()
    model, opt = model_and_opt()
    Trainer(model, "cross_entropy", opt, verbose=0).fit(
        (x, y), epochs=1, batch_size=10, val_data=(x, y), val_check_interval=0.25, callbacks=[where])
    assert [p[1] for p in where.points] == [3, 5, 8, 10]


def test_the_best_validation_inside_an_epoch_is_kept():
    x, y = data()
    model, opt = model_and_opt()
    where = Where()
    # scripted scores: the best (0.9) is the second validation, in the middle of epoch 1
    step = Counted(scores=[0.1, 0.9, 0.3, 0.2, 0.5, 0.4])
    stop = EarlyStopping("val_score", mode="max", patience=5, restore_best_weights=True)
    h = Trainer(model, "cross_entropy", opt, step=step, verbose=0).fit(
        (x, y), epochs=2, batch_size=10, val_data=(x, y), val_check_interval=4, callbacks=[where, stop])
    assert [p[1] for p in where.points] == [4, 8, 10, 14, 18, 20]
    assert (stop.best, stop.best_epoch, stop.best_step) == (0.9, 0, 8)
    for k, v in model.state_dict().items():  # the weights after step 8, not those of the end
        assert np.array_equal(v, where.weights[8][k]), k
    assert not np.array_equal(where.weights[8]["0.weight"], where.weights[20]["0.weight"])
    assert h.history["val_score"] == [0.3, 0.4]


def test_patience_counts_epochs_improved_by_any_of_their_validations():
    x, y = data()
    # epoch 1: 0.5 then 0.4 (improved at its first); epoch 2: 0.45, 0.3 (no improvement) -> stops after it
    step = Counted(scores=[0.5, 0.4, 0.45, 0.3, 0.9, 0.9])
    model, opt = model_and_opt()
    stop = EarlyStopping("val_score", mode="max", patience=1)
    h = Trainer(model, "cross_entropy", opt, step=step, verbose=0).fit(
        (x, y), epochs=3, batch_size=10, val_data=(x, y), val_check_interval=0.5, callbacks=[stop])
    assert h.epoch == [0, 1] and stop.stopped_epoch == 1 and (stop.best, stop.best_step) == (0.5, 5)


class Killed(Exception):
    pass


class Crash(Callback):
    def __init__(self, at):
        self.at = at

    def on_batch_end(self, batch, logs=None):
        if self.trainer.global_step == self.at:
            raise Killed


# mid-epoch (checkpoint of step 12); mid-epoch after a validation past the checkpoint (16; validated at 19, then
# killed: that row of the validations file is dropped and written again); after an epoch end (20)
@pytest.mark.parametrize("crash_at", [14, 19, 21])
def test_a_resumed_run_validates_and_keeps_the_best_as_one_that_never_stopped(tmp_path, crash_at):
    x, y = data(120)

    def run(ckpt, callbacks=(), resume=None):
        model, opt = model_and_opt(lr=0.5)
        loader = DataLoader(TensorDataset(x[:100], y[:100]), batch_size=10, shuffle=True)
        where = Where()
        stop = EarlyStopping("val_loss", patience=10, restore_best_weights=True)
        log = CSVLogger(ckpt.with_suffix(".csv"), validations=ckpt.with_suffix(".validations.csv"))
        h = Trainer(model, "cross_entropy", opt, verbose=0).fit(
            loader, epochs=3, val_data=(x[100:], y[100:]), val_check_interval=3, checkpoint=ckpt,
            checkpoint_every=4, resume=resume, callbacks=[*callbacks, where, stop, log])
        return model, h, stop, where

    full_model, full_h, full_stop, _ = run(tmp_path / "a.ckpt")
    ckpt = tmp_path / "b.ckpt"
    with pytest.raises(Killed):
        run(ckpt, [Crash(crash_at)])
    model, h, stop, where = run(ckpt, resume=True)
    assert where.points[0][1] == {14: 13, 19: 19, 21: 23}[crash_at]  # the first validation after the checkpoint
    assert h.validations == full_h.validations and len(h.validations) == 12
    assert (stop.best, stop.best_epoch, stop.best_step) == (full_stop.best, full_stop.best_epoch, full_stop.best_step)
    for (k, a), b in zip(full_model.state_dict().items(), model.state_dict().values()):
        assert np.array_equal(a, b), k
    # the files of the resumed run: the rows before the crash kept, those after it written once
    for name in ("csv", "validations.csv"):
        assert (tmp_path / f"b.{name}").read_text() == (tmp_path / f"a.{name}").read_text(), name
    assert len(read_validations(tmp_path / "b.validations.csv")["step"]) == 12


def test_csv_logger_writes_every_validation_with_its_step_and_fractional_epoch(tmp_path):
    x, y = data()
    model, opt = model_and_opt()
    log = CSVLogger(tmp_path / "history.csv", validations=tmp_path / "validations.csv")
    h = Trainer(model, "cross_entropy", opt, metrics=["accuracy"], verbose=0).fit(
        (x, y), epochs=2, batch_size=25, val_data=(x, y), val_check_interval=0.5, callbacks=[log])
    v = read_validations(tmp_path / "validations.csv")
    assert v["step"] == [2, 4, 6, 8] and v["epoch"] == [0.5, 1.0, 1.5, 2.0]
    assert v["val_loss"] == pytest.approx([e["val_loss"] for e in h.validations], rel=1e-12)
    assert set(v) == {"step", "epoch", "val_loss", "val_accuracy"}
    history = read_history(tmp_path / "history.csv")  # the epochs' file: its ends only, as before
    assert history["val_loss"] == [v["val_loss"][1], v["val_loss"][3]] and len(history["loss"]) == 2


@pytest.mark.parametrize("bad", [0, -3, True, 1.5, 0.0, -0.25, math.nan, math.inf, "4", 2.0])
def test_bad_values_are_refused(bad):
    x, y = data(20)
    model, opt = model_and_opt()
    with pytest.raises(ValueError, match=r"val_check_interval must be a positive int \(a number of batches\) or a "
                                         r"float in \(0, 1\]"):
        ln.fit(model, (x, y), loss="cross_entropy", optimizer=opt, val_data=(x, y), val_check_interval=bad,
               verbose=0)


def test_refused_without_validation_data_or_a_loader_length():
    x, y = data(20)
    model, opt = model_and_opt()
    with pytest.raises(ValueError, match="val_check_interval validates inside the epochs; it needs val_data"):
        ln.fit(model, (x, y), loss="cross_entropy", optimizer=opt, val_check_interval=2, verbose=0)

    def batches():  # a loader without a length
        for i in range(0, 20, 5):
            yield x[i:i + 5], y[i:i + 5]

    class Unsized:
        def __iter__(self):
            return batches()

    with pytest.raises(ValueError, match="val_check_interval=0.5 is a fraction of an epoch, but the training loader "
                                         "has no length; give a number of batches"):
        ln.fit(model, Unsized(), loss="cross_entropy", optimizer=opt, val_data=(x, y), val_check_interval=0.5,
               verbose=0)
    h = ln.fit(model, Unsized(), loss="cross_entropy", optimizer=opt, val_data=(x, y), val_check_interval=2,
               verbose=0)  # an int works: after batch 2, and at the end (batch 4: not repeated)
    assert [v["step"] for v in h.validations] == [2, 4]


def test_cli_type():
    assert val_check_interval_arg("500") == 500 and val_check_interval_arg("0.25") == 0.25
    assert val_check_interval_arg("1") == 1 and val_check_interval_arg("1.0") == 1.0
    for bad in ("0", "-1", "1.5", "nan", "four", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="expected a number of batches"):
            val_check_interval_arg(bad)
