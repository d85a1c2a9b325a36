"""Ready-made models and a registry that rebuilds a model from a JSON-able config.

>>> from lucidnet import models
>>> m = models.build({"name": "mlp", "in_features": 784, "hidden": [64], "num_classes": 10})
>>> models.config_of(m)["name"]
'mlp'
"""
from .mlp import MLP
from .registry import PLUGINS, build, config_of, lookup, register, registered

__all__ = ["MLP", "PLUGINS", "build", "config_of", "lookup", "register", "registered"]
