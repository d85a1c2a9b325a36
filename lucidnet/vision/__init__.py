"""Computer vision on top of lucidnet: batch image transforms (``lucidnet.vision.transforms``).

>>> from lucidnet.vision import transforms as T
>>> T.RandomHorizontalFlip(0.5)
RandomHorizontalFlip(p=0.5)
"""
from . import transforms

__all__ = ["transforms"]
