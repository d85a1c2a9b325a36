"""Training recipes on ``lucidnet.fit``: explicit ratings (``BiasedMF``, ``IAutoRec``) and implicit feedback
(``GMF``, ``NCFMLP``, ``NeuMF``) with negatives drawn afresh every epoch. Model selection uses a
validation split only: ``RatingValidation`` / ``RankingValidation`` put ``val_rmse`` / ``val_hr`` and
``val_ndcg`` into each epoch's logs, and ``EarlyStopping(restore_best_weights=True)`` keeps the best epoch.
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ..optim.factory import build_optimizer
from ..train import Callback, EarlyStopping, History, fit
from .data import Ratings
from .evaluation import LeaveOneOut, ranking_metrics, rating_errors
from .models import BiasedMF, IAutoRec, masked_mse
from .sampling import ImplicitEpochs, InteractionSet, NegativeSampler

__all__ = ["RatingValidation", "RankingValidation", "train_explicit", "train_implicit", "split_validation"]


class RatingValidation(Callback):
    """Adds ``val_rmse`` and ``val_mae`` (clipped predictions, ``rating_errors``) to each epoch's logs."""

    def __init__(self, ratings: Ratings, prefix: str = "val_"):
        self.ratings, self.prefix = ratings, prefix

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None:
            m = rating_errors(self.model, self.ratings)
            logs[self.prefix + "rmse"], logs[self.prefix + "mae"] = m["rmse"], m["mae"]


class RankingValidation(Callback):
    """Adds ``val_hr`` and ``val_ndcg`` (HR@k, NDCG@k on held-out items and their negatives) to the logs."""

    def __init__(self, held: Ratings, negatives: np.ndarray, k: int = 10, prefix: str = "val_"):
        self.held, self.negatives, self.k, self.prefix = held, negatives, k, prefix

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None:
            m = ranking_metrics(self.model, self.held.user, self.held.item, self.negatives, self.k)
            logs[self.prefix + "hr"], logs[self.prefix + "ndcg"] = m["hr"], m["ndcg"]


def split_validation(ratings: Ratings, fraction: float = 0.05) -> tuple[Ratings, Ratings]:
    """``(train, val)``: a random ``fraction`` of ``ratings`` held out (library generator)."""
    from ..random import generator
    if not 0 < fraction < 1:
        raise ValueError(f"split_validation: fraction must be in (0, 1), got {fraction}")
    perm = generator().permutation(len(ratings))
    n_val = max(1, int(round(len(ratings) * fraction)))
    return ratings.subset(np.sort(perm[n_val:])), ratings.subset(np.sort(perm[:n_val]))


def _weights_and_rest(model) -> list[dict]:
    """Parameter groups: weight decay on weight matrices only (not on biases)."""
    decay = [p for n, p in model.named_parameters() if n.endswith("weight") and p.ndim == 2 and "bias" not in n]
    ids = {id(p) for p in decay}
    rest = [p for p in model.parameters() if id(p) not in ids]
    return [g for g in ({"params": decay}, {"params": rest, "weight_decay": 0.0}) if g["params"]]


def train_explicit(model: BiasedMF | IAutoRec, train: Ratings, val: Ratings | None = None, *, epochs: int = 100,
                   batch_size: int = 256, optimizer: str = "adam", lr: float = 1e-3, weight_decay: float = 0.0,
                   patience: int = 10, verbose: int = 0, callbacks: Iterable[Callback] = ()) -> History:
    """Fit an explicit-rating model on ``train``; with ``val``, stop when ``val_rmse`` has not improved for
    ``patience`` epochs and keep the best epoch's weights.

    ``BiasedMF``: batches of ratings, MSE plus the model's per-rating L2 (``model.loss``).
    ``IAutoRec``: batches of items (their rows of the rating matrix, ``set_ratings(train)`` first),
    ``masked_mse``; ``weight_decay`` on its weight matrices.
    """
    cbs: list[Callback] = []
    if val is not None:
        cbs += [RatingValidation(val), EarlyStopping("val_rmse", patience=patience, restore_best_weights=True)]
    cbs += list(callbacks)
    opt = build_optimizer(optimizer, _weights_and_rest(model), lr=lr, weight_decay=weight_decay)
    if isinstance(model, IAutoRec):
        model.set_ratings(train)
        items = np.unique(train.item)
        data = (items, model.ratings.array[items])
        return fit(model, data, loss=masked_mse, optimizer=opt, epochs=epochs, batch_size=batch_size,
                   metrics=[], verbose=verbose, callbacks=cbs)
    if isinstance(model, BiasedMF):
        return fit(model, train.arrays(), loss=model.loss, optimizer=opt, epochs=epochs, batch_size=batch_size,
                   metrics=[], verbose=verbose, callbacks=cbs)
    raise TypeError(f"train_explicit: expected a BiasedMF or IAutoRec, got {type(model).__name__}")


def train_implicit(model: Any, loo: LeaveOneOut, *, epochs: int = 30, batch_size: int = 256, optimizer: str = "adam",
                   lr: float = 1e-3, weight_decay: float = 0.0, negatives: int = 4, sampling: str = "uniform", alpha: float = 1.0,
                   patience: int = 5, monitor: str = "val_hr", verbose: int = 0,
                   callbacks: Iterable[Callback] = ()) -> History:
    """Fit an implicit model (logits; BCE with logits) on ``loo.train`` with ``negatives`` fresh negatives per
    positive each epoch (``sampling``: "uniform" or "popularity"). With ``loo.val``, the epoch with the best
    ``monitor`` ("val_hr" or "val_ndcg") is kept; the test items are never looked at."""
    seen = InteractionSet(loo.train.user, loo.train.item, model.n_users, model.n_items)
    epochs_data = ImplicitEpochs(loo.train.user, loo.train.item, NegativeSampler(seen, sampling, alpha),
                                 negatives=negatives, batch_size=batch_size)
    cbs: list[Callback] = []
    if loo.val is not None:
        cbs += [RankingValidation(loo.val, loo.val_negatives),
                EarlyStopping(monitor, mode="max", patience=patience, restore_best_weights=True)]
    cbs += list(callbacks)
    opt = build_optimizer(optimizer, _weights_and_rest(model), lr=lr, weight_decay=weight_decay)
    return fit(model, epochs_data, loss=model.loss, optimizer=opt, epochs=epochs, metrics=[],
               verbose=verbose, callbacks=cbs)
