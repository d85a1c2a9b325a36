"""``torch.utils.data.distributed`` under its PyTorch name: ``DistributedSampler`` (:mod:`lucidnet.data.distributed`).

>>> from lucidnet.utils.data.distributed import DistributedSampler
>>> list(DistributedSampler(range(5), num_replicas=2, rank=0, shuffle=False))
[0, 2, 4]
"""
from ...data.distributed import DistributedSampler

__all__ = ["DistributedSampler"]
