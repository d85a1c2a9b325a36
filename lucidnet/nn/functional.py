"""Stateless forms of the layers, PyTorch's ``torch.nn.functional``: ``import lucidnet.nn.functional as F``.

Activations, ``linear`` and ``pad`` are the ops of ``lucidnet.ops`` (backward beside their forward);
``dropout`` is here; the losses come from ``lucidnet.nn.losses``.

>>> import lucidnet as ln
>>> import lucidnet.nn.functional as F
>>> F.relu(ln.tensor([-1.0, 2.0])).tolist()
[0.0, 2.0]
"""
from ..ops import (elu, gelu, leaky_relu, linear, log_softmax, pad, relu, sigmoid, silu,  # noqa: F401
                   softmax, softplus, tanh)
from .dropout import dropout  # noqa: F401
from .losses import *  # noqa: F401,F403
from .losses import __all__ as _loss_names

__all__ = ["elu", "gelu", "leaky_relu", "linear", "log_softmax", "pad", "relu", "sigmoid", "silu", "softmax",
           "softplus", "tanh", "dropout", *_loss_names]
