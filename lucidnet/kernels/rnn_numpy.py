"""NumPy reference of the fused time-step kernels of the recurrent layers (twins of ``rnn_numba.py``).

These run for float64 (gradient checks), when numba is missing, or with ``LUCIDNET_NUMBA=0``; the tests hold
the numba kernels to them. One call is one time step ``t`` of one direction, over the whole batch.

Arrays (B batch rows, H hidden units, G gates: 1 RNN, 4 LSTM (i, f, g, o), 3 GRU (r, z, n)):

- ``xp`` (T, B, G*H): the input projection ``x @ W_ih.T``; the forward step overwrites row ``t`` with
  the gate activations (what the backward reads as ``act``);
- ``r`` (B, G*H): ``hs[prev] @ W_hh.T``; ``bias`` (G*H,): added to the pre-activations (b_ih + b_hh, or for
  the GRU b_ih, with b_hh as ``bias_h``, since its n gate scales ``W_hn h + b_hn`` by r);
- ``hs``, ``cs`` (T+1, B, H): hidden and cell states in time order; step ``t`` reads ``[prev]`` and writes
  ``[nxt]`` (``t``, ``t+1`` forward; ``t+1``, ``t`` in the reverse direction);
- ``tc`` (T, B, H): tanh of the LSTM cell; ``hnb`` (T, B, H): the GRU's ``W_hn h + b_hn``;
- ``y``: the layer's output, (T, B, D*H), or (B, T, D*H) when ``bf``; the step writes columns ``off:off+H``;
- ``lens`` (B,): sequence lengths. Row b is active at step t when ``t < lens[b]``; an inactive row keeps
  its state, outputs zero and passes gradients through unchanged, so padding never leaks.

Backward: ``dy`` is the output gradient (``y``'s layout); ``gmm`` (B, H) the GEMM of the previous backward
step (``dz @ W_hh``); ``p`` (B, H) what reaches the state directly (the final-state gradient at first, a
GRU's ``dh * z``, and what inactive rows pass through); the state gradient is ``dy + gmm + p``. ``dc``
(B, H): the LSTM cell's gradient, carried. The step writes the pre-activation gradients ``dz`` (GRU:
``dxp`` for the input side and ``dr`` for the recurrent side).
"""
from __future__ import annotations

from ..backend import xp as np
from ..ops.activation import stable_sigmoid

__all__ = ["step_at", "rnn_forward_step", "rnn_backward_step", "lstm_forward_step", "lstm_backward_step",
           "gru_forward_step", "gru_backward_step"]


def step_at(d: int, t_: int, n: int) -> tuple[int, int, int]:
    """(t, prev, nxt) of the ``n``-th step that direction ``d`` runs over ``t_`` steps: time ``t`` reads state
    ``prev`` and writes state ``nxt`` (plain Python, so that ``rnn_numba`` compiles this same function)."""
    if d == 0:
        return n, n, n + 1
    return t_ - 1 - n, t_ - n, t_ - 1 - n


def _y_row(y, t, bf, off, h):
    """Columns off:off+H of the output at time t: (B, H)."""
    return (y[:, t] if bf else y[t])[:, off:off + h]


def _hold(t, lens, prev, nxt, *states):
    """Inactive rows keep their state; returns the active-row mask (B, 1), or None when all are active."""
    m = t < lens
    if m.all():
        return None
    keep = ~m
    for s in states:
        s[nxt][keep] = s[prev][keep]
    return m[:, None]


def _pass(t, lens, gmm, p, *grads):
    """After a backward step: inactive rows pass ``gmm + p`` on in ``p`` and get zero pre-activation grads."""
    m = t < lens
    if m.all():
        p[...] = 0
        return
    keep = ~m
    p[m] = 0
    p[keep] += gmm[keep]
    for g in grads:
        g[t][keep] = 0


def rnn_forward_step(xp, r, bias, hs, y, t, prev, nxt, off, bf, lens, relu):
    a = xp[t]
    a += r
    a += bias
    h = hs[nxt]
    if relu:
        np.maximum(a, 0, out=h)
    else:
        np.tanh(a, out=h)
    m = _hold(t, lens, prev, nxt, hs)
    _y_row(y, t, bf, off, h.shape[1])[...] = h if m is None else np.where(m, h, 0)


def rnn_backward_step(dy, bf, off, gmm, p, hs, dz, t, nxt, lens, relu):
    dh = _y_row(dy, t, bf, off, gmm.shape[1]) + gmm + p
    h = hs[nxt]
    dz[t] = dh * (h > 0) if relu else dh * (1 - h * h)
    _pass(t, lens, gmm, p, dz)


def lstm_forward_step(xp, r, bias, hs, cs, tc, y, t, prev, nxt, off, bf, lens):
    hd = hs.shape[2]
    z = xp[t]
    z += r
    z += bias
    z[:, :2 * hd] = stable_sigmoid(z[:, :2 * hd])
    np.tanh(z[:, 2 * hd:3 * hd], out=z[:, 2 * hd:3 * hd])
    z[:, 3 * hd:] = stable_sigmoid(z[:, 3 * hd:])
    i, f, g, o = z[:, :hd], z[:, hd:2 * hd], z[:, 2 * hd:3 * hd], z[:, 3 * hd:]
    c = cs[nxt]
    np.multiply(f, cs[prev], out=c)
    c += i * g
    np.tanh(c, out=tc[t])
    np.multiply(o, tc[t], out=hs[nxt])
    m = _hold(t, lens, prev, nxt, hs, cs)
    _y_row(y, t, bf, off, hd)[...] = hs[nxt] if m is None else np.where(m, hs[nxt], 0)


def lstm_backward_step(dy, bf, off, gmm, p, dc, act, cs, tc, dz, t, prev, lens):
    hd = gmm.shape[1]
    dh = _y_row(dy, t, bf, off, hd) + gmm + p
    a, tt = act[t], tc[t]
    i, f, g, o = a[:, :hd], a[:, hd:2 * hd], a[:, 2 * hd:3 * hd], a[:, 3 * hd:]
    d = dc + dh * o * (1 - tt * tt)
    dzt = dz[t]
    dzt[:, :hd] = d * g * i * (1 - i)
    dzt[:, hd:2 * hd] = d * cs[prev] * f * (1 - f)
    dzt[:, 2 * hd:3 * hd] = d * i * (1 - g * g)
    dzt[:, 3 * hd:] = dh * tt * o * (1 - o)
    m = t < lens
    dc[m] = (d * f)[m]
    _pass(t, lens, gmm, p, dz)


def gru_forward_step(xp, r, bias, bias_h, hs, hnb, y, t, prev, nxt, off, bf, lens):
    hd = hs.shape[2]
    z = xp[t]
    z += bias
    rh = r + bias_h
    z[:, :2 * hd] = stable_sigmoid(z[:, :2 * hd] + rh[:, :2 * hd])
    rg, zg = z[:, :hd], z[:, hd:2 * hd]
    hnb[t] = rh[:, 2 * hd:]
    n = z[:, 2 * hd:]
    n += rg * hnb[t]
    np.tanh(n, out=n)
    hs[nxt] = n + zg * (hs[prev] - n)
    m = _hold(t, lens, prev, nxt, hs)
    _y_row(y, t, bf, off, hd)[...] = hs[nxt] if m is None else np.where(m, hs[nxt], 0)


def gru_backward_step(dy, bf, off, gmm, p, act, hnb, hs, dxp, dr, t, prev, lens):
    hd = gmm.shape[1]
    dh = _y_row(dy, t, bf, off, hd) + gmm + p
    a = act[t]
    rg, zg, n = a[:, :hd], a[:, hd:2 * hd], a[:, 2 * hd:]
    dn = dh * (1 - zg) * (1 - n * n)
    dzg = dh * (hs[prev] - n) * zg * (1 - zg)
    drg = dn * hnb[t] * rg * (1 - rg)
    dx, drt = dxp[t], dr[t]
    dx[:, :hd] = drt[:, :hd] = drg
    dx[:, hd:2 * hd] = drt[:, hd:2 * hd] = dzg
    dx[:, 2 * hd:] = dn
    drt[:, 2 * hd:] = dn * rg
    m = t < lens
    pz = dh * zg
    _pass(t, lens, gmm, p, dxp, dr)
    p[m] = pz[m]
