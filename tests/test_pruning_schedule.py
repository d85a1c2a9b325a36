"""Zhu & Gupta's polynomial sparsity schedule, the GradualPruner that applies it and the fit callback."""
import numpy as np
import pytest

import lucidnet as ln
from lucidnet import nn, pruning
from lucidnet.pruning import GradualPruner, PolynomialSparsity
from lucidnet.train.callbacks import GradualPruning


def test_schedule_values_follow_the_formula():
    s = PolynomialSparsity(0.1, 0.9, begin_step=100, end_step=1100, frequency=100)
    assert s.sparsity(0) == 0.0 and s.sparsity(99) == 0.0
    for t in range(100, 1101, 100):  # s_t = s_f + (s_i - s_f) (1 - (t - t0) / (n dt))^3
        assert s.sparsity(t) == pytest.approx(0.9 + (0.1 - 0.9) * (1 - (t - 100) / 1000) ** 3, abs=1e-12)
        assert s.due(t)
    assert s.sparsity(150) == s.sparsity(100) and s.sparsity(1099) == s.sparsity(1000)  # held between updates
    assert s.sparsity(100) == pytest.approx(0.1) and s.sparsity(5000) == 0.9
    assert not s.due(150) and not s.due(1200) and not s.due(50)
    values = [s.sparsity(t) for t in range(0, 1200, 10)]
    assert values == sorted(values)
    odd = PolynomialSparsity(0.0, 0.5, begin_step=0, end_step=25, frequency=10)
    assert [t for t in range(40) if odd.due(t)] == [0, 10, 20, 25]


@pytest.mark.parametrize("kwargs, match", [
    (dict(initial_sparsity=0.0, final_sparsity=1.0), "final_sparsity must be in"),
    (dict(initial_sparsity=-0.1, final_sparsity=0.5), "initial_sparsity must be in"),
    (dict(initial_sparsity=0.0, final_sparsity=0.5, begin_step=10, end_step=10), "end_step > begin_step"),
    (dict(initial_sparsity=0.0, final_sparsity=0.5, frequency=0), "frequency >= 1"),
    (dict(initial_sparsity=0.0, final_sparsity=0.5, end_step=2.5), "end_step must be a non-negative int"),
])
def test_schedule_refuses_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PolynomialSparsity(**kwargs)


def test_gradual_pruner_reaches_each_target_and_masked_weights_stay_masked():
    ln.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    schedule = PolynomialSparsity(0.0, 0.8, begin_step=0, end_step=40, frequency=10)
    p = GradualPruner(net, schedule)
    assert [n for n, _ in net.named_parameters()] == ["0.bias", "0.weight_orig", "3.bias", "3.weight_orig"]
    assert p.total == 36 + 192 and p.pruned() == 0
    before = None
    for t in range(50):
        p.step(t)
        assert p.pruned() == round(schedule.sparsity(t) * p.total)
        masks = np.concatenate([net[0].weight_mask.array.ravel(), net[3].weight_mask.array.ravel()])
        if before is not None:
            assert np.all(masks[before == 0] == 0)
        before = masks
        for m in (net[0], net[3]):  # training moves weight_orig; the ranking uses today's values
            m.weight_orig.array += 0.01 * np.random.default_rng(t).standard_normal(m.weight_orig.shape)
    # global: the layers lose different fractions, the total is the target
    assert p.sparsity() == pytest.approx(0.8, abs=1 / p.total)
    p.finish()
    assert not pruning.is_pruned(net) and p.sparsity() == pytest.approx(0.8, abs=1 / p.total)


def test_the_first_step_is_global_magnitude_pruning():
    ln.manual_seed(1)
    net = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 2))
    w = np.concatenate([np.abs(net[0].weight.array).ravel(), np.abs(net[2].weight.array).ravel()])
    p = GradualPruner(net, PolynomialSparsity(0.5, 0.6, begin_step=0, end_step=10, frequency=5))
    p.step(0)
    masks = np.concatenate([net[0].weight_mask.array.ravel(), net[2].weight_mask.array.ravel()])
    assert masks.sum() == 20 and w[masks == 0].max() < w[masks == 1].min()


def test_callback_prunes_during_fit_and_makes_it_permanent():
    ln.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    net = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2))
    steps = []

    class Spy(ln.train.callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            steps.append(round(pruner.sparsity(), 4))

    pruner = GradualPruner(net, PolynomialSparsity(0.0, 0.75, begin_step=2, end_step=12, frequency=2))
    hist = ln.fit(net, (x, y), loss="cross_entropy", epochs=8, batch_size=32, verbose=0, lr=0.01,
                  callbacks=[GradualPruning(pruner), Spy()])
    assert steps[:2] == [0.0, 0.0] and steps[12:] == [0.75] * (len(steps) - 12) and steps == sorted(steps)
    assert not pruning.is_pruned(net)
    assert np.mean(np.concatenate([net[0].weight.array.ravel(), net[2].weight.array.ravel()]) == 0) == \
        pytest.approx(0.75, abs=0.01)
    assert hist.history["accuracy"][-1] > 0.8  # it still learns with 75% of its weights gone
    with pytest.raises(TypeError, match="GradualPruner"):
        GradualPruning(object())
