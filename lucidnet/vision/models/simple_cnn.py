"""``SimpleCNN``: the benchmarks' ``cnn`` network (two 3x3 conv + max-pool stages, two linear layers), with
dropout before the last layer."""
from __future__ import annotations

from typing import Sequence, Union

from ... import nn
from ...models.registry import register
from ...tensor import Tensor
from ._common import check_images, dropout_p, pooled_size, positive_int, size_pair


@register("cnn")
class SimpleCNN(nn.Module):
    """conv3x3(in->32)-ReLU-maxpool2, conv3x3(32->64)-ReLU-maxpool2, flatten, linear(128)-ReLU, dropout,
    linear(num_classes): the ``cnn`` workload of ``shared/bench/torch_anchor.py`` plus dropout. ``channels`` (the
    two conv widths, default (32, 64)) and ``hidden`` (128) are settings so that a channel-pruned network
    (``lucidnet.pruning.prune_channels``) rebuilds from its config.

    Parameter names are those of the same network in PyTorch built as ``features`` (conv stages) and
    ``classifier`` (``Flatten, Linear, ReLU, Dropout, Linear``) ``nn.Sequential`` s, so its state dict
    loads. ``image_size``: the input's height and width (28 for (Fashion-)MNIST, 32 for CIFAR-sized input).

    >>> import lucidnet as ln
    >>> net = SimpleCNN()
    >>> net(ln.randn(2, 1, 28, 28)).shape
    (2, 10)
    >>> sum(p.numel() for p in net.parameters())
    421642
    """

    #: the config settings that hold the widths, in the order of the layers (what channel pruning rewrites)
    width_settings = ("channels", "hidden")

    def __init__(self, in_channels: int = 1, num_classes: int = 10, image_size: Union[int, Sequence[int]] = 28,
                 dropout: float = 0.25, channels: Sequence[int] = (32, 64), hidden: int = 128):
        super().__init__()
        who = "SimpleCNN"
        positive_int(who, "in_channels", in_channels)
        positive_int(who, "num_classes", num_classes)
        positive_int(who, "hidden", hidden)
        channels = list(channels) if isinstance(channels, (list, tuple)) else channels
        if not isinstance(channels, list) or len(channels) != 2:
            raise ValueError(f"{who}: channels must be the two conv stages' widths, e.g. [32, 64], got {channels!r}")
        c1, c2 = (positive_int(who, "every width in channels", c) for c in channels)
        self.image_size = size_pair(who, image_size)
        h, w = (pooled_size(s, 2) for s in self.image_size)
        if h < 1 or w < 1:
            raise ValueError(f"{who}: image_size must be at least 4x4 (two 2x2 max-pools), got {image_size!r}")
        self.in_channels = in_channels
        self.config = {"in_channels": in_channels, "num_classes": num_classes, "image_size": list(self.image_size),
                       "dropout": dropout_p(who, dropout), "channels": [c1, c2], "hidden": hidden}
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(c2 * h * w, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        check_images("SimpleCNN", x, self.in_channels, self.image_size)
        return self.classifier(self.features(x))

