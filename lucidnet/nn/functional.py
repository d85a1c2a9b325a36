"""Stateless forms of the layers, PyTorch's ``torch.nn.functional``: ``import lucidnet.nn.functional as F``.

Activations, ``linear`` and ``pad`` are the ops of ``lucidnet.ops`` (backward beside their forward);
``dropout`` is here; the losses come from ``lucidnet.nn.losses``.

>>> import lucidnet as ln
>>> import lucidnet.nn.functional as F
>>> F.relu(ln.tensor([-1.0, 2.0])).tolist()
[0.0, 2.0]
"""
from ..ops import (elu, gelu, hardtanh, leaky_relu, linear, log_softmax, pad, relu, relu6, sigmoid,  # noqa: F401
                   silu, softmax, softplus, tanh)
from ..fused.attention import scaled_dot_product_attention  # noqa: F401
from ..fused.conv import conv1d, conv2d, conv_transpose2d  # noqa: F401
from ..fused.embedding import embedding  # noqa: F401
from ..fused.interpolate import interpolate  # noqa: F401
from ..fused.norm import batch_norm, group_norm, layer_norm  # noqa: F401
from ..fused.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d  # noqa: F401
from .dropout import dropout, dropout2d  # noqa: F401
from .losses import *  # noqa: F401,F403
from .losses import __all__ as _loss_names

__all__ = ["elu", "gelu", "hardtanh", "leaky_relu", "relu6", "linear", "log_softmax", "pad", "relu", "sigmoid", "silu", "softmax",
           "softplus", "tanh", "dropout", "dropout2d", "embedding", "conv1d", "conv2d", "conv_transpose2d",
           "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "batch_norm", "layer_norm", "group_norm", "interpolate",
           "scaled_dot_product_attention", *_loss_names]
