"""NumPy reference kernels of the CTC loss (log-space forward-backward), vectorised over the batch.

Same signatures and results as ``ctc_numba.py`` (the reference its tests hold it to, and the path for
float64 or when numba is missing). Arrays: ``lp`` (T, N, C) log-probabilities (any strides); ``targets``
(N, S) int64, padded; ``il``, ``tl`` (N,) int64 input and target lengths, already checked (0 <= il <= T,
0 <= tl <= S, labels in [0, C) and not ``blank``). Sample b's extended label sequence has 2 * tl[b] + 1
states: blank, l1, blank, l2, ..., blank; state s is a label when s is odd.

- ``forward`` writes ``alpha`` (N, T, 2S+1): log of the summed probability of the path prefixes that end in
  state s at time t (emission at t included), and ``nll`` (N,): -log p(target | input), inf when no path
  fits (an input too short for the target and its repeats).
- ``backward`` writes ``grad`` (T, N, C): PyTorch's gradient of ``nll[b] * gr[b]`` with respect to ``lp``,
  ``exp(lp) - occupation`` for t < il[b] (``occupation[t, c]`` = the posterior probability that a path is in a
  state of label c at time t), 0 for t >= il[b]. ``exp(lp)`` is the term that makes this the gradient with
  respect to the logits of a log-softmax, which PyTorch folds in; where no path fits, NaN (0 with
  ``zero_infinity``), as PyTorch.
"""
from __future__ import annotations

from ..backend import xp

__all__ = ["forward", "backward"]

_NEG = -xp.inf


def _states(lp, targets, tl, blank: int):
    """(lpe (T, N, S2) the log-probability of each state's label, -inf beyond a sample's states; skip (N, S2):
    whether state s may be entered from s - 2 (a label unlike the label before it); ext (N, S2) the labels)."""
    n, s = targets.shape
    s2 = 2 * s + 1
    ext = xp.full((n, s2), blank, dtype=xp.int64)
    ext[:, 1::2] = targets
    valid = xp.arange(s2)[None, :] < (2 * tl + 1)[:, None]
    lpe = lp[:, xp.arange(n)[:, None], ext]                    # (T, N, S2)
    lpe[:, ~valid] = _NEG
    skip = xp.zeros((n, s2), dtype=bool)
    skip[:, 3::2] = targets[:, 1:] != targets[:, :-1]
    return lpe, skip, ext


def _final(alpha_t, tl):
    """-log p from alpha at a sample's last time (N, S2): its last blank and (tl > 0) its last label."""
    n = alpha_t.shape[0]
    rows = xp.arange(n)
    last = alpha_t[rows, 2 * tl]
    label = xp.where(tl > 0, alpha_t[rows, xp.maximum(2 * tl - 1, 0)], _NEG)
    return -xp.logaddexp(last, label)


def forward(lp, targets, il, tl, blank, alpha, nll) -> None:
    t_, n, _ = lp.shape
    lpe, skip, _ = _states(lp, targets, tl, blank)
    alpha.fill(_NEG)
    if t_ == 0:
        nll[...] = xp.where(tl == 0, 0.0, xp.inf)
        return
    alpha[:, 0, :2] = lpe[0, :, :2]
    for t in range(1, t_):
        prev = alpha[:, t - 1]
        a = prev.copy()
        xp.logaddexp(a[:, 1:], prev[:, :-1], out=a[:, 1:])
        a[:, 2:] = xp.where(skip[:, 2:], xp.logaddexp(a[:, 2:], prev[:, :-2]), a[:, 2:])
        xp.add(a, lpe[t], out=alpha[:, t])
    rows = xp.arange(n)
    out = _final(alpha[rows, xp.maximum(il - 1, 0)], tl)
    nll[...] = xp.where(il > 0, out, xp.where(tl == 0, 0.0, xp.inf))


def backward(lp, targets, il, tl, blank, alpha, nll, gr, zero_infinity, grad) -> None:
    t_, n, c = lp.shape
    lpe, skip, ext = _states(lp, targets, tl, blank)
    s2 = lpe.shape[2]
    rows = xp.arange(n)
    beta = xp.full((n, t_, s2), _NEG, dtype=lp.dtype)
    nxt = xp.full((n, s2), _NEG, dtype=lp.dtype)
    for t in range(t_ - 1, -1, -1):
        b = nxt.copy()
        xp.logaddexp(b[:, :-1], nxt[:, 1:], out=b[:, :-1])
        b[:, :-2] = xp.where(skip[:, 2:], xp.logaddexp(b[:, :-2], nxt[:, 2:]), b[:, :-2])
        b += lpe[t]
        start = rows[il - 1 == t]                               # a sample's last time: its two final states
        if start.size:
            b[start] = _NEG
            last = 2 * tl[start]
            b[start, last] = lpe[t, start, last]
            lab = start[tl[start] > 0]
            b[lab, 2 * tl[lab] - 1] = lpe[t, lab, 2 * tl[lab] - 1]
        b[il <= t] = _NEG
        beta[:, t] = b
        nxt = b
    with xp.errstate(invalid="ignore", over="ignore"):
        lpe_n = lpe.transpose(1, 0, 2)                          # (N, T, S2)
        occ_log = alpha + beta - lpe_n + nll[:, None, None]
        occ = xp.where(xp.isfinite(lpe_n) & (beta > _NEG), xp.exp(occ_log), 0).astype(lp.dtype, copy=False)
    onehot = xp.zeros((n, s2, c), dtype=lp.dtype)
    onehot[rows[:, None], xp.arange(s2)[None, :], ext] = 1
    occ_c = xp.matmul(occ, onehot)                              # (N, T, C)
    xp.exp(lp, out=grad)
    grad -= occ_c.transpose(1, 0, 2)
    grad *= gr[None, :, None]
    grad[xp.arange(t_)[:, None] >= il[None, :]] = 0
    bad = xp.isinf(nll)
    if bad.any():
        fill = 0 if zero_infinity else xp.nan
        grad[:, bad] = xp.where(xp.arange(t_)[:, None] < il[bad][None, :], fill, 0)[:, :, None]
