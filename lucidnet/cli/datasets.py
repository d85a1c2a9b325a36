"""The datasets the CLI knows, each giving (train, test) arrays and its class names."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..datasets import MNIST, FashionMNIST

# name -> (dataset class, use the bundled subset)
DATASETS = {"fashion-mnist-bundled": (FashionMNIST, True), "fashion-mnist": (FashionMNIST, False),
            "mnist": (MNIST, False)}


@dataclass
class ImageData:
    name: str
    classes: list
    x_train: np.ndarray  # (N, 1, 28, 28) float32 in [0, 1]
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load(name: str, root: str | None = None, download: bool = False, splits=("train", "test")) -> ImageData:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}")
    cls, bundled = DATASETS[name]
    out = {}
    for split in splits:
        if bundled and root is None:
            ds = cls.bundled(split)
        else:
            ds = cls(root, split, download=download)
        out[split] = ds.to_arrays(normalize=True)
    empty = (np.zeros((0, 1, 28, 28), np.float32), np.zeros(0, np.int64))
    (xtr, ytr), (xte, yte) = out.get("train", empty), out.get("test", empty)
    return ImageData(name, list(cls.classes), xtr, ytr, xte, yte)
