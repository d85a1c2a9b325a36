"""Tuned recipes (model config + training settings + data) for MovieLens-100K: ``lucidnet train --dataset
ml-100k --model NAME``, ``lucidnet.train.recipe.run(RECIPES[NAME])`` and ``benchmarks/recsys_accuracy.py``.

Model selection never sees test data. A recipe trains with a validation split carved out of its training
data (a random 5% of a ``.base`` file; for leave-one-out, each user's second-latest interaction) and
keeps the epoch count that scored best there (early stopping). With ``refit`` (the default), a fresh model
is then trained for that many epochs on all the training data, validation included: for leave-one-out this
matters, since a user's second-latest interaction is the best clue to the latest one. ``neumf`` starts from
a GMF and an MLP tower trained the same way (``pretrain``, He et al., 2017, section 3.4.1), then fine-tunes
them jointly with a learning rate ten times lower than the towers' (1e-4: its best epoch came at 1-3 and
validation HR@10 fell after, at 3e-4; 1e-4 scored higher on validation for each of three seeds); on
validation it scores HR@10 ~0.70 against ~0.68 from scratch, and it varies less from seed to seed.

Explicit models (mf, autorec) train on the ``split`` base file (default u1.base) only: a ``val_split`` fraction
carved out of it picks the epoch count, then the model is refit on the whole base file; RMSE/MAE are reported
on its test file. Implicit models (neumf, gmf, ncf_mlp) use leave-one-out: each user's latest interaction is
the test item, the one before it the validation item that picks the epoch count; HR@10 and NDCG@10 are
reported against 99 sampled unrated items. Baselines are scored by the same code.

>>> sorted(RECIPES)
['autorec', 'gmf', 'mf', 'ncf_mlp', 'neumf']
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import __version__, models
from ..random import manual_seed
from ..inspect.report import finish_run
from ..train import Callback, CSVLogger, History, rundir
from ..train.recipe import Recipe, Run, RunOptions, data_dir
from .baselines import GlobalMean, Popularity, UserItemBias
from .catalog import Catalog
from .data import SPLITS, MovieLens100K, Ratings
from .evaluation import LeaveOneOut, build_leave_one_out, ranking_metrics, rating_errors
from .models import GMF, NCFMLP, NeuMF
from .training import split_validation, train_explicit, train_implicit

__all__ = ["RECIPES", "EXPLICIT", "IMPLICIT", "DATASETS", "TASKS", "Selection", "run_explicit", "run_implicit", "evaluate",
           "how_trained"]

DATASETS = ("ml-100k",)
TASKS = ("rating-prediction", "ranking")
EXPLICIT = ("mf", "autorec")
IMPLICIT = ("neumf", "gmf", "ncf_mlp")
# the settings train_explicit / train_implicit take; the rest of a recipe's training settings shape the recipe
_FIT_SETTINGS = ("epochs", "batch_size", "optimizer", "lr", "weight_decay", "patience", "negatives")
_IMPLICIT_TRAIN = {"epochs": 40, "batch_size": 256, "optimizer": "adam", "lr": 1e-3, "weight_decay": 0.0,
                   "patience": 5, "negatives": 4, "refit": True}
_EXPLICIT_DATA = {"split": "u1", "val_split": 0.05}


@dataclass
class Selection:
    """What model selection gives: the final model, the history of its model-selection run (with the validation
    metrics), the training settings, the epoch count chosen on validation, the interactions the final model
    was trained on, whether it was refit, and the pretrained towers' epoch counts (neumf)."""

    model: Any
    history: History
    train_config: dict[str, Any]
    epochs: int
    train: Ratings
    refit: bool
    pretrained: dict[str, int] = field(default_factory=dict)


def _settings(name: str, overrides: dict[str, Any] | None) -> tuple[dict, dict]:
    """(model kwargs, training settings) of recipe ``name`` with ``overrides`` (the recipes' override rule)."""
    if name not in RECIPES:
        raise ValueError(f"unknown recommender {name!r}; expected one of {', '.join(RECIPES)}")
    r = RECIPES[name].with_overrides(overrides)
    return {k: v for k, v in r.model.items() if k != "name"}, dict(r.train)


def _fit(train_cfg: dict) -> dict:
    return {k: v for k, v in train_cfg.items() if k in _FIT_SETTINGS}


_NAMES = {"mf": "MF", "autorec": "I-AutoRec", "gmf": "GMF", "ncf_mlp": "MLP", "neumf": "NeuMF"}


def _count(n: int, word: str = "epoch") -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


class _Phases:
    """Labels the blocks of progress output of a recipe that trains more than once (model selection, then the
    refit): ``[2/6] selecting the epoch count on validation: MLP tower, at most 40 epochs``."""

    def __init__(self, total: int, verbose: int):
        self.total, self.verbose, self.done = total, verbose, 0

    def select(self, what: str, on: str, cfg: dict) -> None:
        if cfg["epochs"] == 1:
            self._say(f"training: {what}, 1 epoch (the epochs setting: no epoch count to choose on validation)")
        else:
            self._say(f"selecting the epoch count on validation{on}: {what}, at most {_count(cfg['epochs'])} "
                      f"(early stopping, patience {cfg['patience']})")

    def refit(self, what: str, on: str, epochs: int) -> None:
        self._say(f"refit on {on}: {what}, {_count(epochs)}")

    def _say(self, text: str) -> None:
        self.done += 1
        if self.verbose:
            print(f"[{self.done}/{self.total}] {text}", flush=True)


def _best_epochs(history: History, monitor: str, mode: str) -> int:
    """How many epochs reached the best ``monitor`` value (1-based)."""
    values = np.asarray(history.history[monitor], dtype=np.float64)
    return int(np.argmin(values) if mode == "min" else np.argmax(values)) + 1


def run_explicit(name: str, ds: Any, base: Ratings, *, val_fraction: float = 0.05, overrides: dict | None = None,
                 refit: bool | None = None, verbose: int = 1, callbacks: list[Callback] | None = None) -> Selection:
    """Train recipe ``name`` ("mf" or "autorec") on ``base`` (only): the epoch count is chosen on a random
    ``val_fraction`` of it, then (``refit``) a fresh model trains that long on all of ``base``. The model
    gets a catalog (``ds``'s ids and titles, ``base`` as seen). ``verbose``: as in ``fit`` (0 silent), each
    training run's progress headed by what it is."""
    if name not in EXPLICIT:
        raise ValueError(f"run_explicit: {name!r} is not an explicit-rating recipe ({', '.join(EXPLICIT)})")
    model_cfg, train_cfg = _settings(name, overrides)
    refit = train_cfg["refit"] if refit is None else refit
    train, val = split_validation(base, val_fraction)

    def build(data: Ratings):
        cfg = {"name": name, "n_users": ds.n_users, "n_items": ds.n_items, **model_cfg}
        if name == "mf":
            cfg["global_mean"] = float(data.rating.mean())
        return models.build(cfg)

    phases, what = _Phases(2 if refit else 1, verbose), _NAMES[name]
    phases.select(what, f" ({val_fraction:.0%} of the base file, RMSE)", train_cfg)
    model = build(train)
    history = train_explicit(model, train, val, verbose=verbose, callbacks=callbacks or [], **_fit(train_cfg))
    epochs = _best_epochs(history, "val_rmse", "min")
    if refit:
        phases.refit(what, "the whole base file", epochs)
        model = build(base)
        train_explicit(model, base, None, verbose=verbose, **{**_fit(train_cfg), "epochs": epochs})
    model.catalog = Catalog.from_dataset(ds, base)
    return Selection(model, history, train_cfg, epochs, base if refit else train, refit)


def run_implicit(name: str, ds: Any, loo: LeaveOneOut, *, overrides: dict | None = None, refit: bool | None = None,
                 pretrain: bool | None = None, verbose: int = 1,
                 callbacks: list[Callback] | None = None) -> Selection:
    """Train recipe ``name`` ("neumf", "gmf", "ncf_mlp") on ``loo.train``, the epoch count chosen on
    ``loo.val`` (HR@10); then (``refit``) train a fresh model that long on ``loo.train`` + ``loo.val``.
    ``pretrain`` (neumf): first train a GMF and an MLP tower the same way, and start NeuMF from them.
    ``verbose``: as in ``fit`` (0 silent), each training run's progress headed by what it is."""
    if name not in IMPLICIT:
        raise ValueError(f"run_implicit: {name!r} is not an implicit-feedback recipe ({', '.join(IMPLICIT)})")
    if loo.val is None:
        raise ValueError("run_implicit: the leave-one-out split has no validation interactions to choose epochs on")
    model_cfg, train_cfg = _settings(name, overrides)
    refit = train_cfg["refit"] if refit is None else refit
    pretrain = train_cfg.get("pretrain", False) if pretrain is None else pretrain
    if pretrain and name != "neumf":
        raise ValueError(f"run_implicit: pretraining is for neumf, not {name!r}")
    full = loo.without_validation()
    sizes = {"n_users": ds.n_users, "n_items": ds.n_items}
    extra: dict[str, int] = {}
    phases = _Phases((3 if pretrain else 1) * (2 if refit else 1), verbose)
    on = "train + validation"

    def select(what: str, make: Callable[[], Any], cfg: dict, cbs: list[Callback]) -> tuple[Any, int, History]:
        """(model at its best validation epoch, that epoch count, history)."""
        phases.select(what, " (HR@10)", cfg)
        m = make()
        h = train_implicit(m, loo, verbose=verbose, callbacks=cbs, **_fit(cfg))
        n = _best_epochs(h, "val_hr", "max")
        return m, n, h

    if pretrain:
        # the towers take NeuMF's shapes, and the overrides of everything but the learning rate
        shared = {k: (overrides or {}).get(k) for k in ("epochs", "batch_size", "negatives", "patience",
                                                          "weight_decay", "optimizer")}
        gcfg, gtrain = _settings("gmf", {**shared, "dim": model_cfg["gmf_dim"], "l2": model_cfg["l2"]})
        mcfg, mtrain = _settings("ncf_mlp", {**shared, "dim": model_cfg["mlp_dim"], "layers": model_cfg["layers"],
                                             "dropout": model_cfg["dropout"], "l2": model_cfg["l2"]})
        gmf, extra["gmf_epochs"], _ = select("GMF tower", lambda: GMF(**sizes, **gcfg), gtrain, [])
        mlp, extra["mlp_epochs"], _ = select("MLP tower", lambda: NCFMLP(**sizes, **mcfg), mtrain, [])
        alpha = 0.5
        model, epochs, history = select("NeuMF from the two towers",
                                        lambda: NeuMF.from_pretrained(gmf, mlp, alpha, l2=model_cfg["l2"]),
                                        train_cfg, callbacks or [])
        if refit:
            phases.refit("GMF tower", on, extra["gmf_epochs"])
            gmf = GMF(**sizes, **gcfg)
            train_implicit(gmf, full, verbose=verbose, **{**_fit(gtrain), "epochs": extra["gmf_epochs"]})
            phases.refit("MLP tower", on, extra["mlp_epochs"])
            mlp = NCFMLP(**sizes, **mcfg)
            train_implicit(mlp, full, verbose=verbose, **{**_fit(mtrain), "epochs": extra["mlp_epochs"]})
            phases.refit("NeuMF from the two towers", on, epochs)
            model = NeuMF.from_pretrained(gmf, mlp, alpha, l2=model_cfg["l2"])
            train_implicit(model, full, verbose=verbose, **{**_fit(train_cfg), "epochs": epochs})
    else:
        make = lambda: models.build({"name": name, **sizes, **model_cfg})  # noqa: E731
        model, epochs, history = select(_NAMES[name], make, train_cfg, callbacks or [])
        if refit:
            phases.refit(_NAMES[name], on, epochs)
            model = make()
            train_implicit(model, full, verbose=verbose, **{**_fit(train_cfg), "epochs": epochs})
    model.catalog = Catalog.from_dataset(ds, full.train if refit else loo.train)
    return Selection(model, history, train_cfg, epochs, full.train if refit else loo.train, refit, extra)


def how_trained(sel: Selection, refit_on: str) -> str:
    """The final model's epoch count and where it came from, in words: "12 epochs chosen on validation, the best
    of 17; then refit on train + validation". With the epochs setting at 1, or validation still improving at
    the last epoch allowed, the count is the setting's, and said so."""
    n, limit = sel.epochs, sel.train_config["epochs"]
    if limit == 1:
        text = "1 epoch, the epochs setting"
    elif n == limit:
        text = f"{_count(n)}, the epochs setting (validation still improving at the last)"
    else:
        text = f"{_count(n)} chosen on validation, the best of {len(sel.history.epoch)}"
    if sel.pretrained:
        text = (f"NeuMF {text}; its towers GMF {_count(sel.pretrained['gmf_epochs'])}, "
                f"MLP {_count(sel.pretrained['mlp_epochs'])}")
    return f"{text}; " + (f"then refit on {refit_on}" if sel.refit else "the best epoch's weights kept")


def _run(recipe: Recipe, options: RunOptions) -> Run:
    """Train a recommender on MovieLens-100K and write its run directory (with ``options.out``; see the module
    docstring): the usual files plus ``catalog.json``, which ``lucidnet recommend`` reads."""
    name = recipe.name
    if recipe.task == "rating-prediction" and not 0 < recipe.data["val_split"] < 1:
        raise ValueError(f"recipe {name!r}: val_split must be in (0, 1) (it picks the epoch count), "
                         f"got {recipe.data['val_split']}")
    manual_seed(options.seed)
    t0 = time.perf_counter()
    ds = MovieLens100K(options.data, download=options.download)
    out = None if options.out is None else Path(options.out)
    cbs = [] if out is None else [CSVLogger(out / rundir.HISTORY)]
    verbose = options.verbose
    if verbose:
        print(f"lucidnet {__version__}: training {name} on ml-100k" + (f" -> {out}" if out else ""))
    overrides = {k: v for k, v in recipe.settings().items() if k not in recipe.data and k != "name"}
    if recipe.task == "rating-prediction":
        split, val_fraction = recipe.data["split"], recipe.data["val_split"]
        if split not in SPLITS:
            raise ValueError(f"recipe {name!r}: split must be one of {', '.join(SPLITS)}, got {split!r}")
        base, test = ds.split(split)
        sel = run_explicit(name, ds, base, val_fraction=val_fraction, overrides=overrides, verbose=verbose,
                           callbacks=cbs)
    else:
        loo = build_leave_one_out(ds.ratings, ds.n_users, ds.n_items)
        sel = run_implicit(name, ds, loo, overrides=overrides, verbose=verbose, callbacks=cbs)
    model = sel.model
    train_time = time.perf_counter() - t0
    config = {"model": models.config_of(model), "recipe": name, "task": recipe.task, "dataset": recipe.dataset,
              "data_dir": data_dir(options),
              "data": dict(recipe.data),
              "train": {**sel.train_config, "seed": options.seed, "epochs_chosen": sel.epochs, **sel.pretrained},
              "lucidnet_version": __version__}
    if recipe.task == "ranking":
        config["protocol"] = "leave-one-out (latest interaction), 99 sampled negatives, HR@10 / NDCG@10"
    metrics: dict[str, Any] = {"epochs": sel.epochs, "train_seconds": round(train_time, 2)}
    if recipe.task == "rating-prediction":
        m = rating_errors(model, test)
        metrics.update(test_rmse=m["rmse"], test_mae=m["mae"], test_ratings=m["n"])
        metrics["baselines"] = {
            "global_mean": rating_errors(GlobalMean().fit(base), test),
            "user_item_bias": rating_errors(UserItemBias().fit(base, ds.n_users, ds.n_items), test)}
        line = f"{split}.test RMSE {m['rmse']:.4f}  MAE {m['mae']:.4f}"
    else:
        m = ranking_metrics(model, loo.test.user, loo.test.item, loo.test_negatives)
        metrics.update(test_hr10=m["hr"], test_ndcg10=m["ndcg"], test_users=m["users"])
        metrics["baselines"] = {
            b_name: ranking_metrics(b, loo.test.user, loo.test.item, loo.test_negatives)
            for b_name, b in (("global_mean", GlobalMean().fit(loo.train)),
                              ("user_item_bias", UserItemBias().fit(loo.train, ds.n_users, ds.n_items)),
                              ("popularity", Popularity().fit(loo.train, ds.n_items)))}
        line = f"leave-one-out HR@10 {m['hr']:.4f}  NDCG@10 {m['ndcg']:.4f}"
    refit_on = f"the whole {split}.base" if recipe.task == "rating-prediction" else "train + validation"
    message = f"{line}  ({how_trained(sel, refit_on)}; {train_time:.1f} s)"
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        model.catalog.save(out / rundir.CATALOG)
    finish_run(out, model, config, metrics, message, sel.history)
    return Run(model, sel.history, metrics, config, train_time, {"selection": sel})


def evaluate(run_dir: str | Path, data: str | Path | None = None) -> dict[str, Any]:
    """The test metrics of a recommender run on the data it was trained with: RMSE/MAE on the split's test file,
    or leave-one-out HR@10/NDCG@10 (the same sampled negatives: the leave-one-out split is rebuilt with the
    run's seed)."""
    model, config = rundir.load_run(run_dir)
    model.catalog = Catalog.load(Path(run_dir) / rundir.CATALOG)
    ds = MovieLens100K(data)
    if config.get("task") == "rating-prediction":
        split = config.get("data", {}).get("split", "u1")
        _, test = ds.split(split)
        m = rating_errors(model, test)
        return {"data": f"ml-100k {split}.test", "rmse": m["rmse"], "mae": m["mae"], "ratings": m["n"]}
    manual_seed(int(config.get("train", {}).get("seed", 0)))
    loo = build_leave_one_out(ds.ratings, ds.n_users, ds.n_items)
    m = ranking_metrics(model, loo.test.user, loo.test.item, loo.test_negatives)
    return {"data": "ml-100k leave-one-out (latest interaction of each user)", "hr@10": m["hr"],
            "ndcg@10": m["ndcg"], "users": m["users"]}


def _recipe(name: str, model: dict, train: dict, description: str) -> Recipe:
    explicit = name in EXPLICIT
    return Recipe(name, family="recsys", task="rating-prediction" if explicit else "ranking", datasets=DATASETS,
                  model={"name": name, **model}, train=train, runner=_run,
                  data=dict(_EXPLICIT_DATA) if explicit else {}, description=description)


RECIPES: dict[str, Recipe] = {r.name: r for r in (
    _recipe("mf", {"dim": 64, "init_std": 0.1, "l2": 0.1, "l2_bias": 0.001},
            {"epochs": 100, "batch_size": 256, "optimizer": "adam", "lr": 1e-3, "weight_decay": 0.0, "patience": 8,
             "refit": True}, "biased matrix factorisation (explicit ratings)"),
    _recipe("autorec", {"hidden": 500},
            {"epochs": 500, "batch_size": 1682, "optimizer": "adam", "lr": 3e-3, "weight_decay": 1e-3,
             "patience": 10, "refit": True}, "I-AutoRec (explicit ratings)"),
    _recipe("gmf", {"dim": 32, "l2": 0.0}, dict(_IMPLICIT_TRAIN), "generalised matrix factorisation (implicit)"),
    _recipe("ncf_mlp", {"dim": 32, "layers": [64, 32, 16], "dropout": 0.0, "l2": 0.0}, dict(_IMPLICIT_TRAIN),
            "the MLP tower of NCF (implicit)"),
    _recipe("neumf", {"gmf_dim": 32, "mlp_dim": 32, "layers": [64, 32, 16], "dropout": 0.0, "l2": 0.0},
            {**_IMPLICIT_TRAIN, "lr": 1e-4, "pretrain": True},
            "NeuMF from pretrained GMF and MLP towers (implicit)"),
)}
