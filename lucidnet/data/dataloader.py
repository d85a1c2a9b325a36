"""``DataLoader``: batches of Tensors from a dataset, shuffled by the library seed, resumable mid-epoch.

>>> import numpy as np, lucidnet as ln
>>> from lucidnet.data import DataLoader, TensorDataset
>>> ds = TensorDataset(np.arange(10, dtype=np.float64).reshape(5, 2), np.arange(5))
>>> loader = DataLoader(ds, batch_size=2)
>>> len(loader)
3
>>> [(x.shape, x.dtype, y.tolist()) for x, y in loader][-1]
((1, 2), dtype('float32'), [4])

Each epoch's order is a permutation drawn from ``lucidnet.random.generator()`` when ``iter(loader)`` is
called, so ``lucidnet.manual_seed(n)`` fixes every epoch's order. ``state_dict()`` records the epoch's
permutation and how many batches were handed out; ``load_state_dict`` makes the next ``iter(loader)``
resume at that batch with that order (restore the library's RNG state as well, with
``lucidnet.set_rng_state``, and the later epochs match an uninterrupted run too).
"""
from __future__ import annotations

import math
import queue
import threading
from typing import Any, Callable, Iterator

import numpy as np

from ..random import generator
from ..tensor import Tensor
from .collate import stack_samples, to_tensors

__all__ = ["DataLoader", "steps_per_epoch"]


class _Epoch:
    """The order of one epoch and how many batches of it have been handed out."""

    __slots__ = ("order", "position")

    def __init__(self, order: np.ndarray | None, position: int):
        self.order = order        # the epoch's permutation; None means 0..n-1
        self.position = position  # batches handed to the caller so far


class _Prefetcher:
    """One background thread that builds batches ``start..stop-1`` ahead of the consumer."""

    _END = object()

    def __init__(self, fetch: Callable[[int], Any], start: int, stop: int):
        self._fetch, self._start, self._stop_at = fetch, start, stop
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name="lucidnet-prefetch", daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _work(self) -> None:
        try:
            for k in range(self._start, self._stop_at):
                if self._stop.is_set() or not self._put((k, self._fetch(k))):
                    return
            self._put(self._END)
        except BaseException as e:  # handed to the consumer, raised there
            self._put(e)

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
        if threading.current_thread() is not self._thread:
            self._thread.join()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()


def steps_per_epoch(n_samples: int, batch_size: int, drop_last: bool = False) -> int:
    """The batches (optimizer steps) of one epoch over ``n_samples``: ``ceil(n / batch_size)``, or
    ``n // batch_size`` when the last partial batch is dropped.

    >>> steps_per_epoch(10, 4), steps_per_epoch(10, 4, drop_last=True)
    (3, 2)
    """
    return n_samples // batch_size if drop_last else math.ceil(n_samples / batch_size)


class DataLoader:
    """Iterate over ``dataset`` in batches of Tensors.

    Args:
        dataset: a map-style dataset (``__getitem__`` and ``__len__``). When it has ``get_batch(indices)``
            (``TensorDataset``, ``Subset``, the built-in datasets), a batch is built by one fancy-index per
            array instead of a Python loop over samples.
        batch_size: samples per batch.
        shuffle: a new random order every epoch, drawn from the library generator.
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        collate_fn: turns a list of samples into a batch; default: ``default_collate`` (NumPy arrays,
            numbers and Tensors stacked into Tensors; float arrays become float32, integers int64).
        prefetch: build the next batch in one background thread while the caller uses the current one.
            A dataset whose ``__getitem__`` draws random numbers (random augmentation) then draws them from
            that thread; use ``prefetch=False`` where such runs must be bit-reproducible.
        transform: applied to the inputs of every collated batch (a batch transform such as
            ``lucidnet.vision.transforms.Compose([...])``): to the batch itself when it is one array, else
            to its first element (``x`` of ``(x, y)``). It sees NumPy arrays on the default path (Tensors
            after a ``collate_fn``) and runs where the batch is built (the prefetch thread with ``prefetch``).
    """

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 collate_fn: Callable[[list], Any] | None = None, prefetch: bool = False,
                 transform: Callable[[Any], Any] | None = None):
        if not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
            raise TypeError(f"DataLoader: expected a map-style dataset (with __getitem__ and __len__), "
                            f"got {type(dataset).__name__}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got {type(collate_fn).__name__}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        if transform is not None and not callable(transform):
            raise TypeError(f"DataLoader: transform must be callable, got {type(transform).__name__}")
        self.collate_fn = collate_fn
        self.transform = transform
        self.prefetch = bool(prefetch)
        self._epoch: _Epoch | None = None   # the epoch last started by iter()
        self._resume: _Epoch | None = None  # set by load_state_dict, used by the next iter()

    def __len__(self) -> int:
        return steps_per_epoch(len(self.dataset), self.batch_size, self.drop_last)

    # ---- iteration ----------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Any]:
        if self._resume is not None:
            epoch, self._resume = self._resume, None
        else:
            epoch = _Epoch(generator().permutation(len(self.dataset)) if self.shuffle else None, 0)
        self._epoch = epoch
        return self._run(epoch)

    def _indices(self, order: np.ndarray | None, k: int) -> np.ndarray:
        lo = k * self.batch_size
        hi = min(lo + self.batch_size, len(self.dataset))
        return np.arange(lo, hi) if order is None else order[lo:hi]

    def _fetch(self, idx: np.ndarray) -> Any:
        ds = self.dataset
        if self.collate_fn is not None:
            return self._transform(self.collate_fn([ds[int(i)] for i in idx]))
        get_batch = getattr(ds, "get_batch", None)
        batch = get_batch(idx) if get_batch is not None else stack_samples([ds[int(i)] for i in idx])
        return to_tensors(self._transform(batch))

    def _transform(self, batch: Any) -> Any:
        """``self.transform`` applied to the batch's inputs: the batch itself, or its first element."""
        t = self.transform
        if t is None:
            return batch
        if isinstance(batch, (np.ndarray, Tensor)):
            return t(batch)
        if isinstance(batch, (tuple, list)) and batch:
            first = t(batch[0])
            if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # a named tuple
                return batch._replace(**{batch._fields[0]: first})
            return [first, *batch[1:]] if isinstance(batch, list) else (first, *batch[1:])
        raise TypeError(f"DataLoader: transform= applies to batches that are one array or (inputs, ...) tuples; "
                        f"this batch is a {type(batch).__name__}")

    def _run(self, epoch: _Epoch) -> Iterator[Any]:
        order, stop = epoch.order, len(self)
        if self.prefetch:
            pre = _Prefetcher(lambda k: self._fetch(self._indices(order, k)), epoch.position, stop)
            try:
                for k, batch in pre:
                    epoch.position = k + 1
                    yield batch
            finally:
                pre.close()
        else:
            for k in range(epoch.position, stop):
                batch = self._fetch(self._indices(order, k))
                epoch.position = k + 1
                yield batch
        if self._epoch is epoch:  # finished: the next iter() starts a new epoch
            self._epoch = None

    # ---- resuming -----------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Where the current epoch stands: its permutation (None without shuffling) and the number of
        batches handed out. Values are ints, bools and one int64 array (safe for any checkpoint format)."""
        epoch = self._resume or self._epoch
        perm = None if epoch is None or epoch.order is None else epoch.order.copy()
        return {"num_samples": len(self.dataset), "batch_size": self.batch_size, "shuffle": self.shuffle,
                "drop_last": self.drop_last, "position": 0 if epoch is None else epoch.position,
                "permutation": perm}

    def load_state_dict(self, state: dict) -> None:
        """Make the next ``iter(self)`` continue the saved epoch at the saved batch, in the saved order."""
        missing = {"num_samples", "batch_size", "shuffle", "drop_last", "position", "permutation"} - set(state)
        if missing:
            raise KeyError(f"DataLoader.load_state_dict: state is missing {sorted(missing)}")
        n = len(self.dataset)
        for key, mine in (("num_samples", n), ("batch_size", self.batch_size), ("shuffle", self.shuffle),
                          ("drop_last", self.drop_last)):
            theirs = state[key].item() if isinstance(state[key], np.ndarray) else state[key]
            if theirs != mine:
                raise ValueError(f"DataLoader.load_state_dict: the state was saved with {key}={theirs!r}, "
                                 f"but this loader has {key}={mine!r}")
        position = int(state["position"])
        if not 0 <= position <= len(self):
            raise ValueError(f"DataLoader.load_state_dict: position {position} is outside [0, {len(self)}]")
        perm = state["permutation"]
        if perm is not None:
            perm = np.array(perm, dtype=np.int64)
            if perm.shape != (n,) or not np.array_equal(np.bincount(perm.clip(0, n), minlength=n + 1)[:n],
                                                         np.ones(n, np.int64)):
                raise ValueError(f"DataLoader.load_state_dict: 'permutation' must be a permutation of "
                                 f"0..{n - 1}, got an array of shape {perm.shape}")
        elif self.shuffle and position > 0:
            raise ValueError("DataLoader.load_state_dict: a shuffled epoch in progress needs its 'permutation'")
        self._resume = _Epoch(perm, position) if perm is not None or position > 0 else None
        self._epoch = None

    def __repr__(self) -> str:
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, prefetch={self.prefetch})")
