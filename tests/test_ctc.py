"""CTC loss: float64 finite differences (through log_softmax, where PyTorch's gradient is the true one) and
PyTorch parity on random cases (repeated labels, empty targets, inputs of exactly the minimum length,
impossible alignments, every reduction, padded and concatenated targets, unbatched), each on the compiled and
the NumPy kernels; errors that say what was expected."""
import numpy as np
import pytest

import lucidnet as ln
import lucidnet.nn.functional as F
from lucidnet import nn

from helpers import check_grad, check_parity, parity, torch

REDUCTIONS = ("none", "sum", "mean")


def _case(seed, t=12, n=5, c=6, s=5, blank=0, repeats=True):
    """Random log-probabilities (or raw scores) and targets; lengths vary, target 0 is long and repetitive."""
    rng = np.random.default_rng(seed)
    labels = [k for k in range(c) if k != blank]
    tl = rng.integers(0, s + 1, n)
    tl[0] = s
    tg = rng.choice(labels, (n, s))
    if repeats:
        tg[0, 1:3] = tg[0, 0]                                   # a run: needs blanks between its labels
    il = rng.integers(1, t + 1, n)
    il[0] = t
    x = rng.standard_normal((t, n, c))
    return x, tg, il, tl


def _min_length(row, k):
    """The fewest frames that fit a target: its labels plus a blank between each pair of equal neighbours."""
    return k + int(np.sum(row[1:k] == row[:k - 1]))


@parity
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("zero_infinity", [False, True])
def test_parity_random(reduction, zero_infinity, backend):
    th = torch()
    for seed in range(3):
        x, tg, il, tl = _case(seed)
        il[1] = max(_min_length(tg[1], tl[1]), 1)        # exactly the minimum length
        il[2], tl[2] = 2, 4                                      # too short: inf (0 with zero_infinity)
        il[3], tl[3] = 0 if seed == 0 else il[3], 0              # an empty target (and an empty input)
        check_parity(
            lambda a: F.ctc_loss(a.log_softmax(-1), ln.tensor(tg), ln.tensor(il), ln.tensor(tl),
                                 reduction=reduction, zero_infinity=zero_infinity),
            lambda a: th.nn.functional.ctc_loss(a.log_softmax(-1), th.tensor(tg), th.tensor(il), th.tensor(tl),
                                                reduction=reduction, zero_infinity=zero_infinity),
            x, atol=2e-5)


@parity
def test_parity_unnormalised_input_and_lists(backend):
    """PyTorch's gradient treats log_probs as free: exp(x) - occupation, also where x is not normalised."""
    th = torch()
    x, tg, il, tl = _case(3, blank=2)
    check_parity(lambda a: F.ctc_loss(a, tg.tolist(), il.tolist(), tuple(tl.tolist()), blank=2, reduction="none"),
                 lambda a: th.nn.functional.ctc_loss(a, th.tensor(tg), il.tolist(), tuple(tl.tolist()), blank=2,
                                                     reduction="none"),
                 x, atol=2e-5)


@parity
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_parity_concatenated_targets_equal_padded(reduction, backend):
    th = torch()
    x, tg, il, tl = _case(4)
    flat = np.concatenate([row[:k] for row, k in zip(tg, tl)])
    outs, _ = check_parity(
        lambda a: F.ctc_loss(a.log_softmax(-1), ln.tensor(flat), ln.tensor(il), ln.tensor(tl), reduction=reduction),
        lambda a: th.nn.functional.ctc_loss(a.log_softmax(-1), th.tensor(flat), th.tensor(il), th.tensor(tl),
                                            reduction=reduction),
        x, atol=2e-5)
    padded = F.ctc_loss(ln.tensor(x).log_softmax(-1), ln.tensor(tg), il, tl, reduction=reduction)
    np.testing.assert_allclose(outs[0].numpy(), padded.numpy(), rtol=1e-6)


@parity
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_parity_unbatched(reduction, backend):
    th = torch()
    x, tg, il, tl = _case(5, n=1)
    check_parity(
        lambda a: F.ctc_loss(a.log_softmax(-1), ln.tensor(tg[0]), ln.tensor(il[0]), ln.tensor(tl[0]),
                             reduction=reduction),
        lambda a: th.nn.functional.ctc_loss(a.log_softmax(-1), th.tensor(tg[0]), th.tensor(il[0]), th.tensor(tl[0]),
                                            reduction=reduction),
        x[:, 0], atol=2e-5)


@parity
def test_module_parity_and_repr(backend):
    th = torch()
    x, tg, il, tl = _case(6, t=30, n=8, c=11, s=4)
    m = nn.CTCLoss(blank=0, zero_infinity=True)
    assert repr(m) == "CTCLoss(zero_infinity=True)"
    assert repr(nn.CTCLoss(blank=3, reduction="sum")) == "CTCLoss(blank=3, reduction='sum')"
    tm = th.nn.CTCLoss(blank=0, zero_infinity=True)
    check_parity(lambda a: m(a.log_softmax(-1), ln.tensor(tg), ln.tensor(il), ln.tensor(tl)),
                 lambda a: tm(a.log_softmax(-1), th.tensor(tg), th.tensor(il), th.tensor(tl)), x, atol=2e-5)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_float64(reduction):
    x, tg, il, tl = _case(7, t=8, n=3, c=4, s=3)
    il[:] = 8, 6, 5
    tl[2] = 0
    check_grad(lambda a: F.ctc_loss(a.log_softmax(-1), ln.tensor(tg), ln.tensor(il), ln.tensor(tl),
                                    reduction=reduction), x)
    out = F.ctc_loss(ln.tensor(x, dtype=ln.float64), tg, il, tl, reduction=reduction)
    assert out.dtype == np.float64


def test_compiled_kernels_equal_numpy_kernels():
    from lucidnet import kernels
    if not kernels.numba_available():
        pytest.skip("numba is not installed")
    x, tg, il, tl = _case(8, t=40, n=16, c=11, s=6)
    il[3], tl[3] = 3, 6                                          # impossible
    res = []
    for compiled in (False, True):
        previous = kernels.set_numba(compiled)
        try:
            a = ln.tensor(x.astype(np.float32), requires_grad=True)
            loss = F.ctc_loss(a.log_softmax(-1), tg, il, tl, reduction="none")
            loss.backward(ln.ones(16))
            res.append((loss.numpy(), a.grad.numpy()))
        finally:
            kernels.set_numba(previous)
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-5)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-4, atol=1e-6)
    assert np.isinf(res[0][0][3]) and np.isnan(res[1][1][:3, 3]).all()


def test_known_value_two_frames():
    """Target (1,) over two frames: paths 1-1, 1-blank, blank-1, with probabilities from a fixed table."""
    p = np.array([[0.5, 0.3, 0.2], [0.4, 0.4, 0.2]])
    want = -np.log(p[0, 1] * p[1, 1] + p[0, 1] * p[1, 0] + p[0, 0] * p[1, 1])
    got = F.ctc_loss(ln.tensor(np.log(p), dtype=ln.float64), [1], [2], [1], reduction="sum")
    np.testing.assert_allclose(got.item(), want, rtol=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    (dict(x=np.zeros((4, 2, 3, 1))), r"log_probs must have shape \(T, N, C\) or, unbatched, \(T, C\); got shape"),
    (dict(il=[4, 4, 4]), r"input_lengths must have shape \(2,\), one per sample, got shape \(3,\)"),
    (dict(il=[4, 5]), r"input_lengths must be at most the input's 4 time steps, got 5"),
    (dict(tl=[2, -1]), r"target_lengths must be >= 0, got -1"),
    (dict(tg=[[1, 2]], tl=[2, 2]), r"padded targets must have shape \(N=2, S\), got \(1, 2\)"),
    (dict(tg=[[1, 2], [1, 2]], tl=[3, 2]), r"padded targets have 2 columns but a target length is 3"),
    (dict(tg=[1, 2, 1], tl=[2, 2]), r"concatenated 1-D targets must hold sum\(target_lengths\) = 4 labels, got 3"),
    (dict(tg=[[1, 0], [1, 2]]), r"targets hold 0; labels must be class indices in \[0, 3\) other than blank=0"),
    (dict(tg=[[1, 3], [1, 2]]), r"targets hold 3; labels must be class indices in \[0, 3\)"),
    (dict(tg=[[1.5, 2], [1, 2]]), r"targets must hold integers, got float64 values such as 1.5"),
    (dict(blank=3), r"blank=3 must be a class index in \[0, 3\)"),
    (dict(reduction="avg"), r"reduction must be 'mean', 'sum' or 'none', got 'avg'"),
])
def test_errors_say_what_was_expected(kwargs, match):
    x = kwargs.get("x", np.zeros((4, 2, 3)))
    with pytest.raises((ValueError, TypeError), match="ctc_loss: " + match):
        F.ctc_loss(ln.tensor(x), kwargs.get("tg", [[1, 2], [2, 1]]), kwargs.get("il", [4, 4]),
                   kwargs.get("tl", [2, 2]), blank=kwargs.get("blank", 0), reduction=kwargs.get("reduction", "mean"))


def test_unbatched_errors():
    with pytest.raises(ValueError, match=r"ctc_loss: input_lengths must have shape \(\) or \(1,\), got shape \(2,\)"):
        F.ctc_loss(ln.zeros(4, 3), [1], [4, 4], [1])
    with pytest.raises(ValueError, match=r"ctc_loss: unbatched targets must be 1-D \(S,\), got shape \(1, 1\)"):
        F.ctc_loss(ln.zeros(4, 3), [[1]], 4, 1)
    with pytest.raises(TypeError, match=r"ctc_loss: input must be floating point"):
        F.ctc_loss(ln.zeros(4, 3).long(), [1], 4, 1)


def test_repeated_label_at_the_minimum_length_has_one_alignment(backend):
    """Target (1, 1) in 3 frames fits one way only, 1-blank-1; in 2 frames not at all (inf, or 0 with
    zero_infinity); (1, 2) fits 2 frames."""
    lp = np.log(np.random.default_rng(0).dirichlet(np.ones(3), size=3)).astype(np.float32)
    x = ln.tensor(lp[:, None, :], requires_grad=True)
    loss = F.ctc_loss(x, [[1, 1]], [3], [2], reduction="sum")
    np.testing.assert_allclose(loss.item(), -(lp[0, 1] + lp[1, 0] + lp[2, 1]), rtol=1e-6)
    loss.backward()
    occupation = np.zeros_like(lp)
    occupation[[0, 1, 2], [1, 0, 1]] = 1
    np.testing.assert_allclose(x.grad.numpy()[:, 0], np.exp(lp) - occupation, atol=1e-6)
    assert np.isinf(F.ctc_loss(x, [[1, 1]], [2], [2], reduction="sum").item())
    assert F.ctc_loss(x, [[1, 1]], [2], [2], reduction="sum", zero_infinity=True).item() == 0
    assert np.isfinite(F.ctc_loss(x, [[1, 2]], [2], [2], reduction="sum").item())
