"""``quantize_dynamic(model, qconfig_spec, dtype=qint8)``: PyTorch's dynamic quantization, as a transform.

The model is copied (unless ``inplace``) and every layer the spec selects is replaced by its quantized
inference twin: int8 weights (per output channel, symmetric), activations quantized per tensor at run time,
int32 accumulation. A selected layer with no quantized twin stays float32 with a warning that names it.
The result is an inference model: its remaining float parameters are frozen (``requires_grad=False``).

>>> import warnings, lucidnet as ln
>>> from lucidnet import nn
>>> model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
>>> q = quantize_dynamic(model, {nn.Linear}, dtype=ln.quantization.qint8)
>>> type(q[0]).__name__, type(model[0]).__name__
('DynamicQuantizedLinear', 'Linear')
>>> with warnings.catch_warnings(record=True) as w:
...     warnings.simplefilter("always")
...     _ = quantize_dynamic(nn.Sequential(nn.Conv2d(1, 2, 3)), {nn.Conv2d})
>>> print(w[0].message)
quantize_dynamic: layer '0' (Conv2d) has no dynamic int8 version; it stays float32 (static quantization covers convolutions: quantize_static)
"""
from __future__ import annotations

import copy
import warnings
from typing import Any, Iterable

from .. import nn
from .base import QDType, qint8, replace_modules
from .embedding import QuantizedEmbedding
from .linear import DynamicQuantizedLinear
from .rnn import DynamicQuantizedGRU, DynamicQuantizedLSTM, DynamicQuantizedRNN

__all__ = ["quantize_dynamic", "DYNAMIC_MAPPING", "DEFAULT_DYNAMIC_SPEC"]

# float layer type -> its dynamic int8 twin (a subclass of a key maps through the key)
DYNAMIC_MAPPING: dict[type, type] = {nn.Linear: DynamicQuantizedLinear, nn.LSTM: DynamicQuantizedLSTM,
                                     nn.GRU: DynamicQuantizedGRU, nn.RNN: DynamicQuantizedRNN,
                                     nn.Embedding: QuantizedEmbedding}
# PyTorch's default: the layers with weights multiplied by activations (an Embedding is only quantized when named:
# weight-only, per row, as PyTorch's float_qparams_weight_only_qconfig)
DEFAULT_DYNAMIC_SPEC = frozenset({nn.Linear, nn.LSTM, nn.GRU, nn.RNN, nn.LSTMCell, nn.GRUCell, nn.RNNCell})
# layers whose code reads their children's float weights directly (MultiheadAttention: out_proj.weight and the
# packed in_proj_weight): kept float32 whole, with a warning when the spec would have touched them
SEALED = (nn.MultiheadAttention,)


def _selected(spec: Any, name: str, mod: nn.Module) -> bool:
    """Whether the spec (a set of layer types and/or submodule names) selects this layer."""
    return any((isinstance(s, type) and type(mod) is s) or (isinstance(s, str) and s == name) for s in spec)


def quantize_dynamic(model: nn.Module, qconfig_spec: Iterable[Any] | None = None, dtype: Any = qint8,
                     mapping: dict | None = None, inplace: bool = False) -> nn.Module:
    """The model with the layers in ``qconfig_spec`` (layer types, or submodule names as in
    ``model.named_modules()``; default: Linear and the recurrent layers; ``nn.Embedding`` when named, weight-only)
    replaced by dynamic int8 twins.

    ``dtype``: ``lucidnet.qint8`` only (PyTorch's float16 dynamic quantization is not here). ``mapping``:
    float type -> quantized type (default :data:`DYNAMIC_MAPPING`). ``inplace=False`` leaves ``model`` as it
    was and returns a quantized copy in eval mode.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"quantize_dynamic: expected an nn.Module, got {type(model).__name__}")
    if not (isinstance(dtype, QDType) and dtype is qint8):
        raise ValueError(f"quantize_dynamic: dtype must be lucidnet.qint8 (int8 weights), got {dtype!r}")
    spec = DEFAULT_DYNAMIC_SPEC if qconfig_spec is None else qconfig_spec
    if isinstance(spec, (str, type)) or not hasattr(spec, "__iter__"):
        raise TypeError(f"quantize_dynamic: qconfig_spec must be a set of layer types or submodule names, got "
                        f"{spec!r}")
    spec = set(spec)
    names = dict(model.named_modules())
    for s in spec:
        if isinstance(s, str) and s not in names:
            raise ValueError(f"quantize_dynamic: qconfig_spec names {s!r}, which is not a submodule of the model "
                             f"(names as model.named_modules() gives them, e.g. {next(iter(n for n in names if n), '')!r})")
        if not isinstance(s, (str, type)):
            raise TypeError(f"quantize_dynamic: qconfig_spec entries must be layer types or names, got {s!r}")
    mapping = DYNAMIC_MAPPING if mapping is None else mapping
    target = model if inplace else copy.deepcopy(model)

    def convert(name: str, mod: nn.Module):
        if isinstance(mod, SEALED):
            inside = [n for n, m in mod.named_modules(prefix=name) if _selected(spec, n, m)]
            if inside:
                warnings.warn(f"quantize_dynamic: layer {name!r} ({type(mod).__name__}) has no dynamic int8 version; "
                              f"it stays float32 with its sublayers ({', '.join(inside)})", UserWarning, stacklevel=4)
            return None
        if not _selected(spec, name, mod):
            return None
        twin = mapping.get(type(mod))
        if twin is None:
            hint = " (static quantization covers convolutions: quantize_static)" if "Conv" in type(mod).__name__ else ""
            warnings.warn(f"quantize_dynamic: layer {name!r} ({type(mod).__name__}) has no dynamic int8 version; it "
                          f"stays float32{hint}", UserWarning, stacklevel=4)
            return None
        return twin.from_float(mod)

    replace_modules(target, convert, sealed=SEALED)
    target.requires_grad_(False)
    return target.eval()
