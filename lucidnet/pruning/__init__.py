"""Pruning: model transforms that zero or remove weights, each taking a model and returning one.

- Unstructured magnitude pruning by masks, ``torch.nn.utils.prune``'s API (``l1_unstructured``,
  ``global_unstructured``, ``remove``, ``is_pruned``, ...): ``name_orig`` + ``name_mask``, a forward pre-hook.
- A sparsity schedule for pruning while fine-tuning (Zhu & Gupta 2017): ``PolynomialSparsity``,
  ``GradualPruner`` (``lucidnet.train.callbacks.GradualPruning`` runs it in ``fit``).
- Structured channel pruning that makes a network physically smaller: ``prune_channels``.

>>> import lucidnet as ln
>>> from lucidnet import pruning
>>> net = ln.nn.Sequential(ln.nn.Linear(8, 8), ln.nn.ReLU(), ln.nn.Linear(8, 2))
>>> _ = pruning.l1_unstructured(net[0], "weight", amount=0.25)
>>> pruning.is_pruned(net)
True
"""
from .structured import ChannelPruningError, prune_channels
from .schedule import GradualPruner, PolynomialSparsity, prunable_weights
from .unstructured import (BasePruningMethod, CustomFromMask, Identity, L1Unstructured, PruningContainer,
                           RandomUnstructured, custom_from_mask, global_unstructured, identity, is_pruned,
                           l1_unstructured, pruned_parameters, random_unstructured, remove)

__all__ = ["BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured", "L1Unstructured",
           "CustomFromMask", "identity", "random_unstructured", "l1_unstructured", "global_unstructured",
           "custom_from_mask", "remove", "is_pruned", "pruned_parameters", "PolynomialSparsity", "GradualPruner",
           "prunable_weights", "prune_channels", "ChannelPruningError"]
