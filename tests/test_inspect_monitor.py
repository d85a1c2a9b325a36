"""The Monitor callback: statistics at the right steps, equal to a hand computation, hooks only on the
monitored steps, saved and resumed exactly."""
import copy
import math

import numpy as np
import pytest

import lucidnet as ln
from lucidnet import nn
from lucidnet.inspect import Monitor, MonitorLog


def data(n=64, d=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(d, k))
    x = rng.normal(size=(n, d)).astype(np.float32)
    return x, np.argmax(x @ w, axis=1).astype(np.int64)


def net():
    m = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 3))
    nn.init.constant_(m[0].bias[:4], -100.0)  # four units that never fire
    nn.init.normal_(m[2].weight, 0.0, 3.0)    # tanh mostly in its tails
    return m


def test_statistics_equal_a_hand_computation():
    x, y = data()
    model = net()
    ref = copy.deepcopy(model)
    lr = 0.1
    # the first step by hand: the whole data set is one batch (batch_size = n, no shuffle)
    xt = ln.tensor(x)
    h0 = ref[0](xt)
    a1 = ref[1](h0)
    h2 = ref[2](a1)
    a3 = ref[3](h2)
    out = ref[4](a3)
    ln.nn.functional.cross_entropy(out, ln.tensor(y)).backward()
    w_before = {i: ref[i].weight.array.copy() for i in (0, 2, 4)}
    grads = {i: ref[i].weight.grad.array.copy() for i in (0, 2, 4)}

    monitor = Monitor(every=2, dead_window=1)
    opt = ln.optim.SGD(model.parameters(), lr=lr)
    ln.fit(model, (x, y), loss="cross_entropy", optimizer=opt, epochs=5, batch_size=len(x), shuffle=False,
           callbacks=[monitor], verbose=0)
    log = monitor.log
    assert log.steps == [0, 2, 4] and log.epochs == [0, 2, 4] and len(log.loss) == 5
    assert log.lr == [lr] * 3
    assert list(log.layers) == ["0", "1", "2", "3", "4"]
    assert log.kinds == {"0": "weight", "1": "relu", "2": "weight", "3": "tanh", "4": "weight"}
    assert log.types["1"] == "ReLU" and log.label("3") == "3 (Tanh)"
    L = log.layers
    close = dict(rel=1e-5, abs=1e-7)
    for name, t in (("0", h0), ("1", a1), ("2", h2), ("3", a3), ("4", out)):
        assert L[name]["act_mean"][0] == pytest.approx(float(t.array.mean()), **close), name
        assert L[name]["act_std"][0] == pytest.approx(float(t.array.std()), **close), name
    dead = 1 - (a1.array > 0).any(axis=0).mean()
    assert dead >= 4 / 16 and L["1"]["dead"][0] == pytest.approx(dead)
    sat = (np.abs(a3.array) > 0.99).mean()
    assert sat > 0.3 and L["3"]["saturated"][0] == pytest.approx(sat)
    for i in (0, 2, 4):
        g, w0 = grads[i], w_before[i]
        st = L[str(i)]
        assert st["grad_norm"][0] == pytest.approx(np.linalg.norm(g), rel=1e-5)
        assert st["weight_norm"][0] == pytest.approx(np.linalg.norm(w0 - lr * g), rel=1e-5)
        assert st["update_ratio"][0] == pytest.approx(lr * np.linalg.norm(g) / np.linalg.norm(w0), rel=1e-4)
    assert all(isinstance(v, float) for st in L.values() for vals in st.values() for v in vals)
    assert all(p.dtype == np.float32 for p in model.parameters())


def test_hooks_are_on_only_during_monitored_steps():
    x, y = data()
    model = net()
    hooked = []

    class Spy(ln.train.Callback):
        def on_batch_begin(self, batch, logs=None):
            hooked.append(any(m._forward_hooks for m in self.model.modules()))

    ln.fit(model, (x, y), loss="cross_entropy", epochs=2, batch_size=16, callbacks=[Monitor(every=3), Spy()],
           val_data=(x, y), verbose=0)
    assert hooked == [i % 3 == 0 for i in range(8)]
    assert not any(m._forward_hooks for m in model.modules())


def test_dead_units_are_counted_over_a_window_of_batches():
    """A unit that fires on one sample of the last three monitored batches is alive."""
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    nn.init.eye_(model[0].weight)
    nn.init.zeros_(model[0].bias)
    model[0].requires_grad_(False)  # the ReLU sees the inputs themselves
    x = -np.ones((8, 4), np.float32)  # four batches of two
    x[2, 0] = 1.0  # unit 0 fires in batch 1
    x[7, 3] = 1.0  # unit 3 fires in batch 3
    y = np.zeros(8, np.int64)
    mon = Monitor(every=1, dead_window=3)
    ln.fit(model, (x, y), loss="cross_entropy", optimizer=ln.optim.SGD(model[2].parameters(), lr=0.1),
           batch_size=2, shuffle=False, callbacks=[mon], verbose=0)
    # windows: (0) (0,1) (0,1,2) (1,2,3): unit 0 alive from batch 1 until it leaves the window, unit 3 at batch 3
    assert mon.log.layers["1"]["dead"] == [1.0, 0.75, 0.75, 0.5]
    mon1 = Monitor(every=1, dead_window=1)
    ln.fit(model, (x, y), loss="cross_entropy", optimizer=ln.optim.SGD(model[2].parameters(), lr=0.1),
           batch_size=2, shuffle=False, callbacks=[mon1], verbose=0)
    assert mon1.log.layers["1"]["dead"] == [1.0, 0.75, 1.0, 0.75]


def test_only_the_named_layers_and_clear_errors():
    x, y = data()
    model = net()
    mon = Monitor(every=1, layers=["1", "4"])
    ln.fit(model, (x, y), loss="cross_entropy", epochs=1, batch_size=32, callbacks=[mon], verbose=0)
    assert list(mon.log.layers) == ["1", "4"]
    with pytest.raises(ValueError, match="no layer named"):
        ln.fit(model, (x, y), loss="cross_entropy", callbacks=[Monitor(layers=["9"])], verbose=0)
    with pytest.raises(ValueError, match="every must be a positive int"):
        Monitor(every=0)
    with pytest.raises(ValueError, match="no layer to watch"):
        class Bare(nn.Module):
            def forward(self, x):
                return x
        ln.fit(Bare(), (x, y), loss="mse", optimizer=ln.optim.SGD([ln.zeros(1, requires_grad=True)], lr=0.1),
               callbacks=[Monitor()], verbose=0)


def test_log_round_trips_through_json_with_nan(tmp_path):
    log = MonitorLog()
    log.steps, log.epochs, log.lr, log.loss = [0, 5], [0, 0], [0.1, 0.1], [2.0, math.nan, math.inf]
    log.layers = {"0": {"grad_norm": [1.0, math.nan]}}
    log.types, log.kinds = {"0": "Linear"}, {"0": "weight"}
    log.save(tmp_path / "m.json")
    back = MonitorLog.load(tmp_path / "m.json")
    assert back.steps == [0, 5] and back.loss[0] == 2.0 and math.isnan(back.loss[1]) and back.loss[2] == math.inf
    assert math.isnan(back.layers["0"]["grad_norm"][1]) and back.types == {"0": "Linear"}
    np.testing.assert_array_equal(back.series("0", "grad_norm"), [1.0, np.nan])


def _run(tmp_path, epochs, resume=False):
    ln.manual_seed(5)
    x, y = data(n=96)
    model = net()
    mon = Monitor(every=2)
    ln.fit(model, (x, y), loss="cross_entropy", optimizer="adam", lr=0.01, epochs=epochs, batch_size=16,
           callbacks=[mon], checkpoint=tmp_path / "run.ckpt", checkpoint_every=5, resume=resume, verbose=0)
    return mon.log


def test_a_resumed_run_continues_the_log_exactly(tmp_path):
    full = _run(tmp_path / "a", epochs=3)
    _run(tmp_path / "b", epochs=2)
    resumed = _run(tmp_path / "b", epochs=3, resume=True)
    assert len(resumed.loss) == 18 and resumed.steps == list(range(0, 18, 2))
    a, b = full.to_dict(), resumed.to_dict()
    la, lb = a.pop("layers"), b.pop("layers")
    assert a == b  # steps, epochs, lr, every step's loss, types, kinds
    assert la.keys() == lb.keys()
    for name in la:
        assert la[name].keys() == lb[name].keys()
        for stat in la[name]:
            np.testing.assert_array_equal(la[name][stat], lb[name][stat], err_msg=f"{name} {stat}")
