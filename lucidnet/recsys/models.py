"""Recommendation models, registered in ``lucidnet.models`` so that a run directory rebuilds them.

Explicit ratings: ``BiasedMF`` ("mf"), ``IAutoRec`` ("autorec", Sedhain et al., 2015).
Implicit feedback (logits for BCE with logits): ``GMF`` ("gmf"), ``NCFMLP`` ("ncf_mlp") and ``NeuMF``
("neumf"), after He et al., 2017.

Every model takes user and item *indices* (0..n-1; ``Catalog`` maps raw ids) and keeps its arguments in
``self.config``. Layer shapes follow the reference workloads (``shared/bench/torch_anchor.py``).

>>> import lucidnet as ln
>>> from lucidnet.recsys import BiasedMF, NeuMF
>>> mf = BiasedMF(5, 7, dim=4)
>>> mf(ln.tensor([0, 4]), ln.tensor([6, 1])).shape
(2,)
>>> NeuMF(5, 7)(ln.tensor([1, 2, 3]), ln.tensor([0, 0, 6])).shape
(3,)
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .. import nn, ops
from ..models.registry import register
from ..nn import init
from ..nn.embedding import Embedding
from ..nn.parameter import Parameter
from ..fused.embedding import embedding_dot
from ..tensor import Tensor, tensor, zeros
from .base import Recommender
from .data import Ratings

__all__ = ["BiasedMF", "IAutoRec", "GMF", "NCFMLP", "NeuMF"]


# ---- explicit ratings ---------------------------------------------------------------------------

@register("mf")
class BiasedMF(Recommender):
    """``r(u, i) = mu + b_u + b_i + <p_u, q_i>``: biased matrix factorisation.

    Factors start at N(0, ``init_std``), biases at 0, ``mu`` at ``global_mean``. Regularisation is the
    classic per-rating L2 (heavier on frequent users and items, unlike weight decay): while training, the
    forward also forms ``l2 * mean(|p_u|^2 + |q_i|^2) + l2_bias * mean(b_u^2 + b_i^2)`` over the batch, and
    ``model.loss(prediction, rating)`` is the MSE plus that penalty (``Recommender.loss``).
    """

    rating_range = (1.0, 5.0)

    def __init__(self, n_users: int, n_items: int, dim: int = 64, init_std: float = 0.1, global_mean: float = 3.5,
                 l2: float = 0.0, l2_bias: float = 0.0, min_rating: float = 1.0, max_rating: float = 5.0):
        super().__init__(n_users, n_items)
        self.config = {"n_users": n_users, "n_items": n_items, "dim": dim, "init_std": init_std,
                       "global_mean": global_mean, "l2": l2, "l2_bias": l2_bias, "min_rating": min_rating,
                       "max_rating": max_rating}
        self.rating_range = (float(min_rating), float(max_rating))
        self.l2, self.l2_bias = float(l2), float(l2_bias)
        self.user = Embedding(n_users, dim)
        self.item = Embedding(n_items, dim)
        self.user_bias = Embedding(n_users, 1)
        self.item_bias = Embedding(n_items, 1)
        self.global_bias = Parameter(tensor(float(global_mean)))
        init.normal_(self.user.weight, std=init_std)
        init.normal_(self.item.weight, std=init_std)
        init.zeros_(self.user_bias.weight)
        init.zeros_(self.item_bias.weight)

    def forward(self, users: Tensor, items: Tensor) -> Tensor:
        bu, bi = self.user_bias(users).squeeze(1), self.item_bias(items).squeeze(1)
        terms = [(self.l2_bias, bu), (self.l2_bias, bi)]
        if self.training and self.l2:  # the penalty needs the looked-up rows themselves
            p, q = self.user(users), self.item(items)
            terms += [(self.l2, p), (self.l2, q)]
            dot = (p * q).sum(1)
        else:                           # one fused node: lookups, products and row sums
            dot = embedding_dot(users, items, self.user.weight, self.item.weight)
        self._regularise(*terms)
        return dot + bu + bi + self.global_bias

    def score_items(self, users) -> np.ndarray:
        u = np.asarray(users, dtype=np.int64).reshape(-1)
        self._check_ids(u, np.zeros(0, np.int64))
        s = self.user.weight.array[u] @ self.item.weight.array.T
        s += self.user_bias.weight.array[u]
        s += self.item_bias.weight.array[:, 0]
        s += self.global_bias.array
        return np.clip(s, *self.rating_range, out=s)


@register("autorec")
class IAutoRec(Recommender):
    """Item-based AutoRec: each item's vector of ratings over users, encoded to ``hidden`` units
    (sigmoid) and decoded back (identity); the reconstruction fills in the missing ratings.

    ``forward(items)`` returns the reconstructions (len(items), n_users); train it against the items'
    rating rows with ``masked_mse`` (only observed ratings count) and L2 weight decay. The training
    ratings are a buffer (``ratings``, (n_items, n_users), 0 = unobserved), saved with the weights;
    fill it with ``set_ratings``. Items without training ratings are predicted as the global mean.
    """

    rating_range = (1.0, 5.0)

    def __init__(self, n_users: int, n_items: int, hidden: int = 500, min_rating: float = 1.0,
                 max_rating: float = 5.0):
        super().__init__(n_users, n_items)
        self.config = {"n_users": n_users, "n_items": n_items, "hidden": hidden, "min_rating": min_rating,
                       "max_rating": max_rating}
        self.rating_range = (float(min_rating), float(max_rating))
        self.encoder = nn.Linear(n_users, hidden)
        self.decoder = nn.Linear(hidden, n_users)
        self.register_buffer("ratings", zeros(n_items, n_users))

    def set_ratings(self, ratings: Ratings) -> "IAutoRec":
        """Make ``ratings`` (indices within this model's sizes) the model's input matrix."""
        self._check_ids(ratings.user, ratings.item)
        m = self.ratings.array
        m[...] = 0
        m[ratings.item, ratings.user] = ratings.rating
        return self

    def forward(self, items: Tensor) -> Tensor:
        idx = np.asarray(getattr(items, "array", items))
        self._check_ids(np.zeros(0, np.int64), idx)
        x = Tensor._make(self.ratings.array[idx], None)
        return self.decoder(self.encoder(x).sigmoid())

    def _pair_scores(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        uniq, inv = np.unique(items, return_inverse=True)
        rec = self(Tensor._make(uniq, None)).array
        out = rec[inv, users]
        cold = ~self.ratings.array[uniq].any(axis=1)
        if cold.any():  # no training ratings: the reconstruction of a zero vector means nothing
            m = self.ratings.array
            out[cold[inv]] = m[m > 0].mean() if (m > 0).any() else np.mean(self.rating_range)
        return out


def masked_mse(output: Tensor, target) -> Tensor:
    """Mean squared error over the observed entries of ``target`` (non-zero ones): AutoRec's loss.

    >>> import lucidnet as ln
    >>> round(masked_mse(ln.tensor([[3.0, 1.0]]), ln.tensor([[4.0, 0.0]])).item(), 3)
    1.0
    """
    t = np.asarray(getattr(target, "array", target))
    mask = (t != 0).astype(output.dtype)
    diff = (output - Tensor._make(t.astype(output.dtype, copy=False), None)) * Tensor._make(mask, None)
    return (diff * diff).sum() / max(float(mask.sum()), 1.0)


# ---- implicit feedback --------------------------------------------------------------------------

class _Implicit(Recommender):
    implicit = True

    def _init_embeddings(self, *embs: Embedding, std: float) -> None:
        for e in embs:
            init.normal_(e.weight, std=std)


def _mlp(sizes: Sequence[int], dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes, sizes[1:]):
        if dropout:
            layers.append(nn.Dropout(dropout))
        fc = nn.Linear(a, b)
        init.xavier_uniform_(fc.weight)
        init.zeros_(fc.bias)
        layers += [fc, nn.ReLU()]
    return nn.Sequential(*layers)


def _predict_layer(n_in: int) -> nn.Linear:
    fc = nn.Linear(n_in, 1)
    init.kaiming_uniform_(fc.weight, a=1, nonlinearity="sigmoid")
    init.zeros_(fc.bias)
    return fc


@register("gmf")
class GMF(_Implicit):
    """Generalised matrix factorisation: ``h . (p_u * q_i) + b``, a logit."""

    def __init__(self, n_users: int, n_items: int, dim: int = 32, init_std: float = 0.01, l2: float = 0.0):
        super().__init__(n_users, n_items)
        self.config = {"n_users": n_users, "n_items": n_items, "dim": dim, "init_std": init_std, "l2": l2}
        self.l2 = float(l2)
        self.user = Embedding(n_users, dim)
        self.item = Embedding(n_items, dim)
        self._init_embeddings(self.user, self.item, std=init_std)
        self.out = _predict_layer(dim)

    def forward(self, users: Tensor, items: Tensor) -> Tensor:
        p, q = self.user(users), self.item(items)
        self._regularise((self.l2, p), (self.l2, q))
        return self.out(p * q).squeeze(1)


@register("ncf_mlp")
class NCFMLP(_Implicit):
    """NCF's MLP tower: ``[p_u, q_i]`` (each ``dim``) through ReLU layers ``layers``, then a logit."""

    def __init__(self, n_users: int, n_items: int, dim: int = 32, layers: Sequence[int] = (64, 32, 16),
                 dropout: float = 0.0, init_std: float = 0.01, l2: float = 0.0):
        super().__init__(n_users, n_items)
        self.config = {"n_users": n_users, "n_items": n_items, "dim": dim, "layers": list(layers),
                       "dropout": dropout, "init_std": init_std, "l2": l2}
        self.l2 = float(l2)
        self.user = Embedding(n_users, dim)
        self.item = Embedding(n_items, dim)
        self._init_embeddings(self.user, self.item, std=init_std)
        self.mlp = _mlp([2 * dim, *layers], dropout)
        self.out = _predict_layer(layers[-1])

    def forward(self, users: Tensor, items: Tensor) -> Tensor:
        p, q = self.user(users), self.item(items)
        self._regularise((self.l2, p), (self.l2, q))
        return self.out(self.mlp(ops.cat([p, q], 1))).squeeze(1)


@register("neumf")
class NeuMF(_Implicit):
    """NeuMF: a GMF path (``gmf_dim``) and an MLP path (embeddings of ``mlp_dim``, ReLU ``layers``) side by
    side, their last layers concatenated into one logit. Defaults: the reference workload's shapes
    (GMF 32; MLP 64-32-16 on 32-dim embeddings).

    ``NeuMF.from_pretrained(gmf, mlp, alpha)`` starts from trained GMF and MLP models, as in the paper.
    """

    def __init__(self, n_users: int, n_items: int, gmf_dim: int = 32, mlp_dim: int = 32,
                 layers: Sequence[int] = (64, 32, 16), dropout: float = 0.0, init_std: float = 0.01,
                 l2: float = 0.0):
        super().__init__(n_users, n_items)
        self.config = {"n_users": n_users, "n_items": n_items, "gmf_dim": gmf_dim, "mlp_dim": mlp_dim,
                       "layers": list(layers), "dropout": dropout, "init_std": init_std, "l2": l2}
        self.l2 = float(l2)
        self.gmf_user = Embedding(n_users, gmf_dim)
        self.gmf_item = Embedding(n_items, gmf_dim)
        self.mlp_user = Embedding(n_users, mlp_dim)
        self.mlp_item = Embedding(n_items, mlp_dim)
        self._init_embeddings(self.gmf_user, self.gmf_item, self.mlp_user, self.mlp_item, std=init_std)
        self.mlp = _mlp([2 * mlp_dim, *layers], dropout)
        self.out = _predict_layer(gmf_dim + layers[-1])

    def forward(self, users: Tensor, items: Tensor) -> Tensor:
        gu, gi, mu, mi = self.gmf_user(users), self.gmf_item(items), self.mlp_user(users), self.mlp_item(items)
        self._regularise((self.l2, gu), (self.l2, gi), (self.l2, mu), (self.l2, mi))
        mlp = self.mlp(ops.cat([mu, mi], 1))
        return self.out(ops.cat([gu * gi, mlp], 1)).squeeze(1)

    @classmethod
    def from_pretrained(cls, gmf: GMF, mlp: NCFMLP, alpha: float = 0.5, l2: float = 0.0) -> "NeuMF":
        """A NeuMF whose towers are copies of trained ``gmf`` and ``mlp``; the output layer is their output
        layers side by side, weighted ``alpha`` and ``1 - alpha`` (He et al., 2017, section 3.4.1)."""
        if (gmf.n_users, gmf.n_items) != (mlp.n_users, mlp.n_items):
            raise ValueError("NeuMF.from_pretrained: the GMF and MLP models have different user/item counts")
        c = mlp.config
        m = cls(gmf.n_users, gmf.n_items, gmf_dim=gmf.config["dim"], mlp_dim=c["dim"], layers=c["layers"],
                dropout=c["dropout"], l2=l2)
        state = {"gmf_user.weight": gmf.user.weight.array, "gmf_item.weight": gmf.item.weight.array,
                 "mlp_user.weight": mlp.user.weight.array, "mlp_item.weight": mlp.item.weight.array}
        state.update({f"mlp.{k}": v for k, v in mlp.mlp.state_dict().items()})
        state["out.weight"] = np.concatenate([alpha * gmf.out.weight.array, (1 - alpha) * mlp.out.weight.array], 1)
        state["out.bias"] = alpha * gmf.out.bias.array + (1 - alpha) * mlp.out.bias.array
        m.load_state_dict(state)
        return m
