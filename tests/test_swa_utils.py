"""optim.swa_utils (AveragedModel, the EMA and SWA rules, update_bn) against torch.optim.swa_utils."""
import numpy as np
import pytest
from helpers import parity, torch

import lucidnet as ln
from lucidnet.optim import swa_utils as S


def _net(lib):
    nn = ln.nn if lib is ln else lib.nn
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def _states(steps=5, seed=0):
    """Random weights for each step: {name: array} in PyTorch's parameter names."""
    rng = np.random.default_rng(seed)
    shapes = {"0.weight": (4, 3), "0.bias": (4,), "1.weight": (4,), "1.bias": (4,), "1.running_mean": (4,),
              "1.running_var": (4,), "3.weight": (2, 4), "3.bias": (2,)}
    return [{k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()} for _ in range(steps)]


def _run(lib, states, **kw):
    """The averaged weights after feeding ``states`` to an AveragedModel built with ``kw(lib)``."""
    model = _net(lib)
    swa = lib.optim.swa_utils
    avg = swa.AveragedModel(model, **{k: v(swa) for k, v in kw.items() if k != "use_buffers"},
                            use_buffers=kw.get("use_buffers", False))
    for step, state in enumerate(states):
        tensors = {k: (ln.tensor(v) if lib is ln else lib.tensor(v)) for k, v in state.items()}
        tensors["1.num_batches_tracked"] = (ln.tensor(np.array(step * 7)) if lib is ln else lib.tensor(step * 7))
        model.load_state_dict(tensors)
        avg.update_parameters(model)
    return {k: np.asarray(v.detach().numpy() if hasattr(v, "detach") else v)
            for k, v in avg.module.state_dict().items()}, int(avg.n_averaged)


@parity
@pytest.mark.parametrize("rule", [
    {},                                                             # the equal (SWA) average
    {"multi_avg_fn": lambda s: s.get_ema_multi_avg_fn(0.9)},
    {"multi_avg_fn": lambda s: s.get_swa_multi_avg_fn()},
    {"avg_fn": lambda s: s.get_ema_avg_fn(0.75)},
    {"avg_fn": lambda s: s.get_swa_avg_fn()},
    {"multi_avg_fn": lambda s: s.get_ema_multi_avg_fn(0.9), "use_buffers": True},
], ids=["default", "ema-multi", "swa-multi", "ema", "swa", "ema-buffers"])
def test_averaged_weights_match_pytorch(rule):
    th = torch()
    states = _states()
    ours, n = _run(ln, states, **rule)
    theirs, n_th = _run(th, states, **rule)
    assert n == n_th == len(states)
    assert set(ours) == set(theirs)
    for k in ours:
        np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-6, atol=1e-6, err_msg=k)
    if not rule.get("use_buffers"):  # buffers follow the model's last state
        np.testing.assert_array_equal(ours["1.running_mean"], states[-1]["1.running_mean"])


def test_the_first_update_copies_and_later_ones_average():
    model = ln.nn.Linear(2, 2)
    avg = S.AveragedModel(model)
    w0 = model.weight.detach().numpy().copy()
    avg.update_parameters(model)
    np.testing.assert_array_equal(avg.module.weight.detach().numpy(), w0)
    with ln.no_grad():
        model.weight.add_(ln.tensor(np.full((2, 2), 2.0, np.float32)))
    avg.update_parameters(model)
    np.testing.assert_allclose(avg.module.weight.detach().numpy(), w0 + 1.0, rtol=1e-6)
    x = ln.randn(3, 2)
    np.testing.assert_array_equal(avg(x).detach().numpy(), avg.module(x).detach().numpy())
    assert "n_averaged" in avg.state_dict()


@parity
def test_update_bn_matches_pytorch():
    th = torch()
    rng = np.random.default_rng(1)
    batches = [rng.standard_normal((5, 3)).astype(np.float32) * 2 + 1 for _ in range(4)]
    ln_model, th_model = _net(ln), _net(th)
    th_model.load_state_dict({k: th.tensor(np.asarray(v)) for k, v in ln_model.state_dict().items()})
    S.update_bn([(ln.tensor(b), 0) for b in batches], ln_model)
    th.optim.swa_utils.update_bn([(th.tensor(b), 0) for b in batches], th_model)
    for k in ("1.running_mean", "1.running_var"):
        np.testing.assert_allclose(np.asarray(ln_model.state_dict()[k]), th_model.state_dict()[k].numpy(),
                                   rtol=1e-5, atol=1e-6, err_msg=k)
    assert ln_model.training and ln_model[1].momentum == 0.1


def test_bad_arguments_are_refused():
    model = ln.nn.Linear(2, 2)
    with pytest.raises(ValueError, match="CPU only"):
        S.AveragedModel(model, device="cuda")
    with pytest.raises(ValueError, match="not both"):
        S.AveragedModel(model, avg_fn=S.get_swa_avg_fn(), multi_avg_fn=S.get_swa_multi_avg_fn())
    with pytest.raises(TypeError, match="nn.Module"):
        S.AveragedModel(lambda x: x)
    with pytest.raises(ValueError, match="decay"):
        S.get_ema_multi_avg_fn(1.5)
    with pytest.raises(ValueError, match="do not match"):
        S.AveragedModel(model).update_parameters(ln.nn.Linear(3, 2))
