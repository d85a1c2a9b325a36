"""Prune a trained image run and fine-tune it into a new run directory (``lucidnet prune``).

Unstructured (default): global magnitude pruning of every conv and linear weight, rising to ``sparsity`` on
Zhu & Gupta's schedule over the first 3/4 of the fine-tuning (``lucidnet.pruning.PolynomialSparsity.over``);
the last quarter trains with the masks fixed, which are then made permanent (zeros in dense weights: the same
file size, a sparse network). Structured (``structured=True``): ``sparsity`` of the channels of each conv and
hidden linear layer removed (``lucidnet.pruning.prune_channels``), then the smaller network is fine-tuned. Both
fine-tune with the run's own recipe and training settings (its optimizer, lr, schedule, batch size,
augmentation) on its dataset for ``finetune_epochs`` epochs; the new run directory is read by ``lucidnet
evaluate`` and ``predict`` like any other, and its ``config.json`` records the pruning under ``"pruning"``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..pruning import prune_channels
from ..tensor import zeros
from ..train import rundir
from ..train.callbacks import GradualPruning
from ..train.recipe import Run, run
from .data import IMAGE_FOLDER
from .recipes import RECIPES

__all__ = ["prune_run"]


def _zero_fraction(model: Any) -> float:
    from ..pruning import prunable_weights
    arrays = [m.weight.array for m, _ in prunable_weights(model)]
    return float(sum(int(a.size - np.count_nonzero(a)) for a in arrays) / sum(a.size for a in arrays))


def prune_run(run_dir: str | Path, out: str | Path, *, sparsity: float, finetune_epochs: int,
              structured: bool = False, data: str | Path | None = None, lr: float | None = None,
              seed: int | None = None, settings: dict[str, Any] | None = None, overwrite: bool = False,
              verbose: int = 1) -> Run:
    """Prune the model of image run ``run_dir`` (see the module's docstring), fine-tune it, write run ``out``.
    ``settings``: recipe settings to change for the fine-tuning (``{"labels_per_class": 1000}``: a shorter one
    on 1000 images of each class)."""
    model, config = rundir.load_run(run_dir)
    recipe = RECIPES.get(config.get("recipe"))
    if recipe is None:
        raise ValueError(f"{Path(run_dir) / rundir.CONFIG}: recipe {config.get('recipe')!r} is not an image recipe "
                         f"lucidnet knows ({', '.join(RECIPES)}): its training settings cannot be reused")
    if isinstance(sparsity, bool) or not isinstance(sparsity, (int, float)) or not 0 < sparsity < 1:
        raise ValueError(f"sparsity must be a fraction in (0, 1), got {sparsity!r}")
    if isinstance(finetune_epochs, bool) or not isinstance(finetune_epochs, int) or finetune_epochs < 1:
        raise ValueError(f"finetune_epochs must be a positive int, got {finetune_epochs!r}")
    train = dict(config.get("train", {}))
    run_seed = train.pop("seed", 0)
    overrides = {k: v for k, v in train.items() if k in recipe.train}
    overrides.update(epochs=finetune_epochs, dataset=config["dataset"])
    if lr is not None:
        overrides["lr"] = lr
    overrides.update(settings or {})
    if config["dataset"] == IMAGE_FOLDER:  # the same split of the same folder
        recorded = config.get("data", {})
        overrides.update(test_split=recorded.get("test_split"), test_data=recorded.get("test_data"),
                         image_size=list(config["input"]["shape"][1:]))
    before = sum(p.numel() for p in model.parameters())
    model.train()
    if structured:
        start = prune_channels(model, float(sparsity), zeros(1, *config["input"]["shape"]))
        callbacks: tuple = ()
    else:
        start, callbacks = model, (GradualPruning(final_sparsity=float(sparsity)),)
    result = run(recipe, overrides, out=out, data=data if data is not None else config.get("data_dir"),
                 seed=run_seed if seed is None else seed, overwrite=overwrite, verbose=verbose, model=start,
                 callbacks=callbacks)
    info = {"from": str(Path(run_dir).resolve()), "method": "channels" if structured else "global magnitude",
            "sparsity": float(sparsity), "finetune_epochs": finetune_epochs, "parameters_before": before,
            "parameters_after": sum(p.numel() for p in result.model.parameters()),
            "zero_weights": round(_zero_fraction(result.model), 4)}
    result.config["pruning"] = info
    rundir.write_json(Path(out) / rundir.CONFIG, result.config)
    return result
