"""Losses: float64 finite differences (w.r.t. the input, and the target where PyTorch differentiates it),
PyTorch parity of values and gradients (float32) for every option, stability at +-1000, errors, dtypes."""
import itertools

import numpy as np
import pytest
from helpers import check_grad, check_parity, parity, rand, torch

import lucidnet as ln
import lucidnet.nn.losses as LF
from lucidnet import nn
from lucidnet.fused import loss as kernels

REDUCTIONS = ["mean", "sum", "none"]


def ln_kw(kw: dict, dtype) -> dict:
    """Keyword arguments for lucidnet: NumPy arrays (weights) become constant tensors of ``dtype``."""
    return {k: ln.tensor(v, dtype=dtype) if isinstance(v, np.ndarray) else v for k, v in kw.items()}


def th_kw(kw: dict) -> dict:
    th = torch()
    return {k: th.tensor(v.astype(np.float32)) if isinstance(v, np.ndarray) else v for k, v in kw.items()}


def grad_and_parity(name: str, kw: dict, *arrays, atol=1e-5, rtol=1e-4):
    """check_grad (float64) and check_parity (float32) of ``LF.<name>(*arrays, **kw)`` vs PyTorch's."""
    fn = getattr(LF, name)
    check_grad(lambda *a: fn(*a, **ln_kw(kw, ln.float64)), *arrays)
    th_fn = getattr(torch().nn.functional, name)
    outs, _ = check_parity(lambda *a: fn(*a, **ln_kw(kw, ln.float32)), lambda *a: th_fn(*a, **th_kw(kw)), *arrays,
                           atol=atol, rtol=rtol)
    assert outs[0].dtype == np.float32


def positive(*shape, seed=0):
    return rand(*shape, seed=seed, low=0.5, high=2.0)


def offsets(*shape, seed=0):
    """|d| in [0.15, 1.5] with a random sign: away from the kinks of l1 (0) and of huber/smooth-l1 (beta)."""
    mag = rand(*shape, seed=seed, low=0.15, high=1.5)
    return np.where(rand(*shape, seed=seed + 1) > 0, mag, -mag)


# ---- regression -------------------------------------------------------------------------------------

REGRESSION = (
    [("mse_loss", dict(reduction=r)) for r in REDUCTIONS]
    + [("mse_loss", dict(reduction=r, weight="w")) for r in REDUCTIONS]
    + [("l1_loss", dict(reduction=r)) for r in REDUCTIONS]
    + [("l1_loss", dict(reduction=r, weight="w")) for r in REDUCTIONS]
    + [("smooth_l1_loss", dict(reduction=r, beta=b)) for r in REDUCTIONS for b in (1.0, 0.5, 0.0)]
    + [("huber_loss", dict(reduction=r, delta=d)) for r in REDUCTIONS for d in (1.0, 0.4)]
    + [("huber_loss", dict(reduction=r, delta=0.4, weight="w")) for r in REDUCTIONS]
)


@parity
@pytest.mark.parametrize("shape", [(5, 3), (7,), (2, 3, 2)], ids=str)
@pytest.mark.parametrize("name,kw", REGRESSION, ids=lambda v: v if isinstance(v, str) else
                         "-".join(f"{k}={v}" for k, v in v.items()))
def test_regression(name, kw, shape):
    x = rand(*shape, seed=1)
    y = x + offsets(*shape, seed=2)
    kw = {k: positive(*shape, seed=3) if v == "w" else v for k, v in kw.items()}
    grad_and_parity(name, kw, x, y)  # x and y both require grad: target gradients are checked too


# ---- binary cross-entropy ---------------------------------------------------------------------------

BCE_WEIGHTS = {"none": None, "per-class": (4,), "full": (6, 4)}


@parity
@pytest.mark.parametrize("weight", list(BCE_WEIGHTS), ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy(reduction, weight):
    p = rand(6, 4, seed=1, low=0.1, high=0.9)
    y = rand(6, 4, seed=2, low=0.0, high=1.0)  # soft labels: the target gradient is non-trivial
    kw = dict(reduction=reduction)
    if BCE_WEIGHTS[weight]:
        kw["weight"] = positive(*BCE_WEIGHTS[weight], seed=3)
    grad_and_parity("binary_cross_entropy", kw, p, y)


@parity
@pytest.mark.parametrize("pos_weight", [False, True], ids=["no-pos-weight", "pos-weight"])
@pytest.mark.parametrize("weight", list(BCE_WEIGHTS), ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_logits(reduction, weight, pos_weight):
    x = rand(6, 4, seed=1) * 3
    y = rand(6, 4, seed=2, low=0.0, high=1.0)
    kw = dict(reduction=reduction)
    if BCE_WEIGHTS[weight]:
        kw["weight"] = positive(*BCE_WEIGHTS[weight], seed=3)
    if pos_weight:
        kw["pos_weight"] = positive(4, seed=4) * 2
    grad_and_parity("binary_cross_entropy_with_logits", kw, x, y)


@parity
def test_bce_with_logits_stable_at_1000():
    x = np.array([[1000.0, -1000.0, 1000.0, -1000.0, 0.0, 30.0]])
    y = np.array([[1.0, 0.0, 0.0, 1.0, 0.5, 0.2]])
    for kw in (dict(reduction="none"), dict(reduction="none", pos_weight=np.full(6, 3.0))):
        outs, _ = check_parity(lambda a, b: LF.binary_cross_entropy_with_logits(a, b, **ln_kw(kw, ln.float32)),
                               lambda a, b: torch().nn.functional.binary_cross_entropy_with_logits(a, b, **th_kw(kw)),
                               x, y)
        assert np.isfinite(outs[0].numpy()).all()
    loss = LF.binary_cross_entropy_with_logits(ln.tensor(x[:, :2], requires_grad=True), ln.tensor(y[:, :2]))
    assert loss.item() == 0.0


@parity
def test_bce_clamps_log_at_minus_100():
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.3])
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.7])
    outs, _ = check_parity(lambda a, b: LF.binary_cross_entropy(a, b, reduction="none"),
                           lambda a, b: torch().nn.functional.binary_cross_entropy(a, b, reduction="none"), p, y,
                           grad=False)
    np.testing.assert_allclose(outs[0].numpy()[:4], [100.0, 100.0, 0.0, 0.0])
    x = ln.tensor(p, requires_grad=True)
    LF.binary_cross_entropy(x, ln.tensor(y)).backward()
    assert np.isfinite(x.grad).all()


# ---- cross-entropy and nll --------------------------------------------------------------------------

CLASS_SHAPES = {"N,C": (6, 5), "N,C,d1,d2": (2, 5, 3, 2), "C": (5,)}


def class_targets(shape, ignore, seed=5):
    """Integer targets for an input of ``shape`` (classes on axis 1, or axis 0 for a 1-D input)."""
    c = shape[1] if len(shape) > 1 else shape[0]
    tshape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    t = np.random.default_rng(seed).integers(0, c, size=tshape)
    if ignore == "-100" and t.ndim:
        t.reshape(-1)[::3] = -100
    return t, c


CE_CASES = [pytest.param(s, w, ig, ls, r, id=f"{s}-w={w}-ignore={ig}-ls={ls}-{r}")
            for s, w, ig, ls, r in itertools.product(CLASS_SHAPES, [False, True], ["none", "-100", "class 1"],
                                                     [0.0, 0.2], REDUCTIONS)]


@parity
@pytest.mark.parametrize("shape,weight,ignore,smoothing,reduction", CE_CASES)
def test_cross_entropy_indices(shape, weight, ignore, smoothing, reduction):
    shape = CLASS_SHAPES[shape]
    x = rand(*shape, seed=1) * 2
    t, c = class_targets(shape, ignore)
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    if weight:
        kw["weight"] = positive(c, seed=3)
    if ignore == "class 1":
        kw["ignore_index"] = 1  # a real class: its samples drop out
    grad_and_parity("cross_entropy", kw, x, t)


@parity
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
@pytest.mark.parametrize("weight", [False, True])
@pytest.mark.parametrize("shape", list(CLASS_SHAPES))
def test_cross_entropy_probabilities(shape, weight, smoothing, reduction):
    shape = CLASS_SHAPES[shape]
    c = shape[1] if len(shape) > 1 else shape[0]
    x = rand(*shape, seed=1) * 2
    p = rand(*shape, seed=2, low=0.05, high=1.0)
    p /= p.sum(axis=1 if len(shape) > 1 else 0, keepdims=True)
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    if weight:
        kw["weight"] = positive(c, seed=3)
    grad_and_parity("cross_entropy", kw, x, p)  # the probabilities require grad: target gradient checked


@parity
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("ignore", ["none", "-100", "class 1"])
@pytest.mark.parametrize("weight", [False, True])
@pytest.mark.parametrize("shape", list(CLASS_SHAPES))
def test_nll_loss(shape, weight, ignore, reduction):
    shape = CLASS_SHAPES[shape]
    x = rand(*shape, seed=1)
    t, c = class_targets(shape, ignore)
    kw = dict(reduction=reduction)
    if weight:
        kw["weight"] = positive(c, seed=3)
    if ignore == "class 1":
        kw["ignore_index"] = 1
    grad_and_parity("nll_loss", kw, x, t)


@parity
def test_cross_entropy_on_log_softmax_equals_nll():
    x = ln.tensor(rand(8, 6, seed=1), requires_grad=True)
    t = ln.tensor(np.arange(8) % 6)
    a = LF.cross_entropy(x, t)
    b = LF.nll_loss(ln.ops.log_softmax(x, 1), t)
    np.testing.assert_allclose(a.item(), b.item(), rtol=1e-6)


# The common case takes one of three paths by the range of the logits (no shift, one scalar shift, a
# shift per row); each must agree with PyTorch. The asserts make sure the data really takes that path.
REGIMES = {
    "no shift": (lambda x: x * 3, None),
    "scalar shift": (lambda x: x * 3 + 45, "scalar"),
    "row max": (lambda x: x * 3 + np.array([[600.0], [-600.0], [0.0], [1000.0], [-1000.0], [5.0]]), "row"),
}


def regime_of(x):
    shift = kernels._exp_rows(x)[2]
    return None if shift is None else ("row" if shift.ndim else "scalar")


@parity
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("regime", list(REGIMES))
def test_cross_entropy_paths_by_logit_range(regime, smoothing):
    make, expect = REGIMES[regime]
    x = make(rand(6, 7, seed=1))
    assert regime_of(x.astype(np.float32)) == expect
    t = np.array([0, 1, 2, 3, 4, 5])
    kw = dict(reduction="none", label_smoothing=smoothing)
    outs, _ = check_parity(lambda a, b: LF.cross_entropy(a, b, **kw),
                           lambda a, b: torch().nn.functional.cross_entropy(a, b, **kw), x, t, atol=1e-4)
    assert np.isfinite(outs[0].numpy()).all()


@pytest.mark.parametrize("offset,expect", [(0.0, None), (380.0, "scalar"), (800.0, "row")])
def test_cross_entropy_paths_gradcheck_float64(offset, expect):
    x = rand(4, 5, seed=1) * 3
    x[::2] += offset
    x[1::2] -= offset * (expect == "row")
    assert regime_of(x) == expect
    check_grad(lambda a, b: LF.cross_entropy(a, b, reduction="none", label_smoothing=0.1), x,
               np.array([0, 1, 2, 4]))


@parity
@pytest.mark.parametrize("weight", [False, True])
def test_cross_entropy_stable_at_1000(weight):
    x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 1000.0], [-1000.0, -1000.0, -1000.0],
                  [1000.0, -1000.0, -1000.0]])
    t = np.array([1, 2, 0, 0])
    kw = dict(reduction="none", label_smoothing=0.1)
    if weight:
        kw["weight"] = np.array([0.5, 2.0, 1.0])
    outs, _ = check_parity(lambda a, b: LF.cross_entropy(a, b, **ln_kw(kw, ln.float32)),
                           lambda a, b: torch().nn.functional.cross_entropy(a, b, **th_kw(kw)), x, t)
    assert np.isfinite(outs[0].numpy()).all()
    xl = ln.tensor(x, requires_grad=True)
    LF.cross_entropy(xl, ln.tensor(t)).backward()
    assert np.isfinite(xl.grad).all() and xl.grad.dtype == np.float32
    # probabilities as targets, and log-probabilities into nll_loss, at the same logits
    p = np.array([[0.0, 1.0, 0.0], [0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3], [1.0, 0.0, 0.0]])
    outs, _ = check_parity(lambda a, b: LF.cross_entropy(a, b, reduction="none"),
                           lambda a, b: torch().nn.functional.cross_entropy(a, b, reduction="none"), x, p)
    assert np.isfinite(outs[0].numpy()).all()


@parity
def test_all_targets_ignored_gives_nan_mean_and_zero_sum_like_pytorch():
    th = torch()
    x = rand(3, 4, seed=1).astype(np.float32)
    t = np.full(3, -100)
    for fn in ("cross_entropy", "nll_loss"):
        for red in ("mean", "sum"):
            ours = getattr(LF, fn)(ln.tensor(x), ln.tensor(t), reduction=red).item()
            theirs = getattr(th.nn.functional, fn)(th.tensor(x), th.tensor(t), reduction=red).item()
            np.testing.assert_equal(ours, theirs)


def test_cross_entropy_is_one_fused_node_and_backward_can_repeat():
    x = ln.tensor(rand(5, 4, seed=1), requires_grad=True)
    loss = LF.cross_entropy(x, ln.tensor([0, 1, 2, 3, 0]))
    assert loss.grad_fn.name == "CrossEntropy" and loss.grad_fn.parents[0] is x
    loss.backward(retain_graph=True)
    first = x.grad.array.copy()
    loss.backward()  # the saved arrays were not changed by the first backward
    np.testing.assert_allclose(x.grad, 2 * first, rtol=1e-6)


def test_integer_target_dtypes_accepted():
    x = ln.tensor(rand(4, 3, seed=1))
    base = LF.cross_entropy(x, ln.tensor([0, 1, 2, 1])).item()
    for dt in (np.int32, np.uint8, np.int16):
        assert LF.cross_entropy(x, np.array([0, 1, 2, 1], dtype=dt)).item() == pytest.approx(base)
    assert LF.cross_entropy(x, [0, 1, 2, 1]).item() == pytest.approx(base)


# ---- dtypes -----------------------------------------------------------------------------------------

def _all_losses(dtype):
    x = ln.tensor(rand(4, 3, seed=1), dtype=dtype, requires_grad=True)
    y = ln.tensor(rand(4, 3, seed=2, low=0.0, high=1.0), dtype=dtype)
    t = ln.tensor([0, 2, 1, 0])
    w = ln.tensor([1.0, 2.0, 0.5], dtype=dtype)
    return x, [
        LF.mse_loss(x, y), LF.l1_loss(x, y), LF.smooth_l1_loss(x, y), LF.huber_loss(x, y, weight=y),
        LF.cross_entropy(x, t, weight=w, label_smoothing=0.1), LF.cross_entropy(x, y, weight=w),
        LF.nll_loss(x, t, weight=w), LF.binary_cross_entropy(x.sigmoid(), y, weight=w),
        LF.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=w),
    ]


@pytest.mark.parametrize("dtype", [ln.float32, ln.float64], ids=str)
def test_dtype_is_kept(dtype):
    x, losses = _all_losses(dtype)
    for loss in losses:
        assert loss.dtype == dtype, loss.grad_fn.name
        x.grad = None
        loss.backward()
        assert x.grad.dtype == dtype, loss.grad_fn.name
    for red in ("sum", "none"):
        assert LF.mse_loss(x, x.detach() + 1, reduction=red).dtype == dtype


# ---- errors -----------------------------------------------------------------------------------------

def test_shape_mismatch_names_loss_and_both_shapes():
    x = ln.randn(8, 1)
    for fn in (LF.mse_loss, LF.l1_loss, LF.smooth_l1_loss, LF.huber_loss, LF.binary_cross_entropy_with_logits):
        with pytest.raises(ValueError, match=rf"{fn.__name__}.*\(8,\).*\(8, 1\)"):
            fn(x, ln.randn(8))
    with pytest.raises(ValueError, match=r"binary_cross_entropy.*\(8,\).*\(8, 1\)"):
        LF.binary_cross_entropy(x.sigmoid(), ln.rand(8))


def test_class_index_out_of_range():
    x = ln.randn(4, 10)
    with pytest.raises(IndexError, match=r"cross_entropy.*class index 10.*10 classes"):
        LF.cross_entropy(x, ln.tensor([1, 10, 2, 3]))
    with pytest.raises(IndexError, match=r"nll_loss.*class index -1.*10 classes"):
        LF.nll_loss(x, ln.tensor([1, -1, 2, 3]))
    with pytest.raises(IndexError, match=r"cross_entropy.*class index -100.*ignore_index=0"):
        LF.cross_entropy(x, ln.tensor([1, -100, 2, 3]), ignore_index=0)
    LF.cross_entropy(x, ln.tensor([1, -100, 2, 3]))  # ignored, so not out of range


def test_float_target_where_indices_expected():
    x = ln.randn(4, 3)
    with pytest.raises(ValueError, match=r"cross_entropy.*probabilities.*\(4, 3\).*\(4,\).*integer"):
        LF.cross_entropy(x, ln.tensor([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(TypeError, match=r"nll_loss.*integer class indices.*float32"):
        LF.nll_loss(x, ln.tensor([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(TypeError, match=r"cross_entropy.*integer class indices.*bool"):
        LF.cross_entropy(x, ln.tensor([True, False, True, False]))


def test_index_target_of_wrong_shape():
    with pytest.raises(ValueError, match=r"cross_entropy.*\(4, 1\).*\(4, 3\).*need shape \(4,\)"):
        LF.cross_entropy(ln.randn(4, 3), ln.tensor([[0], [1], [2], [1]]))
    with pytest.raises(ValueError, match=r"nll_loss.*\(2, 3\).*\(2, 5, 4\).*need shape \(2, 4\)"):
        LF.nll_loss(ln.randn(2, 5, 4), ln.zeros(2, 3, dtype=ln.int64))
    with pytest.raises(ValueError, match="cross_entropy.*class dimension"):
        LF.cross_entropy(ln.tensor(1.0), ln.tensor(0))


def test_bad_options():
    x, y = ln.randn(4, 3), ln.randn(4, 3)
    with pytest.raises(ValueError, match=r"mse_loss: reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        LF.mse_loss(x, y, reduction="avg")
    with pytest.raises(ValueError, match=r"cross_entropy: weight must have shape \(3,\), got \(4,\)"):
        LF.cross_entropy(x, ln.tensor([0, 1, 2, 0]), weight=ln.ones(4))
    with pytest.raises(ValueError, match="cross_entropy: label_smoothing must be in"):
        LF.cross_entropy(x, ln.tensor([0, 1, 2, 0]), label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: pos_weight of shape \(4,\) does not "
                                         r"broadcast to the input's shape \(4, 3\)"):
        LF.binary_cross_entropy_with_logits(x, y.sigmoid(), pos_weight=ln.ones(4))
    with pytest.raises(ValueError, match="huber_loss: delta must be positive"):
        LF.huber_loss(x, y, delta=0.0)
    with pytest.raises(ValueError, match="smooth_l1_loss: beta must be >= 0"):
        LF.smooth_l1_loss(x, y, beta=-1.0)
    with pytest.raises(ValueError, match=r"binary_cross_entropy: input must hold probabilities in \[0, 1\]"):
        LF.binary_cross_entropy(x, y.sigmoid())
    with pytest.raises(ValueError, match="cross_entropy: weight cannot be differentiated"):
        LF.cross_entropy(x, ln.tensor([0, 1, 2, 0]), weight=ln.ones(3, requires_grad=True))


def test_dtype_errors():
    x = ln.randn(4, 3)
    with pytest.raises(TypeError, match="mse_loss: target is float64 but input is float32"):
        LF.mse_loss(x, ln.randn(4, 3, dtype=ln.float64))
    with pytest.raises(TypeError, match=r"binary_cross_entropy_with_logits: target must be floating point.*int64"):
        LF.binary_cross_entropy_with_logits(x, ln.zeros(4, 3, dtype=ln.int64))
    with pytest.raises(TypeError, match="cross_entropy: weight is float64 but input is float32"):
        LF.cross_entropy(x, ln.tensor([0, 1, 2, 0]), weight=ln.ones(3, dtype=ln.float64))
    with pytest.raises(TypeError, match="l1_loss: input must be a lucidnet Tensor, got ndarray"):
        LF.l1_loss(np.zeros(3), np.zeros(3))
    # arrays and lists (no dtype of their own to keep) are converted to the input's dtype
    assert LF.mse_loss(x, np.zeros((4, 3))).dtype == np.float32


# ---- modules ----------------------------------------------------------------------------------------

MODULES = [
    ("MSELoss", {}, "mse_loss", "real"), ("L1Loss", dict(reduction="sum"), "l1_loss", "real"),
    ("SmoothL1Loss", dict(beta=0.5), "smooth_l1_loss", "real"), ("HuberLoss", dict(delta=0.3), "huber_loss", "real"),
    ("CrossEntropyLoss", dict(weight="c", ignore_index=1, label_smoothing=0.1), "cross_entropy", "index"),
    ("CrossEntropyLoss", dict(reduction="none"), "cross_entropy", "prob"),
    ("NLLLoss", dict(weight="c", reduction="sum"), "nll_loss", "index"),
    ("BCELoss", dict(weight="c"), "binary_cross_entropy", "prob-input"),
    ("BCEWithLogitsLoss", dict(weight="c", pos_weight="c"), "binary_cross_entropy_with_logits", "prob"),
]


@parity
@pytest.mark.parametrize("cls,kw,fn,target", MODULES, ids=[f"{m[0]}-{i}" for i, m in enumerate(MODULES)])
def test_modules_match_pytorch(cls, kw, fn, target):
    th = torch()
    w = positive(4, seed=3).astype(np.float32)
    ours = getattr(nn, cls)(**{k: ln.tensor(w) if v == "c" else v for k, v in kw.items()})
    theirs = getattr(th.nn, cls)(**{k: th.tensor(w) if v == "c" else v for k, v in kw.items()})
    x = rand(5, 4, seed=1)
    y = {"real": rand(5, 4, seed=2), "index": np.array([0, 1, 3, 2, 1]),
         "prob": rand(5, 4, seed=2, low=0.0, high=1.0), "prob-input": rand(5, 4, seed=2, low=0.0, high=1.0)}[target]
    if target == "prob-input":
        x = rand(5, 4, seed=1, low=0.1, high=0.9)
    check_parity(ours, theirs, x, y)
    assert isinstance(ours, nn.Module)


def test_module_weight_is_a_buffer_and_follows_dtype():
    m = nn.BCEWithLogitsLoss(weight=[1.0, 2.0], pos_weight=ln.tensor([3.0, 1.0]))
    assert set(m.state_dict()) == {"weight", "pos_weight"}
    m.double()
    x = ln.tensor(rand(3, 2, seed=1), dtype=ln.float64, requires_grad=True)
    assert m(x, ln.tensor(rand(3, 2, seed=2, low=0, high=1), dtype=ln.float64)).dtype == np.float64
    assert nn.CrossEntropyLoss().state_dict() == {}  # weight None: declared, not saved


@parity
@pytest.mark.filterwarnings("ignore:size_average and reduce")
def test_legacy_size_average_and_reduce():
    th = torch()
    x, y = rand(3, 2, seed=1).astype(np.float32), rand(3, 2, seed=2).astype(np.float32)
    for size_average, reduce in [(False, None), (None, False), (True, True), (False, True)]:
        ours = nn.MSELoss(size_average=size_average, reduce=reduce)(ln.tensor(x), ln.tensor(y))
        theirs = th.nn.MSELoss(size_average=size_average, reduce=reduce)(th.tensor(x), th.tensor(y))
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_module_repr_and_exports():
    assert repr(nn.CrossEntropyLoss(label_smoothing=0.1)) == "CrossEntropyLoss(label_smoothing=0.1)"
    assert repr(nn.MSELoss(reduction="sum")) == "MSELoss(reduction='sum')"
    import lucidnet.nn.functional as F
    for name in LF.__all__:
        assert getattr(F, name) is getattr(LF, name)
    for name in nn.loss.__all__:
        assert getattr(nn, name) is getattr(nn.loss, name)


@parity
def test_empty_batch_gives_nan_mean_like_pytorch():
    th = torch()
    cases = [("cross_entropy", (0, 4), np.zeros(0, np.int64)), ("cross_entropy", (0, 4), np.zeros((0, 4), np.float32)),
             ("nll_loss", (0, 4), np.zeros(0, np.int64)), ("mse_loss", (0,), np.zeros(0, np.float32)),
             ("binary_cross_entropy_with_logits", (0, 3), np.zeros((0, 3), np.float32))]
    for name, shape, t in cases:
        x = ln.zeros(*shape, requires_grad=True)
        loss = getattr(LF, name)(x, ln.tensor(t) if t.dtype.kind == "i" else ln.tensor(t, dtype=ln.float32))
        theirs = getattr(th.nn.functional, name)(th.zeros(shape), th.tensor(t))
        np.testing.assert_equal(loss.item(), theirs.item())
        loss.backward()
        assert x.grad.shape == shape


@parity
def test_mse_over_many_elements():
    """More elements than one block of the blocked sum of squares, with a remainder."""
    check_parity(LF.mse_loss, torch().nn.functional.mse_loss, rand(300, 70, seed=1), rand(300, 70, seed=2))


@pytest.mark.parametrize("scale", [1.0, 400.0], ids=["no-shift", "row-max"])
def test_cross_entropy_on_non_contiguous_logits(scale):
    base = rand(7, 4, seed=1) * scale
    t = ln.tensor([0, 1, 2, 3, 0, 1, 2])
    a = ln.tensor(base.T.copy(), requires_grad=True)
    b = ln.tensor(base, requires_grad=True)
    la, lb = LF.cross_entropy(a.T, t, reduction="none"), LF.cross_entropy(b, t, reduction="none")
    assert not a.T.array.flags.c_contiguous
    np.testing.assert_allclose(la.numpy(), lb.numpy(), rtol=1e-6)
    (la * ln.tensor(np.arange(7.0))).sum().backward()
    (lb * ln.tensor(np.arange(7.0))).sum().backward()
    np.testing.assert_allclose(a.grad.T, b.grad, rtol=1e-6, atol=1e-7)
