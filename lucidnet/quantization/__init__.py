"""Quantization: transforms that take a float32 model and return an int8 one, never editing the layers.

- :func:`quantize_dynamic`: int8 weights (per output channel, symmetric), activations quantized per tensor at
  run time, for ``Linear`` and the recurrent layers (``LSTM``, ``GRU``, ``RNN``): PyTorch's
  ``torch.ao.quantization.quantize_dynamic``;
- :func:`quantize_static`: convolutions and ``Linear`` with their inputs' ranges calibrated on sample batches
  (observers: min-max, percentile, entropy), BatchNorm folded first (:func:`fold_batchnorm`, a transform of its
  own);
- :func:`spec_of` / :func:`restore`: what a quantized model's state dict needs to load into a rebuilt model
  (run directories keep it in ``config.json``; ``lucidnet quantize RUN --out RUN_INT8``).

The int8 products accumulate in int32 in ``lucidnet.kernels`` (``qgemm``: the CPU's VNNI instruction where it
has one, an exact float32-BLAS form elsewhere). Quantized layers are inference-only.

>>> import lucidnet as ln
>>> from lucidnet import nn
>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).eval()
>>> q = ln.quantization.quantize_dynamic(model, {nn.Linear}, dtype=ln.qint8)
>>> x = ln.randn(2, 4)
>>> with ln.no_grad():
...     bool(abs(q(x) - model(x)).max() < 0.05)
True
"""
from .base import QDType, QuantizedModule, qint8, quint8
from .conv import QuantizedConv2d
from .embedding import QuantizedEmbedding
from .dynamic import DEFAULT_DYNAMIC_SPEC, DYNAMIC_MAPPING, quantize_dynamic
from .linear import DynamicQuantizedLinear, QuantizedLinear
from .rnn import DynamicQuantizedGRU, DynamicQuantizedLSTM, DynamicQuantizedRNN
from .fold import FoldedBatchNorm, fold_batchnorm
from .observers import HistogramObserver, MinMaxObserver, PercentileObserver
from .spec import restore, spec_of
from .static import quantize_static

__all__ = ["quantize_dynamic", "quantize_static", "fold_batchnorm", "FoldedBatchNorm", "QuantizedConv2d",
           "QuantizedEmbedding",
           "MinMaxObserver", "PercentileObserver", "HistogramObserver", "qint8", "quint8", "QDType", "QuantizedModule", "DynamicQuantizedLinear",
           "QuantizedLinear", "DynamicQuantizedLSTM", "DynamicQuantizedGRU", "DynamicQuantizedRNN",
           "DYNAMIC_MAPPING", "DEFAULT_DYNAMIC_SPEC", "spec_of", "restore"]
