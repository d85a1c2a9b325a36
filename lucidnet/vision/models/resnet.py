"""CIFAR-style ResNets (He et al. 2016, section 4.2) for 28x28 and 32x32 images: ``resnet8``, ``resnet14``,
``resnet20``, ``resnet32``, or ``ResNet(depth=6n+2, width=...)``.

A 3x3 stem convolution, three stages of ``n`` basic blocks (two 3x3 convolutions with batch norm and a
shortcut) at widths ``width``, ``2 * width``, ``4 * width`` (the second and third stage halve the image:
28 -> 14 -> 7, 32 -> 16 -> 8), global average pooling and one linear layer. Where a block changes the
width or the stride, its shortcut is a 1x1 convolution with batch norm (torchvision's ``downsample``).
Parameter names follow torchvision's ResNet (``conv1``, ``bn1``, ``layer1.0.conv1``, ..., ``fc``).
"""
from __future__ import annotations

from ... import nn
from ...models.registry import register
from ...tensor import Tensor
from ._common import check_images, init_conv_net, positive_int

__all__ = ["BasicBlock", "ResNet", "resnet8", "resnet14", "resnet20", "resnet32"]


class BasicBlock(nn.Module):
    """``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``; the shortcut is ``x`` itself, or
    ``downsample(x)`` (1x1 convolution and batch norm) when the block changes width or stride."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu2 = nn.ReLU()
        self.downsample = None
        if stride != 1 or in_planes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu1(self.bn1(self.conv1(x)))
        return self.relu2(self.bn2(self.conv2(out)) + shortcut)


@register("resnet")
class ResNet(nn.Module):
    """A CIFAR-style ResNet of ``depth`` = 6n + 2 layers (8, 14, 20, 32, ...), base ``width`` channels.

    ``zero_init_residual``: start every block's last batch norm at weight 0, so each block begins as the
    identity (Goyal et al. 2017; helps short schedules).

    >>> import lucidnet as ln
    >>> net = ResNet(depth=8, width=8)
    >>> net(ln.randn(2, 1, 28, 28)).shape
    (2, 10)
    >>> [name for name, _ in net.named_children()]
    ['conv1', 'bn1', 'relu', 'layer1', 'layer2', 'layer3', 'avgpool', 'fc']
    """

    def __init__(self, depth: int = 20, in_channels: int = 1, num_classes: int = 10, width: int = 16,
                 zero_init_residual: bool = False):
        super().__init__()
        who = "ResNet"
        for name, v in (("depth", depth), ("in_channels", in_channels), ("num_classes", num_classes),
                        ("width", width)):
            positive_int(who, name, v)
        if depth < 8 or (depth - 2) % 6:
            raise ValueError(f"{who}: depth must be 6n + 2 with n >= 1 (8, 14, 20, 32, ...), got {depth}")
        n = (depth - 2) // 6
        self.in_channels = in_channels
        self.config = {"depth": depth, "in_channels": in_channels, "num_classes": num_classes, "width": width,
                       "zero_init_residual": bool(zero_init_residual)}
        self.conv1 = nn.Conv2d(in_channels, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()
        self.layer1 = self._stage(width, width, n, stride=1)
        self.layer2 = self._stage(width, 2 * width, n, stride=2)
        self.layer3 = self._stage(2 * width, 4 * width, n, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4 * width, num_classes)
        init_conv_net(self)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, BasicBlock):
                    nn.init.zeros_(m.bn2.weight)

    @staticmethod
    def _stage(in_planes: int, planes: int, blocks: int, stride: int) -> nn.Sequential:
        return nn.Sequential(BasicBlock(in_planes, planes, stride),
                             *(BasicBlock(planes, planes) for _ in range(blocks - 1)))

    def forward(self, x: Tensor) -> Tensor:
        check_images("ResNet", x, self.in_channels, min_size=4)
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(self.avgpool(x).flatten(1))


def resnet8(**kwargs) -> ResNet:
    """ResNet-8: one block per stage (78 k parameters at width 16)."""
    return ResNet(depth=8, **kwargs)


def resnet14(**kwargs) -> ResNet:
    """ResNet-14: two blocks per stage."""
    return ResNet(depth=14, **kwargs)


def resnet20(**kwargs) -> ResNet:
    """ResNet-20: three blocks per stage (He et al.'s smallest CIFAR-10 network, 0.27 M parameters)."""
    return ResNet(depth=20, **kwargs)


def resnet32(**kwargs) -> ResNet:
    """ResNet-32: five blocks per stage."""
    return ResNet(depth=32, **kwargs)
