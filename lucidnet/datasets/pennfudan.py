"""The Penn-Fudan pedestrian database (Wang, Shi, Song, Shen, ACCV 2007): 170 street photos with one instance
mask per pedestrian (423 in all), read from its original files.

Layout (the archive ``PennFudanPed.zip`` unpacked, the leading ``PennFudanPed/`` optional): ``PNGImages/NAME.png``
(RGB), ``PedMasks/NAME_mask.png`` (0 background, k the k-th pedestrian) and ``Annotation/NAME.txt`` (PASCAL
Annotation 1.00, 1-based inclusive boxes). Looked for in ``root``, ``$LUCIDNET_DATA/pennfudan`` or the user
cache (the terms forbid redistribution: there is no download).

Boxes are ``(x0, y0, x1, y1)`` in pixel-edge coordinates (a mask pixel at column x covers [x, x + 1)), derived
from the masks and checked against the annotation files (the two agree to within 6 pixels on the whole
database; a larger difference, a missing mask or an instance count that differs is an error naming the file).

The split is fixed so that figures are comparable: sort the 170 names, take
``numpy.random.default_rng(0).permutation(170)``; its first 50 positions are the test set, the other 120 train.

>>> split_indices(170)[0][:3], len(split_indices(170)[1])
(array([154,  90,  64]), 120)
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .download import data_roots
from .errors import DatasetError, not_found
from .images import decode_image

__all__ = ["PennFudan", "PedestrianImage", "split_indices", "boxes_from_mask", "read_annotation", "N_TEST",
           "BOX_TOLERANCE"]

N_TEST = 50
BOX_TOLERANCE = 8  # pixels a mask's box may differ from the annotated one (the database's worst case is 6)
_FOLDERS = ("PNGImages", "PedMasks", "Annotation")
_SIZE = re.compile(r"Image size \(X x Y x C\) : (\d+) x (\d+) x (\d+)")
_BOX = re.compile(r"Bounding box for object (\d+) .*: \((\d+), (\d+)\) - \((\d+), (\d+)\)")


@dataclass
class PedestrianImage:
    """One photo: ``image`` uint8 (H, W, 3), ``mask`` uint8 (H, W) instance ids (0 background, k the k-th
    pedestrian), ``boxes`` float32 (K, 4) ``x0, y0, x1, y1`` from the mask, and the file stem ``name``."""

    name: str
    image: np.ndarray
    mask: np.ndarray
    boxes: np.ndarray


def split_indices(n: int = 170, n_test: int = N_TEST) -> tuple[np.ndarray, np.ndarray]:
    """(test, train) positions in the sorted list of names: the first ``n_test`` of
    ``default_rng(0).permutation(n)`` test, the rest train (in that permuted order)."""
    perm = np.random.default_rng(0).permutation(n)
    return perm[:n_test], perm[n_test:]


def boxes_from_mask(mask: np.ndarray, count: int | None = None) -> np.ndarray:
    """float32 (K, 4) boxes ``x0, y0, x1, y1`` (pixel edges) of instance ids 1..K of an id mask; ``count``
    (default: the largest id) sets K. An id with no pixel is an error.

    >>> m = np.zeros((4, 5), np.uint8); m[1:3, 2:5] = 1
    >>> boxes_from_mask(m)
    array([[2., 1., 5., 3.]], dtype=float32)
    """
    k = int(mask.max()) if count is None else count
    boxes = np.zeros((k, 4), np.float32)
    for i in range(1, k + 1):
        ys, xs = np.nonzero(mask == i)
        if not len(ys):
            raise DatasetError(f"instance {i} has no pixel in the mask")
        boxes[i - 1] = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    return boxes


def read_annotation(path: str | os.PathLike) -> tuple[tuple[int, int], np.ndarray]:
    """((height, width), boxes float32 (K, 4) in pixel-edge coordinates) of a PASCAL Annotation 1.00 file."""
    text = Path(path).read_text(encoding="latin-1")
    size = _SIZE.search(text)
    if size is None:
        raise DatasetError(f"{path}: no 'Image size (X x Y x C)' line; is this a PASCAL Annotation 1.00 file?")
    found = [tuple(int(v) for v in m.groups()) for m in _BOX.finditer(text)]
    if [f[0] for f in found] != list(range(1, len(found) + 1)):
        raise DatasetError(f"{path}: the objects are numbered {[f[0] for f in found]}, expected 1..{len(found)}")
    boxes = np.array([(x0 - 1, y0 - 1, x1, y1) for _, x0, y0, x1, y1 in found], np.float32).reshape(-1, 4)
    return (int(size.group(2)), int(size.group(1))), boxes


class PennFudan:
    """The Penn-Fudan images of ``split`` ("train": 120, "test": 50, "all": 170 in sorted order), read and
    checked when constructed (about 55 MB of PNGs). ``ds[i]`` is a :class:`PedestrianImage`.

    ``root``: the directory holding ``PNGImages/``, ``PedMasks/`` and ``Annotation/`` (or its parent holding
    ``PennFudanPed/``); default ``$LUCIDNET_DATA/pennfudan`` or the user cache."""

    def __init__(self, root: str | os.PathLike | None = None, split: str = "train"):
        if split not in ("train", "test", "all"):
            raise ValueError(f"PennFudan: split must be 'train', 'test' or 'all', got {split!r}")
        self.root = self.locate(root)
        names = sorted(p.stem for p in (self.root / "PNGImages").glob("*.png"))
        if not names:
            raise DatasetError(f"PennFudan: {self.root / 'PNGImages'} holds no .png image")
        if split == "all":
            picked = np.arange(len(names))
        else:
            test, train = split_indices(len(names), min(N_TEST, len(names) // 2))
            picked = test if split == "test" else train
        self.split = split
        self.names = [names[i] for i in picked]
        self.items = [self._read(n) for n in self.names]

    @staticmethod
    def locate(root: str | os.PathLike | None) -> Path:
        """The directory of the database (holding the three folders)."""
        candidates = ([(Path(root).expanduser(), "given")] if root is not None else data_roots("pennfudan"))
        for path, _ in candidates:
            for p in (path, path / "PennFudanPed", path / "pennfudan"):
                if all((p / f).is_dir() for f in _FOLDERS):
                    return p
        raise not_found("PennFudan", [f + "/" for f in _FOLDERS], candidates,
                        "unpack PennFudanPed.zip (https://www.cis.upenn.edu/~jshi/ped_html/; its terms forbid "
                        "redistribution, so lucidnet does not download it) and point at it (root= in Python, --data "
                        "on the command line) or set LUCIDNET_DATA to a directory holding pennfudan/.")

    def _read(self, name: str) -> PedestrianImage:
        image_path = self.root / "PNGImages" / f"{name}.png"
        mask_path = self.root / "PedMasks" / f"{name}_mask.png"
        ann_path = self.root / "Annotation" / f"{name}.txt"
        for p, what in ((mask_path, "mask"), (ann_path, "annotation")):
            if not p.is_file():
                raise DatasetError(f"PennFudan: the {what} of {image_path.name} is missing: expected {p}")
        image = np.asarray(decode_image(image_path, "RGB"))
        mask = np.asarray(decode_image(mask_path))
        if mask.ndim != 2:
            raise DatasetError(f"PennFudan: {mask_path} must be a one-channel id mask, got shape {mask.shape}")
        if mask.shape != image.shape[:2]:
            raise DatasetError(f"PennFudan: {mask_path} is {mask.shape[1]}x{mask.shape[0]}, its image "
                               f"{image_path.name} {image.shape[1]}x{image.shape[0]}")
        size, annotated = read_annotation(ann_path)
        if size != image.shape[:2]:
            raise DatasetError(f"PennFudan: {ann_path} gives the image size {size[1]}x{size[0]}, {image_path.name} "
                               f"is {image.shape[1]}x{image.shape[0]}")
        ids = np.unique(mask)
        ids = ids[ids > 0]
        if ids.tolist() != list(range(1, len(annotated) + 1)):
            raise DatasetError(f"PennFudan: {mask_path} holds instance ids {ids.tolist()}, but {ann_path.name} "
                               f"annotates {len(annotated)} pedestrians (expected ids 1..{len(annotated)})")
        boxes = boxes_from_mask(mask, len(annotated))
        off = np.abs(boxes - annotated).max(axis=1) if len(boxes) else np.zeros(0)
        if (off > BOX_TOLERANCE).any():
            k = int(off.argmax())
            raise DatasetError(f"PennFudan: pedestrian {k + 1} of {mask_path.name} spans {boxes[k].tolist()}, "
                               f"{ann_path.name} says {annotated[k].tolist()} ({off[k]:.0f} px apart; at most "
                               f"{BOX_TOLERANCE} allowed): the mask and the annotation do not match")
        return PedestrianImage(name, image, mask.astype(np.uint8, copy=False), boxes)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> PedestrianImage:
        return self.items[i]
