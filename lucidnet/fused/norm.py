"""Normalisation kernels, each one Function with its own backward: batch norm, layer norm, group norm.

Composed from primitives, a batch norm makes ~15 passes over the activation and as many temporaries;
these make about five each way in NumPy. Per-channel sums are BLAS matrix-vector products or row sums,
per-channel dot products batched dots (float32 accumulation inside short rows, pairwise across them:
as exact as NumPy's own ``sum``). Variances are two-pass (mean first, then the centred squares), never
E[x^2] - E[x]^2. No float64 temporaries for a float32 input.

Layouts: batch norm works in its input's memory layout, (N, C, L) or channels-last (N, L, C) (what a
convolution returns, see ``fused.conv``), and its output keeps that layout. With numba installed, float32
channels-last (and (N, C)) batch norm runs fused multi-threaded kernels (``kernels.norm_numba``: two passes
forward, two backward), and float32 layer norm one-pass row kernels; the NumPy path is their reference.
Layer norm and group norm see their input as
rows (R, D) and reduce each row (group norm's rows are (sample, group) pairs).

>>> import lucidnet as ln
>>> x = ln.randn(8, 3, 5, 5)
>>> y = batch_norm(x, None, None, training=True)
>>> bool(abs(float(y.mean())) < 1e-5), y.dtype
(True, dtype('float32'))
"""
from __future__ import annotations

import math
from typing import Sequence

from ..autograd.function import Function
from ..backend import xp
from .. import kernels

__all__ = ["BatchNorm", "LayerNorm", "GroupNorm", "batch_norm", "batch_norm_hardtanh", "sync_batch_norm", "layer_norm",
           "group_norm"]


# ---- reductions shared by the kernels ---------------------------------------------------------------

def _channel_sum(a3, last: bool):
    """-> (C,): the sum over every axis but the channel axis of a3: (N, C, L), or (N, L, C) when ``last``."""
    if last:
        return a3.sum(axis=1).sum(axis=0)  # contiguous rows: vectorised, and pairwise across N
    n, c, length = a3.shape
    if length == 1:
        return a3.reshape(n, c).sum(axis=0)
    return xp.matmul(a3, xp.ones(length, dtype=a3.dtype)).sum(axis=0)


def _channel_dot(a3, b3, last: bool):
    """-> (C,): the sum of ``a * b`` over every axis but the channel axis, without a temporary of that size."""
    if last:
        return xp.einsum("nlc,nlc->nc", a3, b3).sum(axis=0)
    n, c, length = a3.shape
    if length == 1:
        return xp.einsum("nc,nc->c", a3.reshape(n, c), b3.reshape(n, c))
    return xp.matmul(a3[:, :, None, :], b3[:, :, :, None]).reshape(n, c).sum(axis=0)


def _channels_last(a) -> bool:
    """Whether (N, C, *) lies in memory as (N, *, C) (a conv's output does: see ``fused.conv``)."""
    return a.ndim == 2 or (not a.flags.c_contiguous and xp.moveaxis(a, 1, -1).flags.c_contiguous)


def _view3(a, last: bool):
    """(N, C, *) as (N, C, L), or as (N, L, C) when ``last``; a view when the memory allows, else a copy."""
    n, c = a.shape[0], a.shape[1]
    if not last:
        return a.reshape(n, c, -1)
    t = xp.moveaxis(a, 1, -1)
    return (t if t.flags.c_contiguous else xp.ascontiguousarray(t)).reshape(n, -1, c)


def _unview3(a3, shape: tuple, last: bool):
    """The inverse of ``_view3``: back to (N, C, *) (a strided view for channels-last memory)."""
    if not last:
        return a3.reshape(shape)
    return xp.moveaxis(a3.reshape((shape[0],) + tuple(shape[2:]) + (shape[1],)), -1, 1)


def _per_channel(v, last: bool):
    """A (C,) vector shaped to broadcast along the channel axis of a ``_view3`` array."""
    return v if last else v[:, None]


def _numba_rows(a, last: bool):
    """The fused numba kernels (``kernels.norm_numba``) when they take this batch-norm input: float32 rows
    of channels (M, C); else None (the NumPy path below, their reference)."""
    return kernels.compiled("norm", a) if last else None


def _as3(a, n: int, c: int):
    return a.reshape(n, c, -1)


def _row_mean(a2):
    """(R, D) -> (R,)."""
    return xp.matmul(a2, xp.ones(a2.shape[1], dtype=a2.dtype)) / a2.shape[1]


def _row_dot_mean(a2, b2):
    """(R, D) x (R, D) -> (R,): the mean of ``a * b`` over each row."""
    r, d = a2.shape
    return xp.matmul(a2[:, None, :], b2[:, :, None]).reshape(r) / d


def _col_sum(a2):
    """(R, D) -> (D,)."""
    return a2.sum(axis=0)


def _update_running(running_mean, running_var, mean, var, momentum: float, m: int) -> None:
    """PyTorch's rule, in place: running = (1 - momentum) * running + momentum * batch statistic, with the
    unbiased variance (m / (m - 1) times the biased one) going into ``running_var``."""
    if running_mean is not None:
        running_mean *= 1 - momentum
        running_mean += momentum * mean
    if running_var is not None:
        running_var *= 1 - momentum
        running_var += (momentum * m / max(m - 1, 1)) * var


def _rsqrt(var, eps: float):
    out = var + eps
    xp.sqrt(out, out=out)
    return xp.divide(1, out, out=out)


# ---- rows: the core of layer norm and group norm ------------------------------------------------------

def _row_normalize(x2, eps: float):
    """(R, D) -> (xhat, invstd): each row centred and scaled to unit (biased) variance."""
    xhat = xp.subtract(x2, _row_mean(x2)[:, None])
    invstd = _rsqrt(_row_dot_mean(xhat, xhat), eps)
    xhat *= invstd[:, None]
    return xhat, invstd


def _row_normalize_backward(gxhat, xhat, invstd, owned: bool):
    """d(loss)/d(x) from d(loss)/d(xhat): invstd * (gxhat - mean(gxhat) - xhat * mean(gxhat * xhat)).

    ``owned``: gxhat is a temporary of ours, so the result is written into it."""
    m1 = _row_mean(gxhat)
    m2 = _row_dot_mean(gxhat, xhat)
    t = xp.multiply(xhat, m2[:, None])
    t += m1[:, None]
    gx = gxhat if owned else xp.empty_like(gxhat)
    xp.subtract(gxhat, t, out=gx)
    gx *= invstd[:, None]
    return gx


# ---- batch norm ---------------------------------------------------------------------------------------

class BatchNorm(Function):
    """Batch normalisation over dim 1 of (N, C, *). ``weight``/``bias`` may be None (no affine).

    Training (or no running statistics): normalise with the batch's mean and biased variance; when
    ``running_mean``/``running_var`` arrays are given, update them in place (PyTorch's rule: the
    unbiased variance goes into ``running_var``). Otherwise normalise with the running statistics.
    Works in the input's memory layout (NCHW, or channels-last as a conv leaves it): no transposing copy,
    and the output has the input's layout. ``clip=(lo, hi)``: a hardtanh (ReLU6) after the normalisation,
    folded into the same passes (the compiled kernels clip as they write and mask the gradient as they read).

    ``sync``: a function summing an array in place over the processes of a job (``all_reduce``): training
    statistics are then those of the whole batch, every rank's share together (two sums forward, one
    backward: the global mean first, then the centred squares, as in one process), on the NumPy path.
    """

    def forward(self, x, weight=None, bias=None, *, running_mean=None, running_var=None, training=True,
                momentum=0.1, eps=1e-5, clip=None, sync=None):
        self.sync = sync if training else None
        out = self._normalize(x, weight, bias, running_mean, running_var, training, momentum, eps, clip)
        if clip is not None and self.inside is None:  # the NumPy path: clip the normalised output
            lo, hi = (x.dtype.type(v) for v in clip)
            self.inside = (out > lo) & (out < hi)
            xp.clip(out, lo, hi, out=out)
        return out

    def _normalize(self, x, weight, bias, running_mean, running_var, training, momentum, eps, clip):
        self.inside = None
        last = _channels_last(x)
        x3 = _view3(x, last)                                       # (N, C, L) or (N, L, C)
        m = local = x.size // x.shape[1]
        sync = self.sync
        # the compiled kernels (a module or None; then x3 is (N, L, C): rows (M, C)); a synchronised batch norm: NumPy
        fused = self.fused = None if sync else _numba_rows(x, last)
        self.shape, self.training, self.last = x.shape, training, last
        if training:
            if fused:
                mean, var = fused.moments(x3.reshape(m, -1))
            else:
                mean = _channel_sum(x3, last)
                if sync:  # the sums and the sample counts of every rank (float64: counts stay exact)
                    total = xp.append(mean.astype(xp.float64), float(local))
                    sync(total)
                    mean, m = total[:-1].astype(x.dtype), int(total[-1])
                mean /= m
                xc = self.xc = xp.subtract(x3, _per_channel(mean, last))  # saved for backward
                var = _channel_dot(xc, xc, last)
                if sync:
                    sync(var)
                var /= m
            self.m = m
            _update_running(running_mean, running_var, mean, var, momentum, m)
            invstd = _rsqrt(var, eps)
        else:
            mean, invstd = running_mean.copy(), _rsqrt(running_var, eps)
        scale = invstd if weight is None else weight * invstd
        self.invstd, self.scale = invstd, scale
        if training and not fused:  # from the centred copy: no cancellation when |mean| >> std
            out = xp.multiply(xc, _per_channel(scale, last))
            if bias is not None:
                out += _per_channel(bias, last)
            return _unview3(out, x.shape, last)
        shift = -mean * scale
        if bias is not None:
            shift += bias
        self.x3, self.mean = x3, mean
        if fused:
            bounds = None if clip is None else tuple(xp.float32(v) for v in clip)
            out, self.inside = fused.affine(x3.reshape(m, -1), scale, shift, bounds)
            out = out.reshape(x3.shape)
        else:
            out = xp.multiply(x3, _per_channel(scale, last))
            out += _per_channel(shift, last)
        return _unview3(out, x.shape, last)

    def _backward_fused(self, g):
        nb = self.fused
        x3, mean, invstd, scale = self.x3, self.mean, self.invstd, self.scale
        c = x3.shape[2]
        x2 = x3.reshape(-1, c)
        m = x2.shape[0]
        g2 = _view3(g, True).reshape(m, c)
        inside = self.inside                        # (M, C) rows as g2's, or None
        need_x, need_w, need_b = self.needs
        gx = gw = gb = None
        if self.training:
            sum_g, dot = nb.grad_sums(g2, x2, mean, inside)  # sum(g), sum(g * (x - mean)) per channel
            if need_x:
                gx = nb.grad_input(g2, x2, mean, invstd * invstd * dot / m, sum_g / m, scale, inside)
        else:
            sum_g = dot = None
            if need_w or need_b:
                sum_g, dot = nb.grad_sums(g2, x2, mean, inside)
            if need_x:
                gx = xp.multiply(g2, scale)
                if inside is not None:
                    gx *= inside
        if gx is not None:
            gx = _unview3(gx.reshape(self.shape[0], -1, c), self.shape, True)
        if need_w:
            gw = dot * invstd
        if need_b:
            gb = sum_g
        return gx, gw, gb

    def backward(self, g):
        if self.fused:
            return self._backward_fused(g)
        if self.inside is not None:
            g = g * self.inside
        last = self.last
        g3 = _view3(g, last)  # (a copy only when g's layout differs from the input's)
        invstd, scale = self.invstd, self.scale
        need_x, need_w, need_b = self.needs
        gx = gw = gb = None
        if self.training:
            xc = self.xc
            m = self.m
            sum_g = _channel_sum(g3, last)
            dot = _channel_dot(g3, xc, last)                         # sum(g * (x - mean)) per channel
            if need_w or need_b:  # this rank's share (data parallelism averages the ranks' parameter gradients)
                gw, gb = (dot * invstd if need_w else None), (sum_g if need_b else None)
            if self.sync and need_x:  # the input's gradient takes the sums over every rank's samples
                both = xp.concatenate([sum_g, dot])
                self.sync(both)
                sum_g, dot = both[:len(sum_g)], both[len(sum_g):]
            if need_x:
                # gx = scale * (g - mean(g) - xhat * mean(g * xhat)), xhat = xc * invstd
                gx = xp.multiply(xc, _per_channel(invstd * invstd * dot / m, last))
                gx += _per_channel(sum_g / m, last)
                xp.subtract(g3, gx, out=gx)
                gx *= _per_channel(scale, last)
                gx = _unview3(gx, self.shape, last)
        else:
            if need_x:
                gx = _unview3(xp.multiply(g3, _per_channel(scale, last)), self.shape, last)
            if need_w:
                xc = xp.subtract(self.x3, _per_channel(self.mean, last))
                gw = _channel_dot(g3, xc, last) * invstd
            if need_b:
                gb = _channel_sum(g3, last)
        return gx, gw, gb


def batch_norm(input, running_mean=None, running_var=None, weight=None, bias=None, training: bool = False,
               momentum: float | None = 0.1, eps: float = 1e-5):
    """PyTorch's ``F.batch_norm``: normalise (N, C, *) over every dim but 1.

    ``training=True`` (or no running statistics) uses the batch's statistics and, when running
    statistics are given, updates them in place: ``running = (1 - momentum) * running + momentum * batch``
    (``running_var`` takes the unbiased batch variance). ``momentum=None`` is treated as 0.1 here; the
    ``BatchNorm`` layers turn it into a cumulative average. Otherwise the running statistics are used.
    """
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps, None)


def sync_batch_norm(input, running_mean=None, running_var=None, weight=None, bias=None, training: bool = False,
                    momentum: float | None = 0.1, eps: float = 1e-5, all_reduce=None):
    """``batch_norm`` whose training statistics cover every process's batch: ``all_reduce(array)`` sums an
    array in place over the processes (``lucidnet.distributed.all_reduce``); None: this process's batch only.

    >>> import numpy as np, lucidnet as ln
    >>> x = ln.randn(6, 3)
    >>> one = sync_batch_norm(x, training=True, all_reduce=lambda a: None)  # a world of one: the sums stay
    >>> bool(np.allclose(one.numpy(), batch_norm(x, training=True).numpy(), atol=1e-6))
    True
    """
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps, None, all_reduce)


def batch_norm_hardtanh(input, running_mean=None, running_var=None, weight=None, bias=None, training: bool = False,
                        momentum: float | None = 0.1, eps: float = 1e-5, min_val: float = 0.0,
                        max_val: float = 6.0):
    """``hardtanh(batch_norm(...), min_val, max_val)`` (ReLU6 by default) as one node: the clip folded into
    batch norm's passes. The same values and gradients as the two ops.

    >>> import lucidnet as ln
    >>> y = batch_norm_hardtanh(ln.randn(4, 3, 5, 5) * 10, training=True)
    >>> float(y.min()) >= 0.0 and float(y.max()) <= 6.0
    True
    """
    if min_val > max_val:
        raise ValueError(f"batch_norm_hardtanh: min_val={min_val} must not exceed max_val={max_val}")
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps,
                       (float(min_val), float(max_val)))


def _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps, clip, sync=None):
    from ..tensor import Tensor

    x = input
    if not isinstance(x, Tensor):
        raise TypeError(f"batch_norm: expected a Tensor input, got {type(x).__name__}")
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, *) with at least 2 dims, got {tuple(x.shape)}")
    c = x.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"batch_norm: {name} of shape {tuple(t.shape)} does not match the {c} channels of the "
                             f"input of shape {tuple(x.shape)}")
        if t is not None and t.dtype != x.dtype:
            raise TypeError(f"batch_norm: {name} is {t.dtype} but the input is {x.dtype}; convert one "
                            "(layer.float() / layer.double())")
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_norm: give both running_mean and running_var, or neither")
    use_batch = training or running_mean is None
    if use_batch and x.numel() // c <= 1:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input of shape "
                         f"{tuple(x.shape)}")
    # the running statistics: updated in place when training, read when not, untouched without them
    rm = None if running_mean is None else running_mean.array
    rv = None if running_var is None else running_var.array
    return BatchNorm.apply(x, weight, bias, running_mean=rm, running_var=rv, training=use_batch,
                           momentum=0.1 if momentum is None else float(momentum), eps=float(eps), clip=clip,
                           sync=sync if use_batch else None)


# ---- layer norm ---------------------------------------------------------------------------------------

class LayerNorm(Function):
    """Normalise over the trailing dims ``nshape`` (rows of (R, D)), then ``* weight + bias`` elementwise.

    float32 with numba on runs the one-pass row kernels of ``kernels.norm_numba`` (and keeps nothing for a
    backward under no_grad); the NumPy path below is their reference."""

    def forward(self, x, weight=None, bias=None, *, nshape=(), eps=1e-5):
        d = math.prod(nshape)
        x2 = x.reshape(-1, d)
        self.shape, self.nshape, self.weight = x.shape, nshape, weight
        nb = self.fused = kernels.compiled("norm", x, *(t for t in (weight, bias) if t is not None))
        if nb is not None:
            w = xp.ones(d, xp.float32) if weight is None else weight.reshape(d)
            b = xp.zeros(d, xp.float32) if bias is None else bias.reshape(d)
            out, self.xhat, self.invstd = nb.layer_norm(xp.ascontiguousarray(x2), w, b, eps, any(self.needs))
            self.w = w
            return out.reshape(x.shape)
        xhat, invstd = _row_normalize(x2, eps)
        self.xhat, self.invstd = xhat, invstd
        out = xhat
        if weight is not None:
            out = xp.multiply(xhat, weight.reshape(d))
        if bias is not None:
            out = xp.add(out, bias.reshape(d)) if out is xhat else xp.add(out, bias.reshape(d), out=out)
        return out.reshape(x.shape)

    def backward(self, g):
        xhat, w = self.xhat, self.weight
        d = xhat.shape[1]
        g2 = g.reshape(-1, d)
        need_x, need_w, need_b = self.needs
        if self.fused is not None:
            gx, gw, gb = self.fused.layer_norm_backward(xp.ascontiguousarray(g2), xhat, self.invstd, self.w)
            return (gx.reshape(self.shape) if need_x else None, gw.reshape(self.nshape) if need_w else None,
                    gb.reshape(self.nshape) if need_b else None)
        gx = gw = gb = None
        if need_w:
            gw = _col_sum(g2 * xhat).reshape(self.nshape)
        if need_b:
            gb = _col_sum(g2).reshape(self.nshape)
        if need_x:
            if w is not None:
                gx = _row_normalize_backward(xp.multiply(g2, w.reshape(d)), xhat, self.invstd, owned=True)
            else:
                gx = _row_normalize_backward(g2, xhat, self.invstd, owned=False)
            gx = gx.reshape(self.shape)
        return gx, gw, gb


def as_normalized_shape(normalized_shape) -> tuple:
    if isinstance(normalized_shape, int):
        return (normalized_shape,)
    return tuple(int(s) for s in normalized_shape)


def layer_norm(input, normalized_shape: int | Sequence[int], weight=None, bias=None, eps: float = 1e-5):
    """PyTorch's ``F.layer_norm``: normalise over the trailing ``normalized_shape`` dims of the input."""
    x = input
    shape = as_normalized_shape(normalized_shape)
    k = len(shape)
    if k == 0 or tuple(x.shape[x.ndim - k:]) != shape or x.ndim < k:
        raise ValueError(f"layer_norm: normalized_shape {shape} must be the trailing dims of the input; got input of "
                         f"shape {tuple(x.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise ValueError(f"layer_norm: {name} of shape {tuple(t.shape)} does not match normalized_shape {shape}")
        if t is not None and t.dtype != x.dtype:
            raise TypeError(f"layer_norm: {name} is {t.dtype} but the input is {x.dtype}; convert one")
    return LayerNorm.apply(x, weight, bias, nshape=shape, eps=float(eps))


# ---- group norm ---------------------------------------------------------------------------------------

class GroupNorm(Function):
    """Normalise (N, C, *) over each group of C/G channels (and all of *), then scale and shift per channel."""

    def forward(self, x, weight=None, bias=None, *, groups=1, eps=1e-5):
        n, c = x.shape[0], x.shape[1]
        xhat, invstd = _row_normalize(x.reshape(n * groups, -1), eps)
        self.shape, self.groups, self.xhat, self.invstd, self.weight = x.shape, groups, xhat, invstd, weight
        out = xhat3 = _as3(xhat, n, c)
        if weight is not None:
            out = xp.multiply(xhat3, weight[:, None])
        if bias is not None:
            out = xp.add(out, bias[:, None]) if out is xhat3 else xp.add(out, bias[:, None], out=out)
        return out.reshape(x.shape)

    def backward(self, g):
        n, c = self.shape[0], self.shape[1]
        xhat, w = self.xhat, self.weight
        g3 = _as3(g, n, c)
        need_x, need_w, need_b = self.needs
        gx = gw = gb = None
        if need_w:
            gw = _channel_dot(g3, _as3(xhat, n, c), False)
        if need_b:
            gb = _channel_sum(g3, False)
        if need_x:
            rows = xhat.shape
            if w is not None:
                gxhat = xp.multiply(g3, w[:, None]).reshape(rows)
                gx = _row_normalize_backward(gxhat, xhat, self.invstd, owned=True)
            else:
                gx = _row_normalize_backward(g3.reshape(rows), xhat, self.invstd, owned=False)
            gx = gx.reshape(self.shape)
        return gx, gw, gb


def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5):
    """PyTorch's ``F.group_norm``: (N, C, *) normalised over groups of C / num_groups channels."""
    x = input
    if x.ndim < 2:
        raise ValueError(f"group_norm: expected input of shape (N, C, *), got {tuple(x.shape)}")
    c = x.shape[1]
    if isinstance(num_groups, bool) or not isinstance(num_groups, int) or num_groups < 1 or c % num_groups:
        raise ValueError(f"group_norm: the {c} channels of the input (shape {tuple(x.shape)}) must divide into "
                         f"num_groups={num_groups!r} groups")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"group_norm: {name} of shape {tuple(t.shape)} does not match the {c} channels")
        if t is not None and t.dtype != x.dtype:
            raise TypeError(f"group_norm: {name} is {t.dtype} but the input is {x.dtype}; convert one")
    return GroupNorm.apply(x, weight, bias, groups=num_groups, eps=float(eps))
