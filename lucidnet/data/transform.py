"""The base of batch transforms (image transforms, audio augmentations): subclasses write ``apply`` on NumPy
arrays; calling one accepts a NumPy array or a Tensor and returns the same kind (no gradient flows through
data preparation)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor, from_numpy

__all__ = ["BatchTransform"]


class BatchTransform:
    """Base class: subclasses write ``apply(batch: np.ndarray) -> np.ndarray``."""

    def apply(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, x: Any) -> Any:
        if isinstance(x, Tensor):
            return from_numpy(self.apply(x.array))
        return self.apply(np.asarray(x))
