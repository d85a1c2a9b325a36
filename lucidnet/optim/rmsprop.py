"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""
from __future__ import annotations

from typing import Any

from ..backend import xp
from ..kernels.optim_numpy import lerp_
from .optimizer import Optimizer, ParamsT, direction

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop with PyTorch's update rule.

    ``u = grad + weight_decay * p``; ``v = alpha * v + (1 - alpha) * u * u``; ``avg = sqrt(v) + eps``
    (``centered``: ``avg = sqrt(v - gavg**2) + eps`` with ``gavg = lerp(gavg, u, 1 - alpha)``);
    ``p -= lr * u / avg``, or with momentum ``b = momentum * b + u / avg``, ``p -= lr * b``.

    >>> import lucidnet as ln
    >>> w = ln.tensor([1.0], requires_grad=True)
    >>> opt = ln.optim.RMSprop([w], lr=0.01, alpha=0.75)
    >>> (w * w).sum().backward(); opt.step()
    >>> w.data.numpy().round(4)
    array([0.98], dtype=float32)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, *,
                 maximize: bool = False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, maximize=maximize))

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        for key in ("alpha", "eps", "momentum"):
            if group[key] < 0:
                raise ValueError(f"RMSprop: invalid {key}={group[key]} (expected >= 0)")

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, alpha, eps, wd = group["lr"], group["alpha"], group["eps"], group["weight_decay"]
        mom, centered, maximize = group["momentum"], group["centered"], group["maximize"]
        nbuf = 2 if (wd != 0 or maximize) else 1
        for p, d, g in self._params_with_grad(group):
            T = d.dtype.type
            bufs = self._buffers(p, d, nbuf)
            s = bufs[0]
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["square_avg"] = xp.zeros_like(d)
            if mom > 0 and "momentum_buffer" not in state:
                state["momentum_buffer"] = xp.zeros_like(d)
            if centered and "grad_avg" not in state:
                state["grad_avg"] = xp.zeros_like(d)
            state["step"] += 1
            v = state["square_avg"]

            u = direction(g, d, wd, maximize, bufs[nbuf - 1])
            v *= T(alpha)                                # v += (1 - alpha) * u * u
            xp.multiply(u, T(1.0 - alpha), out=s)
            s *= u
            v += s
            if centered:
                gavg = state["grad_avg"]
                lerp_(gavg, u, 1.0 - alpha, s)
                xp.multiply(gavg, gavg, out=s)
                xp.subtract(v, s, out=s)
                xp.sqrt(s, out=s)
            else:
                xp.sqrt(v, out=s)
            s += T(eps)
            xp.divide(u, s, out=s)
            if mom > 0:
                buf = state["momentum_buffer"]
                buf *= T(mom)
                buf += s
                xp.multiply(buf, T(-lr), out=s)
            else:
                s *= T(-lr)
            d += s
