"""Recurrent layers over whole sequences (RNN tanh/relu, LSTM, GRU): one autograd node per layer.

``RNNLayer`` runs one layer, all its directions, over all time steps, and its backward runs back through
time in the same node (no per-step graph). Per direction, the forward is:

- one GEMM for the input projection of every time step (``x @ W_ih.T``, (T*B, G*H));
- per step, one GEMM for the recurrent part (``h @ W_hh.T``) and one fused kernel for the biases, gates,
  state update and output;

and the backward is the mirror loop (one fused kernel, one GEMM per step) followed by one GEMM each for
the input gradient and the two weight gradients over all steps.

With numba (float32), the whole loop over time is one compiled call (``kernels.rnn_numba.forward_rows`` /
``backward_rows``) whose per-step GEMMs multiply weights packed once per call (``kernels.gemm_numba``: at batch 32
OpenBLAS spends more time repacking the weight on every step than multiplying), and the batch rows are shared
out among lucidnet's threads (``kernels.threads``): rows are independent in a recurrent layer, so each thread runs
its rows through all the steps with no synchronisation. The input projection (where G*H is a multiple of 16)
and the input gradient are computed step by step inside those loops too, while their rows are in cache (from
``CHAIN_ROWS`` rows up; a smaller batch, such as one stream of text read through, gets one GEMM over all steps);
the weight gradients stay one large GEMM each, through ``kernels.threads.matmul`` on the same threads. OpenBLAS
runs on one thread for the duration of the layer's forward and backward only (``kernels.threads.own_blas``).
Without numba, or for float64, the loop runs in Python, one NumPy kernel (``rnn_numpy``) and one BLAS call
per step. Weights of any memory layout work;
``nn``'s are row-major, the layout in which the weight-gradient GEMMs ran fastest.

Variable lengths: row b is active at step t while t < lengths[b]. An inactive row keeps its state and
outputs zero, so the final state is each sequence's state at its last valid step (in the reverse
direction, each sequence starts at its own last valid step), and no gradient enters or leaves a padded
position.

The final states are side outputs: ``LayerState`` nodes hang off the layer's output and hand their
gradients to the layer's node (see ``rnn_layer``).
"""
from __future__ import annotations

from .. import kernels as K
from ..autograd.function import Function
from ..backend import xp
from ..kernels import rnn_numpy
from ..kernels.threads import matmul, own_blas, run_rows

__all__ = ["MODES", "RNNLayer", "LayerState", "rnn_layer", "check_lengths"]

MODES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}  # mode -> number of gates
CHAIN_ROWS = 8  # the fewest batch rows for which the compiled loops also do the input projection / gradient

def _biases(mode, b_ih, b_hh, n, dt):
    """(bias added to the input side, bias added to W_hh h (GRU only))."""
    zero = xp.zeros(n, dtype=dt)
    if mode == "gru":
        return (zero if b_ih is None else b_ih), (zero if b_hh is None else b_hh)
    if b_ih is None:
        return (zero if b_hh is None else b_hh), None
    return (b_ih if b_hh is None else b_ih + b_hh), None


def _weight_grad(a2, d2, w):
    """``d2.T @ a2`` (the gradient of a weight of shape (G*H, K)), in ``w``'s memory layout."""
    if w.flags.f_contiguous and not w.flags.c_contiguous:
        gw = xp.empty(w.shape, dtype=d2.dtype, order="F")
        matmul(a2.T, d2, out=gw.T)
        return gw
    return matmul(d2.T, a2)


class _Direction:
    """What one direction of the forward keeps for the backward."""
    __slots__ = ("act", "hs", "cs", "tc", "hnb")

    def __init__(self, act, hs, cs=None, tc=None, hnb=None):
        self.act, self.hs, self.cs, self.tc, self.hnb = act, hs, cs, tc, hnb


def _steps(d: int, t_: int, backward: bool = False):
    """(n, t, prev, nxt) of each step of direction ``d`` in the order the forward (or backward) runs them."""
    order = range(t_ - 1, -1, -1) if backward else range(t_)
    for n in order:
        yield (n, *rnn_numpy.step_at(d, t_, n))


_NO_PANELS = xp.empty((0, 0, 16), dtype=xp.float32)  # no weight: forward_rows has the projection done, ...
_NO_GX = xp.empty((0, 0, 0), dtype=xp.float32)  # ... backward_rows leaves the input gradient to the caller


def _or(a, b):
    """``a``, or ``b`` where ``a`` is None (an array of the right type for a mode's unused argument)."""
    return b if a is None else a


def _forward_steps(d, t_, mode, proj, r, bias, bias_h, w_hh, saved, y, off, bf, lens, zero_first, relu):
    """The forward of direction ``d`` one step at a time with the NumPy kernels (float64, or no numba)."""
    hs, k = saved.hs, rnn_numpy
    for n, t, prev, nxt in _steps(d, t_):
        if n == 0 and zero_first:
            r.fill(0)
        else:
            xp.matmul(hs[prev], w_hh.T, out=r)
        if mode == "lstm":
            k.lstm_forward_step(proj, r, bias, hs, saved.cs, saved.tc, y, t, prev, nxt, off, bf, lens)
        elif mode == "gru":
            k.gru_forward_step(proj, r, bias, bias_h, hs, saved.hnb, y, t, prev, nxt, off, bf, lens)
        else:
            k.rnn_forward_step(proj, r, bias, hs, y, t, prev, nxt, off, bf, lens, relu)


def _backward_steps(d, t_, mode, dy, bf, off, gmm, p, dc, s, dz, dr, w_hh, lens, last_gemm, relu):
    """The backward through time of direction ``d`` one step at a time with the NumPy kernels."""
    k = rnn_numpy
    for n, t, prev, nxt in _steps(d, t_, backward=True):
        if mode == "lstm":
            k.lstm_backward_step(dy, bf, off, gmm, p, dc, s.act, s.cs, s.tc, dz, t, prev, lens)
        elif mode == "gru":
            k.gru_backward_step(dy, bf, off, gmm, p, s.act, s.hnb, s.hs, dz, dr, t, prev, lens)
        else:
            k.rnn_backward_step(dy, bf, off, gmm, p, s.hs, dz, t, nxt, lens, relu)
        if n or last_gemm:
            xp.matmul(dr[t], w_hh, out=gmm)


class RNNLayer(Function):
    """One recurrent layer over a sequence. Inputs: ``x`` (T, B, I) (or (B, T, I) with ``batch_first``),
    ``h0`` and ``c0`` (D, B, H) or None (zeros; ``c0`` for the LSTM only), then per direction
    ``w_ih`` (G*H, I), ``w_hh`` (G*H, H), ``b_ih``, ``b_hh`` (G*H,) or None. Output: (T, B, D*H) (or
    (B, T, D*H)); the final states go into ``sink`` ({"h": (D, B, H), "c": (D, B, H) for the LSTM})."""

    def forward(self, x, h0, c0, *w, mode="lstm", lengths=None, batch_first=False, sink=None, projected=False):
        k = K.select("rnn", x)  # the compiled loops (float32, numba on) or the NumPy step kernels
        self.projected = projected
        if k is rnn_numpy:
            return self._forward(k, x, h0, c0, w, mode, lengths, batch_first, sink)
        with own_blas():  # the sequence kernels run on lucidnet's threads, BLAS on one (see kernels.threads)
            return self._forward(k, x, h0, c0, w, mode, lengths, batch_first, sink)

    def backward(self, g):
        if self.projected:
            raise RuntimeError("RNNLayer: a layer given its input projection (projected=True, as the quantized "
                               "recurrent layers run it) is inference-only")
        if self.k is rnn_numpy:
            return self._backward(g)
        with own_blas():
            return self._backward(g)

    def _forward(self, k, x, h0, c0, w, mode, lengths, bf, sink):
        if self.projected:  # x (D, T, B, G*H): every direction's input projection, time-major, contiguous
            t_, b_, i_ = x.shape[1:]
            x2 = x
        else:
            t_, b_, i_ = (x.shape[1], x.shape[0], x.shape[2]) if bf else x.shape
            x2 = xp.ascontiguousarray(x.transpose(1, 0, 2) if bf else x).reshape(t_ * b_, i_)
        nd, hd, ng = len(w) // 4, w[1].shape[1], MODES[mode]
        dt = x2.dtype
        lens = xp.full(b_, t_, dtype=xp.int64) if lengths is None else lengths
        y = xp.empty((b_, t_, nd * hd) if bf else (t_, b_, nd * hd), dtype=dt)
        states = {"h": xp.empty((nd, b_, hd), dtype=dt)}
        if mode == "lstm":
            states["c"] = xp.empty((nd, b_, hd), dtype=dt)
        fused = k is not rnn_numpy
        r = xp.empty((b_, k.padded(ng * hd) if fused else ng * hd), dtype=dt)
        relu = mode == "rnn_relu"
        self.dirs = []
        for d in range(nd):
            w_ih, w_hh, b_ih, b_hh = w[4 * d:4 * d + 4]
            # the projection in the compiled loop, while its rows are in cache (for a few rows, one GEMM over
            # all the steps instead: per step, each of them would read the whole weight for a row or two)
            in_chain = fused and ng * hd % 16 == 0 and not self.projected and b_ >= CHAIN_ROWS
            if self.projected:
                proj = xp.ascontiguousarray(x[d])
            elif in_chain:
                proj = xp.empty((t_, b_, ng * hd), dtype=dt)
            else:
                proj = matmul(x2, w_ih.T).reshape(t_, b_, ng * hd)
            bias, bias_h = _biases(mode, b_ih, b_hh, ng * hd, dt)
            first, last = (0, t_) if d == 0 else (t_, 0)
            hs = xp.empty((t_ + 1, b_, hd), dtype=dt)
            hs[first] = 0 if h0 is None else h0[d]
            saved = _Direction(proj, hs)
            if mode == "lstm":
                saved.cs = xp.empty((t_ + 1, b_, hd), dtype=dt)
                saved.cs[first] = 0 if c0 is None else c0[d]
                saved.tc = xp.empty((t_, b_, hd), dtype=dt)
            elif mode == "gru":
                saved.hnb = xp.empty((t_, b_, hd), dtype=dt)
            off = d * hd
            if fused:  # the whole sequence in compiled code, the batch rows shared out among threads
                wip = k.pack(w_ih.T) if in_chain else _NO_PANELS
                xs = proj if self.projected else x2.reshape(t_, b_, i_)  # (unread when projected)
                run_rows(k.forward_rows, b_, ng, relu, xs, wip, proj, k.pack(w_hh.T), r, bias, _or(bias_h, bias), hs,
                         _or(saved.cs, hs), _or(saved.tc, hs), _or(saved.hnb, hs), y, d, off, bf, lens, h0 is None)
            else:
                _forward_steps(d, t_, mode, proj, r, bias, bias_h, w_hh, saved, y, off, bf, lens, h0 is None, relu)
            states["h"][d] = hs[last]
            if mode == "lstm":
                states["c"][d] = saved.cs[last]
            self.dirs.append(saved)
        sink.update(states)
        self.x2, self.w, self.lens, self.mode, self.bf, self.k = x2, w, lens, mode, bf, k
        self.sizes, self.yshape, self.has_h0 = (t_, b_, i_, nd, hd, ng), y.shape, h0 is not None
        self.state_grads, self.zero = {}, None
        return y

    def _backward(self, g):
        t_, b_, i_, nd, hd, ng = self.sizes
        mode, bf, k, lens = self.mode, self.bf, self.k, self.lens
        dt = self.x2.dtype
        dy = xp.zeros(self.yshape, dtype=dt) if g is self.zero else xp.ascontiguousarray(g, dtype=dt)
        gh, gc = self.state_grads.get(0), self.state_grads.get(1)
        self.state_grads, self.zero = {}, None
        needs = self.needs
        grads = [None] * len(needs)
        want_h0 = self.has_h0 and needs[1]
        if want_h0:
            grads[1] = xp.empty((nd, b_, hd), dtype=dt)
        if mode == "lstm" and needs[2]:
            grads[2] = xp.empty((nd, b_, hd), dtype=dt)
        fused = k is not rnn_numpy
        gmm = xp.empty((b_, k.padded(hd) if fused else hd), dtype=dt)
        p = xp.empty((b_, hd), dtype=dt)
        dc = xp.empty((b_, hd), dtype=dt) if mode == "lstm" else None
        relu = mode == "rnn_relu"
        ones = xp.ones(t_ * b_, dtype=dt)
        gx = None
        for d in range(nd):
            w_ih, w_hh = self.w[4 * d], self.w[4 * d + 1]
            s = self.dirs[d]
            gmm.fill(0)
            p[...] = 0 if gh is None else gh[d]
            if dc is not None:
                dc[...] = 0 if gc is None else gc[d]
            dz = xp.empty((t_, b_, ng * hd), dtype=dt)
            dr = xp.empty_like(dz) if mode == "gru" else dz  # the gradient at W_hh h (+ b_hh)
            off = d * hd
            gx_in_chain = fused and needs[0] and b_ >= CHAIN_ROWS  # the input gradient step by step, in the loop
            if fused:
                gxd = xp.empty((t_, b_, k.padded(i_)), dtype=dt) if gx_in_chain else _NO_GX
                run_rows(k.backward_rows, b_, ng, relu, dy, bf, off, gmm, p, _or(dc, p), s.act, _or(s.cs, s.hs),
                         _or(s.tc, s.hs), _or(s.hnb, s.hs), s.hs, dz, dr, k.pack(w_hh),
                         k.pack(w_ih) if gx_in_chain else _NO_PANELS, gxd, d, lens, want_h0)
                if gx_in_chain:
                    gxd = gxd[:, :, :i_]
            else:
                _backward_steps(d, t_, mode, dy, bf, off, gmm, p, dc, s, dz, dr, w_hh, lens, want_h0, relu)
            if want_h0:
                xp.add(gmm[:, :hd], p, out=grads[1][d])
            if grads[2] is not None:
                grads[2][d] = dc
            dz2, dr2 = dz.reshape(t_ * b_, ng * hd), dr.reshape(t_ * b_, ng * hd)
            hprev = (s.hs[:t_] if d == 0 else s.hs[1:]).reshape(t_ * b_, hd)
            j = 3 + 4 * d
            if needs[j]:
                grads[j] = _weight_grad(self.x2, dz2, w_ih)
            if needs[j + 1]:
                grads[j + 1] = _weight_grad(hprev, dr2, w_hh)
            if needs[j + 2]:
                grads[j + 2] = xp.matmul(ones, dz2)
            if needs[j + 3]:
                grads[j + 3] = grads[j + 2] if dr is dz and needs[j + 2] else xp.matmul(ones, dr2)
            if needs[0]:
                if not gx_in_chain:
                    gxd = matmul(dz2, w_ih).reshape(t_, b_, i_)
                if gx is None:
                    gx = gxd
                else:
                    gx += gxd
        if gx is not None:
            grads[0] = gx.transpose(1, 0, 2) if bf else gx
        return tuple(grads)


class LayerState(Function):
    """A final state (h or c) of an ``RNNLayer``: a side output computed by the layer's forward.

    Its parent is the layer's output ``y``, so the engine runs it before the layer's node; its backward
    hands the state's gradient to that node and returns a zero gradient for ``y`` (the state is not a
    function of ``y``), which the layer's backward recognises and skips."""

    def forward(self, y, state=None, owner=None, slot=0):
        self.owner, self.slot, self.shape = owner, slot, y.shape
        return state

    def backward(self, g):
        owner = self.owner
        owner.state_grads[self.slot] = g
        if owner.zero is not None:  # a sibling state already reaches the layer's node
            return (None,)
        owner.zero = xp.broadcast_to(xp.zeros((), dtype=g.dtype), self.shape)
        return (owner.zero,)


def check_lengths(lengths, batch: int, steps: int, who: str):
    """``lengths`` (1-D ints, one per batch element, each in [0, steps]) as an int64 array; a clear error
    otherwise."""
    from ..tensor import Tensor

    arr = xp.asarray(lengths.array if isinstance(lengths, Tensor) else lengths)
    if arr.ndim != 1 or arr.shape[0] != batch:
        raise ValueError(f"{who}: lengths must be 1-D with one entry per batch element ({batch}), got shape "
                         f"{arr.shape}")
    if batch and arr.dtype.kind not in "iu":
        raise TypeError(f"{who}: lengths must be integers, got dtype {arr.dtype}")
    if batch and (arr.min() < 0 or arr.max() > steps):
        bad = arr.min() if arr.min() < 0 else arr.max()
        raise ValueError(f"{who}: length {int(bad)} is out of range; lengths must lie in [0, {steps}] "
                         f"(the sequence length of the input)")
    return xp.ascontiguousarray(arr, dtype=xp.int64)


def rnn_layer(mode: str, x, h0, c0, weights, lengths=None, batch_first: bool = False, projected: bool = False):
    """Run one recurrent layer; returns ``(output, h_n, c_n)`` (``c_n`` None unless ``mode == "lstm"``).

    ``weights``: per direction (one or two) ``w_ih, w_hh, b_ih, b_hh`` (biases may be None); ``lengths``:
    an int64 array from :func:`check_lengths`, or None. Shapes and checks: see ``nn.RNN`` / ``nn.LSTM``.
    ``projected``: ``x`` (D, T, B, G*H) is already ``x @ W_ih.T + b_ih`` of each direction, time-major whatever
    ``batch_first`` (which then sets the output's layout only; ``w_ih`` and ``b_ih`` are unused; inference only):
    how the quantized layers run their int8 input projection.
    """
    from ..tensor import Tensor

    sink: dict = {}
    y = RNNLayer.apply(x, h0, c0, *weights, mode=mode, lengths=lengths, batch_first=batch_first, sink=sink,
                       projected=projected)
    owner = y._node

    def side(arr, slot):
        if owner is None:
            return Tensor._make(arr, None)
        return LayerState.apply(y, state=arr, owner=owner, slot=slot)

    return y, side(sink["h"], 0), (side(sink["c"], 1) if mode == "lstm" else None)
