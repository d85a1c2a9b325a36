"""The world: the processes of one job that ``mpiexec -n N`` started, joined by :func:`init`.

This module holds the job's communicator (a duplicate of MPI's ``COMM_WORLD``, so a program's own MPI traffic
never meets lucidnet's) and what joining a world of several processes sets up:

* every rank's unhandled exception prints the traceback and ``rank R of N failed`` and aborts the whole job
  (``MPI_Abort``): no rank waits forever in a collective for a rank that is gone;
* the compute threads of each rank (numba, BLAS, lucidnet's row workers) are set so that the ranks of one
  machine use at most its cores: ``cores // local ranks`` each (the cores a launcher bound the rank to,
  when it did). A thread count the user chose (``LUCIDNET_NUM_THREADS``, ``NUMBA_NUM_THREADS``,
  ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``lucidnet.set_num_threads``) is kept, with a warning when
  ranks x threads exceed the cores.

mpi4py is imported here only, and only when a world starts: ``import lucidnet`` never loads MPI.

>>> launched()  # this process was not started by mpiexec with a world of several processes
False
>>> is_initialized()
False
"""
from __future__ import annotations

import importlib.util
import os
import sys
import warnings
from dataclasses import dataclass
from typing import Any

__all__ = ["World", "init", "init_process_group", "destroy_process_group", "is_available", "is_initialized",
           "is_mpi_available", "joined", "get_rank", "get_world_size", "get_node_local_rank", "launched", "abort",
           "INSTALL_HINT"]

INSTALL_HINT = 'pip install "lucidnet[mpi]" (mpi4py and the MPI library of the mpich wheel)'
# environment variables in which launchers give a process its world's size: MPICH's and Intel MPI's hydra
# (and Slurm's PMI-2), Open MPI, MVAPICH
_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")
# where ``lucidnet train --nproc`` asks rank 0 to write the ranks' hosts and pids (launch.py reads it)
RANK_TABLE_VARIABLE = "LUCIDNET_RANK_TABLE"
_THREAD_VARIABLES = ("LUCIDNET_NUM_THREADS", "NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@dataclass(frozen=True)
class World:
    """Where this process stands: its ``rank`` in ``0..size-1``, and on its machine, ``local_rank`` among
    ``local_size`` ranks."""

    rank: int
    size: int
    local_rank: int
    local_size: int


_world: World | None = None
_comm: Any = None       # the job's communicator (mpi4py Comm) while a world is initialised
_hook: Any = None       # the excepthook init replaced


def is_available() -> bool:
    """Whether MPI can be used: mpi4py is installed (``torch.distributed.is_available``)."""
    return importlib.util.find_spec("mpi4py") is not None


def is_mpi_available() -> bool:
    """PyTorch's name for the MPI backend's availability: :func:`is_available`."""
    return is_available()


def launched() -> bool:
    """Whether an MPI launcher (``mpiexec -n N``, N > 1) started this process: the world to join is there."""
    for name in _SIZE_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 1:
            return True
    return False


def mpi() -> Any:
    """mpi4py's ``MPI`` module (importing it initialises MPI), or an ImportError that says what to install."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(f"lucidnet.distributed needs mpi4py and an MPI library: {INSTALL_HINT} ({e})") from None
    return MPI


def init() -> World:
    """Join the world of processes the launcher started (a world of one without a launcher) and return it.
    Calling it again returns the same world. In a world of several processes, unhandled exceptions abort the
    job and each rank's threads are set (see the module docstring)."""
    global _world, _comm
    if _world is not None:
        return _world
    MPI = mpi()
    comm = MPI.COMM_WORLD.Dup()
    procs = comm.allgather((MPI.Get_processor_name(), os.getpid()))  # (host, pid) of every rank
    hosts = [host for host, _ in procs]  # the ranks of this machine: those of the same host name
    rank = comm.Get_rank()
    local = [r for r, host in enumerate(hosts) if host == hosts[rank]]
    world = World(rank, comm.Get_size(), local.index(rank), len(local))
    _comm, _world = comm, world
    if world.size > 1:
        _install_excepthook(world)
        _set_threads(world)
        if rank == 0:
            _write_rank_table(procs)
    return world


def _write_rank_table(procs: list) -> None:
    """The ranks' (host, pid), for the launcher that asked for them (``lucidnet train --nproc``): mpiexec names
    a process that died by its pid only."""
    path = os.environ.get(RANK_TABLE_VARIABLE, "").strip()
    if not path:
        return
    import json
    try:
        with open(path + ".tmp", "w") as f:
            json.dump([{"rank": r, "host": host, "pid": pid} for r, (host, pid) in enumerate(procs)], f)
        os.replace(path + ".tmp", path)
    except OSError as e:  # the table only improves an error message: training goes on without it
        warnings.warn(f"lucidnet.distributed: could not write the rank table {path} ({e})", RuntimeWarning)


def init_process_group(backend: str | None = "mpi", init_method: str | None = None, timeout: Any = None,
                       world_size: int = -1, rank: int = -1, **kwargs: Any) -> None:
    """PyTorch's entry point, on MPI: the launcher gives the rank and size (``world_size``/``rank``, when
    given, must agree with it)."""
    if backend not in (None, "mpi"):
        raise ValueError(f"init_process_group: lucidnet's backend is 'mpi' (mpiexec starts the processes), "
                         f"got backend={backend!r}")
    if init_method not in (None, "env://"):
        raise ValueError(f"init_process_group: init_method={init_method!r}: the MPI launcher connects the "
                         "processes; leave it out")
    world = init()
    for name, given, actual in (("world_size", world_size, world.size), ("rank", rank, world.rank)):
        if given not in (-1, None) and given != actual:
            raise ValueError(f"init_process_group: {name}={given}, but mpiexec started this process as {name} "
                             f"{actual}")


def destroy_process_group(group: Any = None) -> None:
    """Leave the world: the communicator is freed and the excepthook put back (MPI itself stays up until
    the process exits)."""
    global _world, _comm, _hook
    if _comm is not None:
        _comm.Free()
    if _hook is not None:
        sys.excepthook, _hook = _hook, None
    _world, _comm = None, None


def joined() -> World | None:
    """The world this process belongs to: the one it joined, or joined now when an MPI launcher started it
    with several processes (:func:`launched`); None for a process on its own."""
    if _world is None and launched():
        return init()
    return _world


def is_initialized() -> bool:
    """Whether this process has joined a world (:func:`init`)."""
    return _world is not None


def world() -> World:
    if _world is None:
        raise ValueError("Default process group has not been initialized, please make sure to call "
                         "lucidnet.distributed.init() (or init_process_group)")
    return _world


def communicator() -> Any:
    """The job's mpi4py communicator (after :func:`init`)."""
    world()
    return _comm


def get_rank(group: Any = None) -> int:
    """This process's rank, ``0..get_world_size() - 1``."""
    return world().rank


def get_world_size(group: Any = None) -> int:
    """The number of processes in the world."""
    return world().size


def get_node_local_rank(fallback_rank: int | None = None) -> int:
    """This process's rank among the ranks of its machine."""
    if _world is None and fallback_rank is not None:
        return fallback_rank
    return world().local_rank


def abort(code: int = 1) -> None:
    """End the whole job now (``MPI_Abort``): every rank stops, ``mpiexec`` exits with an error."""
    sys.stdout.flush()
    sys.stderr.flush()
    if _comm is not None:
        _comm.Abort(code)
    elif "mpi4py.MPI" in sys.modules:
        sys.modules["mpi4py.MPI"].COMM_WORLD.Abort(code)
    os._exit(code)


def _install_excepthook(world: World) -> None:
    global _hook
    previous = _hook = sys.excepthook

    def abort_on_error(kind, value, tb) -> None:
        previous(kind, value, tb)
        what = f"{kind.__name__}: {value}" if str(value) else kind.__name__
        print(f"lucidnet.distributed: rank {world.rank} of {world.size} failed ({what}); aborting the job",
              file=sys.stderr)
        abort(1)

    sys.excepthook = abort_on_error


def cores() -> tuple[int, bool]:
    """(the cores this process may run on, whether a launcher bound it to fewer than the machine has)."""
    total = os.cpu_count() or 1
    try:
        mine = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        mine = total
    return mine, mine < total


def threads_per_rank(local_size: int) -> int:
    """Compute threads for each of ``local_size`` ranks on one machine: the cores a launcher bound this rank
    to, or an equal share of the machine's cores (at least one)."""
    mine, bound = cores()
    return mine if bound else max(1, mine // local_size)


def _set_threads(world: World) -> None:
    from .. import config

    mine, bound = cores()
    chosen = [name for name in _THREAD_VARIABLES if os.environ.get(name, "").strip()]
    if config.threads_explicit() is None and not chosen:
        config.set_num_threads(threads_per_rank(world.local_size))
        return
    threads = config.threads_explicit() or config.get_num_threads()
    used = threads if bound else threads * world.local_size
    if used > mine and world.local_rank == 0:
        who = ", ".join(chosen) or "lucidnet.set_num_threads"
        warnings.warn(f"{world.local_size} ranks x {threads} threads on a machine of {mine} cores ({who}): the "
                      f"ranks oversubscribe the cores and each runs slower; leave the thread count to lucidnet "
                      f"or set it to {threads_per_rank(world.local_size)}", RuntimeWarning, stacklevel=3)
