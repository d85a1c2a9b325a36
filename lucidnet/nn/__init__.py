"""Layers and models: ``Module``, ``Parameter``, the layers, containers, losses, ``init`` and ``functional``;
``inference(model)`` to run a model in eval mode without a graph.

>>> import lucidnet as ln
>>> from lucidnet import nn
>>> model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.1), nn.Linear(128, 10))
>>> model
Sequential(
  (0): Linear(in_features=784, out_features=128, bias=True)
  (1): ReLU()
  (2): Dropout(p=0.1, inplace=False)
  (3): Linear(in_features=128, out_features=10, bias=True)
)
"""
from . import functional, init, utils
from .activation import ELU, GELU, Hardtanh, LeakyReLU, ReLU6, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Softplus, Tanh
from .attention import MultiheadAttention
from .container import ModuleDict, ModuleList, Sequential
from .conv import Conv1d, Conv2d, ConvTranspose2d
from .dropout import Dropout, Dropout2d
from .embedding import Embedding
from .inference import inference
from .linear import Flatten, Identity, Linear
from .loss import *  # noqa: F401,F403
from .loss import __all__ as _loss_names
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from .sync_batchnorm import SyncBatchNorm
from .parameter import Parameter
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
                          TransformerEncoderLayer)
from .upsample import PixelShuffle, PixelUnshuffle, Upsample, UpsamplingBilinear2d, UpsamplingNearest2d
from . import parallel
from .parallel import DataParallel, DistributedDataParallel

__all__ = [
    "Module", "Parameter", "Linear", "Embedding", "Identity", "Flatten", "Sequential", "ModuleList", "ModuleDict",
    "Dropout", "Dropout2d", "Conv1d", "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
    "BatchNorm1d", "BatchNorm2d", "SyncBatchNorm", "LayerNorm", "GroupNorm", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell",
    "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "PixelShuffle", "PixelUnshuffle", "DataParallel", "DistributedDataParallel",
    "parallel", "MultiheadAttention",
    "Transformer", "TransformerEncoder", "TransformerDecoder", "TransformerEncoderLayer", "TransformerDecoderLayer",
    "ReLU", "ReLU6", "Hardtanh", "Sigmoid", "Tanh", "LeakyReLU", "ELU", "GELU", "SiLU", "Softplus", "Softmax", "LogSoftmax",
    "functional", "init", "utils", "inference", *_loss_names,
]
