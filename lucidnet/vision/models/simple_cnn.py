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
    linear(num_classes): the ``cnn`` workload of ``shared/bench/torch_anchor.py`` plus dropout.

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

    def __init__(self, in_channels: int = 1, num_classes: int = 10, image_size: Union[int, Sequence[int]] = 28,
                 dropout: float = 0.25):
        super().__init__()
        who = "SimpleCNN"
        positive_int(who, "in_channels", in_channels)
        positive_int(who, "num_classes", num_classes)
        self.image_size = size_pair(who, image_size)
        h, w = (pooled_size(s, 2) for s in self.image_size)
        if h < 1 or w < 1:
            raise ValueError(f"{who}: image_size must be at least 4x4 (two 2x2 max-pools), got {image_size!r}")
        self.in_channels = in_channels
        self.config = {"in_channels": in_channels, "num_classes": num_classes, "image_size": list(self.image_size),
                       "dropout": dropout_p(who, dropout)}
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(64 * h * w, 128), nn.ReLU(), nn.Dropout(dropout), nn.Linear(128, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        check_images("SimpleCNN", x, self.in_channels, self.image_size)
        return self.classifier(self.features(x))

