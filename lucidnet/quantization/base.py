"""What the quantized layers share: int8 weights kept as buffers (so they save and load with the model),
their kernel-ready form rebuilt when the buffers change, and the rule that they are inference-only."""
from __future__ import annotations

from typing import Any

from ..autograd.grad_mode import is_grad_enabled
from ..autograd.version import version
from ..backend import xp
from ..kernels.qlinear import Int8Weight, quantize_weight
from ..nn import Module
from ..tensor import Tensor, from_numpy

__all__ = ["QDType", "qint8", "quint8", "QuantizedModule", "check_input", "replace_modules"]


class QDType:
    """A quantized dtype: ``lucidnet.qint8`` (signed 8-bit, the weights) or ``lucidnet.quint8`` (unsigned,
    the activations), as PyTorch's ``torch.qint8`` / ``torch.quint8``."""

    def __init__(self, name: str, storage: str):
        self.name, self.storage = name, xp.dtype(storage)

    def __repr__(self) -> str:
        return f"lucidnet.{self.name}"


qint8 = QDType("qint8", "int8")
quint8 = QDType("quint8", "uint8")


class QuantizedModule(Module):
    """Base of the quantized layers: ``self._int8(name)`` is the :class:`Int8Weight` of the int8 buffer
    ``name`` with its per-row scales in ``name + "_scale"``, rebuilt after ``load_state_dict`` changes them."""

    def __init__(self) -> None:
        super().__init__()
        self._cache: dict[str, tuple] = {}

    def _set_int8(self, name: str, w: Any) -> None:
        """Quantize float weight ``w`` (rows = output channels; any trailing dims are flattened) into the
        buffers ``name`` (int8) and ``name_scale`` (float32)."""
        w = xp.asarray(w, dtype=xp.float32)
        q, s = quantize_weight(w.reshape(w.shape[0], -1), 0)
        self.register_buffer(name, from_numpy(q.reshape(w.shape)))
        self.register_buffer(name + "_scale", from_numpy(s))

    def _int8(self, name: str, order: tuple | None = None) -> Int8Weight:
        """The kernel-ready weight; ``order``: the axes of the int8 buffer in the order the product reads its
        columns (a convolution's (O, kH, kW, C) for im2col's columns)."""
        q, s = getattr(self, name).array, getattr(self, name + "_scale").array
        key = (id(q), version(q), id(s), version(s))
        hit = self._cache.get(name)
        if hit is None or hit[0] != key:
            rows = q if order is None else q.transpose(order)
            hit = self._cache[name] = (key, Int8Weight(xp.ascontiguousarray(rows).reshape(q.shape[0], -1), s))
        return hit[1]

    def _dequantized(self, name: str):
        """The float32 weight buffer ``name`` stands for (cached like :meth:`_int8`)."""
        key = ("float", name)
        w = self._int8(name)
        hit = self._cache.get(key)
        if hit is None or hit[0] is not w:
            hit = self._cache[key] = (w, w.dequantize().reshape(getattr(self, name).shape))
        return hit[1]

    def _who(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


def check_input(module: QuantizedModule, x: Any, last: int, dim: int = -1, layout: str = "") -> Tensor:
    """``x`` as a float32 Tensor whose dim ``dim`` is ``last`` (and, with ``layout``, of that many dims), that needs
    no gradient; clear errors otherwise."""
    who = module._who()
    if not isinstance(x, Tensor):
        raise TypeError(f"{who}: expected a Tensor, got {type(x).__name__}")
    if x.dtype != xp.float32:
        raise TypeError(f"{who}: expected float32 input, got {x.dtype} (quantized layers run float32 activations)")
    if layout and x.ndim != len(layout.split(",")):
        raise ValueError(f"{who}: got input of shape {tuple(x.shape)}; expected shape {layout}")
    if not x.shape or x.shape[dim] != last:
        want = f"{layout} with {last} channels at dim {dim}" if layout else f"(..., {last})"
        raise ValueError(f"{who}: got input of shape {tuple(x.shape)}; expected shape {want}")
    if x.requires_grad and is_grad_enabled():
        raise RuntimeError(f"{who}: a quantized layer is inference-only and gives no gradient, but its input requires "
                           "grad; run it under lucidnet.no_grad() (or lucidnet.inference(model))")
    return x


def replace_modules(model: Module, convert, sealed: tuple = ()) -> Module:
    """Replace every submodule ``m`` (named ``name``) for which ``convert(name, m)`` returns a module;
    children of a replaced module, and of a module of a ``sealed`` type, are not visited."""
    def walk(parent: Module, prefix: str) -> None:
        for child_name, child in list(parent.named_children()):
            name = prefix + child_name
            new = convert(name, child)
            if new is not None:
                setattr(parent, child_name, new)
            elif not isinstance(child, sealed):
                walk(child, name + ".")
    walk(model, "")
    return model
