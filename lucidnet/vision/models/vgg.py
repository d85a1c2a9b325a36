"""``VGG``: a small VGG-style network with batch norm, for 28x28 and 32x32 images."""
from __future__ import annotations

from typing import Sequence, Union

from ... import nn
from ...models.registry import register
from ...tensor import Tensor
from ._common import check_images, dropout_p, init_conv_net, positive_int

#: the default stages: two 3x3 convolutions per width, a 2x2 max-pool ("M") after each pair (28 -> 14 -> 7)
VGG_SMALL = (32, 32, "M", 64, 64, "M")


@register("vgg")
class VGG(nn.Module):
    """Stacks of conv3x3 - BatchNorm - ReLU with 2x2 max-pools between them (``cfg``: widths and ``"M"``),
    then adaptive average pooling to ``pool_size`` x ``pool_size`` and the classifier: dropout and one linear
    layer, or with ``hidden`` units, linear - ReLU - dropout - linear.

    Parameter names follow torchvision's VGG (``features.N``, ``avgpool``, ``classifier.N``); convolutions have
    no bias when followed by batch norm. Any image of at least ``2 ** pools`` pixels a side works (the
    adaptive pool makes the head independent of the size).

    >>> import lucidnet as ln
    >>> net = VGG()
    >>> net(ln.randn(2, 1, 28, 28)).shape
    (2, 10)
    >>> VGG(cfg=[16, "M", 32, "M"], in_channels=3, num_classes=5)(ln.randn(2, 3, 32, 32)).shape
    (2, 5)
    """

    #: the config settings that hold the widths, in the order of the layers (what channel pruning rewrites)
    width_settings = ("cfg", "hidden")

    def __init__(self, in_channels: int = 1, num_classes: int = 10,
                 cfg: Sequence[Union[int, str]] = VGG_SMALL, batch_norm: bool = True, dropout: float = 0.3,
                 pool_size: int = 7, hidden: int = 256):
        super().__init__()
        who = "VGG"
        positive_int(who, "in_channels", in_channels)
        positive_int(who, "num_classes", num_classes)
        positive_int(who, "pool_size", pool_size)
        if hidden:
            positive_int(who, "hidden", hidden)
        cfg = list(cfg)
        if not any(isinstance(v, int) for v in cfg):
            raise ValueError(f"VGG: cfg needs at least one convolution width, got {cfg!r}")
        layers: list[nn.Module] = []
        c = in_channels
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
                continue
            positive_int(who, "every width in cfg (or 'M' for a max-pool)", v)
            layers.append(nn.Conv2d(c, v, 3, padding=1, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(v))
            layers.append(nn.ReLU())
            c = v
        self.in_channels = in_channels
        self.min_size = 2 ** cfg.count("M")
        self.config = {"in_channels": in_channels, "num_classes": num_classes, "cfg": cfg,
                       "batch_norm": bool(batch_norm), "dropout": dropout_p(who, dropout), "pool_size": pool_size,
                       "hidden": hidden}
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(pool_size)
        flat = c * pool_size * pool_size
        head = [nn.Linear(flat, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, num_classes)] if hidden \
            else [nn.Dropout(dropout), nn.Linear(flat, num_classes)]
        self.classifier = nn.Sequential(nn.Flatten(), *head)
        init_conv_net(self)

    def forward(self, x: Tensor) -> Tensor:
        check_images("VGG", x, self.in_channels, min_size=self.min_size)
        return self.classifier(self.avgpool(self.features(x)))
