"""Baselines, scored by the same evaluation code as the models: global mean, user + item biases, popularity.

Each has ``fit(ratings)`` and ``score(users, items)``.

>>> import numpy as np
>>> from lucidnet.recsys.data import Ratings
>>> r = Ratings(np.array([0, 0, 1]), np.array([0, 1, 0]), np.array([5.0, 3.0, 4.0], np.float32), np.zeros(3, np.int64))
>>> GlobalMean().fit(r).score(np.array([1]), np.array([1])).tolist()
[4.0]
>>> Popularity().fit(r, n_items=3).score(np.array([0, 0, 0]), np.array([0, 1, 2])).tolist()
[2.0, 1.0, 0.0]
"""
from __future__ import annotations

import numpy as np

from .data import Ratings

__all__ = ["GlobalMean", "UserItemBias", "Popularity"]


class GlobalMean:
    """Predicts the mean training rating for every pair (ties everything when ranking)."""

    def fit(self, ratings: Ratings) -> "GlobalMean":
        self.mean = float(ratings.rating.mean())
        return self

    def score(self, users, items) -> np.ndarray:
        return np.full(len(users), self.mean, np.float32)


class UserItemBias:
    """``mu + b_u + b_i``, fitted by alternating regularised least squares (Koren's baseline predictor):
    ``b_i = sum(r - mu - b_u) / (reg_item + n_i)``, then ``b_u`` likewise, ``iterations`` times.
    Ranks items by ``b_i`` for each user; predictions are clipped to [min_rating, max_rating]."""

    def __init__(self, reg_user: float = 15.0, reg_item: float = 10.0, iterations: int = 10,
                 min_rating: float = 1.0, max_rating: float = 5.0):
        self.reg_user, self.reg_item, self.iterations = reg_user, reg_item, iterations
        self.range = (min_rating, max_rating)

    def fit(self, ratings: Ratings, n_users: int | None = None, n_items: int | None = None) -> "UserItemBias":
        nu = n_users or int(ratings.user.max()) + 1
        ni = n_items or int(ratings.item.max()) + 1
        u, i, r = ratings.user, ratings.item, ratings.rating.astype(np.float64)
        self.mu = float(r.mean())
        n_u = np.bincount(u, minlength=nu)
        n_i = np.bincount(i, minlength=ni)
        self.bu, self.bi = np.zeros(nu), np.zeros(ni)
        for _ in range(self.iterations):
            self.bi = np.bincount(i, weights=r - self.mu - self.bu[u], minlength=ni) / (self.reg_item + n_i)
            self.bu = np.bincount(u, weights=r - self.mu - self.bi[i], minlength=nu) / (self.reg_user + n_u)
        return self

    def score(self, users, items) -> np.ndarray:
        s = self.mu + self.bu[users] + self.bi[items]
        return np.clip(s, *self.range).astype(np.float32)


class Popularity:
    """Scores an item by how many training interactions it has (the same for every user)."""

    def fit(self, ratings: Ratings, n_items: int | None = None) -> "Popularity":
        self.counts = np.bincount(ratings.item, minlength=n_items or 0).astype(np.float32)
        return self

    def score(self, users, items) -> np.ndarray:
        items = np.asarray(items)
        out = np.zeros(len(items), np.float32)
        known = items < len(self.counts)
        out[known] = self.counts[items[known]]
        return out
