"""MobileNetV2 (Sandler et al. 2018), torchvision's network: ``mobilenet_v2()`` loads torchvision's ImageNet
state dict as it is (module names ``features.0.0`` ..., ``features.N.conv.*``, ``features.18``,
``classifier.1``).

A stride-2 3x3 stem, 17 inverted-residual blocks (1x1 expansion, 3x3 depthwise, 1x1 linear projection, each
with batch norm; ReLU6 after the first two; a residual sum where shape allows), a 1x1 convolution to 1280
channels, global average pooling, dropout and a linear classifier.

>>> import lucidnet as ln
>>> net = mobilenet_v2(num_classes=10, width_mult=0.25)
>>> net(ln.randn(2, 3, 32, 32)).shape
(2, 10)
>>> len(mobilenet_v2().state_dict())
314
"""
from __future__ import annotations

from ... import nn
from ...models.registry import register
from ...nn import functional as F
from ...tensor import Tensor
from ._common import check_images, dropout_p, positive_int

__all__ = ["MobileNetV2", "InvertedResidual", "ConvBNReLU6", "mobilenet_v2", "IMAGENET_MEAN", "IMAGENET_STD"]

# the RGB mean and std of ImageNet that its pretrained networks' inputs are normalised with
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

# expansion t, output channels c, repeats n, first stride s (torchvision's table)
SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def make_divisible(v: float, divisor: int = 8) -> int:
    """The multiple of ``divisor`` nearest ``v`` (at least ``divisor``, and never 10% below ``v``).

    >>> make_divisible(32 * 0.75), make_divisible(1280 * 1.4)
    (24, 1792)
    """
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


class ConvBNReLU6(nn.Sequential):
    """Convolution (no bias, 'same' padding for odd kernels), batch norm, ReLU6: children ``0``, ``1``, ``2``
    (torchvision's ``Conv2dNormActivation``).

    The batch norm and the ReLU6 run as one node (``BatchNorm2d.forward_hardtanh``: the same values, one
    pass fewer each way) unless a child has been replaced or has hooks (forward or forward-pre); then the children run one
    by one."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, groups: int = 1):
        super().__init__(nn.Conv2d(in_channels, out_channels, kernel_size, stride, (kernel_size - 1) // 2,
                                   groups=groups, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU6())

    def forward(self, x: Tensor) -> Tensor:
        children = list(self._modules.values())
        if len(children) == 3:
            conv, bn, act = children
            if (type(bn) is nn.BatchNorm2d and type(act) in (nn.ReLU6, nn.Hardtanh)
                    and not (bn._hooked or act._hooked)):
                return bn.forward_hardtanh(conv(x), act.min_val, act.max_val)
        return super().forward(x)


class InvertedResidual(nn.Module):
    """1x1 expansion to ``in * expand_ratio`` channels (left out when the ratio is 1), 3x3 depthwise
    convolution of ``stride``, 1x1 projection with batch norm and no activation; ``x +`` that when the block
    keeps the shape (stride 1, in == out)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int):
        super().__init__()
        hidden = int(round(in_channels * expand_ratio))
        self.use_res_connect = stride == 1 and in_channels == out_channels
        layers = [ConvBNReLU6(in_channels, hidden, 1)] if expand_ratio != 1 else []
        layers += [ConvBNReLU6(hidden, hidden, 3, stride, groups=hidden),
                   nn.Conv2d(hidden, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels)]
        self.conv = nn.Sequential(*layers)
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


@register("mobilenet_v2")
class MobileNetV2(nn.Module):
    """torchvision's MobileNetV2: ``width_mult`` scales every width (rounded to multiples of 8; the last
    convolution keeps at least 1280 channels), ``dropout`` is the classifier's. Takes (N, in_channels, H, W)
    images (224x224 for the ImageNet weights; at least 32x32) and returns (N, num_classes) logits."""

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0, dropout: float = 0.2, in_channels: int = 3):
        super().__init__()
        who = "MobileNetV2"
        positive_int(who, "num_classes", num_classes)
        positive_int(who, "in_channels", in_channels)
        if isinstance(width_mult, bool) or not isinstance(width_mult, (int, float)) or not width_mult > 0:
            raise ValueError(f"{who}: width_mult must be a positive number, got {width_mult!r}")
        self.in_channels = in_channels
        self.config = {"num_classes": num_classes, "width_mult": float(width_mult),
                       "dropout": dropout_p(who, dropout), "in_channels": in_channels}
        channels = make_divisible(32 * width_mult)
        self.last_channel = make_divisible(1280 * max(1.0, width_mult))
        features: list[nn.Module] = [ConvBNReLU6(in_channels, channels, 3, stride=2)]
        for t, c, n, s in SETTINGS:
            out = make_divisible(c * width_mult)
            for i in range(n):
                features.append(InvertedResidual(channels, out, s if i == 0 else 1, t))
                channels = out
        features.append(ConvBNReLU6(channels, self.last_channel, 1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(self.last_channel, num_classes))
        self._init()

    def _init(self) -> None:
        """torchvision's: He-normal convolutions (fan_out), batch norm 1 and 0, linear N(0, 0.01) and 0."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        check_images("MobileNetV2", x, self.in_channels, min_size=32)
        x = F.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(x.flatten(1))


def mobilenet_v2(num_classes: int = 1000, width_mult: float = 1.0, dropout: float = 0.2,
                 in_channels: int = 3) -> MobileNetV2:
    """torchvision's ``mobilenet_v2()`` (random init; load ImageNet weights with
    ``lucidnet.vision.pretrained.load_mobilenet_v2``)."""
    return MobileNetV2(num_classes=num_classes, width_mult=width_mult, dropout=dropout, in_channels=in_channels)
