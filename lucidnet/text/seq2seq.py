"""Sequence-to-sequence models for translation, registered in ``lucidnet.models``: ``TransformerTranslator``
(``nn.Transformer`` with embeddings, positions and an output layer) and ``AttentionGRU`` (a bidirectional GRU
encoder and a GRU decoder with additive, Bahdanau, attention).

Both take right-padded int64 ids: ``model(src, tgt_in)`` -> logits (N, T, tgt_vocab) with teacher forcing
(``tgt_in`` is the target shifted right, starting with ``<s>``). Padding (``pad_id``) never reaches a real
position: keys at padding are masked in every attention, and the decoder is causal. For decoding
(``lucidnet.text.decode``) each model gives ``encode(src) -> state`` and ``step(tokens, state) -> (log-probs
(N, V), state)`` that costs one target position per call (cached keys and values, or the RNN's state), and
``reorder(state, index)`` for beam search.

>>> import lucidnet as ln
>>> m = TransformerTranslator(src_vocab=20, tgt_vocab=30, d_model=16, nhead=2, num_encoder_layers=1,
...                           num_decoder_layers=1, dim_feedforward=32)
>>> src, tgt = ln.tensor([[5, 6, 7, 0], [8, 9, 0, 0]]), ln.tensor([[2, 11, 12], [2, 13, 0]])
>>> m(src, tgt).shape
(2, 3, 30)
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import nn, ops
from ..autograd.grad_mode import no_grad
from ..models.registry import register
from ..nn import functional as F
from ..tensor import Tensor
from .models import check_tokens

__all__ = ["TransformerTranslator", "AttentionGRU", "sinusoidal_positions"]


def sinusoidal_positions(length: int, dim: int) -> np.ndarray:
    """(length, dim) float32: sin at even and cos at odd features, wavelengths 2 pi .. 10000 * 2 pi
    (Vaswani et al. 2017)."""
    pos = np.arange(length, dtype=np.float64)[:, None]
    rate = np.exp(-math.log(10000.0) * np.arange(0, dim, 2, dtype=np.float64) / dim)
    table = np.zeros((length, dim))
    table[:, 0::2] = np.sin(pos * rate)
    table[:, 1::2] = np.cos(pos * rate[: dim // 2])
    return table.astype(np.float32)


@register("transformer_translator")
class TransformerTranslator(nn.Module):
    """Embeddings scaled by sqrt(d_model) plus learned or sinusoidal positions, ``nn.Transformer``
    (post-LN, ReLU, batch first), and a linear output layer that shares the target embedding's weights when
    ``tie_embeddings`` (a shared source/target vocabulary may share all three with ``share_embeddings``)."""

    def __init__(self, src_vocab: int, tgt_vocab: int, d_model: int = 256, nhead: int = 8,
                 num_encoder_layers: int = 3, num_decoder_layers: int = 3, dim_feedforward: int = 512,
                 dropout: float = 0.1, positions: str = "learned", max_len: int = 256, tie_embeddings: bool = True,
                 share_embeddings: bool = False, pad_id: int = 0):
        super().__init__()
        who = "TransformerTranslator"
        if positions not in ("learned", "sinusoidal"):
            raise ValueError(f"{who}: positions must be 'learned' or 'sinusoidal', got {positions!r}")
        if share_embeddings and src_vocab != tgt_vocab:
            raise ValueError(f"{who}: share_embeddings needs one vocabulary; got src_vocab={src_vocab}, "
                             f"tgt_vocab={tgt_vocab}")
        self.config = dict(src_vocab=src_vocab, tgt_vocab=tgt_vocab, d_model=d_model, nhead=nhead,
                           num_encoder_layers=num_encoder_layers, num_decoder_layers=num_decoder_layers,
                           dim_feedforward=dim_feedforward, dropout=dropout, positions=positions, max_len=max_len,
                           tie_embeddings=tie_embeddings, share_embeddings=share_embeddings, pad_id=pad_id)
        self.pad_id, self.max_len, self.d_model = pad_id, max_len, d_model
        self.tgt_embed = nn.Embedding(tgt_vocab, d_model, padding_idx=pad_id)
        self.src_embed = self.tgt_embed if share_embeddings else nn.Embedding(src_vocab, d_model, padding_idx=pad_id)
        if positions == "learned":
            self.src_pos, self.tgt_pos = nn.Embedding(max_len, d_model), nn.Embedding(max_len, d_model)
        else:
            self.register_buffer("pos_table", Tensor(sinusoidal_positions(max_len, d_model)))
        self.transformer = nn.Transformer(d_model, nhead, num_encoder_layers, num_decoder_layers, dim_feedforward,
                                          dropout, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(d_model, tgt_vocab)
        for emb in (self.src_embed, self.tgt_embed):
            nn.init.normal_(emb.weight, 0.0, d_model ** -0.5)
            emb.weight.array[pad_id] = 0
        if tie_embeddings:
            self.out.weight = self.tgt_embed.weight

    def _embed(self, ids: Tensor, start: int, side: str) -> Tensor:
        t = ids.shape[1]
        if start + t > self.max_len:
            raise ValueError(f"TransformerTranslator: a {side} sequence of {start + t} positions is longer than "
                             f"max_len={self.max_len}")
        emb = self.src_embed if side == "source" else self.tgt_embed
        x = emb(ids) * math.sqrt(self.d_model)
        if hasattr(self, "pos_table"):
            x = x + self.pos_table[start:start + t]
        else:
            table = self.src_pos if side == "source" else self.tgt_pos
            x = x + table(Tensor(np.arange(start, start + t)))
        return self.dropout(x)

    def encode(self, src: Any) -> dict:
        """-> the decoding state: the encoder's output ``memory`` and the source padding mask."""
        src = check_tokens(src, "TransformerTranslator", "src")
        pad = Tensor(src.array == self.pad_id)
        memory = self.transformer.encoder(self._embed(src, 0, "source"), src_key_padding_mask=pad)
        return {"memory": memory, "pad": pad, "cache": None, "length": 0}

    def forward(self, src: Any, tgt_in: Any) -> Tensor:
        """Teacher-forced logits (N, T, tgt_vocab) for the target prefix ``tgt_in``."""
        tgt_in = check_tokens(tgt_in, "TransformerTranslator", "tgt_in")
        state = self.encode(src)
        t = tgt_in.shape[1]
        causal = nn.Transformer.generate_square_subsequent_mask(t)
        h = self.transformer.decoder(self._embed(tgt_in, 0, "target"), state["memory"], tgt_mask=causal,
                                     tgt_key_padding_mask=Tensor(tgt_in.array == self.pad_id),
                                     memory_key_padding_mask=state["pad"], tgt_is_causal=True)
        return self.out(h)

    def step(self, tokens: Any, state: dict) -> tuple[Tensor, dict]:
        """The next position: ``tokens`` (N,) the last generated ids -> (log-probabilities (N, V), state)."""
        ids = check_tokens(np.asarray(tokens.array if isinstance(tokens, Tensor) else tokens).reshape(-1, 1),
                   "TransformerTranslator", "tokens")
        x = self._embed(ids, state["length"], "target")
        h, cache = self.transformer.decoder.forward_cached(x, state["memory"], state["cache"], state["pad"])
        logits = self.out(h[:, 0])
        return F.log_softmax(logits, dim=-1), {**state, "cache": cache, "length": state["length"] + 1}

    @staticmethod
    def reorder(state: dict, index: np.ndarray) -> dict:
        """The state of the rows ``index`` (beam search keeps its best hypotheses)."""
        return _take(state, np.asarray(index, dtype=np.int64))

    def cross_attention(self, src: Any, tgt_in: Any) -> np.ndarray:
        """(N, T, S): the last decoder layer's attention over the source (mean over heads) when it reads the
        target prefix ``tgt_in``, under teacher forcing."""
        mha = self.transformer.decoder.layers[-1].multihead_attn
        seen = []
        handle = mha.register_forward_hook(lambda m, args, out: seen.append(args[0]))
        try:
            with no_grad():
                self(src, tgt_in)
                state = self.encode(src)
                weights = mha(seen[-1], state["memory"], state["memory"], key_padding_mask=state["pad"])[1]
        finally:
            handle.remove()
        return weights.numpy()


def _take(obj: Any, index: np.ndarray) -> Any:
    """Rows ``index`` (dim 0) of every tensor in a nest of dicts and lists."""
    if isinstance(obj, Tensor):
        return Tensor(obj.array[index])
    if isinstance(obj, dict):
        return {k: _take(v, index) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_take(v, index) for v in obj]
    return obj


@register("attention_gru")
class AttentionGRU(nn.Module):
    """Bahdanau et al. (2015): a bidirectional GRU encoder; a GRU decoder whose input at each step is the
    previous target embedding and the context, an additive attention over the encoder states
    (v^T tanh(W_q s + W_k h)), and the paper's deep output: a maxout layer of ``output_dim`` units (pairs)
    on [state, context, embedding], then the softmax layer. In training the output layers run once over
    all steps."""

    def __init__(self, src_vocab: int, tgt_vocab: int, embed_dim: int = 256, hidden_size: int = 512,
                 attention_dim: int = 256, dropout: float = 0.3, pad_id: int = 0, output_dim: int = 512):
        super().__init__()
        self.config = dict(src_vocab=src_vocab, tgt_vocab=tgt_vocab, embed_dim=embed_dim, hidden_size=hidden_size,
                           attention_dim=attention_dim, dropout=dropout, pad_id=pad_id, output_dim=output_dim)
        self.pad_id, self.hidden_size = pad_id, hidden_size
        self.src_embed = nn.Embedding(src_vocab, embed_dim, padding_idx=pad_id)
        self.tgt_embed = nn.Embedding(tgt_vocab, embed_dim, padding_idx=pad_id)
        self.encoder = nn.GRU(embed_dim, hidden_size, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * hidden_size, hidden_size)
        self.key = nn.Linear(2 * hidden_size, attention_dim, bias=False)
        self.query = nn.Linear(hidden_size, attention_dim)
        self.energy = nn.Linear(attention_dim, 1, bias=False)
        self.decoder = nn.GRUCell(embed_dim + 2 * hidden_size, hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.output_dim = output_dim
        self.maxout = nn.Linear(hidden_size + 2 * hidden_size + embed_dim, 2 * output_dim)
        self.out = nn.Linear(output_dim, tgt_vocab)

    def encode(self, src: Any) -> dict:
        src = check_tokens(src, "AttentionGRU", "src")
        ids = src.array
        lengths = (ids != self.pad_id).sum(axis=1)
        if lengths.min() < 1:
            raise ValueError("AttentionGRU: every source sentence needs at least one token")
        mask = ids != self.pad_id
        x = self.dropout(self.src_embed(src))
        h, _ = self.encoder(x, lengths=lengths)                                   # zeros past each length
        mean = (h * Tensor(mask[:, :, None].astype(np.float32))).sum(dim=1) / Tensor(lengths[:, None].astype(np.float32))
        state = ops.tanh(self.bridge(mean))
        return {"keys": self.key(h), "values": h, "mask": Tensor(np.where(mask, 0.0, -np.inf).astype(np.float32)),
                "state": state, "attention": None}

    def _attend(self, enc: dict, s: Tensor) -> tuple[Tensor, Tensor]:
        scores = self.energy(ops.tanh(enc["keys"] + self.query(s).unsqueeze(1))).squeeze(-1) + enc["mask"]
        weights = F.softmax(scores, dim=-1)                                        # (N, S)
        return (weights.unsqueeze(-1) * enc["values"]).sum(dim=1), weights

    def _advance(self, emb: Tensor, enc: dict) -> tuple[Tensor, dict]:
        """One decoder step: -> ([state, context, embedding], the new state)."""
        s = enc["state"]
        context, weights = self._attend(enc, s)
        s = self.decoder(ops.cat([emb, context], dim=-1), s)
        return ops.cat([s, context, emb], dim=-1), {**enc, "state": s, "attention": weights}

    def _logits(self, features: Tensor) -> Tensor:
        z = self.maxout(self.dropout(features))
        return self.out(z.reshape(*z.shape[:-1], self.output_dim, 2).max(dim=-1).values)

    def forward(self, src: Any, tgt_in: Any) -> Tensor:
        tgt_in = check_tokens(tgt_in, "AttentionGRU", "tgt_in")
        enc = self.encode(src)
        emb = self.dropout(self.tgt_embed(tgt_in))
        features = []
        for t in range(tgt_in.shape[1]):
            f, enc = self._advance(emb[:, t], enc)
            features.append(f.unsqueeze(1))
        return self._logits(ops.cat(features, dim=1))

    def step(self, tokens: Any, state: dict) -> tuple[Tensor, dict]:
        ids = check_tokens(np.asarray(tokens.array if isinstance(tokens, Tensor) else tokens).reshape(-1, 1),
                   "AttentionGRU", "tokens")
        features, state = self._advance(self.tgt_embed(ids)[:, 0], state)
        return F.log_softmax(self._logits(features), dim=-1), state

    @staticmethod
    def reorder(state: dict, index: np.ndarray) -> dict:
        return _take(state, np.asarray(index, dtype=np.int64))

    def cross_attention(self, src: Any, tgt_in: Any) -> np.ndarray:
        """(N, T, S): the attention weights over the source at each step of reading ``tgt_in``."""
        tgt_in = check_tokens(tgt_in, "AttentionGRU", "tgt_in")
        with no_grad():
            state, rows = self.encode(src), []
            for t in range(tgt_in.shape[1]):
                _, state = self.step(tgt_in.numpy()[:, t], state)
                rows.append(state["attention"].numpy())
        return np.stack(rows, axis=1)
