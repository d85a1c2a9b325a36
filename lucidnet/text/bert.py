"""BERT (Devlin et al., 2019) with the Hugging Face module and parameter names, so a ``model.safetensors`` of
the Hugging Face layout loads key for key: ``embeddings.word_embeddings.weight``,
``encoder.layer.N.attention.self.query.weight``, ``encoder.layer.N.output.LayerNorm.bias``, ``pooler.dense.*``.

Post-LN blocks, exact (erf) or tanh GELU as ``hidden_act`` says, absolute positions from 0. ``BertModel``
returns the last hidden state (B, T, H); ``BertClassifier`` puts a dropout and a linear layer on its mean over
the attended tokens (what sentence-transformers pools) or on ``[CLS]``.

>>> import lucidnet as ln
>>> _ = ln.manual_seed(0)
>>> cfg = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=4,
...                  intermediate_size=32, max_position_embeddings=20)
>>> h = BertModel(cfg).eval()(ln.tensor([[2, 5, 7, 3], [2, 9, 3, 0]]), ln.tensor([[1, 1, 1, 1], [1, 1, 1, 0]]))
>>> h.shape
(2, 4, 16)
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import numpy as np

from .. import nn
from ..models.registry import register
from ..nn import functional as F
from ..tensor import Tensor

__all__ = ["BertConfig", "BertModel", "BertClassifier", "mean_pool"]

_ACTIVATIONS = {"gelu": "none", "gelu_new": "tanh", "gelu_pytorch_tanh": "tanh"}


@dataclasses.dataclass(frozen=True)
class BertConfig:
    """The fields of a Hugging Face ``config.json`` that a BERT encoder needs (the others are ignored)."""
    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0

    def __post_init__(self):
        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                     "max_position_embeddings", "type_vocab_size"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"BertConfig: {name} must be a positive integer, got {v!r}")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"BertConfig: hidden_size {self.hidden_size} is not divisible by num_attention_heads "
                             f"{self.num_attention_heads}")
        if self.hidden_act not in _ACTIVATIONS:
            raise ValueError(f"BertConfig: hidden_act {self.hidden_act!r} is not supported; expected one of "
                             f"{', '.join(_ACTIVATIONS)}")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "config") -> "BertConfig":
        """From a ``config.json`` mapping: known fields taken, others ignored; ``where`` names it in errors."""
        if d.get("model_type", "bert") != "bert":
            raise ValueError(f"{where}: model_type is {d.get('model_type')!r}; only 'bert' models are read")
        if d.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"{where}: position_embedding_type {d['position_embedding_type']!r} is not supported "
                             "(only 'absolute')")
        names = {f.name for f in dataclasses.fields(cls)}
        try:
            return cls(**{k: v for k, v in d.items() if k in names})
        except (TypeError, ValueError) as e:
            raise ValueError(f"{where}: {e}") from None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class BertEmbeddings(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size, padding_idx=c.pad_token_id)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)
        self.max_positions = c.max_position_embeddings

    def forward(self, input_ids: Tensor, token_type_ids: Tensor | None = None) -> Tensor:
        t = input_ids.shape[1]
        if t > self.max_positions:
            raise ValueError(f"BertEmbeddings: a sequence of {t} tokens is longer than the position table "
                             f"({self.max_positions}); truncate the input (the tokenizer does, with a warning)")
        pos = Tensor(np.arange(t, dtype=np.int64)[None, :])
        types = token_type_ids if token_type_ids is not None else Tensor(np.zeros((1, t), dtype=np.int64))
        h = self.word_embeddings(input_ids) + self.position_embeddings(pos) + self.token_type_embeddings(types)
        return self.dropout(self.LayerNorm(h))


class BertSelfAttention(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.heads, self.head_dim = c.num_attention_heads, c.hidden_size // c.num_attention_heads
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)
        self.dropout_p = c.attention_probs_dropout_prob

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        b, t, d = h.shape

        def split(x: Tensor) -> Tensor:  # (B, T, D) -> (B, heads, T, head_dim)
            return x.reshape(b, t, self.heads, self.head_dim).permute(0, 2, 1, 3)

        out = F.scaled_dot_product_attention(split(self.query(h)), split(self.key(h)), split(self.value(h)),
                                             attn_mask=mask, dropout_p=self.dropout_p if self.training else 0.0)
        return out.permute(0, 2, 1, 3).reshape(b, t, d)


class _Residual(nn.Module):
    """``LayerNorm(x + dropout(dense(h)))``: BERT's ``attention.output`` and ``output``."""

    def __init__(self, c: BertConfig, d_in: int):
        super().__init__()
        self.dense = nn.Linear(d_in, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, h: Tensor, x: Tensor) -> Tensor:
        return self.LayerNorm(x + self.dropout(self.dense(h)))


class BertAttention(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(c)
        self.output = _Residual(c, c.hidden_size)

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        return self.output(self.self(x, mask), x)


class BertIntermediate(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)
        self.approximate = _ACTIVATIONS[c.hidden_act]

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(self.dense(x), approximate=self.approximate)


class BertLayer(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.attention = BertAttention(c)
        self.intermediate = BertIntermediate(c)
        self.output = _Residual(c, c.intermediate_size)

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        a = self.attention(x, mask)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(c) for _ in range(c.num_hidden_layers)])

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        for block in self.layer:
            x = block(x, mask)
        return x


class BertPooler(nn.Module):
    """``tanh(dense(h[:, 0]))``: kept so every key of a checkpoint loads; sentence embeddings do not use it."""

    def __init__(self, c: BertConfig):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, h: Tensor) -> Tensor:
        return self.dense(h[:, 0]).tanh()


def as_mask(attention_mask: Any, shape: tuple) -> np.ndarray | None:
    """The (B, T) 0/1 mask from an attention mask (B, T) or from the valid lengths (B,) of right-padded rows."""
    if attention_mask is None:
        return None
    m = np.asarray(attention_mask.array if isinstance(attention_mask, Tensor) else attention_mask)
    if m.ndim == 1 and m.shape[0] == shape[0]:
        if m.size and (m.min() < 1 or m.max() > shape[1]):
            raise ValueError(f"BertModel: lengths must lie in [1, {shape[1]}], got {int(m.min())}..{int(m.max())}")
        m = (np.arange(shape[1])[None, :] < m[:, None]).astype(np.int64)
    return m


def _attention_mask(attention_mask: Any, shape: tuple) -> Tensor | None:
    """(B, T) of 1 (attend) / 0 (padding) -> a boolean (B, 1, 1, T) mask for attention, or None if all ones."""
    m = as_mask(attention_mask, shape)
    if m is None:
        return None
    if m.shape != tuple(shape):
        raise ValueError(f"BertModel: attention_mask has shape {m.shape}, expected {tuple(shape)} (as input_ids)")
    if m.all():
        return None
    return Tensor(m.astype(bool)[:, None, None, :])


@register("bert")
class BertModel(nn.Module):
    """The BERT encoder: ``forward(input_ids, attention_mask=None, token_type_ids=None)`` -> (B, T, hidden).
    ``attention_mask``: (B, T), 1 where a token is attended, 0 on padding; or the lengths (B,) of right-padded
    rows (what lucidnet's text batches carry)."""

    def __init__(self, config: BertConfig | Mapping[str, Any] | None = None, add_pooling_layer: bool = True,
                 **kwargs: Any):
        super().__init__()
        c = config if isinstance(config, BertConfig) else BertConfig(**{**dict(config or {}), **kwargs})
        self.bert_config = c
        self.config = {"config": c.to_dict(), "add_pooling_layer": add_pooling_layer}
        self.embeddings = BertEmbeddings(c)
        self.encoder = BertEncoder(c)
        self.pooler = BertPooler(c) if add_pooling_layer else None
        self.apply(_init_weights)

    def forward(self, input_ids: Any, attention_mask: Any = None, token_type_ids: Any = None) -> Tensor:
        ids = input_ids if isinstance(input_ids, Tensor) else Tensor(np.asarray(input_ids))
        if ids.ndim != 2 or ids.dtype.kind not in "iu":
            raise ValueError(f"BertModel: expected token ids of shape (batch, length) and an integer dtype, got "
                             f"shape {tuple(ids.shape)} and dtype {ids.dtype}")
        if ids.numel() and (int(ids.array.min()) < 0 or int(ids.array.max()) >= self.bert_config.vocab_size):
            raise ValueError(f"BertModel: token ids must lie in [0, {self.bert_config.vocab_size}), got "
                             f"{int(ids.array.min())}..{int(ids.array.max())}")
        if token_type_ids is not None and not isinstance(token_type_ids, Tensor):
            token_type_ids = Tensor(np.asarray(token_type_ids, dtype=np.int64))
        mask = _attention_mask(attention_mask, ids.shape)
        return self.encoder(self.embeddings(ids, token_type_ids), mask)


def _init_weights(m: nn.Module) -> None:
    """BERT's initialisation: normal(0, 0.02) weights, zero biases, LayerNorm 1/0 (a pretrained load replaces it)."""
    if isinstance(m, (nn.Linear, nn.Embedding)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)


def mean_pool(h: Tensor, attention_mask: Any = None) -> Tensor:
    """The mean of ``h`` (B, T, H) over the positions where ``attention_mask`` (B, T) is 1 -> (B, H)."""
    if attention_mask is None:
        return h.mean(1)
    m = np.asarray(attention_mask.array if isinstance(attention_mask, Tensor) else attention_mask)
    w = m.astype(h.dtype) / np.maximum(m.sum(1, keepdims=True), 1).astype(h.dtype)
    return (h * Tensor(w[:, :, None])).sum(1)


@register("bert_classifier")
class BertClassifier(nn.Module):
    """A BERT encoder with a classification head on the pooled hidden states: ``pooling`` "mean" (over the
    attended tokens) or "cls" (the ``[CLS]`` state), L2-normalised with ``normalize`` (a sentence embedding).
    ``forward(input_ids, attention_mask)`` -> logits (B, C)."""

    def __init__(self, config: BertConfig | Mapping[str, Any] | None = None, num_classes: int = 2,
                 pooling: str = "mean", dropout: float | None = None, normalize: bool = False):
        super().__init__()
        if pooling not in ("mean", "cls"):
            raise ValueError(f"BertClassifier: pooling must be 'mean' or 'cls', got {pooling!r}")
        self.bert = BertModel(config, add_pooling_layer=False)
        c = self.bert.bert_config
        p = c.hidden_dropout_prob if dropout is None else float(dropout)
        self.config = {"config": c.to_dict(), "num_classes": num_classes, "pooling": pooling, "dropout": p,
                       "normalize": bool(normalize)}
        self.pooling, self.normalize = pooling, bool(normalize)
        self.dropout = nn.Dropout(p)
        self.classifier = nn.Linear(c.hidden_size, num_classes)
        _init_weights(self.classifier)

    def forward(self, input_ids: Any, attention_mask: Any = None) -> Tensor:
        """Logits (B, C); ``attention_mask`` (B, T) or lengths (B,), as for :class:`BertModel`."""
        return self.classifier(self.dropout(self.embed(input_ids, attention_mask)))

    def embed(self, input_ids: Any, attention_mask: Any = None) -> Tensor:
        """The pooled sentence vectors (B, hidden) the head reads (L2-normalised with ``normalize``)."""
        h = self.bert(input_ids, attention_mask)
        pooled = mean_pool(h, as_mask(attention_mask, h.shape[:2])) if self.pooling == "mean" else h[:, 0]
        if self.normalize:
            pooled = pooled / ((pooled * pooled).sum(1, keepdim=True) + 1e-24) ** 0.5
        return pooled

    def layer_depth(self, name: str) -> int:
        """The depth of parameter ``name`` for layer-wise learning rates: 0 the embeddings, i + 1 encoder layer i,
        then the head."""
        if name.startswith("bert.embeddings."):
            return 0
        if name.startswith("bert.encoder.layer."):
            return int(name.split(".")[3]) + 1
        return self.bert.bert_config.num_hidden_layers + 1

