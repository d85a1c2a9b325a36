"""``GradualPruning``: a ``lucidnet.pruning.GradualPruner`` run by ``fit`` (the masks updated before each
training step on the schedule, made permanent at the end)."""
from __future__ import annotations

from typing import Any

from ...pruning import GradualPruner, PolynomialSparsity
from .base import Callback

__all__ = ["GradualPruning"]


class GradualPruning(Callback):
    """Before each training step, ``pruner.step(trainer.global_step)``; at the end of training, with
    ``make_permanent`` (default), ``pruner.finish()``: the model then has plain weights holding the zeros.

    Give a ``GradualPruner``, or ``final_sparsity`` alone: then, when training begins, every conv and linear
    weight of the model is pruned on ``PolynomialSparsity.over(the fit's steps, final_sparsity, ramp=ramp)``.

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

    def __init__(self, pruner: GradualPruner | None = None, *, final_sparsity: float | None = None,
                 ramp: float = 0.75, make_permanent: bool = True):
        if (pruner is None) == (final_sparsity is None):
            raise ValueError("GradualPruning: give a GradualPruner or final_sparsity (pruning over the fit), not both")
        if pruner is not None and not isinstance(pruner, GradualPruner):
            raise TypeError(f"GradualPruning: expected a lucidnet.pruning.GradualPruner, got {type(pruner).__name__}")
        if final_sparsity is not None:
            PolynomialSparsity(0.0, final_sparsity, end_step=1, frequency=1)  # checks it now, not at fit time
        self.pruner = pruner
        self.final_sparsity, self.ramp = final_sparsity, ramp
        self.make_permanent = make_permanent

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.pruner is not None:
            return
        steps, epochs = self.trainer.params.get("steps"), self.trainer.params.get("epochs")
        if not steps:
            raise ValueError("GradualPruning(final_sparsity=...) needs training data of known length (the schedule "
                             "spans the fit's steps); give a GradualPruner with its own schedule instead")
        self.pruner = GradualPruner(self.model, PolynomialSparsity.over(steps * epochs, self.final_sparsity,
                                                                       ramp=self.ramp))

    def on_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.pruner.step(self.trainer.global_step)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.make_permanent:
            self.pruner.finish()
