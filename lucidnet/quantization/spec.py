"""What a quantized model records about itself, so it saves and loads as a state dict (safetensors, the int8
values with their scales) and rebuilds from its float architecture: :func:`spec_of` lists the replaced layers
by name and class; :func:`restore` replays the replacement on a freshly built float model, whose
``load_state_dict`` then takes the quantized weights. Run directories keep the spec in ``config.json``
(``lucidnet.train.rundir``).

>>> import lucidnet as ln
>>> from lucidnet import nn
>>> q = ln.quantization.quantize_dynamic(nn.Sequential(nn.Linear(4, 3), nn.ReLU()))
>>> spec = spec_of(q)
>>> spec
{'format': 1, 'layers': {'0': 'DynamicQuantizedLinear'}}
>>> again = restore(nn.Sequential(nn.Linear(4, 3), nn.ReLU()), spec)
>>> _ = again.load_state_dict(q.state_dict())
>>> bool((again[0].weight.array == q[0].weight.array).all())
True
"""
from __future__ import annotations

from typing import Any

from .. import nn
from .base import QuantizedModule, replace_modules

__all__ = ["spec_of", "restore", "register_layer", "LAYERS"]

FORMAT = 1
LAYERS: dict[str, type] = {}  # class name -> class, of every layer a quantization transform puts in a model


def register_layer(cls: type) -> type:
    """Make ``cls`` (with a ``restore(float_module)`` classmethod) known to :func:`restore` by its name."""
    LAYERS[cls.__name__] = cls
    return cls


def spec_of(model: nn.Module) -> dict[str, Any]:
    """``{"format": 1, "layers": {name: class name}}`` of the layers the transforms put in ``model``."""
    layers = {name: type(m).__name__ for name, m in model.named_modules()
              if name and type(m).__name__ in LAYERS and isinstance(m, (QuantizedModule, nn.Module))}
    return {"format": FORMAT, "layers": layers}


def restore(model: nn.Module, spec: Any, where: str = "quantization spec") -> nn.Module:
    """``model`` (the float architecture) with the layers of ``spec`` replaced by empty quantized ones, ready
    for ``load_state_dict`` of the quantized model's weights; clear errors naming ``where`` otherwise."""
    if not isinstance(spec, dict) or spec.get("format") != FORMAT or not isinstance(spec.get("layers"), dict):
        raise ValueError(f"{where}: expected {{'format': {FORMAT}, 'layers': {{name: class}}}}, got {spec!r:.200}")
    layers = dict(spec["layers"])
    names = dict(model.named_modules())
    for name, cls_name in layers.items():
        if name not in names:
            raise ValueError(f"{where}: layer {name!r} is not in the model")
        if cls_name not in LAYERS:
            raise ValueError(f"{where}: layer {name!r} is a {cls_name!r}, not a quantized layer lucidnet knows "
                             f"({', '.join(sorted(LAYERS))})")

    def convert(name: str, mod: nn.Module):
        cls_name = layers.get(name)
        return None if cls_name is None else LAYERS[cls_name].restore(mod)

    replace_modules(model, convert)
    model.requires_grad_(False)
    return model.eval()
