"""``nn.utils``: gradient clipping in place on ``p.grad``, by global norm or by value (PyTorch's
``torch.nn.utils.clip_grad_norm_`` and ``clip_grad_value_``), and freezing parameters for fine-tuning
(``freeze``, ``unfreeze``)."""
from __future__ import annotations

import math
from typing import Any, Iterable

from ..backend import xp
from ..tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "freeze", "unfreeze"]


def _grads(parameters) -> list:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad.array for p in parameters if p.grad is not None]


def _norm(g, p: float) -> float:
    """The ``p``-norm of one gradient array, as a Python float (computed in the array's dtype)."""
    if g.size == 0:
        return 0.0
    if p == 2.0:
        flat = g.reshape(-1)
        n = math.sqrt(float(xp.dot(flat, flat)))   # one pass, no temporary
        if n == 0.0 or math.isinf(n):                    # the squares may have under/overflowed: rescale
            scale = float(max(flat.max(), -flat.min()))
            if scale == 0.0 or not math.isfinite(scale):
                return n
            r = flat / flat.dtype.type(scale)
            return scale * math.sqrt(float(xp.dot(r, r)))
        return n
    if math.isinf(p):
        return float(max(g.max(), -g.min())) if p > 0 else float(xp.abs(g).min())
    if p == 0:
        return float(xp.count_nonzero(g))
    if p == 1.0:
        return float(xp.abs(g).sum())
    return float((xp.abs(g) ** p).sum()) ** (1.0 / p)


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Scale all gradients together so that their joint ``norm_type``-norm is at most ``max_norm``.

    The norm is taken over all gradients as if they were one vector; when it exceeds ``max_norm`` every
    gradient is multiplied in place by ``max_norm / (norm + 1e-6)``. Returns the norm before clipping,
    as a 0-d tensor of the gradients' dtype (as PyTorch).

    >>> import lucidnet as ln
    >>> w = ln.tensor([0.0, 0.0], requires_grad=True)
    >>> w.grad = ln.tensor([3.0, 4.0])
    >>> float(ln.nn.utils.clip_grad_norm_([w], max_norm=1.0))
    5.0
    >>> w.grad.numpy().round(4)
    array([0.6, 0.8], dtype=float32)
    """
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return Tensor._make(xp.zeros((), dtype=xp.float32), None)
    with xp.errstate(over="ignore", under="ignore"):       # overflow of the squares is handled in _norm
        norms = [_norm(g, norm_type) for g in grads]
    if math.isinf(norm_type):
        total = max(norms) if norm_type > 0 else min(norms)
    elif norm_type == 0:
        total = sum(norms)
    else:
        total = sum(n ** norm_type for n in norms) ** (1.0 / norm_type)
    dtype = xp.result_type(*[g.dtype for g in grads])
    total = float(dtype.type(total))                        # the norm as the gradients' dtype holds it
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {total}, "
                           "so they cannot be clipped. Pass error_if_nonfinite=False to scale them anyway.")
    coef = max_norm / (total + 1e-6)
    if not coef >= 1.0:                                     # also true for nan, which spreads as in PyTorch
        for g in grads:
            g *= coef
    return Tensor._make(xp.asarray(total, dtype=dtype), None)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element to ``[-clip_value, clip_value]``, in place.

    >>> import lucidnet as ln
    >>> w = ln.tensor([0.0, 0.0], requires_grad=True)
    >>> w.grad = ln.tensor([-3.0, 0.5])
    >>> ln.nn.utils.clip_grad_value_([w], 1.0); w.grad
    tensor([-1.0000,  0.5000])
    """
    clip_value = float(clip_value)
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    for g in _grads(parameters):
        xp.clip(g, -clip_value, clip_value, out=g)


def _select(module: Any, names: tuple[str, ...], who: str) -> list:
    params = list(module.named_parameters())
    if not names:
        return [p for _, p in params]
    unknown = [n for n in names if not any(k == n or k.startswith(n + ".") for k, _ in params)]
    if unknown:
        raise ValueError(f"{who}: {type(module).__name__} has no parameters under {', '.join(map(repr, unknown))}")
    return [p for k, p in params if any(k == n or k.startswith(n + ".") for n in names)]


def freeze(module: Any, *names: str) -> Any:
    """Stop training ``module``'s parameters (``requires_grad=False``): all of them, or those under the
    submodules or parameters ``names`` (dotted, as in ``named_parameters``). Returns the module.

    >>> from lucidnet import nn
    >>> m = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    >>> [p.requires_grad for p in freeze(m, "0").parameters()]
    [False, False, True, True]
    """
    for p in _select(module, names, "freeze"):
        p.requires_grad_(False)
    return module


def unfreeze(module: Any, *names: str) -> Any:
    """Train ``module``'s parameters again (all of them, or those under ``names``); the inverse of :func:`freeze`."""
    for p in _select(module, names, "unfreeze"):
        p.requires_grad_(True)
    return module
