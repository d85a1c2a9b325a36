"""What ``fit`` does when its process is one rank of a world (``mpiexec -n N``; ``lucidnet.distributed``):
data-parallel training of the same recipe, unchanged.

* The batch size is the global one: each rank trains on ``ceil(batch_size / N)`` samples per step, so N
  ranks take the steps one process takes with ``batch_size`` (the recipe's batch, its learning rate and
  schedule stay right). A ``DataLoader`` over a dataset (the one ``fit`` builds from arrays, or yours) is
  rebuilt over the same dataset with a ``DistributedSampler`` (seeded from the library generator of rank 0,
  a new order each epoch) and that per-rank batch; a loader whose sampler already is a
  ``DistributedSampler`` is used as it is. Any other loader (token streams, bucketed text, sampled
  negatives) is read whole on every rank, the library RNG made the same on every rank at each epoch start,
  and each rank trains on its slice of every batch (rows ``r * B/N`` to ``(r + 1) * B/N``).
* The model is wrapped in ``DistributedDataParallel`` for the run: parameters and buffers from rank 0, the
  definitions checked, gradients averaged at every backward. Rank 0's buffers (BatchNorm's running
  statistics) are copied to every rank before each validation and at the end.
* The epoch's loss and metrics are summed over the ranks (correct and total counts, loss sums), and so is
  validation, which each rank runs on every N-th batch. Every step the ranks agree on stopping (a time
  budget, a callback) and share the largest elapsed time.
* Rank 0 alone runs the callbacks that print or write (``Callback.rank_zero_only``: the progress bar, the
  CSV log, model checkpoints, the monitor) and writes training checkpoints. ``resume`` reads rank 0's file
  and broadcasts it; the accumulators of an epoch in progress are saved summed and resumed on rank 0.
"""
from __future__ import annotations

import math
import os
import tempfile
from typing import Any, Iterator

import numpy as np

from .. import distributed as dist
from ..data import DataLoader, DistributedSampler
from ..nn.parallel import DistributedDataParallel
from ..random import generator, get_rng_state, set_rng_state
from ..tensor import Tensor

__all__ = ["WorldRun", "per_rank_batch", "slice_batch"]


def per_rank_batch(batch_size: int, world_size: int) -> int:
    """The samples per rank of a global batch of ``batch_size`` split over ``world_size`` ranks.

    >>> per_rank_batch(128, 2), per_rank_batch(100, 3)
    (64, 34)
    """
    return max(1, math.ceil(batch_size / world_size))


def slice_batch(batch: Any, rank: int, size: int) -> Any:
    """Rank ``rank``'s share of ``batch``: the same rows of every array in it whose first dimension is the
    batch's (``np.array_split``'s rows; a batch of fewer rows than ranks gives rank r row ``r % n``).

    >>> import numpy as np
    >>> x, y = np.arange(10).reshape(5, 2), np.arange(5)
    >>> [b.tolist() for b in slice_batch((x, y), 1, 2)]
    [[[6, 7], [8, 9]], [3, 4]]
    """
    n = _rows(batch)
    if n is None:
        return batch
    if n >= size:
        share, extra = divmod(n, size)
        lo = rank * share + min(rank, extra)
        rows: Any = slice(lo, lo + share + (rank < extra))
    else:
        rows = [rank % n] if n else slice(0, 0)
    return _take(batch, rows, n)


def _rows(batch: Any) -> int | None:
    if isinstance(batch, (Tensor, np.ndarray)):
        return int(batch.shape[0]) if batch.ndim else None
    if isinstance(batch, (tuple, list)):
        for b in batch:
            n = _rows(b)
            if n is not None:
                return n
    if isinstance(batch, dict):
        return _rows(list(batch.values()))
    return None


def _take(batch: Any, rows: Any, n: int) -> Any:
    if isinstance(batch, Tensor):
        return Tensor(batch.array[rows]) if batch.ndim and batch.shape[0] == n else batch
    if isinstance(batch, np.ndarray):
        return batch[rows] if batch.ndim and batch.shape[0] == n else batch
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(_take(b, rows, n) for b in batch))
    if isinstance(batch, (tuple, list)):
        return type(batch)(_take(b, rows, n) for b in batch)
    if isinstance(batch, dict):
        return {k: _take(v, rows, n) for k, v in batch.items()}
    return batch


class SlicedLoader:
    """A loader read whole by every rank, each rank taking its slice of every batch (see ``slice_batch``)."""

    def __init__(self, loader: Any, rank: int, size: int):
        self.loader, self.rank, self.size = loader, rank, size

    def __iter__(self) -> Iterator[Any]:
        for batch in self.loader:
            yield slice_batch(batch, self.rank, self.size)

    def __len__(self) -> int:
        return len(self.loader)

    def __getattr__(self, name: str) -> Any:  # state_dict / load_state_dict, when the loader has them
        if name == "loader":
            raise AttributeError(name)
        return getattr(self.loader, name)


def _plain(loader: Any) -> bool:
    """A DataLoader that draws its own order over a dataset (no sampler or batch sampler of the user's)."""
    return isinstance(loader, DataLoader) and loader.sampler is None and loader.batch_sampler is None


class WorldRun:
    """The rank's side of one ``fit`` in a world of several processes (see the module docstring)."""

    def __init__(self, world: dist.World):
        self.world = world
        self.rank, self.size = world.rank, world.size
        self.ddp: DistributedDataParallel | None = None
        self.sampler: DistributedSampler | None = None

    @classmethod
    def join(cls) -> "WorldRun | None":
        """A WorldRun when this process is one rank of several (joining the world mpiexec started)."""
        world = dist.joined()
        return None if world is None or world.size == 1 else cls(world)

    # ---- data -------------------------------------------------------------------------------------
    def train_loader(self, loader: Any) -> Any:
        """This rank's loader of the training data (see the module docstring)."""
        if isinstance(loader, DataLoader) and isinstance(loader.sampler, DistributedSampler):
            self.sampler = loader.sampler
            return loader
        if _plain(loader):
            seed = [int(generator().integers(2 ** 31))] if self.rank == 0 else [None]
            dist.broadcast_object_list(seed)
            self.sampler = DistributedSampler(loader.dataset, self.size, self.rank, shuffle=loader.shuffle,
                                              seed=seed[0], drop_last=loader.drop_last)
            return DataLoader(loader.dataset, batch_size=per_rank_batch(loader.batch_size, self.size),
                              sampler=self.sampler, collate_fn=loader.collate_fn, drop_last=loader.drop_last,
                              transform=loader.transform, prefetch=loader.prefetch,
                              num_workers=loader.num_workers, worker_init_fn=loader.worker_init_fn)
        return SlicedLoader(loader, self.rank, self.size)

    def begin_epoch(self, loader: Any, epoch: int) -> None:
        """A new order for the epoch: the sampler's epoch set, or rank 0's library RNG given to every rank."""
        if self.sampler is not None:
            self.sampler.set_epoch(epoch)
        elif isinstance(loader, SlicedLoader):
            state = [get_rng_state()]
            dist.broadcast_object_list(state)
            set_rng_state(state[0])

    def eval_batches(self, loader: Any) -> Iterator[Any]:
        """Every ``size``-th batch of ``loader``, from this rank's: its share of an evaluation."""
        for k, batch in enumerate(loader):
            if k % self.size == self.rank:
                yield batch

    def resumed_loader(self, loader: Any, epoch: int) -> None:
        """After a resume: this rank's order for the saved epoch (the checkpoint holds rank 0's)."""
        if self.sampler is None or not hasattr(loader, "load_state_dict"):
            return
        self.sampler.set_epoch(epoch)
        state = dict(loader.state_dict())
        if state.get("permutation") is not None:
            state["permutation"] = np.fromiter(iter(self.sampler), dtype=np.int64, count=len(self.sampler))
            loader.load_state_dict(state)

    # ---- the model --------------------------------------------------------------------------------
    def wrap(self, model: Any) -> None:
        """Parameters and buffers from rank 0, gradients averaged over the ranks from now on."""
        if isinstance(model, DistributedDataParallel):
            model.sync_buffers()
            return
        self.ddp = DistributedDataParallel(model, broadcast_buffers=False)

    def sync_buffers(self) -> None:
        if self.ddp is not None:
            self.ddp.sync_buffers()

    def release(self) -> None:
        """The end of the run (on every path, so no collective here): the gradients are no longer averaged."""
        if self.ddp is not None:
            self.ddp.remove_hooks()
        self.ddp = None

    # ---- agreeing ---------------------------------------------------------------------------------
    def largest(self, value: float) -> float:
        """The largest of the ranks' ``value`` (the elapsed training time: one clock for a time budget)."""
        box = np.array([float(value)])
        dist.all_reduce(box, dist.ReduceOp.MAX)
        return float(box[0])

    def any(self, flag: bool) -> bool:
        """Whether any rank's ``flag`` is set (stop training: every rank stops at the same step)."""
        return self.largest(float(flag)) > 0

    def summed(self, states: list[dict]) -> list[dict]:
        """Each accumulator state (a metric's ``state_dict()``) summed over the ranks."""
        everyone: list = [None] * self.size
        dist.all_gather_object(everyone, states)
        return [_sum_states([rank_states[i] for rank_states in everyone]) for i in range(len(states))]

    # ---- checkpoints ------------------------------------------------------------------------------
    def decide(self, path: str | None) -> str | None:
        """Rank 0's answer (whether and what to resume from), for every rank."""
        box = [path]
        dist.broadcast_object_list(box)
        return box[0]

    def local_copy(self, path: str) -> tuple[str, bool]:
        """(a file holding rank 0's ``path``, whether it is a temporary copy to delete after reading)."""
        size = [os.path.getsize(path) if self.rank == 0 else 0]
        dist.broadcast_object_list(size)
        data = np.empty(size[0], dtype=np.uint8)
        if self.rank == 0:
            data[:] = np.fromfile(path, dtype=np.uint8)
        dist.broadcast(data)
        if self.rank == 0:
            return path, False
        fd, copy = tempfile.mkstemp(suffix=".safetensors", prefix="lucidnet-resume-")
        with os.fdopen(fd, "wb") as f:
            f.write(data.tobytes())
        return copy, True


def _sum_states(states: list[dict]) -> dict:
    out: dict = {}
    for key in states[0]:
        values = [s[key] for s in states if s.get(key) is not None]
        if not values:
            out[key] = None
        elif isinstance(values[0], np.ndarray):
            out[key] = np.sum(values, axis=0)
        else:
            out[key] = type(values[0])(sum(values))
    return out
