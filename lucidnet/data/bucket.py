"""Batches of similar lengths (bucketing) for variable-length data (token sequences, utterances): little of
each padded batch is padding."""
from __future__ import annotations

import math
from typing import Any, Iterator

import numpy as np

from ..random import generator
from .collate import to_tensors

__all__ = ["bucket_batches", "BucketLoader"]


def bucket_batches(lengths: np.ndarray, batch_size: int, shuffle: bool = True, pool: int = 50,
                   rng: np.random.Generator | None = None) -> list[np.ndarray]:
    """Index batches whose sequences have similar lengths.

    With ``shuffle``: the indices are permuted, cut into pools of ``pool * batch_size``, each pool is sorted by
    length and cut into batches, and the batches are put in a random order (randomness from ``rng``, default
    the library generator). Without: the indices sorted by length (stable), cut into batches, in order.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"bucket_batches: batch_size must be a positive int, got {batch_size!r}")
    lengths = np.asarray(lengths)
    n = len(lengths)
    if not shuffle:
        order = np.argsort(lengths, kind="stable")
        return [order[i:i + batch_size] for i in range(0, n, batch_size)]
    rng = generator() if rng is None else rng
    perm = rng.permutation(n)
    size = max(1, pool) * batch_size
    batches = []
    for lo in range(0, n, size):
        chunk = perm[lo:lo + size]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


class BucketLoader:
    """Batches of Tensors from a dataset with ``lengths`` (N,) and ``get_batch(indices)`` (a tuple of arrays;
    ``lucidnet.text.SequenceDataset``'s is ``(tokens, lengths, labels)``), each of similar lengths
    (``bucket_batches``), re-drawn every epoch; usable wherever a DataLoader is (``fit``, ``evaluate``).

    ``state_dict()`` / ``load_state_dict()`` save and restore the epoch in progress (its batches and how many
    were handed out), so a checkpoint taken mid-epoch resumes at the same batch.
    """

    def __init__(self, dataset: SequenceDataset, batch_size: int = 32, shuffle: bool = True, pool: int = 50):
        if not hasattr(dataset, "lengths") or not hasattr(dataset, "get_batch"):
            raise TypeError(f"BucketLoader: expected a dataset with lengths and get_batch (a SequenceDataset), got "
                            f"{type(dataset).__name__}")
        self.dataset, self.batch_size, self.shuffle, self.pool = dataset, int(batch_size), bool(shuffle), pool
        bucket_batches(dataset.lengths[:0], self.batch_size)  # validates batch_size
        self._batches: list[np.ndarray] | None = None
        self._position = 0

    def __len__(self) -> int:
        return math.ceil(len(self.dataset) / self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        if self._batches is None:
            self._batches = bucket_batches(self.dataset.lengths, self.batch_size, self.shuffle, self.pool)
            self._position = 0
        batches = self._batches
        while self._position < len(batches):
            idx = batches[self._position]
            self._position += 1
            yield to_tensors(self.dataset.get_batch(idx))
        if self._batches is batches:
            self._batches = None

    def state_dict(self) -> dict:
        """The epoch in progress: its batches (concatenated, with their sizes) and the batches handed out."""
        if self._batches is None:
            return {"position": 0, "order": None, "sizes": None}
        return {"position": self._position, "order": np.concatenate(self._batches),
                "sizes": np.array([len(b) for b in self._batches], dtype=np.int64)}

    def load_state_dict(self, state: dict) -> None:
        if state.get("order") is None:
            self._batches, self._position = None, 0
            return
        order, sizes = np.asarray(state["order"], dtype=np.int64), np.asarray(state["sizes"], dtype=np.int64)
        if order.shape != (len(self.dataset),) or int(sizes.sum()) != len(self.dataset):
            raise ValueError(f"BucketLoader.load_state_dict: the state covers {order.size} samples, this dataset "
                             f"has {len(self.dataset)}")
        self._batches = np.split(order, np.cumsum(sizes)[:-1])
        self._position = int(state["position"])

    def __repr__(self) -> str:
        return f"BucketLoader({len(self.dataset)} sequences, batch_size={self.batch_size}, shuffle={self.shuffle})"
