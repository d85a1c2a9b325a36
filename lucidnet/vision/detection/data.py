"""Detection samples as training batches: each sample transformed jointly (``joint``), letterboxed to a square
``size``, and turned into the network's input and targets.

A batch is ``(images (N, 3, S, S) float32 in [0, 1], dense FCOS targets (N, L, 6), person masks (N, S, S))``;
:func:`split_batch` hands the images to the model and the rest to ``DetectionLoss``.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ...data import DataLoader
from .fcos import fcos_targets
from .joint import JointCompose, Letterbox, Sample
from .model import STRIDES, level_points

__all__ = ["DetectionDataset", "split_batch", "to_input", "loader"]


def to_input(image: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) -> float32 (3, H, W) in [0, 1]."""
    return np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32) / np.float32(255)


class DetectionDataset:
    """``samples`` (a sequence of :class:`Sample`) through ``transform`` (a joint transform; None: none) and a
    letterbox to ``size`` x ``size``; item ``i`` is ``(image, dense targets, person mask)`` as float32 arrays."""

    def __init__(self, samples: Sequence[Sample], size: int, transform: Callable | None = None,
                 strides: Sequence[int] = STRIDES):
        if size % 32:
            raise ValueError(f"DetectionDataset: size must be a multiple of 32, got {size}")
        self.samples, self.size = samples, size
        self.transform = JointCompose([*([transform] if transform else []), Letterbox(size)])
        self.points, self.strides = level_points((size, size), strides)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s = self.transform(self.samples[i])
        dense = fcos_targets(s.boxes, s.labels, self.points, self.strides)
        mask = (s.mask > 0).astype(np.float32) if s.mask is not None else np.zeros((self.size, self.size), np.float32)
        return to_input(s.image), dense, mask


def split_batch(batch):
    """(model inputs, loss target) of a detection batch."""
    x, dense, mask = batch
    return (x,), (dense, mask)


def loader(dataset: DetectionDataset, batch_size: int, shuffle: bool = True) -> DataLoader:
    """A DataLoader over ``dataset`` that builds the next batch in a background thread."""
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, prefetch=True)
