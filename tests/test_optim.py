"""Optimizers: 20-step trajectories against PyTorch for every option, param groups, state dicts,
dtypes, in-place updates without allocations, gradient clipping."""
import copy
import json
import tracemalloc

import numpy as np
import pytest
from helpers import parity, torch

import lucidnet as ln
from lucidnet import optim
from lucidnet import kernels as _kernels

SHAPES = [(6, 4), (4,), (3, 2, 2)]


def _problem(dtype=np.float32, seed=0, steps=20, shapes=SHAPES):
    """Initial params, a target per param and per-step noise: grad_t(p) = k * (p - c) + noise_t."""
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in shapes]
    centers = [rng.standard_normal(s).astype(dtype) for s in shapes]
    noise = [[(0.3 * rng.standard_normal(s)).astype(dtype) for s in shapes] for _ in range(steps)]
    return init, centers, noise


def _grad(p, c, n):
    return (np.asarray(p - c, dtype=p.dtype) * p.dtype.type(1.5) + n).astype(p.dtype)


def _run_ln(cls, kwargs, init, centers, noise, groups=None, dtype=np.float32):
    params = [ln.tensor(a.copy(), dtype=dtype, requires_grad=True) for a in init]
    opt = cls(groups(params) if groups else params, **kwargs)
    traj = []
    for t in range(len(noise)):
        for p, c, n in zip(params, centers, noise[t]):
            p.grad = ln.from_numpy(_grad(p.array, c, n))
        opt.step()
        traj.append([p.array.copy() for p in params])
    return params, opt, traj


def _run_torch(name, kwargs, init, centers, noise, groups=None):
    th = torch()
    params = [th.tensor(a.copy(), requires_grad=True) for a in init]
    opt = getattr(th.optim, name)(groups(params) if groups else params, **kwargs)
    traj = []
    for t in range(len(noise)):
        for p, c, n in zip(params, centers, noise[t]):
            p.grad = th.from_numpy(_grad(p.detach().numpy(), c, n))
        opt.step()
        traj.append([p.detach().numpy().copy() for p in params])
    return params, opt, traj


def _compare(name, kwargs, groups=None, dtype=np.float32, atol=2e-6, rtol=2e-5):
    init, centers, noise = _problem(dtype)
    cls = getattr(optim, name)
    params, opt, traj = _run_ln(cls, kwargs, init, centers, noise, groups, dtype)
    tparams, topt, ttraj = _run_torch(name, kwargs, init, centers, noise, groups)
    for t, (a, b) in enumerate(zip(traj, ttraj)):
        for x, y in zip(a, b):
            assert x.dtype == dtype
            np.testing.assert_allclose(x, y, atol=atol, rtol=rtol, err_msg=f"{name}{kwargs} step {t + 1}")
    # the optimizer state matches PyTorch's, entry by entry (same names, same indices)
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sorted(sd["state"]) == sorted(tsd["state"])
    for i, st in sd["state"].items():
        tst = tsd["state"][i]
        assert set(st) == set(tst), (set(st), set(tst))
        for k, v in st.items():
            tv = tst[k]
            if isinstance(v, ln.Tensor):
                v = v.numpy()
            if isinstance(v, np.ndarray):
                assert v.dtype == dtype, (k, v.dtype)
                np.testing.assert_allclose(v, tv.numpy(), atol=atol * 10, rtol=rtol * 10, err_msg=k)
            else:
                assert v == float(tv), k
    return opt


SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.1, weight_decay=0.05),
    dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.05),
    dict(lr=0.05, momentum=0.5, dampening=0.5, weight_decay=0.1),
    dict(lr=0.05, maximize=True),
    dict(lr=0.02, momentum=0.9, nesterov=True, weight_decay=0.05, maximize=True),
]
ADAM_CASES = [
    dict(lr=0.05),
    dict(lr=0.05, weight_decay=0.1),
    dict(lr=0.05, amsgrad=True),
    dict(lr=0.05, amsgrad=True, weight_decay=0.1),
    dict(lr=0.05, betas=(0.3, 0.9), eps=1e-6),          # 1 - beta1 >= 0.5: lerp's other branch
    dict(lr=0.05, betas=(0.0, 0.99)),
    dict(lr=0.05, maximize=True, weight_decay=0.1),
    dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True),
]
ADAMW_CASES = [
    dict(lr=0.05),
    dict(lr=0.05, weight_decay=0.2),
    dict(lr=0.05, weight_decay=0.2, amsgrad=True),
    dict(lr=0.05, weight_decay=0.2, maximize=True),
]
RMSPROP_CASES = [
    dict(lr=0.01),
    dict(lr=0.01, centered=True),
    dict(lr=0.01, momentum=0.9),
    dict(lr=0.01, momentum=0.9, centered=True),
    # 1 - alpha >= 0.5: lerp's other branch. With a small alpha, centered RMSprop divides by
    # sqrt(v - gavg**2), a difference of near-equal numbers, which magnifies the one-ulp differences
    # that PyTorch's fused multiply-adds make: _compare is given a looser atol for this case
    dict(lr=0.01, alpha=0.3, centered=True),
    dict(lr=0.01, weight_decay=0.1, eps=1e-4),
    dict(lr=0.01, weight_decay=0.1, maximize=True, momentum=0.5, centered=True),
]
ADAGRAD_CASES = [
    dict(lr=0.1),
    dict(lr=0.1, lr_decay=0.05),
    dict(lr=0.1, weight_decay=0.1),
    dict(lr=0.1, initial_accumulator_value=0.5, eps=1e-6),
    dict(lr=0.1, maximize=True, weight_decay=0.1, lr_decay=0.01),
]
ADADELTA_CASES = [
    dict(),
    dict(lr=0.5, rho=0.5, eps=1e-4),
    dict(lr=0.5, weight_decay=0.1, maximize=True),
]
ALL_CASES = ([("SGD", c) for c in SGD_CASES] + [("Adam", c) for c in ADAM_CASES]
             + [("AdamW", c) for c in ADAMW_CASES] + [("RMSprop", c) for c in RMSPROP_CASES]
             + [("Adagrad", c) for c in ADAGRAD_CASES] + [("Adadelta", c) for c in ADADELTA_CASES])


@parity
@pytest.mark.parametrize("name,kwargs", ALL_CASES, ids=[f"{n}-{c}" for n, c in ALL_CASES])
def test_trajectory_matches_torch(name, kwargs):
    ill_conditioned = kwargs.get("centered") and kwargs.get("alpha", 0.99) < 0.5
    _compare(name, kwargs, atol=2e-5 if ill_conditioned else 2e-6)


@parity
@pytest.mark.parametrize("numba", [True, False], ids=["compiled", "numpy"])
@pytest.mark.parametrize("kwargs", SGD_CASES, ids=[str(c) for c in SGD_CASES])
def test_sgd_trajectory_has_torchs_bits(kwargs, numba):
    """SGD's weight decay, steps and momentum are PyTorch's fused multiply-adds (add(t, alpha=a)): a float32
    trajectory is PyTorch's to the bit, on the compiled kernels and on the NumPy passes, at lengths with and
    without a vector tail."""
    if numba and not _kernels.numba_available():
        pytest.skip("numba is not installed")
    previous = _kernels.set_numba(numba)
    try:
        init, centers, noise = _problem(steps=12, shapes=[(37, 29), (5,), (16,), (300_001,)])
        _, _, traj = _run_ln(optim.SGD, kwargs, init, centers, noise)
    finally:
        _kernels.set_numba(previous)
    _, _, ttraj = _run_torch("SGD", kwargs, init, centers, noise)
    for t, (a, b) in enumerate(zip(traj, ttraj)):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y, err_msg=f"SGD{kwargs} step {t + 1}")


@parity
@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
                                         ("Adam", dict(lr=0.05, amsgrad=True)), ("AdamW", dict(lr=0.05)),
                                         ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True)),
                                         ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
                                         ("Adadelta", dict(lr=0.5, weight_decay=0.1))])
def test_float64_trajectory_matches_torch(name, kwargs):
    _compare(name, kwargs, dtype=np.float64, atol=1e-12, rtol=1e-10)


def _two_groups(params):
    return [{"params": params[:1]}, {"params": params[1:], "lr": 0.01}]


@parity
@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.05)),
                                         ("RMSprop", dict(lr=0.02, centered=True)),
                                         ("Adagrad", dict(lr=0.1))])
def test_param_groups_with_their_own_lr(name, kwargs):
    opt = _compare(name, kwargs, groups=_two_groups)
    assert [g["lr"] for g in opt.param_groups] == [kwargs["lr"], 0.01]


@parity
def test_group_overrides_other_hyperparameters():
    def groups(params):
        return [{"params": params[:2], "momentum": 0.5, "nesterov": True},
                {"params": params[2:], "weight_decay": 0.1, "lr": 0.2}]
    _compare("SGD", dict(lr=0.05, momentum=0.9), groups=groups)


@parity
def test_linear_model_with_autograd_matches_torch():
    """Gradients from each library's autograd on a linear least-squares model, Adam, 20 steps."""
    th = torch()
    rng = np.random.default_rng(1)
    X = rng.standard_normal((16, 5)).astype(np.float32)
    y = rng.standard_normal((16, 3)).astype(np.float32)
    W0 = rng.standard_normal((5, 3)).astype(np.float32)
    b0 = np.zeros(3, np.float32)
    W, b = ln.tensor(W0, requires_grad=True), ln.tensor(b0, requires_grad=True)
    tW, tb = th.tensor(W0, requires_grad=True), th.tensor(b0, requires_grad=True)
    opt = optim.Adam([W, b], lr=0.05, weight_decay=0.01)
    topt = th.optim.Adam([tW, tb], lr=0.05, weight_decay=0.01)
    for _ in range(20):
        opt.zero_grad()
        (((ln.tensor(X) @ W + b) - ln.tensor(y)) ** 2).mean().backward()
        opt.step()
        topt.zero_grad()
        (((th.tensor(X) @ tW + tb) - th.tensor(y)) ** 2).mean().backward()
        topt.step()
        np.testing.assert_allclose(W.array, tW.detach().numpy(), atol=1e-5, rtol=1e-5)
        np.testing.assert_allclose(b.array, tb.detach().numpy(), atol=1e-5, rtol=1e-5)
    assert W.array.dtype == np.float32 and b.array.dtype == np.float32


# ---- state dicts --------------------------------------------------------------------------------
def _json_roundtrip(sd):
    """What a checkpoint writer does: arrays out as lists, everything else through JSON."""
    def enc(v):
        return v.tolist() if isinstance(v, (np.ndarray, ln.Tensor)) else v
    flat = {"state": {k: {n: enc(v) for n, v in s.items()} for k, s in sd["state"].items()},
            "param_groups": sd["param_groups"]}
    return json.loads(json.dumps(flat))


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
                                         ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.1)),
                                         ("AdamW", dict(lr=0.05)),
                                         ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True)),
                                         ("Adagrad", dict(lr=0.1, lr_decay=0.01))])
@pytest.mark.parametrize("via_json", [False, True])
def test_state_dict_resume_continues_identically(name, kwargs, via_json):
    cls = getattr(optim, name)
    init, centers, noise = _problem()
    params, opt, _ = _run_ln(cls, kwargs, init, centers, noise[:10], groups=_two_groups)
    sd = opt.state_dict()
    # a fresh optimizer (other hyper-parameters, even) on copies of the params, resumed from the snapshot
    fresh = [ln.tensor(p.array.copy(), requires_grad=True) for p in params]
    opt2 = cls(_two_groups(fresh), lr=123.0)
    opt2.load_state_dict(_json_roundtrip(sd) if via_json else sd)
    assert [g["lr"] for g in opt2.param_groups] == [g["lr"] for g in opt.param_groups]
    for t in range(10, 20):
        for p, c, n in zip(fresh, centers, noise[t]):
            p.grad = ln.from_numpy(_grad(p.array, c, n))
        opt2.step()
    ref, _, _ = _run_ln(cls, kwargs, init, centers, noise, groups=_two_groups)
    for p, r in zip(fresh, ref):
        np.testing.assert_array_equal(p.array, r.array)
        assert p.array.dtype == np.float32
    for st in opt2.state.values():
        for v in st.values():
            assert not isinstance(v, np.ndarray) or v.dtype == np.float32


def test_state_dict_has_torchs_layout_and_shares_the_state_as_torchs():
    import torch as th
    w, b = ln.tensor(np.ones((2, 2), np.float32), requires_grad=True), ln.tensor(np.ones(2, np.float32),
                                                                              requires_grad=True)
    tw, tb = th.ones(2, 2, requires_grad=True), th.ones(2, requires_grad=True)
    opts = [optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9),
            th.optim.SGD([{"params": [tw]}, {"params": [tb], "lr": 0.5}], lr=0.1, momentum=0.9)]
    w.grad, tw.grad = ln.ones(2, 2), th.ones(2, 2)
    for opt in opts:
        opt.step()
        sd = opt.state_dict()
        assert sd["param_groups"][0]["params"] == [0] and sd["param_groups"][1]["params"] == [1]
        assert list(sd["state"]) == [0]                  # b had no gradient: no state
        kept = copy.deepcopy(sd)                         # a snapshot, PyTorch's way
        buf = sd["state"][0]["momentum_buffer"]
        opt.step()                                       # the state dict's tensor is the optimizer's buffer
        np.testing.assert_array_equal(np.asarray(buf), np.full((2, 2), 1.9, np.float32))
        np.testing.assert_array_equal(np.asarray(kept["state"][0]["momentum_buffer"]), [[1.0, 1.0], [1.0, 1.0]])
        buf.mul_(0.0)                                    # and an in-place change reaches the optimizer
        assert float(np.asarray(opt.state_dict()["state"][0]["momentum_buffer"]).sum()) == 0.0


def test_load_state_dict_rejects_mismatched_layout():
    a, b = (ln.tensor(np.ones(3, np.float32), requires_grad=True) for _ in range(2))
    opt = optim.Adam([a, b])
    a.grad = ln.from_numpy(np.ones(3, np.float32))
    opt.step()
    with pytest.raises(ValueError, match="parameter groups"):
        optim.Adam([{"params": [a]}, {"params": [b]}]).load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match="group 0 has 2 parameters"):
        optim.Adam([a]).load_state_dict(opt.state_dict())
    bad = opt.state_dict()
    bad["state"][0]["exp_avg"] = np.ones(4, np.float32)
    with pytest.raises(ValueError, match="exp_avg"):
        optim.Adam([a, b]).load_state_dict(bad)


# ---- mechanics ------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls,kwargs", [(optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
                                        (optim.Adam, dict(amsgrad=True, weight_decay=0.1)),
                                        (optim.AdamW, dict(maximize=True)),
                                        (optim.RMSprop, dict(momentum=0.9, centered=True, weight_decay=0.1)),
                                        (optim.Adagrad, dict(weight_decay=0.1))])
def test_step_is_in_place_and_leaves_grads_alone(cls, kwargs):
    p = ln.tensor(np.random.default_rng(0).standard_normal((50, 40)).astype(np.float32), requires_grad=True)
    q = ln.tensor(np.ones(3, np.float32), requires_grad=True)      # no gradient: skipped
    opt = cls([p, q], **kwargs)
    data = p.array
    for _ in range(3):
        g = np.random.default_rng(1).standard_normal((50, 40)).astype(np.float32)
        gt = ln.from_numpy(g)
        p.grad = gt
        keep = g.copy()
        old = data.copy()
        opt.step()
        assert p.array is data                            # never rebound
        assert p.grad is gt and p.grad.array is g
        np.testing.assert_array_equal(g, keep)            # never written
        assert not np.array_equal(old, data)
    assert q not in opt.state and np.all(q.array == 1)
    assert p.array.dtype == np.float32
    assert all(v.dtype == np.float32 for v in opt.state[p].values() if isinstance(v, np.ndarray))
    scratch = [id(b) for b in opt._scratch[p]]
    p.grad = ln.from_numpy(np.ones((50, 40), np.float32))
    opt.step()
    assert [id(b) for b in opt._scratch[p]] == scratch  # buffers are reused, not reallocated


@pytest.mark.parametrize("cls,kwargs", [(optim.SGD, dict(lr=0.1)), (optim.SGD, dict(momentum=0.9, weight_decay=0.1)),
                                        (optim.Adam, dict(weight_decay=0.1)), (optim.AdamW, dict(amsgrad=True)),
                                        (optim.RMSprop, dict(momentum=0.9, centered=True)),
                                        (optim.Adagrad, dict(weight_decay=0.1))])
def test_step_allocates_no_large_temporaries(cls, kwargs):
    n = 1 << 18                                           # 1 MiB per float32 array
    p = ln.tensor(np.ones(n, np.float32), requires_grad=True)
    p.grad = ln.from_numpy(np.full(n, 0.5, np.float32))
    opt = cls([p], **kwargs)
    opt.step()                                            # the first step allocates state and scratch
    tracemalloc.start()
    try:
        opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024, f"{cls.__name__}.step allocated {peak} bytes"


def test_zero_grad():
    p = ln.tensor(np.ones(3, np.float32), requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    (p * 2).sum().backward()
    g = p.grad
    arr = g.array
    opt.zero_grad(set_to_none=False)
    assert p.grad is g and p.grad.array is arr and np.all(arr == 0)
    opt.zero_grad()
    assert p.grad is None


def test_closure_recomputes_the_loss():
    p = ln.tensor([3.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss
    with ln.no_grad():                       # the closure still records its graph
        loss = opt.step(closure)
    assert float(loss) == 9.0
    np.testing.assert_allclose(p.array, [1.5])


def test_named_parameters_and_add_param_group():
    a, b = ln.tensor([1.0], requires_grad=True), ln.tensor([2.0], requires_grad=True)
    opt = optim.SGD([("a", a)], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": [("b", b)], "lr": 0.01})
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["param_names"] == ["b"]
    assert opt.state_dict()["param_groups"][1]["params"] == [1]
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="with names, or all without"):
        opt.add_param_group({"params": [ln.tensor([0.0], requires_grad=True)]})


def test_bad_arguments_give_clear_errors():
    p = ln.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="SGD: invalid learning rate"):
        optim.SGD([p], lr=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Adam: invalid betas"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="RMSprop: invalid alpha"):
        optim.RMSprop([p], alpha=-0.1)
    with pytest.raises(ValueError, match="Adagrad: invalid lr_decay"):
        optim.Adagrad([p], lr_decay=-1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="single Tensor"):
        optim.Adam(p)
    with pytest.raises(TypeError, match="ordered collection"):
        optim.Adam({p})
    with pytest.raises(ValueError, match="same parameter twice"):
        optim.Adam([p, p])
    with pytest.raises(ValueError, match="not a leaf"):
        optim.Adam([p * 2])
    opt = optim.Adam([p])
    with pytest.raises(ValueError, match=r"shape \(1,\).*gradient of shape \(2,\)"):
        p.grad = ln.from_numpy(np.ones(2, np.float32))   # refused when assigned, as in PyTorch
    p.grad = ln.from_numpy(np.ones(1, np.float32))
    p.grad.data = ln.from_numpy(np.ones(2, np.float32))  # .data swaps the memory without a check
    with pytest.raises(ValueError, match=r"Adam.step: a parameter of shape \(1,\) has a gradient of shape \(2,\)"):
        opt.step()


def test_lr_is_read_at_every_step():
    p = ln.tensor([1.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    p.grad = ln.from_numpy(np.ones(1, np.float32))
    opt.step()
    opt.param_groups[0]["lr"] = 0.5
    opt.step()
    np.testing.assert_allclose(p.array, [0.4], rtol=1e-6)


def test_works_with_nn_parameters():
    nn = pytest.importorskip("lucidnet.nn")
    if not hasattr(nn, "Linear"):
        pytest.skip("lucidnet.nn.Linear not available")
    layer = nn.Linear(4, 2)
    opt = optim.AdamW(layer.parameters(), lr=0.01)
    before = [p.array.copy() for p in layer.parameters()]
    layer(ln.randn(8, 4)).sum().backward()
    opt.step()
    for p, b in zip(layer.parameters(), before):
        assert not np.array_equal(p.array, b) and p.array.dtype == np.float32


# ---- gradient clipping ------------------------------------------------------------------------------
def _grads_pair(scale=1.0, seed=0):
    th = torch()
    rng = np.random.default_rng(seed)
    arrays = [(scale * rng.standard_normal(s)).astype(np.float32) for s in SHAPES]
    ps = []
    for a in arrays:
        p = ln.tensor(np.zeros_like(a), requires_grad=True)
        p.grad = ln.tensor(a)
        ps.append(p)
    tps = [th.zeros(a.shape, requires_grad=True) for a in arrays]
    for tp, a in zip(tps, arrays):
        tp.grad = th.tensor(a)
    return ps, tps


@parity
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("max_norm,scale", [(0.5, 1.0), (1e3, 1.0), (1e-7, 1e-6)])   # tiny: the 1e-6 guard counts
def test_clip_grad_norm_matches_torch(norm_type, max_norm, scale):
    th = torch()
    ps, tps = _grads_pair(scale)
    total = ln.nn.utils.clip_grad_norm_(ps, max_norm, norm_type=norm_type)
    ttotal = th.nn.utils.clip_grad_norm_(tps, max_norm, norm_type=norm_type)
    assert total.dtype == np.float32 and total.shape == ()
    np.testing.assert_allclose(float(total), float(ttotal), rtol=1e-6)
    for p, tp in zip(ps, tps):
        assert isinstance(p.grad, ln.Tensor) and p.grad.array.dtype == np.float32
        np.testing.assert_allclose(p.grad.array, tp.grad.numpy(), rtol=1e-6, atol=1e-7 * scale)


@parity
def test_clip_grad_value_matches_torch():
    th = torch()
    ps, tps = _grads_pair()
    grads = [(p.grad, p.grad.array) for p in ps]
    assert ln.nn.utils.clip_grad_value_(ps, 0.7) is None
    th.nn.utils.clip_grad_value_(tps, 0.7)
    for p, (g, a), tp in zip(ps, grads, tps):
        assert p.grad is g and p.grad.array is a         # in place
        np.testing.assert_array_equal(p.grad.array, tp.grad.numpy())


def test_clip_grad_norm_edge_cases():
    p = ln.tensor(np.zeros(4, np.float32), requires_grad=True)
    assert float(ln.nn.utils.clip_grad_norm_([p], 1.0)) == 0.0        # no gradients at all
    p.grad = ln.from_numpy(np.array([1e30, 1e30, 0, 0], np.float32))  # squares overflow float32
    total = ln.nn.utils.clip_grad_norm_(p, 1.0)
    np.testing.assert_allclose(float(total), np.sqrt(2) * 1e30, rtol=1e-6)
    np.testing.assert_allclose(p.grad.array, [2 ** -0.5, 2 ** -0.5, 0, 0], rtol=1e-5)
    p.grad = ln.from_numpy(np.array([1e-30, 0, 0, 0], np.float32))    # squares underflow
    np.testing.assert_allclose(float(ln.nn.utils.clip_grad_norm_(p, 1.0)), 1e-30, rtol=1e-6)
    p.grad = ln.from_numpy(np.array([np.inf, 1, 0, 0], np.float32))
    with pytest.raises(RuntimeError, match="non-finite|inf"):
        ln.nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    p.grad = ln.from_numpy(np.array([np.nan, 1, 0, 0], np.float32))
    assert np.isnan(float(ln.nn.utils.clip_grad_norm_(p, 1.0)))
    assert np.isnan(p.grad.array).all()                                # nan spreads, as in PyTorch


# ---- the compiled updates (numba) against the NumPy passes ---------------------------------------------------

def _optim_run(cls, kw, numba: bool):
    """Four steps of optimizer ``cls`` on row-major, column-major and 1-D float32 parameters; the final values."""
    previous = _kernels.set_numba(numba)
    try:
        rng = np.random.default_rng(0)
        arrays = [rng.standard_normal((37, 5), dtype=np.float32),
                  np.asfortranarray(rng.standard_normal((6, 9), dtype=np.float32)),
                  rng.standard_normal(11, dtype=np.float32)]
        params = [ln.tensor(a, requires_grad=True) for a in arrays]
        for p, a in zip(params, arrays):
            p.array = a.copy(order="K")  # keep the memory layout
        opt = cls(params, lr=0.01, **kw)
        for _ in range(4):
            for p in params:
                g = np.asarray(rng.standard_normal(p.shape, dtype=np.float32), order="K")
                if p.array.flags.f_contiguous and p.ndim == 2:
                    g = np.asfortranarray(g)
                p.grad = ln.from_numpy(g)
            opt.step()
        return [p.array for p in params]
    finally:
        _kernels.set_numba(previous)


@pytest.mark.skipif(not _kernels.numba_available(), reason="numba is not installed")
@pytest.mark.parametrize("cls,kw", [
    ("Adam", dict()), ("Adam", dict(weight_decay=0.1)), ("Adam", dict(maximize=True)), ("Adam", dict(betas=(0.6, 0.9))),
    ("Adam", dict(amsgrad=True)), ("AdamW", dict(weight_decay=0.1)), ("SGD", dict()), ("SGD", dict(momentum=0.9)),
    ("SGD", dict(momentum=0.9, nesterov=True, weight_decay=1e-3))])
def test_fused_updates_give_the_bits_of_the_numpy_passes(cls, kw):
    """The compiled updates (kernels/optim_numba) and the NumPy passes agree bit for bit, for row- and
    column-major parameters alike."""
    cls = getattr(ln.optim, cls)
    for a, b in zip(_optim_run(cls, kw, True), _optim_run(cls, kw, False)):
        np.testing.assert_array_equal(a, b)


@parity
@pytest.mark.parametrize("kwargs", [dict(), dict(lr=0.5, max_iter=7, history_size=3), dict(max_iter=3, max_eval=2),
                                    dict(max_iter=4, history_size=3, line_search_fn="strong_wolfe")])
def test_lbfgs_with_a_closure_follows_pytorch(kwargs):
    th = torch()
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((20, 5)).astype(np.float32), rng.standard_normal(20).astype(np.float32)
    runs = []
    for lib in (ln, th):
        w = lib.zeros(5, requires_grad=True)
        at, bt = lib.tensor(a), lib.tensor(b)
        opt = lib.optim.LBFGS([w], **kwargs)

        def closure():
            opt.zero_grad()
            loss = ((at @ w - bt) ** 2).mean() + (w ** 4).sum() * 0.01
            loss.backward()
            return loss

        runs.append(([float(opt.step(closure).detach()) for _ in range(4)], w.detach().numpy().copy()))
    (l1, w1), (l2, w2) = runs
    np.testing.assert_allclose(l1, l2, rtol=1e-5)
    # near the minimum the line search's float32 comparisons (float64 here) can end a step one evaluation apart
    np.testing.assert_allclose(w1, w2, atol=1e-4 if "line_search_fn" in kwargs else 1e-5)


def test_lbfgs_refuses_what_it_lacks_and_resumes_from_its_state_dict():
    w = ln.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match="strong_wolfe"):
        optim.LBFGS([w], line_search_fn="backtracking")
    with pytest.raises(ValueError, match="closure"):
        optim.LBFGS([w]).step()
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [w]}, {"params": [ln.zeros(2, requires_grad=True)]}])

    def run(opt, p, steps):
        def closure():
            opt.zero_grad()
            loss = ((p - ln.tensor([1.0, -2.0, 0.5])) ** 4).sum()
            loss.backward()
            return loss
        return [float(opt.step(closure)) for _ in range(steps)]

    p = ln.zeros(3, requires_grad=True)
    opt = optim.LBFGS([p], max_iter=4, history_size=2)
    run(opt, p, 2)
    state, saved = opt.state_dict(), p.numpy().copy()
    straight = run(opt, p, 2)
    q = ln.tensor(saved, requires_grad=True)
    opt2 = optim.LBFGS([q], max_iter=4, history_size=2)
    opt2.load_state_dict(_round_trip(state))            # through lucidnet.save / lucidnet.load
    assert run(opt2, q, 2) == straight


def _round_trip(obj):
    import io
    buf = io.BytesIO()
    ln.save(obj, buf)
    buf.seek(0)
    return ln.load(buf)
