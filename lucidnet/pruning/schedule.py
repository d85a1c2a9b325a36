"""Gradual magnitude pruning during training: Zhu & Gupta's polynomial sparsity schedule ("To prune, or not to
prune", 2017).

From step ``begin_step`` (t0) the sparsity rises every ``frequency`` steps (Δt) from ``initial_sparsity`` (s_i)
to ``final_sparsity`` (s_f), reached at ``end_step`` (t0 + nΔt), and stays there::

    s_t = s_f + (s_i - s_f) * (1 - (t - t0) / (n Δt)) ** power        (power 3 in the paper)

fast at first, while many weights are redundant, then slower. ``GradualPruner`` applies it: each pruning step
ranks the weights of all its parameters together by magnitude (global magnitude pruning) and masks the smallest
until the schedule's fraction is masked; a weight once masked stays masked (its gradient is masked too), as in
the paper. Training code calls ``pruner.step(t)`` before each training step (``lucidnet.train.callbacks.
GradualPruning`` does it in ``fit``) and ``pruner.finish()`` at the end, which makes the masks permanent.

>>> s = PolynomialSparsity(0.0, 0.8, begin_step=0, end_step=100, frequency=10)
>>> [round(s.sparsity(t), 4) for t in (0, 9, 10, 50, 100, 1000)]
[0.0, 0.0, 0.2168, 0.7, 0.8, 0.8]
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from ..nn.module import Module
from .unstructured import L1Unstructured, global_unstructured, identity, pruned_parameters, remove

__all__ = ["PolynomialSparsity", "GradualPruner", "prunable_weights"]


@dataclass(frozen=True)
class PolynomialSparsity:
    """Zhu & Gupta's schedule: ``sparsity(step)`` and whether ``step`` is a pruning step (``due(step)``)."""

    initial_sparsity: float
    final_sparsity: float
    begin_step: int = 0
    end_step: int = 1000
    frequency: int = 100
    power: float = 3.0

    def __post_init__(self) -> None:
        for name in ("initial_sparsity", "final_sparsity"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v < 1.0:
                raise ValueError(f"PolynomialSparsity: {name} must be in [0, 1), got {v!r}")
        for name in ("begin_step", "end_step", "frequency"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"PolynomialSparsity: {name} must be a non-negative int, got {v!r}")
        if self.frequency < 1 or self.end_step <= self.begin_step:
            raise ValueError(f"PolynomialSparsity: needs frequency >= 1 and end_step > begin_step, got frequency="
                             f"{self.frequency}, begin_step={self.begin_step}, end_step={self.end_step}")
        if self.power <= 0:
            raise ValueError(f"PolynomialSparsity: power must be positive, got {self.power!r}")

    @classmethod
    def over(cls, total_steps: int, final_sparsity: float, *, initial_sparsity: float = 0.0, ramp: float = 0.75,
             updates: int = 20, power: float = 3.0) -> "PolynomialSparsity":
        """The schedule of a fine-tuning of ``total_steps`` steps: from step 0 to ``ramp`` of them, in about
        ``updates`` pruning steps; the rest of the steps train with the final masks (recovery).

        >>> PolynomialSparsity.over(1000, 0.9)
        PolynomialSparsity(initial_sparsity=0.0, final_sparsity=0.9, begin_step=0, end_step=750, frequency=37, power=3.0)
        """
        if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < 1:
            raise ValueError(f"PolynomialSparsity.over: total_steps must be a positive int, got {total_steps!r}")
        if not 0.0 < ramp <= 1.0 or updates < 1:
            raise ValueError(f"PolynomialSparsity.over: ramp must be in (0, 1] and updates >= 1, got ramp={ramp!r}, "
                             f"updates={updates!r}")
        end = max(1, int(ramp * total_steps))
        return cls(initial_sparsity, final_sparsity, begin_step=0, end_step=end,
                   frequency=max(1, end // updates), power=power)

    def due(self, step: int) -> bool:
        """Whether the masks are updated at ``step``: every ``frequency`` steps from ``begin_step``, and at
        ``end_step``."""
        return self.begin_step <= step <= self.end_step and (
            (step - self.begin_step) % self.frequency == 0 or step == self.end_step)

    def sparsity(self, step: int) -> float:
        """The target sparsity in force at ``step``: 0 before ``begin_step`` (nothing pruned yet), the value of
        the last pruning step at or before ``step``, ``final_sparsity`` from ``end_step`` on."""
        if step < self.begin_step:
            return 0.0
        if step >= self.end_step:
            return float(self.final_sparsity)
        t = self.begin_step + (step - self.begin_step) // self.frequency * self.frequency
        frac = (t - self.begin_step) / (self.end_step - self.begin_step)
        return float(self.final_sparsity + (self.initial_sparsity - self.final_sparsity) * (1.0 - frac) ** self.power)


def prunable_weights(model: Module) -> list[tuple[Module, str]]:
    """The ``(module, "weight")`` pairs of ``model``'s convolutions and linear layers (what magnitude pruning
    usually prunes; biases and normalisation are left dense)."""
    from ..nn import Conv1d, Conv2d, Linear  # noqa: the layer classes, lazily
    return [(m, "weight") for m in model.modules() if isinstance(m, (Conv1d, Conv2d, Linear))]


class GradualPruner:
    """Global magnitude pruning of ``parameters`` ((module, name) pairs; default: every conv and linear weight
    of ``model``) on the ``schedule``. Building it puts an all-ones mask on each parameter (``identity``), so
    the model's state dict has its final keys (``weight_orig``, ``weight_mask``) from the start.

    >>> import lucidnet as ln
    >>> net = ln.nn.Sequential(ln.nn.Linear(10, 10), ln.nn.ReLU(), ln.nn.Linear(10, 2))
    >>> p = GradualPruner(net, PolynomialSparsity(0.0, 0.5, 0, 10, 5))
    >>> for t in range(11):
    ...     p.step(t)
    >>> round(p.sparsity(), 2)
    0.5
    >>> p.finish(); [n for n, _ in net.named_parameters()]  # PyTorch's order after prune.remove
    ['0.bias', '0.weight', '2.bias', '2.weight']
    """

    def __init__(self, model: Module, schedule: PolynomialSparsity,
                 parameters: Iterable[tuple[Module, str]] | None = None):
        self.schedule = schedule
        self.parameters = list(prunable_weights(model) if parameters is None else parameters)
        if not self.parameters:
            raise ValueError(f"GradualPruner: {type(model).__name__} has no convolution or linear weights to prune")
        already = {(id(m), n) for m, n in pruned_parameters(model)}
        for module, name in self.parameters:
            if (id(module), name) not in already:
                identity(module, name)
        self.total = sum(int(np.prod(getattr(m, n).shape)) for m, n in self.parameters)

    def pruned(self) -> int:
        """How many entries are masked now (after ``finish``: how many are zero)."""
        arrays = [m.__dict__.get(n + "_mask", m.__dict__[n]).array for m, n in self.parameters]
        return sum(a.size - int(np.count_nonzero(a)) for a in arrays)

    def sparsity(self) -> float:
        return self.pruned() / self.total

    def step(self, step: int) -> None:
        """Update the masks if ``step`` is a pruning step: mask the smallest weights (over all the parameters)
        until ``schedule.sparsity(step)`` of them are masked."""
        if not self.schedule.due(step):
            return
        more = round(self.schedule.sparsity(step) * self.total) - self.pruned()
        if more > 0:  # the amount counts the unpruned entries: the masked ones stay masked
            scores = {(m, n): m.__dict__[n + "_orig"].array * m.__dict__[n + "_mask"].array
                      for m, n in self.parameters}  # today's weights (module.name is from the last forward)
            global_unstructured(self.parameters, pruning_method=L1Unstructured, importance_scores=scores,
                                amount=more)

    def finish(self) -> None:
        """Make the masks permanent (``remove``): plain parameters holding the zeros."""
        for module, name in self.parameters:
            if name + "_orig" in module._parameters:
                remove(module, name)
