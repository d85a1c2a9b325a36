"""``Recommender``: the base of the recommendation models: batched scoring without a graph, and
``recommend(user_id, k)`` in the data's own ids and titles (through the model's ``catalog``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from ..nn.inference import inference
from ..nn.module import Module
from ..tensor import Tensor

__all__ = ["Recommender", "Recommendations"]


@dataclass
class Recommendations:
    """The top items for one user: raw ``item_ids``, ``titles`` and ``scores`` (best first).

    Iterating gives ``(item_id, title, score)`` rows."""

    user_id: int
    item_ids: np.ndarray
    titles: list = field(default_factory=list)
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))

    def __len__(self) -> int:
        return len(self.item_ids)

    def __iter__(self) -> Iterator[tuple[int, str, float]]:
        for i, t, s in zip(self.item_ids.tolist(), self.titles, self.scores.tolist()):
            yield i, t, s

    def __str__(self) -> str:
        lines = [f"top {len(self)} for user {self.user_id}:"]
        lines += [f"{r:3d}. {s:8.4f}  {t}  (item {i})" for r, (i, t, s) in enumerate(self, 1)]
        return "\n".join(lines)


def _check_count(name: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{name} must be a positive int, got {v!r}")
    return int(v)


class Recommender(Module):
    """Base class: a model of ``n_users`` x ``n_items`` whose ``forward(users, items)`` gives one score per
    pair. ``implicit`` models score with logits (``recommend`` shows probabilities); explicit ones predict
    ratings, clipped to ``rating_range`` when scored.

    ``catalog`` (a :class:`~lucidnet.recsys.catalog.Catalog`) maps raw ids and titles; ``recommend`` needs it.
    """

    implicit = False
    rating_range: tuple[float, float] | None = None

    def __init__(self, n_users: int, n_items: int):
        super().__init__()
        name = type(self).__name__
        self.n_users = _check_count(f"{name}: n_users", n_users)
        self.n_items = _check_count(f"{name}: n_items", n_items)
        self.catalog = None
        self.penalty: Tensor | None = None

    # ---- training objective -------------------------------------------------------------------------
    def _regularise(self, *terms: tuple[float, Tensor]) -> None:
        """Set ``self.penalty`` to ``sum(w * |rows|^2) / batch`` over ``(w, rows)`` terms: the classic per-example
        L2 on the embedding rows a batch uses (frequent ids are pulled in more often than rare ones, unlike
        weight decay). Only while training, and only for terms with a non-zero weight."""
        self.penalty = None
        if not self.training:
            return
        for w, rows in terms:
            if w:
                t = (rows * rows).sum() * (w / max(len(rows), 1))
                self.penalty = t if self.penalty is None else self.penalty + t

    def loss(self, prediction: Tensor, target) -> Tensor:
        """The training loss: MSE on ratings (explicit) or BCE with logits (implicit), plus the L2 penalty of
        the last training forward, if any: ``fit(model, ..., loss=model.loss)``."""
        from ..nn.losses import binary_cross_entropy_with_logits, mse_loss
        base = (binary_cross_entropy_with_logits if self.implicit else mse_loss)(prediction, target)
        return base if self.penalty is None else base + self.penalty

    # ---- scoring --------------------------------------------------------------------------------
    def _check_ids(self, users: np.ndarray, items: np.ndarray) -> None:
        name = type(self).__name__
        for what, ids, n in (("user", users, self.n_users), ("item", items, self.n_items)):
            if ids.dtype.kind not in "iu":
                raise TypeError(f"{name}: {what} indices must be integers, got dtype {ids.dtype}")
            if ids.size and (ids.min() < 0 or ids.max() >= n):
                bad = ids.min() if ids.min() < 0 else ids.max()
                raise ValueError(f"{name}: {what} index {int(bad)} is out of range; the model has {n} {what}s "
                                 f"(indices 0..{n - 1}); map raw ids with model.catalog.{what}_index()")

    def _pair_scores(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self(Tensor._make(users, None), Tensor._make(items, None)).array

    def score(self, users, items, batch_size: int = 65536) -> np.ndarray:
        """Scores of (user index, item index) pairs as a float32 NumPy array: predicted ratings (clipped to
        ``rating_range``) or logits. Eval mode, no graph, in batches; the training mode is restored."""
        # batch_size counts (user, item) pairs, a few floats each, not samples of a model's input: it is not
        # lucidnet.train.EVAL_BATCH_SIZE (score_items asks for every item of every user in one call)
        u = np.asarray(getattr(users, "array", users)).reshape(-1)
        i = np.asarray(getattr(items, "array", items)).reshape(-1)
        if u.shape != i.shape:
            raise ValueError(f"{type(self).__name__}.score: {u.size} users and {i.size} items; "
                             "give one of each per pair")
        self._check_ids(u, i)
        with inference(self):
            out = [self._pair_scores(u[s:s + batch_size], i[s:s + batch_size])
                   for s in range(0, len(u), batch_size)]
        scores = np.concatenate(out) if out else np.zeros(0, np.float32)
        if self.rating_range is not None:
            np.clip(scores, *self.rating_range, out=scores)
        return scores

    def score_items(self, users) -> np.ndarray:
        """Scores of every item for each user index: (len(users), n_items)."""
        u = np.asarray(users, dtype=np.int64).reshape(-1)
        grid_u = np.repeat(u, self.n_items)
        grid_i = np.tile(np.arange(self.n_items), len(u))
        return self.score(grid_u, grid_i).reshape(len(u), self.n_items)

    # ---- use --------------------------------------------------------------------------------------
    def predict(self, user_ids, item_ids) -> np.ndarray:
        """Scores for pairs of *raw* ids (as in the data; broadcast against each other): predicted ratings, or
        probabilities for implicit models. An id the catalog does not know raises ``UnknownIdError``."""
        cat = self._catalog("predict")
        u, i = np.broadcast_arrays(np.asarray(cat.user_index(user_ids)), np.asarray(cat.item_index(item_ids)))
        s = self.score(u.reshape(-1), i.reshape(-1)).astype(np.float64)
        if self.implicit:
            s = 1.0 / (1.0 + np.exp(-s))
        return s.astype(np.float32).reshape(u.shape)

    def _catalog(self, who: str):
        if self.catalog is None:
            raise ValueError(f"{type(self).__name__}.{who}: the model has no catalog (raw ids and titles); "
                             "set model.catalog = Catalog.from_dataset(dataset, train_ratings)")
        return self.catalog

    def recommend(self, user_id, k: int = 10, exclude_seen: bool = True) -> Recommendations:
        """The ``k`` best items for the user with raw id ``user_id``, best first, as item ids, titles and scores
        (predicted ratings, or probabilities for implicit models). ``exclude_seen`` leaves out what the user
        rated in training. An id the catalog does not know raises ``UnknownIdError`` (a ValueError).

        Needs ``self.catalog`` (set by ``lucidnet.recsys`` training, or loaded from a run directory)."""
        k = _check_count(f"{type(self).__name__}.recommend: k", k)
        cat = self._catalog("recommend")
        u = cat.user_index(user_id)
        scores = self.score_items([u])[0].astype(np.float64)
        if self.implicit:
            scores = 1.0 / (1.0 + np.exp(-scores))
        if exclude_seen:
            scores[cat.seen_items(u)] = -np.inf
        candidates = np.flatnonzero(np.isfinite(scores))
        k = min(k, candidates.size)
        top = candidates[np.argsort(-scores[candidates], kind="stable")[:k]]
        return Recommendations(int(cat.user_ids[u]), cat.item_ids[top], [cat.titles[j] for j in top],
                               scores[top].astype(np.float32))
