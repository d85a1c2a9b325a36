"""The transformer layers of ``torch.nn``, with its submodule names (so a PyTorch state dict loads as is):
``TransformerEncoderLayer``, ``TransformerDecoderLayer``, ``TransformerEncoder``, ``TransformerDecoder``,
``Transformer``. Post-LN by default, pre-LN with ``norm_first=True``.

>>> import lucidnet as ln
>>> layer = ln.nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, batch_first=True)
>>> enc = ln.nn.TransformerEncoder(layer, num_layers=2)
>>> enc(ln.randn(2, 5, 16)).shape
(2, 5, 16)
>>> ln.nn.Transformer.generate_square_subsequent_mask(3).tolist()
[[0.0, -inf, -inf], [0.0, 0.0, -inf], [0.0, 0.0, 0.0]]
"""
from __future__ import annotations

import copy
from typing import Callable

from .. import ops
from ..backend import xp
from ..tensor import Tensor, get_default_dtype
from . import init
from .attention import MultiheadAttention
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm

__all__ = ["TransformerEncoderLayer", "TransformerDecoderLayer", "TransformerEncoder", "TransformerDecoder",
           "Transformer"]

_ACTIVATIONS = {"relu": ops.relu, "gelu": ops.gelu}


def _activation(activation: str | Callable, who: str) -> Callable:
    if isinstance(activation, str):
        if activation not in _ACTIVATIONS:
            raise ValueError(f"{who}: activation should be 'relu' or 'gelu' (or a callable), not {activation!r}")
        return _ACTIVATIONS[activation]
    if not callable(activation):
        raise TypeError(f"{who}: activation must be 'relu', 'gelu' or a callable, got {type(activation).__name__}")
    return activation


class _Layer(Module):
    """What both layers share: the feed-forward block, the norms and dropouts, and the residual scheme."""

    norms = 2  # norm1.., dropout1..: 2 in an encoder layer, 3 in a decoder layer

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable = "relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, dtype=None):
        super().__init__()
        norms = self.norms
        who = type(self).__name__
        if not isinstance(dim_feedforward, int) or isinstance(dim_feedforward, bool) or dim_feedforward <= 0:
            raise ValueError(f"{who}: dim_feedforward must be a positive int, got {dim_feedforward!r}")
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=dtype)
        if norms == 3:
            self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                     batch_first=batch_first, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        for i in range(1, norms + 1):
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        for i in range(1, norms + 1):
            setattr(self, f"dropout{i}", Dropout(dropout))
        self.activation = _activation(activation, who)

    def _check(self, x: Tensor, name: str) -> None:
        d = self.self_attn.embed_dim
        layout = "(N, L, d_model)" if self.self_attn.batch_first else "(L, N, d_model)"
        if not isinstance(x, Tensor) or x.ndim not in (2, 3) or x.shape[-1] != d:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"{type(self).__name__}(d_model={d}, nhead={self.self_attn.num_heads}): {name} of shape "
                             f"{shape}; expected {layout} or unbatched (L, d_model) with d_model={d}")

    def _sa_block(self, x: Tensor, attn_mask, key_padding_mask, is_causal: bool) -> Tensor:
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False,
                           is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x: Tensor) -> Tensor:
        return self.dropout_last(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def _residual(self, x: Tensor, norm: LayerNorm, block: Callable[[Tensor], Tensor]) -> Tensor:
        """Pre-LN: ``x + block(norm(x))``; post-LN: ``norm(x + block(x))``."""
        if self.norm_first:
            return x + block(norm(x))
        return norm(x + block(x))


class TransformerEncoderLayer(_Layer):
    """Self-attention then a feed-forward block (linear1 - activation - dropout - linear2), each with a
    residual connection and a LayerNorm (after, or before with ``norm_first``); PyTorch's layer.

    Input (L, N, d_model), (N, L, d_model) with ``batch_first``, or unbatched (L, d_model)."""

    @property
    def dropout_last(self) -> Dropout:
        return self.dropout2

    def forward(self, src: Tensor, src_mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                is_causal: bool = False) -> Tensor:
        self._check(src, "src")
        x = self._residual(src, self.norm1, lambda h: self._sa_block(h, src_mask, src_key_padding_mask, is_causal))
        return self._residual(x, self.norm2, self._ff_block)


class TransformerDecoderLayer(_Layer):
    """Self-attention, attention over ``memory`` (the encoder's output), then the feed-forward block, each
    with a residual connection and a LayerNorm (after, or before with ``norm_first``); PyTorch's layer."""

    norms = 3

    @property
    def dropout_last(self) -> Dropout:
        return self.dropout3

    def _mha_block(self, x: Tensor, mem: Tensor, attn_mask, key_padding_mask, is_causal: bool) -> Tensor:
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                need_weights=False, is_causal=is_causal)[0]
        return self.dropout2(x)

    def forward_cached(self, tgt: Tensor, memory: Tensor, cache: dict,
                       memory_key_padding_mask: Tensor | None = None) -> Tensor:
        """The layer on the newest target positions ``tgt`` (N, T, E) during step-by-step decoding (eval mode,
        batch first): causal self-attention over every position so far through ``cache`` (filled here), then
        attention over ``memory``; the same values as :meth:`forward` with a causal mask on the whole prefix."""
        self._check(tgt, "tgt")
        self._check(memory, "memory")
        own, cross = cache.setdefault("self", {}), cache.setdefault("memory", {})
        x = self._residual(tgt, self.norm1, lambda h: self.dropout1(self.self_attn.forward_cached(h, None, own)))
        x = self._residual(x, self.norm2, lambda h: self.dropout2(
            self.multihead_attn.forward_cached(h, memory, cross, memory_key_padding_mask)))
        return self._residual(x, self.norm3, self._ff_block)

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor | None = None, memory_mask: Tensor | None = None,
                tgt_key_padding_mask: Tensor | None = None, memory_key_padding_mask: Tensor | None = None,
                tgt_is_causal: bool = False, memory_is_causal: bool = False) -> Tensor:
        self._check(tgt, "tgt")
        self._check(memory, "memory")
        x = self._residual(tgt, self.norm1,
                           lambda h: self._sa_block(h, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self._residual(x, self.norm2, lambda h: self._mha_block(h, memory, memory_mask, memory_key_padding_mask,
                                                                    memory_is_causal))
        return self._residual(x, self.norm3, self._ff_block)


def _clones(layer: Module, n: int, who: str) -> ModuleList:
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"{who}: num_layers must be a non-negative int, got {n!r}")
    return ModuleList([copy.deepcopy(layer) for _ in range(n)])


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` (``layers.0`` ...), then ``norm`` if given.

    ``enable_nested_tensor`` and ``mask_check`` are accepted for PyTorch's signature: nested tensors are
    one of its speed-ups, with no effect on the result."""

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True):
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers, "TransformerEncoder")
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor, self.mask_check = enable_nested_tensor, mask_check

    def forward(self, src: Tensor, mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                is_causal: bool | None = None) -> Tensor:
        out = src
        for layer in self.layers:
            out = layer(out, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal))
        return out if self.norm is None else self.norm(out)


class TransformerDecoder(Module):
    """``num_layers`` copies of ``decoder_layer`` (``layers.0`` ...), then ``norm`` if given."""

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int, norm: Module | None = None):
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers, "TransformerDecoder")
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor | None = None, memory_mask: Tensor | None = None,
                tgt_key_padding_mask: Tensor | None = None, memory_key_padding_mask: Tensor | None = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> Tensor:
        out = tgt
        for layer in self.layers:
            out = layer(out, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                        tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                        tgt_is_causal=bool(tgt_is_causal), memory_is_causal=memory_is_causal)
        return out if self.norm is None else self.norm(out)


    def forward_cached(self, tgt: Tensor, memory: Tensor, cache: list | None = None,
                       memory_key_padding_mask: Tensor | None = None) -> tuple[Tensor, list]:
        """Step-by-step decoding (eval mode, batch first): ``tgt`` (N, T, E) holds the newest positions only;
        -> (their outputs, the cache to pass with the next step). The first call takes ``cache=None``.

        >>> import lucidnet as ln
        >>> layer = ln.nn.TransformerDecoderLayer(8, 2, 16, batch_first=True)
        >>> dec = ln.nn.TransformerDecoder(layer, 2).eval()
        >>> mem, tgt = ln.randn(1, 4, 8), ln.randn(1, 3, 8)
        >>> full = dec(tgt, mem, tgt_mask=ln.nn.Transformer.generate_square_subsequent_mask(3))
        >>> out, cache = dec.forward_cached(tgt[:, :2], mem)
        >>> out2, cache = dec.forward_cached(tgt[:, 2:], mem, cache)
        >>> bool(abs(out2 - full[:, 2:]).max() < 1e-5)
        True
        """
        cache = [{} for _ in self.layers] if cache is None else cache
        out = tgt
        for layer, c in zip(self.layers, cache):
            out = layer.forward_cached(out, memory, c, memory_key_padding_mask)
        return (out if self.norm is None else self.norm(out)), cache


class Transformer(Module):
    """PyTorch's ``nn.Transformer``: an encoder (``encoder.layers.N``, ``encoder.norm``) and a decoder
    (``decoder.layers.N``, ``decoder.norm``); every parameter of 2 or more dims initialised xavier_uniform_.

    ``forward(src, tgt, ...)``: src (S, N, E), tgt (T, N, E) ((N, S, E), (N, T, E) with ``batch_first``)
    -> (T, N, E). For a causal target pass ``tgt_mask=Transformer.generate_square_subsequent_mask(T)``.
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6, num_decoder_layers: int = 6,
                 dim_feedforward: int = 2048, dropout: float = 0.1, activation: str | Callable = "relu",
                 custom_encoder: Module | None = None, custom_decoder: Module | None = None,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False, norm_first: bool = False,
                 bias: bool = True, dtype=None):
        super().__init__()
        args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first, norm_first, bias)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(TransformerEncoderLayer(*args, dtype=dtype), num_encoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(TransformerDecoderLayer(*args, dtype=dtype), num_decoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)

    def forward(self, src: Tensor, tgt: Tensor, src_mask: Tensor | None = None, tgt_mask: Tensor | None = None,
                memory_mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                tgt_key_padding_mask: Tensor | None = None, memory_key_padding_mask: Tensor | None = None,
                src_is_causal: bool | None = None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> Tensor:
        who = f"Transformer(d_model={self.d_model}, nhead={self.nhead})"
        for name, t in (("src", src), ("tgt", tgt)):
            if not isinstance(t, Tensor) or t.ndim not in (2, 3) or t.shape[-1] != self.d_model:
                shape = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
                raise ValueError(f"{who}: {name} of shape {shape}; expected last dim d_model={self.d_model}")
        b = 0 if self.batch_first else 1
        if src.ndim != tgt.ndim or (src.ndim == 3 and src.shape[b] != tgt.shape[b]):
            raise ValueError(f"{who}: src of shape {tuple(src.shape)} and tgt of shape {tuple(tgt.shape)} must have "
                             f"the same batch size (dim {b})")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, dtype=None) -> Tensor:
        """(sz, sz) float mask: -inf above the diagonal (position i may not attend to j > i), 0 elsewhere."""
        dt = get_default_dtype() if dtype is None else dtype
        return Tensor(xp.triu(xp.full((sz, sz), -xp.inf), 1), dtype=dt)
