"""Samplers, PyTorch's ``torch.utils.data`` ones: which dataset indices a ``DataLoader`` visits, and in what
order. Each draws from the library's generator (``manual_seed``) or from the ``generator`` it is given.

>>> import lucidnet as ln
>>> from lucidnet.data import BatchSampler, SequentialSampler
>>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
[[0, 1], [2, 3], [4]]
"""
from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np

from ..random import stream

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler"]


class Sampler:
    """Base class: an iterable of dataset indices (define ``__iter__``, and ``__len__`` where it is known)."""

    def __init__(self, data_source: Any = None):
        pass

    def __iter__(self) -> Iterator[int]:  # pragma: no cover - abstract
        raise NotImplementedError


def _count(value: Any, who: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{who}: {what} must be a non-negative integer, got {value!r}")
    return int(value)


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source: Sequence):
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation of the indices (a new one each epoch), or ``num_samples`` draws with
    ``replacement``."""

    def __init__(self, data_source: Sequence, replacement: bool = False, num_samples: int | None = None,
                 generator: Any = None):
        self.data_source, self.replacement, self.generator = data_source, bool(replacement), generator
        self._num_samples = None if num_samples is None else _count(num_samples, "RandomSampler", "num_samples")
        if self._num_samples == 0:
            raise ValueError("RandomSampler: num_samples should be a positive integer value, but got num_samples=0")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, rng = len(self.data_source), stream(self.generator)
        if self.replacement:
            return iter(rng.integers(0, n, self.num_samples).tolist())
        draws = [rng.permutation(n) for _ in range(-(-self.num_samples // max(n, 1)))]
        return iter(np.concatenate(draws)[:self.num_samples].tolist() if draws else [])

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order, a new one each epoch."""

    def __init__(self, indices: Sequence[int], generator: Any = None):
        self.indices, self.generator = list(indices), generator

    def __iter__(self) -> Iterator[int]:
        order = stream(self.generator).permutation(len(self.indices))
        return iter([self.indices[i] for i in order])

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights`` (with ``replacement``
    by default)."""

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True, generator: Any = None):
        w = np.asarray(getattr(weights, "array", weights), dtype=np.float64)
        if w.ndim != 1 or not len(w) or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be a 1-D sequence of non-negative finite numbers "
                             "with a positive sum")
        self.num_samples = _count(num_samples, "WeightedRandomSampler", "num_samples")
        if not replacement and self.num_samples > np.count_nonzero(w):
            raise ValueError(f"WeightedRandomSampler: cannot draw {self.num_samples} samples without replacement "
                             f"from {np.count_nonzero(w)} of nonzero weight")
        self.weights, self.replacement, self.generator = w, bool(replacement), generator

    def __iter__(self) -> Iterator[int]:
        p = self.weights / self.weights.sum()
        return iter(stream(self.generator).choice(len(p), self.num_samples, replace=self.replacement, p=p).tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of ``batch_size`` indices from ``sampler`` (the last one shorter unless ``drop_last``)."""

    def __init__(self, sampler: Any, batch_size: int, drop_last: bool):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"BatchSampler: batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size!r}")
        self.sampler, self.batch_size, self.drop_last = sampler, int(batch_size), bool(drop_last)

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for i in self.sampler:
            batch.append(int(i))
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
