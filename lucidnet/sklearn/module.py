"""The network an estimator trains: an MLP by default, a user's factory's, or a copy of a user's module.

>>> import lucidnet as ln
>>> net = build_module(None, 4, 3, hidden_layer_sizes=(8,), activation="relu", dropout=0.0)
>>> [type(m).__name__ for m in net.net]
['Flatten', 'Linear', 'ReLU', 'Linear']
>>> build_module(lambda n_in, n_out: ln.nn.Linear(n_in, n_out), 4, 3, (8,), "relu", 0.0).weight.shape
(3, 4)
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Sequence, Union

import numpy as np

from .. import models, nn
from ..train import predict

__all__ = ["ModuleSpec", "build_module", "check_output"]

# None (an MLP), a factory ``module(n_features_in, n_outputs) -> nn.Module``, or a module (copied at each fit)
ModuleSpec = Union[None, Callable[[int, int], nn.Module], nn.Module]


def build_module(module: ModuleSpec, n_features: int, n_outputs: int, hidden_layer_sizes: Sequence[int],
                 activation: str, dropout: float) -> nn.Module:
    """The module to train for ``n_features`` inputs and ``n_outputs`` outputs (logits or values)."""
    if module is None:
        hidden = [int(h) for h in np.atleast_1d(hidden_layer_sizes)]
        if any(h < 1 for h in hidden):
            raise ValueError(f"hidden_layer_sizes must be positive, got {hidden_layer_sizes!r}")
        return models.build({"name": "mlp", "in_features": n_features, "hidden": hidden, "num_classes": n_outputs,
                             "activation": activation, "dropout": dropout})
    if isinstance(module, nn.Module):
        return copy.deepcopy(module)
    if callable(module):
        built = module(n_features, n_outputs)
        if not isinstance(built, nn.Module):
            raise TypeError(f"module({n_features}, {n_outputs}) returned a {type(built).__name__}, not a "
                            "lucidnet nn.Module")
        return built
    raise TypeError(f"module must be None, a lucidnet nn.Module or a function (n_features_in, n_outputs) -> "
                    f"nn.Module; got {type(module).__name__}")


def check_output(net: Any, x: np.ndarray, n_outputs: int) -> None:
    """A clear error when ``net`` does not map the rows ``x`` (n, n_features) to ``(n, n_outputs)``."""
    out = predict(net, x)
    if not isinstance(out, np.ndarray) or out.shape != (len(x), n_outputs):
        got = getattr(out, "shape", type(out).__name__)
        raise ValueError(f"the module maps {x.shape} inputs to {got}; the estimator needs "
                         f"(n_samples, {n_outputs}) outputs ({n_outputs} = the number of classes or targets)")
