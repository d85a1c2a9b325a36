"""Stochastic gradient descent, with optional momentum (heavy-ball or Nesterov) and weight decay."""
from __future__ import annotations

from typing import Any

from ..backend import xp
from ..kernels import optim_numpy
from .optimizer import Optimizer, ParamsT, direction, flat

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""SGD with PyTorch's update rule.

    With ``u = grad + weight_decay * p`` (``-grad`` when ``maximize``): ``b = u`` on the first step and
    ``b = momentum * b + (1 - dampening) * u`` after; the step follows ``u + momentum * b`` (Nesterov) or
    ``b`` (or ``u`` when ``momentum == 0``): ``p -= lr * step``.

    >>> import lucidnet as ln
    >>> w = ln.tensor([1.0], requires_grad=True)
    >>> opt = ln.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.zero_grad(); (w * w).sum().backward(); opt.step()
    >>> round(float(w.data[0]), 4)
    0.46
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        if group["momentum"] < 0:
            raise ValueError(f"SGD: invalid momentum={group['momentum']} (expected >= 0)")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: Nesterov momentum requires momentum > 0 and dampening == 0, got "
                             f"momentum={group['momentum']}, dampening={group['dampening']}")

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, mom, damp = group["lr"], group["momentum"], group["dampening"]
        wd, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
        own_dir = wd != 0 or maximize            # the direction needs a buffer of its own
        nbuf = 2 if (nesterov and own_dir) else 1
        for p, d, g in self._params_with_grad(group):
            T = d.dtype.type
            bufs = self._buffers(p, d, nbuf)
            s = bufs[0]
            u = direction(g, d, wd, maximize, s)
            if mom != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = xp.array(u, dtype=d.dtype, copy=True)
                else:
                    buf *= T(mom)
                    if damp == 0:
                        buf += u
                    else:                        # nesterov is off here, so u may be scaled in place
                        xp.multiply(u, T(1.0 - damp), out=s)
                        buf += s
                if nesterov:                     # u + momentum * buf
                    t = bufs[1] if u is s else s
                    xp.multiply(buf, T(mom), out=t)
                    xp.add(u, t, out=s)
                    u = s
                else:
                    u = buf
            nb, views = flat(d, u)
            if nb is not None:  # one compiled pass, the same arithmetic
                nb.add_scaled(*views, T(-lr))
            else:
                optim_numpy.add_scaled(d, u, -lr, s)
