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

from typing import Any, Sequence

import numpy as np

from ..data.bucket import BucketLoader, bucket_batches
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
