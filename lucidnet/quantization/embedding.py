"""``QuantizedEmbedding``: an embedding table stored int8, one symmetric scale per row (weight-only
quantization, PyTorch's ``torch.ao.nn.quantized.Embedding`` with per-row parameters); the looked-up rows are
dequantized to float32. Where the vocabulary is large (MiniLM's 30,522 x 384 words) the table is most of a
model's size.

>>> import lucidnet as ln
>>> emb = ln.nn.Embedding(10, 4, padding_idx=0)
>>> q = QuantizedEmbedding.from_float(emb)
>>> ids = ln.tensor([[1, 2], [0, 9]])
>>> bool(abs(q(ids) - emb(ids)).max() < 0.03), q(ids)[1, 0].tolist()
(True, [0.0, 0.0, 0.0, 0.0])
"""
from __future__ import annotations

from ..backend import xp
from ..fused.embedding import check_indices
from ..nn import Embedding
from ..tensor import Tensor, from_numpy
from .base import QuantizedModule
from .spec import register_layer

__all__ = ["QuantizedEmbedding"]


@register_layer
class QuantizedEmbedding(QuantizedModule):
    """Rows of an int8 table (buffers ``weight`` int8 (num_embeddings, embedding_dim), ``weight_scale``)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None):
        super().__init__()
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        self._set_int8("weight", xp.zeros((num_embeddings, embedding_dim), xp.float32))

    @classmethod
    def restore(cls, mod: Embedding) -> "QuantizedEmbedding":
        """An empty table of ``mod``'s shape, for ``load_state_dict`` (see ``quantization.spec``)."""
        return cls(mod.num_embeddings, mod.embedding_dim, mod.padding_idx)

    @classmethod
    def from_float(cls, mod: Embedding) -> "QuantizedEmbedding":
        q = cls.restore(mod)
        q._set_int8("weight", mod.weight.array)
        return q

    def forward(self, input) -> Tensor:
        idx = check_indices(input, self.num_embeddings, self._who())
        q, s = self.weight.array, self.weight_scale.array
        rows = q[idx].astype(xp.float32)
        rows *= s[idx][..., None]
        return from_numpy(rows)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "") + ", dtype=qint8"
