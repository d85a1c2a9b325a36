"""Dynamic axes, found by tracing twice: the second trace runs on inputs whose dynamic axes are longer.

lucidnet's sizes are plain ints, so one trace cannot tell a batch size from a constant 32. The exporter runs
the model a second time on inputs grown along each dynamic axis (each symbol by its own amount, values
tiled from the example, and shifted so that a value computed from the inputs' contents shows up too); a size
that is ``a`` in the first trace and ``b`` in the second is a symbol when ``(a, b)`` is that symbol's pair,
static when ``a == b``, and derived (a product, a difference) otherwise.

>>> import numpy as np
>>> x = np.arange(6, dtype=np.float32).reshape(2, 3)
>>> (x2,), sizes = second_inputs([x], [{0: "batch"}])
>>> x2.shape, sizes.sizes
((3, 3), {'batch': (2, 3)})
>>> sizes.dim(2, 3), sizes.dim(3, 3), sizes.dim(6, 9)
('batch', 3, None)
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["Sizes", "second_inputs"]


class Sizes:
    """The dynamic symbols: name -> (size in the first trace, size in the second)."""

    def __init__(self, sizes: dict[str, tuple[int, int]]):
        self.sizes = sizes
        self._by_pair = {pair: name for name, pair in sizes.items()}

    def dim(self, a: int, b: int) -> int | str | None:
        """``a`` (static), the symbol whose pair is ``(a, b)``, or None (a size derived from symbols)."""
        if a == b:
            return int(a)
        return self._by_pair.get((int(a), int(b)))

    def dims(self, s1: Sequence[int], s2: Sequence[int]) -> list | None:
        """``dim`` of each axis of a value of shape ``s1`` (and ``s2`` in the second trace); None if ranks differ."""
        if len(s1) != len(s2):
            return None
        return [self.dim(a, b) for a, b in zip(s1, s2)]


def second_inputs(arrays: Sequence[np.ndarray], axes: Sequence[dict[int, str]]) -> tuple[list, Sizes]:
    """The inputs of the second trace and the symbols' sizes: symbol ``k`` (in order of appearance) grows by
    ``k + 1``; values are tiled along grown axes, then rolled by one along every axis, and float values
    scaled (0.75 x + 0.1), so constants derived from the inputs' values differ between the traces."""
    growth: dict[str, int] = {}
    sizes: dict[str, tuple[int, int]] = {}
    out = []
    for a, ax in zip(arrays, axes):
        b = a
        for axis, name in sorted(ax.items()):
            n = a.shape[axis]
            grow = growth.setdefault(name, len(growth) + 1)
            first = sizes.setdefault(name, (n, n + grow))
            if first[0] != n:
                raise ValueError(f"dynamic axis {name!r} has size {first[0]} in one input and {n} in another; "
                                 "axes that share a name must share a size in the example inputs")
            b = np.take(b, np.arange(n + grow) % n, axis=axis)
        if b.ndim:
            b = np.roll(b, 1, axis=tuple(range(b.ndim)))
        if b.dtype.kind == "f":
            b = (b * b.dtype.type(0.75) + b.dtype.type(0.1)).astype(b.dtype)
        out.append(np.ascontiguousarray(b))
    return out, Sizes(sizes)
