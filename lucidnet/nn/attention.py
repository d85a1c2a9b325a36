"""``MultiheadAttention``: PyTorch's layer (parameter names, layouts, init, masks) over the fused attention
of ``lucidnet.fused.attention``.

Masks follow ``nn.MultiheadAttention``: a bool ``attn_mask`` / ``key_padding_mask`` marks with True what
is NOT attended (the opposite of ``F.scaled_dot_product_attention``); a float one is added to the scores.
A query row with every key masked gives zeros (PyTorch's ``need_weights=True`` path gives NaN there).

>>> import lucidnet as ln
>>> mha = ln.nn.MultiheadAttention(16, 4, batch_first=True)
>>> x = ln.randn(2, 5, 16)
>>> out, w = mha(x, x, x)
>>> out.shape, w.shape
((2, 5, 16), (2, 5, 5))
"""
from __future__ import annotations

from .. import ops
from ..backend import xp
from ..fused.attention import attention_weights, scaled_dot_product_attention
from ..tensor import Tensor, empty
from . import init
from .linear import Linear
from .module import Module
from .parameter import Parameter

__all__ = ["MultiheadAttention"]


def _is_int(v) -> bool:
    return not isinstance(v, bool) and isinstance(v, int)


class MultiheadAttention(Module):
    """Attention over ``num_heads`` heads of ``embed_dim // num_heads`` features each, PyTorch's layout.

    Parameters: ``in_proj_weight`` (3E, E) and ``in_proj_bias`` (3E,) (or ``q_proj_weight`` (E, E),
    ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim) when kdim or vdim differ from E), ``out_proj``
    (a ``Linear(E, E)``), ``bias_k``/``bias_v`` (1, 1, E) with ``add_bias_kv``.
    Input: query (L, N, E), key (S, N, kdim), value (S, N, vdim) ((N, L, E)... with ``batch_first``;
    (L, E)... unbatched). Output: (attn_output like query, weights (N, L, S) averaged over heads,
    (N, H, L, S) with ``average_attn_weights=False``, or None when ``need_weights=False``).
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, dtype=None):
        super().__init__()
        for name, v in (("embed_dim", embed_dim), ("num_heads", num_heads)):
            if not _is_int(v) or v <= 0:
                raise ValueError(f"MultiheadAttention: {name} must be a positive int, got {v!r}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim={embed_dim} must be divisible by num_heads={num_heads}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1), got {dropout!r}")
        self.embed_dim, self.num_heads, self.dropout, self.batch_first = embed_dim, num_heads, dropout, batch_first
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self.head_dim = embed_dim // num_heads
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        e = embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(empty(3 * e, e, dtype=dtype))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(empty(e, e, dtype=dtype))
            self.k_proj_weight = Parameter(empty(e, self.kdim, dtype=dtype))
            self.v_proj_weight = Parameter(empty(e, self.vdim, dtype=dtype))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * e, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(e, e, bias=bias, dtype=dtype)
        if add_bias_kv:
            self.bias_k = Parameter(empty(1, 1, e, dtype=dtype))
            self.bias_v = Parameter(empty(1, 1, e, dtype=dtype))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """PyTorch's init: xavier_uniform_ on the input projections, zero biases, xavier_normal_ on bias_k/v."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
                f"batch_first={self.batch_first}")

    def _who(self) -> str:
        return f"MultiheadAttention(embed_dim={self.embed_dim}, num_heads={self.num_heads})"

    # ---- checks ------------------------------------------------------------------------------------------
    def _check(self, query: Tensor, key: Tensor, value: Tensor) -> None:
        who = self._who()
        names = (("query", query, self.embed_dim), ("key", key, self.kdim), ("value", value, self.vdim))
        for name, t, d in names:
            if not isinstance(t, Tensor):
                raise TypeError(f"{who}: {name} must be a Tensor, got {type(t).__name__}")
        layout = "(N, L, E)" if self.batch_first else "(L, N, E)"
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(f"{who}: expected query, key and value of shape {layout} (or unbatched (L, E)), all "
                             f"with the same number of dims; got {tuple(query.shape)}, {tuple(key.shape)}, "
                             f"{tuple(value.shape)}")
        for name, t, d in names:
            if t.shape[-1] != d:
                raise ValueError(f"{who}: {name} of shape {tuple(t.shape)} must have last dim {d}")
            if t.dtype != self.out_proj.weight.dtype:
                raise TypeError(f"{who}: {name} is {t.dtype} but the layer is {self.out_proj.weight.dtype}; convert "
                                "one (x.float() / layer.double())")
        b = 0 if self.batch_first else 1
        s = 1 - b
        if query.ndim == 3 and not (query.shape[b] == key.shape[b] == value.shape[b]):
            raise ValueError(f"{who}: query, key and value must have one batch size (dim {b}); got shapes "
                             f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}")
        sdim = s if query.ndim == 3 else 0
        if key.shape[sdim] != value.shape[sdim]:
            raise ValueError(f"{who}: key of shape {tuple(key.shape)} and value of shape {tuple(value.shape)} must "
                             f"have one sequence length (dim {sdim})")

    def _mask(self, attn_mask, key_padding_mask, n: int, length: int, source: int, dtype):
        """One mask in ``scaled_dot_product_attention``'s convention (bool True = attend, or float added),
        broadcastable to (N, H, L, S), from ``attn_mask`` and ``key_padding_mask`` (True = masked out)."""
        who, h = self._who(), self.num_heads
        parts = []
        if attn_mask is not None:
            shapes = {(length, source): (length, source), (n * h, length, source): (n, h, length, source)}
            if tuple(attn_mask.shape) not in shapes:
                raise ValueError(f"{who}: attn_mask of shape {tuple(attn_mask.shape)}; expected (L, S) = "
                                 f"{(length, source)} or (N * num_heads, L, S) = {(n * h, length, source)}")
            parts.append((attn_mask, shapes[tuple(attn_mask.shape)]))
        if key_padding_mask is not None:
            if tuple(key_padding_mask.shape) != (n, source):
                raise ValueError(f"{who}: key_padding_mask of shape {tuple(key_padding_mask.shape)}; expected (N, S) "
                                 f"= {(n, source)}")
            parts.append((key_padding_mask, (n, 1, 1, source)))
        masks = []
        for m, shape in parts:
            if not isinstance(m, Tensor):
                raise TypeError(f"{who}: masks must be Tensors, got {type(m).__name__}")
            if m.dtype == bool:
                masks.append(Tensor(xp.logical_not(m.array).reshape(shape)))
            elif m.dtype == dtype:
                masks.append(m.reshape(shape))
            else:
                raise TypeError(f"{who}: a mask must be bool or the input's dtype {dtype}, got {m.dtype}")
        if not masks:
            return None
        if len(masks) == 1:
            return masks[0]
        a, b = masks
        if a.dtype == bool and b.dtype == bool:
            return Tensor(a.array & b.array)
        a, b = (m if m.dtype != bool else Tensor(xp.where(m.array, 0, -xp.inf), dtype=dtype) for m in masks)
        return a + b

    # ---- forward -----------------------------------------------------------------------------------------
    def _project(self, query: Tensor, key: Tensor, value: Tensor) -> tuple:
        e, b = self.embed_dim, self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:e], b[e:2 * e], b[2 * e:])
        if not self._qkv_same_embed_dim:
            return (ops.linear(query, self.q_proj_weight, bq), ops.linear(key, self.k_proj_weight, bk),
                    ops.linear(value, self.v_proj_weight, bv))
        w = self.in_proj_weight
        if query is key and key is value:  # self-attention: one GEMM for q, k and v
            qkv = ops.linear(query, w, b)
            return qkv[..., :e], qkv[..., e:2 * e], qkv[..., 2 * e:]
        return ops.linear(query, w[:e], bq), ops.linear(key, w[e:2 * e], bk), ops.linear(value, w[2 * e:], bv)

    def forward_cached(self, query: Tensor, memory: Tensor | None, cache: dict,
                       key_padding_mask: Tensor | None = None) -> Tensor:
        """Attention of the newest positions ``query`` (N, T, E) (batch first) during step-by-step decoding,
        with the projected keys and values kept in ``cache`` (a dict this method fills):

        - self-attention (``memory=None``): the keys and values of ``query`` are appended to those of the
          earlier steps, and each new position attends to every cached one and to itself and those before it;
        - attention over a fixed ``memory`` (N, S, E): its keys and values are projected on the first call
          only; ``key_padding_mask`` (N, S), True = padding, hides keys.

        Each step costs the new positions' projections, not the whole prefix's. Eval mode (no dropout)
        and a packed projection (``kdim == vdim == embed_dim``, no ``bias_k``) are required. The layer's
        forward pre-hooks run on ``(query,)`` (its forward hooks do not).
        """
        if self._forward_pre_hooks:  # this path bypasses __call__: its pre-hooks (pruning's masks) run here
            (query,) = self._run_forward_pre_hooks((query,))
        who = self._who()
        if not self.batch_first or query.ndim != 3:
            raise ValueError(f"{who}: forward_cached takes batch-first (N, T, E) queries (batch_first=True)")
        if self.training and self.dropout > 0:
            raise ValueError(f"{who}: forward_cached is for decoding; call .eval() first (dropout {self.dropout})")
        if not self._qkv_same_embed_dim or self.bias_k is not None or self.add_zero_attn:
            raise ValueError(f"{who}: forward_cached needs the packed projection without bias_k or add_zero_attn")
        e, h, d = self.embed_dim, self.num_heads, self.head_dim
        w, b = self.in_proj_weight, self.in_proj_bias

        def project(x: Tensor, i: int) -> Tensor:  # rows i*e..(i+1)*e of the packed projection, as (N, H, T, D)
            y = ops.linear(x, w[i * e:(i + 1) * e], None if b is None else b[i * e:(i + 1) * e])
            return y.reshape(x.shape[0], x.shape[1], h, d).permute(0, 2, 1, 3)

        n, t = query.shape[0], query.shape[1]
        q = project(query, 0)
        mask = None
        if memory is None:
            k, v = project(query, 1), project(query, 2)
            if "k" in cache:
                k, v = ops.cat([cache["k"], k], dim=2), ops.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
            past = k.shape[2] - t
            if t > 1:  # new position i sees the cache and new positions up to i (True = attend)
                mask = Tensor(xp.arange(past + t)[None, :] <= past + xp.arange(t)[:, None])
        else:
            if "k" not in cache:
                cache["k"], cache["v"] = project(memory, 1), project(memory, 2)
            k, v = cache["k"], cache["v"]
            if key_padding_mask is not None:
                if tuple(key_padding_mask.shape) != (n, k.shape[2]) or key_padding_mask.dtype != bool:
                    raise ValueError(f"{who}: key_padding_mask must be bool of shape (N, S) = {(n, k.shape[2])}, "
                                     f"got {key_padding_mask.dtype} {tuple(key_padding_mask.shape)}")
                mask = Tensor(xp.logical_not(key_padding_mask.array)[:, None, None, :])
        out = scaled_dot_product_attention(q, k, v, mask)                 # (N, H, T, D)
        return self.out_proj(out.permute(0, 2, 1, 3).reshape(n, t, e))

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None = None,
                need_weights: bool = True, attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        """-> (attn_output, attn_weights or None). ``is_causal`` is PyTorch's hint that ``attn_mask`` is the
        causal mask: it needs ``attn_mask`` and changes nothing else."""
        self._check(query, key, value)
        if is_causal and attn_mask is None:
            raise ValueError(f"{self._who()}: is_causal=True needs attn_mask (the hint says attn_mask is causal)")
        unbatched = query.ndim == 2
        seq_first = not self.batch_first and not unbatched
        seq_axis = 0 if seq_first else 1                             # of the projections below (unbatched: (1, L, E))
        source = key.shape[0 if unbatched else seq_axis]
        q, k, v = self._project(query, key, value)
        if unbatched:
            q, k, v = (t.unsqueeze(0) for t in (q, k, v))
            if key_padding_mask is not None and key_padding_mask.ndim == 1:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        n, length = q.shape[1 - seq_axis], q.shape[seq_axis]
        mask = self._mask(attn_mask, key_padding_mask, n, length, source, q.dtype)
        if self.bias_k is not None:
            shape = (1, n, self.embed_dim) if seq_first else (n, 1, self.embed_dim)
            k = ops.cat([k, self.bias_k.expand(*shape)], dim=seq_axis)
            v = ops.cat([v, self.bias_v.expand(*shape)], dim=seq_axis)
        h, d = self.num_heads, self.head_dim
        split = (1, 2, 0, 3) if seq_first else (0, 2, 1, 3)  # (L, N, H, D) or (N, L, H, D) -> (N, H, L, D)
        q, k, v = (t.reshape(t.shape[0], t.shape[1], h, d).permute(*split) for t in (q, k, v))
        if self.add_zero_attn:
            zeros = Tensor(xp.zeros((n, h, 1, d)), dtype=q.dtype)
            k, v = ops.cat([k, zeros], dim=2), ops.cat([v, zeros], dim=2)
        extra = k.shape[2] - source
        if mask is not None and extra:  # the bias_k / zero columns are attended by every query
            if mask.dtype == bool:
                mask = Tensor(xp.pad(mask.array, [(0, 0)] * (mask.ndim - 1) + [(0, extra)], constant_values=True))
            else:
                mask = ops.pad(mask, (0, extra))
        p = self.dropout if self.training else 0.0
        weights = None
        if need_weights:
            weights = attention_weights(q, k, mask, dropout_p=p)     # (N, H, L, S)
            out = ops.matmul(weights, v)
            if average_attn_weights:
                weights = weights.mean(dim=1)
            if unbatched:
                weights = weights.squeeze(0)
        else:
            out = scaled_dot_product_attention(q, k, v, mask, dropout_p=p)  # (N, H, L, D)
        merge = (2, 0, 1, 3) if seq_first else (0, 2, 1, 3)  # (N, H, L, D) -> (L, N, H, D) or (N, L, H, D)
        out = out.permute(*merge).reshape((length, n, self.embed_dim) if seq_first else (n, length, self.embed_dim))
        out = self.out_proj(out)
        if unbatched:
            out = out.squeeze(0)
        return out, weights
