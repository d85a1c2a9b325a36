"""Adagrad: per-coordinate step sizes from the sum of all past squared gradients."""
from __future__ import annotations

from typing import Any

from ..backend import xp
from .optimizer import Optimizer, ParamsT, direction

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad with PyTorch's update rule.

    ``u = grad + weight_decay * p``; ``clr = lr / (1 + (t - 1) * lr_decay)``; ``sum += u * u``;
    ``p -= clr * u / (sqrt(sum) + eps)``, with ``sum`` starting at ``initial_accumulator_value``.

    >>> import lucidnet as ln
    >>> w = ln.tensor([1.0], requires_grad=True)
    >>> opt = ln.optim.Adagrad([w], lr=0.5)
    >>> (w * w).sum().backward(); opt.step()
    >>> w.data
    tensor([0.5000])
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, *, maximize: bool = False):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps,
                                      maximize=maximize))

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        for key in ("lr_decay", "initial_accumulator_value", "eps"):
            if group[key] < 0:
                raise ValueError(f"Adagrad: invalid {key}={group[key]} (expected >= 0)")

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, lr_decay, eps, wd = group["lr"], group["lr_decay"], group["eps"], group["weight_decay"]
        maximize = group["maximize"]
        nbuf = 2 if (wd != 0 or maximize) else 1
        for p, d, g in self._params_with_grad(group):
            T = d.dtype.type
            bufs = self._buffers(p, d, nbuf)
            s = bufs[0]
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["sum"] = xp.full_like(d, group["initial_accumulator_value"])
            step = state["step"] = state["step"] + 1
            acc = state["sum"]

            u = direction(g, d, wd, maximize, bufs[nbuf - 1])
            clr = lr / (1.0 + (step - 1) * lr_decay)
            xp.multiply(u, u, out=s)
            acc += s
            xp.sqrt(acc, out=s)
            s += T(eps)
            xp.divide(u, s, out=s)
            s *= T(-clr)
            d += s
