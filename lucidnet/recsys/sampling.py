"""Negative sampling for implicit feedback: items a user did not interact with, drawn uniformly or by
popularity, fresh every epoch, vectorised (rejection in rounds over all draws at once, never a Python
loop over interactions). Randomness comes from ``lucidnet.random.generator()``.

>>> import numpy as np, lucidnet as ln
>>> _ = ln.manual_seed(0)
>>> seen = InteractionSet(np.array([0, 0, 1]), np.array([0, 1, 2]), n_users=2, n_items=4)
>>> neg = NegativeSampler(seen).sample(np.array([0, 0, 1]), 2)
>>> neg.shape, bool(seen.contains(np.repeat([0, 0, 1], 2), neg.reshape(-1)).any())
((3, 2), False)
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from ..limits import check_count
from ..random import generator
from ..tensor import Tensor

__all__ = ["InteractionSet", "NegativeSampler", "ImplicitEpochs", "sample_eval_negatives"]

_DENSE_LIMIT = 1 << 26  # a user x item boolean matrix up to 64 MiB; beyond, sorted pair keys


class InteractionSet:
    """Which (user, item) pairs occurred: ``contains(users, items)`` for many pairs at once."""

    def __init__(self, users: np.ndarray, items: np.ndarray, n_users: int, n_items: int):
        self.n_users, self.n_items = int(n_users), int(n_items)
        users, items = np.asarray(users, np.int64), np.asarray(items, np.int64)
        self.item_counts = np.bincount(items, minlength=self.n_items)[:self.n_items]
        if self.n_users * self.n_items <= _DENSE_LIMIT:
            self.dense = np.zeros((self.n_users, self.n_items), bool)
            self.dense[users, items] = True
            self.keys = None
            self.counts = self.dense.sum(axis=1)  # distinct items per user
        else:
            self.dense = None
            self.keys = np.unique(users * self.n_items + items)
            self.counts = np.bincount(self.keys // self.n_items, minlength=self.n_users)

    def contains(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        if self.dense is not None:
            return self.dense[users, items]
        k = users * self.n_items + items
        pos = np.searchsorted(self.keys, k)
        return self.keys[np.minimum(pos, len(self.keys) - 1)] == k if len(self.keys) else np.zeros(k.shape, bool)


class NegativeSampler:
    """Draws items each user never interacted with (per ``seen``).

    ``mode="uniform"``: every unseen item equally likely. ``mode="popularity"``: item i with probability
    proportional to ``count(i) ** alpha`` (counts from ``seen``; alpha 1 is pure popularity, 0 uniform).
    Rejected draws (seen items) are redrawn in rounds until none is left.
    """

    def __init__(self, seen: InteractionSet, mode: str = "uniform", alpha: float = 1.0, max_rounds: int = 1000):
        if mode not in ("uniform", "popularity"):
            raise ValueError(f"NegativeSampler: mode must be 'uniform' or 'popularity', got {mode!r}")
        self.seen, self.mode, self.max_rounds = seen, mode, max_rounds
        self.cdf = None
        if mode == "popularity":
            w = seen.item_counts.astype(np.float64) ** alpha
            if w.sum() <= 0:
                raise ValueError("NegativeSampler: no item has been seen; popularity sampling has nothing to weigh")
            self.cdf = np.cumsum(w / w.sum())
            self.cdf[-1] = 1.0

    def _draw(self, size: int) -> np.ndarray:
        gen = generator()
        if self.cdf is None:
            return gen.integers(0, self.seen.n_items, size)
        return np.searchsorted(self.cdf, gen.random(size), side="right").clip(0, self.seen.n_items - 1)

    def _check_users(self, users: np.ndarray) -> None:
        full = self.seen.counts[users] >= self.seen.n_items
        if self.cdf is not None:  # items with zero weight can never be drawn
            reachable = int((np.diff(np.concatenate([[0.0], self.cdf])) > 0).sum())
            full = self.seen.counts[users] >= reachable
        if full.any():
            raise ValueError(f"NegativeSampler: user {int(users[full][0])} has interacted with every item that "
                             "can be drawn; there is no negative to sample")

    def sample(self, users: np.ndarray, n: int = 1) -> np.ndarray:
        """``n`` negatives per entry of ``users``: an int64 array (len(users), n)."""
        users = np.asarray(users, np.int64).reshape(-1)
        self._check_users(np.unique(users))
        flat_u = np.repeat(users, n)
        items = self._draw(flat_u.size)
        bad = np.flatnonzero(self.seen.contains(flat_u, items))
        rounds = 0
        while bad.size:
            rounds += 1
            if rounds > self.max_rounds:
                raise RuntimeError(f"NegativeSampler: {bad.size} draws still hit seen items after "
                                   f"{self.max_rounds} rounds")
            items[bad] = self._draw(bad.size)
            bad = bad[self.seen.contains(flat_u[bad], items[bad])]
        return items.reshape(len(users), n)


class ImplicitEpochs:
    """Batches ``(users, items, labels)`` of Tensors for ``fit``: every positive pair with label 1 and
    ``negatives`` fresh negatives per positive with label 0, drawn anew at each ``iter()`` (each epoch)
    and shuffled.

    >>> import numpy as np, lucidnet as ln
    >>> seen = InteractionSet(np.array([0, 1]), np.array([0, 1]), 2, 5)
    >>> epochs = ImplicitEpochs(np.array([0, 1]), np.array([0, 1]), NegativeSampler(seen), negatives=4,
    ...                         batch_size=4)
    >>> len(epochs), [tuple(t.shape) for t in next(iter(epochs))]
    (3, [(4,), (4,), (4,)])
    """

    def __init__(self, users: np.ndarray, items: np.ndarray, sampler: NegativeSampler, negatives: int = 4,
                 batch_size: int = 256, shuffle: bool = True):
        if negatives < 0 or batch_size < 1:
            raise ValueError(f"ImplicitEpochs: negatives must be >= 0 and batch_size >= 1, got {negatives}, "
                             f"{batch_size}")
        self.users, self.items = np.asarray(users, np.int64), np.asarray(items, np.int64)
        pairs = len(self.users) * (1 + negatives)  # an epoch's arrays: users, items (int64), labels (float32)
        check_count(pairs, 8 + 8 + 4, f"an epoch of {pairs} (user, item, label) triples", f"negatives={negatives}")
        self.sampler, self.negatives, self.batch_size, self.shuffle = sampler, negatives, batch_size, shuffle

    def __len__(self) -> int:
        return -(-len(self.users) * (1 + self.negatives) // self.batch_size)

    def epoch_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One epoch's ``(users, items, labels)``: positives, then their negatives; shuffled if asked."""
        k = self.negatives
        neg = self.sampler.sample(self.users, k).reshape(-1)
        users = np.concatenate([self.users, np.repeat(self.users, k)])
        items = np.concatenate([self.items, neg])
        labels = np.zeros(len(users), np.float32)
        labels[:len(self.users)] = 1.0
        if self.shuffle:
            p = generator().permutation(len(users))
            users, items, labels = users[p], items[p], labels[p]
        return users, items, labels

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
        users, items, labels = self.epoch_arrays()
        b = self.batch_size
        for s in range(0, len(users), b):
            yield (Tensor._make(users[s:s + b], None), Tensor._make(items[s:s + b], None),
                   Tensor._make(labels[s:s + b], None))


def sample_eval_negatives(seen: InteractionSet, users: np.ndarray, n: int = 99) -> np.ndarray:
    """``n`` distinct items per user that the user never interacted with (per ``seen``, which should hold
    all of the user's interactions, test items included), uniformly: (len(users), n) int64.

    Vectorised: draw a whole matrix, mark draws that are seen or repeat an earlier draw in their row,
    redraw those, until none is left.
    """
    users = np.asarray(users, np.int64).reshape(-1)
    free = seen.n_items - seen.counts[users]
    if users.size and free.min() < n:
        u = users[np.argmin(free)]
        raise ValueError(f"sample_eval_negatives: user {int(u)} has only {int(free.min())} items it never "
                         f"interacted with; {n} are needed")
    gen = generator()
    out = gen.integers(0, seen.n_items, (len(users), n))
    while True:
        bad = seen.contains(np.repeat(users, n), out.reshape(-1)).reshape(out.shape)
        order = np.argsort(out, axis=1, kind="stable")
        s = np.take_along_axis(out, order, axis=1)
        dup_sorted = np.zeros(out.shape, bool)
        dup_sorted[:, 1:] = s[:, 1:] == s[:, :-1]          # a later copy of an item already in the row
        dup = np.zeros(out.shape, bool)
        np.put_along_axis(dup, order, dup_sorted, axis=1)
        redo = bad | dup
        if not redo.any():
            return out
        out[redo] = gen.integers(0, seen.n_items, int(redo.sum()))
