"""``Parameter``: a tensor that a ``Module`` registers as trainable when it is assigned as an attribute."""
from __future__ import annotations

from typing import Any

from ..backend import xp
from ..tensor import Tensor, to_array, get_default_dtype


class Parameter(Tensor):
    """A leaf tensor that requires grad (by default) and is collected by ``Module.parameters()``.

    The data keeps its dtype: a float64 array or tensor gives a float64 parameter, Python numbers give
    the default float (float32). A tensor or NumPy array is used without a copy, as in PyTorch.

    >>> import lucidnet as ln
    >>> p = ln.nn.Parameter(ln.zeros(2, 3))
    >>> p.requires_grad, p.dtype, p.shape
    (True, dtype('float32'), (2, 3))
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True):
        if data is None:
            arr = xp.empty((0,), dtype=get_default_dtype())
        elif isinstance(data, Tensor):
            arr = data.array  # shares memory; the parameter is a new leaf either way
        elif isinstance(data, xp.ndarray):
            arr = data
        else:
            arr = to_array(data)
        self._fields(arr)
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return f"Parameter containing:\n{Tensor.__repr__(self)}"

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self.array, self.requires_grad, self.grad))


def _rebuild_parameter(data, requires_grad: bool, grad) -> Parameter:
    p = Parameter(data, requires_grad=requires_grad)
    p.grad = grad
    return p
