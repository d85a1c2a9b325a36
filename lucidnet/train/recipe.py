"""The one shape of an application recipe: a named model config + training settings + data, run by ``run``.

Every application (``lucidnet.vision``, ``lucidnet.text``, ``lucidnet.recsys``, and those to come) declares its
recipes in its own ``recipes.py`` as :class:`Recipe` objects, and ``run(recipe, overrides)`` trains one and
returns a :class:`Run`. The override rule is the same for all of them: a flat ``{setting: value}`` mapping,
where ``None`` means "the recipe's value" and a setting the recipe does not have is an error naming it (a
recipe has no silent options). ``lucidnet train`` is this, from the command line.

>>> r = Recipe("demo", family="demo", task="classification", datasets=("toy",), model={"hidden": 8},
...            train={"epochs": 3, "lr": 1e-3}, runner=lambda recipe, options: recipe.settings())
>>> run(r, {"epochs": 5, "lr": None})
{'hidden': 8, 'epochs': 5, 'lr': 0.001, 'dataset': 'toy'}
>>> run(r, {"augment": True})
Traceback (most recent call last):
...
ValueError: recipe 'demo' has no setting 'augment'; its settings: dataset, epochs, hidden, lr
"""
from __future__ import annotations

import dataclasses
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .. import distributed as dist
from .rundir import open_run

__all__ = ["Recipe", "Run", "RunOptions", "run", "data_dir", "MAX_BATCH_SIZE"]

MAX_BATCH_SIZE = 1 << 20  # a larger batch is a typo (--batch-size 10**12): the report's summary would allocate it


@dataclass(frozen=True)
class RunOptions:
    """How a recipe runs, as opposed to what it trains: where the run directory goes (``out=None``: no files,
    no checkpoint), where the data is read from (``data``: a directory; None: ``$LUCIDNET_DATA`` or the user
    cache), whether to download it, the seed, whether to resume the interrupted run in ``out`` or to
    ``overwrite`` a run there (see ``rundir.open_run``), and the progress shown (0 none, 1 a progress bar, 2 a
    line per epoch; the result is printed in every case).

    Fine-tuning a transformed model (``lucidnet prune``): ``model`` is trained instead of a new one built from
    the recipe (a registered model: its config is the run's), with ``callbacks`` run before the recipe's own;
    only recipes with ``starts_from_model`` take them."""

    out: str | os.PathLike | None = None
    data: str | os.PathLike | None = None
    download: bool = False
    seed: int = 0
    resume: bool = False
    overwrite: bool = False
    verbose: int = 1
    model: Any = None
    callbacks: tuple = ()


@dataclass(frozen=True)
class Recipe:
    """A named recipe: the model (a ``lucidnet.models`` config without the sizes that come from the data), the
    training settings, the data settings (``data["dataset"]``, one of ``datasets``, defaults to the first of
    them), and the application's runner ``runner(recipe, options) -> Run`` that turns them into a trained model."""

    name: str
    family: str
    task: str
    datasets: tuple[str, ...]
    model: Mapping[str, Any]
    train: Mapping[str, Any]
    runner: Callable[["Recipe", RunOptions], Any] = field(repr=False, compare=False)
    data: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    # setting -> the datasets it applies to (a setting not named here applies to all of them): a user's own
    # files take settings (a target column, a held-out file) that a named dataset would only ignore
    applies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # whether the runner trains a given model (RunOptions.model, .callbacks) instead of building one
    starts_from_model: bool = False

    def __post_init__(self) -> None:
        if "dataset" not in self.data:
            object.__setattr__(self, "data", {**self.data, "dataset": self.datasets[0]})
        parts = (self.model, self.train, self.data)
        both = sorted({k for i, a in enumerate(parts) for b in parts[i + 1:] for k in a if k in b})
        if both:
            raise ValueError(f"recipe {self.name!r}: settings {both} are in more than one of model, train and data")

    @property
    def dataset(self) -> str:
        return self.data["dataset"]

    def settings(self, dataset: str | None = None) -> dict[str, Any]:
        """Every setting the recipe has (model, training, data): the names ``with_overrides`` accepts; with
        ``dataset``, those that apply to it."""
        every = {**self.model, **self.train, **self.data}
        if dataset is None:
            return every
        return {k: v for k, v in every.items() if dataset in self.applies.get(k, (dataset,))}

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> "Recipe":
        """The recipe with the non-None ``overrides`` applied (the one override rule of every recipe)."""
        given = {k: v for k, v in (overrides or {}).items() if v is not None}
        unknown = sorted(k for k in given if k not in self.settings())
        if unknown:
            s = "s" if len(unknown) > 1 else ""
            raise ValueError(f"recipe {self.name!r} has no setting{s} {', '.join(map(repr, unknown))}; "
                             f"its settings: {', '.join(sorted(self.settings()))}")
        dataset = given.get("dataset", self.dataset)
        if dataset not in self.datasets:
            raise ValueError(f"recipe {self.name!r} trains on {', '.join(self.datasets)}, not {given['dataset']!r}")
        foreign = sorted(k for k in given if k not in self.settings(dataset))
        if foreign:
            raise ValueError(f"recipe {self.name!r}: {', '.join(foreign)} appl{'y' if len(foreign) > 1 else 'ies'} to "
                             f"{' or '.join(sorted({d for k in foreign for d in self.applies[k]}))}, not {dataset}")
        model, train, data = ({**part, **{k: v for k, v in given.items() if k in part}}
                              for part in (self.model, self.train, self.data))
        return dataclasses.replace(self, model=model, train=train, data=data)


@dataclass
class Run:
    """What every recipe returns: the trained model, its training history, the final metrics, the config
    that rebuilds and describes it (saved as the run directory's ``config.json``), the training time in
    seconds, and what else the application keeps (``artifacts``: a vocabulary, a catalog, ...)."""

    model: Any
    history: Any
    metrics: dict[str, Any]
    config: dict[str, Any]
    seconds: float
    artifacts: dict[str, Any] = field(default_factory=dict)


def data_dir(options: RunOptions) -> str | None:
    """The data directory a run read (absolute), for its config: ``lucidnet evaluate`` reads the same data."""
    return None if options.data is None else os.path.abspath(os.fspath(options.data))


def run(recipe: Recipe, overrides: Mapping[str, Any] | None = None, **options: Any) -> Any:
    """Train ``recipe`` with ``overrides`` (see :meth:`Recipe.with_overrides`); ``options`` are those of
    :class:`RunOptions` (``out``, ``data``, ``download``, ``seed``, ``resume``, ``overwrite``, ``verbose``).
    With ``out``, the run directory is held for the run (``rundir.open_run``).

    Under ``mpiexec -n N`` every rank runs the recipe (``fit`` trains data-parallel); rank 0 holds ``out`` and
    prints, the other ranks run silently with a private temporary directory as theirs (what they would
    write goes there and is deleted; a resume reads rank 0's checkpoint)."""
    recipe, opts = recipe.with_overrides(overrides), RunOptions(**options)
    for key in ("epochs", "batch_size"):
        value = recipe.train.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"recipe {recipe.name!r}: {key} must be a positive int, got {value!r}")
    if (recipe.train.get("batch_size") or 1) > MAX_BATCH_SIZE:
        raise ValueError(f"recipe {recipe.name!r}: batch_size must be at most {MAX_BATCH_SIZE}, got "
                         f"{recipe.train['batch_size']}")
    if opts.resume and opts.out is None:
        raise ValueError("resume continues the interrupted run in a run directory; give out=")
    if (opts.model is not None or opts.callbacks) and not recipe.starts_from_model:
        raise ValueError(f"recipe {recipe.name!r} ({recipe.family}) trains a model it builds itself: it takes no "
                         "model= or callbacks= to start from")
    if opts.model is not None and opts.resume:
        raise ValueError("resume continues a run from its checkpoint; it does not start from a given model=")
    world = dist.joined()
    if world is not None and world.rank != 0:
        with tempfile.TemporaryDirectory(prefix=f"lucidnet-rank{world.rank}-") as aside:
            out = None if opts.out is None else aside
            return recipe.runner(recipe, dataclasses.replace(opts, out=out, verbose=0, overwrite=False))
    if opts.out is None:
        return recipe.runner(recipe, opts)
    with open_run(opts.out, recipe.name, recipe.settings(), opts.seed, resume=opts.resume, overwrite=opts.overwrite):
        return recipe.runner(recipe, opts)
