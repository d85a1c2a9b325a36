"""Whole-step capture (``lucidnet.compile``): replays give eager's bits, and what cannot be replayed runs eagerly."""
import numpy as np
import pytest

import lucidnet as ln
from lucidnet import nn, optim
from lucidnet.nn import functional as F


def _mlp():
    return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 4))


def _cnn():
    from lucidnet.vision.models.simple_cnn import SimpleCNN
    return SimpleCNN()  # with dropout


def _neumf():
    from lucidnet.recsys.models import NeuMF
    return NeuMF(30, 40, gmf_dim=8, mlp_dim=8, layers=(16, 8), dropout=0.1)


def _batches(kind, sizes):
    rng = np.random.default_rng(1)
    for b in sizes:
        if kind == "mlp":
            yield (ln.tensor(rng.standard_normal((b, 20), dtype=np.float32)),), ln.tensor(rng.integers(0, 4, b))
        elif kind == "cnn":
            yield (ln.tensor(rng.standard_normal((b, 1, 28, 28), dtype=np.float32)),), ln.tensor(rng.integers(0, 10, b))
        else:
            yield ((ln.tensor(rng.integers(0, 30, b)), ln.tensor(rng.integers(0, 40, b))),
                   ln.tensor(rng.integers(0, 2, b).astype(np.float32)))


def _train(kind, make, opt_cls, captured, sizes):
    ln.manual_seed(0)
    model = make()
    model.train()
    opt = opt_cls(model.parameters())
    loss_of = (lambda out, y: F.binary_cross_entropy_with_logits(out, y)) if kind == "neumf" else F.cross_entropy

    def step(*args):
        *inputs, y = args
        return loss_of(model(*inputs), y)

    run = ln.compile(step, modules=model) if captured else step
    ln.manual_seed(7)  # the dropout masks: drawn in the same order eagerly and in a replay
    losses = []
    for inputs, y in _batches(kind, sizes):
        opt.zero_grad()
        loss = run(*inputs, y)
        loss.backward()
        opt.step()
        losses.append(loss.array.copy())
    return model, losses, run


@pytest.mark.parametrize("kind,make,opt_cls", [
    ("mlp", _mlp, lambda p: optim.Adam(p, lr=1e-2)),
    ("cnn", _cnn, lambda p: optim.SGD(p, lr=0.05, momentum=0.9)),
    ("neumf", _neumf, lambda p: optim.Adam(p, lr=1e-2)),
])
def test_replay_is_bit_identical_to_eager_and_the_short_batch_runs_eagerly(kind, make, opt_cls):
    sizes = [8, 8, 8, 8, 5, 8, 8, 5, 5, 5]  # a short last batch, as at the end of an epoch
    eager, l1, _ = _train(kind, make, opt_cls, False, sizes)
    comp, l2, run = _train(kind, make, opt_cls, True, sizes)
    assert run.stats == {"eager": 4, "replayed": 6}  # the first two calls of each batch size record
    for a, b in zip(l1, l2):
        np.testing.assert_array_equal(a, b)
    for (n, p), (_, q) in zip(eager.named_parameters(), comp.named_parameters()):
        np.testing.assert_array_equal(p.array, q.array, err_msg=n)


def _replaying(make_fn):
    """An MLP, ``make_fn(mlp)`` compiled, an input, after three calls (two recorded, one replayed)."""
    ln.manual_seed(0)
    m = _mlp()
    f = ln.compile(make_fn(m)) if make_fn is not None else ln.compile(m)
    x = ln.tensor(np.ones((4, 20), np.float32))
    for _ in range(3):
        f(x)
    return m, f, x


def test_training_flag_is_part_of_the_signature():
    m, f, x = _replaying(None)
    m.eval()
    with ln.no_grad():
        out = f(x)
    np.testing.assert_array_equal(out.array, m(x).array)  # no dropout in eval mode: the eager result
    assert f.stats == {"eager": 3, "replayed": 1}


def test_a_tensor_made_inside_runs_eagerly_with_a_warning():
    w = ln.tensor([1.0, 2.0], requires_grad=True)
    f = ln.compile(lambda x: (w * x * ln.tensor(np.random.rand(2).astype(np.float32))).sum())
    x = ln.tensor([1.0, 1.0])
    f(x)
    with pytest.warns(RuntimeWarning, match="runs eagerly.*different tensor"):
        f(x)
    f(x)
    assert f.stats == {"eager": 3, "replayed": 0}


def test_value_dependent_control_flow_runs_eagerly():
    w = ln.tensor([1.0, -2.0], requires_grad=True)
    calls = []

    def f(x):
        calls.append(1)
        y = w * x
        return y.relu().sum() if len(calls) % 2 else y.sum()

    g = ln.compile(f)
    g(ln.tensor([1.0, 1.0]))
    with pytest.warns(RuntimeWarning, match="differ"):
        g(ln.tensor([1.0, 1.0]))


def test_replay_reads_parameters_as_they_are_now_and_notices_in_place_changes():
    w = ln.tensor([1.0, 2.0], requires_grad=True)
    f = ln.compile(lambda x: (w * x).sum())
    x = ln.tensor([3.0, 4.0])
    for _ in range(3):
        f(x)
    with ln.no_grad():
        w.mul_(2)
    assert float(f(x).array) == 22.0
    loss = f(x)
    with ln.no_grad():
        w.add_(1)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()


def test_only_the_first_result_is_differentiable_and_freezing_is_seen():
    w = ln.tensor([1.0, 2.0], requires_grad=True)
    v = ln.tensor([1.0, 1.0], requires_grad=True)
    f = ln.compile(lambda x: ((w * x + v).sum(), w * x))
    x = ln.tensor([3.0, 4.0])
    for _ in range(3):
        loss, y = f(x)
    assert f.stats["replayed"] == 1
    with pytest.raises(RuntimeError, match="only the first tensor"):
        y.sum().backward()
    v.requires_grad_(False)
    v.grad = None
    loss, _ = f(x)
    loss.backward()
    assert v.grad is None and w.grad is not None


def test_bad_arguments():
    with pytest.raises(TypeError, match="compile: expected a function"):
        ln.compile(3)
    with pytest.raises(ValueError, match="max_plans"):
        ln.compile(lambda x: x, max_plans=-1)


def test_trainer_capture_trains_to_the_same_bits(monkeypatch):
    from lucidnet.train import Trainer, steps
    made = []
    monkeypatch.setattr(steps, "compile_step", lambda f, **kw: made.append(ln.compile(f, **kw)) or made[-1])
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((70, 20), dtype=np.float32), rng.integers(0, 4, 70)
    results = []
    for capture in (False, True):
        ln.manual_seed(0)
        m = _mlp()
        t = Trainer(m, "cross_entropy", "adam", lr=1e-2, verbose=0, capture=capture)
        h = t.fit((x, y), 3, batch_size=16, shuffle=True)  # 4 batches of 16 and one of 6 per epoch
        results.append((h.history["loss"], [p.array.copy() for p in m.parameters()]))
    assert made[0].stats == {"eager": 4, "replayed": 11}  # 3 epochs x 5 batches; two recordings per batch size
    assert results[0][0] == results[1][0]
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_array_equal(a, b)


def test_trainer_capture_is_refused_where_it_does_not_apply():
    from lucidnet.train import Trainer
    from lucidnet.train.steps import TBPTTStep
    with pytest.raises(ValueError, match="capture=True applies to SupervisedStep only"):
        Trainer(_mlp(), None, "adam", step=TBPTTStep(seq_len=4), capture=True)


def test_module_hooks_make_calls_run_eagerly():
    m, f, x = _replaying(None)
    seen = []
    h = m[0].register_forward_hook(lambda mod, inputs, out: seen.append(out.shape))
    f(x)
    h.remove()
    f(x)
    assert seen == [(4, 32)] and f.stats == {"eager": 3, "replayed": 2}


def test_without_modules_a_mode_change_starts_over():
    m, f, x = _replaying(lambda m: (lambda x: m(x).sum()))
    m.eval()
    out = f(x)  # recorded again, eagerly: no dropout
    np.testing.assert_array_equal(out.array, m(x).sum().array)
    assert f.stats == {"eager": 3, "replayed": 1}
