"""Token streams for truncated back-propagation through time (TBPTT).

The ids of a corpus are cut into ``batch_size`` parallel streams (``as_streams``: row b is the b-th
contiguous slice); ``chunks`` walks them ``seq_len`` tokens at a time, each chunk ``(x, y)`` with y the next
token of every x. ``StreamLoader`` is the loader of a TBPTT run: every epoch starts the streams at a random
offset (below ``seq_len``), so chunk boundaries fall in new places.

>>> import numpy as np
>>> as_streams(np.arange(10), 3).tolist()
[[0, 1, 2], [3, 4, 5], [6, 7, 8]]
>>> [x.tolist() for x, y in chunks(as_streams(np.arange(10), 2), 2)]
[[[0, 1], [5, 6]], [[2, 3], [7, 8]]]
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from ..random import generator
from .dataloader import steps_per_epoch

__all__ = ["as_streams", "chunks", "StreamLoader"]


def as_streams(ids: np.ndarray, batch_size: int) -> np.ndarray:
    """(B, N // B): the ids cut into ``batch_size`` contiguous streams (the last N % B ids are dropped)."""
    ids = np.asarray(ids)
    if ids.ndim != 1 or ids.dtype.kind not in "iu":
        raise ValueError(f"as_streams: expected a 1-D array of integer ids, got shape {ids.shape} dtype {ids.dtype}")
    if batch_size < 1 or len(ids) < 2 * batch_size:
        raise ValueError(f"as_streams: {len(ids)} ids are too few for {batch_size} streams of at least 2 ids")
    n = len(ids) // batch_size
    return ids[:n * batch_size].reshape(batch_size, n)


def chunks(streams: np.ndarray, seq_len: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(x, y)`` pairs of (B, T) int64 arrays, consecutive along the streams, y = x shifted by one. The last
    chunk is shorter when the streams do not divide evenly."""
    n = streams.shape[1] - 1
    for lo in range(0, n, seq_len):
        hi = min(lo + seq_len, n)
        yield (np.ascontiguousarray(streams[:, lo:hi], dtype=np.int64),
               np.ascontiguousarray(streams[:, lo + 1:hi + 1], dtype=np.int64))


class StreamLoader:
    """The chunks ``(x, y)`` of ``ids`` in ``batch_size`` streams, ``seq_len`` tokens each, one epoch per
    iteration. With ``random_offset`` (and enough ids: more than ``4 * seq_len * batch_size``), each epoch
    drops a random number (below ``seq_len``) of leading ids first, drawn from the library generator.

    ``len()`` is the number of chunks of an epoch without offset (an offset epoch may have one fewer).
    """

    def __init__(self, ids: np.ndarray, batch_size: int, seq_len: int, random_offset: bool = True):
        for name, v in (("batch_size", batch_size), ("seq_len", seq_len)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"StreamLoader: {name} must be a positive int, got {v!r}")
        self.ids = np.asarray(ids)
        as_streams(self.ids, batch_size)  # validates the ids early
        self.batch_size, self.seq_len, self.random_offset = int(batch_size), int(seq_len), bool(random_offset)

    def __len__(self) -> int:
        return steps_per_epoch(len(self.ids) // self.batch_size - 1, self.seq_len)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        offset = 0
        if self.random_offset and len(self.ids) > 4 * self.seq_len * self.batch_size:
            offset = int(generator().integers(self.seq_len))
        return chunks(as_streams(self.ids[offset:], self.batch_size), self.seq_len)

    def __repr__(self) -> str:
        return f"StreamLoader({len(self.ids)} ids, batch_size={self.batch_size}, seq_len={self.seq_len})"
