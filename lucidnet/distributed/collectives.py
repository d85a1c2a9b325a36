"""Collective operations over the world's processes, PyTorch's ``torch.distributed`` functions on MPI.

Tensors (or NumPy arrays) are changed in place, as in PyTorch: ``all_reduce(t)`` leaves the sum of every
rank's ``t`` in ``t`` on every rank; ``broadcast(t, src)`` copies rank ``src``'s ``t`` into everyone's.
They must be contiguous. ``async_op=True`` starts the operation and returns a :class:`Work` to ``wait()``
on. Python objects (small ones: settings, metric counts) travel pickled: ``all_gather_object``,
``broadcast_object_list``. ``bytes_moved()`` counts the array bytes this process has given to collectives.

>>> import numpy as np
>>> ReduceOp.SUM, ReduceOp.MAX
('sum', 'max')
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import version
from .world import communicator, mpi

__all__ = ["ReduceOp", "Work", "all_reduce", "broadcast", "barrier", "all_gather_object", "broadcast_object_list",
           "bytes_moved"]

_moved = [0]


class ReduceOp:
    """How ``all_reduce`` combines the ranks' values (PyTorch's names)."""

    SUM = "sum"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"


def _op(op: str) -> Any:
    MPI = mpi()
    table = {ReduceOp.SUM: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD, ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX}
    if op not in table:
        raise ValueError(f"all_reduce: op must be one of ReduceOp.SUM, PRODUCT, MIN, MAX, got {op!r}")
    return table[op]


def _buffer(tensor: Any, who: str) -> np.ndarray:
    a = getattr(tensor, "array", tensor)
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{who}: expected a Tensor or a NumPy array, got {type(tensor).__name__}")
    if not a.flags.c_contiguous or not a.flags.writeable:
        raise ValueError(f"{who}: the tensor must be contiguous and writeable (it is changed in place); pass "
                         "t.contiguous() and copy the result back")
    _moved[0] += a.nbytes
    return a


class Work:
    """A collective in progress (``async_op=True``): ``wait()`` finishes it; ``is_completed()`` asks."""

    def __init__(self, request: Any, array: np.ndarray):
        self._request, self._array, self._done = request, array, False

    def is_completed(self) -> bool:
        if not self._done and self._request.Test():
            self._finish()
        return self._done

    def wait(self, timeout: Any = None) -> bool:
        if not self._done:
            self._request.Wait()
            self._finish()
        return True

    def _finish(self) -> None:
        self._done = True
        version.bump(self._array)


def all_reduce(tensor: Any, op: str = ReduceOp.SUM, group: Any = None, async_op: bool = False) -> Work | None:
    """Combine ``tensor`` over every rank (``op``: sum by default), in place on every rank."""
    a = _buffer(tensor, "all_reduce")
    comm, MPI = communicator(), mpi()
    if async_op:
        return Work(comm.Iallreduce(MPI.IN_PLACE, a, op=_op(op)), a)
    comm.Allreduce(MPI.IN_PLACE, a, op=_op(op))
    version.bump(a)
    return None


def broadcast(tensor: Any, src: int = 0, group: Any = None, async_op: bool = False) -> Work | None:
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every rank."""
    a = _buffer(tensor, "broadcast")
    comm = communicator()
    if async_op:
        return Work(comm.Ibcast(a, root=src), a)
    comm.Bcast(a, root=src)
    version.bump(a)
    return None


def barrier(group: Any = None, async_op: bool = False, device_ids: Any = None) -> None:
    """Wait until every rank has reached this call."""
    communicator().Barrier()


def all_gather_object(object_list: list, obj: Any, group: Any = None) -> None:
    """Fill ``object_list`` (one entry per rank) with every rank's ``obj`` (pickled: small objects only)."""
    gathered = communicator().allgather(obj)
    if len(object_list) != len(gathered):
        raise ValueError(f"all_gather_object: object_list must have one entry per rank ({len(gathered)}), "
                         f"got {len(object_list)}")
    object_list[:] = gathered


def broadcast_object_list(object_list: list, src: int = 0, group: Any = None, device: Any = None) -> None:
    """Replace ``object_list``'s entries on every rank by rank ``src``'s (pickled)."""
    object_list[:] = communicator().bcast(list(object_list), root=src)


def bytes_moved() -> int:
    """The bytes of arrays this process has passed to ``all_reduce`` and ``broadcast`` so far."""
    return _moved[0]
