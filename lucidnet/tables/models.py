"""``tabular_mlp``: an MLP over a table's float features and embeddings of its many-valued categorical columns."""
from __future__ import annotations

from typing import Sequence

from .. import nn
from ..models import register
from ..ops.shape import cat

__all__ = ["TabularMLP"]


@register("tabular_mlp")
class TabularMLP(nn.Module):
    """``model(x, codes)``: ``x`` (N, num_features) floats, ``codes`` (N, len(cardinalities)) ints (0: a value
    not seen in training), each code column embedded (``embed_dims``) and joined to ``x``; then Linear-ReLU-
    Dropout blocks of ``hidden`` sizes and a Linear to ``num_outputs`` (classes, or 1 for regression).

    >>> import lucidnet as ln
    >>> net = TabularMLP(4, [10], [3], [64, 32], 2)
    >>> net(ln.randn(5, 4), ln.tensor([[0], [1], [9], [2], [3]])).shape
    (5, 2)
    """

    def __init__(self, num_features: int, cardinalities: Sequence[int] = (), embed_dims: Sequence[int] = (),
                 hidden: Sequence[int] = (256, 128), num_outputs: int = 2, dropout: float = 0.1):
        super().__init__()
        if len(cardinalities) != len(embed_dims):
            raise ValueError(f"TabularMLP: {len(cardinalities)} cardinalities for {len(embed_dims)} embed_dims")
        self.config = {"num_features": int(num_features), "cardinalities": [int(c) for c in cardinalities],
                       "embed_dims": [int(d) for d in embed_dims], "hidden": [int(h) for h in hidden],
                       "num_outputs": int(num_outputs), "dropout": float(dropout)}
        self.embeddings = nn.ModuleList([nn.Embedding(c, d) for c, d in zip(cardinalities, embed_dims)])
        layers: list[nn.Module] = []
        width = int(num_features) + sum(embed_dims)
        if width < 1:
            raise ValueError("TabularMLP: the table has no feature columns")
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout else [])
            width = h
        layers.append(nn.Linear(width, num_outputs))
        self.net = nn.Sequential(*layers)

    def forward(self, x, codes=None):
        if len(self.embeddings):
            if codes is None:
                raise ValueError(f"TabularMLP: the model embeds {len(self.embeddings)} categorical columns; "
                                 "call it as model(x, codes)")
            x = cat([x] + [emb(codes[:, i]) for i, emb in enumerate(self.embeddings)], dim=1)
        return self.net(x)
