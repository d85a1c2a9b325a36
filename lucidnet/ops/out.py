"""PyTorch's ``out=`` argument: the result written into a given tensor (``torch.add(a, b, out=c)``).

As in PyTorch, ``out`` takes the result's shape (it is resized when its shape differs), must be able to
hold the result's dtype, and is refused while the graph is recorded for an input that requires grad
("functions with out=... arguments don't support automatic differentiation").

>>> import lucidnet as ln
>>> c = ln.empty(2)
>>> ln.add(ln.ones(2), ln.ones(2), out=c) is c, c.tolist()
(True, [2.0, 2.0])
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from ..autograd import version
from ..autograd.grad_mode import is_grad_enabled
from ..backend import xp

__all__ = ["with_out"]


def _requires_grad(values: Any) -> bool:
    from ..tensor import Tensor
    for v in values:
        if isinstance(v, Tensor) and v.requires_grad:
            return True
        if isinstance(v, (list, tuple)) and _requires_grad(v):
            return True
    return False


def with_out(fn: Callable) -> Callable:
    """``fn`` with PyTorch's ``out=`` keyword."""

    @functools.wraps(fn)
    def wrapper(*args: Any, out: Any = None, **kwargs: Any):
        if out is None:
            return fn(*args, **kwargs)
        from ..tensor import Tensor
        name = fn.__name__
        if not isinstance(out, Tensor):
            raise TypeError(f"{name}: out= must be a Tensor, got {type(out).__name__}")
        if is_grad_enabled() and (_requires_grad(args) or _requires_grad(kwargs.values()) or out.requires_grad):
            raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                               "differentiation, but one of the arguments requires grad")
        res = fn(*args, **kwargs)
        if not xp.can_cast(res.dtype, out.dtype, casting="same_kind"):
            raise RuntimeError(f"{name}: result type {res.dtype} can't be cast to the desired output type {out.dtype}")
        if out.shape != res.shape:
            out.array = xp.empty(res.shape, dtype=out.dtype)
        xp.copyto(out.array, res.array, casting="same_kind")
        version.bump(out.array)
        return out

    return wrapper
