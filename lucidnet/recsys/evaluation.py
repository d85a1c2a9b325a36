"""Evaluation of recommenders, one code path for models and baselines alike (anything with
``score(users, items) -> array``).

- Explicit: ``rating_errors`` gives RMSE and MAE of predicted ratings on held-out ratings.
- Implicit: ``leave_one_out`` holds out each user's latest interaction; ``ranking_metrics`` ranks it
  against sampled items the user never interacted with and gives HR@k and NDCG@k. Ties between the
  held-out item and a negative are broken at random *in expectation* (exactly the mean over all orders),
  so a model that scores everything alike gets HR@10 = 10/100, not 0 or 1.

>>> import numpy as np
>>> class Const:
...     def score(self, users, items):
...         return np.zeros(len(users), np.float32)
>>> m = ranking_metrics(Const(), np.array([0]), np.array([5]), np.arange(6, 105)[None], k=10)
>>> round(m["hr"], 3)
0.1
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .data import Ratings
from .sampling import InteractionSet, sample_eval_negatives

__all__ = ["rating_errors", "leave_one_out", "ranking_metrics", "LeaveOneOut", "build_leave_one_out"]


def rating_errors(model: Any, ratings: Ratings) -> dict[str, float]:
    """``{"rmse", "mae", "n"}`` of ``model.score(users, items)`` against ``ratings.rating``."""
    if len(ratings) == 0:
        raise ValueError("rating_errors: no ratings to evaluate")
    pred = np.asarray(model.score(ratings.user, ratings.item), dtype=np.float64)
    err = pred - ratings.rating.astype(np.float64)
    return {"rmse": float(np.sqrt(np.mean(err * err))), "mae": float(np.mean(np.abs(err))), "n": len(ratings)}


def leave_one_out(ratings: Ratings) -> tuple[Ratings, Ratings]:
    """``(rest, held)``: each user's latest interaction (by timestamp; among equal timestamps the one that
    comes last in the data) is held out; users with a single interaction keep it in ``rest``."""
    n = len(ratings)
    order = np.lexsort((np.arange(n), ratings.time, ratings.user))  # by user, then time, then position
    u = ratings.user[order]
    last = np.ones(n, bool)
    last[:-1] = u[1:] != u[:-1]
    first = np.ones(n, bool)
    first[1:] = u[1:] != u[:-1]
    held = order[last & ~first]                 # the last of each user with two or more interactions
    keep = np.ones(n, bool)
    keep[held] = False
    held = held[np.argsort(ratings.user[held], kind="stable")]
    return ratings.subset(np.flatnonzero(keep)), ratings.subset(held)


@dataclass
class LeaveOneOut:
    """Leave-one-out data for implicit evaluation: ``train`` (what a model may learn from), ``val`` and
    ``test`` (one interaction per user each; ``val`` is the latest of what remains after ``test``), with
    ``val_negatives`` and ``test_negatives``: items each user never interacted with, in any split."""

    train: Ratings
    val: Ratings | None
    test: Ratings
    val_negatives: np.ndarray | None
    test_negatives: np.ndarray
    seen_all: InteractionSet

    def without_validation(self) -> "LeaveOneOut":
        """The same split with the validation interactions moved into ``train``: for refitting a model on
        everything but the test items once its epoch count has been chosen on validation."""
        if self.val is None:
            return self
        return LeaveOneOut(Ratings.concat(self.train, self.val), None, self.test, None, self.test_negatives,
                           self.seen_all)


def build_leave_one_out(ratings: Ratings, n_users: int, n_items: int, negatives: int = 99,
                        validation: bool = True) -> LeaveOneOut:
    """Split all ``ratings`` for implicit evaluation and draw the evaluation negatives (uniformly, from the
    library generator; seed it with ``lucidnet.manual_seed`` for a repeatable split)."""
    seen = InteractionSet(ratings.user, ratings.item, n_users, n_items)
    rest, test = leave_one_out(ratings)
    val = val_neg = None
    if validation:
        rest, val = leave_one_out(rest)
        val_neg = sample_eval_negatives(seen, val.user, negatives)
    test_neg = sample_eval_negatives(seen, test.user, negatives)
    return LeaveOneOut(rest, val, test, val_neg, test_neg, seen)


def ranking_metrics(model: Any, users: np.ndarray, positives: np.ndarray, negatives: np.ndarray,
                    k: int = 10) -> dict[str, float]:
    """HR@k and NDCG@k of each user's held-out ``positives[j]`` ranked among ``negatives[j]`` (a row of
    item indices per user) by ``model.score``; means over users, with ties counted in expectation."""
    users = np.asarray(users, np.int64)
    positives = np.asarray(positives, np.int64)
    negatives = np.asarray(negatives, np.int64)
    if negatives.ndim != 2 or negatives.shape[0] != len(users) or len(positives) != len(users):
        raise ValueError(f"ranking_metrics: {len(users)} users, {len(positives)} positives and negatives of shape "
                         f"{negatives.shape}; expected one positive and one row of negatives per user")
    n_neg = negatives.shape[1]
    items = np.concatenate([positives[:, None], negatives], axis=1)
    scores = np.asarray(model.score(np.repeat(users, n_neg + 1), items.reshape(-1)), np.float64)
    scores = scores.reshape(len(users), n_neg + 1)
    pos = scores[:, :1]
    above = (scores[:, 1:] > pos).sum(axis=1)
    ties = (scores[:, 1:] == pos).sum(axis=1)
    # rank r (0-based) is uniform on above .. above + ties
    disc = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(k) + 2.0))])  # disc[j] = sum_{r<j}
    lo = np.minimum(above, k)
    hi = np.minimum(above + ties + 1, k)
    hr = (hi - lo) / (ties + 1.0)
    ndcg = (disc[hi] - disc[lo]) / (ties + 1.0)
    return {"hr": float(hr.mean()), "ndcg": float(ndcg.mean()), "users": len(users), "k": k}
