"""Magnitude pruning by masks, with ``torch.nn.utils.prune``'s names and semantics.

Pruning parameter ``name`` of a module moves the parameter to ``name + "_orig"`` (the same ``Parameter`` object,
so an optimizer built before still holds it), adds a ``name + "_mask"`` buffer of 0s and 1s, and a forward
pre-hook sets ``module.name = name_orig * name_mask`` (a plain tensor, not a parameter) before every forward:
the layer's own code is untouched, and gradients reach ``name_orig`` only through the mask. ``remove`` makes the
pruning permanent (``name`` a parameter again, holding the zeros). Pruning a parameter again combines the masks
as PyTorch's ``PruningContainer`` does: an unstructured method's ``amount`` counts the entries still unpruned.

``amount``: a float in [0, 1] is the fraction of the entries to prune (``round(amount * n)``, Python's
rounding, as PyTorch), an int the number of entries.

>>> import lucidnet as ln
>>> fc = ln.nn.Linear(4, 3)
>>> _ = l1_unstructured(fc, "weight", amount=0.5)
>>> sorted(n for n, _ in fc.named_parameters()), sorted(n for n, _ in fc.named_buffers())
(['bias', 'weight_orig'], ['weight_mask'])
>>> int(fc.weight_mask.array.sum()), is_pruned(fc)
(6, True)
>>> _ = remove(fc, "weight"); is_pruned(fc), int((fc.weight.array == 0).sum())
(False, 6)
"""
from __future__ import annotations

import numbers
from typing import Any, Iterable, Mapping

import numpy as np

from ..autograd import version
from ..autograd.grad_mode import no_grad
from ..nn.module import Module
from ..nn.parameter import Parameter
from ..random import generator
from ..tensor import Tensor

__all__ = ["BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured", "L1Unstructured",
           "CustomFromMask", "identity", "random_unstructured", "l1_unstructured", "global_unstructured",
           "custom_from_mask", "remove", "is_pruned", "pruned_parameters"]


def _as_array(t: Any) -> np.ndarray:
    return t.array if isinstance(t, Tensor) else np.asarray(t)


def _validate_amount_init(amount: Any) -> None:
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount!r}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or (
            not isinstance(amount, numbers.Integral) and not 0.0 <= float(amount) <= 1.0):
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a non-negative integer")


def _nparams_toprune(amount: float | int, tensor_size: int) -> int:
    if isinstance(amount, numbers.Integral):
        if amount > tensor_size:
            raise ValueError(f"amount={amount} should be smaller than the number of parameters to prune={tensor_size}")
        return int(amount)
    return round(amount * tensor_size)


class BasePruningMethod:
    """A way of computing a mask (``compute_mask``), and the forward pre-hook that applies it. ``PRUNING_TYPE``
    says how masks combine when a parameter is pruned again: ``"unstructured"`` (the new mask is computed
    over the entries still unpruned) or ``"global"`` (over the whole tensor)."""

    PRUNING_TYPE = "unstructured"
    _tensor_name: str

    def __call__(self, module: Module, inputs: tuple) -> None:
        setattr(module, self._tensor_name, self.apply_mask(module))

    def compute_mask(self, t: Any, default_mask: Any) -> Tensor:
        """The new mask (a tensor of t's shape and dtype) for importance scores ``t``, given the mask so far."""
        t, default = _as_array(t), _as_array(default_mask)
        return Tensor._make(self._mask(np.asarray(t), default.copy()), None)

    def _mask(self, t: np.ndarray, mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def apply_mask(self, module: Module) -> Tensor:
        """``name_orig * name_mask``: the pruned tensor, in the graph when gradients are recorded."""
        orig = getattr(module, self._tensor_name + "_orig")
        return orig * getattr(module, self._tensor_name + "_mask")

    @classmethod
    def apply(cls, module: Module, name: str, *args: Any, importance_scores: Any = None,
              **kwargs: Any) -> "BasePruningMethod":
        """Prune ``module``'s parameter ``name`` with ``cls(*args, **kwargs)`` (see the module's docstring)."""
        return _apply(module, name, cls(*args, **kwargs), importance_scores)

    def prune(self, t: Any, default_mask: Any = None, importance_scores: Any = None) -> Tensor:
        """``t`` times the mask computed from ``importance_scores`` (default: ``t``)."""
        arr = _as_array(t)
        scores = arr if importance_scores is None else _as_array(importance_scores)
        default = np.ones_like(arr) if default_mask is None else _as_array(default_mask)
        return Tensor._make(arr * self.compute_mask(scores, default).array, None)

    def remove(self, module: Module) -> None:
        """Make the pruning permanent: ``name`` a parameter again (the ``_orig`` one, zeros written into it),
        ``name_orig`` and ``name_mask`` gone, the hook removed."""
        name = self._tensor_name
        if name + "_orig" not in module._parameters:
            raise ValueError(f"Parameter '{name}' of module {type(module).__name__} has to be pruned before pruning "
                             "can be removed")
        orig = module._parameters[name + "_orig"]
        orig.array *= getattr(module, name + "_mask").array
        version.bump(orig.array)
        delattr(module, name)
        delattr(module, name + "_orig")
        delattr(module, name + "_mask")
        setattr(module, name, orig)
        self._handle.remove()


class PruningContainer(BasePruningMethod):
    """The pruning methods applied to one parameter, in order; its mask is the combination of theirs."""

    def __init__(self, *methods: BasePruningMethod):
        self._pruning_methods: tuple = ()
        for m in methods:
            self.add_pruning_method(m)

    def add_pruning_method(self, method: BasePruningMethod) -> None:
        if not isinstance(method, BasePruningMethod):
            raise TypeError(f"{type(method).__name__} is not a BasePruningMethod subclass")
        if self._pruning_methods and method._tensor_name != self._tensor_name:
            raise ValueError(f"can only add pruning methods acting on the parameter named '{self._tensor_name}' to "
                             f"PruningContainer. Found '{method._tensor_name}'")
        self._tensor_name = method._tensor_name
        self._pruning_methods += (method,)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def _mask(self, t: np.ndarray, mask: np.ndarray) -> np.ndarray:
        method = self._pruning_methods[-1]
        if method.PRUNING_TYPE == "unstructured":
            keep = mask == 1
            mask[keep] = method._mask(t[keep], mask[keep])
            return mask
        if method.PRUNING_TYPE == "global":
            return method._mask(t, mask)
        raise ValueError(f"Unrecognized PRUNING_TYPE {method.PRUNING_TYPE!r}")


class Identity(BasePruningMethod):
    """Prunes nothing: a mask of ones (a pruned parameter's ``_orig``/``_mask`` layout, nothing removed)."""

    def _mask(self, t: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return mask


class _ByAmount(BasePruningMethod):
    """Prunes ``amount`` of the entries, those first in ``_order(t)``."""

    def __init__(self, amount: float | int):
        _validate_amount_init(amount)
        self.amount = amount

    def _order(self, t: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _mask(self, t: np.ndarray, mask: np.ndarray) -> np.ndarray:
        k = _nparams_toprune(self.amount, t.size)
        if k:
            flat = mask.reshape(-1)
            flat[self._order(t)[:k]] = 0
            return flat.reshape(t.shape)
        return mask


class RandomUnstructured(_ByAmount):
    """Prunes ``amount`` of the entries at random (lucidnet's generator: ``manual_seed`` repeats it)."""

    def _order(self, t: np.ndarray) -> np.ndarray:
        return generator().permutation(t.size)


class L1Unstructured(_ByAmount):
    """Prunes the ``amount`` entries of smallest absolute value (ties: the first in C order)."""

    def _order(self, t: np.ndarray) -> np.ndarray:
        return np.argsort(np.abs(t).reshape(-1), kind="stable")


class CustomFromMask(BasePruningMethod):
    """Prunes where the given ``mask`` is 0 (multiplied into the mask so far)."""

    PRUNING_TYPE = "global"

    def __init__(self, mask: Any):
        self.mask = _as_array(mask)

    def _mask(self, t: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.mask.shape != mask.shape:
            raise ValueError(f"custom_from_mask: the mask has shape {self.mask.shape}, the parameter {mask.shape}")
        return mask * self.mask.astype(mask.dtype)


def _find(module: Module, name: str) -> tuple[Any, BasePruningMethod] | None:
    found = [(k, h) for k, h in module._forward_pre_hooks.items()
             if isinstance(h, BasePruningMethod) and h._tensor_name == name]
    return found[0] if found else None


def _apply(module: Module, name: str, method: BasePruningMethod, importance_scores: Any) -> BasePruningMethod:
    if not isinstance(module, Module):
        raise TypeError(f"pruning: expected a lucidnet Module, got {type(module).__name__}")
    method._tensor_name = name
    old = _find(module, name)
    if old is None and not isinstance(module._parameters.get(name), Parameter):
        raise ValueError(f"pruning: {type(module).__name__} has no parameter named {name!r} (its parameters: "
                         f"{', '.join(n for n, p in module._parameters.items() if p is not None) or 'none'})")
    orig = getattr(module, name)
    scores = orig if importance_scores is None else importance_scores
    if tuple(_as_array(scores).shape) != tuple(orig.shape):
        raise ValueError(f"importance_scores should have the same shape as parameter {name} of "
                         f"{type(module).__name__}: {tuple(orig.shape)}, got {tuple(_as_array(scores).shape)}")
    if old is not None:
        key, previous = old
        container = previous if isinstance(previous, PruningContainer) else PruningContainer(previous)
        container.add_pruning_method(method)
        default = getattr(module, name + "_mask").array.copy()
        mask = container.compute_mask(scores, default)
        previous._handle.remove()
        method = container
    else:
        default = np.ones_like(orig.array)
        mask = method.compute_mask(scores, default)  # before anything changes: bad input leaves the module as it was
        delattr(module, name)
        module.register_parameter(name + "_orig", orig)
    arr = np.empty_like(default)  # the parameter's memory layout (nn.Linear keeps its weight column-major)
    arr[...] = mask.array
    module.register_buffer(name + "_mask", Tensor._make(arr, None))
    with no_grad():
        setattr(module, name, method.apply_mask(module))
    method._handle = module.register_forward_pre_hook(method)
    return method


def identity(module: Module, name: str) -> Module:
    """Apply a mask of ones to ``module.name`` (its ``_orig``/``_mask`` layout, nothing pruned). Returns the module."""
    Identity.apply(module, name)
    return module


def random_unstructured(module: Module, name: str, amount: float | int) -> Module:
    """Prune ``amount`` of ``module.name``'s entries at random. Returns the module."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module: Module, name: str, amount: float | int, importance_scores: Any = None) -> Module:
    """Prune the ``amount`` entries of ``module.name`` with the smallest absolute value (of
    ``importance_scores``, when given). Returns the module.

    >>> import lucidnet as ln
    >>> fc = ln.nn.Linear(2, 2)
    >>> fc.weight.array[:] = [[1.0, -0.1], [0.2, -3.0]]
    >>> l1_unstructured(fc, "weight", amount=2).weight_mask.array.tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    L1Unstructured.apply(module, name, amount, importance_scores=importance_scores)
    return module


def custom_from_mask(module: Module, name: str, mask: Any) -> Module:
    """Prune ``module.name`` where ``mask`` is 0. Returns the module."""
    CustomFromMask.apply(module, name, mask)
    return module


def global_unstructured(parameters: Iterable[tuple[Module, str]], pruning_method: type = L1Unstructured,
                        importance_scores: Mapping[tuple[Module, str], Any] | None = None, **kwargs: Any) -> None:
    """Prune the ``(module, name)`` parameters together: their entries are ranked as one vector (e.g. the
    ``amount`` of smallest magnitude over all of them, ``pruning_method=L1Unstructured``), so layers lose
    different fractions. Parameters pruned before keep their masks, and ``amount`` counts their unpruned entries.

    >>> import lucidnet as ln
    >>> net = ln.nn.Sequential(ln.nn.Linear(8, 8), ln.nn.ReLU(), ln.nn.Linear(8, 2))
    >>> global_unstructured([(net[0], "weight"), (net[2], "weight")], pruning_method=L1Unstructured, amount=0.5)
    >>> int(net[0].weight_mask.array.sum() + net[2].weight_mask.array.sum())
    40
    """
    params = list(parameters)
    if not params:
        raise ValueError("global_unstructured: parameters is empty; give (module, name) pairs")
    for p in params:
        if not (isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], Module) and isinstance(p[1], str)):
            raise TypeError(f"global_unstructured: parameters must be (module, name) pairs, got {p!r}")
    importance_scores = importance_scores or {}
    scores, defaults = [], []
    for module, name in params:
        t = getattr(module, name, None)
        if not isinstance(t, Tensor):
            raise ValueError(f"global_unstructured: {type(module).__name__} has no parameter named {name!r}")
        scores.append(_as_array(importance_scores.get((module, name), t)).reshape(-1))
        mask = getattr(module, name + "_mask", None)
        defaults.append(np.ones(t.array.size, t.array.dtype) if mask is None else mask.array.reshape(-1))
    method = pruning_method(**kwargs)
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(f'Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. Found method '
                        f"{pruning_method.__name__} of type {method.PRUNING_TYPE}")
    method._tensor_name = "temp"
    final = PruningContainer(method).compute_mask(np.concatenate(scores), np.concatenate(defaults)).array
    start = 0
    for module, name in params:
        shape = getattr(module, name).shape
        n = int(np.prod(shape))
        custom_from_mask(module, name, final[start:start + n].reshape(shape))
        start += n


def remove(module: Module, name: str) -> Module:
    """Make the pruning of ``module.name`` permanent (see ``BasePruningMethod.remove``). Returns the module."""
    found = _find(module, name)
    if found is None:
        raise ValueError(f"Parameter '{name}' of module {type(module).__name__} has to be pruned before pruning can "
                         "be removed")
    found[1].remove(module)
    return module


def is_pruned(module: Module) -> bool:
    """Whether ``module`` or a module below it has a pruned parameter."""
    return any(isinstance(h, BasePruningMethod) for m in module.modules() for h in m._forward_pre_hooks.values())


def pruned_parameters(model: Module) -> list[tuple[Module, str]]:
    """The ``(module, name)`` pairs of ``model``'s pruned parameters, in module order."""
    return [(m, h._tensor_name) for m in model.modules() for h in m._forward_pre_hooks.values()
            if isinstance(h, BasePruningMethod)]
