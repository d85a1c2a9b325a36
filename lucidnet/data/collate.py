"""Collation: a list of samples -> one batch.

Two stages, so a dataset can skip the first one. ``stack_samples`` stacks samples into NumPy arrays
(recursing into tuples, lists, dicts and named tuples); ``to_tensors`` wraps those arrays as lucidnet
Tensors with lucidnet's dtype rules (the same as ``lucidnet.tensor``): floats become the default float
dtype (float32 unless changed), integers other than uint8 become int64, uint8 and bool stay.
A dataset's vectorised ``get_batch`` returns what ``stack_samples`` would, so both paths give the same
batch.

>>> import numpy as np
>>> b = default_collate([(np.zeros(3), 1), (np.ones(3), 0)])
>>> b[0].shape, b[0].dtype, b[1].tolist(), b[1].dtype
((2, 3), dtype('float32'), [1, 0], dtype('int64'))
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ..tensor import Tensor, from_numpy, get_default_dtype

__all__ = ["stack_samples", "to_tensors", "default_collate", "to_lucid_dtype"]


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def stack_samples(samples: Sequence[Any]) -> Any:
    """Stack a list of samples of the same structure into NumPy arrays (no dtype change).

    Leaves may be NumPy arrays, NumPy or Python numbers, bools, lucidnet Tensors or strings
    (strings stay a list, like PyTorch's collate).
    """
    if len(samples) == 0:
        raise ValueError("collate: got an empty list of samples")
    first = samples[0]
    if isinstance(first, (np.ndarray, Tensor)):
        arrays = [s.array if isinstance(s, Tensor) else np.asarray(s) for s in samples]
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            raise ValueError(f"collate: cannot stack arrays of different shapes {sorted(shapes)} into one batch; "
                             "pad them to one shape or pass collate_fn=")
        return np.stack(arrays)
    if isinstance(first, (np.generic, int, float, bool)):
        return np.array(samples)
    if isinstance(first, (str, bytes)):
        return list(samples)
    if isinstance(first, Mapping):
        return {k: stack_samples([s[k] for s in samples]) for k in first}
    if isinstance(first, (tuple, list)):
        n = len(first)
        if any(len(s) != n for s in samples):
            raise ValueError(f"collate: samples have different lengths ({sorted({len(s) for s in samples})}); "
                             "every sample of a batch must have the same structure")
        fields = [stack_samples([s[i] for s in samples]) for i in range(n)]
        if _is_namedtuple(first):
            return type(first)(*fields)
        return tuple(fields) if isinstance(first, tuple) else fields
    raise TypeError(f"collate: cannot batch samples of type {type(first).__name__}; expected NumPy arrays, "
                    "numbers, Tensors, strings, or tuples/lists/dicts of them (or pass collate_fn=)")


def to_lucid_dtype(arr: np.ndarray) -> np.ndarray:
    """``arr`` converted (only if needed) to the dtype ``lucidnet.tensor`` would give it."""
    kind = arr.dtype.kind
    if kind == "f":
        dt = get_default_dtype()
    elif kind in "iu" and arr.dtype != np.uint8:
        dt = np.dtype(np.int64)
    elif kind in "bu":
        return arr
    else:
        raise TypeError(f"collate: cannot make a tensor from an array of dtype {arr.dtype}")
    return arr if arr.dtype == dt else arr.astype(dt)


def to_tensors(batch: Any) -> Any:
    """Wrap the arrays of a stacked batch as Tensors (recursing into tuples, lists and dicts)."""
    if isinstance(batch, np.ndarray):
        return from_numpy(to_lucid_dtype(batch))
    if isinstance(batch, Tensor):
        return batch
    if isinstance(batch, Mapping):
        return {k: to_tensors(v) for k, v in batch.items()}
    if isinstance(batch, (tuple, list)):
        if batch and isinstance(batch[0], (str, bytes)):
            return batch
        fields = [to_tensors(v) for v in batch]
        if _is_namedtuple(batch):
            return type(batch)(*fields)
        return tuple(fields) if isinstance(batch, tuple) else fields
    return batch


def default_collate(samples: Sequence[Any]) -> Any:
    """Stack samples into Tensors: the DataLoader's default ``collate_fn``."""
    return to_tensors(stack_samples(samples))
