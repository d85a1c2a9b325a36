"""A multi-layer perceptron: Linear layers with an activation between them."""
from __future__ import annotations

from typing import Sequence

from .. import nn
from .registry import register

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU, "silu": nn.SiLU,
                "elu": nn.ELU, "leaky_relu": nn.LeakyReLU}


@register("mlp")
class MLP(nn.Module):
    """``in_features -> hidden... -> num_classes``; inputs of any shape are flattened after the batch dim.

    >>> import lucidnet as ln
    >>> net = ln.models.MLP(784, [512, 256], 10)
    >>> net(ln.randn(2, 1, 28, 28)).shape
    (2, 10)
    """

    #: the config setting that holds the widths, in the order of the layers (what channel pruning rewrites)
    width_settings = ("hidden",)

    def __init__(self, in_features: int = 784, hidden: Sequence[int] = (512, 256), num_classes: int = 10,
                 activation: str = "relu", dropout: float = 0.0):
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"MLP: unknown activation {activation!r}; expected one of {sorted(_ACTIVATIONS)}")
        self.config = {"in_features": in_features, "hidden": list(hidden), "num_classes": num_classes,
                       "activation": activation, "dropout": dropout}
        layers: list[nn.Module] = [nn.Flatten()]
        sizes = [in_features, *hidden]
        for a, b in zip(sizes, sizes[1:]):
            layers += [nn.Linear(a, b), _ACTIVATIONS[activation]()]
            if dropout:
                layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(sizes[-1], num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)
