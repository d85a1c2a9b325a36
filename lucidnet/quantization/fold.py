"""``fold_batchnorm(model)``: every ``BatchNorm2d`` that directly follows a ``Conv2d`` folded into it (a transform
of its own; static quantization runs it first, so the int8 convolution computes the normalised output).

With ``s = gamma / sqrt(running_var + eps)``: ``W' = W * s`` (per output channel), ``b' = (b - mean) * s + beta``;
the batch norm becomes a :class:`FoldedBatchNorm` (an identity that keeps its place and its name). Pairs are
found inside ``nn.Sequential`` containers (conv then batch norm, as VGG, SimpleCNN and MobileNetV2 build them);
other pairs can be named: ``pairs=[("conv1", "bn1")]``. The model must be in eval mode: training batch norms
normalise with the batch's statistics, which no fixed weight reproduces.

>>> import lucidnet as ln
>>> from lucidnet import nn
>>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU()).eval()
>>> _ = net[1].running_mean.uniform_(-1, 1)
>>> folded = fold_batchnorm(net)
>>> type(folded[1]).__name__
'FoldedBatchNorm'
>>> x = ln.randn(2, 1, 6, 6)
>>> with ln.no_grad():
...     bool(abs(folded(x) - net(x)).max() < 1e-5)
True
"""
from __future__ import annotations

import copy
from typing import Iterable

from ..backend import xp
from ..nn import BatchNorm2d, Conv2d, Identity, Module, Parameter, Sequential
from ..tensor import from_numpy
from .spec import register_layer

__all__ = ["fold_batchnorm", "FoldedBatchNorm", "conv_bn_pairs"]


@register_layer
class FoldedBatchNorm(Identity):
    """The place of a batch norm folded into the convolution before it: returns its input."""

    @classmethod
    def restore(cls, mod: Module) -> "FoldedBatchNorm":
        return cls()


def conv_bn_pairs(model: Module) -> list[tuple[str, str]]:
    """(conv name, batch norm name) of every ``Conv2d`` directly followed by a ``BatchNorm2d`` of matching width
    inside an ``nn.Sequential``."""
    pairs = []
    for prefix, mod in model.named_modules():
        if not isinstance(mod, Sequential):
            continue
        items = list(mod.named_children())
        for (a, first), (b, second) in zip(items, items[1:]):
            if type(first) is Conv2d and type(second) is BatchNorm2d and second.num_features == first.out_channels:
                pre = prefix + "." if prefix else ""
                pairs.append((pre + a, pre + b))
    return pairs


def _fold_one(conv: Conv2d, bn: BatchNorm2d, where: str) -> None:
    if bn.running_mean is None:
        raise ValueError(f"fold_batchnorm: {where} has no running statistics (track_running_stats=False); it "
                         "cannot be folded")
    dt = conv.weight.array.dtype
    s = (bn.weight.array if bn.affine else 1.0) / xp.sqrt(bn.running_var.array.astype(xp.float64) + bn.eps)
    beta = bn.bias.array if bn.affine else 0.0
    w = conv.weight.array * s.reshape(-1, 1, 1, 1)
    b = conv.bias.array if conv.bias is not None else xp.zeros(conv.out_channels, dt)
    conv.weight = Parameter(from_numpy(w.astype(dt)))
    conv.bias = Parameter(from_numpy(((b - bn.running_mean.array) * s + beta).astype(dt)))


def fold_batchnorm(model: Module, pairs: Iterable[tuple[str, str]] | None = None, inplace: bool = False) -> Module:
    """``model`` (copied unless ``inplace``) with each (conv, batch norm) pair folded (default:
    :func:`conv_bn_pairs`); returns it in eval mode."""
    if model.training:
        raise ValueError("fold_batchnorm: the model is in training mode; call model.eval() first (folding uses the "
                         "batch norms' running statistics)")
    target = model if inplace else copy.deepcopy(model)
    found = conv_bn_pairs(target) if pairs is None else list(pairs)
    mods = dict(target.named_modules())
    for conv_name, bn_name in found:
        conv, bn = mods.get(conv_name), mods.get(bn_name)
        if not isinstance(conv, Conv2d) or not isinstance(bn, BatchNorm2d):
            raise ValueError(f"fold_batchnorm: ({conv_name!r}, {bn_name!r}) must name a Conv2d and a BatchNorm2d of "
                             f"the model, found {type(conv).__name__} and {type(bn).__name__}")
        if bn.num_features != conv.out_channels:
            raise ValueError(f"fold_batchnorm: {bn_name!r} normalises {bn.num_features} channels but {conv_name!r} "
                             f"makes {conv.out_channels}")
        _fold_one(conv, bn, repr(bn_name))
        parent_name, _, child = bn_name.rpartition(".")
        setattr(mods[parent_name] if parent_name else target, child, FoldedBatchNorm())
    return target.eval()
