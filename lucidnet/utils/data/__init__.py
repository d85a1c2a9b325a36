"""``torch.utils.data`` under its PyTorch name, for programs that import it so: ``from lucidnet.utils.data
import DataLoader, Dataset, TensorDataset, random_split`` (the same objects as :mod:`lucidnet.data`).

lucidnet's loaders read map-style datasets (``__getitem__`` and ``__len__``); ``num_workers > 0`` builds
batches ahead in one background thread, not in worker processes, so ``get_worker_info()`` is None as in
PyTorch's main process.

>>> from lucidnet.utils.data import DataLoader, TensorDataset
>>> import lucidnet as torch
>>> loader = DataLoader(TensorDataset(torch.arange(6.0), torch.arange(6)), batch_size=4, num_workers=2)
>>> [len(y) for _, y in loader]
[4, 2]
"""
from ...data import (BatchSampler, DataLoader, Dataset, RandomSampler, Sampler, SequentialSampler, Subset,
                    SubsetRandomSampler, TensorDataset, WeightedRandomSampler, default_collate, random_split)
from . import distributed

__all__ = ["BatchSampler", "DataLoader", "Dataset", "RandomSampler", "Sampler", "SequentialSampler", "Subset",
           "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler", "default_collate", "random_split",
           "get_worker_info", "distributed"]


def get_worker_info() -> None:
    """None: batches are never built in a worker process (PyTorch's answer in the main process)."""
    return None
