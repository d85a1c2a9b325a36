"""``DistributedDataParallel``: one model trained by several processes, each on its share of every batch.

At wrap time the model's definition is compared across the ranks (names, shapes and dtypes of parameters
and buffers: a mismatch is an error naming the first difference) and rank 0's parameters and buffers are
copied to every rank. Then every backward averages the gradients over the ranks: each parameter's
gradient is copied into a contiguous bucket (buckets of at most ``bucket_cap_mb``, filled in the reverse
order of ``parameters()``, roughly the order backward finishes them) as soon as it is complete (a
post-accumulate-grad hook), a full bucket's Allreduce starts at once (overlapping the rest of the backward)
and, when the backward ends, the averages are copied back into ``.grad``. Each bucket carries one flag per
parameter, so a parameter that got no gradient on any rank keeps ``grad`` None, and one that got it on some
ranks only is averaged with zeros from the others.

In training mode each forward first copies rank 0's buffers (BatchNorm's running statistics) to every
rank (``broadcast_buffers``); ``sync_buffers()`` does it on request. ``no_sync()`` skips the averaging
(accumulate gradients over several backwards, then average on the next one outside the block).

>>> import lucidnet as ln, lucidnet.distributed as dist
>>> world = dist.init()                                  # doctest: +SKIP
>>> model = DistributedDataParallel(ln.nn.Linear(4, 2))  # doctest: +SKIP
>>> model(ln.randn(8, 4)).sum().backward()               # doctest: +SKIP
"""
from __future__ import annotations

import hashlib
import time
import weakref
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import numpy as np

from ... import distributed as dist
from ...autograd import hooks, version
from ...autograd.grad_mode import is_grad_enabled, no_grad
from ...tensor import Tensor
from ..module import Module
from .data_parallel import _check_ids

__all__ = ["DistributedDataParallel", "model_signature", "check_same_model", "broadcast_state"]


def model_signature(module: Module) -> list[tuple]:
    """What must be the same on every rank: (kind, name, shape, dtype) of each parameter and buffer."""
    rows = [("parameter", n, tuple(p.shape), str(p.dtype), bool(p.requires_grad))
            for n, p in module.named_parameters()]
    return rows + [("buffer", n, tuple(b.shape), str(b.dtype)) for n, b in module.named_buffers()]


def check_same_model(module: Module, who: str = "DistributedDataParallel") -> None:
    """An error on every rank, naming the first difference, unless every rank has the same model definition."""
    mine = model_signature(module)
    digest = hashlib.sha256(repr(mine).encode()).hexdigest()
    digests = [None] * dist.get_world_size()
    dist.all_gather_object(digests, digest)
    if len(set(digests)) == 1:
        return
    signatures = [None] * dist.get_world_size()
    dist.all_gather_object(signatures, mine)
    other = next(r for r, d in enumerate(digests) if d != digests[0])
    a, b = signatures[0], signatures[other]
    for i in range(max(len(a), len(b))):
        ra, rb = (a[i] if i < len(a) else None), (b[i] if i < len(b) else None)
        if ra != rb:
            raise ValueError(f"{who}: the model differs across ranks: rank 0 has {_describe(ra)}, rank {other} has "
                             f"{_describe(rb)}; every rank must build the same model")


def _describe(row: tuple | None) -> str:
    if row is None:
        return "nothing more"
    kind, name, shape, dtype = row[:4]
    grad = "" if kind == "buffer" or row[4] else " (requires_grad=False)"
    return f"{kind} {name!r} of shape {shape} {dtype}{grad}"


def _flat_groups(tensors: Sequence[Tensor]) -> list[tuple[np.ndarray, list[Tensor]]]:
    """The tensors grouped by dtype, each group with one contiguous buffer holding them end to end."""
    groups: dict[Any, list[Tensor]] = {}
    for t in tensors:
        groups.setdefault(t.dtype, []).append(t)
    return [(np.concatenate([t.array.reshape(-1) for t in ts]), ts) for ts in groups.values()]


def broadcast_state(tensors: Sequence[Tensor], src: int = 0) -> int:
    """Copy rank ``src``'s values of ``tensors`` into every rank's (one broadcast per dtype); the bytes sent."""
    sent = 0
    with no_grad():
        for flat, ts in _flat_groups([t for t in tensors if t.array.size]):
            dist.broadcast(flat, src)
            sent += flat.nbytes
            offset = 0
            for t in ts:
                n = t.array.size
                t.array[...] = flat[offset:offset + n].reshape(t.array.shape)
                version.bump(t.array)
                offset += n
    return sent


class _Bucket:
    """Parameters of one dtype whose gradients travel together: ``buffer`` holds their gradients end to end,
    then one flag per parameter (1: this rank has its gradient)."""

    def __init__(self, params: list[Tensor]):
        self.params = params
        self.offsets = np.cumsum([0] + [p.array.size for p in params])
        self.numel = int(self.offsets[-1])
        self.buffer = np.zeros(self.numel + len(params), dtype=params[0].dtype)
        self.index = {id(p): i for i, p in enumerate(params)}
        self.ready = 0
        self.work: Any = None

    def put(self, i: int, p: Tensor) -> None:
        lo, hi = self.offsets[i], self.offsets[i + 1]
        if p.grad is None:
            self.buffer[lo:hi] = 0
            self.buffer[self.numel + i] = 0
        else:
            self.buffer[lo:hi] = p.grad.array.reshape(-1)
            self.buffer[self.numel + i] = 1

    def take(self, world_size: int) -> None:
        """The averages back into the parameters' gradients (None stays None where no rank had one)."""
        grads = self.buffer[:self.numel]
        grads /= world_size
        for i, p in enumerate(self.params):
            if self.buffer[self.numel + i] == 0:
                continue
            avg = grads[self.offsets[i]:self.offsets[i + 1]].reshape(p.array.shape)
            if p.grad is None:
                p.grad = Tensor(avg.copy())
            else:
                p.grad.array[...] = avg


def _buckets(params: list[Tensor], cap_bytes: float) -> list[_Bucket]:
    """Buckets of at most ``cap_bytes`` (a larger parameter gets one of its own), one dtype each, in the reverse
    order of ``params``."""
    out: list[_Bucket] = []
    by_dtype: dict[Any, list[Tensor]] = {}
    for p in reversed(params):
        by_dtype.setdefault(p.dtype, []).append(p)
    for group in by_dtype.values():
        current: list[Tensor] = []
        size = 0
        for p in group:
            if current and size + p.array.nbytes > cap_bytes:
                out.append(_Bucket(current))
                current, size = [], 0
            current.append(p)
            size += p.array.nbytes
        if current:
            out.append(_Bucket(current))
    return out


class DistributedDataParallel(Module):
    """PyTorch's ``nn.parallel.DistributedDataParallel`` on MPI (see the module docstring). Wrap the model
    after ``lucidnet.distributed.init()`` on every rank, build the optimizer over its parameters, and give each
    rank its shard of the data (``DistributedSampler``); ``module`` is the model itself.

    ``stats``: what the averaging has cost this process: ``allreduces``, ``bytes`` (sent into them),
    ``seconds`` (spent in MPI calls: starting the Allreduces and waiting for them) and the ``buckets``.
    ``remove_hooks()`` ends the averaging (it also ends when the wrapper is garbage collected).
    ``find_unused_parameters``, ``check_reduction``, ``gradient_as_bucket_view`` and ``static_graph`` are
    accepted for PyTorch's programs: parameters without a gradient are always handled (the flags), and the
    gradients are copied into the buckets and back."""

    def __init__(self, module: Module, device_ids: Sequence[Any] | None = None, output_device: Any = None,
                 dim: int = 0, broadcast_buffers: bool = True, process_group: Any = None,
                 bucket_cap_mb: float | None = 25.0, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False, static_graph: bool = False):
        super().__init__()
        _check_ids(device_ids, output_device, "DistributedDataParallel")
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected a Module, got {type(module).__name__}")
        if not dist.is_initialized():
            raise ValueError("DistributedDataParallel: no world to train in; call lucidnet.distributed.init() on "
                             "every rank first (start the ranks with mpiexec -n N)")
        cap = 25.0 if bucket_cap_mb is None else float(bucket_cap_mb)
        if not cap > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be positive, got {bucket_cap_mb!r}")
        self.module, self.dim, self.broadcast_buffers = module, dim, bool(broadcast_buffers)
        self.find_unused_parameters, self.bucket_cap_mb = find_unused_parameters, cap
        self.world_size = dist.get_world_size()
        self.require_backward_grad_sync = True
        self.stats = {"allreduces": 0, "bytes": 0, "seconds": 0.0}
        check_same_model(module)
        params = [p for p in module.parameters()]
        self.stats["bytes"] += broadcast_state(params + list(module.buffers()))
        self._buckets = _buckets([p for p in params if p.requires_grad], cap * 2 ** 20)
        self._where = {id(p): b for b in self._buckets for p in b.params}
        self.stats["buckets"] = len(self._buckets)
        self._step: dict[str, Any] | None = None   # the averaging of the backward in progress
        me = weakref.ref(self)
        self._handles = [p.register_post_accumulate_grad_hook(lambda t, me=me: _ready(me, t))
                         for b in self._buckets for p in b.params]

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        if self.broadcast_buffers and self.training and is_grad_enabled():
            self.sync_buffers()
        return self.module(*inputs, **kwargs)

    def sync_buffers(self) -> None:
        """Copy rank 0's buffers (running statistics) to every rank."""
        buffers = list(self.module.buffers())
        if buffers and self.world_size > 1:
            t0 = time.perf_counter()
            self.stats["bytes"] += broadcast_state(buffers)
            self.stats["seconds"] += time.perf_counter() - t0

    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backwards inside the block keep their gradients on this rank (accumulated); the first backward
        after it averages everything accumulated."""
        previous, self.require_backward_grad_sync = self.require_backward_grad_sync, False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    # ---- the averaging, driven by the backward's hooks -----------------------------------------------
    def _ready(self, p: Tensor) -> None:
        if not self.require_backward_grad_sync:
            return
        if self._step is None:
            self._step = {"put": set()}
            for b in self._buckets:
                b.ready, b.work = 0, None
            hooks.queue_callback(self._finish)
        b = self._where[id(p)]
        b.put(b.index[id(p)], p)
        self._step["put"].add(id(p))
        b.ready += 1
        if b.ready == len(b.params):
            self._launch(b)

    def _launch(self, b: _Bucket) -> None:
        t0 = time.perf_counter()
        b.work = dist.all_reduce(b.buffer, async_op=True)
        for other in self._buckets:  # MPI moves data forward only inside its calls: give it a turn
            if other.work is not None and other is not b:
                other.work.is_completed()
        self.stats["allreduces"] += 1
        self.stats["bytes"] += b.buffer.nbytes
        self.stats["seconds"] += time.perf_counter() - t0

    def _finish(self) -> None:
        step, self._step = self._step, None
        for b in self._buckets:
            if b.work is None:  # parameters this backward did not reach: their accumulated gradient, or none
                for i, p in enumerate(b.params):
                    if id(p) not in step["put"]:
                        b.put(i, p)
                self._launch(b)
        t0 = time.perf_counter()
        for b in self._buckets:
            b.work.wait()
        self.stats["seconds"] += time.perf_counter() - t0
        for b in self._buckets:
            b.take(self.world_size)
            b.work = None

    def remove_hooks(self) -> None:
        """Stop averaging gradients: the hooks on the module's parameters are removed."""
        for h in getattr(self, "_handles", ()):
            h.remove()

    def __del__(self) -> None:
        self.remove_hooks()

    def extra_repr(self) -> str:
        return f"world_size={self.world_size}, buckets={len(self._buckets)}, bucket_cap_mb={self.bucket_cap_mb}"


def _ready(ref: Any, p: Tensor) -> None:
    ddp = ref()
    if ddp is not None:
        ddp._ready(p)
