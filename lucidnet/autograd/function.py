"""The node of the graph: a differentiable op with its forward and its backward side by side.

An op subclasses :class:`Function` and writes two methods on plain arrays:

- ``forward(self, *arrays, **attrs) -> array``: computes the output and saves on ``self`` what the
  backward needs. Attributes (axis, stride, ...) are explicit keyword arguments.
- ``backward(self, grad) -> tuple``: one gradient (or None) per positional input, each of that
  input's shape. ``self.needs[i]`` says whether input ``i`` wants a gradient, so work can be skipped.

In-place changes: a node notes the version counters of the input arrays its backward reads when it is
recorded (see ``version.py`` and ``Function.saves_inputs``), and backward checks them.

PyTorch's style is accepted too: a subclass whose ``forward(ctx, *tensors)`` and ``backward(ctx, *grads)``
are static methods works on tensors, saves them with ``ctx.save_for_backward`` and reads
``ctx.saved_tensors`` and ``ctx.needs_input_grad`` (see :class:`Context`); it has one output.

Ownership rule (what lets the engine accumulate in place): a gradient that ``backward`` returns
may be written to by the engine when it owns its memory and is not ``grad`` itself, so it must be
a fresh array, ``grad`` itself, or a view of ``grad``; never an array saved from the forward.
"""
from __future__ import annotations

import inspect
from typing import Any

from ..backend import xp
from . import tracing, version
from .grad_mode import is_grad_enabled

_ctx_style: dict[type, bool] = {}  # Function class -> whether its forward is a PyTorch-style staticmethod


def _is_ctx_style(cls: type) -> bool:
    """Whether ``cls.forward`` is a staticmethod taking ``ctx`` (looked up once per class: the lookup costs
    more than a small op's Python dispatch)."""
    style = _ctx_style.get(cls)
    if style is None:
        style = _ctx_style[cls] = isinstance(inspect.getattr_static(cls, "forward"), staticmethod)
    return style


class Function:
    """Base class of every differentiable op; call ``Op.apply(*inputs, **attrs)``."""

    parents: tuple
    needs: tuple
    # whose values backward reads (their versions are checked): True all inputs; False none (addition);
    # "product": a product of the first two inputs, each read for the other's gradient (d(a*b)/da = b), and
    # further inputs (a bias) not read
    saves_inputs: bool | str = True
    saves_output = False  # True: backward reads the output's values (exp, tanh, softmax...)
    versions: tuple = ()

    def forward(self, *args: Any, **attrs: Any):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad):  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Any, **attrs: Any):
        from ..tensor import Tensor

        if _is_ctx_style(cls):
            return _apply_with_context(cls, inputs, attrs)

        arrays = [t.array if isinstance(t, Tensor) else t for t in inputs]
        fn = cls()
        if is_grad_enabled():
            needs = tuple(isinstance(t, Tensor) and t.requires_grad for t in inputs)
            if any(needs):
                fn.needs = needs
                out = fn.forward(*arrays, **attrs)
                if cls.saves_inputs == "product":
                    fn.versions = version.snapshot([arrays[0] if needs[1] else None, arrays[1] if needs[0] else None])
                elif cls.saves_inputs:
                    fn.versions = version.snapshot(arrays)
                if cls.saves_output:
                    fn.versions += tuple((-1, r, v) for _, r, v in version.snapshot([out]))
                _link(fn, inputs, needs)
                res = Tensor._make(out, fn)
                if isinstance(out, xp.ndarray) and out.base is not None:  # a view of an input? (in-place ops ask)
                    res._view = any(isinstance(a, xp.ndarray) and xp.may_share_memory(out, a) for a in arrays)
                if tracing.LISTENERS:
                    tracing.note(cls, fn, inputs, attrs, res)
                return res
        fn.needs = (False,) * len(inputs)
        res = Tensor._make(fn.forward(*arrays, **attrs), None)
        if tracing.LISTENERS:
            tracing.note(cls, fn, inputs, attrs, res)
        return res

    def release(self) -> None:
        """Free what the forward saved; a second backward through this node then raises."""
        parents = self.parents
        self.__dict__.clear()
        self.parents = parents
        self.freed = True

    freed = False

    @property
    def name(self) -> str:
        return type(self).__name__


class Context:
    """The ``ctx`` of a PyTorch-style Function: ``save_for_backward(*tensors)``, ``saved_tensors``,
    ``needs_input_grad``, and any attribute you set in ``forward`` for ``backward`` to read."""

    def __init__(self, needs: tuple):
        self.needs_input_grad = needs
        self._saved: tuple = ()

    def save_for_backward(self, *tensors: Any) -> None:
        self._saved = tensors

    @property
    def saved_tensors(self) -> tuple:
        return self._saved

    def mark_non_differentiable(self, *outputs: Any) -> None:
        raise NotImplementedError("mark_non_differentiable: lucidnet's PyTorch-style Functions have one "
                                  "differentiable output")

    def set_materialize_grads(self, value: bool) -> None:
        if not value:
            raise NotImplementedError("set_materialize_grads(False): lucidnet always passes a gradient tensor")


class _ContextNode(Function):
    """The graph node of a PyTorch-style Function: calls its static ``backward(ctx, grad)`` on tensors."""

    def backward(self, g):
        from ..tensor import Tensor
        from .grad_mode import no_grad

        cls, ctx = self.fn, self.ctx
        with no_grad():
            grads = cls.backward(ctx, Tensor._make(g, None))
        if not isinstance(grads, tuple):
            grads = (grads,)
        if len(grads) != len(self.needs):
            raise RuntimeError(f"{cls.__name__}.backward returned an incorrect number of gradients (expected "
                               f"{len(self.needs)}, got {len(grads)})")
        out = []
        for i, (gr, need) in enumerate(zip(grads, self.needs)):
            if gr is None or not need:
                out.append(None)
                continue
            arr = gr.array if isinstance(gr, Tensor) else xp.asarray(gr)
            if arr.shape != self.shapes[i]:
                raise RuntimeError(f"{cls.__name__}.backward: the gradient of input {i} has shape {arr.shape}, "
                                   f"the input has shape {self.shapes[i]}")
            out.append(arr)
        return tuple(out)

    def release(self) -> None:
        fn = self.fn
        super().release()
        self.fn = fn  # the name stays

    @property
    def name(self) -> str:
        return f"{self.fn.__name__}Backward"


def _link(node: Function, inputs: tuple, needs: tuple) -> None:
    """Make ``node`` a child of the inputs that need a gradient (and count the use, for in-place rules)."""
    node.parents = tuple(t if n else None for t, n in zip(inputs, needs))
    for t in node.parents:
        if t is not None:
            t._uses += 1


def _apply_with_context(cls, inputs: tuple, attrs: dict):
    """``cls.apply(*inputs)`` for a PyTorch-style Function (static ``forward(ctx, ...)``/``backward(ctx, ...)``)."""
    from ..tensor import Tensor
    from .grad_mode import no_grad

    if attrs:
        raise TypeError(f"{cls.__name__}.apply takes positional arguments only (PyTorch's Function.apply), got "
                        f"{', '.join(attrs)}")
    needs = tuple(isinstance(t, Tensor) and t.requires_grad for t in inputs)
    ctx = Context(needs)
    with no_grad():
        out = cls.forward(ctx, *[t.detach() if isinstance(t, Tensor) else t for t in inputs])
    if not isinstance(out, Tensor):
        raise TypeError(f"{cls.__name__}.forward must return one Tensor (lucidnet's PyTorch-style Functions have "
                        f"one output), got {type(out).__name__}")
    if not (is_grad_enabled() and any(needs)):
        return Tensor._make(out.array, None)
    node = _ContextNode()
    node.fn, node.ctx, node.needs = cls, ctx, needs
    node.shapes = tuple(tuple(t.shape) if isinstance(t, Tensor) else () for t in inputs)
    node.versions = version.snapshot([t.array for t in ctx.saved_tensors if isinstance(t, Tensor)])
    _link(node, inputs, needs)
    return Tensor._make(out.array, node)


def unbroadcast(grad, shape: tuple):
    """Sum ``grad`` over the axes that broadcasting added or stretched, back to ``shape``."""
    if grad.shape == shape:
        return grad
    nd = grad.ndim - len(shape)
    axes = tuple(range(nd)) + tuple(i + nd for i, s in enumerate(shape) if s == 1 and grad.shape[i + nd] != 1)
    out = grad.sum(axis=axes, keepdims=True) if axes else grad
    if nd:
        out = out.reshape(out.shape[nd:])
    return out.reshape(shape) if out.shape != shape else out


def zeros_like_data(a):
    return xp.zeros_like(a)
