"""What ``fit``/``evaluate``/``predict`` accept as data, turned into batches: loaders and batch splitting.

Data may be a ``DataLoader`` (used as it is), a dataset (``__getitem__`` and ``__len__``; wrapped in a
``DataLoader``), or arrays: ``(x, y)`` or ``(x1, x2, ..., y)`` (a ``TensorDataset`` in a ``DataLoader``).
A batch is split into the model's inputs and the target: the last element is the target, the ones before
it are the inputs (``model(x)``, or ``model(users, items)`` for ``(users, items, ratings)``); a batch
``(x, y)`` whose ``x`` is a tuple calls ``model(*x)``. Pass ``split_batch=`` for other layouts.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..data import DataLoader, TensorDataset
from ..tensor import Tensor

__all__ = ["as_loader", "split_batch", "batch_size_of", "SplitBatch"]

SplitBatch = Callable[[Any], "tuple[tuple, Any]"]


def _is_array(x: Any) -> bool:
    return isinstance(x, (np.ndarray, Tensor))


def as_loader(data: Any, batch_size: int, shuffle: bool, who: str) -> Any:
    """A DataLoader (or any re-iterable of batches) for ``data``."""
    if isinstance(data, DataLoader):
        return data
    if _is_array(data):
        return DataLoader(TensorDataset(data), batch_size=batch_size, shuffle=shuffle)
    if isinstance(data, (tuple, list)):
        if data and all(_is_array(a) for a in data):
            arrays = list(data)
            lengths = {len(a) for a in arrays}
            if len(lengths) > 1:
                raise ValueError(f"{who}: the arrays of the data have different lengths {sorted(lengths)}; "
                                 "x and y must have one entry per sample")
            return DataLoader(TensorDataset(*arrays), batch_size=batch_size, shuffle=shuffle)
        raise TypeError(f"{who}: a tuple of data must hold arrays or Tensors, (x, y) or (x1, x2, ..., y); got "
                        f"({', '.join(type(a).__name__ for a in data)})")
    if hasattr(data, "__getitem__") and hasattr(data, "__len__"):
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle)
    if hasattr(data, "__iter__") and not hasattr(data, "__next__"):
        return data  # a custom loader: re-iterable batches
    raise TypeError(f"{who}: expected a DataLoader, a Dataset, or arrays (x, y); got {type(data).__name__} "
                    "(an iterator can be consumed only once: pass something iterable once per epoch)")


def split_batch(batch: Any) -> tuple[tuple, Any]:
    """``(inputs, target)``: the last element of a tuple batch is the target (None for a lone tensor)."""
    if isinstance(batch, Tensor):
        return (batch,), None
    if isinstance(batch, (tuple, list)):
        if len(batch) == 1:
            return (batch[0],), None
        if len(batch) == 2:
            x, y = batch
            return (tuple(x) if isinstance(x, (tuple, list)) else (x,)), y
        if len(batch) > 2:
            return tuple(batch[:-1]), batch[-1]
    raise TypeError(f"fit: cannot split a batch of type {type(batch).__name__} into inputs and target; expected "
                    "(x, y) or (x1, ..., y) tuples, or pass split_batch=lambda batch: ((inputs...), target)")


def inputs_only(batch: Any) -> tuple[tuple, Any]:
    """Every element of the batch is an input (``predict`` on arrays given directly)."""
    if isinstance(batch, Tensor):
        return (batch,), None
    return tuple(batch), None


def batch_size_of(inputs: tuple, target: Any) -> int:
    """The number of samples in a batch: the target's first dimension (or the first input's)."""
    for x in (target, *inputs):
        shape = getattr(x, "shape", None)
        if shape:
            return int(shape[0])
    return 1
