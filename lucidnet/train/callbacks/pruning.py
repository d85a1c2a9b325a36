"""``GradualPruning``: a ``lucidnet.pruning.GradualPruner`` run by ``fit`` (the masks updated before each
training step on the schedule, made permanent at the end)."""
from __future__ import annotations

from typing import Any

from ...pruning import GradualPruner
from .base import Callback

__all__ = ["GradualPruning"]


class GradualPruning(Callback):
    """Before each training step, ``pruner.step(trainer.global_step)``; at the end of training, with
    ``make_permanent`` (default), ``pruner.finish()``: the model then has plain weights holding the zeros.

    >>> import numpy as np, lucidnet as ln
    >>> from lucidnet import pruning
    >>> from lucidnet.pruning import GradualPruner, PolynomialSparsity
    >>> net = ln.nn.Sequential(ln.nn.Linear(4, 16), ln.nn.ReLU(), ln.nn.Linear(16, 2))
    >>> pruner = GradualPruner(net, PolynomialSparsity(0.0, 0.75, begin_step=0, end_step=6, frequency=2))
    >>> x = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32); y = (x[:, 0] > 0).astype(np.int64)
    >>> _ = ln.fit(net, (x, y), loss="cross_entropy", epochs=4, batch_size=16, callbacks=[GradualPruning(pruner)],
    ...            verbose=0)
    >>> pruner.sparsity(), pruning.is_pruned(net)
    (0.75, False)
    """

    def __init__(self, pruner: GradualPruner, make_permanent: bool = True):
        if not isinstance(pruner, GradualPruner):
            raise TypeError(f"GradualPruning: expected a lucidnet.pruning.GradualPruner, got {type(pruner).__name__}")
        self.pruner = pruner
        self.make_permanent = make_permanent

    def on_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.pruner.step(self.trainer.global_step)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.make_permanent:
            self.pruner.finish()
