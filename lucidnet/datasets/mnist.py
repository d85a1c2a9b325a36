"""MNIST and Fashion-MNIST, read from the upstream IDX ``.gz`` files.

A sample is ``(image, label)``: a float32 array of shape (1, 28, 28) scaled to [0, 1] (channels first,
as convolutions expect) and an int64 label. The raw arrays are ``.data`` (uint8, (N, 28, 28)) and
``.targets`` (int64, (N,)); ``to_arrays()`` gives all images at once as float32.

Where the files are looked for (``root=None``): ``$LUCIDNET_DATA/fashion-mnist`` (resp. ``mnist``), then
``~/.cache/lucidnet/fashion-mnist`` (``$XDG_CACHE_HOME`` honoured). A ``root`` given explicitly is the
directory holding the four files. ``download=True`` fetches missing files from the official servers and
checks their MD5. ``FashionMNIST.bundled(split)`` needs no files at all: a 6,000 + 1,000 image stratified
subset ships inside the package (see ``lucidnet/datasets/bundled/fashion-mnist/NOTICE``).

>>> from lucidnet.datasets import FashionMNIST
>>> ds = FashionMNIST.bundled("test")
>>> len(ds), ds[0][0].shape, ds[0][0].dtype, ds.classes[int(ds[0][1])] in ds.classes
(1000, (1, 28, 28), dtype('float32'), True)
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..data.dataset import Dataset
from .download import data_roots, download_file
from .errors import DatasetError, DatasetNotFoundError
from .idx import read_idx

__all__ = ["MNIST", "FashionMNIST", "BUNDLED_DIR"]

BUNDLED_DIR = Path(__file__).resolve().parent / "bundled"

_SPLIT_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
                "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


class _IdxImageDataset(Dataset):
    """Shared reader of the MNIST family: 28x28 uint8 images in IDX files, one label file per split."""

    name: str = ""                 # the directory under each data root
    classes: list[str] = []
    mirrors: tuple[str, ...] = ()  # base URLs tried in order by download=True
    md5s: dict[str, str] = {}      # upstream MD5 of each .gz file
    image_size = (28, 28)

    def __init__(self, root: str | os.PathLike | None = None, split: str = "train", download: bool = False,
                 transform: Callable[[np.ndarray], Any] | None = None, *,
                 target_transform: Callable[[np.int64], Any] | None = None, base_url: str | None = None):
        cls = type(self).__name__
        if split not in _SPLIT_FILES:
            raise ValueError(f"{cls}: split must be 'train' or 'test', got {split!r}")
        self.split = split
        self.transform = transform
        self.target_transform = target_transform
        self.root = self._find_root(root, download, base_url)
        img_path, lbl_path = (self._locate(self.root, f) for f in _SPLIT_FILES[split])
        images = read_idx(img_path, ndim=3, dtype=np.uint8)
        labels = read_idx(lbl_path, ndim=1, dtype=np.uint8)
        if images.shape[1:] != self.image_size:
            raise DatasetError(f"{img_path}: expected images of size {self.image_size}, the header says "
                               f"{images.shape[1:]}")
        if len(images) != len(labels):
            raise DatasetError(f"{img_path} holds {len(images)} images but {lbl_path} holds {len(labels)} labels; "
                               "the two files must have the same number of items")
        bad = np.flatnonzero(labels >= len(self.classes))
        if bad.size:
            raise DatasetError(f"{lbl_path}: label {labels[bad[0]]} at item {bad[0]} is out of range; "
                               f"{cls} has {len(self.classes)} classes (0..{len(self.classes) - 1})")
        self.data: np.ndarray = images                       # uint8 (N, 28, 28)
        self.targets: np.ndarray = labels.astype(np.int64)   # int64 (N,)

    # ---- files --------------------------------------------------------------------------------------
    @staticmethod
    def _locate(root: Path, stem: str) -> Path:
        """``stem.gz`` in ``root``, else the uncompressed ``stem`` (when someone unpacked the files)."""
        gz = root / f"{stem}.gz"
        return gz if gz.is_file() or not (root / stem).is_file() else root / stem

    def _has_split(self, root: Path) -> bool:
        return all(self._locate(root, f).is_file() for f in _SPLIT_FILES[self.split])

    def _find_root(self, root: str | os.PathLike | None, download: bool, base_url: str | None) -> Path:
        candidates = [(Path(root).expanduser(), "given")] if root is not None else data_roots(self.name)
        for path, _ in candidates:
            if self._has_split(path):
                return path
        if download:
            target = candidates[0][0]
            self._download(target, base_url)
            return target
        raise DatasetNotFoundError(self._not_found_message(candidates))

    def _not_found_message(self, candidates: list[tuple[Path, str]]) -> str:
        cls, files = type(self).__name__, [f"{f}.gz" for f in _SPLIT_FILES[self.split]]
        lines = [f"{cls}: the '{self.split}' split was not found. Looked for {' and '.join(files)} in:"]
        for path, note in candidates:
            if path.is_file():
                why = "a file, not a directory"
            elif not path.is_dir():
                why = "directory does not exist"
            else:
                why = "missing " + ", ".join(f for f, s in zip(files, _SPLIT_FILES[self.split])
                                             if not self._locate(path, s).is_file())
            lines.append(f"  {path}  ({note}): {why}")
        target = candidates[0][0]
        lines.append(f"To get the data: download it (download=True in Python, --download on the command line; "
                     f"fetches it from {self.mirrors[0]} into {target}), "
                     f"or set LUCIDNET_DATA to a directory holding {self.name}/ with the IDX .gz files, "
                     "or point at that directory (root= in Python, --data on the command line).")
        if hasattr(type(self), "bundled"):
            lines.append(f"For a small subset that needs no files: {cls}.bundled('{self.split}').")
        return "\n".join(lines)

    def _download(self, target: Path, base_url: str | None) -> None:
        mirrors = [base_url] if base_url else list(self.mirrors)
        for stem in _SPLIT_FILES[self.split]:
            fname = f"{stem}.gz"
            if (target / fname).is_file():
                continue
            errors = []
            for mirror in mirrors:
                url = mirror.rstrip("/") + "/" + fname
                try:
                    download_file(url, target / fname, md5=self.md5s[fname])
                    break
                except DatasetError as e:
                    errors.append(str(e))
            else:
                raise DatasetError(f"{type(self).__name__}: could not download {fname}:\n  " + "\n  ".join(errors))

    # ---- samples ------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        image = self.data[index].astype(np.float32)[None]  # (1, 28, 28)
        image /= np.float32(255)
        label = self.targets[index]
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label

    def get_batch(self, indices: np.ndarray) -> tuple[Any, Any]:
        if self.transform is not None or self.target_transform is not None:
            return super().get_batch(indices)
        return _scale(self.data[indices])[:, None], self.targets[indices]  # (B, 1, 28, 28), (B,)

    def to_arrays(self, normalize: bool = True, flatten: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """All images and labels: ``(x, y)`` with x of shape (N, 1, 28, 28), or (N, 784) with ``flatten``.

        ``normalize``: float32 in [0, 1] (else the raw uint8). Transforms are not applied.
        """
        x = _scale(self.data) if normalize else self.data.copy()
        x = x.reshape(len(x), -1) if flatten else x[:, None]
        return x, self.targets.copy()

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(split={self.split!r}, {len(self)} images, root='{self.root}')"


def _scale(images: np.ndarray) -> np.ndarray:
    out = images.astype(np.float32)
    np.divide(out, np.float32(255), out=out)
    return out


class MNIST(_IdxImageDataset):
    """The MNIST handwritten digits: 60,000 train and 10,000 test images, 10 classes."""

    name = "mnist"
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
               "8 - eight", "9 - nine"]
    mirrors = ("https://ossci-datasets.s3.amazonaws.com/mnist/",)
    md5s = {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}


class FashionMNIST(_IdxImageDataset):
    """Zalando's Fashion-MNIST: 60,000 train and 10,000 test images of clothes, 10 classes (MIT licence)."""

    name = "fashion-mnist"
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]
    mirrors = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
    md5s = {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"}

    @classmethod
    def bundled(cls, split: str = "train", transform: Callable[[np.ndarray], Any] | None = None, *,
                target_transform: Callable[[np.int64], Any] | None = None) -> "FashionMNIST":
        """The subset shipped with lucidnet: 6,000 train / 1,000 test images, 600 / 100 per class.

        Chosen with a fixed seed from the full dataset by ``tools/make_bundled_subset.py``; works offline.
        """
        return cls(BUNDLED_DIR / "fashion-mnist", split, transform=transform, target_transform=target_transform)
