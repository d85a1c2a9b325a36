"""Stochastic gradient descent, with optional momentum (heavy-ball or Nesterov) and weight decay."""
from __future__ import annotations

from typing import Any

from .. import kernels
from ..backend import xp
from ..kernels import optim_numpy, threads
from .optimizer import Optimizer, ParamsT, add_scaled, direction

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""SGD with PyTorch's update rule.

    With ``u = grad + weight_decay * p`` (``-grad`` when ``maximize``): ``b = u`` on the first step and
    ``b = momentum * b + (1 - dampening) * u`` after; the step follows ``u + momentum * b`` (Nesterov) or
    ``b`` (or ``u`` when ``momentum == 0``): ``p -= lr * step``. Each ``x + a * t`` of the weight decay, the
    momentum and the step is one fused multiply-add, rounded once, as PyTorch's ``add(t, alpha=a)`` makes it on
    CPU: a float32 trajectory has PyTorch's bits.

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
        k = xp.array([mom, 1.0 - damp, -lr], dtype=xp.float32)  # the compiled kernels' coefficients
        nb = kernels.compiled("optim")
        for p, d, g in self._params_with_grad(group):
            u = direction(g, d, wd, maximize, self._buffers(p, d, 1)[0]) if own_dir else g
            if mom == 0:
                self._add_scaled(nb, p, d, u, lr, k[2:])
                continue
            state = self.state[p]
            buf = state.get("momentum_buffer")
            if buf is None:                      # the first step: the buffer starts as the direction
                buf = state["momentum_buffer"] = xp.empty_like(d)  # in the parameter's memory layout
                xp.copyto(buf, u)
                if nesterov:                     # u + momentum * buf
                    t = self._buffers(p, d, 2 if own_dir else 1)[-1]
                    optim_numpy.fma(buf, mom, u, out=t)
                    buf = t
                self._add_scaled(nb, p, d, buf, lr, k[2:])
                continue
            views = self._flat(nb, p, d, u, buf)
            if views is not None:                # one compiled pass over the buffer and the parameter
                nb.sgd_momentum(*views, k, damp != 0, nesterov)
            else:
                optim_numpy.sgd_momentum(d, u, buf, mom, damp, nesterov, lr, self._buffers(p, d, 1)[0])

    def _add_scaled(self, nb, p, d, u, lr: float, neg_lr) -> None:
        """``d += -lr * u`` (one fused multiply-add): BLAS's saxpy on its threads for a large parameter, else
        :func:`~lucidnet.optim.optimizer.add_scaled` (``neg_lr``: float32 ``[-lr]``)."""
        views = self._flat(nb, p, d, u)
        if views is None or not threads.axpy(-lr, views[1], views[0]):
            add_scaled(d, u, -lr, neg_lr)
