"""``quantize_static(model, calibration, observer="minmax")``: post-training static int8 quantization.

1. BatchNorm folded into the convolutions before it (:func:`fold_batchnorm`);
2. calibration: the batches of ``calibration`` run through the folded float model, and an observer per layer
   to quantize records what enters it;
3. every ``Conv2d`` (``groups=1``) and ``Linear`` becomes ``QuantizedConv2d`` / ``QuantizedLinear`` with its
   input's uint8 scale and zero point fixed from its observer, int8 weights per output channel, int32
   accumulation. Other layers (pooling, activations, depthwise convolutions) stay float32; a grouped or
   depthwise convolution gets a warning naming it.

>>> import numpy as np, lucidnet as ln
>>> from lucidnet import nn
>>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(64, 3)).eval()
>>> batches = [ln.randn(8, 1, 6, 6) for _ in range(4)]
>>> q = quantize_static(net, batches, observer="percentile")
>>> [type(m).__name__ for m in q]
['QuantizedConv2d', 'FoldedBatchNorm', 'ReLU', 'Flatten', 'QuantizedLinear']
>>> with ln.no_grad():
...     bool(abs(q(batches[0]) - net(batches[0])).max() < 0.1)
True
"""
from __future__ import annotations

import warnings
from typing import Any, Iterable

from ..nn import Conv2d, Linear, Module
from ..nn.inference import inference
from ..tensor import Tensor
from .base import replace_modules
from .conv import QuantizedConv2d
from .fold import conv_bn_pairs, fold_batchnorm
from .linear import QuantizedLinear
from .observers import OBSERVERS, make_observer

__all__ = ["quantize_static", "STATIC_MAPPING"]

STATIC_MAPPING: dict[type, type] = {Conv2d: QuantizedConv2d, Linear: QuantizedLinear}


def _batches(calibration: Any) -> Iterable[tuple]:
    for b in calibration:
        yield b if isinstance(b, (tuple, list)) else (b,)


def quantize_static(model: Module, calibration: Iterable[Any], observer: str = "minmax",
                    inplace: bool = False) -> Module:
    """A static int8 copy of ``model`` (in place with ``inplace``), calibrated on ``calibration``: an iterable of
    input batches (a Tensor, or a tuple of the model's arguments, each). ``observer``: ``"minmax"``,
    ``"percentile"`` or ``"entropy"``."""
    if observer not in OBSERVERS:
        raise ValueError(f"quantize_static: unknown observer {observer!r}; one of {', '.join(OBSERVERS)}")
    was_training = model.training
    model.eval()
    try:
        safe = [(c, b) for c, b in conv_bn_pairs(model) if model.get_submodule(c).groups == 1]
        target = fold_batchnorm(model, pairs=safe, inplace=inplace)
    finally:
        if not inplace:
            model.train(was_training)
    observers, hooks = {}, []
    for name, mod in target.named_modules():
        if type(mod) in STATIC_MAPPING:
            if isinstance(mod, Conv2d) and mod.groups != 1:
                warnings.warn(f"quantize_static: layer {name!r} ({mod}) has groups={mod.groups}; only groups=1 "
                              "convolutions are quantized: it stays float32", UserWarning, stacklevel=2)
                continue
            obs = observers[name] = make_observer(observer)
            hooks.append(mod.register_forward_hook(lambda m, inputs, out, obs=obs: obs.observe(inputs[0].array)))
    seen = 0
    try:
        with inference(target):
            for args in _batches(calibration):
                if not args or not isinstance(args[0], Tensor):
                    raise TypeError(f"quantize_static: calibration batches must be Tensors (or tuples of the "
                                    f"model's arguments), got {type(args[0] if args else args).__name__}")
                target(*args)
                seen += 1
    finally:
        for h in hooks:
            h.remove()
    if not seen:
        raise ValueError("quantize_static: the calibration data is empty; give a few hundred samples")

    def convert(name: str, mod: Module):
        obs = observers.get(name)
        if obs is None:
            return None
        if not obs.count:
            warnings.warn(f"quantize_static: layer {name!r} saw no calibration data; it stays float32",
                          UserWarning, stacklevel=4)
            return None
        return STATIC_MAPPING[type(mod)].from_float(mod, obs.qparams())

    replace_modules(target, convert)
    target.requires_grad_(False)
    return target.eval()
