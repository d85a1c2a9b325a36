"""Optimizers and learning-rate schedules by name: the one table of their defaults.

Everything that builds an optimizer from a name goes through :func:`build_optimizer` (``fit(optimizer="adam")``,
the recipes, ``lucidnet train --optimizer``), and every named schedule through :func:`build_scheduler`, so a
default is written once. A value given explicitly always wins; ``None`` means "the table's default".

>>> import lucidnet as ln
>>> w = ln.zeros(3, requires_grad=True)
>>> opt = build_optimizer("sgd-nesterov", [w])
>>> opt.defaults["lr"], opt.defaults["momentum"], opt.defaults["nesterov"]
(0.1, 0.9, True)
>>> build_optimizer("adamw", [w], lr=3e-4).defaults["weight_decay"]
0.01
>>> type(build_scheduler("cosine", opt, total_steps=100)).__name__
'CosineAnnealingLR'
"""
from __future__ import annotations

import math
from typing import Any, Iterable

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["OPTIMIZERS", "SCHEDULES", "build_optimizer", "build_scheduler", "optimizer_defaults"]

# name -> (class, the defaults used when the optimizer is chosen by name; Keras's learning rates). "sgd" is plain
# SGD; "sgd-nesterov" is SGD as CNNs are trained with it (Nesterov momentum 0.9, weight decay 5e-4, lr 0.1).
# The classes' own defaults (``optim.SGD(params)``) are PyTorch's.
OPTIMIZERS: dict[str, tuple[type[Optimizer], dict[str, Any]]] = {
    "sgd": (SGD, {"lr": 0.01, "momentum": 0.0, "weight_decay": 0.0}),
    "sgd-nesterov": (SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4}),
    "adam": (Adam, {"lr": 1e-3, "weight_decay": 0.0}),
    "adamw": (AdamW, {"lr": 1e-3, "weight_decay": 1e-2}),
    "rmsprop": (RMSprop, {"lr": 1e-2, "weight_decay": 0.0}),
    "adagrad": (Adagrad, {"lr": 1e-2, "weight_decay": 0.0}),
}
# per-step schedules a recipe can name: cosine or linear decay to 0 over the run (after an optional linear
# warm-up), one-cycle (warm-up over the first 30%, then anneal), or a constant learning rate
SCHEDULES = ("cosine", "linear", "onecycle", "constant")


def _lookup(name: str) -> tuple[type[Optimizer], dict[str, Any]]:
    key = name.lower() if isinstance(name, str) else name
    if key not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; known names: {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[key]


def optimizer_defaults(name: str) -> dict[str, Any]:
    """The settings ``build_optimizer(name, ...)`` uses when none is given.

    >>> optimizer_defaults("adam")
    {'lr': 0.001, 'weight_decay': 0.0}
    """
    return dict(_lookup(name)[1])


def build_optimizer(name: str, params: Iterable[Any], **settings: Any) -> Optimizer:
    """The optimizer ``name`` over ``params``: the table's defaults, overridden by the non-None ``settings``
    (any keyword the optimizer class takes; an unknown one is an error naming the optimizer)."""
    cls, defaults = _lookup(name)
    kwargs = {**defaults, **{k: v for k, v in settings.items() if v is not None}}
    try:
        return cls(list(params), **kwargs)
    except TypeError as e:
        raise ValueError(f"optimizer {name!r} ({cls.__name__}): {e}") from None


def build_scheduler(name: str | None, optimizer: Optimizer, total_steps: int, warmup: float = 0) -> Any:
    """The per-step schedule ``name`` (one of :data:`SCHEDULES`) over ``total_steps`` optimizer steps, peaking
    at the optimizer's learning rate; ``None`` for "constant" (or ``name=None``). ``warmup``: the learning rate
    first rises linearly from 0 over this many steps (a number below 1: that fraction of ``total_steps``), then
    "cosine" or "linear" decays it to 0 over the rest (the schedule BERT is fine-tuned with).

    >>> import lucidnet as ln
    >>> opt = build_optimizer("adamw", [ln.zeros(2, requires_grad=True)], lr=1.0)
    >>> s = build_scheduler("linear", opt, total_steps=10, warmup=0.2)
    >>> [round(s.get_last_lr()[0], 3) for _ in range(4) if not s.step()]
    [0.5, 1.0, 0.875, 0.75]
    """
    if name is None or name == "constant":
        if warmup:
            raise ValueError(f"schedule {name!r}: warm-up goes with 'cosine' or 'linear', not a constant rate")
        return None
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; known: {', '.join(SCHEDULES)}")
    if total_steps < 1:
        raise ValueError(f"schedule {name!r}: total_steps must be positive, got {total_steps}")
    if warmup < 0:
        raise ValueError(f"schedule {name!r}: warmup must be >= 0, got {warmup}")
    n_warm = int(round(warmup * total_steps)) if warmup < 1 else int(warmup)
    if n_warm >= total_steps:
        raise ValueError(f"schedule {name!r}: warm-up of {n_warm} steps leaves none of the {total_steps} to decay")
    if name == "cosine" and not n_warm:
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    if name in ("cosine", "linear"):
        return lr_scheduler.LambdaLR(optimizer, _WarmupDecay(name, n_warm, total_steps))
    if n_warm:
        raise ValueError("schedule 'onecycle' has its own warm-up (the first 30%); warmup does not apply")
    max_lr = [float(g["lr"]) for g in optimizer.param_groups]
    return lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr if len(max_lr) > 1 else max_lr[0],
                                   total_steps=total_steps)


class _WarmupDecay:
    """The factor of step ``k``: ``k / warmup`` during the warm-up, then cosine or linear decay to 0."""

    def __init__(self, kind: str, warmup: int, total: int):
        self.kind, self.warmup, self.total = kind, warmup, total

    def __call__(self, k: int) -> float:
        if k < self.warmup:
            return k / self.warmup
        frac = min(1.0, (k - self.warmup) / max(1, self.total - self.warmup))
        return 1.0 - frac if self.kind == "linear" else 0.5 * (1.0 + math.cos(math.pi * frac))
