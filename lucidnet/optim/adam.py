"""Adam and AdamW (Adam with decoupled weight decay)."""
from __future__ import annotations

from typing import Any

from .. import kernels
from ..backend import xp
from ..kernels import optim_numpy
from .optimizer import Optimizer, ParamsT, direction

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam (Kingma & Ba), with PyTorch's update rule.

    ``u = grad + weight_decay * p`` (or, with ``decoupled_weight_decay``, ``p *= 1 - lr * weight_decay``
    and ``u = grad``); ``m = lerp(m, u, 1 - beta1)``; ``v = beta2 * v + (1 - beta2) * u * u``;
    ``p -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)``, with ``v`` replaced by its
    running maximum when ``amsgrad``.

    >>> import lucidnet as ln
    >>> w = ln.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = ln.optim.Adam([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step()
    >>> w.data.numpy().round(4)
    array([ 0.9, -0.9], dtype=float32)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, decoupled_weight_decay=decoupled_weight_decay))

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        name = type(self).__name__
        betas = group["betas"]
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"{name}: invalid betas={betas} (expected two values in [0, 1))")
        if group["eps"] < 0:
            raise ValueError(f"{name}: invalid eps={group['eps']} (expected >= 0)")

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        amsgrad, maximize, decoupled = group["amsgrad"], group["maximize"], group["decoupled_weight_decay"]
        coupled_wd = 0.0 if decoupled else wd
        decay = 1.0 - lr * wd if decoupled and wd != 0 else None
        own_dir = coupled_wd != 0 or maximize    # the direction needs a buffer of its own
        coefficients: dict[int, Any] = {}        # step -> the compiled kernel's coefficients (one array per step)
        nb = None if amsgrad else kernels.compiled("optim")
        for p, d, g in self._params_with_grad(group):
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["exp_avg"] = xp.zeros_like(d)
                state["exp_avg_sq"] = xp.zeros_like(d)
            if amsgrad and "max_exp_avg_sq" not in state:
                state["max_exp_avg_sq"] = xp.zeros_like(d)
            step = state["step"] = state["step"] + 1
            m, v = state["exp_avg"], state["exp_avg_sq"]
            u = direction(g, d, coupled_wd, maximize, self._buffers(p, d, 1)[0]) if own_dir else g
            step_size = lr / (1.0 - beta1 ** step)
            bias_correction2_sqrt = (1.0 - beta2 ** step) ** 0.5
            views = self._flat(nb, p, d, u, m, v)
            if views is not None:  # one compiled pass (the decoupled decay included)
                k = coefficients.get(step)
                if k is None:
                    k = coefficients[step] = xp.array(
                        [1.0 - beta1, 1.0 - (1.0 - beta1), beta2, 1.0 - beta2, -step_size, bias_correction2_sqrt,
                         eps, 1.0 if decay is None else decay], dtype=xp.float32)
                nb.adam_update(*views, k, 1.0 - beta1 < 0.5)
                continue
            if decay is not None:
                xp.multiply(d, d.dtype.type(decay), out=d)
            tmp = self._buffers(p, d, 2 if own_dir else 1)[-1]
            optim_numpy.adam_update(d, u, m, v, 1.0 - beta1, beta2, 1.0 - beta2, -step_size, bias_correction2_sqrt,
                                    eps, tmp, state["max_exp_avg_sq"] if amsgrad else None)


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter): ``p *= 1 - lr * weight_decay`` before the
    Adam step, instead of adding ``weight_decay * p`` to the gradient.

    >>> import lucidnet as ln
    >>> w = ln.tensor([1.0], requires_grad=True)
    >>> opt = ln.optim.AdamW([w], lr=0.1, weight_decay=0.5)
    >>> (w * 0).sum().backward(); opt.step()
    >>> w.data
    tensor([0.9500])
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize, decoupled_weight_decay=True)
