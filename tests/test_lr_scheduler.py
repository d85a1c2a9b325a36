"""Learning-rate schedulers: lr (and momentum) trajectories against PyTorch's schedulers, state dicts."""
import json

import numpy as np
import pytest
from helpers import parity, torch

import lucidnet as ln
from lucidnet import optim
from lucidnet.optim import lr_scheduler as S

STEPS = 25


def _lucid():
    return optim, S


def _torch():
    th = torch()
    return th.optim, th.optim.lr_scheduler


def _params(lib):
    if lib == "ln":
        return [ln.tensor(np.ones((2, 2), np.float32), requires_grad=True),
                ln.tensor(np.ones(2, np.float32), requires_grad=True)]
    th = torch()
    return [th.ones((2, 2), requires_grad=True), th.ones(2, requires_grad=True)]


def _sgd(O, ps):
    return O.SGD([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.02}], lr=0.1, momentum=0.9)


def _adam(O, ps):
    return O.Adam([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.02}], lr=0.1, betas=(0.9, 0.99))


def _run(make_opt, make_sched, metrics=None, steps=STEPS, lib="ln"):
    """lrs (and momenta / beta1) of every group: after construction, then after each step."""
    O, Sm = _lucid() if lib == "ln" else _torch()
    opt = make_opt(O, _params(lib))
    sched = make_sched(Sm, opt)

    def record():
        row = [g["lr"] for g in opt.param_groups] + list(sched.get_last_lr())
        row += [g["momentum"] if "momentum" in g else g["betas"][0] for g in opt.param_groups]
        return row
    rows = [record()]
    for t in range(steps):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[t])
        rows.append(record())
    return np.array(rows, dtype=np.float64)


def _compare(make_opt, make_sched, metrics=None, steps=STEPS):
    ours = _run(make_opt, make_sched, metrics, steps, "ln")
    theirs = _run(make_opt, make_sched, metrics, steps, "torch")
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=0)
    return ours


CASES = {
    "step": (_sgd, lambda Sm, o: Sm.StepLR(o, step_size=3, gamma=0.5)),
    "multistep": (_sgd, lambda Sm, o: Sm.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3)),
    "constant": (_sgd, lambda Sm, o: Sm.ConstantLR(o, factor=0.25, total_iters=4)),
    "linear-warmup": (_sgd, lambda Sm, o: Sm.LinearLR(o, start_factor=0.1, total_iters=6)),
    "linear-decay": (_adam, lambda Sm, o: Sm.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=10)),
    "exponential": (_adam, lambda Sm, o: Sm.ExponentialLR(o, gamma=0.9)),
    "cosine": (_sgd, lambda Sm, o: Sm.CosineAnnealingLR(o, T_max=10)),
    "cosine-periodic": (_adam, lambda Sm, o: Sm.CosineAnnealingLR(o, T_max=7, eta_min=0.005)),
    "lambda": (_sgd, lambda Sm, o: Sm.LambdaLR(o, lambda e: 1.0 / (1 + e))),
    "lambda-per-group": (_sgd, lambda Sm, o: Sm.LambdaLR(o, [lambda e: 0.95 ** e, lambda e: 1 + e % 3])),
    "sequential-warmup-cosine": (_sgd, lambda Sm, o: Sm.SequentialLR(
        o, [Sm.LinearLR(o, start_factor=0.1, total_iters=5), Sm.CosineAnnealingLR(o, T_max=15)], milestones=[5])),
    "sequential-three": (_adam, lambda Sm, o: Sm.SequentialLR(
        o, [Sm.ConstantLR(o, factor=0.5, total_iters=2), Sm.ExponentialLR(o, gamma=0.8),
            Sm.StepLR(o, step_size=4, gamma=0.5)], milestones=[3, 8])),
    "chained": (_sgd, lambda Sm, o: Sm.ChainedScheduler(
        [Sm.ConstantLR(o, factor=0.5, total_iters=3), Sm.ExponentialLR(o, gamma=0.9)])),
    "onecycle-cos-sgd": (_sgd, lambda Sm, o: Sm.OneCycleLR(o, max_lr=1.0, total_steps=STEPS)),
    "onecycle-linear-adam": (_adam, lambda Sm, o: Sm.OneCycleLR(o, max_lr=[0.5, 0.05], total_steps=STEPS,
                                                                 anneal_strategy="linear", pct_start=0.25)),
    "onecycle-three-phase": (_sgd, lambda Sm, o: Sm.OneCycleLR(o, max_lr=0.8, epochs=5, steps_per_epoch=5,
                                                               three_phase=True, base_momentum=0.8,
                                                               max_momentum=[0.9, 0.99], div_factor=10.0)),
    "onecycle-no-momentum": (_adam, lambda Sm, o: Sm.OneCycleLR(o, max_lr=0.3, total_steps=STEPS + 5,
                                                                cycle_momentum=False, final_div_factor=100.0)),
}


@parity
@pytest.mark.parametrize("case", list(CASES))
def test_lr_trajectory_matches_torch(case):
    make_opt, make_sched = CASES[case]
    rows = _compare(make_opt, make_sched)
    assert len(np.unique(rows[:, 0])) > 1                 # the schedule really moves the lr


def _metrics(seed=0):
    """A loss that improves, stalls, wiggles and improves again."""
    rng = np.random.default_rng(seed)
    base = np.concatenate([np.linspace(1.0, 0.6, 6), np.full(8, 0.6), np.linspace(0.6, 0.3, 5), np.full(10, 0.3)])
    return list(base + 0.002 * rng.standard_normal(base.size))


PLATEAU = {
    "min-rel": dict(patience=2, factor=0.5),
    "min-abs-cooldown": dict(patience=1, factor=0.5, threshold=0.01, threshold_mode="abs", cooldown=2),
    "max-rel": dict(mode="max", patience=3, factor=0.2, threshold=1e-3),
    "max-abs-min-lr": dict(mode="max", patience=0, factor=0.5, threshold_mode="abs", min_lr=[0.01, 0.015]),
    "min-lr-floor": dict(patience=0, factor=0.1, min_lr=1e-3, threshold=0.0),
}


@parity
@pytest.mark.parametrize("case", list(PLATEAU))
def test_reduce_on_plateau_matches_torch(case):
    kwargs = PLATEAU[case]
    metrics = _metrics()
    if kwargs.get("mode") == "max":
        metrics = [1.0 - m for m in metrics]              # an accuracy: rises, stalls, rises
    rows = _compare(_sgd, lambda Sm, o: Sm.ReduceLROnPlateau(o, **kwargs), metrics=metrics, steps=len(metrics))
    assert rows[-1, 0] < rows[0, 0]                        # it did reduce


@parity
@pytest.mark.parametrize("name,last", [("ExponentialLR", 4), ("CosineAnnealingLR", 6), ("StepLR", 5)])
def test_resume_with_last_epoch_matches_torch(name, last):
    """A scheduler built with last_epoch=k (after an earlier one set initial_lr) continues as PyTorch's."""
    kwargs = {"ExponentialLR": dict(gamma=0.8), "CosineAnnealingLR": dict(T_max=10), "StepLR": dict(step_size=3)}[name]

    def make(Sm, o):
        first = getattr(Sm, name)(o, **kwargs)
        for _ in range(last + 1):
            o.step()
            first.step()
        return getattr(Sm, name)(o, last_epoch=last, **kwargs)
    _compare(_sgd, make, steps=10)


@parity
def test_adam_with_onecycle_params_match_torch():
    """The scheduled lr and beta1 are what the optimizer uses at the next step."""
    th = torch()
    rng = np.random.default_rng(0)
    w0, c = rng.standard_normal(8).astype(np.float32), rng.standard_normal(8).astype(np.float32)
    w, tw = ln.tensor(w0, requires_grad=True), th.tensor(w0, requires_grad=True)
    opt, topt = optim.Adam([w], lr=0.01), th.optim.Adam([tw], lr=0.01)
    sched = S.OneCycleLR(opt, max_lr=0.1, total_steps=20)
    tsched = th.optim.lr_scheduler.OneCycleLR(topt, max_lr=0.1, total_steps=20)
    for _ in range(20):
        w.grad = ln.from_numpy((w.array - c) * np.float32(2))
        tw.grad = th.from_numpy((tw.detach().numpy() - c) * np.float32(2))
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
        np.testing.assert_allclose(w.array, tw.detach().numpy(), atol=2e-6, rtol=1e-5)
    assert w.array.dtype == np.float32


# ---- state dicts ------------------------------------------------------------------------------------
RESUMABLE = ["step", "multistep", "linear-warmup", "cosine-periodic", "sequential-warmup-cosine", "chained",
             "onecycle-cos-sgd", "onecycle-linear-adam"]


@pytest.mark.parametrize("case", RESUMABLE)
@pytest.mark.parametrize("via_json", [False, True])
def test_scheduler_state_dict_resume(case, via_json):
    make_opt, make_sched = CASES[case]
    full = _run(make_opt, make_sched)
    opt = make_opt(optim, _params("ln"))
    sched = make_sched(S, opt)
    for _ in range(10):
        opt.step()
        sched.step()
    osd, ssd = opt.state_dict(), sched.state_dict()
    if via_json:
        osd, ssd = json.loads(json.dumps(osd)), json.loads(json.dumps(ssd))
    opt2 = make_opt(optim, _params("ln"))
    sched2 = make_sched(S, opt2)
    opt2.load_state_dict(osd)
    sched2.load_state_dict(ssd)
    assert sched2.get_last_lr() == sched.get_last_lr()
    for t in range(10, STEPS):
        opt2.step()
        sched2.step()
        row = [g["lr"] for g in opt2.param_groups] + list(sched2.get_last_lr())
        row += [g["momentum"] if "momentum" in g else g["betas"][0] for g in opt2.param_groups]
        np.testing.assert_array_equal(row, full[t + 1])


def test_reduce_on_plateau_state_dict_resume():
    metrics = _metrics()
    full = _run(_sgd, lambda Sm, o: Sm.ReduceLROnPlateau(o, patience=1, cooldown=1), metrics, len(metrics))
    opt = _sgd(optim, _params("ln"))
    sched = S.ReduceLROnPlateau(opt, patience=1, cooldown=1)
    for m in metrics[:12]:
        sched.step(m)
    osd, ssd = json.loads(json.dumps(opt.state_dict())), json.loads(json.dumps(sched.state_dict()))
    opt2 = _sgd(optim, _params("ln"))
    sched2 = S.ReduceLROnPlateau(opt2)
    opt2.load_state_dict(osd)
    sched2.load_state_dict(ssd)
    for t in range(12, len(metrics)):
        sched2.step(metrics[t])
        assert [g["lr"] for g in opt2.param_groups] == list(full[t + 1, :2])


def test_scheduler_takes_a_tensor_metric():
    opt = _sgd(optim, _params("ln"))
    sched = S.ReduceLROnPlateau(opt, patience=0)
    sched.step(ln.tensor(1.0))
    sched.step(ln.tensor([2.0]))
    assert sched.get_last_lr() == pytest.approx([0.01, 0.002])


def test_scheduler_errors():
    opt = _sgd(optim, _params("ln"))
    with pytest.raises(TypeError, match="expected a lucidnet.optim.Optimizer"):
        S.StepLR(object(), step_size=2)
    with pytest.raises(ValueError, match="LinearLR: start_factor"):
        S.LinearLR(opt, start_factor=0.0)
    with pytest.raises(ValueError, match="expected 2 values of max_lr"):
        S.OneCycleLR(opt, max_lr=[1.0], total_steps=10)
    with pytest.raises(ValueError, match="cycle_momentum"):
        S.OneCycleLR(optim.Adagrad(_params("ln")), max_lr=1.0, total_steps=10)
    with pytest.raises(ValueError, match="expected 1 milestones"):
        S.SequentialLR(opt, [S.ConstantLR(opt), S.ExponentialLR(opt, 0.9)], milestones=[1, 2])
    with pytest.raises(ValueError, match="ReduceLROnPlateau: factor"):
        S.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(KeyError, match="initial_lr"):
        S.StepLR(optim.SGD(_params("ln"), lr=0.1), step_size=2, last_epoch=3)
    sched = S.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="total_steps=3"):
        sched.step()


def test_cosine_annealing_time_lr_follows_the_clock_and_resumes():
    import math

    now = [100.0]
    w = ln.tensor([1.0], requires_grad=True)
    opt = ln.optim.SGD([w], lr=0.2)
    sched = ln.optim.lr_scheduler.CosineAnnealingTimeLR(opt, budget_seconds=10.0, eta_min=0.02, clock=lambda: now[0])
    assert sched.get_last_lr() == [0.2] and not sched.done
    now[0] += 4.0
    sched.step()  # no time given: the clock's time since the scheduler was made
    assert sched.elapsed == 4.0
    assert sched.get_last_lr()[0] == pytest.approx(0.02 + 0.18 * (1 + math.cos(math.pi * 0.4)) / 2, rel=1e-12)
    sched.step(2.5)  # the loop's training time wins over the clock
    assert sched.elapsed == 2.5
    state = sched.state_dict()
    assert "clock" not in state and state["elapsed"] == 2.5
    # a resumed scheduler continues from the saved time, on a clock that starts anywhere
    later = [5000.0]
    opt2 = ln.optim.SGD([ln.tensor([1.0], requires_grad=True)], lr=0.2)
    again = ln.optim.lr_scheduler.CosineAnnealingTimeLR(opt2, 10.0, eta_min=0.02, clock=lambda: later[0])
    again.load_state_dict(state)
    later[0] += 1.5
    again.step()
    assert again.elapsed == 4.0
    assert again.get_last_lr() == pytest.approx([0.02 + 0.18 * (1 + math.cos(math.pi * 0.4)) / 2])
    again.step(30.0)
    assert again.done and again.get_last_lr() == [0.02]
    with pytest.raises(ValueError, match="budget_seconds"):
        ln.optim.lr_scheduler.CosineAnnealingTimeLR(opt, 0.0)
