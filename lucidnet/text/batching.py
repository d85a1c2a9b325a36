"""Batches of token sequences: padding with lengths, and batches of similar lengths (bucketing).

A batch of sequences is ``(tokens, lengths)``: ``tokens`` an int64 array (B, T) padded with ``pad_id`` to the
longest sequence of the batch, ``lengths`` the int64 valid lengths (B,). Models take both, so that padding
never changes their outputs. ``BucketLoader`` gives training batches whose sequences have similar lengths, so
little of each batch is padding.

>>> tokens, lengths = pad_sequences([[5, 6, 7], [8]], pad_id=0)
>>> tokens.tolist(), lengths.tolist()
([[5, 6, 7], [8, 0, 0]], [3, 1])
>>> import lucidnet as ln
>>> _ = ln.manual_seed(0)
>>> ds = SequenceDataset([[1], [2, 3], [4, 5, 6], [7]], labels=[0, 1, 0, 1])
>>> [b[1].tolist() for b in BucketLoader(ds, batch_size=2, shuffle=False)]
[[1, 1], [2, 3]]
"""
from __future__ import annotations

import math
from typing import Any, Iterator, Sequence

import numpy as np

from ..data.collate import to_tensors
from ..data.dataset import Dataset
from ..random import generator

__all__ = ["pad_sequences", "SequenceDataset", "bucket_batches", "BucketLoader"]


def pad_sequences(sequences: Sequence[Sequence[int]], pad_id: int = 0, max_len: int | None = None,
                  min_len: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``(tokens (B, T), lengths (B,))``, both int64: the sequences padded on the right with ``pad_id``.

    ``max_len`` truncates longer sequences (their length is then ``max_len``); ``min_len`` makes T at least that
    (a convolution needs as many positions as its kernel). T is the longest (truncated) length otherwise.
    """
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    if max_len is not None:
        if max_len < 1:
            raise ValueError(f"pad_sequences: max_len must be positive, got {max_len}")
        np.minimum(lengths, max_len, out=lengths)
    t = max(int(lengths.max(initial=0)), int(min_len))
    out = np.full((len(sequences), t), pad_id, dtype=np.int64)
    for row, (s, n) in enumerate(zip(sequences, lengths)):
        out[row, :n] = s[:n]
    return out, lengths


class SequenceDataset(Dataset):
    """Token-id sequences with one label each; ``get_batch`` pads: ``(tokens, lengths, labels)``.

    ``sequences``: lists or int arrays of ids; ``labels``: one int per sequence, or a float row of targets per
    sequence (or None: batches are then ``(tokens, lengths)``). ``max_len`` truncates; ``min_len`` is the least
    padded length of a batch.
    ``word_dropout``: in every batch, each token is replaced by ``unk_id`` with this probability (a regulariser
    for training data; draws from the library generator).
    """

    def __init__(self, sequences: Sequence[Sequence[int]], labels: Sequence[int] | np.ndarray | None = None,
                 pad_id: int = 0, max_len: int | None = None, min_len: int = 1, word_dropout: float = 0.0,
                 unk_id: int | None = None):
        if not 0.0 <= word_dropout < 1.0:
            raise ValueError(f"SequenceDataset: word_dropout must be in [0, 1), got {word_dropout}")
        if word_dropout and unk_id is None:
            raise ValueError("SequenceDataset: word_dropout needs the unk_id that dropped words become")
        self.word_dropout, self.unk_id = float(word_dropout), unk_id
        self.sequences = [np.asarray(s, dtype=np.int64) for s in sequences]
        empty = next((i for i, s in enumerate(self.sequences) if s.size == 0), None)
        if empty is not None:
            raise ValueError(f"SequenceDataset: sequence {empty} is empty; every sequence needs a token")
        self.labels = None if labels is None else np.asarray(labels)
        if self.labels is not None and not (self.labels.ndim == 2 and self.labels.dtype.kind == "f"):
            self.labels = self.labels.astype(np.int64)  # class indices (a float (N, C) array: soft targets)
        if self.labels is not None and len(self.labels) != len(self.sequences):
            raise ValueError(f"SequenceDataset: {len(self.sequences)} sequences but {len(self.labels)} labels")
        self.pad_id, self.max_len, self.min_len = pad_id, max_len, min_len
        self.lengths = np.fromiter((len(s) for s in self.sequences), dtype=np.int64, count=len(self.sequences))
        if max_len is not None:
            np.minimum(self.lengths, max_len, out=self.lengths)

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, index: int) -> tuple:
        s = self.sequences[index][:self.max_len]
        return (s, len(s)) if self.labels is None else (s, len(s), self.labels[index])

    def get_batch(self, indices: np.ndarray) -> tuple:
        tokens, lengths = pad_sequences([self.sequences[int(i)] for i in indices], self.pad_id, self.max_len,
                                        self.min_len)
        if self.word_dropout:
            drop = generator().random(tokens.shape) < self.word_dropout
            drop &= np.arange(tokens.shape[1])[None, :] < lengths[:, None]  # never inside the padding
            tokens[drop] = self.unk_id
        return (tokens, lengths) if self.labels is None else (tokens, lengths, self.labels[indices])


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
    """Batches of Tensors ``(tokens, lengths, labels)`` from a ``SequenceDataset``, each of similar lengths
    (``bucket_batches``), re-drawn every epoch; usable wherever a DataLoader is (``fit``, ``evaluate``).

    ``state_dict()`` / ``load_state_dict()`` save and restore the epoch in progress (its batches and how many
    were handed out), so a checkpoint taken mid-epoch resumes at the same batch.
    """

    def __init__(self, dataset: SequenceDataset, batch_size: int = 32, shuffle: bool = True, pool: int = 50):
        if not hasattr(dataset, "lengths") or not hasattr(dataset, "get_batch"):
            raise TypeError(f"BucketLoader: expected a SequenceDataset (with lengths and get_batch), got "
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
