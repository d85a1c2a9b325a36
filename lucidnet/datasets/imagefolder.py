"""``ImageFolder``: a folder of images, one sub-folder per class, as torchvision's ``ImageFolder``.

    root/cat/001.png
    root/cat/nested/002.jpg
    root/dog/a.jpeg

Classes are the sub-folders of ``root``, sorted by name (``class_to_idx`` maps a name to its index); every image
file below a class folder (``IMAGE_EXTENSIONS``, any case, searched recursively, in sorted order) is a sample
``(path, class index)``. Unlike torchvision, hidden files and folders (a name starting with ".", such as
``.ipynb_checkpoints``) are left out. A root with no class folder, or a class folder with no image, is a
``DatasetNotFoundError`` (a ``FileNotFoundError``, as in torchvision) naming the folder; an unreadable image is an
error naming the file when it is loaded.

>>> import tempfile, os, numpy as np
>>> from PIL import Image
>>> root = tempfile.mkdtemp()
>>> for name in ("dog", "cat"):
...     os.mkdir(os.path.join(root, name))
...     Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(os.path.join(root, name, "0.png"))
>>> ds = ImageFolder(root)
>>> ds.classes, ds.class_to_idx, ds.targets
(['cat', 'dog'], {'cat': 0, 'dog': 1}, [0, 1])
>>> image, target = ds[1]
>>> image.mode, image.size, target
('RGB', (4, 4), 1)
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from ..data.dataset import Dataset
from .errors import DatasetNotFoundError
from .images import IMAGE_EXTENSIONS, decode_image, is_image_file

__all__ = ["ImageFolder", "find_classes", "default_loader"]


def default_loader(path: str) -> Any:
    """The image at ``path`` as an RGB ``PIL.Image`` (torchvision's default loader)."""
    return decode_image(path, "RGB")


def find_classes(directory: str | os.PathLike) -> tuple[list[str], dict[str, int]]:
    """(class names, name -> index) of a folder: its sub-folders that are not hidden, sorted by name."""
    d = Path(directory)
    if not d.is_dir():
        raise DatasetNotFoundError(f"image folder {str(d)!r} does not exist" if not d.exists()
                                   else f"{d} is a file, not a folder of class sub-folders")
    with os.scandir(d) as entries:
        classes = sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))
    if not classes:
        raise DatasetNotFoundError(f"{d}: no class folders in it (an image folder holds one sub-folder of images "
                                   "per class)")
    return classes, {c: i for i, c in enumerate(classes)}


class ImageFolder(Dataset):
    """The images below ``root``, labelled by their class folder. ``loader(path)`` reads a sample (default: an
    RGB ``PIL.Image``), then ``transform`` and ``target_transform`` apply; ``is_valid_file(path)`` picks the
    files (default: the extensions of ``IMAGE_EXTENSIONS``, hidden files left out)."""

    extensions = IMAGE_EXTENSIONS

    def __init__(self, root: str | os.PathLike, transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[int], Any] | None = None,
                 loader: Callable[[str], Any] = default_loader,
                 is_valid_file: Callable[[str], bool] | None = None):
        self.root = os.fspath(root)
        self.transform, self.target_transform, self.loader = transform, target_transform, loader
        self.classes, self.class_to_idx = self.find_classes(self.root)
        valid = is_image_file if is_valid_file is None else is_valid_file
        self.samples: list[tuple[str, int]] = []
        for name in self.classes:
            folder = os.path.join(self.root, name)
            found = []
            for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
                dirnames[:] = sorted(n for n in dirnames if not n.startswith("."))  # walked in sorted order
                found += [os.path.join(dirpath, f) for f in sorted(filenames)
                          if not f.startswith(".") and valid(os.path.join(dirpath, f))]
            if not found:
                raise DatasetNotFoundError(f"{folder}: no images in this class folder (looked for "
                                           f"{', '.join(self.extensions)} files, any case, in it and below)")
            self.samples += [(p, self.class_to_idx[name]) for p in found]
        self.imgs = self.samples  # torchvision's older name
        self.targets: list[int] = [t for _, t in self.samples]

    @staticmethod
    def find_classes(directory: str | os.PathLike) -> tuple[list[str], dict[str, int]]:
        """(class names, name -> index) of ``directory`` (see :func:`find_classes`)."""
        return find_classes(directory)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        path, target = self.samples[index]
        sample = self.loader(path)
        if self.transform is not None:
            sample = self.transform(sample)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return sample, target

    def __repr__(self) -> str:
        return f"ImageFolder({len(self)} images, {len(self.classes)} classes, root={self.root!r})"
