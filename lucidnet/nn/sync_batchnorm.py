"""``SyncBatchNorm``: batch normalisation whose training statistics cover the whole batch of a data-parallel
job, every rank's share of it (PyTorch's ``nn.SyncBatchNorm``).

Each training forward sums the per-channel statistics over the ranks (``lucidnet.distributed.all_reduce``:
the sums and sample counts, then the centred squares) and each backward the two per-channel gradient sums,
so N ranks with B/N samples each compute what one process computes with B. Outside a world of several
processes (or in eval mode) it is ``BatchNorm``. ``SyncBatchNorm.convert_sync_batchnorm(model)`` replaces
every ``BatchNorm1d``/``BatchNorm2d`` of a model by one that keeps its parameters and running statistics;
left as they are, BatchNorm layers normalise with each rank's own share of the batch: the choice is yours.

>>> import lucidnet as ln
>>> net = ln.nn.Sequential(ln.nn.Conv2d(3, 8, 3), ln.nn.BatchNorm2d(8), ln.nn.ReLU())
>>> net = ln.nn.SyncBatchNorm.convert_sync_batchnorm(net)
>>> type(net[1]).__name__, net(ln.randn(4, 3, 6, 6)).shape
('SyncBatchNorm', (4, 8, 4, 4))
"""
from __future__ import annotations

from typing import Any, Callable

from .. import distributed as dist
from ..fused.norm import sync_batch_norm
from ..ops.activation import hardtanh
from ..tensor import Tensor
from .module import Module
from .normalization import _BatchNorm

__all__ = ["SyncBatchNorm"]


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation of (N, C, *) inputs over N and every dim after C, with the statistics of every
    rank's batch in training mode (see the module docstring). ``process_group`` is accepted (the world)."""

    _ranks = (2, 3, 4, 5)
    _expected = "(N, C, *) with at least 2 dims"

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, process_group: Any = None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype)
        self.process_group = process_group

    def _kernel(self, args: tuple, clip: tuple | None) -> Tensor:
        training = args[5]
        out = sync_batch_norm(*args, all_reduce=_sum_over_ranks() if training else None)
        return out if clip is None else hardtanh(out, *clip)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group: Any = None) -> Module:
        """``module`` with every BatchNorm layer in it replaced by a ``SyncBatchNorm`` holding the same
        parameters and running statistics (the module itself when it is one)."""
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            like = module.weight if module.weight is not None else module.running_mean
            out = cls(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats,
                      process_group, dtype=None if like is None else like.dtype)
            for name in ("weight", "bias"):
                out.register_parameter(name, getattr(module, name))
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                out.register_buffer(name, getattr(module, name))
            out.train(module.training)
        for name, child in list(module.named_children()):
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return out


def _sum_over_ranks() -> Callable | None:
    """``all_reduce`` in a world of several processes; None (this process's batch only) otherwise."""
    if dist.is_initialized() and dist.get_world_size() > 1:
        return dist.all_reduce
    return None
