"""The image datasets the vision recipes know by name, each giving (train, test) arrays and its class names.

>>> data = load("fashion-mnist-bundled", splits=("test",))
>>> data.x_test.shape, len(data.classes)
((1000, 1, 28, 28), 10)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..datasets import MNIST, FashionMNIST
from ..datasets.images import decode_image  # noqa: F401  (lucidnet.vision.data.decode_image, as before)

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
    """The ``splits`` of image dataset ``name`` as float32 (N, 1, 28, 28) arrays in [0, 1] and int64 labels."""
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


def read_image(path: str | Path, size: tuple[int, int]) -> np.ndarray:
    """A grayscale float32 image in [0, 1] of ``size`` (H, W), light-on-dark like (Fashion-)MNIST: a light
    background is inverted. PNG, JPEG or any format Pillow reads."""
    im = decode_image(path, "L")
    from PIL import Image  # decode_image found Pillow
    im = im.resize((size[1], size[0]), Image.BILINEAR)
    x = np.asarray(im, dtype=np.float32) / 255.0
    border = np.concatenate([x[0], x[-1], x[:, 0], x[:, -1]])
    if border.mean() > 0.5:  # dark object on a light background: invert
        x = 1.0 - x
    return x
