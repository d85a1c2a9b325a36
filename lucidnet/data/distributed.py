"""``DistributedSampler``: each process of a data-parallel job its own shard of the dataset (PyTorch's
``torch.utils.data.distributed.DistributedSampler``, the same indices for the same order).

An epoch's order (a permutation drawn from ``seed + epoch`` when ``shuffle``, else 0..n-1) is padded by
repeating its first indices up to a multiple of ``num_replicas`` (or cut down to one, ``drop_last``), and
rank ``r`` takes every ``num_replicas``-th index from ``r``: the shards are disjoint (but for the padding)
and equally long, so every rank takes the same number of steps. The order is the same on every rank
without any communication; call ``set_epoch(epoch)`` at each epoch start for a new one. With a per-rank
batch of B/N, global batch k (the ranks' k-th batches together) is the k-th run of B indices of the order.

>>> sampler = DistributedSampler(range(10), num_replicas=4, rank=1, shuffle=False)
>>> list(sampler), len(sampler)
([1, 5, 9], 3)
>>> list(DistributedSampler(range(10), num_replicas=4, rank=3, shuffle=False))  # padded with 0, 1
[3, 7, 1]
"""
from __future__ import annotations

import math
from typing import Any, Iterator

import numpy as np

from .. import distributed as dist
from .sampler import Sampler

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler):
    """The indices of rank ``rank`` among ``num_replicas`` (default: this process's world, see
    ``lucidnet.distributed.init``); ``shuffle`` with the generator seeded by ``seed + epoch``."""

    def __init__(self, dataset: Any, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False):
        if num_replicas is None:
            num_replicas = dist.get_world_size()
        if rank is None:
            rank = dist.get_rank()
        if isinstance(num_replicas, bool) or not isinstance(num_replicas, (int, np.integer)) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive int, got {num_replicas!r}")
        if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last, self.epoch = bool(shuffle), int(seed), bool(drop_last), 0
        n = len(dataset)
        if self.drop_last and n % self.num_replicas != 0:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def order(self) -> np.ndarray:
        """The epoch's order of the whole dataset, before padding and sharding."""
        n = len(self.dataset)
        if self.shuffle:
            return np.random.default_rng(self.seed + self.epoch).permutation(n)
        return np.arange(n)

    def __iter__(self) -> Iterator[int]:
        indices = self.order()
        if not self.drop_last:
            pad = self.total_size - len(indices)
            if pad > 0:
                indices = np.concatenate([indices, np.tile(indices, math.ceil(pad / max(len(indices), 1)))[:pad]])
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas].tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Make the next epoch's order the one of ``epoch`` (the same on every rank)."""
        self.epoch = int(epoch)
