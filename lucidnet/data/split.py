"""Held-out splits of a user's own data that a run can recompute: the same ``(n, fraction, seed, labels)`` give the
same indices in any process, whatever the library generator's state (``lucidnet evaluate`` re-reads a table or
a folder and finds the test rows the run held out).

>>> import numpy as np
>>> train, test = holdout(10, 0.2, seed=0, stratify=np.array([0] * 5 + [1] * 5))
>>> len(train), len(test), sorted(np.array([0] * 5 + [1] * 5)[test].tolist())
(8, 2, [0, 1])
>>> bool(np.array_equal(holdout(10, 0.2, seed=0)[1], holdout(10, 0.2, seed=0)[1]))
True
"""
from __future__ import annotations

import numpy as np

__all__ = ["holdout"]


def holdout(n: int, fraction: float, seed: int = 0, stratify: np.ndarray | None = None,
            what: str = "samples") -> tuple[np.ndarray, np.ndarray]:
    """(kept indices, held-out indices) of ``n`` samples, ``fraction`` of them held out at random with
    ``seed`` (a generator of its own); ``stratify`` (class labels): each class held out in proportion, at
    least one sample of every class with two or more. Both index arrays come sorted. ``fraction`` 0 holds
    out nothing; a split that would leave either side empty is an error naming ``what`` is split."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"the held-out fraction must be in [0, 1), got {fraction}")
    if fraction == 0.0:
        return np.arange(n), np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    if stratify is None:
        k = int(round(n * fraction))
        if k < 1 or k >= n:
            raise ValueError(f"holding out {fraction:g} of {n} {what} leaves {'nothing held out' if k < 1 else 'nothing to train on'}")
        held = rng.permutation(n)[:k]
    else:
        labels = np.asarray(stratify)
        if len(labels) != n:
            raise ValueError(f"stratify has {len(labels)} labels for {n} {what}")
        held_parts = []
        for c in np.unique(labels):
            idx = np.flatnonzero(labels == c)
            k = int(round(len(idx) * fraction))
            if len(idx) >= 2:
                k = min(max(k, 1), len(idx) - 1)
            held_parts.append(rng.permutation(idx)[:k])
        held = np.concatenate(held_parts) if held_parts else np.zeros(0, dtype=np.int64)
        if len(held) == 0 or len(held) == n:
            raise ValueError(f"holding out {fraction:g} of {n} {what} by class leaves "
                             f"{'nothing held out' if len(held) == 0 else 'nothing to train on'}")
    mask = np.zeros(n, dtype=bool)
    mask[held] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)
