"""Tuned recipes (model config + training settings) for MovieLens-100K, shared by ``lucidnet train --dataset
ml-100k`` and ``benchmarks/recsys_accuracy.py``.

Model selection never sees test data. A recipe trains with a validation split carved out of its training
data (a random 5% of a ``.base`` file; for leave-one-out, each user's second-latest interaction) and
keeps the epoch count that scored best there (early stopping). With ``refit`` (the default), a fresh model
is then trained for that many epochs on all the training data, validation included: for leave-one-out this
matters, since a user's second-latest interaction is the best clue to the latest one. ``neumf`` starts from
a GMF and an MLP tower trained the same way (``pretrain``, He et al., 2017, section 3.4.1), then trains with a
lower learning rate: on validation it scores HR@10 ~0.70 against ~0.68 from scratch, and it varies less from
seed to seed.

>>> sorted(RECIPES)
['autorec', 'gmf', 'mf', 'ncf_mlp', 'neumf']
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .. import models
from ..train import Callback, History
from .catalog import Catalog
from .data import Ratings
from .evaluation import LeaveOneOut
from .models import GMF, NCFMLP, NeuMF
from .training import split_validation, train_explicit, train_implicit

__all__ = ["RECIPES", "EXPLICIT", "IMPLICIT", "Run", "run_explicit", "run_implicit"]

_IMPLICIT_TRAIN = {"epochs": 40, "batch_size": 256, "lr": 1e-3, "weight_decay": 0.0, "patience": 5,
                   "negatives": 4}

# name -> {"model": config beyond the sizes, "train": settings of train_explicit / train_implicit, "refit": bool,
#          "pretrain": bool (neumf only)}
RECIPES: dict[str, dict[str, Any]] = {
    "mf": {"model": {"dim": 64, "init_std": 0.1, "l2": 0.1, "l2_bias": 0.001},
           "train": {"epochs": 100, "batch_size": 256, "lr": 1e-3, "weight_decay": 0.0, "patience": 8},
           "refit": True},
    "autorec": {"model": {"hidden": 500},
                "train": {"epochs": 500, "batch_size": 1682, "lr": 3e-3, "weight_decay": 1e-3, "patience": 10},
                "refit": True},
    "gmf": {"model": {"dim": 32, "l2": 0.0}, "train": dict(_IMPLICIT_TRAIN), "refit": True},
    "ncf_mlp": {"model": {"dim": 32, "layers": [64, 32, 16], "dropout": 0.0, "l2": 0.0},
                "train": dict(_IMPLICIT_TRAIN), "refit": True},
    "neumf": {"model": {"gmf_dim": 32, "mlp_dim": 32, "layers": [64, 32, 16], "dropout": 0.0, "l2": 0.0},
              "train": {**_IMPLICIT_TRAIN, "lr": 3e-4}, "refit": True, "pretrain": True},
}
EXPLICIT = ("mf", "autorec")
IMPLICIT = ("neumf", "gmf", "ncf_mlp")


@dataclass
class Run:
    """The final model, the history of its model-selection run (with the validation metrics), the settings,
    the epoch count chosen on validation, and the interactions the final model was trained on."""

    model: Any
    history: History
    train_config: dict[str, Any]
    epochs: int
    train: Ratings
    refit: bool
    pretrained: dict[str, int] = field(default_factory=dict)


def _settings(name: str, overrides: dict[str, Any] | None) -> tuple[dict, dict]:
    if name not in RECIPES:
        raise ValueError(f"unknown recommender {name!r}; expected one of {', '.join(RECIPES)}")
    model_cfg = dict(RECIPES[name]["model"])
    train_cfg = dict(RECIPES[name]["train"])
    for k, v in (overrides or {}).items():
        if v is None:
            continue
        if k in train_cfg:
            train_cfg[k] = v
        elif k in model_cfg:
            model_cfg[k] = v
        else:
            raise ValueError(f"{name}: unknown setting {k!r}; known: {sorted(train_cfg) + sorted(model_cfg)}")
    return model_cfg, train_cfg


def _best_epochs(history: History, monitor: str, mode: str) -> int:
    """How many epochs reached the best ``monitor`` value (1-based)."""
    values = np.asarray(history.history[monitor], dtype=np.float64)
    return int(np.argmin(values) if mode == "min" else np.argmax(values)) + 1


def run_explicit(name: str, ds: Any, base: Ratings, *, val_fraction: float = 0.05, overrides: dict | None = None,
                 refit: bool | None = None, verbose: int = 0, callbacks: list[Callback] | None = None) -> Run:
    """Train recipe ``name`` ("mf" or "autorec") on ``base`` (only): the epoch count is chosen on a random
    ``val_fraction`` of it, then (``refit``) a fresh model trains that long on all of ``base``. The model
    gets a catalog (``ds``'s ids and titles, ``base`` as seen)."""
    if name not in EXPLICIT:
        raise ValueError(f"run_explicit: {name!r} is not an explicit-rating recipe ({', '.join(EXPLICIT)})")
    model_cfg, train_cfg = _settings(name, overrides)
    refit = RECIPES[name]["refit"] if refit is None else refit
    train, val = split_validation(base, val_fraction)

    def build(data: Ratings):
        cfg = {"name": name, "n_users": ds.n_users, "n_items": ds.n_items, **model_cfg}
        if name == "mf":
            cfg["global_mean"] = float(data.rating.mean())
        return models.build(cfg)

    model = build(train)
    history = train_explicit(model, train, val, verbose=verbose, callbacks=callbacks or [], **train_cfg)
    epochs = _best_epochs(history, "val_rmse", "min")
    if refit:
        model = build(base)
        train_explicit(model, base, None, verbose=verbose, **{**train_cfg, "epochs": epochs})
    model.catalog = Catalog.from_dataset(ds, base)
    return Run(model, history, train_cfg, epochs, base if refit else train, refit)


def run_implicit(name: str, ds: Any, loo: LeaveOneOut, *, overrides: dict | None = None, refit: bool | None = None,
                 pretrain: bool | None = None, verbose: int = 0, callbacks: list[Callback] | None = None) -> Run:
    """Train recipe ``name`` ("neumf", "gmf", "ncf_mlp") on ``loo.train``, the epoch count chosen on
    ``loo.val`` (HR@10); then (``refit``) train a fresh model that long on ``loo.train`` + ``loo.val``.
    ``pretrain`` (neumf): first train a GMF and an MLP tower the same way, and start NeuMF from them."""
    if name not in IMPLICIT:
        raise ValueError(f"run_implicit: {name!r} is not an implicit-feedback recipe ({', '.join(IMPLICIT)})")
    if loo.val is None:
        raise ValueError("run_implicit: the leave-one-out split has no validation interactions to choose epochs on")
    model_cfg, train_cfg = _settings(name, overrides)
    refit = RECIPES[name]["refit"] if refit is None else refit
    pretrain = RECIPES[name].get("pretrain", False) if pretrain is None else pretrain
    if pretrain and name != "neumf":
        raise ValueError(f"run_implicit: pretraining is for neumf, not {name!r}")
    full = loo.without_validation()
    sizes = {"n_users": ds.n_users, "n_items": ds.n_items}
    extra: dict[str, int] = {}

    def select(make: Callable[[], Any], cfg: dict, cbs: list[Callback]) -> tuple[Any, int, History]:
        """(model at its best validation epoch, that epoch count, history)."""
        m = make()
        h = train_implicit(m, loo, verbose=verbose, callbacks=cbs, **cfg)
        n = _best_epochs(h, "val_hr", "max")
        return m, n, h

    if pretrain:
        # the towers take NeuMF's shapes, and the overrides of everything but the learning rate
        shared = {k: (overrides or {}).get(k) for k in ("epochs", "batch_size", "negatives", "patience",
                                                          "weight_decay")}
        gcfg, gtrain = _settings("gmf", {**shared, "dim": model_cfg["gmf_dim"], "l2": model_cfg["l2"]})
        mcfg, mtrain = _settings("ncf_mlp", {**shared, "dim": model_cfg["mlp_dim"], "layers": model_cfg["layers"],
                                             "dropout": model_cfg["dropout"], "l2": model_cfg["l2"]})
        gmf, extra["gmf_epochs"], _ = select(lambda: GMF(**sizes, **gcfg), gtrain, [])
        mlp, extra["mlp_epochs"], _ = select(lambda: NCFMLP(**sizes, **mcfg), mtrain, [])
        alpha = 0.5
        model, epochs, history = select(
            lambda: NeuMF.from_pretrained(gmf, mlp, alpha, l2=model_cfg["l2"]), train_cfg, callbacks or [])
        if refit:
            gmf = GMF(**sizes, **gcfg)
            train_implicit(gmf, full, verbose=verbose, **{**gtrain, "epochs": extra["gmf_epochs"]})
            mlp = NCFMLP(**sizes, **mcfg)
            train_implicit(mlp, full, verbose=verbose, **{**mtrain, "epochs": extra["mlp_epochs"]})
            model = NeuMF.from_pretrained(gmf, mlp, alpha, l2=model_cfg["l2"])
            train_implicit(model, full, verbose=verbose, **{**train_cfg, "epochs": epochs})
    else:
        make = lambda: models.build({"name": name, **sizes, **model_cfg})  # noqa: E731
        model, epochs, history = select(make, train_cfg, callbacks or [])
        if refit:
            model = make()
            train_implicit(model, full, verbose=verbose, **{**train_cfg, "epochs": epochs})
    model.catalog = Catalog.from_dataset(ds, full.train if refit else loo.train)
    return Run(model, history, train_cfg, epochs, full.train if refit else loo.train, refit, extra)
