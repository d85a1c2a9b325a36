"""lucidnet: a deep-learning library whose whole engine is written on NumPy.

>>> import lucidnet as ln
>>> x = ln.tensor([3.0], requires_grad=True)
>>> (x ** 2).sum().backward()
>>> x.grad
tensor([6.])
"""
from . import autograd, backend, config, ops
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .autograd.capture import compile  # noqa: A004 - PyTorch's name (torch.compile)
from .config import get_num_threads, set_allocator_cache, set_flush_denormal, set_num_threads, show_config
from .ops import (add, argsort, bmm, cumsum, div, einsum, flip, mm, mul, narrow, neg, pow, scatter, sort,  # noqa: A004
                  sub, topk, tril, triu)
from .ops import moveaxis, movedim, select, swapaxes, swapdims, unbind, unflatten
from .ops import (acos, asin, atan, ceil, cosh, exp2, expm1, floor, log1p, log2, log10, reciprocal, round,  # noqa: A004
                  rsqrt, sign, sinh, square, tan, trunc)
from .ops import (abs, argmax, argmin, cat, chunk, clamp, clip, concatenate, cos, exp, flatten, gather, log,  # noqa: A004
                  logsumexp, matmul, maximum, mean, minimum, pad, permute, reshape, sigmoid, sin, softmax, split, sqrt,
                  squeeze, stack, std, sum, tanh, transpose, unsqueeze, var, where, relu, log_softmax, max, min)
from .random import Generator, get_rng_state, manual_seed, set_rng_state
from .tensor import (Tensor, arange, as_tensor, bool_, empty, eye, float16, float32, float64, from_numpy, full,
                     get_default_dtype, int8, int16, int32, int64, linspace, full_like, empty_like, rand_like, randn_like,
                     multinomial, Size, is_tensor, numel, ones, ones_like, rand, randint, randn, randperm,
                     set_default_dtype, tensor, uint8, zeros, zeros_like)
from .device import accelerator, backends, cuda, device
from .ops.out import with_out as _with_out

# PyTorch's out= on the top-level functions that have it (lucidnet.ops keeps the plain ones)
(add, sub, mul, div, pow, neg, matmul, mm, bmm, cat, stack, exp, log, sqrt, sin, cos, abs, clamp, clip,  # noqa: A001
 maximum, minimum, sum, mean, cumsum, tanh, sigmoid, einsum, where) = (
    _with_out(f) for f in (add, sub, mul, div, pow, neg, matmul, mm, bmm, cat, stack, exp, log, sqrt, sin, cos, abs,
                           clamp, clip, maximum, minimum, sum, mean, cumsum, tanh, sigmoid, einsum, where))
(acos, asin, atan, ceil, cosh, exp2, expm1, floor, log1p, log2, log10, reciprocal, round, rsqrt, sign,  # noqa: A001
 sinh, square, tan, trunc) = (
    _with_out(f) for f in (acos, asin, atan, ceil, cosh, exp2, expm1, floor, log1p, log2, log10, reciprocal, round,
                           rsqrt, sign, sinh, square, tan, trunc))

# PyTorch's dtype names (torch.float is float32, torch.long int64, ...)
float = float32  # noqa: A001
double = float64
half = float16
long = int64
int = int32  # noqa: A001
short = int16
bool = bool_  # noqa: A001

__version__ = "0.1.0"
from . import nn  # noqa: E402  (after the engine it builds on)
from .nn import inference  # noqa: E402
from . import optim  # noqa: E402
from . import data  # noqa: E402
from . import utils  # noqa: E402
from . import models  # noqa: E402
from . import fused, kernels  # noqa: E402

# The training loop, saving, the data sets and the applications are imported on first use (PEP 562), so
# ``import lucidnet`` stays light; the applications' models are found by name through the registry's plugin
# table (``lucidnet.models.registry.PLUGINS``).
_LAZY = ("datasets", "serialization", "train", "inspect", "recsys", "text", "vision", "sklearn", "cli", "onnx",
         "quantization", "pruning", "distill")
_LAZY_NAMES = {"fit": "train", "evaluate": "train", "predict": "train", "save": "serialization.objects",
               "load": "serialization.objects", "qint8": "quantization", "quint8": "quantization"}


def __getattr__(name: str):
    import importlib
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(f".{_LAZY_NAMES[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lucidnet' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_LAZY_NAMES))
