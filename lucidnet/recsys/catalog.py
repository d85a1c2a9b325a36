"""``Catalog``: what a trained recommender needs to speak in the data's terms: raw user and item ids,
item titles, and the items each user has already seen (so they can be left out of recommendations).

A model trained on indices gets one attached (``model.catalog = Catalog.from_dataset(ds, train)``);
a run directory stores it as ``catalog.json`` beside the weights.

>>> import numpy as np
>>> from lucidnet.recsys.data import Ratings
>>> seen = Ratings(np.array([0, 0, 1]), np.array([1, 2, 0]), np.ones(3, np.float32), np.zeros(3, np.int64))
>>> cat = Catalog(user_ids=[7, 9], item_ids=[10, 20, 30], titles=["A", "B", "C"], seen=seen)
>>> cat.user_index(9), cat.seen_items(0).tolist()
(1, [1, 2])
>>> cat.user_index(8)
Traceback (most recent call last):
...
lucidnet.recsys.data.UnknownIdError: unknown user id 8: the data has 2 users with ids from 7 to 9
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..serialization.atomic import atomic_write
from .data import IdMaps, Ratings

__all__ = ["Catalog"]


class Catalog(IdMaps):
    """Raw ids (index -> id, sorted), titles, and the seen items per user (CSR: ``indptr``, ``indices``)."""

    def __init__(self, user_ids: Sequence[int], item_ids: Sequence[int], titles: Sequence[str] | None = None,
                 seen: Ratings | None = None, *, indptr: Sequence[int] | None = None,
                 indices: Sequence[int] | None = None):
        self.user_ids = np.asarray(user_ids, dtype=np.int64)
        self.item_ids = np.asarray(item_ids, dtype=np.int64)
        for name, ids in (("user_ids", self.user_ids), ("item_ids", self.item_ids)):
            if ids.ndim != 1 or (ids.size > 1 and not np.all(ids[1:] > ids[:-1])):
                raise ValueError(f"Catalog: {name} must be a 1-D array of distinct ids in increasing order")
        n_users, n_items = len(self.user_ids), len(self.item_ids)
        self.titles = list(titles) if titles is not None else [f"item {i}" for i in self.item_ids.tolist()]
        if len(self.titles) != n_items:
            raise ValueError(f"Catalog: {len(self.titles)} titles for {n_items} items")
        if seen is not None:
            order = np.lexsort((seen.item, seen.user))
            u, i = seen.user[order], seen.item[order]
            self.indptr = np.concatenate([[0], np.cumsum(np.bincount(u, minlength=n_users))]).astype(np.int64)
            self.indices = i.astype(np.int64)
        else:
            self.indptr = np.asarray(indptr if indptr is not None else np.zeros(n_users + 1), dtype=np.int64)
            self.indices = np.asarray(indices if indices is not None else [], dtype=np.int64)
        if len(self.indptr) != n_users + 1:
            raise ValueError(f"Catalog: indptr must have n_users + 1 = {n_users + 1} entries, got {len(self.indptr)}")

    @classmethod
    def from_dataset(cls, ds: Any, seen: Ratings | None = None) -> "Catalog":
        """From a dataset with ``user_ids``, ``item_ids`` and ``titles`` (``MovieLens100K``), and the training
        interactions the model saw."""
        return cls(ds.user_ids, ds.item_ids, ds.titles, seen)

    def seen_items(self, user: int) -> np.ndarray:
        """Indices of the items user index ``user`` interacted with in training."""
        return self.indices[self.indptr[user]:self.indptr[user + 1]]

    # ---- files ------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"user_ids": self.user_ids.tolist(), "item_ids": self.item_ids.tolist(), "titles": self.titles,
                "seen_indptr": self.indptr.tolist(), "seen_indices": self.indices.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Catalog":
        try:
            return cls(d["user_ids"], d["item_ids"], d["titles"], indptr=d["seen_indptr"],
                       indices=d["seen_indices"])
        except KeyError as e:
            raise ValueError(f"Catalog: the saved catalog lacks {e}") from None

    def save(self, path: str | os.PathLike) -> None:
        """Write as JSON, atomically."""
        atomic_write(path, [json.dumps(self.to_dict()).encode() + b"\n"])

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Catalog":
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"{p} is missing: the run directory has no item catalog")
        try:
            return cls.from_dict(json.loads(p.read_text()))
        except json.JSONDecodeError as e:
            raise ValueError(f"{p}: not valid JSON ({e})") from None

    def __repr__(self) -> str:
        return f"Catalog({self.n_users} users, {self.n_items} items, {len(self.indices)} seen interactions)"
