"""An ImageNet network applied to other images: ``ImageNetTransfer`` resizes its input to the size the network
is fine-tuned at, repeats a grey channel into RGB, normalises with ImageNet's mean and std (what the
pretrained weights saw), and runs the network with a new classifier for ``num_classes``.

Inputs are images with values in [0, 1], (N, in_channels, H, W). ``load_imagenet_weights`` copies the
pretrained weights into every layer but the classifier (its shape differs), which keeps its fresh init.

>>> import lucidnet as ln
>>> net = ImageNetTransfer(num_classes=10, in_channels=1, input_size=32, width_mult=0.25)
>>> net(ln.rand(2, 1, 28, 28)).shape
(2, 10)
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ... import nn
from ...models.registry import register
from ...nn import functional as F
from ...tensor import Tensor
from ._common import positive_int
from .mobilenet import IMAGENET_MEAN, IMAGENET_STD, MobileNetV2

__all__ = ["ImageNetTransfer", "BACKBONES"]

BACKBONES = {"mobilenet_v2": MobileNetV2}


@register("imagenet_transfer")
class ImageNetTransfer(nn.Module):
    """``backbone`` (a name of ``BACKBONES``) with ``num_classes`` outputs, on images of ``in_channels`` (1 or 3)
    resized to ``input_size`` x ``input_size`` (bilinear) and normalised as ImageNet's."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, input_size: int = 96,
                 backbone: str = "mobilenet_v2", dropout: float = 0.2, width_mult: float = 1.0):
        super().__init__()
        who = "ImageNetTransfer"
        positive_int(who, "input_size", input_size)
        if in_channels not in (1, 3):
            raise ValueError(f"{who}: in_channels must be 1 (grey, repeated into RGB) or 3, got {in_channels!r}")
        if backbone not in BACKBONES:
            raise ValueError(f"{who}: unknown backbone {backbone!r}; known: {', '.join(BACKBONES)}")
        self.config = {"num_classes": num_classes, "in_channels": in_channels, "input_size": input_size,
                       "backbone": backbone, "dropout": dropout, "width_mult": width_mult}
        self.in_channels, self.input_size = in_channels, input_size
        self.net = BACKBONES[backbone](num_classes=num_classes, dropout=dropout, width_mult=width_mult)
        self.register_buffer("mean", Tensor(np.asarray(IMAGENET_MEAN, np.float32).reshape(1, 3, 1, 1)), persistent=False)
        self.register_buffer("std", Tensor(np.asarray(IMAGENET_STD, np.float32).reshape(1, 3, 1, 1)), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"ImageNetTransfer: expected images (N, {self.in_channels}, H, W), got shape "
                             f"{tuple(x.shape)}")
        if tuple(x.shape[2:]) != (self.input_size, self.input_size):
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear")
        if self.in_channels == 1:
            x = x.expand(x.shape[0], 3, *x.shape[2:])
        return self.net((x - self.mean) / self.std)

    def load_imagenet_weights(self, state: Mapping[str, Any]) -> None:
        """Copy an ImageNet state dict of the backbone (torchvision's names) into every layer but the
        classifier's last linear layer; a missing key or a shape that differs is an error naming it."""
        head = {k for k in self.net.state_dict() if k.startswith("classifier.")}
        own = {k: v for k, v in state.items() if k not in head}
        missing, unexpected = self.net.load_state_dict(own, strict=False)
        missing = [k for k in missing if k not in head]
        if missing or unexpected:
            raise ValueError(f"ImageNetTransfer: the pretrained state dict does not fit {self.config['backbone']}: "
                             f"missing {missing[:5]}, unexpected {list(unexpected)[:5]}")
