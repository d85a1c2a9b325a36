"""``Embedding``: a learned table of vectors, one row per id (words, users, items)."""
from __future__ import annotations

from ..backend import xp
from ..fused.embedding import Embedding as _EmbeddingFn
from ..fused.embedding import check_indices
from ..limits import check_count
from ..tensor import Tensor, empty, get_default_dtype
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["Embedding"]


class Embedding(Module):
    """Rows of ``weight`` (num_embeddings, embedding_dim) picked by integer ids.

    Initialised as in PyTorch: weight ~ N(0, 1), the row ``padding_idx`` (if given) set to zero; that row
    then gets no gradient. Input: integers of any shape, each in [0, num_embeddings).
    Output: ``input.shape + (embedding_dim,)``.

    >>> import lucidnet as ln
    >>> from lucidnet.nn.embedding import Embedding
    >>> emb = Embedding(10, 3, padding_idx=0)
    >>> emb(ln.tensor([[1, 2], [0, 9]])).shape
    (2, 2, 3)
    >>> emb.weight.data[0].tolist()
    [0.0, 0.0, 0.0]
    >>> emb
    Embedding(10, 3, padding_idx=0)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None, dtype=None,
                 _weight: Tensor | None = None):
        super().__init__()
        for name, v in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"Embedding: {name} must be a positive int, got {v!r}")
        if padding_idx is not None:
            if isinstance(padding_idx, bool) or not isinstance(padding_idx, int) or \
                    not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding({num_embeddings}, {embedding_dim}): padding_idx must be an int in "
                                 f"[{-num_embeddings}, {num_embeddings}), got {padding_idx!r}")
            padding_idx %= num_embeddings
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        if _weight is None:
            check_count(num_embeddings * embedding_dim, xp.dtype(dtype or get_default_dtype()).itemsize,
                        f"its ({num_embeddings}, {embedding_dim}) weight",
                        f"Embedding({num_embeddings}, {embedding_dim})")
            self.weight = Parameter(empty(num_embeddings, embedding_dim, dtype=dtype))
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding({num_embeddings}, {embedding_dim}): the given weight has shape "
                                 f"{tuple(_weight.shape)}, expected {(num_embeddings, embedding_dim)}")
            self.weight = Parameter(_weight)

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True, padding_idx: int | None = None) -> "Embedding":
        """An Embedding holding ``embeddings`` (2-D; shared, not copied), frozen unless ``freeze=False``."""
        if embeddings.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape {tuple(embeddings.shape)}")
        n, d = embeddings.shape
        emb = cls(n, d, padding_idx=padding_idx, _weight=embeddings)
        emb.weight.requires_grad_(not freeze)
        return emb

    def reset_parameters(self) -> None:
        """weight ~ N(0, 1); the padding row zero."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.array[self.padding_idx] = 0

    def forward(self, input) -> Tensor:
        idx = check_indices(input, self.num_embeddings, f"Embedding({self.num_embeddings}, {self.embedding_dim})")
        return _EmbeddingFn.apply(self.weight, indices=idx, padding_idx=self.padding_idx)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")
