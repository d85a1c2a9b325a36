"""Map-style datasets: ``ds[i]`` is one sample, ``len(ds)`` the number of samples.

Samples are NumPy arrays and numbers (or tuples, lists and dicts of them); the ``DataLoader`` turns
batches into Tensors. A dataset may also define ``get_batch(indices)``, which returns a whole batch at
once, stacked as NumPy arrays; ``TensorDataset`` and ``Subset`` do it by fancy-indexing their arrays
(one NumPy call per batch, no Python loop over samples).

>>> import numpy as np, lucidnet as ln
>>> ds = TensorDataset(np.arange(10.0).reshape(5, 2), np.array([0, 1, 0, 1, 1]))
>>> x, y = ds[1]
>>> len(ds), x.tolist(), int(y)
(5, [2.0, 3.0], 1)
>>> _ = ln.manual_seed(0)
>>> train, val = random_split(ds, [0.8, 0.2])
>>> len(train), len(val)
(4, 1)
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ..random import stream
from ..tensor import Tensor
from .collate import stack_samples

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split"]


class Dataset:
    """Base class of map-style datasets. Subclasses define ``__getitem__`` and ``__len__``.

    Override ``get_batch(indices)`` too when a batch can be built faster than sample by sample;
    it must return what ``stack_samples([self[i] for i in indices])`` returns.
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def get_batch(self, indices: np.ndarray) -> Any:
        """The samples at ``indices`` (a 1-D int array), stacked into NumPy arrays."""
        return stack_samples([self[int(i)] for i in indices])


def _as_array(x: Any, what: str) -> np.ndarray:
    arr = x.array if isinstance(x, Tensor) else np.asarray(x)
    if arr.ndim == 0:
        raise ValueError(f"{what}: expected arrays with a first (sample) dimension, got a 0-d array")
    return arr


class TensorDataset(Dataset):
    """Samples are the rows of equally long arrays (NumPy arrays or Tensors): ``ds[i] = (a[i], b[i], ...)``.

    The arrays are kept as they are (no copy, no dtype change); ``.arrays`` holds them.
    """

    def __init__(self, *arrays: Any):
        if not arrays:
            raise ValueError("TensorDataset: expected at least one array")
        self.arrays: tuple[np.ndarray, ...] = tuple(_as_array(a, "TensorDataset") for a in arrays)
        lengths = [len(a) for a in self.arrays]
        if len(set(lengths)) > 1:
            raise ValueError(f"TensorDataset: all arrays must have the same first dimension, got lengths {lengths}")

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index: int) -> tuple:
        return tuple(a[index] for a in self.arrays)

    def get_batch(self, indices: np.ndarray) -> tuple:
        return tuple(a[indices] for a in self.arrays)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{a.shape}:{a.dtype}" for a in self.arrays)
        return f"TensorDataset({shapes})"


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Any, indices: Sequence[int] | np.ndarray):
        idx = np.asarray(indices.array if isinstance(indices, Tensor) else indices)
        if idx.size == 0:
            idx = idx.astype(np.int64)
        if idx.ndim != 1 or idx.dtype.kind not in "iu":
            raise ValueError(f"Subset: indices must be a 1-D sequence of integers, got shape {idx.shape} "
                             f"and dtype {idx.dtype}")
        n = len(dataset)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise IndexError(f"Subset: indices must lie in [0, {n}) for a dataset of {n} samples; "
                             f"got values from {idx.min()} to {idx.max()}")
        self.dataset = dataset
        self.indices: np.ndarray = idx.astype(np.int64, copy=False)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[index])]

    def get_batch(self, indices: np.ndarray) -> Any:
        inner = self.indices[indices]
        get = getattr(self.dataset, "get_batch", None)
        if get is not None:
            return get(inner)
        return stack_samples([self.dataset[int(i)] for i in inner])

    def __repr__(self) -> str:
        return f"Subset({self.dataset!r}, {len(self)} samples)"


def _split_lengths(n: int, lengths: Sequence[float]) -> list[int]:
    if len(lengths) == 0:
        raise ValueError("random_split: lengths is empty")
    if all(isinstance(x, (int, np.integer)) for x in lengths):
        out = [int(x) for x in lengths]
        if any(x < 0 for x in out) or sum(out) != n:
            raise ValueError(f"random_split: integer lengths must be non-negative and sum to the dataset's "
                             f"length {n}; got {out} (sum {sum(out)})")
        return out
    fracs = [float(x) for x in lengths]
    if any(f < 0 or f > 1 for f in fracs) or not math.isclose(sum(fracs), 1.0, abs_tol=1e-6):
        raise ValueError(f"random_split: fractional lengths must lie in [0, 1] and sum to 1; got {fracs}")
    out = [int(math.floor(n * f)) for f in fracs]
    for i in range(n - sum(out)):  # the remainder goes round-robin to the first splits (as PyTorch)
        out[i % len(out)] += 1
    return out


def random_split(dataset: Any, lengths: Sequence[float], generator: Any = None) -> list[Subset]:
    """Split ``dataset`` at random into non-overlapping ``Subset``s of the given lengths.

    ``lengths`` are sample counts summing to ``len(dataset)``, or fractions summing to 1. The
    permutation comes from the library generator, so ``lucidnet.manual_seed`` fixes the split (or from
    ``generator``, a ``lucidnet.Generator``).
    """
    n = len(dataset)
    sizes = _split_lengths(n, lengths)
    perm = stream(generator).permutation(n)
    bounds = np.cumsum([0] + sizes)
    return [Subset(dataset, perm[bounds[i]:bounds[i + 1]]) for i in range(len(sizes))]
