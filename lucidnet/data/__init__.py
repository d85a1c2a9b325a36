"""Feeding data to models: map-style datasets and a resumable, optionally prefetching ``DataLoader``; token
streams cut into chunks for truncated BPTT (``StreamLoader``); batches of similar lengths (``BucketLoader``).

>>> import numpy as np, lucidnet as ln
>>> from lucidnet.data import DataLoader, TensorDataset
>>> _ = ln.manual_seed(0)
>>> loader = DataLoader(TensorDataset(np.zeros((10, 3)), np.arange(10)), batch_size=4, shuffle=True)
>>> [tuple(x.shape) for x, y in loader]
[(4, 3), (4, 3), (2, 3)]
"""
from .bucket import BucketLoader, bucket_batches
from .collate import default_collate, stack_samples, to_tensors
from .dataloader import DataLoader, steps_per_epoch
from .dataset import Dataset, Subset, TensorDataset, random_split
from . import distributed
from .distributed import DistributedSampler
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
                      WeightedRandomSampler)
from .split import holdout
from .streams import StreamLoader, as_streams, chunks

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split", "DataLoader", "default_collate",
           "stack_samples", "to_tensors", "steps_per_epoch", "StreamLoader", "as_streams", "chunks", "Sampler",
           "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler",
           "holdout", "DistributedSampler", "distributed", "BucketLoader", "bucket_batches"]
