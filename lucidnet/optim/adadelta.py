"""Adadelta (Zeiler 2012): steps scaled by running averages of squared gradients and of squared steps."""
from __future__ import annotations

from typing import Any

from ..backend import xp
from .optimizer import Optimizer, ParamsT, direction

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta with PyTorch's update rule.

    ``u = grad + weight_decay * p``; ``v = rho * v + (1 - rho) * u * u``;
    ``delta = sqrt(a + eps) / sqrt(v + eps) * u``; ``a = rho * a + (1 - rho) * delta * delta``;
    ``p -= lr * delta``.

    >>> import lucidnet as ln
    >>> w = ln.tensor([1.0], requires_grad=True)
    >>> opt = ln.optim.Adadelta([w])
    >>> (w * w).sum().backward(); opt.step()
    >>> w.data.numpy().round(5)
    array([0.99684], dtype=float32)
    """

    def __init__(self, params: ParamsT, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, *, maximize: bool = False):
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize))

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        if not 0.0 <= group["rho"] <= 1.0:
            raise ValueError(f"Adadelta: invalid rho={group['rho']} (expected in [0, 1])")
        if group["eps"] < 0:
            raise ValueError(f"Adadelta: invalid eps={group['eps']} (expected >= 0)")

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, rho, eps, wd, maximize = group["lr"], group["rho"], group["eps"], group["weight_decay"], group["maximize"]
        for p, d, g in self._params_with_grad(group):
            T = d.dtype.type
            s, t = self._buffers(p, d, 2)
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["square_avg"] = xp.zeros_like(d)
                state["acc_delta"] = xp.zeros_like(d)
            state["step"] += 1
            v, a = state["square_avg"], state["acc_delta"]
            u = direction(g, d, wd, maximize, t)
            v *= T(rho)                                   # v += (1 - rho) * u * u
            xp.multiply(u, T(1.0 - rho), out=s)
            s *= u
            v += s
            xp.add(v, T(eps), out=s)                      # delta = sqrt(a + eps) / sqrt(v + eps) * u
            xp.sqrt(s, out=s)
            xp.divide(u, s, out=s)
            xp.add(a, T(eps), out=t)
            xp.sqrt(t, out=t)
            s *= t
            a *= T(rho)                                   # a += (1 - rho) * delta * delta
            xp.multiply(s, s, out=t)
            t *= T(1.0 - rho)
            a += t
            s *= T(-lr)
            d += s
