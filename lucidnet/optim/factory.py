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
# per-step schedules a recipe can name: cosine decay to 0 over the run, one-cycle (warm-up over the first 30%,
# then anneal), or a constant learning rate
SCHEDULES = ("cosine", "onecycle", "constant")


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


def build_scheduler(name: str | None, optimizer: Optimizer, total_steps: int) -> Any:
    """The per-step schedule ``name`` (one of :data:`SCHEDULES`) over ``total_steps`` optimizer steps, peaking
    at the optimizer's learning rate; ``None`` for "constant" (or ``name=None``)."""
    if name is None or name == "constant":
        return None
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; known: {', '.join(SCHEDULES)}")
    if total_steps < 1:
        raise ValueError(f"schedule {name!r}: total_steps must be positive, got {total_steps}")
    if name == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    max_lr = [float(g["lr"]) for g in optimizer.param_groups]
    return lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr if len(max_lr) > 1 else max_lr[0],
                                   total_steps=total_steps)
