"""Fused loss kernels: each loss is one Function, its forward a few passes over the input, its backward one.

The kernels take arrays that ``lucidnet/nn/losses.py`` has already checked (shapes, dtypes, class
ranges); weights are constants (no gradient), as in PyTorch. ``reduction`` is 'mean', 'sum' or 'none'.

Cross-entropy on class indices, the training hot path, in passes over the (rows, C) logits: forward
``min`` and ``max`` over all logits, ``exp`` into the one (rows, C) array (shifted only when the range
calls for it, see ``_exp_rows``), row sums as one matrix-vector product; backward one multiply
``e * (g / (W * s))`` into the fresh gradient, then ``-g/W`` at the targets. Log-softmax is formed via
log-sum-exp, so logits of +-1000 give no overflow and no NaN.
"""
from __future__ import annotations

import math

from ..autograd.function import Function
from ..backend import xp
from ..ops.activation import stable_sigmoid


def _reduce(loss, reduction: str, denom=None):
    """Sum / mean (over ``denom`` when given, else the element count) / nothing."""
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    with xp.errstate(divide="ignore", invalid="ignore"):  # an empty or fully ignored batch gives NaN, as in PyTorch
        return total / (loss.size if denom is None else denom)


def _coef(g, reduction: str, denom):
    """What the derivative of each loss element is multiplied by: ``g`` ('none'), ``g`` or ``g / denom``."""
    if reduction == "none" or reduction == "sum":
        return g
    with xp.errstate(divide="ignore", invalid="ignore"):
        return g / denom


# ---- regression -----------------------------------------------------------------------------------

def _sum_squares(flat, block: int = 1 << 14):
    """sum(flat ** 2) in one pass with no temporary: BLAS dot products over blocks, then a pairwise sum of
    the blocks' results (one dot over 10^7 float32 values drifts by ~1e-5 relative; blocked, by ~1e-7)."""
    n = flat.size
    if n <= block:
        return xp.dot(flat, flat)
    m = n // block
    head = flat[:m * block].reshape(m, 1, block)
    tail = flat[m * block:]
    return xp.matmul(head, head.reshape(m, block, 1)).sum() + xp.dot(tail, tail)


class Regression(Function):
    """mse / l1 / huber / smooth-l1 of ``d = x - y``, optionally weighted elementwise.

    ``kind``: 'mse', 'l1' or 'huber' (``delta``); smooth-l1 with beta is huber(delta=beta) / beta,
    so ``scale`` multiplies the loss and its derivative. ``mean_by_weight`` divides 'mean' by sum(weight)
    (mse and l1 with weights, as PyTorch does) instead of by the element count (huber).
    """

    def forward(self, x, y, weight=None, kind="mse", reduction="mean", delta=1.0, scale=1.0, mean_by_weight=False):
        self.kind, self.reduction, self.delta, self.scale, self.weight = kind, reduction, delta, scale, weight
        d = xp.subtract(x, y)                                   # the one temporary, kept for the backward
        self.d = d
        self.denom = d.size if weight is None or not mean_by_weight else weight.sum()
        if kind == "mse" and weight is None and reduction != "none":
            total = _sum_squares(d.reshape(-1))
            return total if reduction == "sum" else _reduce(total, "mean", self.denom)
        if kind == "mse":
            loss = d * d
        elif kind == "l1":
            loss = xp.abs(d)
        else:                                                   # huber: c * (|d| - c/2), c = min(|d|, delta)
            ad = xp.abs(d)
            c = xp.minimum(ad, delta)
            loss = c * (ad - 0.5 * c)
            if scale != 1.0:
                loss *= scale
        if weight is not None:
            loss *= weight
        return _reduce(loss, reduction, self.denom)

    def backward(self, g):
        k = _coef(g, self.reduction, self.denom)
        d = self.d
        if self.kind == "mse":
            gd = xp.multiply(d, k)
            gd *= 2
        elif self.kind == "l1":
            gd = xp.sign(d)
            gd *= k
        else:
            gd = xp.clip(d, -self.delta, self.delta)
            gd *= k * self.scale if self.scale != 1.0 else k
        if self.weight is not None:
            gd *= self.weight
        if not self.needs[1]:
            return gd, None
        return (gd if self.needs[0] else None), xp.negative(gd)


# ---- binary cross-entropy -------------------------------------------------------------------------

class BinaryCrossEntropy(Function):
    """-w [y log x + (1 - y) log(1 - x)] on probabilities, each log clamped at -100 (PyTorch's rule)."""

    def forward(self, x, y, weight=None, reduction="mean"):
        self.x, self.y, self.weight, self.reduction = x, y, weight, reduction
        with xp.errstate(divide="ignore"):
            lx = xp.log(x)
            l1x = xp.log1p(-x)
        xp.maximum(lx, -100, out=lx)
        xp.maximum(l1x, -100, out=l1x)
        lx -= l1x
        lx *= y
        lx += l1x
        xp.negative(lx, out=lx)                                 # -(l1x + y (lx - l1x))
        if weight is not None:
            lx *= weight
        return _reduce(lx, reduction)

    def backward(self, g):
        k = _coef(g, self.reduction, self.x.size)
        x, y, w = self.x, self.y, self.weight
        gx = gy = None
        if self.needs[0]:                                       # (x - y) / max(x (1 - x), 1e-12), as PyTorch
            den = xp.subtract(1, x)
            den *= x
            xp.maximum(den, 1e-12, out=den)
            gx = xp.subtract(x, y)
            gx /= den
            gx *= k
            if w is not None:
                gx *= w
        if self.needs[1]:                                       # -logit(x)
            with xp.errstate(divide="ignore"):
                gy = xp.log1p(-x)
                gy -= xp.log(x)
            gy *= k
            if w is not None:
                gy *= w
        return gx, gy


class BinaryCrossEntropyWithLogits(Function):
    """(1 - y) x + (1 + (pw - 1) y) softplus(-x), times w: BCE of sigmoid(x) without forming it.
    Without pos_weight that is max(x, 0) - x y + log1p(exp(-|x|)), exact at any magnitude."""

    def forward(self, x, y, weight=None, pos_weight=None, reduction="mean"):
        self.x, self.y, self.weight, self.pos_weight, self.reduction = x, y, weight, pos_weight, reduction
        loss = xp.abs(x)                                        # log1p(exp(-|x|)), in place
        xp.negative(loss, out=loss)
        xp.exp(loss, out=loss)
        xp.log1p(loss, out=loss)
        if pos_weight is None:
            loss += xp.maximum(x, 0)
            loss -= x * y
        else:
            loss += xp.maximum(-x, 0)                           # softplus(-x)
            self.sp = loss
            loss = (pos_weight - 1) * y
            loss += 1
            loss *= self.sp
            t = xp.subtract(1, y)
            t *= x
            loss += t
        if weight is not None:
            loss *= weight
        return _reduce(loss, reduction)

    def backward(self, g):
        k = _coef(g, self.reduction, self.x.size)
        x, y, w, pw = self.x, self.y, self.weight, self.pos_weight
        gx = gy = None
        if self.needs[0]:                                       # sigmoid(x) - y, or lw sigmoid(x) - pw y
            gx = stable_sigmoid(x)
            if pw is None:
                gx -= y
            else:
                lw = (pw - 1) * y
                lw += 1
                gx *= lw
                gx -= pw * y
            gx *= k
            if w is not None:
                gx *= w
        if self.needs[1]:                                       # -x, or -x + (pw - 1) softplus(-x)
            gy = xp.negative(x)
            if pw is not None:
                gy += (pw - 1) * self.sp
            gy *= k
            if w is not None:
                gy *= w
        return gx, gy


# ---- classification over a class axis -------------------------------------------------------------

def _rows(a):
    """(N, C, d1, ...) -> (N*d1*..., C): one row of classes per sample; (N, C) and (C,) are views."""
    if a.ndim == 2:
        return a
    if a.ndim == 1:
        return a.reshape(1, -1)
    return xp.moveaxis(a, 1, -1).reshape(-1, a.shape[1])


def _unrows(g, shape: tuple):
    """Inverse of ``_rows`` for a gradient."""
    if g.shape == shape:
        return g
    if len(shape) <= 2:
        return g.reshape(shape)
    return xp.moveaxis(g.reshape((shape[0],) + shape[2:] + (shape[1],)), -1, 1)


def _targets(t, ignore_index: int):
    """Flat targets, a version safe to index with (ignored -> 0), and the mask of kept ones (None: all)."""
    t = t.reshape(-1)
    valid = t != ignore_index
    if valid.all():
        return t, None
    return xp.where(valid, t, 0), valid


def _row_factors(r, valid, wt):
    """v: the per-row factor of each loss element (masked); b = v * w[target]."""
    v = r if valid is None else r * valid
    return v, (v if wt is None else v * wt)


def _exp_rows(x2, exact_max: bool = False):
    """``e = exp(x2 - shift)`` and its row sums ``s``; log-sum-exp per row is ``log(s) + shift``.

    The shift keeps exp from overflowing and a row from underflowing. The row max costs a slow reduction
    over the short class axis, so it is taken only where needed (or asked for with ``exact_max``): when
    every logit lies in [-B, B] (B = 43 for float32 and 354 for float64 at 10 classes, a little less for
    more), exp needs no shift; when the logits span at most 2B, one scalar shift does; otherwise each row
    is shifted by its max. So no ``e`` underflows unless rows are shifted by their max. Row sums are one
    matrix-vector product, several times faster than ``sum(axis=1)`` over short rows.
    """
    c = x2.shape[1]
    fi = xp.finfo(x2.dtype)
    bound = 0.5 * min(-math.log(fi.tiny), math.log(fi.max) - math.log(max(c, 1)))
    shift = None
    if x2.size:
        lo, hi = x2.min(), x2.max()
        if exact_max or not hi - lo <= 2 * bound:               # wide range, inf or NaN: shift each row
            shift = x2.max(axis=1, keepdims=True)
        elif lo < -bound or hi > bound:
            shift = (hi + lo) / 2
    if shift is None:                                           # C order even for strided logits: the
        e = xp.exp(x2, order="C")                               # flat views of e and of the gradient rely on it
    else:
        e = xp.subtract(x2, shift, order="C")
        xp.exp(e, out=e)
    return e, e @ xp.ones(c, dtype=e.dtype), shift


def _lse(s, shift):
    lse = xp.log(s)
    if shift is not None:
        lse += shift.reshape(-1) if shift.ndim else shift
    return lse


class CrossEntropy(Function):
    """Softmax cross-entropy of logits against class indices, with class weights, ignore_index and
    label smoothing exactly as PyTorch: per sample (1-eps) w_t (-log p_t) + eps/C sum_c w_c (-log p_c),
    'mean' divided by the sum of w_t over kept samples."""

    def forward(self, x, target, weight=None, ignore_index=-100, reduction="mean", smoothing=0.0):
        self.shape, self.reduction, self.weight, self.eps = x.shape, reduction, weight, smoothing
        x2 = _rows(x)                                           # (M, C)
        m, c = x2.shape
        ts, valid = _targets(target, ignore_index)
        flat = xp.arange(0, m * c, c) + ts                      # flat position of each row's target
        e, s, shift = _exp_rows(x2)                             # e: the one (M, C) array, kept for the backward
        if shift is not None and shift.ndim:                    # -log p_t = log s - (x_t - max)
            loss = x2.reshape(-1)[flat] if x2.flags.c_contiguous else x2[xp.arange(m), ts]
            loss -= shift.reshape(-1)
            xp.subtract(xp.log(s), loss, out=loss)
        else:                                                   # -log p_t = log(s / e_t): e_t did not underflow
            loss = e.reshape(-1)[flat]
            xp.divide(s, loss, out=loss)
            xp.log(loss, out=loss)
        wt = None if weight is None else weight[ts]
        if wt is not None:
            loss *= wt
        if smoothing:                                           # eps/C sum_c w_c (lse - x_c)
            self.wsum = c if weight is None else weight.sum()
            loss *= 1 - smoothing
            sm = _lse(s, shift)
            sm *= self.wsum
            sm -= x2 @ (xp.ones(c, dtype=x2.dtype) if weight is None else weight)
            sm *= smoothing / c
            loss += sm
        if valid is not None:
            loss *= valid
            if wt is not None:
                wt *= valid
        if wt is not None:
            self.denom = wt.sum()
        else:
            self.denom = m if valid is None else int(valid.sum())
        self.e, self.s, self.flat, self.valid, self.wt = e, s, flat, valid, wt
        if reduction == "none":
            return loss.reshape(target.shape)
        return _reduce(loss, reduction, self.denom)

    def backward(self, g):
        r = g.reshape(-1) if self.reduction == "none" else _coef(g, self.reduction, self.denom)
        v, b = _row_factors(r, self.valid, self.wt)
        eps, c = self.eps, self.e.shape[1]
        a = b
        if eps:
            b = b * (1 - eps)
            a = b + v * (eps / c * self.wsum)
        grad = xp.multiply(self.e, (a / self.s)[:, None])      # a * softmax, one pass
        grad.reshape(-1)[self.flat] -= b                        # - b at the target
        if eps:
            sv = (v * (eps / c))[..., None]
            grad -= sv if self.weight is None else sv * self.weight
        return _unrows(grad, self.shape), None


class CrossEntropyProbs(Function):
    """Softmax cross-entropy of logits against class probabilities (same shape), PyTorch's rules:
    target smoothed to t (1-eps) + eps/C, weighted per class, 'mean' over samples."""

    def forward(self, x, target, weight=None, reduction="mean", smoothing=0.0):
        self.shape, self.reduction, self.weight, self.eps = x.shape, reduction, weight, smoothing
        x2, t2 = _rows(x), _rows(target)
        m, c = x2.shape
        _, s, shift = _exp_rows(x2, exact_max=True)
        logp = x2.copy() if shift is None else xp.subtract(x2, shift)   # no shift only when empty
        logp -= xp.log(s)[:, None]
        if smoothing:
            t2 = t2 * (1 - smoothing)
            t2 += smoothing / c
        tw = t2 if weight is None else t2 * weight
        loss = -xp.einsum("ij,ij->i", tw, logp)
        self.logp, self.tw, self.denom = logp, tw, m
        if reduction == "none":
            return loss.reshape(target.shape[:1] + target.shape[2:] if target.ndim > 1 else ())
        return _reduce(loss, reduction, m)

    def backward(self, g):
        r = g.reshape(-1) if self.reduction == "none" else _coef(g, self.reduction, self.denom)
        r = r[..., None]
        gx = gt = None
        if self.needs[0]:                                       # r (softmax * sum(tw) - tw)
            gx = xp.exp(self.logp)
            gx *= self.tw.sum(axis=1, keepdims=True) * r
            gx -= self.tw * r
            gx = _unrows(gx, self.shape)
        if self.needs[1]:                                       # -(1 - eps) r w log p
            gt = self.logp * (-(1 - self.eps) * r)
            if self.weight is not None:
                gt *= self.weight
            gt = _unrows(gt, self.shape)
        return gx, gt


class NLL(Function):
    """Negative log-likelihood of log-probabilities against class indices: -w_t x_t, 'mean' over sum w_t."""

    def forward(self, x, target, weight=None, ignore_index=-100, reduction="mean"):
        self.shape, self.reduction = x.shape, reduction
        x2 = _rows(x)
        m, c = x2.shape
        ts, valid = _targets(target, ignore_index)
        rows = xp.arange(m)
        loss = -x2[rows, ts]
        wt = None if weight is None else weight[ts]
        if wt is not None:
            loss *= wt
        if valid is not None:
            loss *= valid
            if wt is not None:
                wt *= valid
        if wt is not None:
            self.denom = wt.sum()
        else:
            self.denom = m if valid is None else int(valid.sum())
        self.rows, self.ts, self.valid, self.wt, self.dtype, self.c = rows, ts, valid, wt, x.dtype, c
        if reduction == "none":
            return loss.reshape(target.shape)
        return _reduce(loss, reduction, self.denom)

    def backward(self, g):
        r = g.reshape(-1) if self.reduction == "none" else _coef(g, self.reduction, self.denom)
        _, b = _row_factors(r, self.valid, self.wt)
        grad = xp.zeros((self.rows.size, self.c), dtype=self.dtype)
        grad[self.rows, self.ts] = -b
        return _unrows(grad, self.shape), None
