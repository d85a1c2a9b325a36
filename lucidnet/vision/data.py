"""The image datasets the vision recipes know by name, each giving (train, test) arrays and its class names:
(Fashion-)MNIST from their IDX files or the bundled subset, and ``image-folder``, a folder of one's own images.

>>> data = load("fashion-mnist-bundled", splits=("test",))
>>> data.x_test.shape, len(data.classes)
((1000, 1, 28, 28), 10)

An image folder (:func:`load_folder`) holds one sub-folder of images per class (PNG, JPEG, ...; any size, grey or
colour), either right under it (``test_split`` of each class, 0.2 by default, is held out as the test set with the
run's seed, or ``test_data`` names another folder to test on), or under ``train/`` and ``test/``. Its images are
resized to one size (``image_size``; left at None: the images' size if they all share it, shrunk to at most
``max_side`` pixels on the longer side keeping the aspect ratio, else ``max_side`` square), with one channel if
every training image is grey, else three (RGB).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..data import holdout
from ..datasets import MNIST, FashionMNIST, ImageFolder
from ..datasets.errors import DatasetError
from ..datasets.images import decode_image, image_info, read_images

__all__ = ["DATASETS", "IMAGE_FOLDER", "MAX_SIDE", "DEFAULT_TEST_SPLIT", "ImageData", "load", "load_folder",
           "image_size_of", "read_run_images", "decode_image", "read_image"]

IMAGE_FOLDER = "image-folder"
# name -> (dataset class, use the bundled subset)
DATASETS = {"fashion-mnist-bundled": (FashionMNIST, True), "fashion-mnist": (FashionMNIST, False),
            "mnist": (MNIST, False), IMAGE_FOLDER: (ImageFolder, False)}
MAX_SIDE = 64             # an image folder's inferred image size: at most this many pixels on the longer side
DEFAULT_TEST_SPLIT = 0.2  # of an image folder without test/ or test_data: held out for testing, per class
PROGRESS_FROM = 2000      # images read with a progress bar (when verbose) from this many on


@dataclass
class ImageData:
    name: str
    classes: list
    x_train: np.ndarray  # (N, C, H, W) float32 in [0, 1]; (N, 1, 28, 28) for (Fashion-)MNIST
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    info: dict = field(default_factory=dict)  # an image folder: how it was read (see load_folder)


def load(name: str, root: str | None = None, download: bool = False, splits=("train", "test")) -> ImageData:
    """The ``splits`` of image dataset ``name`` as float32 (N, C, H, W) arrays in [0, 1] and int64 labels (an image
    folder: ``root``, read with :func:`load_folder`'s defaults)."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}")
    if name == IMAGE_FOLDER:
        if root is None or download:
            raise ValueError(f"{IMAGE_FOLDER} reads a folder of your own (--data DIR): there is nothing to download")
        return load_folder(root, splits=splits)
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


def image_size_of(value: Any, who: str = "image_size") -> tuple[int, int] | None:
    """An ``image_size`` setting as (H, W): None, a positive int (square) or [H, W].

    >>> image_size_of(32), image_size_of([24, 32]), image_size_of(None)
    ((32, 32), (24, 32), None)
    """
    if value is None:
        return None
    hw = list(value) if isinstance(value, (list, tuple)) else [value, value]
    if len(hw) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in hw):
        raise ValueError(f"{who} must be a positive int or [height, width], got {value!r}")
    return int(hw[0]), int(hw[1])


def _infer_size(sizes: Sequence[tuple[int, int]], max_side: int) -> tuple[int, int]:
    """The one size of the images, shrunk to ``max_side`` on the longer side (aspect kept); else square."""
    distinct = set(sizes)
    if len(distinct) != 1:
        return max_side, max_side
    h, w = distinct.pop()
    scale = min(1.0, max_side / max(h, w))
    return max(1, round(h * scale)), max(1, round(w * scale))


def _remap(ds: ImageFolder, classes: list[str], train_root: str) -> np.ndarray:
    """The labels of ``ds`` as indices into ``classes``; a class folder not among them is an error."""
    unknown = [c for c in ds.classes if c not in classes]
    if unknown:
        raise DatasetError(f"{ds.root}: class folder{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
                           f"{'are' if len(unknown) > 1 else 'is'} not among the training classes of {train_root} "
                           f"({', '.join(classes)})")
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[ds.classes[t]] for t in ds.targets], dtype=np.int64)


def _paths(ds: ImageFolder, idx: np.ndarray | None = None) -> list[str]:
    return [p for p, _ in ds.samples] if idx is None else [ds.samples[i][0] for i in idx]


def load_folder(root: str | os.PathLike, *, test_data: str | os.PathLike | None = None,
                test_split: float | None = None, seed: int = 0, image_size: Any = None, mode: str | None = None,
                classes: list[str] | None = None, max_side: int = MAX_SIDE, splits=("train", "test"),
                progress: bool = False) -> ImageData:
    """The ``splits`` of the image folder ``root`` (see the module's doc) as float32 (N, C, H, W) arrays in [0, 1]
    and int64 labels. The held-out test images are ``holdout(n, test_split, seed, stratify=labels)`` of the
    folder's images in ``ImageFolder`` order: the same files in any process. ``image_size`` and ``mode`` ("L" or
    "RGB") left at None are inferred from the training images; ``classes`` (a run's) checks the folder against
    them. ``info`` records the layout, the size, the mode and the image counts. Every problem (no images, an
    unreadable file, a test class unknown to training) is an error naming the folder or file."""
    root = Path(root)
    layout = "train/test" if (root / "train").is_dir() and (root / "test").is_dir() else (
        "test_data" if test_data is not None else "held out")
    if layout != "held out" and test_split is not None:
        where = f"{root} has its own test/ folder" if layout == "train/test" else "test_data is given"
        raise ValueError(f"test_split applies to a folder whose test images are held out; {where}")
    if layout == "train/test":
        if test_data is not None:
            raise ValueError(f"{root} has its own test/ folder: test_data does not apply to it")
        with os.scandir(root) as entries:
            other = sorted(e.name for e in entries if e.is_dir() and not e.name.startswith(".")
                           and e.name not in ("train", "test"))
        if other:
            raise DatasetError(f"{root} holds train/ and test/ (class folders under each) and also "
                               f"{', '.join(o + '/' for o in other)}; move them into train/ and test/, or "
                               "leave out train/ and test/ to hold test images out of the class folders")
    fraction = (DEFAULT_TEST_SPLIT if test_split is None else test_split) if layout == "held out" else None
    if fraction is not None and not 0 < fraction < 1:
        raise ValueError(f"test_split must be in (0, 1), got {fraction}")

    need_train = "train" in splits or classes is None or layout == "held out" or image_size is None or mode is None
    train = ImageFolder(root / "train" if layout == "train/test" else root) if need_train else None
    if train is not None and classes is not None and layout == "held out" and train.classes != list(classes):
        raise DatasetError(f"{root}: its class folders ({', '.join(train.classes)}) are not the run's classes "
                           f"({', '.join(classes)}), so its held-out test images cannot be found again")
    classes = list(classes) if classes is not None else train.classes
    train_idx = test_idx = None
    if layout == "held out":
        test_ds = train
        try:
            train_idx, test_idx = holdout(len(train), fraction, seed, stratify=np.asarray(train.targets),
                                          what="images")
        except ValueError as e:
            raise ValueError(f"{root}: {e}") from None
        y_all = np.asarray(train.targets, dtype=np.int64)
        y_train, y_test = y_all[train_idx], y_all[test_idx]
    else:
        test_ds = ImageFolder(root / "test" if layout == "train/test" else test_data)
        y_train = None if train is None else _remap(train, classes, str(train.root))
        y_test = _remap(test_ds, classes, str(root))

    train_paths = None if train is None else _paths(train, train_idx)
    if image_size is None or mode is None:
        infos = [image_info(p) for p in train_paths]
        mode = mode or ("L" if all(grey for _, grey in infos) else "RGB")
        image_size = image_size if image_size is not None else _infer_size([s for s, _ in infos], max_side)
    size = image_size_of(image_size)
    if mode not in ("L", "RGB"):
        raise ValueError(f"mode must be 'L' or 'RGB', got {mode!r}")
    channels = 1 if mode == "L" else 3

    def read(paths: list[str]) -> np.ndarray:
        return read_images(paths, size, mode, progress=progress and len(paths) >= PROGRESS_FROM)

    empty = np.zeros((0, channels, *size), np.float32)
    x_train = read(train_paths) if "train" in splits else empty
    x_test = read(_paths(test_ds, test_idx)) if "test" in splits else empty
    if "train" not in splits:
        y_train = np.zeros(0, np.int64)
    info = {"layout": layout, "image_size": list(size), "mode": mode,
            "images": {"train": None if train_paths is None else len(train_paths), "test": len(y_test)},
            "test_split": fraction, "test_data": None if test_data is None else os.path.abspath(test_data)}
    return ImageData(IMAGE_FOLDER, classes, x_train, y_train, x_test, y_test if "test" in splits else
                     np.zeros(0, np.int64), info)


def read_run_images(paths: Sequence[str | os.PathLike], run_input: dict) -> np.ndarray:
    """Image files as a run's input (N, C, H, W) in [0, 1], before its normalisation: read as its training images
    were (``run_input``, its config's ``"input"``: an image folder's run records ``mode``, which is how its
    images were read), else as (Fashion-)MNIST images (:func:`read_image`)."""
    shape = run_input["shape"]  # (C, H, W)
    if "mode" in run_input:
        return read_images(list(paths), (shape[-2], shape[-1]), run_input["mode"])
    return np.stack([read_image(p, (shape[-2], shape[-1])) for p in paths])[:, None]


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
