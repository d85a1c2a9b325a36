"""Fused time-step kernels (numba) of the recurrent layers: all the gate math of one step in one call.

A step of a recurrent layer is one GEMM (``h_prev @ W_hh.T``) and one step kernel here, which adds the
precomputed input projection and the biases, applies the gates, updates the state and writes the output;
the backward step is the mirror. ``forward_rows`` and ``backward_rows`` run all the steps of a sequence in
one call, the GEMM by the packed-weight kernel of ``gemm_numba``, over a range of batch rows (each
thread of ``kernels.threads`` takes its own rows). Each step kernel has a NumPy twin in ``rnn_numpy.py``
(the reference the tests hold these to, and the path for float64 or when numba is missing) with the same
arguments but the row range ``b0, b1``; the arrays and their layouts are described there. ``r`` and
``gmm`` may be wider than G*H and H (the GEMM's output is whole panels of 16 columns).

What makes them fast (float32, B=32, H=256: the LSTM step ~17 us forward where one loop per row doing all
the work took ~120 us):

- every inner loop over a row stores into one array. LLVM vectorises a loop only when it can check at run
  time that its stores do not overlap its loads, and gives up beyond a few such checks: one loop writing
  gates, cell, tanh(cell), h and the output stayed scalar. The rows are in L1, so several passes are cheap;
- ``error_model="numpy"``: no ZeroDivisionError branch on divisions (that branch also blocks
  vectorisation); ``fastmath={"contract"}``: multiply-adds may fuse into FMAs. No flag assumes away NaN
  or inf: a NaN must propagate;
- numba's ``math.tanh`` calls libm once per element; ``_tanh`` is a rational approximation instead
  (Eigen's float32 tanh: odd degree-13 over even degree-6 polynomial on [-7.9053, 7.9053], +-1 beyond;
  error < 3e-7), and ``sigmoid(x) = 0.5 + 0.5 * tanh(x / 2)``; every constant is float32 (a float64
  constant would turn the math into float64).

A step kernel alone is ~10-20 us of work, about what handing it to threads costs; threads take whole
sequences of rows instead.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .gemm_numba import gemm_rows, pack, padded  # noqa: F401 (pack, padded: for fused/rnn.py)
from .rnn_numpy import step_at

_F = np.float32
_ZERO, _HALF, _ONE = _F(0.0), _F(0.5), _F(1.0)
_CLAMP = _F(7.90531110763549805)
_A1, _A3, _A5, _A7 = _F(4.89352455891786e-03), _F(6.37261928875436e-04), _F(1.48572235717979e-05), \
    _F(5.12229709037114e-08)
_A9, _A11, _A13 = _F(-8.60467152213735e-11), _F(2.00018790482477e-13), _F(-2.76076847742355e-16)
_B0, _B2, _B4, _B6 = _F(4.89352518554385e-03), _F(2.26843463243900e-03), _F(1.18534705686654e-04), \
    _F(1.19825839466702e-06)
_OPTS = dict(cache=True, error_model="numpy", fastmath={"contract"})


@njit(inline="always", **_OPTS)
def _tanh(x):  # pragma: no cover - compiled
    # a NaN fails both comparisons and stays NaN
    x = _CLAMP if x > _CLAMP else x
    x = -_CLAMP if x < -_CLAMP else x
    x2 = x * x
    p = x2 * _A13 + _A11
    p = x2 * p + _A9
    p = x2 * p + _A7
    p = x2 * p + _A5
    p = x2 * p + _A3
    p = x2 * p + _A1
    q = x2 * _B6 + _B4
    q = x2 * q + _B2
    q = x2 * q + _B0
    return x * p / q


@njit(inline="always", **_OPTS)
def _sigmoid(x):  # pragma: no cover - compiled
    return _HALF * _tanh(_HALF * x) + _HALF


@njit(**_OPTS)
def tanh(x, out):  # pragma: no cover - compiled
    """out = tanh(x) for 1-D float32 arrays (the approximation above; for the tests)."""
    for i in range(x.shape[0]):
        out[i] = _tanh(x[i])


# ---- small single-store loops (inlined) -------------------------------------------------------------------

@njit(inline="always", **_OPTS)
def _copy(dst, src):  # pragma: no cover - compiled
    for j in range(dst.shape[0]):
        dst[j] = src[j]


@njit(inline="always", **_OPTS)
def _zero(dst):  # pragma: no cover - compiled
    for j in range(dst.shape[0]):
        dst[j] = _ZERO


@njit(inline="always", **_OPTS)
def _sum3(dst, a, b):  # pragma: no cover - compiled
    """dst += a + b (the state gradient: output gradient + recurrent GEMM + carried part)."""
    for j in range(dst.shape[0]):
        dst[j] = a[j] + b[j] + dst[j]


@njit(inline="always", **_OPTS)
def _pass_through(p, g):  # pragma: no cover - compiled
    """An inactive row in the backward: its state gradient ``p + g`` passes on unchanged."""
    for j in range(p.shape[0]):
        p[j] = g[j] + p[j]


# ---- RNN ---------------------------------------------------------------------------------------------------

@njit(**_OPTS)
def rnn_forward_step(xp, r, bias, hs, y, t, prev, nxt, off, bf, lens, relu, b0, b1):  # pragma: no cover - compiled
    h_ = hs.shape[2]
    for b in range(b0, b1):
        yo = (y[b, t] if bf else y[t, b])[off:off + h_]
        hn = hs[nxt, b]
        if t < lens[b]:
            z, rr = xp[t, b], r[b]
            if relu:
                for j in range(h_):
                    a = z[j] + rr[j] + bias[j]
                    hn[j] = _ZERO if a < _ZERO else a  # a NaN stays NaN
            else:
                for j in range(h_):
                    hn[j] = _tanh(z[j] + rr[j] + bias[j])
            _copy(yo, hn)
        else:
            _copy(hn, hs[prev, b])
            _zero(yo)


@njit(**_OPTS)
def rnn_backward_step(dy, bf, off, gmm, p, hs, dz, t, nxt, lens, relu, b0, b1):  # pragma: no cover - compiled
    h_ = p.shape[1]
    for b in range(b0, b1):
        dzr, gr, pr = dz[t, b], gmm[b], p[b]
        if t < lens[b]:
            _sum3(pr, (dy[b, t] if bf else dy[t, b])[off:off + h_], gr)  # pr = dh
            h = hs[nxt, b]
            if relu:
                for j in range(h_):
                    dzr[j] = pr[j] if h[j] > _ZERO else _ZERO
            else:
                for j in range(h_):
                    dzr[j] = pr[j] * (_ONE - h[j] * h[j])
            _zero(pr)
        else:
            _pass_through(pr, gr)
            _zero(dzr)


# ---- LSTM (gates i, f, g, o) ---------------------------------------------------------------------------------

@njit(**_OPTS)
def lstm_forward_step(xp, r, bias, hs, cs, tc, y, t, prev, nxt, off, bf, lens, b0, b1):  # pragma: no cover - compiled
    h_ = hs.shape[2]
    h2, h3 = 2 * h_, 3 * h_
    for b in range(b0, b1):
        yo = (y[b, t] if bf else y[t, b])[off:off + h_]
        hn, cn, cp = hs[nxt, b], cs[nxt, b], cs[prev, b]
        if t < lens[b]:
            z, rr, tcr = xp[t, b], r[b], tc[t, b]
            zif, rif, bif = z[:h2], rr[:h2], bias[:h2]
            for j in range(h2):
                zif[j] = _sigmoid(zif[j] + rif[j] + bif[j])
            zg, rg, bg = z[h2:h3], rr[h2:h3], bias[h2:h3]
            for j in range(h_):
                zg[j] = _tanh(zg[j] + rg[j] + bg[j])
            zo, ro, bo = z[h3:], rr[h3:h3 + h_], bias[h3:]
            for j in range(h_):
                zo[j] = _sigmoid(zo[j] + ro[j] + bo[j])
            zi, zf = z[:h_], z[h_:h2]
            for j in range(h_):
                cn[j] = zf[j] * cp[j] + zi[j] * zg[j]
            for j in range(h_):
                tcr[j] = _tanh(cn[j])
            for j in range(h_):
                hn[j] = zo[j] * tcr[j]
            _copy(yo, hn)
        else:
            _copy(hn, hs[prev, b])
            _copy(cn, cp)
            _zero(yo)


@njit(**_OPTS)
def lstm_backward_step(dy, bf, off, gmm, p, dc, act, cs, tc, dz, t, prev, lens, b0, b1):  # pragma: no cover - compiled
    h_ = p.shape[1]
    h2, h3 = 2 * h_, 3 * h_
    for b in range(b0, b1):
        dzr, gr, pr = dz[t, b], gmm[b], p[b]
        if t < lens[b]:
            _sum3(pr, (dy[b, t] if bf else dy[t, b])[off:off + h_], gr)  # pr = dh
            a, cp, tcr, dcr = act[t, b], cs[prev, b], tc[t, b], dc[b]
            ai, af, ag, ao = a[:h_], a[h_:h2], a[h2:h3], a[h3:]
            dzi, dzf, dzg, dzo = dzr[:h_], dzr[h_:h2], dzr[h2:h3], dzr[h3:]
            for j in range(h_):
                dzo[j] = pr[j] * tcr[j] * ao[j] * (_ONE - ao[j])
            for j in range(h_):  # dcr = the cell's gradient at this step
                dcr[j] = dcr[j] + pr[j] * ao[j] * (_ONE - tcr[j] * tcr[j])
            for j in range(h_):
                dzi[j] = dcr[j] * ag[j] * ai[j] * (_ONE - ai[j])
            for j in range(h_):
                dzf[j] = dcr[j] * cp[j] * af[j] * (_ONE - af[j])
            for j in range(h_):
                dzg[j] = dcr[j] * ai[j] * (_ONE - ag[j] * ag[j])
            for j in range(h_):  # carried to the previous step
                dcr[j] = dcr[j] * af[j]
            _zero(pr)
        else:
            _pass_through(pr, gr)
            _zero(dzr)


# ---- GRU (gates r, z, n) -------------------------------------------------------------------------------------

@njit(**_OPTS)
def gru_forward_step(xp, r, bias, bias_h, hs, hnb, y, t, prev, nxt, off, bf, lens, b0,
                     b1):  # pragma: no cover - compiled
    h_ = hs.shape[2]
    h2 = 2 * h_
    for b in range(b0, b1):
        yo = (y[b, t] if bf else y[t, b])[off:off + h_]
        hn, hp = hs[nxt, b], hs[prev, b]
        if t < lens[b]:
            z, rr, hnr = xp[t, b], r[b], hnb[t, b]
            zrz, rrz, brz, bhrz = z[:h2], rr[:h2], bias[:h2], bias_h[:h2]
            for j in range(h2):
                zrz[j] = _sigmoid(zrz[j] + brz[j] + rrz[j] + bhrz[j])
            rn, bhn = rr[h2:h2 + h_], bias_h[h2:]
            for j in range(h_):
                hnr[j] = rn[j] + bhn[j]
            zr, zz, zn, bn = z[:h_], z[h_:h2], z[h2:], bias[h2:]
            for j in range(h_):
                zn[j] = _tanh(zn[j] + bn[j] + zr[j] * hnr[j])
            for j in range(h_):
                hn[j] = zn[j] + zz[j] * (hp[j] - zn[j])
            _copy(yo, hn)
        else:
            _copy(hn, hp)
            _zero(yo)


@njit(**_OPTS)
def gru_backward_step(dy, bf, off, gmm, p, act, hnb, hs, dxp, dr, t, prev, lens, b0, b1):  # pragma: no cover - compiled
    h_ = p.shape[1]
    h2 = 2 * h_
    for b in range(b0, b1):
        dxr, drr, gr, pr = dxp[t, b], dr[t, b], gmm[b], p[b]
        if t < lens[b]:
            _sum3(pr, (dy[b, t] if bf else dy[t, b])[off:off + h_], gr)  # pr = dh
            a, hnr, hp = act[t, b], hnb[t, b], hs[prev, b]
            ar, az, an = a[:h_], a[h_:h2], a[h2:]
            dxr_, dxz, dxn = dxr[:h_], dxr[h_:h2], dxr[h2:]
            for j in range(h_):
                dxn[j] = pr[j] * (_ONE - az[j]) * (_ONE - an[j] * an[j])
            for j in range(h_):
                dxz[j] = pr[j] * (hp[j] - an[j]) * az[j] * (_ONE - az[j])
            for j in range(h_):
                dxr_[j] = dxn[j] * hnr[j] * ar[j] * (_ONE - ar[j])
            _copy(drr[:h2], dxr[:h2])
            drn = drr[h2:]
            for j in range(h_):
                drn[j] = dxn[j] * ar[j]
            for j in range(h_):  # what reaches the previous state directly
                pr[j] = pr[j] * az[j]
        else:
            _pass_through(pr, gr)
            _zero(dxr)
            _zero(drr)


# ---- whole sequences: the step kernels and the recurrent GEMM in one call, over a range of batch rows ----------

_RNN, _LSTM, _GRU = 1, 4, 3  # the mode by its number of gates (rnn_tanh and rnn_relu differ by ``relu``)


_step_at = njit(inline="always", **_OPTS)(step_at)  # (t, prev, nxt) of the n-th step, as in the NumPy loop


@njit(nogil=True, **_OPTS)
def forward_rows(ng, relu, x3, wip, xp, wp, r, bias, bias_h, hs, cs, tc, hnb, y, d, off, bf, lens, zero_first,
                 b0, b1):  # pragma: no cover - compiled
    """Direction ``d`` of a layer's forward over all time steps, for batch rows ``b0:b1``.

    Per step: the input projection ``xp[t, b0:b1] = x3[t, b0:b1] @ W_ih.T`` with ``wip = pack(W_ih.T)``
    (where G*H is a multiple of 16; with an empty ``wip`` the caller has filled ``xp``), then
    ``r[b0:b1] = hs[prev, b0:b1] @ W_hh.T`` with ``wp = pack(W_hh.T)`` (``r`` is as wide as the packed
    panels), then the mode's step kernel. Rows are independent in a recurrent layer, so threads may each
    take a range of rows with no synchronisation until the end. ``cs``/``tc`` (LSTM) and
    ``bias_h``/``hnb`` (GRU) are ignored by the other modes."""
    t_ = xp.shape[0]
    project = wip.shape[0] > 0
    for n in range(t_):
        t, prev, nxt = _step_at(d, t_, n)
        if project:
            gemm_rows(x3[t], wip, xp[t], b0, b1)
        if n == 0 and zero_first:
            for b in range(b0, b1):
                _zero(r[b])
        else:
            gemm_rows(hs[prev], wp, r, b0, b1)
        if ng == _LSTM:
            lstm_forward_step(xp, r, bias, hs, cs, tc, y, t, prev, nxt, off, bf, lens, b0, b1)
        elif ng == _GRU:
            gru_forward_step(xp, r, bias, bias_h, hs, hnb, y, t, prev, nxt, off, bf, lens, b0, b1)
        else:
            rnn_forward_step(xp, r, bias, hs, y, t, prev, nxt, off, bf, lens, relu, b0, b1)


@njit(nogil=True, **_OPTS)
def backward_rows(ng, relu, dy, bf, off, gmm, p, dc, act, cs, tc, hnb, hs, dz, dr, wq, wiq, gx, d, lens,
                  last_gemm, b0, b1):  # pragma: no cover - compiled
    """The backward through time of direction ``d`` for batch rows ``b0:b1``: per step the mode's backward
    kernel; the input gradient ``gx[t, b0:b1] = dz[t, b0:b1] @ W_ih`` with ``wiq = pack(W_ih)`` (unless
    ``wiq`` is empty); then ``gmm[b0:b1] = dr[t, b0:b1] @ W_hh`` with ``wq = pack(W_hh)`` (skipped after
    the first time step unless ``last_gemm``: that product is the initial state's gradient)."""
    t_ = dz.shape[0]
    input_grad = wiq.shape[0] > 0
    for n in range(t_ - 1, -1, -1):
        t, prev, nxt = _step_at(d, t_, n)
        if ng == _LSTM:
            lstm_backward_step(dy, bf, off, gmm, p, dc, act, cs, tc, dz, t, prev, lens, b0, b1)
        elif ng == _GRU:
            gru_backward_step(dy, bf, off, gmm, p, act, hnb, hs, dz, dr, t, prev, lens, b0, b1)
        else:
            rnn_backward_step(dy, bf, off, gmm, p, hs, dz, t, nxt, lens, relu, b0, b1)
        if input_grad:
            gemm_rows(dz[t], wiq, gx[t], b0, b1)
        if n or last_gemm:
            gemm_rows(dr[t], wq, gmm, b0, b1)
