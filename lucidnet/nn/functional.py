"""Stateless forms of the layers, PyTorch's ``torch.nn.functional``: ``import lucidnet.nn.functional as F``.

Activations, ``linear`` and ``pad`` are the ops of ``lucidnet.ops`` (backward beside their forward; the
activations that PyTorch gives ``inplace=`` take it here); ``dropout`` is here; the losses come from
``lucidnet.nn.losses``.

>>> import lucidnet as ln
>>> import lucidnet.nn.functional as F
>>> F.relu(ln.tensor([-1.0, 2.0])).tolist()
[0.0, 2.0]
"""
from .. import ops
from ..ops import gelu, linear, log_softmax, one_hot, pad, sigmoid, softmax, softplus, tanh  # noqa: F401
from ..fused.attention import scaled_dot_product_attention  # noqa: F401
from ..fused.conv import conv1d, conv2d, conv_transpose2d  # noqa: F401
from ..fused.embedding import embedding  # noqa: F401
from ..fused.interpolate import interpolate  # noqa: F401
from ..fused.norm import batch_norm, group_norm, layer_norm  # noqa: F401
from ..fused.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d  # noqa: F401
from .dropout import dropout, dropout2d  # noqa: F401
from .upsample import pixel_shuffle, pixel_unshuffle  # noqa: F401
from .losses import *  # noqa: F401,F403
from .losses import __all__ as _loss_names


def relu(input, inplace: bool = False):  # noqa: A002 - PyTorch's argument names
    """max(x, 0); with ``inplace``, written into ``input`` (PyTorch's ``F.relu``)."""
    return ops.inplace.apply(input, ops.relu, inplace, "relu(inplace=True)")


def relu6(input, inplace: bool = False):  # noqa: A002
    return ops.inplace.apply(input, ops.relu6, inplace, "relu6(inplace=True)")


def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):  # noqa: A002
    return ops.inplace.apply(input, lambda t: ops.hardtanh(t, min_val, max_val), inplace, "hardtanh(inplace=True)")


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):  # noqa: A002
    return ops.inplace.apply(input, lambda t: ops.leaky_relu(t, negative_slope), inplace, "leaky_relu(inplace=True)")


def elu(input, alpha: float = 1.0, inplace: bool = False):  # noqa: A002
    return ops.inplace.apply(input, lambda t: ops.elu(t, alpha), inplace, "elu(inplace=True)")


def silu(input, inplace: bool = False):  # noqa: A002
    return ops.inplace.apply(input, ops.silu, inplace, "silu(inplace=True)")

__all__ = ["elu", "gelu", "hardtanh", "leaky_relu", "relu6", "linear", "log_softmax", "pad", "relu", "sigmoid", "silu", "softmax",
           "softplus", "tanh", "dropout", "dropout2d", "embedding", "conv1d", "conv2d", "conv_transpose2d",
           "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "batch_norm", "layer_norm", "group_norm", "interpolate",
           "scaled_dot_product_attention", "one_hot", "pixel_shuffle", "pixel_unshuffle", *_loss_names]
