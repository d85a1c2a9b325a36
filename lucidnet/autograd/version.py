"""Version counters of array storage: how backward notices that an array it saved was changed in place.

Every in-place change lucidnet makes to a tensor's memory (the tensor's in-place methods and operators, an
optimizer's step, ``nn.init``, ``load_state_dict``) bumps the counter of the storage it wrote: the array at
the root of the view chain, so that views share one counter, as PyTorch's views share theirs. A node of
the graph notes its inputs' counters when its forward runs (:func:`snapshot`); backward compares them
(:func:`check`) and raises PyTorch's error when one moved, instead of computing a wrong gradient.

>>> import numpy as np
>>> a = np.zeros(3)
>>> saved = snapshot([a[1:]])
>>> bump(a)
>>> version(a), version(a[1:])
(1, 1)
>>> check(saved, "Mul")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
RuntimeError: one of the arrays ... modified by an in-place operation: input 0 of Mul is at version 1; expected ...
"""
from __future__ import annotations

import weakref
from typing import Iterable

from ..backend import xp

__all__ = ["bump", "version", "snapshot", "check"]

WATCH: list = []  # lists that collect the storages bumped while they are open (``capture`` checks a step)
_counts: dict[int, list] = {}  # id(root array) -> [weak reference to it, count]; an entry goes with its array


def _root(a):
    while isinstance(a.base, xp.ndarray):
        a = a.base
    return a


def _forget(key: int, ref) -> None:
    e = _counts.get(key)
    if e is not None and e[0] is ref:
        del _counts[key]


def bump(a) -> None:
    """Note an in-place change of ``a``'s memory (of its root array, which its views share)."""
    r = _root(a)
    if WATCH:
        WATCH[-1].append(r)
    key = id(r)
    e = _counts.get(key)
    if e is not None and e[0]() is r:
        e[1] += 1
    else:
        _counts[key] = [weakref.ref(r, lambda ref, key=key: _forget(key, ref)), 1]


def version(a) -> int:
    """How many in-place changes ``a``'s storage has had."""
    return _count(_root(a)) if _counts else 0


def _count(r) -> int:
    e = _counts.get(id(r))
    return e[1] if e is not None and e[0]() is r else 0


def snapshot(arrays: Iterable) -> tuple:
    """(position, weak reference to the storage, version) of each array among ``arrays`` (others skipped);
    a negative position stands for the output."""
    out = []
    for i, a in enumerate(arrays):
        if isinstance(a, xp.ndarray):
            r = _root(a)
            out.append((i, weakref.ref(r), _count(r) if _counts else 0))
    return tuple(out)


def check(saved: tuple, name: str) -> None:
    """Raise if a storage noted by :func:`snapshot` has changed since (the node ``name`` would compute a wrong
    gradient from it); a storage that no longer exists was not needed."""
    for i, ref, v in saved:
        r = ref()
        if r is not None:
            now = _count(r)
            if now != v:
                what = f"the output of {name}" if i < 0 else f"input {i} of {name}"
                raise RuntimeError(
                    f"one of the arrays needed for gradient computation has been modified by an in-place "
                    f"operation: {what} is at version {now}; expected version {v} instead. Change it out of "
                    "place, or after backward().")
