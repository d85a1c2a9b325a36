"""``train.WeightAveraging``: validations measure the averaged weights, training goes on from the model's own,
the run ends with the average (or the best validated average), and a resumed run ends where one that never
stopped does."""
import numpy as np
import pytest
from helpers import separable_data

import lucidnet as ln
from lucidnet import nn
from lucidnet.data import DataLoader, TensorDataset
from lucidnet.train import Callback, EarlyStopping, Trainer, WeightAveraging


def data(n=120, seed=0):
    return separable_data(n, seed)


def model_and_opt(seed=0, lr=0.5):
    ln.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    return model, ln.optim.SGD(model.parameters(), lr=lr, momentum=0.9)


class Steps(Callback):
    """The model's weights and buffers after every optimizer step, and at every validation."""

    def __init__(self):
        self.after_step, self.at_validation = [], []

    @staticmethod
    def _state(model):
        return {k: np.array(v, copy=True) for k, v in model.state_dict().items()}

    def on_batch_end(self, batch, logs=None):
        self.after_step.append(self._state(self.model))

    def on_validation_end(self, logs=None):
        self.at_validation.append((self.trainer.global_step, self._state(self.model), logs["val_loss"]))


def fit(callbacks, epochs=2, **kw):
    x, y = data()
    model, opt = model_and_opt()
    loader = DataLoader(TensorDataset(x[:100], y[:100]), batch_size=10, shuffle=True)
    trainer = Trainer(model, "cross_entropy", opt, verbose=0)
    trainer.fit(loader, epochs=epochs, val_data=(x[100:], y[100:]), callbacks=callbacks, **kw)
    return model, trainer


def ema(states, decay):
    out = {k: v.astype(np.float64) for k, v in states[0].items()}
    for s in states[1:]:
        for k in out:
            out[k] = decay * out[k] + (1 - decay) * s[k]
    return out


def test_validations_see_the_average_and_training_is_unchanged():
    plain = Steps()
    fit([plain], val_check_interval=3)
    seen = Steps()
    avg = WeightAveraging(decay=0.8)
    model, trainer = fit([avg, seen], val_check_interval=3)
    # the model's own weights after each step are those of a run without averaging (swapping back is exact);
    # after a step that was validated, the model holds the average until the next step begins
    validated = {step for step, _, _ in seen.at_validation}
    assert len(seen.after_step) == len(plain.after_step) == 20 and len(validated) == 8
    for step, (a, b) in enumerate(zip(plain.after_step, seen.after_step), start=1):
        if step not in validated:
            for k in a:
                np.testing.assert_array_equal(a[k], b[k], err_msg=f"step {step} {k}")
    # each validation measured the average of the model's weights after steps 1..step
    for step, state, _ in seen.at_validation:
        want = ema(plain.after_step[:step], 0.8)
        for k in ("0.weight", "3.bias", "1.running_mean"):
            np.testing.assert_allclose(state[k], want[k], rtol=1e-5, atol=1e-6, err_msg=f"step {step} {k}")
    final = ema(plain.after_step, 0.8)  # the run ends with the average of all 20 steps
    np.testing.assert_allclose(model.state_dict()["0.weight"], final["0.weight"], rtol=1e-5, atol=1e-6)


def test_the_best_validated_average_is_restored():
    seen = Steps()
    stop = EarlyStopping("val_loss", patience=10, restore_best_weights=True)
    model, _ = fit([WeightAveraging(decay=0.8), seen, stop], epochs=3, val_check_interval=3)
    best = min(seen.at_validation, key=lambda v: v[2])
    assert stop.best_step == best[0]
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(np.asarray(v), best[1][k], err_msg=k)


def test_equal_average_from_start_step():
    plain = Steps()
    fit([plain])
    model, _ = fit([WeightAveraging(decay=None, start_step=15)])
    want = np.mean([s["0.weight"].astype(np.float64) for s in plain.after_step[15:]], axis=0)
    np.testing.assert_allclose(model.state_dict()["0.weight"], want, rtol=1e-5, atol=1e-6)


class Killed(Exception):
    pass


class Crash(Callback):
    def on_batch_end(self, batch, logs=None):
        if self.trainer.global_step == 14:
            raise Killed


def test_a_resumed_run_ends_as_one_that_never_stopped(tmp_path):
    """The checkpoint of step 12 is written right after a validation, with the average swapped in."""
    def run(ckpt, callbacks=(), resume=None):
        return fit([WeightAveraging(decay=0.8), EarlyStopping("val_loss", patience=10, restore_best_weights=True),
                    *callbacks],
                   epochs=3, val_check_interval=3, checkpoint=ckpt, checkpoint_every=4, resume=resume)[0]

    full = run(tmp_path / "a.ckpt")
    with pytest.raises(Killed):
        run(tmp_path / "b.ckpt", [Crash()])
    resumed = run(tmp_path / "b.ckpt", resume=True)
    for (k, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert np.array_equal(a, b), k


@pytest.mark.parametrize("kw, match", [({"decay": 1.0}, "decay"), ({"decay": True}, "decay"),
                                       ({"start_step": -1}, "start_step")])
def test_bad_values_are_refused(kw, match):
    with pytest.raises(ValueError, match=match):
        WeightAveraging(**kw)
