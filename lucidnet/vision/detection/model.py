"""The pedestrian network: MobileNetV2 features at strides 4, 8, 16 and 32, a small feature pyramid (FPN) over
strides 8-32, an anchor-free FCOS head (Tian et al. 2019: per location a class logit, the distances to the
four box sides and a centre-ness logit) and a segmentation decoder (U-Net-style: the stride-8 pyramid level
upsampled and joined with the stride-4 backbone features) predicting the person mask.

``heads`` picks what is built: ``("boxes", "masks")`` (the detector: boxes, and instance masks cut from the
person mask within each box), ``("boxes",)`` or ``("masks",)`` (the segmenter). The forward pass takes
(N, 3, H, W) images in [0, 1] (H and W multiples of 32; normalised with ImageNet's statistics inside) and
returns a dict: ``"cls"`` (N, L, classes) and ``"reg"`` (N, L, 4) (box side distances in pixels) and
``"ctr"`` (N, L, 1) over the L locations of all levels, and ``"mask"`` (N, 1, H, W) logits.

>>> import lucidnet as ln
>>> net = PedestrianNet(width_mult=0.35, channels=16, pretrained=None)
>>> out = net(ln.rand(1, 3, 64, 64))
>>> out["cls"].shape, out["reg"].shape, out["mask"].shape   # 8x8 + 4x4 + 2x2 locations
((1, 84, 1), (1, 84, 4), (1, 1, 64, 64))
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from ... import nn, ops
from ...models.registry import register
from ...nn import functional as F
from ...tensor import Tensor
from ..models.mobilenet import IMAGENET_MEAN, IMAGENET_STD, MobileNetV2

__all__ = ["PedestrianNet", "STRIDES", "HEADS", "level_points"]

STRIDES = (8, 16, 32)
HEADS = ("boxes", "masks")
# MobileNetV2 feature blocks ending at strides 4, 8, 16, 32 (the last before the 1280-channel convolution)
_TAPS = (3, 6, 13, 17)


def level_points(size: tuple[int, int], strides: Sequence[int] = STRIDES) -> tuple[np.ndarray, np.ndarray]:
    """(points (L, 2) as x, y, stride of each (L,)): the centres of every level's cells, level by level, rows
    first, for an input of ``size`` (height, width).

    >>> p, s = level_points((64, 64), (32,))
    >>> p.tolist(), s.tolist()
    ([[16.0, 16.0], [48.0, 16.0], [16.0, 48.0], [48.0, 48.0]], [32.0, 32.0, 32.0, 32.0])
    """
    pts, strides_out = [], []
    for s in strides:
        h, w = -(-size[0] // s), -(-size[1] // s)
        ys, xs = np.meshgrid((np.arange(h) + 0.5) * s, (np.arange(w) + 0.5) * s, indexing="ij")
        pts.append(np.stack([xs.ravel(), ys.ravel()], axis=1))
        strides_out.append(np.full(h * w, float(s)))
    return np.concatenate(pts).astype(np.float32), np.concatenate(strides_out).astype(np.float32)


def _conv_gn(cin: int, cout: int, groups: int = 8) -> nn.Sequential:
    """A depthwise-separable 3x3 convolution (depthwise 3x3, pointwise 1x1), group norm, ReLU."""
    return nn.Sequential(nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False), nn.Conv2d(cin, cout, 1, bias=False),
                         nn.GroupNorm(min(groups, cout), cout), nn.ReLU())


def _flat(x: Tensor) -> Tensor:
    """(N, C, H, W) -> (N, H * W, C)."""
    n, c = x.shape[0], x.shape[1]
    return x.reshape(n, c, -1).permute(0, 2, 1)


class FPN(nn.Module):
    """A feature pyramid: 1x1 lateral convolutions to ``channels``, a top-down pass (nearest upsampling, sum)
    and a depthwise-separable 3x3 convolution per level, for the finest ``outputs`` levels (default: all)."""

    def __init__(self, in_channels: Sequence[int], channels: int, outputs: int | None = None):
        super().__init__()
        self.lateral = nn.ModuleList([nn.Conv2d(c, channels, 1) for c in in_channels])
        self.smooth = nn.ModuleList([_conv_gn(channels, channels) for _ in in_channels[:outputs]])

    def forward(self, feats: Sequence[Tensor]) -> list[Tensor]:
        lat = [conv(f) for conv, f in zip(self.lateral, feats)]
        out = [lat[-1]]
        for x in reversed(lat[:-1]):
            out.insert(0, x + F.interpolate(out[0], size=tuple(x.shape[2:]), mode="nearest"))
        return [conv(x) for conv, x in zip(self.smooth, out)]


class FCOSHead(nn.Module):
    """The head shared by every level: a classification tower and a regression tower of ``convs``
    depthwise-separable 3x3 convolutions (group norm, ReLU); class logits (bias set so that the prior probability is ``prior``), the
    four side distances ``exp(scale_l * x) * stride_l`` and the centre-ness logit from the regression tower."""

    def __init__(self, channels: int, num_classes: int, num_levels: int, convs: int = 2, prior: float = 0.01):
        super().__init__()
        self.cls_tower = nn.Sequential(*[_conv_gn(channels, channels) for _ in range(convs)])
        self.reg_tower = nn.Sequential(*[_conv_gn(channels, channels) for _ in range(convs)])
        self.cls = nn.Conv2d(channels, num_classes, 3, padding=1)
        self.reg = nn.Conv2d(channels, 4, 3, padding=1)
        self.ctr = nn.Conv2d(channels, 1, 3, padding=1)
        self.scales = nn.Parameter(Tensor(np.ones(num_levels, np.float32)))
        for conv in (self.cls, self.reg, self.ctr):
            nn.init.normal_(conv.weight, 0.0, 0.01)
            nn.init.zeros_(conv.bias)
        nn.init.constant_(self.cls.bias, -math.log((1 - prior) / prior))

    def forward(self, levels: Sequence[Tensor], strides: Sequence[int]) -> dict[str, Tensor]:
        cls, reg, ctr = [], [], []
        for i, (x, s) in enumerate(zip(levels, strides)):
            c, r = self.cls_tower(x), self.reg_tower(x)
            cls.append(_flat(self.cls(c)))
            d = (self.reg(r) * self.scales[i]).clip(max=12.0).exp() * float(s)
            reg.append(_flat(d))
            ctr.append(_flat(self.ctr(r)))
        return {"cls": ops.cat(cls, 1), "reg": ops.cat(reg, 1), "ctr": ops.cat(ctr, 1)}


class MaskDecoder(nn.Module):
    """The person-mask decoder: the stride-8 pyramid level (``channels``) projected to ``channels // 2`` and
    upsampled to stride 4, joined (sum) with the stride-4 backbone features projected likewise, two
    depthwise-separable 3x3 convolutions and a 1x1 to one logit, upsampled bilinearly to the input size."""

    def __init__(self, low_channels: int, channels: int):
        super().__init__()
        half = max(channels // 2, 8)
        self.low = nn.Conv2d(low_channels, half, 1)
        self.high = nn.Conv2d(channels, half, 1)
        self.fuse = nn.Sequential(_conv_gn(half, half), _conv_gn(half, half))
        self.out = nn.Conv2d(half, 1, 1)

    def forward(self, low: Tensor, p3: Tensor, size: tuple[int, int]) -> Tensor:
        x = self.low(low) + F.interpolate(self.high(p3), size=tuple(low.shape[2:]), mode="bilinear")
        return F.interpolate(self.out(self.fuse(x)), size=size, mode="bilinear")


@register("pedestrian_net")
class PedestrianNet(nn.Module):
    """MobileNetV2 backbone (``width_mult``; ImageNet weights with ``pretrained="mobilenet_v2"`` when the
    width is 1), its first ``freeze`` feature blocks frozen, its batch norms frozen (eval statistics, no
    update) when ``frozen_bn``; FPN and heads of ``channels`` channels."""

    def __init__(self, heads: Sequence[str] = HEADS, num_classes: int = 1, width_mult: float = 1.0,
                 channels: int = 64, head_convs: int = 2, freeze: int = 4, frozen_bn: bool = True,
                 pretrained: str | None = "mobilenet_v2"):
        super().__init__()
        heads = tuple(heads)
        if not heads or any(h not in HEADS for h in heads):
            raise ValueError(f"PedestrianNet: heads must be a non-empty subset of {HEADS}, got {heads}")
        if not 0 <= freeze <= _TAPS[-1] + 1:
            raise ValueError(f"PedestrianNet: freeze must be in [0, {_TAPS[-1] + 1}] feature blocks, got {freeze}")
        self.config = {"heads": list(heads), "num_classes": num_classes, "width_mult": float(width_mult),
                       "channels": channels, "head_convs": head_convs, "freeze": freeze, "frozen_bn": frozen_bn,
                       "pretrained": pretrained}
        self.heads, self.frozen_bn = heads, frozen_bn
        net = MobileNetV2(width_mult=width_mult)
        self.backbone = nn.Sequential(*list(net.features)[:_TAPS[-1] + 1])
        widths = [net.features[i].out_channels for i in _TAPS]
        self.register_buffer("mean", Tensor(np.asarray(IMAGENET_MEAN, np.float32).reshape(1, 3, 1, 1)), persistent=False)
        self.register_buffer("std", Tensor(np.asarray(IMAGENET_STD, np.float32).reshape(1, 3, 1, 1)), persistent=False)
        self.fpn = FPN(widths[1:], channels, outputs=None if "boxes" in heads else 1)  # masks: stride 8 only
        if "boxes" in heads:
            self.head = FCOSHead(channels, num_classes, len(STRIDES), head_convs)
        if "masks" in heads:
            self.mask_decoder = MaskDecoder(widths[0], channels)
        for block in list(self.backbone)[:freeze]:
            for p in block.parameters():
                p.requires_grad = False
        self.train()

    def load_imagenet_weights(self, state: Mapping[str, Any]) -> None:
        """Copy a torchvision MobileNetV2 state dict's feature blocks into the backbone; a missing key or a
        shape that differs is an error naming it."""
        prefix = "features."
        own = {k[len(prefix):]: v for k, v in state.items()
               if k.startswith(prefix) and int(k.split(".")[1]) <= _TAPS[-1]}
        missing, unexpected = self.backbone.load_state_dict(own, strict=False)
        if missing or unexpected:
            raise ValueError(f"PedestrianNet: the pretrained state dict does not fit the backbone: missing "
                             f"{list(missing)[:5]}, unexpected {list(unexpected)[:5]}")

    def train(self, mode: bool = True) -> "PedestrianNet":
        super().train(mode)
        if mode and self.frozen_bn:
            for m in self.backbone.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.eval()
        return self

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        if x.ndim != 4 or x.shape[1] != 3 or x.shape[2] % 32 or x.shape[3] % 32:
            raise ValueError(f"PedestrianNet: expected images (N, 3, H, W) with H and W multiples of 32, got shape "
                             f"{tuple(x.shape)}")
        h = (x - self.mean) / self.std
        taps = []
        for i, block in enumerate(self.backbone):
            h = block(h)
            if i in _TAPS:
                taps.append(h)
        levels = self.fpn(taps[1:])
        out: dict[str, Tensor] = {}
        if "boxes" in self.heads:
            out.update(self.head(levels, STRIDES))
        if "masks" in self.heads:
            out["mask"] = self.mask_decoder(taps[0], levels[0], tuple(x.shape[2:]))
        return out
