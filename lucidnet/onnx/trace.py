"""One forward pass of a model with its ops recorded, each op tagged with the layer that applied it.

Layers of the types in ``whole`` (the quantized layers, whose int8 kernels run outside lucidnet's ops) are
recorded as one op each: its kind is the layer's class, its node the layer itself, its inputs and keyword
arguments those of the call, its output the first tensor the layer returns (all of them in ``attrs["outputs"]``);
the ops the layer applies inside are not recorded, since its converter writes the layer whole.

>>> import lucidnet as ln
>>> net = ln.nn.Sequential(ln.nn.Linear(3, 2), ln.nn.ReLU())
>>> run = trace(net, (ln.ones(4, 3),))
>>> [(op.kind.__name__, op.layer) for op in run.ops]
[('Linear', '0 (Linear)'), ('ReLU', '1 (ReLU)')]
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..autograd import tracing, version
from ..autograd.grad_mode import no_grad
from ..nn import Module
from ..tensor import Tensor
from .errors import OnnxExporterError

__all__ = ["Op", "Run", "trace", "layer_name"]


@dataclass(eq=False)
class Op:
    """One applied op: its Function class, the node that ran it, its inputs and attributes (tensors as their
    arrays), its output array, the layer that applied it, the version counters of the arrays it read and wrote
    (``versions``: id -> count, as they were when it ran) and ``twin``: the same op in the second trace."""
    kind: type
    node: Any
    inputs: tuple
    attrs: dict
    out: Any
    layer: str
    versions: dict = field(default_factory=dict)
    twin: "Op | None" = None

    @property
    def name(self) -> str:
        return self.kind.__name__


@dataclass
class Run:
    """The ops of one forward pass, and the arrays of its inputs and (flattened) outputs."""
    ops: list
    inputs: list
    outputs: list = field(default_factory=list)


def layer_name(path: str, module: Module) -> str:
    """``features.3 (Conv2d)``; the model itself is ``the model (MLP)``."""
    return f"{path} ({type(module).__name__})" if path else f"the model ({type(module).__name__})"


class _Tagged(list):
    """The recording's list: each op is kept with the innermost layer running when it was applied."""

    def __init__(self, stack: list):
        super().__init__()
        self.stack = stack

    def append(self, applied) -> None:
        a = applied
        inputs, attrs = tuple(_array(x) for x in a.inputs), {k: _array(v) for k, v in a.attrs.items()}
        arrays = [x for x in (*inputs, *attrs.values(), a.out.array) if isinstance(x, np.ndarray)]
        super().append(Op(a.op, a.node, inputs, attrs, a.out.array, self.stack[-1],
                          {id(x): version.version(x) for x in arrays}))


def _array(x: Any) -> Any:
    return x.array if isinstance(x, Tensor) else x


def _leaves(out: Any) -> list:
    """The tensors of a forward's result (a tensor, or tuples, lists and dicts of them), in order."""
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _leaves(o)]
    return []


def trace(model: Module, args: tuple, whole: tuple = ()) -> Run:
    """Run ``model(*args)`` under ``no_grad`` with every op recorded (the model's mode is left as it is);
    layers of the types ``whole`` are recorded as one op each."""
    stack = [layer_name("", model)]
    patched = []
    for path, m in model.named_modules():
        if path:
            patched.append((m, m.__dict__.get("forward")))
            m.__dict__["forward"] = _tagging(m.forward, layer_name(path, m), stack,
                                             m if isinstance(m, whole) else None)
    try:
        with no_grad(), tracing.recording(_Tagged(stack)) as ops:
            out = model(*args)
    finally:
        for m, old in patched:
            if old is None:
                del m.__dict__["forward"]
            else:
                m.__dict__["forward"] = old
    return Run(list(ops), [a.array for a in args], [t.array for t in _leaves(out)])


def _tagging(forward, name: str, stack: list, layer: Module | None = None):
    def tagged(*args, **kwargs):
        stack.append(name)
        try:
            if layer is None or not tracing.LISTENERS:
                return forward(*args, **kwargs)
            with tracing.recording():  # the layer's own ops: its converter writes the layer whole
                out = forward(*args, **kwargs)
            outs = _leaves(out)
            if not outs:
                raise OnnxExporterError(f"layer {name} returned no tensor; the exporter cannot follow it")
            tracing.note(type(layer), layer, args, {**kwargs, "outputs": [t.array for t in outs]}, outs[0])
            return out
        finally:
            stack.pop()
    return tagged
