"""Image files read safely with Pillow: decoding (decompression-bomb safe, errors naming the file), a header-only
look at a file's size and colour, and a batch of files as one float32 (N, C, H, W) array in [0, 1].

>>> import tempfile, os, numpy as np
>>> from PIL import Image
>>> path = os.path.join(tempfile.mkdtemp(), "grey.png")
>>> Image.fromarray(np.full((6, 4), 255, np.uint8)).save(path)
>>> image_info(path)
((6, 4), True)
>>> x = read_images([path], size=(3, 2), mode="L")
>>> x.shape, float(x.max())
((1, 1, 3, 2), 1.0)
"""
from __future__ import annotations

import io
import os
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from ..limits import check_shape

__all__ = ["IMAGE_EXTENSIONS", "is_image_file", "open_image", "decode_image", "image_info", "image_array",
           "read_images"]

# what an image folder's files may be (any case); what Pillow reads of the rest is not looked at
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
# Pillow modes of one grey channel (16- and 32-bit integer grey, float grey, bilevel, grey + alpha)
_GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "F", "I;16", "I;16L", "I;16B", "I;16N"})
_WIDE_INT = ("I", "I;16", "I;16L", "I;16B", "I;16N")  # integer grey scaled from the 16-bit range


def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise ImportError('reading images needs Pillow: pip install "lucidnet[images]"') from None
    return Image


def is_image_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` names an image by its extension (``IMAGE_EXTENSIONS``, any case) and is not hidden.

    >>> is_image_file("cat.JPG"), is_image_file(".cat.png"), is_image_file("notes.txt")
    (True, False, False)
    """
    name = os.path.basename(os.fspath(path))
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


class _Bounded(io.BufferedReader):
    """A file whose ``read(n)`` asks for no more than what is left of it: Pillow reads some lengths a file declares
    in one call (the rest of a PNG's IDAT chunk), and a buffered read allocates all ``n`` bytes first: 2 GB for a
    440-byte file whose chunk length says so."""

    def __init__(self, path: Path):
        super().__init__(io.FileIO(path, "rb"))
        self._end = os.fstat(self.fileno()).st_size

    def read(self, size: int | None = -1) -> bytes:
        if size is not None and size > 0:
            size = min(size, max(self._end - self.tell(), 0))
        return super().read(size)


@contextmanager
def open_image(path: str | os.PathLike) -> Iterator[Any]:
    """The image file at ``path`` opened by Pillow (header only until loaded), as a context manager; what goes
    wrong inside (a missing, unreadable, truncated or oversized file) is an error naming the file."""
    Image = _pil()
    from PIL import UnidentifiedImageError
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"image {str(p)!r} does not exist")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with _Bounded(p) as f, Image.open(f) as im:
                yield im
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValueError(f"{p}: the image is too large to read safely (more than {Image.MAX_IMAGE_PIXELS:,} "
                         "pixels: Pillow's decompression-bomb limit)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:  # Pillow's errors for a corrupt file
        raise ValueError(f"{p}: not a readable image ({e})") from None


def decode_image(path: str | os.PathLike, mode: str | None = None) -> Any:
    """The image file at ``path`` decoded by Pillow and converted to ``mode`` ("L", "RGB"; None: as stored): a
    loaded ``PIL.Image``. PNG, JPEG or any format Pillow reads; a clear error for a missing, unreadable or
    oversized (decompression-bomb) file."""
    with open_image(path) as im:
        out = im.copy() if mode is None or im.mode == mode else im.convert(mode)
        out.load()
        return out


def _is_grey(im: Any) -> bool:
    if im.mode in _GREY_MODES:
        return True
    if im.mode in ("P", "PA"):  # a palette of greys only
        rgb = np.asarray(im.getpalette("RGB") or [], dtype=np.uint8).reshape(-1, 3)
        return bool((rgb == rgb[:, :1]).all())
    return False


def image_info(path: str | os.PathLike) -> tuple[tuple[int, int], bool]:
    """((height, width), whether the image is grey) of an image file, from its header (a palette image's
    palette is read too)."""
    with open_image(path) as im:
        return (im.size[1], im.size[0]), _is_grey(im)


def image_array(im: Any, size: tuple[int, int], mode: str) -> np.ndarray:
    """A ``PIL.Image`` as float32 (C, H, W) in [0, 1]: converted to ``mode`` ("L": one channel, "RGB": three;
    16-bit grey scaled from 0..65535, alpha dropped) and resized to ``size`` (H, W) by Pillow's bilinear filter
    (antialiased when shrinking) unless it has that size."""
    if mode not in ("L", "RGB"):
        raise ValueError(f"image_array: mode must be 'L' or 'RGB', got {mode!r}")
    Image = _pil()
    h, w = size
    wide = im.mode in _WIDE_INT
    if wide:  # Pillow's convert("L") clips these at 255 instead of scaling them
        im = Image.fromarray(np.clip(np.asarray(im, dtype=np.float32) / np.float32(65535), 0, 1), "F")
    elif im.mode != mode:
        im = im.convert(mode)
    if im.size != (w, h):
        im = im.resize((w, h), Image.BILINEAR)
    x = np.asarray(im, dtype=np.float32)
    if not wide:
        x = x / np.float32(255)
    if x.ndim == 2:
        x = x[None] if mode == "L" else np.repeat(x[None], 3, axis=0)
    else:
        x = x.transpose(2, 0, 1)
    return np.ascontiguousarray(x)


def _read(path: str | os.PathLike, size: tuple[int, int], mode: str) -> np.ndarray:
    with open_image(path) as im:
        if im.format == "JPEG":  # decode at the smallest DCT scale that still covers ``size``
            im.draft(mode, (size[1], size[0]))
        return image_array(im, size, mode)


def read_images(paths: Sequence[str | os.PathLike], size: tuple[int, int], mode: str,
                progress: bool = False) -> np.ndarray:
    """Image files as one float32 array (N, C, H, W) in [0, 1] (see :func:`image_array`); ``progress``: a tqdm
    bar on a terminal. An unreadable file is an error naming it."""
    if mode not in ("L", "RGB"):
        raise ValueError(f"read_images: mode must be 'L' or 'RGB', got {mode!r}")
    channels = 1 if mode == "L" else 3
    shape = check_shape((len(paths), channels, *size), np.float32, f"read_images(size={tuple(size)})")
    out = np.empty(shape, dtype=np.float32)
    it = paths
    if progress:
        from tqdm import tqdm
        it = tqdm(paths, desc="reading images", unit="img", leave=False, disable=None)
    for i, p in enumerate(it):
        out[i] = _read(p, size, mode)
    return out
