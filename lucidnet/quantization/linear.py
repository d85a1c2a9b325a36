"""Quantized ``Linear`` layers: ``DynamicQuantizedLinear`` (activations quantized per tensor at each call,
PyTorch's ``torch.ao.nn.quantized.dynamic.Linear``) and ``QuantizedLinear`` (the input's scale and zero point
fixed by calibration: static quantization). Weights int8, per output channel, symmetric; int32 accumulation.

>>> import lucidnet as ln
>>> fc = ln.nn.Linear(8, 4)
>>> q = DynamicQuantizedLinear.from_float(fc)
>>> q
DynamicQuantizedLinear(in_features=8, out_features=4, dtype=qint8)
>>> x = ln.randn(3, 8)
>>> with ln.no_grad():
...     err = float(abs(q(x) - fc(x)).max())
>>> err < 0.05
True
"""
from __future__ import annotations

from typing import Any

from ..backend import xp
from ..kernels.qlinear import int8_linear
from ..nn import Linear
from ..nn.summary import register_flops
from ..tensor import Tensor, from_numpy
from .base import QuantizedModule, check_input
from .spec import register_layer

__all__ = ["DynamicQuantizedLinear", "QuantizedLinear"]


@register_layer
class DynamicQuantizedLinear(QuantizedModule):
    """``y = x @ W.T + b`` with ``W`` int8 (buffers ``weight`` int8 (out, in), ``weight_scale`` (out,)), ``b``
    float32, and ``x`` quantized to uint8 over its own range at each call."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self._set_int8("weight", xp.zeros((out_features, in_features), xp.float32))
        self.register_buffer("bias", from_numpy(xp.zeros(out_features, xp.float32)) if bias else None)

    @classmethod
    def from_float(cls, mod: Linear) -> "DynamicQuantizedLinear":
        """The quantized twin of a float ``nn.Linear``."""
        q = cls(mod.in_features, mod.out_features, mod.bias is not None)
        q._set_int8("weight", mod.weight.array)
        if mod.bias is not None:
            q.bias.array[...] = mod.bias.array
        return q

    @classmethod
    def restore(cls, mod: Linear) -> "DynamicQuantizedLinear":
        """An empty layer of ``mod``'s shape, for ``load_state_dict`` (see ``quantization.spec``)."""
        return cls(mod.in_features, mod.out_features, mod.bias is not None)

    def _qparams(self) -> Any:
        return None

    def forward(self, x: Tensor) -> Tensor:
        x = check_input(self, x, self.in_features)
        lead = x.shape[:-1]
        y = int8_linear(x.array.reshape(-1, self.in_features), self._int8("weight"),
                        None if self.bias is None else self.bias.array, self._qparams())
        return from_numpy(y.reshape(*lead, self.out_features))

    def extra_repr(self) -> str:
        s = f"in_features={self.in_features}, out_features={self.out_features}"
        return s + ("" if self.bias is not None else ", bias=False") + ", dtype=qint8"


@register_layer
class QuantizedLinear(DynamicQuantizedLinear):
    """Static int8 ``Linear``: the input's uint8 scale and zero point (buffers ``input_scale``,
    ``input_zero_point``) come from calibration (:func:`lucidnet.quantization.quantize_static`)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__(in_features, out_features, bias)
        self.register_buffer("input_scale", from_numpy(xp.ones(1, xp.float32)))
        self.register_buffer("input_zero_point", from_numpy(xp.zeros(1, xp.int32)))

    @classmethod
    def from_float(cls, mod: Linear, qparams: tuple[float, int] = (1.0, 0)) -> "QuantizedLinear":
        q = super().from_float(mod)
        q.input_scale.array[0], q.input_zero_point.array[0] = qparams
        return q

    def _qparams(self) -> Any:
        return float(self.input_scale.array[0]), int(self.input_zero_point.array[0])


@register_flops(DynamicQuantizedLinear)
def _flops(m: DynamicQuantizedLinear, inputs: tuple, out: Tensor) -> int:
    """A multiply-add per weight and output row, and the bias: as ``nn.Linear`` counts."""
    n = out.array.size
    return 2 * m.in_features * n + (n if m.bias is not None else 0)
