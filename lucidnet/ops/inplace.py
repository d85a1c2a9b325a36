"""In-place updates of tensors with PyTorch's rules (``x += y``, ``add_``, ``mul_``, ``clamp_``, ``copy_``...).

- Nothing to record (under ``no_grad()``, or no tensor involved requires grad): the tensor's memory is
  written in place (views of it see the change) and its storage's version counter moves, so a graph that
  saved the old values raises at backward instead of computing a wrong gradient.
- A leaf that requires grad, while the graph is recorded: an error (PyTorch's rule; an optimizer's update
  goes under ``no_grad()``).
- Otherwise (a computed tensor, or one that takes a value that requires grad): the op is recorded and the
  tensor now holds its result and its place in the graph, as PyTorch's in-place ops do. lucidnet gives it
  new memory rather than writing the old, so it refuses where that would differ from PyTorch: a tensor
  that recorded ops have already used, and a view of another tensor.

>>> import lucidnet as ln
>>> w = ln.tensor([1.0, 2.0], requires_grad=True)
>>> (w * w).sum().backward()
>>> with ln.no_grad():
...     w -= 0.5 * w.grad
>>> w
tensor([0., 0.], requires_grad=True)
"""
from __future__ import annotations

from typing import Any, Callable

from ..autograd import tracing, version
from ..autograd.grad_mode import is_grad_enabled
from ..backend import xp

__all__ = ["update", "replace_with", "apply", "value_of", "Assign"]


class Assign:
    """What a recording (``autograd.tracing``) notes an in-place change as: the tensor now holds the values of
    input 0, which recorded ops computed out of place (``recompute``)."""


def value_of(o: Any):
    """The array or number an operand stands for."""
    return getattr(o, "array", o)


def _write(t, op: str, mutate: Callable, others: tuple) -> None:
    a = t.array
    try:
        with xp.errstate(all="ignore"):
            mutate(a)
    except TypeError as e:
        if "cast" not in str(e):
            raise
        kinds = ", ".join(str(xp.result_type(value_of(o))) for o in others)
        raise RuntimeError(f"{op}: the result ({kinds} with {a.dtype}) cannot be written into a tensor of dtype "
                           f"{a.dtype} in place") from None
    except ValueError as e:
        if "read-only" in str(e):  # PyTorch fills an expanded tensor (one value everywhere), refuses the rest
            raise RuntimeError(f"{op}: {unwritable(a, whole=op not in ('fill_', 'zero_'))}") from None
        if "broadcast" not in str(e):
            raise
        shapes = " and ".join(str(tuple(xp.shape(value_of(o)))) for o in others)
        raise RuntimeError(f"{op}: an operand of shape {shapes} does not broadcast to the tensor's shape "
                           f"{tuple(a.shape)}; in place, the result must keep that shape") from None
    version.bump(a)


def unwritable(a, whole: bool = True) -> str:
    """Why an in-place change cannot be written into ``a``: in PyTorch's words for a change of a whole tensor
    (``whole``) whose elements share memory, in lucidnet's for a write into part of one (which PyTorch may allow)."""
    if 0 in a.strides and a.size > 1:
        if whole:
            return ("unsupported operation: more than one element of the written-to tensor refers to a single "
                    "memory location (an expand() or broadcast view); clone() the tensor before changing it in place")
        return ("the tensor is an expand() or broadcast view, which lucidnet cannot write into; clone() it first, "
                "or write into the tensor it expands")
    return ("the tensor's memory is a read-only NumPy array (from_numpy or as_tensor of one); copy it "
            "(clone(), or tensor(array)) before changing it in place")


def update(t, op: str, mutate: Callable, recompute: Callable, *others: Any):
    """Change tensor ``t`` in place by ``op`` (its PyTorch name, for errors).

    ``mutate(array)`` writes the new values into ``t``'s array; ``recompute(old)`` returns them as a new
    tensor computed from ``old`` (a tensor standing for ``t`` before the change) with recorded ops.
    ``others``: the other operands (tensors among them may require grad). Returns ``t``."""
    from ..tensor import Tensor

    recording = is_grad_enabled() and (t.requires_grad or any(isinstance(o, Tensor) and o.requires_grad
                                                               for o in others))
    if not recording:
        if tracing.LISTENERS:  # a recording follows values: the new ones computed by recorded ops, then written
            new = recompute(Tensor._make(t.array, None))
            _write(t, op, lambda a: xp.copyto(a, new.array, casting="same_kind"), others)
            return tracing.noted(Assign, (new,), {}, t)
        _write(t, op, mutate, others)
        return t
    if t.requires_grad and t._node is None:
        raise RuntimeError(f"{op}: a leaf tensor that requires grad cannot be changed in place while the graph is "
                           "recorded; change it under lucidnet.no_grad() (as an optimizer does), or use the "
                           "out-of-place op")
    if t._uses:
        raise RuntimeError(f"{op}: this tensor is already an input of {t._uses} recorded op(s), which would see "
                           "the new values in PyTorch and the old ones in lucidnet; use the out-of-place op")
    if t._view:
        raise RuntimeError(f"{op}: this tensor is a view of another tensor, which would change with it in "
                           "PyTorch but not in lucidnet while the graph is recorded; use the out-of-place op, or "
                           "clone() the view first")
    old = Tensor._make(t.array, t._node)
    old.requires_grad = t.requires_grad
    new = recompute(old)
    if new.shape != t.shape:
        raise RuntimeError(f"{op}: the result has shape {tuple(new.shape)}, not the tensor's shape "
                           f"{tuple(t.shape)}; in place, the result must keep the tensor's shape")
    if new.dtype != t.dtype:
        raise RuntimeError(f"{op}: the result has dtype {new.dtype}, which cannot be written into a tensor of "
                           f"dtype {t.dtype} in place")
    t.array, t._node, t.requires_grad, t._view = new.array, new._node, new.requires_grad, False
    return t


def replace_with(t, op: str, fn: Callable):
    """``t`` changed in place to ``fn(t)``, for ``fn`` an out-of-place op of lucidnet: the in-place form of any
    op (``relu_``, ``inplace=True`` layers), with the rules of :func:`update`."""
    from ..tensor import Tensor

    def mutate(a):
        xp.copyto(a, fn(Tensor._make(a, None)).array)

    return update(t, op, mutate, fn)


def apply(x, fn: Callable, inplace: bool, name: str):
    """``fn(x)``, or with ``inplace`` written into ``x`` (PyTorch's ``inplace=True`` of layers and functions)."""
    return replace_with(x, name, fn) if inplace else fn(x)
