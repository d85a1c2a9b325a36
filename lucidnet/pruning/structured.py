"""Structured channel pruning: remove whole output channels of convolutions and hidden units of linear layers,
so the network is physically smaller (fewer FLOPs, a smaller file), not just sparse.

``prune_channels(model, amount, example_input)`` works on plain chains of layers, like ``cnn`` (SimpleCNN),
``vgg`` and ``mlp``: Conv2d [BatchNorm2d] activation [pool] ... Conv2d ... Flatten Linear [act] ... Linear. In
every layer that feeds another (all but the output layer) it removes ``round(amount * width)`` channels (at
least one is kept), those of least importance:

- a convolution or linear layer followed by batch norm: ``|gamma|``, the batch norm's scale (Liu et al. 2017,
  "Learning efficient convolutional networks through network slimming"): batch norm rescales each channel, so
  the filter's own norm says little about what the channel passes on;
- otherwise: the L1 norm of the channel's filter (its weights; Li et al. 2017, "Pruning filters for efficient
  ConvNets").

The removed channels' filters, biases and batch-norm entries go, and so do the next layer's inputs from them (a
Linear after Flatten: the input columns of the channel, channel x spatial). The result is a new model built from
the registry config with the new widths written into it (``models.build(model.config)`` rebuilds it: run
directories load it), with the kept weights; the given model is not changed.

How the chain is found: one forward pass on ``example_input`` with a forward hook on every leaf layer; each
layer's input must be the previous layer's output. A residual sum (ResNet, MobileNetV2), a concatenation, an op
in ``forward`` between layers, a layer used twice, a depthwise convolution: each breaks that, and the model is
refused with an error naming the layer and the reason, rather than pruned into a different function.

>>> import lucidnet as ln
>>> net = ln.models.build({"name": "mlp", "in_features": 20, "hidden": [16, 8], "num_classes": 3})
>>> small = prune_channels(net, 0.5, ln.randn(1, 20))
>>> small.config["hidden"], small(ln.randn(4, 20)).shape
([8, 4], (4, 3))
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import models, nn
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from .unstructured import is_pruned

__all__ = ["prune_channels", "ChannelPruningError"]

# layers that act on each channel (or unit) alone, so a channel removed before them is simply absent after them
_CHANNELWISE = (nn.ReLU, nn.Hardtanh, nn.Sigmoid, nn.Tanh, nn.SiLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.Softplus,
                nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.Dropout, nn.Identity)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
_KNOWN = "Conv2d, Linear, BatchNorm1d/2d, element-wise activations, pooling, dropout, Flatten and Identity"


class ChannelPruningError(ValueError):
    """The model is not a network that channel pruning can narrow without changing what it computes."""


@dataclass
class _Call:
    name: str
    module: nn.Module
    input: Any
    output: Any


@dataclass
class _Group:
    """A layer whose output channels are pruned, the batch norm after it, the layer that reads them, and the
    spatial size each channel has where that layer reads it (after Flatten; 1 for a convolution)."""
    producer: _Call
    norm: _Call | None = None
    consumer: _Call | None = None
    spatial: int = 1
    flattened: bool = False
    keep: np.ndarray = field(default=None)


def _who(model: nn.Module) -> str:
    name = getattr(type(model), "registry_name", None)
    return f"{type(model).__name__}" + (f" ({name!r})" if name else "")


def _trace(model: nn.Module, example_input: Tensor) -> list[_Call]:
    """The leaf layers in the order they ran, each with its input and output; refused unless they form a chain."""
    who = _who(model)
    leaves = [(n, m) for n, m in model.named_modules() if not m._modules]
    calls: list[_Call] = []
    names = {id(m): n for n, m in leaves}

    def hook(m: nn.Module, inputs: tuple, out: Any) -> None:
        calls.append(_Call(names[id(m)], m, inputs[0] if len(inputs) == 1 else inputs, out))

    handles = [m.register_forward_hook(hook) for _, m in leaves]
    was_training = model.training
    try:
        model.eval()
        with no_grad():
            out = model(example_input)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    for n, m in model.named_modules():
        if m._modules and any(p is not None for p in m._parameters.values()):
            raise ChannelPruningError(f"channel pruning: {who}: {type(m).__name__} {n!r} has parameters of its own "
                                      "beside its sub-layers; it cannot be read as a chain of layers")
    seen = set()
    for i, c in enumerate(calls):
        if id(c.module) in seen:
            raise ChannelPruningError(f"channel pruning: {who}: layer {c.name!r} runs more than once in a forward "
                                      "pass (a shared layer); only plain chains of layers can be pruned")
        seen.add(id(c.module))
        if i and c.input is not calls[i - 1].output:
            raise ChannelPruningError(
                f"channel pruning: {who} is not a plain chain of layers: the input of {c.name!r} "
                f"({type(c.module).__name__}) is not the output of the layer run before it ({calls[i - 1].name!r}); "
                "something happens between them in forward (a residual sum as in ResNet and MobileNetV2, a "
                "concatenation, a fused path), and removing channels on one side of it would change the network")
    unused = [n for n, m in leaves if id(m) not in seen and any(p is not None for p in m._parameters.values())]
    if unused:
        raise ChannelPruningError(f"channel pruning: {who}: layer {unused[0]!r} has parameters but did not run in "
                                  "the forward pass on example_input")
    if not calls or out is not calls[-1].output:
        raise ChannelPruningError(f"channel pruning: {who}: its output is not the output of its last layer "
                                  f"({calls[-1].name if calls else 'none ran'}); only plain chains can be pruned")
    return calls


def _groups(model: nn.Module, calls: list[_Call]) -> list[_Group]:
    """The layers to prune, with what follows each of them, in the order they run."""
    who = _who(model)
    groups: list[_Group] = []
    current: _Group | None = None
    for c in calls:
        m = c.module
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            if isinstance(m, nn.Conv2d) and m.groups != 1:
                raise ChannelPruningError(f"channel pruning: {who}: {c.name!r} is a grouped (depthwise) "
                                          f"convolution (groups={m.groups}); its channels are tied to its inputs'")
            if current is not None:
                if isinstance(m, nn.Conv2d) and (isinstance(current.producer.module, nn.Linear) or current.spatial > 1):
                    raise ChannelPruningError(f"channel pruning: {who}: convolution {c.name!r} reads a flattened or "
                                              "linear layer's output")
                if isinstance(m, nn.Linear) and isinstance(current.producer.module, nn.Conv2d) and \
                        not current.flattened:
                    raise ChannelPruningError(f"channel pruning: {who}: linear layer {c.name!r} reads a "
                                              "convolution's output without a Flatten between them")
                current.consumer = c
                groups.append(current)
            current = _Group(c)
        elif isinstance(m, _NORMS):
            if current is None:
                continue  # normalises the input: its channels are not pruned
            if current.norm is not None or current.flattened:
                raise ChannelPruningError(f"channel pruning: {who}: batch norm {c.name!r} does not directly follow "
                                          f"the layer whose channels it normalises ({current.producer.name!r})")
            current.norm = c
        elif isinstance(m, nn.Flatten):
            if (m.start_dim, m.end_dim) != (1, -1):
                raise ChannelPruningError(f"channel pruning: {who}: {c.name!r} is Flatten(start_dim={m.start_dim}, "
                                          f"end_dim={m.end_dim}); only Flatten() over all but the batch dim is known")
            if current is not None:
                current.spatial = int(np.prod(c.input.shape[2:])) if c.input.ndim > 2 else 1
                current.flattened = True
        elif not isinstance(m, _CHANNELWISE):
            raise ChannelPruningError(f"channel pruning: {who}: layer {c.name!r} ({type(m).__name__}) is not one it "
                                      f"knows how to narrow (it knows {_KNOWN})")
    return groups


def _importance(model: nn.Module, g: _Group) -> np.ndarray:
    if g.norm is not None and g.norm.module.weight is not None:
        return np.abs(g.norm.module.weight.array)
    w = g.producer.module.weight.array
    return np.abs(w).reshape(w.shape[0], -1).sum(axis=1)


def _keep(importance: np.ndarray, amount: float) -> np.ndarray:
    width = importance.size
    n_keep = max(1, width - round(amount * width))
    return np.sort(np.argsort(-importance, kind="stable")[:n_keep])


def _narrow(state: dict, model: nn.Module, groups: list[_Group]) -> None:
    prefix = {id(m): n + "." if n else "" for n, m in model.named_modules()}
    for g in groups:
        p = prefix[id(g.producer.module)]
        state[p + "weight"] = state[p + "weight"][g.keep]
        if p + "bias" in state:
            state[p + "bias"] = state[p + "bias"][g.keep]
        if g.norm is not None:
            n = prefix[id(g.norm.module)]
            for key in ("weight", "bias", "running_mean", "running_var"):
                if n + key in state:
                    state[n + key] = state[n + key][g.keep]
        c = prefix[id(g.consumer.module)] + "weight"
        cols = (g.keep[:, None] * g.spatial + np.arange(g.spatial)[None, :]).reshape(-1)
        state[c] = state[c][:, cols]


def _width_slots(model: nn.Module, config: dict) -> list[tuple[str, int | None]]:
    """(setting, index in its list or None) of each width in the config, in the order of the layers."""
    keys = getattr(type(model), "width_settings", None)
    if not keys:
        raise ChannelPruningError(f"channel pruning: {_who(model)} does not say which config settings hold its "
                                  "widths (a width_settings class attribute), so a pruned copy could not be rebuilt "
                                  "from its config")
    slots = []
    for key in keys:
        v = config.get(key)
        if isinstance(v, (list, tuple)):
            slots += [(key, i) for i, x in enumerate(v) if isinstance(x, int) and not isinstance(x, bool)]
        elif isinstance(v, int) and not isinstance(v, bool) and v > 0:
            slots.append((key, None))
    return slots


def prune_channels(model: nn.Module, amount: float, example_input: Tensor) -> nn.Module:
    """A copy of ``model`` with ``amount`` (a fraction in [0, 1)) of the channels of each convolution and the
    units of each hidden linear layer removed, built from its config with the new widths (see the module's
    docstring for which channels go). ``example_input``: a batch the model takes (its size only matters).
    The copy is in ``model``'s mode (training or eval)."""
    who = _who(model)
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not 0.0 <= amount < 1.0:
        raise ValueError(f"prune_channels: amount must be a fraction in [0, 1), got {amount!r}")
    if not isinstance(model, nn.Module):
        raise TypeError(f"prune_channels: expected a lucidnet Module, got {type(model).__name__}")
    if is_pruned(model):
        raise ChannelPruningError(f"channel pruning: {who} has pruning masks; make them permanent first "
                                  "(lucidnet.pruning.remove)")
    try:
        config = models.config_of(model)
    except TypeError:
        raise ChannelPruningError(f"channel pruning: {who} is not a registered model (lucidnet.models.register): "
                                  "the pruned network is rebuilt from its config") from None
    groups = _groups(model, _trace(model, example_input))
    if not groups:
        raise ChannelPruningError(f"channel pruning: {who} has no layer that feeds another (nothing to narrow)")
    slots = _width_slots(model, config)
    widths = [g.producer.module.weight.shape[0] for g in groups]
    recorded = [config[k] if i is None else config[k][i] for k, i in slots]
    if recorded != widths:
        raise ChannelPruningError(f"channel pruning: {who}: its config's width settings "
                                  f"({', '.join(type(model).width_settings)}) hold the widths {recorded}, the "
                                  f"network's prunable layers have {widths}")
    for g in groups:
        g.keep = _keep(_importance(model, g), amount)
    new_config = {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in config.items()}
    for (key, i), g in zip(slots, groups):
        if i is None:
            new_config[key] = int(g.keep.size)
        else:
            new_config[key][i] = int(g.keep.size)
    state = model.state_dict()
    _narrow(state, model, groups)
    pruned = models.build(new_config)
    want = {k: tuple(v.shape) for k, v in state.items()}
    got = {k: tuple(v.shape) for k, v in pruned.state_dict().items()}
    if want != got:
        diff = sorted(k for k in set(want) | set(got) if want.get(k) != got.get(k))
        raise ChannelPruningError(f"channel pruning: {who}: the config with the new widths does not rebuild the "
                                  f"pruned network (differs at {', '.join(diff[:5])})")
    pruned.load_state_dict(state)
    pruned.train(model.training)
    return pruned
