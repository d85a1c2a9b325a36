"""Loss functions (PyTorch's names and semantics): the checks on what they are given, then one fused op.

Every loss takes ``reduction='mean' | 'sum' | 'none'`` (PyTorch's deprecated ``size_average`` and
``reduce`` are honoured too). Weights are constants: they get no gradient, as in PyTorch.
Each op, with its backward, is in ``lucidnet/ops/loss.py``.

>>> import lucidnet as ln
>>> from lucidnet.nn.losses import cross_entropy
>>> logits = ln.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]], requires_grad=True)
>>> loss = cross_entropy(logits, ln.tensor([0, 1]))
>>> round(loss.item(), 4)
0.3606
>>> loss.backward()
>>> logits.grad.shape, logits.grad.dtype
((2, 3), dtype('float32'))
"""
from __future__ import annotations

from typing import Any

from ..autograd.grad_mode import is_grad_enabled
from ..backend import xp
from ..fused import ctc as _ctc
from ..fused import loss as _k
from ..tensor import Tensor

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "ctc_loss", "huber_loss",
           "l1_loss", "mse_loss", "nll_loss", "smooth_l1_loss"]

_REDUCTIONS = ("mean", "sum", "none")


# ---- checks -----------------------------------------------------------------------------------------

def _reduction(name: str, reduction: str, size_average=None, reduce=None) -> str:
    if size_average is not None or reduce is not None:  # PyTorch's legacy pair overrides reduction
        reduction = "none" if reduce is False else ("sum" if size_average is False else "mean")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return reduction


def _input(name: str, x) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: input must be a lucidnet Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: input must be floating point, got {x.dtype}")


def _float_target(name: str, x: Tensor, target) -> Tensor:
    """A target of the input's shape and float dtype. A Tensor keeps its graph (the target may get a
    gradient) and must already have the input's dtype; arrays and lists are converted to it."""
    if isinstance(target, Tensor):
        if target.dtype.kind != "f":
            raise TypeError(f"{name}: target must be floating point like the input ({x.dtype}), got {target.dtype}; "
                            "convert it, e.g. target.float()")
        if target.dtype != x.dtype:
            raise TypeError(f"{name}: target is {target.dtype} but input is {x.dtype}; convert one explicitly "
                            "(x.float() or x.double()): lucidnet does not upcast silently")
    else:
        target = Tensor._make(_array(name, "target", target).astype(x.dtype, copy=False), None)
    if target.shape != x.shape:
        raise ValueError(f"{name}: target shape {tuple(target.shape)} differs from input shape {tuple(x.shape)}; "
                         "they must be equal (broadcasting them is almost always a bug: reshape one of them)")
    return target


def _array(name: str, what: str, v):
    arr = xp.asarray(v)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: {what} must be numeric, got {arr.dtype}")
    return arr


def _const(name: str, what: str, v, x: Tensor, shape: tuple | None = None, broadcast: bool = False):
    """A constant array (no gradient) in the input's dtype: ``weight``, ``pos_weight``.

    ``shape``: the shape it must have, or (``broadcast=True``) the shape it must broadcast to."""
    if v is None:
        return None
    if isinstance(v, Tensor):
        if v.requires_grad and is_grad_enabled():
            raise ValueError(f"{name}: {what} cannot be differentiated (as in PyTorch); pass {what}.detach()")
        if v.dtype.kind == "f" and v.dtype != x.dtype:
            raise TypeError(f"{name}: {what} is {v.dtype} but input is {x.dtype}; convert one explicitly: "
                            "lucidnet does not upcast silently")
        v = v.array
    arr = _array(name, what, v).astype(x.dtype, copy=False)
    if shape is not None:
        if broadcast:
            try:
                ok = xp.broadcast_shapes(arr.shape, shape) == shape
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(f"{name}: {what} of shape {arr.shape} does not broadcast to the input's shape {shape}")
        elif arr.shape != shape:
            raise ValueError(f"{name}: {what} must have shape {shape}, got {arr.shape}")
    return arr


def _num_classes(name: str, x: Tensor) -> int:
    if x.ndim == 0:
        raise ValueError(f"{name}: input must have a class dimension: (N, C), (N, C, d1, ...) or (C,); got a scalar")
    return x.shape[1] if x.ndim > 1 else x.shape[0]


def _index_target(name: str, x: Tensor, target, ignore_index: int, float_hint: str):
    """Integer class indices of shape (N, d1, ...) (or () for an input of shape (C,)), each in [0, C)."""
    t = target.array if isinstance(target, Tensor) else xp.asarray(target)
    c = _num_classes(name, x)
    want = x.shape[:1] + x.shape[2:] if x.ndim > 1 else ()
    if t.dtype.kind not in "iu":
        raise TypeError(f"{name}: target must hold integer class indices, got dtype {t.dtype}{float_hint}")
    if t.shape != want:
        raise ValueError(f"{name}: target of shape {t.shape} does not fit input of shape {tuple(x.shape)}: "
                         f"class indices need shape {want}, one per sample")
    if t.size:
        lo, hi = t.min(), t.max()
        if lo < 0 or hi >= c:
            bad = ((t < 0) | (t >= c)) & (t != ignore_index)
            if bad.any():
                v = int(t[bad].reshape(-1)[0])
                raise IndexError(f"{name}: target holds class index {v}, outside [0, {c}) for an input with {c} "
                                 f"classes (ignore_index={ignore_index})")
    return t


# ---- regression -------------------------------------------------------------------------------------

def _regression(name, input, target, weight, reduction, **kw) -> Tensor:
    _input(name, input)
    target = _float_target(name, input, target)
    w = _const(name, "weight", weight, input, tuple(input.shape))
    return _k.Regression.apply(input, target, w, reduction=reduction, **kw)


def mse_loss(input: Tensor, target: Any, size_average=None, reduce=None, reduction: str = "mean",
             weight: Any = None) -> Tensor:
    """Mean squared error; ``weight`` (input's shape) makes 'mean' sum(w (x-y)^2) / sum(w), as in PyTorch.

    >>> import lucidnet as ln
    >>> mse_loss(ln.tensor([1.0, 2.0]), ln.tensor([0.0, 0.0])).item()
    2.5
    """
    reduction = _reduction("mse_loss", reduction, size_average, reduce)
    return _regression("mse_loss", input, target, weight, reduction, kind="mse", mean_by_weight=True)


def l1_loss(input: Tensor, target: Any, size_average=None, reduce=None, reduction: str = "mean",
            weight: Any = None) -> Tensor:
    """Mean absolute error (gradient 0 where input equals target); weights as in :func:`mse_loss`."""
    reduction = _reduction("l1_loss", reduction, size_average, reduce)
    return _regression("l1_loss", input, target, weight, reduction, kind="l1", mean_by_weight=True)


def huber_loss(input: Tensor, target: Any, reduction: str = "mean", delta: float = 1.0, weight: Any = None) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - delta/2); a weighted 'mean' divides by the element count."""
    reduction = _reduction("huber_loss", reduction)
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    return _regression("huber_loss", input, target, weight, reduction, kind="huber", delta=float(delta))


def smooth_l1_loss(input: Tensor, target: Any, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - beta/2 (huber_loss(delta=beta) / beta; l1 at beta=0)."""
    reduction = _reduction("smooth_l1_loss", reduction, size_average, reduce)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    if beta == 0:
        return _regression("smooth_l1_loss", input, target, None, reduction, kind="l1")
    return _regression("smooth_l1_loss", input, target, None, reduction, kind="huber", delta=float(beta),
                       scale=1.0 / beta)


# ---- binary classification --------------------------------------------------------------------------

def binary_cross_entropy(input: Tensor, target: Any, weight: Any = None, size_average=None, reduce=None,
                         reduction: str = "mean") -> Tensor:
    """BCE of probabilities in [0, 1]; each log is clamped at -100 as in PyTorch. Prefer
    :func:`binary_cross_entropy_with_logits` on logits: it is exact where sigmoid saturates."""
    name = "binary_cross_entropy"
    reduction = _reduction(name, reduction, size_average, reduce)
    _input(name, input)
    target = _float_target(name, input, target)
    w = _const(name, "weight", weight, input, tuple(input.shape), broadcast=True)
    d = input.array
    if d.size and not (d.min() >= 0 and d.max() <= 1):  # also catches NaN
        bad = d[~((d >= 0) & (d <= 1))].reshape(-1)[0]
        raise ValueError(f"{name}: input must hold probabilities in [0, 1], found {bad}; "
                         "for logits use binary_cross_entropy_with_logits")
    return _k.BinaryCrossEntropy.apply(input, target, w, reduction=reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Any, weight: Any = None, size_average=None,
                                     reduce=None, reduction: str = "mean", pos_weight: Any = None) -> Tensor:
    """BCE of sigmoid(input) computed from the logits (stable at any magnitude). ``pos_weight`` scales the
    positive term and broadcasts along the input (shape (C,) for a (N, C) input: one per class).

    >>> import lucidnet as ln
    >>> round(binary_cross_entropy_with_logits(ln.tensor([1000.0, -1000.0]), ln.tensor([1.0, 0.0])).item(), 6)
    0.0
    """
    name = "binary_cross_entropy_with_logits"
    reduction = _reduction(name, reduction, size_average, reduce)
    _input(name, input)
    target = _float_target(name, input, target)
    shape = tuple(input.shape)
    w = _const(name, "weight", weight, input, shape, broadcast=True)
    pw = _const(name, "pos_weight", pos_weight, input, shape, broadcast=True)
    return _k.BinaryCrossEntropyWithLogits.apply(input, target, w, pw, reduction=reduction)


# ---- classification over a class axis ---------------------------------------------------------------

def cross_entropy(input: Tensor, target: Any, weight: Any = None, size_average=None, ignore_index: int = -100,
                  reduce=None, reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of logits ``input`` (N, C), (N, C, d1, ...) or (C,) against class indices (integer,
    shape (N, d1, ...)) or class probabilities (float, the input's shape). log-softmax is formed via
    log-sum-exp (stable at logits of +-1000). ``weight`` (C,) weighs classes; with indices 'mean' divides
    by the summed weight of the targets not equal to ``ignore_index``; ``label_smoothing`` mixes the
    target with the uniform distribution. All as in PyTorch.

    >>> import lucidnet as ln
    >>> round(cross_entropy(ln.tensor([[0.0, 0.0]]), ln.tensor([1])).item(), 4)
    0.6931
    """
    name = "cross_entropy"
    reduction = _reduction(name, reduction, size_average, reduce)
    _input(name, input)
    c = _num_classes(name, input)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing}")
    w = _const(name, "weight", weight, input, (c,))
    t = target.array if isinstance(target, Tensor) else xp.asarray(target)
    if t.dtype.kind == "f":
        if t.shape != input.shape:
            want = input.shape[:1] + input.shape[2:] if input.ndim > 1 else ()
            raise ValueError(f"{name}: a float target holds class probabilities and must have the input's shape "
                             f"{tuple(input.shape)}, got {t.shape}; for class indices pass integers of shape "
                             f"{want} (e.g. target.long())")
        target = _float_target(name, input, target)
        return _k.CrossEntropyProbs.apply(input, target, w, reduction=reduction, smoothing=float(label_smoothing))
    t = _index_target(name, input, target, ignore_index, "")
    return _k.CrossEntropy.apply(input, t, w, ignore_index=ignore_index, reduction=reduction,
                                 smoothing=float(label_smoothing))


def nll_loss(input: Tensor, target: Any, weight: Any = None, size_average=None, ignore_index: int = -100,
             reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` (e.g. from log_softmax) against class indices;
    shapes, ``weight`` and ``ignore_index`` as in :func:`cross_entropy`."""
    name = "nll_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    _input(name, input)
    c = _num_classes(name, input)
    w = _const(name, "weight", weight, input, (c,))
    t = _index_target(name, input, target, ignore_index,
                      " (nll_loss takes class indices; for class probabilities use cross_entropy on logits)")
    return _k.NLL.apply(input, t, w, ignore_index=ignore_index, reduction=reduction)


# ---- connectionist temporal classification ----------------------------------------------------------

def _int_values(name: str, what: str, v):
    """An integer array from a Tensor, array, list, tuple or int; floats must hold whole numbers (PyTorch
    converts them)."""
    arr = v.array if isinstance(v, Tensor) else xp.asarray(v)
    if arr.dtype.kind == "f":
        whole = xp.isfinite(arr) & (arr == xp.floor(arr))
        if not whole.all():
            raise TypeError(f"{name}: {what} must hold integers, got {arr.dtype} values such as "
                            f"{arr[~whole].reshape(-1)[0]}")
    elif arr.dtype.kind not in "iu":
        raise TypeError(f"{name}: {what} must hold integers, got {arr.dtype}")
    return arr.astype(xp.int64)


def _ctc_lengths(name: str, what: str, v, n: int, unbatched: bool, limit: int | None):
    arr = _int_values(name, what, v)
    want = "() or (1,)" if unbatched else f"({n},), one per sample"
    if (unbatched and arr.shape not in ((), (1,))) or (not unbatched and arr.shape != (n,)):
        raise ValueError(f"{name}: {what} must have shape {want}, got shape {arr.shape}")
    arr = arr.reshape(n)
    if n and arr.min() < 0:
        raise ValueError(f"{name}: {what} must be >= 0, got {int(arr.min())}")
    if limit is not None and n and arr.max() > limit:
        raise ValueError(f"{name}: {what} must be at most the input's {limit} time steps, got {int(arr.max())}")
    return xp.ascontiguousarray(arr)


def _ctc_targets(name: str, targets, tl, n: int, unbatched: bool):
    """Padded (N, S) int64 targets from padded (N, S) ((S,) unbatched) or concatenated 1-D targets."""
    t = _int_values(name, "targets", targets)
    need = int(tl.max()) if n else 0
    if unbatched or t.ndim == 2:
        if unbatched and t.ndim != 1:
            raise ValueError(f"{name}: unbatched targets must be 1-D (S,), got shape {t.shape}")
        t = t.reshape(1, -1) if unbatched else t
        if t.shape[0] != n:
            raise ValueError(f"{name}: padded targets must have shape (N={n}, S), got {t.shape}")
        if t.shape[1] < need:
            raise ValueError(f"{name}: padded targets have {t.shape[1]} columns but a target length is {need}")
        return xp.ascontiguousarray(t[:, :need]) if t.shape[1] > need else xp.ascontiguousarray(t)
    if t.ndim != 1:
        raise ValueError(f"{name}: targets must be padded (N, S) or concatenated 1-D, got shape {t.shape}")
    if t.shape[0] != int(tl.sum()):
        raise ValueError(f"{name}: concatenated 1-D targets must hold sum(target_lengths) = {int(tl.sum())} "
                         f"labels, got {t.shape[0]}")
    padded = xp.zeros((n, need), dtype=xp.int64)
    starts = xp.concatenate([[0], xp.cumsum(tl)[:-1]]) if n else tl
    for b in range(n):
        padded[b, :tl[b]] = t[starts[b]:starts[b] + tl[b]]
    return padded


def ctc_loss(log_probs: Tensor, targets: Any, input_lengths: Any, target_lengths: Any, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """Connectionist temporal classification loss (Graves et al. 2006) of ``log_probs`` (T, N, C) (or unbatched
    (T, C)), e.g. from ``log_softmax(-1)``, against ``targets``: padded (N, S) or concatenated 1-D class
    indices (never ``blank``), with ``input_lengths`` and ``target_lengths`` (N,) as tensors, lists or tuples.
    'mean' divides each sample's loss by its target length (at least 1), then averages over the batch; a
    target no alignment fits (an input too short for it and its repeats) gives inf, or 0 (and no gradient)
    with ``zero_infinity``. The gradient is PyTorch's (``exp(log_probs) - occupation``), exact for inputs
    that are log-softmax outputs. All as in PyTorch.

    >>> import lucidnet as ln
    >>> lp = ln.randn(12, 2, 5).log_softmax(-1).requires_grad_()
    >>> loss = ctc_loss(lp, ln.tensor([[1, 2, 2], [3, 4, 0]]), [12, 10], [3, 2])
    >>> loss.backward()
    >>> loss.shape, lp.grad.shape
    ((), (12, 2, 5))
    """
    name = "ctc_loss"
    reduction = _reduction(name, reduction)
    _input(name, log_probs)
    if log_probs.ndim not in (2, 3):
        raise ValueError(f"{name}: log_probs must have shape (T, N, C) or, unbatched, (T, C); got shape "
                         f"{tuple(log_probs.shape)}")
    unbatched = log_probs.ndim == 2
    t_, c = log_probs.shape[0], log_probs.shape[-1]
    n = 1 if unbatched else log_probs.shape[1]
    if not 0 <= blank < c:
        raise ValueError(f"{name}: blank={blank} must be a class index in [0, {c}) for log_probs with {c} classes")
    il = _ctc_lengths(name, "input_lengths", input_lengths, n, unbatched, t_)
    tl = _ctc_lengths(name, "target_lengths", target_lengths, n, unbatched, None)
    padded = _ctc_targets(name, targets, tl, n, unbatched)
    used = xp.arange(padded.shape[1])[None, :] < tl[:, None]
    labels = padded[used]
    if labels.size and (labels.min() < 0 or labels.max() >= c or (labels == blank).any()):
        bad = labels[(labels < 0) | (labels >= c) | (labels == blank)][0]
        raise ValueError(f"{name}: targets hold {int(bad)}; labels must be class indices in [0, {c}) other than "
                         f"blank={blank}")
    return _ctc.CTCLoss.apply(log_probs, padded, il, tl, blank=int(blank), reduction=reduction,
                              zero_infinity=bool(zero_infinity), unbatched=unbatched)
