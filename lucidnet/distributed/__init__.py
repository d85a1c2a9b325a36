"""Several processes training one model: PyTorch's ``torch.distributed`` on MPI.

Start the processes with the launcher MPI clusters have, ``mpiexec -n N python train.py`` (``pip install
"lucidnet[mpi]"`` brings mpi4py and the mpich wheel's mpiexec); each joins the world with :func:`init`
(``init_process_group(backend="mpi")``) and learns its ``rank`` among ``size``. The collectives
(``all_reduce``, ``broadcast``, ``barrier``, ``all_gather_object``, ``broadcast_object_list``) work on
tensors in place. What trains on them: ``lucidnet.nn.parallel.DistributedDataParallel`` (gradients averaged
over the ranks), ``lucidnet.nn.SyncBatchNorm`` (batch statistics over the ranks),
``lucidnet.data.distributed.DistributedSampler`` (each rank its shard of the data); ``lucidnet.train.Trainer``
(``fit`` and every recipe) uses all of them by itself when it runs under ``mpiexec``.

mpi4py is imported only when a world starts (this package is the only place that imports it).

>>> import lucidnet.distributed as dist
>>> dist.is_initialized()
False

A program, run as ``mpiexec -n 2 python program.py``::

    import lucidnet as ln, lucidnet.distributed as dist
    world = dist.init()                       # World(rank=0 or 1, size=2, ...)
    t = ln.tensor([float(world.rank)])
    dist.all_reduce(t)                        # tensor([1.]) on both ranks
"""
from .collectives import (ReduceOp, Work, all_gather_object, all_reduce, barrier, broadcast, broadcast_object_list,
                          bytes_moved)
from .launch import explain_failure, find_mpiexec, launch, mpiexec_command
from .world import (INSTALL_HINT, World, abort, destroy_process_group, get_node_local_rank, get_rank,
                    get_world_size, init, init_process_group, is_available, is_initialized, is_mpi_available,
                    joined, launched, threads_per_rank)

__all__ = ["World", "init", "init_process_group", "destroy_process_group", "is_available", "is_mpi_available",
           "is_initialized", "joined", "get_rank", "get_world_size", "get_node_local_rank", "launched", "abort",
           "is_main_process", "ReduceOp", "Work", "all_reduce", "broadcast", "barrier", "all_gather_object",
           "broadcast_object_list", "bytes_moved", "find_mpiexec", "mpiexec_command", "launch", "explain_failure",
           "threads_per_rank", "INSTALL_HINT"]


def is_main_process() -> bool:
    """True on rank 0, and in a process outside any world: the process that prints and writes files."""
    w = joined()
    return w is None or w.rank == 0
