"""lucidnet: a deep-learning library whose whole engine is written on NumPy.

>>> import lucidnet as ln
>>> x = ln.tensor([3.0], requires_grad=True)
>>> (x ** 2).sum().backward()
>>> float(x.grad[0])
6.0
"""
from . import autograd, backend, ops
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .backend import set_allocator_cache
from .ops import (abs, argmax, argmin, cat, chunk, clamp, clip, concatenate, exp, flatten, gather, log,  # noqa: A004
                  logsumexp, matmul, maximum, mean, minimum, pad, permute, reshape, sigmoid, softmax, split, sqrt,
                  squeeze, stack, std, sum, tanh, transpose, unsqueeze, var, where, relu, log_softmax, max, min)
from .random import get_rng_state, manual_seed, set_rng_state
from .tensor import (Tensor, arange, as_tensor, bool_, empty, eye, float16, float32, float64, from_numpy, full,
                     get_default_dtype, int32, int64, linspace, ones, ones_like, rand, randint, randn, randperm,
                     set_default_dtype, tensor, uint8, zeros, zeros_like)

__version__ = "0.1.0"
from . import nn  # noqa: E402  (after the engine it builds on)
from .nn import inference  # noqa: E402
from . import optim  # noqa: E402
from . import data, datasets  # noqa: E402
from .serialization import load, save  # noqa: E402
from . import train  # noqa: E402
from .train import evaluate, fit, predict  # noqa: E402
from . import models  # noqa: E402
from . import recsys  # noqa: E402  (registers the recommenders in lucidnet.models)
from . import inspect, text, vision  # noqa: E402
