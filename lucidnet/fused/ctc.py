"""The CTC loss as one Function: the forward-backward of ``lucidnet.kernels`` (compiled for float32 when numba
is on, NumPy otherwise), then PyTorch's reductions.

The arrays come checked from ``lucidnet.nn.losses.ctc_loss``: ``lp`` (T, N, C) (or (T, C) with
``unbatched``), ``targets`` (N, S) int64 padded, ``il``/``tl`` (N,) int64. The gradient is PyTorch's:
``exp(lp) - occupation`` (see ``kernels.ctc_numpy``), scaled by each sample's share of the reduction.
"""
from __future__ import annotations

from .. import kernels
from ..autograd.function import Function
from ..backend import xp


class CTCLoss(Function):
    """-log p(target | input) per sample; 'mean' divides each by its target length (at least 1), then
    averages over the batch; ``zero_infinity`` makes infinite losses (and their gradients) 0."""

    def forward(self, lp, targets, il, tl, blank=0, reduction="mean", zero_infinity=False, unbatched=False):
        if unbatched:
            lp = lp[:, None, :]
        t_, n, _ = lp.shape
        alpha = xp.empty((n, t_, 2 * targets.shape[1] + 1), dtype=lp.dtype)
        nll = xp.empty(n, dtype=lp.dtype)
        kernels.ctc_forward(lp, targets, il, tl, blank, alpha, nll)
        self.lp, self.targets, self.il, self.tl, self.alpha, self.nll = lp, targets, il, tl, alpha, nll
        self.blank, self.reduction, self.zero_infinity, self.unbatched = blank, reduction, zero_infinity, unbatched
        loss = xp.where(xp.isinf(nll), lp.dtype.type(0), nll) if zero_infinity else nll
        if reduction == "none":
            return loss[0] if unbatched else loss
        if reduction == "sum":
            return loss.sum()
        per = xp.maximum(tl, 1).astype(lp.dtype)
        self.denom = per * lp.dtype.type(n)
        return (loss / per).mean()

    def backward(self, g):
        lp = self.lp
        n = lp.shape[1]
        g = xp.asarray(g, dtype=lp.dtype)
        if self.reduction == "none":
            gr = g.reshape(n)
        elif self.reduction == "sum":
            gr = xp.full(n, g, dtype=lp.dtype)
        else:
            gr = g / self.denom
        grad = xp.empty(lp.shape, dtype=lp.dtype)
        kernels.ctc_backward(lp, self.targets, self.il, self.tl, self.blank, self.alpha, self.nll, gr,
                             self.zero_infinity, grad)
        return (grad[:, 0, :] if self.unbatched else grad), None, None, None
