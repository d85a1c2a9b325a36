"""Knowledge distillation: nn.KLDivLoss / F.kl_div (PyTorch's semantics) and distill.KDLoss: float64 finite
differences, PyTorch parity of values and gradients, errors."""
import warnings

import numpy as np
import pytest
from helpers import check_grad, check_parity, torch

import lucidnet as ln
import lucidnet.nn.functional as F
from lucidnet import nn
from lucidnet.distill import KDLoss, kd_loss, teacher_logits

REDUCTIONS = ["batchmean", "sum", "none", "mean"]


def _probs(rng, shape, zero=True):
    p = rng.random(shape) + 0.05
    p /= p.sum(-1, keepdims=True)
    if zero:
        p[0, 1] = 0.0  # a zero probability: 0 * log 0 counts as 0
    return p


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_gradients_and_pytorch_parity(reduction, log_target):
    rng = np.random.default_rng(0)
    x = np.log(_probs(rng, (5, 4), zero=False))
    t = np.log(_probs(rng, (5, 4), zero=False)) if log_target else _probs(rng, (5, 4))
    th = torch()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reduction='mean' warns, here as in PyTorch
        # gradient w.r.t. the input (the target is a constant of the check)
        check_grad(lambda a: F.kl_div(a, ln.tensor(t, dtype=ln.float64), reduction=reduction, log_target=log_target), x)
        check_parity(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
                     lambda a, b: th.nn.functional.kl_div(a, b, reduction=reduction, log_target=log_target),
                     x, t if log_target else np.where(t > 0, t, 0.3), grad=True)
        check_parity(lambda a, b: nn.KLDivLoss(reduction=reduction, log_target=log_target)(a, b),
                     lambda a, b: th.nn.KLDivLoss(reduction=reduction, log_target=log_target)(a, b), x, t, grad=False)


def test_kl_div_warns_on_mean_as_pytorch_does_and_checks_its_arguments():
    x = ln.randn(2, 3).log_softmax(1)
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(x, x.exp())
    with pytest.raises(ValueError, match="reduction must be"):
        F.kl_div(x, x.exp(), reduction="average")
    with pytest.raises(ValueError, match="target shape"):
        F.kl_div(x, ln.ones(2, 4) / 4, reduction="batchmean")
    with pytest.raises(TypeError, match="upcast"):
        F.kl_div(x, ln.ones(2, 3, dtype=ln.float64) / 3, reduction="batchmean")


def _torch_kd(s, t, y, T, alpha, soft):
    th = torch()
    f = th.nn.functional
    if soft == "mse":
        part = f.mse_loss(s, t)
    else:
        part = f.kl_div(f.log_softmax(s / T, 1), f.softmax(t / T, 1), reduction="batchmean") * T * T
    if y is None:
        return part
    return alpha * part + (1 - alpha) * f.cross_entropy(s, y, ignore_index=-100)


@pytest.mark.parametrize("T,alpha,soft,labels", [(1.0, 0.5, "kl", True), (4.0, 0.9, "kl", True),
                                                 (2.0, 1.0, "kl", False), (1.0, 0.3, "mse", True),
                                                 (3.0, 0.7, "kl", "some ignored")])
def test_kd_loss_gradients_and_pytorch_parity(T, alpha, soft, labels):
    rng = np.random.default_rng(1)
    s, t = rng.normal(size=(6, 3)) * 2, rng.normal(size=(6, 3)) * 2
    y = None if labels is False else np.array([0, 2, 1, 1, 0, 2])
    if labels == "some ignored":
        y[[1, 4]] = -100
    loss = KDLoss(temperature=T, alpha=alpha, soft=soft)
    check_grad(lambda a: loss(a, ln.tensor(t, dtype=ln.float64), None if y is None else ln.tensor(y)), s)
    th = torch()
    check_parity(lambda a: loss(a, ln.tensor(t.astype(np.float32)), None if y is None else ln.tensor(y)),
                 lambda a: _torch_kd(a, th.tensor(t.astype(np.float32)), None if y is None else th.tensor(y), T,
                                     alpha, soft), s)


def test_kd_loss_properties():
    z = ln.tensor([[3.0, -1.0, 0.0], [0.2, 0.1, 0.0]])
    assert abs(kd_loss(z, z, temperature=3.0, alpha=1.0).item()) < 1e-6  # the student equals its teacher
    # labels all ignored: only the soft part, not NaN
    y = ln.tensor([-100, -100])
    other = ln.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    assert kd_loss(other, z, y, alpha=0.5).item() == pytest.approx(kd_loss(other, z, alpha=0.5).item())
    # alpha 0: the labels alone
    assert kd_loss(other, z, ln.tensor([1, 0]), alpha=0.0).item() == \
        pytest.approx(F.cross_entropy(other, ln.tensor([1, 0])).item())
    # the teacher gets no gradient
    teacher = ln.tensor(z.numpy(), requires_grad=True)
    kd_loss(other.requires_grad_(), teacher, alpha=1.0).backward()
    assert teacher.grad is None


def test_kd_loss_refuses_what_does_not_fit():
    s = ln.randn(4, 3)
    with pytest.raises(ValueError, match="temperature must be a positive"):
        KDLoss(temperature=0)
    with pytest.raises(ValueError, match=r"alpha .* must be in \[0, 1\]"):
        KDLoss(alpha=1.5)
    with pytest.raises(ValueError, match="soft must be one of kl, mse"):
        KDLoss(soft="js")
    with pytest.raises(ValueError, match=r"teacher's logits have shape \(4, 2\)"):
        kd_loss(s, ln.randn(4, 2))
    with pytest.raises(TypeError, match="upcast"):
        kd_loss(s, ln.randn(4, 3, dtype=ln.float64))
    with pytest.raises(ValueError, match="one class index per sample"):
        kd_loss(s, ln.randn(4, 3), ln.tensor([0, 1]))


def test_teacher_logits_are_the_teachers_outputs_in_order_and_leave_its_mode():
    _ = ln.manual_seed(0)
    teacher = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 2))
    x = ln.randn(10, 3)
    z = teacher_logits(teacher, [(x[:6],), (x[6:],)])
    assert z.dtype == np.float32 and z.shape == (10, 2) and teacher.training
    teacher.eval()
    np.testing.assert_allclose(z, teacher(x).numpy(), rtol=1e-6, atol=1e-6)  # eval mode: no dropout
    with pytest.raises(ValueError, match="no batches"):
        teacher_logits(teacher, [])
