"""Containers: ``Sequential`` (a chain), ``ModuleList`` and ``ModuleDict`` (registered collections).

>>> import lucidnet as ln
>>> from lucidnet import nn
>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
>>> model(ln.randn(5, 4)).shape
(5, 2)
>>> [name for name, _ in model.named_parameters()]
['0.weight', '0.bias', '2.weight', '2.bias']
>>> model[0]
Linear(in_features=4, out_features=8, bias=True)
"""
from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any, Iterable, Iterator, Mapping

from ..autograd import tracing
from .activation import Hardtanh, ReLU, ReLU6
from .module import Module
from .normalization import _BatchNorm


def _folded_clip(norm: Module, act: Module) -> tuple[float, float] | None:
    """(min, max) when ``norm`` is a batch norm and ``act`` a ReLU, ReLU6 or Hardtanh whose clip can fold into
    the normalisation's passes (``BatchNorm2d.forward_hardtanh``); None when either module has forward hooks
    (they must see each output) or while ops are recorded (an export sees the layers as written)."""
    if type(act) not in (ReLU, ReLU6, Hardtanh) or not isinstance(norm, _BatchNorm):
        return None
    if norm._forward_hooks or act._forward_hooks or tracing.LISTENERS:
        return None
    return (0.0, math.inf) if type(act) is ReLU else (act.min_val, act.max_val)


def _index(i: int, n: int, who: str) -> int:
    if not isinstance(i, int) or isinstance(i, bool):
        raise TypeError(f"{who} indices must be integers or slices, not {type(i).__name__}")
    if not -n <= i < n:
        raise IndexError(f"{who} index {i} is out of range for {n} modules")
    return i % n


class Sequential(Module):
    """Modules called in order, each on the output of the one before.

    Build from modules (named "0", "1", ...) or from an ``OrderedDict`` of names to modules. A batch norm
    followed by a ReLU, ReLU6 or Hardtanh runs as one node (the clip folded into the normalisation's passes:
    the same values and gradients, two passes fewer each way) unless either has a forward hook."""

    def __init__(self, *args: Module):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, m in args[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(args):
                self.add_module(str(i), m)

    def forward(self, x: Any) -> Any:
        mods = list(self._modules.values())
        i, n = 0, len(mods)
        while i < n:
            m = mods[i]
            clip = _folded_clip(m, mods[i + 1]) if i + 1 < n else None
            if clip is not None:  # batch norm then ReLU/ReLU6/Hardtanh: one node, the same values and gradients
                x = m.forward_hardtanh(x, *clip)
                i += 2
                continue
            x = m(x)
            i += 1
        return x

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx: int | slice) -> Module:
        items = list(self._modules.items())
        if isinstance(idx, slice):
            return type(self)(OrderedDict(items[idx]))
        return items[_index(idx, len(items), "Sequential")][1]

    def __setitem__(self, idx: int, module: Module) -> None:
        name = list(self._modules)[_index(idx, len(self), "Sequential")]
        setattr(self, name, module)

    def __delitem__(self, idx: int | slice) -> None:
        names = list(self._modules)
        for name in (names[idx] if isinstance(idx, slice) else [names[_index(idx, len(names), "Sequential")]]):
            delattr(self, name)
        if all(n.isdigit() for n in names):  # keep default names contiguous, as PyTorch does
            self._reset(list(self._modules.values()))

    def _reset(self, mods: list) -> None:
        """Re-register ``mods`` under the names "0", "1", ..."""
        for name in list(self._modules):
            delattr(self, name)
        for i, m in enumerate(mods):
            self.add_module(str(i), m)

    def append(self, module: Module) -> Sequential:
        """Add a module at the end; returns the Sequential."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> Sequential:
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        n = len(self)
        if not -n <= index <= n:
            raise IndexError(f"Sequential.insert: index {index} is out of range for {n} modules")
        mods = list(self._modules.values())
        mods.insert(index, module)
        self._reset(mods)
        return self


class ModuleList(Module):
    """A list of modules whose parameters are registered (a plain Python list hides them)."""

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx: int | slice):
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            return type(self)(mods[idx])
        return mods[_index(idx, len(mods), "ModuleList")]

    def __setitem__(self, idx: int, module: Module) -> None:
        setattr(self, str(_index(idx, len(self), "ModuleList")), module)

    def __delitem__(self, idx: int | slice) -> None:
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            del mods[idx]
        else:
            del mods[_index(idx, len(mods), "ModuleList")]
        self._reset(mods)

    def _reset(self, mods: list) -> None:
        for name in list(self._modules):
            delattr(self, name)
        for i, m in enumerate(mods):
            self.add_module(str(i), m)

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        if isinstance(modules, Module) and not isinstance(modules, (ModuleList, Sequential)):
            raise TypeError("ModuleList.extend expects an iterable of modules, got a single "
                            f"{type(modules).__name__}; use append")
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        mods = list(self._modules.values())
        mods.insert(index, module)
        self._reset(mods)


class ModuleDict(Module):
    """An ordered dict of modules whose parameters are registered; keys are the module names."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        try:
            return self._modules[key]
        except KeyError:
            raise KeyError(f"ModuleDict has no module {key!r} (keys: {list(self._modules)})") from None

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        if key not in self._modules:
            raise KeyError(f"ModuleDict has no module {key!r}")
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def pop(self, key: str) -> Module:
        m = self[key]
        del self[key]
        return m

    def clear(self) -> None:
        for key in list(self._modules):
            delattr(self, key)

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for pair in pairs:
            key, m = pair
            self[key] = m
