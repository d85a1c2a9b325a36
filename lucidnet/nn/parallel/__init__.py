"""``torch.nn.parallel``: ``DataParallel`` (one process: lucidnet's one device is the CPU) and
``DistributedDataParallel`` (several processes started by ``mpiexec``, gradients averaged over MPI).

>>> import lucidnet as ln
>>> ln.nn.parallel.DistributedDataParallel.__name__
'DistributedDataParallel'
"""
from .data_parallel import DataParallel, data_parallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "data_parallel", "DistributedDataParallel"]
