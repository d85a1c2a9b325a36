"""Scoring label strings: the Levenshtein alignment of a hypothesis to its reference, the digit (token) error
rate, and the pairs of aligned labels a confusion matrix counts.

>>> align([1, 2, 3], [1, 3, 3, 4])
[(1, 1), (2, 3), (3, 3), (None, 4)]
>>> error_rate([[1, 2, 3], [5]], [[1, 3, 3, 4], [5]])
0.5
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["align", "edit_distance", "error_rate", "sequence_accuracy"]


def _table(ref: Sequence[int], hyp: Sequence[int]) -> np.ndarray:
    d = np.zeros((len(ref) + 1, len(hyp) + 1), dtype=np.int64)
    d[:, 0], d[0, :] = np.arange(len(ref) + 1), np.arange(len(hyp) + 1)
    for i in range(1, len(ref) + 1):
        for j in range(1, len(hyp) + 1):
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]))
    return d


def edit_distance(ref: Sequence[int], hyp: Sequence[int]) -> int:
    """Substitutions + deletions + insertions turning ``ref`` into ``hyp`` (fewest)."""
    return int(_table(ref, hyp)[-1, -1])


def align(ref: Sequence[int], hyp: Sequence[int]) -> list[tuple[int | None, int | None]]:
    """A least-cost alignment as (reference label, hypothesis label) pairs; None on the side of an insertion
    (reference) or a deletion (hypothesis)."""
    d = _table(ref, hyp)
    i, j, out = len(ref), len(hyp), []
    while i or j:
        if i and j and d[i, j] == d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]):
            out.append((ref[i - 1], hyp[j - 1]))
            i, j = i - 1, j - 1
        elif i and d[i, j] == d[i - 1, j] + 1:
            out.append((ref[i - 1], None))
            i -= 1
        else:
            out.append((None, hyp[j - 1]))
            j -= 1
    return out[::-1]


def error_rate(refs: Sequence[Sequence[int]], hyps: Sequence[Sequence[int]]) -> float:
    """Total edit distance over total reference labels (the digit error rate of digit strings)."""
    if len(refs) != len(hyps):
        raise ValueError(f"error_rate: {len(refs)} references for {len(hyps)} hypotheses")
    total = sum(len(r) for r in refs)
    return sum(edit_distance(r, h) for r, h in zip(refs, hyps)) / max(total, 1)


def sequence_accuracy(refs: Sequence[Sequence[int]], hyps: Sequence[Sequence[int]]) -> float:
    """The fraction of hypotheses equal to their reference."""
    return float(np.mean([list(r) == list(h) for r, h in zip(refs, hyps)])) if len(refs) else 0.0
