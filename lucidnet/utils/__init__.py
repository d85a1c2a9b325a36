"""PyTorch's ``torch.utils`` path: ``lucidnet.utils.data`` is :mod:`lucidnet.data` under PyTorch's name."""
from . import data

__all__ = ["data"]
