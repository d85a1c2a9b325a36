"""``summary(model, input_shape)``: the layers of a model with their output shapes, parameters (trainable
and frozen), the dtype and size of their weights (a quantized layer's int8 buffers included), FLOPs and
activation memory, from one forward pass on zeros. ``Module.summary`` calls it;
``lucidnet.inspect`` exports it.

FLOPs count a multiply-add as two operations (``Linear(784, 512)`` on one sample: 2 * 784 * 512 plus
512 for the bias). Elementwise layers (activations, normalisation) count one operation per output
element; reshapes and dropout count none. Layers of other kinds show ``?`` unless a rule is registered
for them with :func:`register_flops`. Activation memory is the size of every layer's output for the
given batch (outputs that are views of their input, like ``Flatten``'s, cost nothing): what a training
forward pass keeps for the backward, roughly.

>>> import lucidnet as ln
>>> net = ln.nn.Sequential(ln.nn.Flatten(), ln.nn.Linear(784, 32), ln.nn.ReLU(), ln.nn.Linear(32, 10))
>>> s = summary(net, (1, 28, 28))
>>> [r.output_shape for r in s.rows]
[(1, 784), (1, 32), (1, 32), (1, 10)]
>>> s.total_params, s.trainable_params, s.frozen_params
(25450, 25450, 0)
>>> print(s)
Sequential: input (1, 1, 28, 28) float32
Layer (type)  Output shape  Params  Frozen    Dtype     Size   FLOPs  Act. memory
---------------------------------------------------------------------------------
0 (Flatten)   (1, 784)           0       0        -      0 B       0          0 B
1 (Linear)    (1, 32)       25,120       0  float32   98 KiB  50.2 k        128 B
2 (ReLU)      (1, 32)            0       0        -      0 B      32        128 B
3 (Linear)    (1, 10)          330       0  float32  1.3 KiB     650         40 B
---------------------------------------------------------------------------------
Total params: 25,450 (99 KiB)
Trainable params: 25,450
Frozen params: 0
FLOPs per forward pass: 50.9 k
Activation memory: 296 B
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .. import nn
from ..limits import check_shape
from ..nn.inference import inference
from ..tensor import Tensor, get_default_dtype

__all__ = ["summary", "Summary", "LayerRow", "register_flops", "format_bytes", "format_count"]

FlopRule = Callable[[Any, tuple, Any], int]
_FLOP_RULES: dict[type, FlopRule] = {}


def register_flops(cls: type) -> Callable[[FlopRule], FlopRule]:
    """Decorator: ``@register_flops(MyLayer)`` over ``fn(module, inputs, output) -> int`` gives the
    FLOPs of one forward of ``MyLayer`` (subclasses included) to ``summary``."""
    def deco(fn: FlopRule) -> FlopRule:
        _FLOP_RULES[cls] = fn
        return fn
    return deco


def _size(x: Any) -> int:
    return int(x.array.size) if isinstance(x, Tensor) else int(np.size(x))


@register_flops(nn.Linear)
def _linear_flops(m: Any, inputs: tuple, out: Any) -> int:
    n = _size(out)
    return 2 * m.in_features * n + (n if m.bias is not None else 0)


def _elementwise(m: Any, inputs: tuple, out: Any) -> int:
    return _size(out)


def _free(m: Any, inputs: tuple, out: Any) -> int:
    return 0


for _cls in (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Softplus, nn.Softmax,
             nn.LogSoftmax):
    register_flops(_cls)(_elementwise)
for _cls in (nn.Flatten, nn.Identity, nn.Dropout):
    register_flops(_cls)(_free)


def _duck_flops(m: Any, inputs: tuple, out: Any) -> int | None:
    """Rules by the shape of the layer, for layers defined elsewhere (convolutions, pooling, norms)."""
    outs = _outputs(out)
    if not outs:
        return None
    n, nd = _size(outs[0]), outs[0].ndim
    k = getattr(m, "kernel_size", None)
    name = type(m).__name__
    if k is not None:
        taps = math.prod(k) if isinstance(k, (tuple, list)) else int(k) ** max(nd - 2, 1)
        cin, cout = getattr(m, "in_channels", None), getattr(m, "out_channels", None)
        if cin is not None and cout is not None and getattr(m, "weight", None) is not None:  # a convolution
            groups = getattr(m, "groups", 1)
            bias = n if getattr(m, "bias", None) is not None else 0
            if "Transpose" in name:  # every input element is scattered through out_channels/groups kernels
                ins = _outputs(inputs)
                return 2 * (_size(ins[0]) if ins else 0) * (cout // groups) * taps + bias
            return 2 * n * (cin // groups) * taps + bias
        return n * taps  # pooling: one operation per tap of every output
    if "Pool" in name:  # adaptive pooling: every input element is read once
        ins = _outputs(inputs)
        return _size(ins[0]) if ins else None
    if hasattr(m, "num_embeddings"):
        return 0  # a lookup
    if "Norm" in name:
        return 2 * n  # normalise, then scale and shift
    return None


def _flops(m: Any, inputs: tuple, out: Any) -> int | None:
    for cls in type(m).__mro__:
        rule = _FLOP_RULES.get(cls)
        if rule is not None:
            return int(rule(m, inputs, out))
    return _duck_flops(m, inputs, out)


@dataclass
class LayerRow:
    """One layer call: ``name`` (dotted, as in ``named_modules``), ``type``, ``output_shape`` (None if the
    layer was not called), ``params``/``frozen`` (its own parameters; frozen ones do not require grad),
    ``flops`` (None: unknown), ``activation_bytes`` (its output's size), ``dtype`` (of its weights: its own
    parameters and saved buffers, ``"int8"`` for a quantized layer's, several joined by ``/``; ``""`` for none)
    and ``bytes`` (their size: what the layer adds to the model file)."""
    name: str
    type: str
    output_shape: tuple | None
    params: int
    frozen: int
    flops: int | None
    activation_bytes: int
    dtype: str = ""
    bytes: int = 0


@dataclass
class Summary:
    """What ``summary`` returns; ``str(summary)`` is the table."""
    model: str
    input_shapes: list
    input_dtypes: list
    rows: list[LayerRow]
    total_params: int
    trainable_params: int
    param_bytes: int
    flops: int
    activation_bytes: int
    unknown_flops: list[str] = field(default_factory=list)
    state_bytes: int = 0

    @property
    def frozen_params(self) -> int:
        return self.total_params - self.trainable_params

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form (for reports)."""
        return {"model": self.model, "input_shapes": [list(s) for s in self.input_shapes],
                "rows": [{**r.__dict__, "output_shape": None if r.output_shape is None else list(r.output_shape)}
                         for r in self.rows],
                "total_params": self.total_params, "trainable_params": self.trainable_params,
                "frozen_params": self.frozen_params, "param_bytes": self.param_bytes,
                "state_bytes": self.state_bytes, "flops": self.flops,
                "activation_bytes": self.activation_bytes, "unknown_flops": list(self.unknown_flops)}

    def __str__(self) -> str:
        head = ["Layer (type)", "Output shape", "Params", "Frozen", "Dtype", "Size", "FLOPs", "Act. memory"]
        body = [[f"{r.name or '(model)'} ({r.type})",
                 "not called" if r.output_shape is None else str(r.output_shape),
                 f"{r.params:,}", f"{r.frozen:,}", r.dtype or "-", format_bytes(r.bytes),
                 "?" if r.flops is None else format_count(r.flops),
                 format_bytes(r.activation_bytes)] for r in self.rows]
        widths = [max(len(x) for x in col) for col in zip(head, *body)]

        def line(cells: list[str]) -> str:
            return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

        rule = "-" * len(line(head))
        ins = ", ".join(f"{tuple(s)} {d}" for s, d in zip(self.input_shapes, self.input_dtypes))
        out = [f"{self.model}: input {ins}", line(head), rule, *(line(b) for b in body), rule]
        out.append(f"Total params: {self.total_params:,} ({format_bytes(self.param_bytes)})")
        if self.state_bytes != self.param_bytes:
            out.append(f"Total size (parameters and saved buffers): {format_bytes(self.state_bytes)}")
        out.append(f"Trainable params: {self.trainable_params:,}")
        out.append(f"Frozen params: {self.frozen_params:,}")
        unknown = f" (not counted: {', '.join(self.unknown_flops)})" if self.unknown_flops else ""
        out.append(f"FLOPs per forward pass: {format_count(self.flops)}{unknown}")
        out.append(f"Activation memory: {format_bytes(self.activation_bytes)}")
        return "\n".join(out)

    def __repr__(self) -> str:
        return str(self)


def format_bytes(n: float) -> str:
    """``"3 KiB"``, ``"1.2 MiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" or abs(n) >= 10 else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


def format_count(n: float) -> str:
    """``"950"``, ``"1.6 M"``, ``"2.3 G"``."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:.0f}"


def _weights(m: Any, first: bool) -> tuple[str, int]:
    """(dtype, bytes) of a layer's own parameters and saved buffers; the bytes counted at its first call only.
    The dtype is that of the ``weight`` when it has one (a quantized layer's int8), else of all of them."""
    own = [t for t in m._parameters.values() if t is not None] + \
        [b for n, b in m._buffers.items() if b is not None and n not in m._non_persistent]
    w = m._parameters.get("weight") if m._parameters.get("weight") is not None else m._buffers.get("weight")
    kinds = [str(w.dtype)] if w is not None else list(dict.fromkeys(str(t.dtype) for t in own))
    return "/".join(kinds), (sum(t.array.nbytes for t in own) if first else 0)


def _outputs(out: Any) -> list:
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _outputs(o)]
    if isinstance(out, dict):
        return [t for o in out.values() for t in _outputs(o)]
    return []


def _is_view(out: Tensor, args: tuple) -> bool:
    """Whether ``out`` shares memory with an input (a reshape): it costs no activation memory."""
    return any(np.may_share_memory(out.array, a.array) for a in _outputs(args))


def _inputs(model: Any, input_shape: Any, input_data: Any, batch_size: int, dtype: Any) -> list:
    if input_data is not None:
        data = list(input_data) if isinstance(input_data, (tuple, list)) else [input_data]
        arrays = [d if isinstance(d, Tensor) else np.asarray(d) for d in data]
        return [a if isinstance(a, Tensor) else Tensor(a, dtype=a.dtype) for a in arrays]
    if input_shape is None:
        raise ValueError(f"summary({type(model).__name__}): give input_shape (one sample's shape, without the "
                         "batch dim, e.g. (1, 28, 28)) or input_data")
    shapes = list(input_shape) if input_shape and isinstance(input_shape[0], (tuple, list)) else [input_shape]
    dt = np.dtype(dtype) if dtype is not None else get_default_dtype()
    out = []
    for s in shapes:
        if not all(isinstance(d, (int, np.integer)) and d >= 0 for d in s):
            raise ValueError(f"summary({type(model).__name__}): input_shape should be a tuple of non-negative ints "
                             f"(one sample, without the batch dim), got {input_shape!r}")
        out.append(Tensor(np.zeros(check_shape((batch_size, *s), dt, f"summary({type(model).__name__})"), dtype=dt),
                          dtype=dt))
    return out


def summary(model: Any, input_shape: Any = None, *, input_data: Any = None, batch_size: int = 1,
            dtype: Any = None) -> Summary:
    """Run ``model`` once (eval mode, no graph) on zeros of shape ``(batch_size, *input_shape)`` and
    tabulate its layers in call order.

    ``input_shape``: one sample's shape without the batch dim, or a list of shapes for a model with
    several inputs. ``input_data``: real inputs instead (arrays or tensors, batch dim included), e.g.
    integer token ids. ``dtype``: of the zeros (the default float dtype unless given).
    Rows are the layers that hold no sub-layers (and any layer with parameters of its own); a layer
    called twice appears twice; parameters never used in the forward pass are listed as ``not called``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"summary: expected a lucidnet nn.Module, got {type(model).__name__}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"summary: batch_size must be a positive int, got {batch_size!r}")
    inputs = _inputs(model, input_shape, input_data, batch_size, dtype)
    names = {id(m): n for n, m in model.named_modules()}
    rows: list[LayerRow] = []
    seen: set[int] = set()

    def hook(m: Any, args: tuple, out: Any) -> None:
        own = [p for p in m._parameters.values() if p is not None]
        first = id(m) not in seen
        seen.add(id(m))
        outs = _outputs(out)
        shape = tuple(outs[0].shape) if outs else ()
        rows.append(LayerRow(names.get(id(m), "?"), type(m).__name__, shape,
                             sum(p.array.size for p in own) if first else 0,
                             sum(p.array.size for p in own if not p.requires_grad) if first else 0,
                             _flops(m, args, out), sum(o.array.nbytes for o in outs if not _is_view(o, args)),
                             *_weights(m, first)))

    shown = [m for _, m in model.named_modules() if not m._modules or any(
        p is not None for p in m._parameters.values())]
    handles = [m.register_forward_hook(hook) for m in shown]
    try:
        with inference(model):
            model(*inputs)
    finally:
        for h in handles:
            h.remove()
    for m in shown:
        own = [p for p in m._parameters.values() if p is not None]
        if id(m) not in seen and own:
            rows.append(LayerRow(names[id(m)], type(m).__name__, None, sum(p.array.size for p in own),
                                 sum(p.array.size for p in own if not p.requires_grad), 0, 0, *_weights(m, True)))
    params = list(model.parameters())
    return Summary(
        model=type(model).__name__, input_shapes=[tuple(t.shape) for t in inputs],
        input_dtypes=[str(t.dtype) for t in inputs], rows=rows,
        total_params=sum(p.array.size for p in params),
        trainable_params=sum(p.array.size for p in params if p.requires_grad),
        param_bytes=sum(p.array.nbytes for p in params),
        state_bytes=sum(t.array.nbytes for _, t in model._state_items()),
        flops=sum(r.flops or 0 for r in rows), activation_bytes=sum(r.activation_bytes for r in rows),
        unknown_flops=[r.name for r in rows if r.flops is None and r.output_shape is not None])
