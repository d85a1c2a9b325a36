"""Computer vision on top of lucidnet: batch image transforms (``lucidnet.vision.transforms``) and image
classifiers (``lucidnet.vision.models``: ``SimpleCNN``, ``VGG``, ``ResNet``).

>>> from lucidnet.vision import transforms as T
>>> T.RandomHorizontalFlip(0.5)
RandomHorizontalFlip(p=0.5)
"""
from . import models, transforms

__all__ = ["models", "transforms"]
