"""Helpers shared by the op modules: operand coercion, axis normalisation."""
from __future__ import annotations

from ..autograd import tracing
from ..backend import xp


def is_float(dt) -> bool:
    return dt.kind == "f"


def data_of(x):
    return x.array if hasattr(x, "_node") else x


def operands(a, b, op: str):
    """Bring two operands of a binary op to arrays/tensors of one dtype, or raise a clear error.

    A Python number or a non-float array takes the dtype of the float tensor beside it; two float
    tensors of different precision are an error (lucidnet never upcasts silently).
    """
    from ..tensor import Tensor

    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    da = a.array.dtype if ta else None
    db = b.array.dtype if tb else None
    if ta and tb:
        if da != db:
            if is_float(da) and is_float(db):
                raise TypeError(f"{op}: mixed dtypes {da} and {db}; convert one explicitly "
                                f"(x.float() or x.double()): lucidnet does not upcast silently")
            # integer/bool with float: the integer side follows the float side, like PyTorch
            if is_float(da):
                b = _converted(b, da)
            elif is_float(db):
                a = _converted(a, db)
            else:
                dt = xp.result_type(da, db)
                a, b = (_converted(a, dt) if da != dt else a, _converted(b, dt) if db != dt else b)
        return a, b
    if ta:
        if isinstance(b, float) and not is_float(da):  # int tensor * 0.5: the default float, not float64
            a = _default_float(a)
            da = a.array.dtype
        return a, _coerce(b, da, op)
    if tb:
        if isinstance(a, float) and not is_float(db):
            b = _default_float(b)
            db = b.array.dtype
        return _coerce(a, db, op), b
    raise TypeError(f"{op}: expected at least one Tensor")


def _default_float(t):
    from ..tensor import get_default_dtype
    return _converted(t, get_default_dtype())


def _converted(t, dtype):
    """``t`` as ``dtype`` (no gradient: the integer side of a mixed op), noted as a cast by a recording."""
    from ..tensor import Tensor
    from .misc import Cast
    return tracing.noted(Cast, (t,), {"dtype": xp.dtype(dtype)}, Tensor._make(t.array.astype(dtype), None))


def _coerce(x, dt, op):
    if isinstance(x, (bool, int, float)):
        if isinstance(x, float) and not is_float(dt):
            return xp.asarray(x, dtype=xp.float32)
        return xp.asarray(x, dtype=dt)
    arr = xp.asarray(x)
    if arr.dtype == dt:
        return arr
    if is_float(arr.dtype) and is_float(dt):
        raise TypeError(f"{op}: mixed dtypes {dt} and {arr.dtype}; convert one explicitly: lucidnet does not upcast silently")
    if is_float(dt) or not is_float(arr.dtype):
        return arr.astype(dt) if not (arr.dtype == xp.bool_ and dt == xp.bool_) else arr
    return arr


def norm_axis(dim, axis, ndim: int):
    """Accept PyTorch's ``dim`` or NumPy's ``axis``; return None or a sorted tuple of non-negative axes."""
    ax = dim if dim is not None else axis
    if ax is None:
        return None
    if isinstance(ax, int):
        ax = (ax,)
    out = []
    for a in ax:
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise IndexError(f"dimension {a} out of range for a tensor with {ndim} dimensions")
        out.append(a % max(ndim, 1))
    if ndim == 0:  # dim 0 (or -1) of a 0-d tensor, as PyTorch allows: the whole (one-element) tensor
        return None
    return tuple(sorted(out))


def keep(keepdim, keepdims) -> bool:
    return bool(keepdim if keepdim is not None else (keepdims or False))
