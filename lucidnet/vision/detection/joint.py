"""Joint transforms of an image, its instance mask and its boxes, kept in sync, and batching of images of
different sizes.

A :class:`Sample` holds a uint8 (H, W, 3) image, an optional uint8 (H, W) instance-id mask (0 background),
float32 (K, 4) boxes ``x0, y0, x1, y1`` in pixel-edge coordinates and the (K,) mask id of each box. Geometric
transforms move all three; where a mask is there, a box is re-derived from its mask after a crop (so it
stays tight and on its pixels) and dropped when less than ``min_visible`` of its pixels remain; without a
mask, boxes are clipped and dropped by the share of their area left. Random draws come from ``rng`` (default:
the library generator, so ``lucidnet.manual_seed`` repeats them).

>>> import numpy as np
>>> m = np.zeros((40, 60), np.uint8); m[10:30, 5:15] = 1
>>> s = Sample(np.zeros((40, 60, 3), np.uint8), boxes=np.array([[5, 10, 15, 30]], np.float32), mask=m)
>>> hflip(s).boxes
array([[45., 10., 55., 30.]], dtype=float32)
>>> out = Letterbox(30)(s)
>>> out.image.shape, out.boxes, out.scale
((30, 30, 3), array([[ 2.,  5.,  7., 15.]], dtype=float32), 0.5)
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from ...random import generator

__all__ = ["Sample", "hflip", "resize", "crop", "RandomHorizontalFlip", "RandomScale", "RandomCrop", "ColorJitter",
           "Letterbox", "JointCompose", "collate_images", "mask_boxes"]


@dataclass
class Sample:
    """An image with its boxes (and instance mask); ``scale`` is the factor from the original image's pixels
    to this one's (what :class:`Letterbox` and :func:`resize` multiply in), ``ids`` the mask id of each box
    (default 1..K)."""

    image: np.ndarray
    boxes: np.ndarray
    mask: np.ndarray | None = None
    ids: np.ndarray | None = None
    scale: float = 1.0
    labels: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.image.ndim != 3 or self.image.dtype != np.uint8:
            raise ValueError(f"Sample: expected a uint8 image (H, W, C), got {self.image.dtype} {self.image.shape}")
        self.boxes = np.asarray(self.boxes, np.float32).reshape(-1, 4)
        if self.ids is None:
            self.ids = np.arange(1, len(self.boxes) + 1, dtype=np.int64)
        if self.labels is None:
            self.labels = np.zeros(len(self.boxes), np.int64)
        if self.mask is not None and self.mask.shape != self.image.shape[:2]:
            raise ValueError(f"Sample: the mask is {self.mask.shape}, the image {self.image.shape[:2]}")
        if not (len(self.ids) == len(self.labels) == len(self.boxes)):
            raise ValueError(f"Sample: {len(self.boxes)} boxes, {len(self.ids)} ids and {len(self.labels)} labels")

    @property
    def size(self) -> tuple[int, int]:
        """(height, width)."""
        return self.image.shape[0], self.image.shape[1]

    def keep(self, idx: np.ndarray) -> "Sample":
        """The sample with only boxes ``idx``."""
        return dataclasses.replace(self, boxes=self.boxes[idx], ids=self.ids[idx], labels=self.labels[idx])


def mask_boxes(mask: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(boxes (K, 4) of mask ids ``ids``, pixel count of each): an id with no pixel gets a zero box and 0."""
    boxes = np.zeros((len(ids), 4), np.float32)
    counts = np.zeros(len(ids), np.int64)
    for k, i in enumerate(ids):
        ys, xs = np.nonzero(mask == i)
        if len(ys):
            boxes[k] = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
            counts[k] = len(ys)
    return boxes, counts


def hflip(s: Sample) -> Sample:
    """The sample mirrored left to right."""
    w = s.size[1]
    b = s.boxes.copy()
    b[:, [0, 2]] = w - s.boxes[:, [2, 0]]
    return dataclasses.replace(s, image=s.image[:, ::-1].copy(), boxes=b,
                               mask=None if s.mask is None else s.mask[:, ::-1].copy())


def resize(s: Sample, size: tuple[int, int]) -> Sample:
    """The sample resized to ``size`` (height, width): the image bilinear (Pillow), the mask nearest, the
    boxes scaled (``scale`` multiplied by the width's factor)."""
    from PIL import Image
    h, w = s.size
    nh, nw = int(size[0]), int(size[1])
    if (nh, nw) == (h, w):
        return s
    if nh < 1 or nw < 1:
        raise ValueError(f"resize: the size must be positive, got {size}")
    image = np.asarray(Image.fromarray(s.image).resize((nw, nh), Image.BILINEAR))
    mask = None if s.mask is None else np.asarray(Image.fromarray(s.mask).resize((nw, nh), Image.NEAREST))
    f = np.array([nw / w, nh / h, nw / w, nh / h], np.float32)
    out = dataclasses.replace(s, image=image, mask=mask, boxes=s.boxes * f, scale=s.scale * nw / w)
    if mask is not None and len(s.boxes):  # nearest resizing may thin a person out of a row: keep boxes on pixels
        boxes, counts = mask_boxes(mask, s.ids)
        out = dataclasses.replace(out, boxes=np.where(counts[:, None] > 0, boxes, out.boxes))
        out = out.keep(np.flatnonzero(counts > 0))
    return out


def crop(s: Sample, top: int, left: int, height: int, width: int, min_visible: float = 0.3) -> Sample:
    """The window (top, left, height, width) of the sample (inside the image). Boxes are re-derived from the
    mask (without one: clipped) and dropped when under ``min_visible`` of their pixels (area) remain."""
    h, w = s.size
    if not (0 <= top and 0 <= left and height >= 1 and width >= 1 and top + height <= h and left + width <= w):
        raise ValueError(f"crop: the window {(top, left, height, width)} is not inside the {h}x{w} image")
    image = s.image[top:top + height, left:left + width]
    if s.mask is not None:
        mask = s.mask[top:top + height, left:left + width]
        _, before = mask_boxes(s.mask, s.ids)
        boxes, after = mask_boxes(mask, s.ids)
        seen = after / np.maximum(before, 1)
    else:
        mask = None
        boxes = s.boxes - np.array([left, top, left, top], np.float32)
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        boxes[:, 0::2] = boxes[:, 0::2].clip(0, width)
        boxes[:, 1::2] = boxes[:, 1::2].clip(0, height)
        seen = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) / np.maximum(area, 1e-9)
    out = dataclasses.replace(s, image=image, mask=mask, boxes=boxes)
    return out.keep(np.flatnonzero((seen >= min_visible) & (seen > 0)))


class RandomHorizontalFlip:
    """:func:`hflip` with probability ``p``."""

    def __init__(self, p: float = 0.5):
        self.p = p

    def __call__(self, s: Sample, rng: np.random.Generator | None = None) -> Sample:
        return hflip(s) if (rng or generator()).random() < self.p else s


class RandomScale:
    """Scale jitter: resize so that the longer side is ``size * f``, ``f`` uniform in ``scale``."""

    def __init__(self, size: int, scale: tuple[float, float] = (0.75, 1.25)):
        if not 0 < scale[0] <= scale[1]:
            raise ValueError(f"RandomScale: scale must be (low, high) with 0 < low <= high, got {scale}")
        self.size, self.scale = size, scale

    def __call__(self, s: Sample, rng: np.random.Generator | None = None) -> Sample:
        f = (rng or generator()).uniform(*self.scale) * self.size / max(s.size)
        return resize(s, (max(1, round(s.size[0] * f)), max(1, round(s.size[1] * f))))


class RandomCrop:
    """A random window of at most ``size`` x ``size`` (the whole side where the image is smaller); boxes
    clipped or dropped as :func:`crop` does."""

    def __init__(self, size: int, min_visible: float = 0.3):
        self.size, self.min_visible = size, min_visible

    def __call__(self, s: Sample, rng: np.random.Generator | None = None) -> Sample:
        rng = rng or generator()
        h, w = s.size
        ch, cw = min(h, self.size), min(w, self.size)
        top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        return crop(s, top, left, ch, cw, self.min_visible)


class ColorJitter:
    """Brightness, contrast and saturation each scaled by a factor uniform in ``[1 - v, 1 + v]`` (in random
    order, as torchvision's); the image only."""

    def __init__(self, brightness: float = 0.3, contrast: float = 0.3, saturation: float = 0.3):
        self.amounts = (brightness, contrast, saturation)

    def __call__(self, s: Sample, rng: np.random.Generator | None = None) -> Sample:
        rng = rng or generator()
        x = s.image.astype(np.float32)
        for k in rng.permutation(3):
            v = self.amounts[k]
            if not v:
                continue
            f = np.float32(rng.uniform(1 - v, 1 + v))
            if k == 0:
                x = x * f
            else:
                grey = x @ np.array([0.299, 0.587, 0.114], np.float32)
                ref = grey.mean() if k == 1 else grey[..., None]
                x = ref + (x - ref) * f
        return dataclasses.replace(s, image=np.clip(x, 0, 255).round().astype(np.uint8))


class Letterbox:
    """Resize so that the longer side is ``size`` (aspect kept), then pad right and bottom with ``fill`` to
    ``size`` x ``size``; ``scale`` records the factor (original pixel * scale = letterboxed pixel)."""

    def __init__(self, size: int, fill: int = 114):
        self.size, self.fill = size, fill

    def __call__(self, s: Sample, rng: np.random.Generator | None = None) -> Sample:
        h, w = s.size
        if max(h, w) != self.size:
            f = self.size / max(h, w)
            s = resize(s, (min(self.size, max(1, round(h * f))), min(self.size, max(1, round(w * f)))))
        h, w = s.size
        image = np.full((self.size, self.size, s.image.shape[2]), self.fill, np.uint8)
        image[:h, :w] = s.image
        mask = None
        if s.mask is not None:
            mask = np.zeros((self.size, self.size), s.mask.dtype)
            mask[:h, :w] = s.mask
        return dataclasses.replace(s, image=image, mask=mask, extra={**s.extra, "content": (h, w)})


class JointCompose:
    """Joint transforms applied in order."""

    def __init__(self, transforms: Sequence[Callable]):
        self.transforms = list(transforms)

    def __call__(self, s: Sample, rng: np.random.Generator | None = None) -> Sample:
        for t in self.transforms:
            s = t(s, rng)
        return s


def collate_images(images: Sequence[np.ndarray], multiple: int = 32, fill: int = 114) -> tuple[np.ndarray, list]:
    """A batch of uint8 (H, W, 3) images of different sizes as float32 (N, 3, H, W) in [0, 1], each at the
    top left and padded with ``fill`` to the largest height and width rounded up to ``multiple``; with the
    (height, width) of each.

    >>> x, sizes = collate_images([np.zeros((10, 20, 3), np.uint8), np.zeros((40, 5, 3), np.uint8)])
    >>> x.shape, sizes
    ((2, 3, 64, 32), [(10, 20), (40, 5)])
    """
    if not images:
        raise ValueError("collate_images: no image to batch")
    hs, ws = [im.shape[0] for im in images], [im.shape[1] for im in images]
    H, W = (-(-max(hs) // multiple) * multiple), (-(-max(ws) // multiple) * multiple)
    out = np.full((len(images), H, W, 3), fill, np.uint8)
    for i, im in enumerate(images):
        out[i, :im.shape[0], :im.shape[1]] = im
    x = out.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255)
    return x, list(zip(hs, ws))
