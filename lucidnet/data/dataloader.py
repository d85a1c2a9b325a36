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

from ..random import stream
from ..tensor import Tensor
from .collate import stack_samples, to_tensors

__all__ = ["DataLoader", "steps_per_epoch"]


class _Epoch:
    """The order of one epoch and how many batches of it have been handed out."""

    __slots__ = ("order", "position", "batches")

    def __init__(self, order: np.ndarray | None, position: int, batches: list | None = None):
        self.order = order        # the epoch's indices in order (a permutation, or a sampler's); None: 0..n-1
        self.position = position  # batches handed to the caller so far
        self.batches = batches    # a batch sampler's batches, when there is one


class _Prefetcher:
    """One background thread that builds batches ``start..stop-1`` ahead of the consumer."""

    _END = object()

    def __init__(self, fetch: Callable[[int], Any], start: int, stop: int,
                 init: Callable[[int], Any] | None = None):
        self._fetch, self._start, self._stop_at, self._init = fetch, start, stop, init
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
            if self._init is not None:
                self._init(0)
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
        shuffle: a new random order every epoch, drawn from the library generator (or ``generator``).
        sampler: the indices of an epoch, in order (a ``Sampler`` or any iterable with ``__len__``); not
            with ``shuffle``.
        batch_sampler: the batches of an epoch, as lists of indices; not with ``batch_size``, ``shuffle``,
            ``sampler`` or ``drop_last``.
        num_workers: 0 builds batches in the caller's thread; more than 0 builds them ahead in one
            background thread (``prefetch``): lucidnet starts no worker processes. ``worker_init_fn(0)``
            is called in that thread; ``prefetch_factor``, ``persistent_workers`` and ``timeout`` are
            checked as PyTorch checks them.
        collate_fn: turns a list of samples into a batch; default: ``default_collate`` (NumPy arrays,
            numbers and Tensors stacked into Tensors; float arrays become float32, integers int64).
        pin_memory: accepted; there is no device memory to pin on the CPU (PyTorch also ignores it there).
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        generator: a ``lucidnet.Generator`` for the shuffled order.
        prefetch: build the next batch in one background thread while the caller uses the current one.
            A dataset whose ``__getitem__`` draws random numbers (random augmentation) then draws them from
            that thread; use ``prefetch=False`` where such runs must be bit-reproducible.
        transform: applied to the inputs of every collated batch (a batch transform such as
            ``lucidnet.vision.transforms.Compose([...])``): to the batch itself when it is one array, else
            to its first element (``x`` of ``(x, y)``). It sees NumPy arrays on the default path (Tensors
            after a ``collate_fn``) and runs where the batch is built (the prefetch thread with ``prefetch``).
    """

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False, sampler: Any = None,
                 batch_sampler: Any = None, num_workers: int = 0, collate_fn: Callable[[list], Any] | None = None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable[[int], Any] | None = None, generator: Any = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False, prefetch: bool = False,
                 transform: Callable[[Any], Any] | None = None):
        if not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
            raise TypeError(f"DataLoader: expected a map-style dataset (with __getitem__ and __len__), "
                            f"got {type(dataset).__name__}")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, "
                                 "sampler, and drop_last")
            if not hasattr(batch_sampler, "__len__"):
                raise TypeError("DataLoader: batch_sampler needs __len__ (the number of batches of an epoch)")
        if sampler is not None:
            if shuffle:
                raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
            if not hasattr(sampler, "__len__"):
                raise TypeError("DataLoader: sampler needs __len__ (the number of indices of an epoch)")
        if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers option should be non-negative, got {num_workers!r}")
        if num_workers == 0 and (prefetch_factor is not None or persistent_workers):
            raise ValueError("DataLoader: prefetch_factor and persistent_workers need num_workers > 0")
        if not isinstance(timeout, (int, float)) or timeout < 0:
            raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout!r}")
        if worker_init_fn is not None and not callable(worker_init_fn):
            raise TypeError(f"DataLoader: worker_init_fn must be callable, got {type(worker_init_fn).__name__}")
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
        self.sampler, self.batch_sampler, self.generator = sampler, batch_sampler, generator
        self.num_workers, self.pin_memory, self.timeout = int(num_workers), bool(pin_memory), timeout
        self.worker_init_fn = worker_init_fn
        self.prefetch = bool(prefetch) or self.num_workers > 0
        self._epoch: _Epoch | None = None   # the epoch last started by iter()
        self._resume: _Epoch | None = None  # set by load_state_dict, used by the next iter()

    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return steps_per_epoch(self._num_indices(), self.batch_size, self.drop_last)

    def _num_indices(self) -> int:
        return len(self.dataset) if self.sampler is None else len(self.sampler)

    # ---- iteration ----------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Any]:
        if self._resume is not None:
            epoch, self._resume = self._resume, None
        elif self.batch_sampler is not None:
            epoch = _Epoch(None, 0, [np.asarray(b, dtype=np.int64) for b in self.batch_sampler])
        elif self.sampler is not None:
            epoch = _Epoch(np.fromiter(iter(self.sampler), dtype=np.int64, count=len(self.sampler)), 0)
        else:
            epoch = _Epoch(stream(self.generator).permutation(len(self.dataset)) if self.shuffle else None, 0)
        self._epoch = epoch
        return self._run(epoch)

    def _indices(self, epoch: _Epoch, k: int) -> np.ndarray:
        if epoch.batches is not None:
            return epoch.batches[k]
        lo = k * self.batch_size
        hi = min(lo + self.batch_size, self._num_indices())
        return np.arange(lo, hi) if epoch.order is None else epoch.order[lo:hi]

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
        stop = len(epoch.batches) if epoch.batches is not None else len(self)
        if self.prefetch:
            pre = _Prefetcher(lambda k: self._fetch(self._indices(epoch, k)), epoch.position, stop,
                              self.worker_init_fn)
            try:
                for k, batch in pre:
                    epoch.position = k + 1
                    yield batch
            finally:
                pre.close()
        else:
            for k in range(epoch.position, stop):
                batch = self._fetch(self._indices(epoch, k))
                epoch.position = k + 1
                yield batch
        if self._epoch is epoch:  # finished: the next iter() starts a new epoch
            self._epoch = None

    # ---- resuming -----------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Where the current epoch stands: its permutation (None without shuffling) and the number of
        batches handed out. Values are ints, bools and one int64 array (safe for any checkpoint format)."""
        epoch = self._resume or self._epoch
        perm = lengths = None
        if epoch is not None and epoch.batches is not None:   # a batch sampler's batches, end to end
            perm = np.concatenate(epoch.batches) if epoch.batches else np.zeros(0, np.int64)
            lengths = np.array([len(b) for b in epoch.batches], dtype=np.int64)
        elif epoch is not None and epoch.order is not None:
            perm = epoch.order.copy()
        state = {"num_samples": len(self.dataset), "batch_size": self.batch_size, "shuffle": self.shuffle,
                 "drop_last": self.drop_last, "position": 0 if epoch is None else epoch.position,
                 "permutation": perm}
        if lengths is not None:
            state["batch_lengths"] = lengths
        return state

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
        perm, lengths = state["permutation"], state.get("batch_lengths")
        batches = None
        if perm is not None:
            perm = np.array(perm, dtype=np.int64)
            if self.sampler is not None or self.batch_sampler is not None:  # any indices of the dataset
                if perm.ndim != 1 or (perm.size and (perm.min() < 0 or perm.max() >= n)):
                    raise ValueError(f"DataLoader.load_state_dict: 'permutation' must hold indices in [0, {n}), "
                                     f"got an array of shape {perm.shape}")
            elif perm.shape != (n,) or not np.array_equal(np.bincount(perm.clip(0, n), minlength=n + 1)[:n],
                                                           np.ones(n, np.int64)):
                raise ValueError(f"DataLoader.load_state_dict: 'permutation' must be a permutation of "
                                 f"0..{n - 1}, got an array of shape {perm.shape}")
        elif self.shuffle and position > 0:
            raise ValueError("DataLoader.load_state_dict: a shuffled epoch in progress needs its 'permutation'")
        if (lengths is not None) != (self.batch_sampler is not None):
            raise ValueError("DataLoader.load_state_dict: the state was saved by a loader "
                             f"{'with' if lengths is not None else 'without'} a batch_sampler, this one is not")
        if lengths is not None:
            lengths = np.array(lengths, dtype=np.int64)
            if perm is None or lengths.ndim != 1 or (lengths < 0).any() or lengths.sum() != len(perm):
                raise ValueError("DataLoader.load_state_dict: 'batch_lengths' do not add up to the saved indices")
            batches = np.split(perm, np.cumsum(lengths)[:-1]) if len(lengths) else []
        stop = len(batches) if batches is not None else (len(self) if perm is None or self.sampler is None else
                                                         steps_per_epoch(len(perm), self.batch_size, self.drop_last))
        if not 0 <= position <= stop:
            raise ValueError(f"DataLoader.load_state_dict: position {position} is outside [0, {stop}]")
        resume = perm is not None or position > 0
        self._resume = _Epoch(None if batches is not None else perm, position, batches) if resume else None
        self._epoch = None

    def __repr__(self) -> str:
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, prefetch={self.prefetch})")
