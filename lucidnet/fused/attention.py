"""Scaled dot-product attention as one Function: scores, mask, softmax, dropout and output in one node.

Forward, on arrays (``...`` batch dims broadcast as in matmul)::

    S = (Q @ K^T) * scale                 # (..., L, S)
    S += mask  (float)  |  S[~mask] = -inf  (bool, True = attend)  |  causal: S[j > i] = -inf
    P = softmax(S)                        # in place, max-subtracted (float32: kernels.act_numba)
    Pd = P * drop / (1 - p)               # fused.dropout.drop: the mask from lucidnet's generator
    O = Pd @ V                            # (..., L, Ev)

Backward reuses P and the dropout mask: dV = Pd^T @ g, dP = (g @ V^T) * drop / (1 - p),
dS = P * (dP - rowsum(dP * P)), dQ = scale * dS @ K, dK = scale * dS^T @ Q (and d(mask) = dS for a float
mask that wants a gradient). A row whose every score is masked gets P = 0, so output and gradients are 0
there (what PyTorch 2.x's ``scaled_dot_product_attention`` returns on CPU), not NaN.

>>> import lucidnet as ln
>>> q = ln.randn(2, 4, 5, 8)
>>> o = scaled_dot_product_attention(q, q, q, is_causal=True)
>>> o.shape, o.dtype
((2, 4, 5, 8), dtype('float32'))
"""
from __future__ import annotations

import math

from .. import kernels
from ..autograd.function import Function, unbroadcast
from ..backend import xp
from ..kernels.threads import matmul as _mm
from .dropout import drop, drop_grad

__all__ = ["ScaledDotProductAttention", "AttentionWeights", "scaled_dot_product_attention", "attention_weights",
           "causal_mask"]


def causal_mask(length: int, source: int):
    """(L, S) bool, True where position j > i is hidden (PyTorch's top-left aligned causal mask)."""
    return xp.triu(xp.ones((length, source), dtype=bool), 1)


def _t(a):
    return xp.swapaxes(a, -1, -2)


class _Weights(Function):
    """The shared half of both attention Functions: the attention weights of (q, k[, mask]), and their
    backward to q, k and a float mask."""

    def _weights(self, q, k, mask, scale, dropout_p, causal):
        """-> the weights after dropout (..., L, S); saves what ``_weights_backward`` needs."""
        s = _mm(q, _t(k))                                            # (..., L, S)
        s *= s.dtype.type(scale)
        masked = mask is not None or causal
        if mask is not None:
            full = xp.broadcast_shapes(mask.shape, s.shape)
            if full != s.shape:                                      # a mask with more batch dims
                s = xp.broadcast_to(s, full).copy()
            if mask.dtype == bool:
                xp.copyto(s, -xp.inf, where=xp.logical_not(mask))
            else:
                s += mask
        if causal:
            xp.copyto(s, -xp.inf, where=causal_mask(s.shape[-2], s.shape[-1]))
        # softmax over the last axis, in place
        nb = kernels.compiled("act", s) if s.flags.c_contiguous else None
        if nb is not None:
            nb.softmax_rows(s.reshape(-1, s.shape[-1]))              # a fully masked row: zeros
        else:
            m = s.max(axis=-1, keepdims=True)
            if masked:
                m[xp.isneginf(m)] = 0                                # a fully masked row: exp(-inf) = 0 below
            s -= m
            xp.exp(s, out=s)
            den = s.sum(axis=-1, keepdims=True)
            if masked:
                den[den == 0] = 1                                    # ... and stays 0, not 0/0
            s /= den
        p = pd = s
        self.drop = None
        if dropout_p > 0:
            pd, self.drop = drop(p, dropout_p)
        self.q, self.k, self.p, self.scale = q, k, p, scale
        self.mask_shape = None if mask is None else mask.shape
        return pd

    def _weights_backward(self, dpd):
        """(gq, gk, gmask) from d(loss)/d(weights after dropout); ``dpd`` is ours to overwrite."""
        q, k, p = self.q, self.k, self.p
        need_q, need_k = self.needs[:2]
        need_m = len(self.needs) > self.nin and self.needs[self.nin]
        gq = gk = gm = None
        if not (need_q or need_k or need_m):
            return gq, gk, gm
        ds = dpd
        if self.drop is not None:
            drop_grad(ds, self.drop, out=ds)
        # softmax backward in place: dS = P * (dP - rowsum(dP * P))
        ds -= xp.einsum("...j,...j->...", ds, p)[..., None]
        ds *= p
        if need_m:
            gm = unbroadcast(ds.copy(), self.mask_shape)
        ds *= ds.dtype.type(self.scale)
        if need_q:
            gq = unbroadcast(_mm(ds, k), q.shape)
        if need_k:
            gk = unbroadcast(_mm(_t(ds), q), k.shape)
        return gq, gk, gm


class ScaledDotProductAttention(_Weights):
    """softmax(Q K^T * scale + mask) V with dropout on the weights; positional inputs (q, k, v[, mask]).

    A float mask is added to the scores and gets a gradient if it wants one; a bool mask (True = attend)
    is not differentiable."""

    nin = 3

    def forward(self, q, k, v, mask=None, *, scale=1.0, dropout_p=0.0, causal=False):
        pd = self.pd = self._weights(q, k, mask, scale, dropout_p, causal)
        self.v = v
        return _mm(pd, v)                                            # (..., L, Ev)

    def backward(self, g):
        gv = unbroadcast(_mm(_t(self.pd), g), self.v.shape) if self.needs[2] else None
        gq, gk, gm = self._weights_backward(_mm(g, _t(self.v)))
        return gq, gk, gv, gm


class AttentionWeights(_Weights):
    """The attention weights alone, softmax(Q K^T * scale + mask) after dropout; inputs (q, k[, mask]).

    For ``nn.MultiheadAttention(need_weights=True)``, which returns them (and multiplies them by V with
    ``matmul``); the same arithmetic as :class:`ScaledDotProductAttention`."""

    nin = 2

    def forward(self, q, k, mask=None, *, scale=1.0, dropout_p=0.0, causal=False):
        return self._weights(q, k, mask, scale, dropout_p, causal)

    def backward(self, g):
        return self._weights_backward(g.copy())


def _checked(who: str, query, key, value, attn_mask, dropout_p, is_causal, scale) -> tuple:
    """Validate the arguments of attention; -> (positional inputs of the Function, its keyword attributes)."""
    from ..tensor import Tensor

    named = (("query", query), ("key", key)) + ((("value", value),) if value is not None else ())
    for name, t in named:
        if not isinstance(t, Tensor):
            raise TypeError(f"{who}: {name} must be a Tensor, got {type(t).__name__}")
        if t.ndim < 2:
            raise ValueError(f"{who}: {name} must have shape (..., seq, features), got {tuple(t.shape)}")
        if t.dtype.kind != "f" or t.dtype != query.dtype:
            raise TypeError(f"{who}: query, key and value must share one floating dtype; got "
                            f"{', '.join(str(t.dtype) for _, t in named)}")
    qs, ks = tuple(query.shape), tuple(key.shape)
    if ks[-1] != qs[-1]:
        raise ValueError(f"{who}: query (..., L, E) of shape {qs} and key (..., S, E) of shape {ks} differ in E")
    batch = [qs[:-2], ks[:-2]]
    if value is not None:
        vs = tuple(value.shape)
        if ks[-2] != vs[-2]:
            raise ValueError(f"{who}: key (..., S, E) of shape {ks} and value (..., S, Ev) of shape {vs} differ in S")
        batch.append(vs[:-2])
    try:
        scores = xp.broadcast_shapes(*batch) + (qs[-2], ks[-2])
    except ValueError:
        raise ValueError(f"{who}: the batch dims of {', '.join(f'{n} {tuple(t.shape)}' for n, t in named)} "
                         "do not broadcast") from None
    if is_causal and attn_mask is not None:
        raise ValueError(f"{who}: give attn_mask or is_causal=True, not both (fold the causal mask into attn_mask)")
    if isinstance(dropout_p, bool) or not isinstance(dropout_p, (int, float)) or not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"{who}: dropout_p must be in [0, 1), got {dropout_p!r}")
    if attn_mask is not None:
        if not isinstance(attn_mask, Tensor):
            raise TypeError(f"{who}: attn_mask must be a Tensor, got {type(attn_mask).__name__}")
        if attn_mask.dtype != bool and attn_mask.dtype != query.dtype:
            raise TypeError(f"{who}: attn_mask must be bool or the query's dtype {query.dtype}, got "
                            f"{attn_mask.dtype}")
        try:
            xp.broadcast_shapes(tuple(attn_mask.shape), scores)
        except ValueError:
            raise ValueError(f"{who}: attn_mask of shape {tuple(attn_mask.shape)} does not broadcast to the "
                             f"scores' shape {scores} (..., L, S)") from None
    sc = 1.0 / math.sqrt(qs[-1]) if scale is None else float(scale)
    inputs = tuple(t for _, t in named) + (() if attn_mask is None else (attn_mask,))
    return inputs, dict(scale=sc, dropout_p=float(dropout_p), causal=bool(is_causal))


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None):
    """PyTorch's ``F.scaled_dot_product_attention``: softmax(Q K^T * scale + mask) V, one fused node.

    query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev). ``attn_mask``: bool (True =
    take part in attention) or float (added to the scores), broadcastable to (..., L, S). ``is_causal``:
    hide key j > query i (top-left aligned); giving it together with ``attn_mask`` is an error (PyTorch's
    documented contract). ``scale`` defaults to 1/sqrt(E). ``dropout_p`` drops attention weights (always
    applied when > 0: pass ``dropout_p if training else 0.0``, as with PyTorch).
    """
    inputs, attrs = _checked("scaled_dot_product_attention", query, key, value, attn_mask, dropout_p, is_causal,
                             scale)
    return ScaledDotProductAttention.apply(*inputs, **attrs)


def attention_weights(query, key, attn_mask=None, dropout_p: float = 0.0, is_causal: bool = False,
                      scale: float | None = None):
    """The weights of :func:`scaled_dot_product_attention`, (..., L, S), after dropout (its arguments,
    without ``value``)."""
    inputs, attrs = _checked("attention_weights", query, key, None, attn_mask, dropout_p, is_causal, scale)
    return AttentionWeights.apply(*inputs, **attrs)
