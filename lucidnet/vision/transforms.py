"""Batch transforms for images: conversion, normalisation and random augmentation.

Every transform takes a whole batch, (N, C, H, W) (``ToTensor`` also takes uint8 (N, H, W) and
(N, H, W, C)), and draws its random parameters per sample, all at once, from the library's generator
(``lucidnet.manual_seed`` makes them repeat): no Python loop over samples. A NumPy array gives a NumPy
array back, a Tensor a Tensor (transforms are data preparation: no gradient flows through them); the
input is never modified. The ``DataLoader`` applies them to each batch's inputs (``transform=``).

>>> import numpy as np, lucidnet as ln
>>> from lucidnet.vision import transforms as T
>>> augment = T.Compose([T.RandomCrop(28, padding=4), T.RandomHorizontalFlip(), T.Normalize(0.2860, 0.3530)])
>>> x = np.random.default_rng(0).random((16, 1, 28, 28), dtype=np.float32)
>>> y = augment(x)
>>> y.shape, y.dtype
((16, 1, 28, 28), dtype('float32'))
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..data.transform import BatchTransform
from ..random import generator
from ..tensor import Tensor, from_numpy, get_default_dtype

__all__ = ["Transform", "Compose", "ToTensor", "Normalize", "RandomCrop", "RandomHorizontalFlip", "RandomAffine",
           "RandomErasing", "affine"]


class Transform(BatchTransform):
    """Base class: subclasses write ``apply(batch: np.ndarray) -> np.ndarray``; calling the transform
    accepts a NumPy array or a Tensor and returns the same kind."""

    def _batch(self, x: np.ndarray) -> tuple[int, int, int, int]:
        if x.ndim != 4:
            raise ValueError(f"{type(self).__name__}: expected a batch of images of shape (N, C, H, W), got shape "
                             f"{x.shape}" + ("; convert it with ToTensor() first" if x.ndim == 3 else ""))
        return x.shape

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def extra_repr(self) -> str:
        return ""


class Compose(Transform):
    """Apply transforms one after the other.

    >>> from lucidnet.vision import transforms as T
    >>> T.Compose([T.ToTensor(), T.Normalize(0.5, 0.5)])
    Compose(
        ToTensor()
        Normalize(mean=(0.5,), std=(0.5,))
    )
    """

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]):
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"Compose: every transform must be callable, got {type(t).__name__}")

    def __call__(self, x: Any) -> Any:
        for t in self.transforms:
            x = t(x)
        return x

    def apply(self, x: np.ndarray) -> np.ndarray:
        return self(x)

    def __repr__(self) -> str:
        body = "".join(f"\n    {t!r}" for t in self.transforms)
        return f"Compose({body}\n)"


class ToTensor(Transform):
    """uint8 images -> float (the default dtype, float32) in [0, 1], channels first: (N, C, H, W).

    Accepts (N, H, W) (one channel), (N, H, W, C) (channels last, the layout of most image files) and
    (N, C, H, W). For 4-D integer input the layout is told by ``channels_last`` or, when None, by which of
    dim 1 and dim 3 is a channel count (1, 3 or 4). Float input is taken as already scaled: only cast
    (and given a channel axis when 3-D).

    >>> import numpy as np
    >>> ToTensor()(np.full((2, 5, 5, 3), 255, np.uint8)).shape
    (2, 3, 5, 5)
    """

    def __init__(self, channels_last: bool | None = None):
        self.channels_last = channels_last

    def apply(self, x: np.ndarray) -> np.ndarray:
        dt = get_default_dtype()
        if x.ndim == 3:
            x = x[:, None]
        elif x.ndim == 4 and x.dtype.kind != "f":
            last = self.channels_last
            if last is None:
                c1, c3 = x.shape[1] in (1, 3, 4), x.shape[3] in (1, 3, 4)
                if c1 == c3:
                    raise ValueError(f"ToTensor: cannot tell whether a batch of shape {x.shape} is (N, C, H, W) or "
                                     "(N, H, W, C); pass ToTensor(channels_last=True or False)")
                last = c3
            if last:
                x = x.transpose(0, 3, 1, 2)
        elif x.ndim != 4:
            raise ValueError(f"ToTensor: expected images of shape (N, H, W), (N, H, W, C) or (N, C, H, W), got "
                             f"shape {x.shape}")
        if x.dtype == np.uint8:
            out = np.empty(x.shape, dtype=dt)
            return np.divide(x, dt.type(255), out=out)
        if x.dtype.kind == "f" or x.dtype == np.bool_:
            return np.array(x, dtype=dt, copy=True)
        raise TypeError(f"ToTensor: expected uint8 (scaled to [0, 1]) or float images, got dtype {x.dtype}")

    def extra_repr(self) -> str:
        return "" if self.channels_last is None else f"channels_last={self.channels_last}"


def _per_channel(v, name: str, who: str) -> tuple:
    vals = tuple(float(a) for a in (v if isinstance(v, (tuple, list, np.ndarray)) else (v,)))
    if not vals:
        raise ValueError(f"{who}: {name} must not be empty")
    return vals


def _channel_array(vals: tuple, c: int, dtype, who: str, name: str) -> np.ndarray:
    if len(vals) not in (1, c):
        raise ValueError(f"{who}: {name} has {len(vals)} values but the batch has {c} channels")
    return np.asarray(vals, dtype=dtype).reshape(-1, 1, 1)


class Normalize(Transform):
    """``(x - mean) / std`` per channel; ``mean``/``std``: one value, or one per channel.

    >>> import numpy as np
    >>> Normalize(0.5, 0.25)(np.ones((1, 1, 1, 2), np.float32)).tolist()
    [[[[2.0, 2.0]]]]
    """

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float], inplace: bool = False):
        self.mean = _per_channel(mean, "mean", "Normalize")
        self.std = _per_channel(std, "std", "Normalize")
        if any(s == 0 for s in self.std):
            raise ValueError(f"Normalize: std must not be zero, got {self.std}")
        self.inplace = inplace

    def apply(self, x: np.ndarray) -> np.ndarray:
        _, c, _, _ = self._batch(x)
        if x.dtype.kind != "f":
            raise TypeError(f"Normalize: expected float images, got dtype {x.dtype}; apply ToTensor() first")
        mean = _channel_array(self.mean, c, x.dtype, "Normalize", "mean")
        std = _channel_array(self.std, c, x.dtype, "Normalize", "std")
        out = x if self.inplace else np.empty_like(x)
        np.subtract(x, mean, out=out)
        return np.divide(out, std, out=out)

    def extra_repr(self) -> str:
        return f"mean={self.mean}, std={self.std}"


def _size2(size, who: str) -> tuple[int, int]:
    hw = tuple(size) if isinstance(size, (tuple, list)) else (size, size)
    if len(hw) != 2 or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in hw):
        raise ValueError(f"{who}: size must be a positive int or (height, width), got {size!r}")
    return int(hw[0]), int(hw[1])


def _padding4(padding, who: str) -> tuple[int, int, int, int]:
    """torchvision's convention -> (left, top, right, bottom)."""
    if padding is None:
        return (0, 0, 0, 0)
    p = tuple(padding) if isinstance(padding, (tuple, list)) else (padding,)
    if len(p) == 1:
        p = p * 4
    elif len(p) == 2:
        p = (p[0], p[1], p[0], p[1])
    if len(p) != 4 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0 for v in p):
        raise ValueError(f"{who}: padding must be a non-negative int, (left/right, top/bottom) or (left, top, right, "
                         f"bottom), got {padding!r}")
    return tuple(int(v) for v in p)


class RandomCrop(Transform):
    """Pad each image (``padding``, torchvision's convention), then cut a ``size`` window at a random
    place, drawn per sample. ``padding_mode``: constant (with ``fill``: one value, or one per channel),
    edge, reflect or symmetric.

    >>> import numpy as np
    >>> RandomCrop(28, padding=4)(np.zeros((8, 1, 28, 28), np.float32)).shape
    (8, 1, 28, 28)
    >>> RandomCrop(3, padding=1, fill=(1, 2))(np.zeros((1, 2, 1, 1), np.float32))[0, :, 0, 0].tolist()
    [1.0, 2.0]
    """

    def __init__(self, size: int | Sequence[int], padding: int | Sequence[int] | None = None,
                 fill: float | Sequence[float] = 0, padding_mode: str = "constant"):
        self.size = _size2(size, "RandomCrop")
        self.padding = _padding4(padding, "RandomCrop")
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError(f"RandomCrop: padding_mode must be constant, edge, reflect or symmetric, got "
                             f"{padding_mode!r}")
        self.fill = fill if np.ndim(fill) == 0 else _per_channel(fill, "fill", "RandomCrop")
        self.padding_mode = padding_mode

    def apply(self, x: np.ndarray) -> np.ndarray:
        n, c, h0, w0 = self._batch(x)
        left, top, right, bottom = self.padding
        if any(self.padding):
            widths = ((0, 0), (0, 0), (top, bottom), (left, right))
            if self.padding_mode == "constant" and isinstance(self.fill, tuple):
                padded = np.empty((n, c, h0 + top + bottom, w0 + left + right), dtype=x.dtype)
                padded[...] = _channel_array(self.fill, c, x.dtype, "RandomCrop", "fill")
                padded[:, :, top:top + h0, left:left + w0] = x
                x = padded
            elif self.padding_mode == "constant":
                x = np.pad(x, widths, mode="constant", constant_values=self.fill)
            else:
                x = np.pad(x, widths, mode=self.padding_mode)
        h, w = self.size
        hp, wp = x.shape[2:]
        if h > hp or w > wp:
            raise ValueError(f"RandomCrop: crop size {self.size} is larger than the (padded) images of size {(hp, wp)}")
        rng = generator()
        dy = rng.integers(0, hp - h + 1, size=n)
        dx = rng.integers(0, wp - w + 1, size=n)
        windows = sliding_window_view(x, (h, w), axis=(2, 3))  # (N, C, hp-h+1, wp-w+1, h, w), a view
        return windows[np.arange(n), :, dy, dx]                # (N, C, h, w): one gather

    def extra_repr(self) -> str:
        return f"size={self.size}, padding={self.padding}"


class RandomHorizontalFlip(Transform):
    """Mirror each image left-right with probability ``p`` (drawn per sample).

    >>> import numpy as np
    >>> RandomHorizontalFlip(p=1.0)(np.arange(3.0).reshape(1, 1, 1, 3)).tolist()
    [[[[2.0, 1.0, 0.0]]]]
    """

    def __init__(self, p: float = 0.5):
        if not 0 <= p <= 1:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p!r}")
        self.p = p

    def apply(self, x: np.ndarray) -> np.ndarray:
        n = self._batch(x)[0]
        flip = generator().random(n) < self.p
        out = x.copy()
        out[flip] = x[flip, :, :, ::-1]
        return out

    def extra_repr(self) -> str:
        return f"p={self.p}"


def _sample(x: np.ndarray, xs: np.ndarray, ys: np.ndarray, mode: str, fill: float) -> np.ndarray:
    """Sample each image of (N, C, H, W) at source positions ``xs``, ``ys`` (N, H', W'), in pixels; what
    falls outside the image is ``fill``. Bilinear or nearest (round half to even, like PyTorch).

    The images get a one-pixel border of ``fill`` and positions are clamped onto it, so every neighbour
    is a valid index and samples from outside blend into ``fill`` exactly as grid_sample's padding does."""
    n, c, h, w = x.shape
    dt = x.dtype
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=fill)
    wp = w + 2
    src = padded.transpose(1, 0, 2, 3).reshape(c, -1)  # (C, N * (H+2) * (W+2)): one flat index per pixel
    base = (np.arange(n) * ((h + 2) * wp)).reshape(n, 1, 1)

    def index(yi, xi):  # integer positions (N, H', W') -> flat indices into src, clamped onto the border
        return base + (np.clip(yi, -1, h) + 1) * wp + (np.clip(xi, -1, w) + 1)

    def take(idx):  # -> (C, N, H', W')
        return np.take(src, idx, axis=1)

    if mode == "nearest":
        out = take(index(np.rint(ys).astype(np.intp), np.rint(xs).astype(np.intp)))
    else:
        x0f, y0f = np.floor(xs), np.floor(ys)
        wx, wy = (xs - x0f).astype(dt), (ys - y0f).astype(dt)
        x0, y0 = x0f.astype(np.intp), y0f.astype(np.intp)
        top = take(index(y0, x0))
        right = take(index(y0, x0 + 1))
        right -= top
        right *= wx
        top += right                                   # the upper row, interpolated along x
        bottom = take(index(y0 + 1, x0))
        right = take(index(y0 + 1, x0 + 1))
        right -= bottom
        right *= wx
        bottom += right                                # the lower row
        bottom -= top
        bottom *= wy
        out = top + bottom                             # and between the two rows along y
    return np.ascontiguousarray(out.transpose(1, 0, 2, 3))


def affine(x: Any, angle: Any = 0.0, translate: Any = (0.0, 0.0), scale: Any = 1.0, fill: float = 0.0,
           interpolation: str = "bilinear") -> Any:
    """Rotate each image of (N, C, H, W) by ``angle`` degrees (counter-clockwise on screen) about its
    centre, scale it by ``scale`` and shift it by ``translate`` = (dx, dy) pixels (right, down).

    Parameters may be scalars or one value per image: ``angle`` (N,), ``translate`` (N, 2), ``scale`` (N,).
    Pixels that come from outside the image get ``fill``. ``interpolation``: bilinear or nearest.

    >>> import numpy as np
    >>> x = np.arange(9.0, dtype=np.float32).reshape(1, 1, 3, 3)
    >>> bool(np.allclose(affine(x, 90), np.rot90(x, 1, axes=(2, 3)), atol=1e-5))
    True
    """
    if isinstance(x, Tensor):
        return from_numpy(affine(x.array, angle, translate, scale, fill, interpolation))
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"affine: expected a batch of images of shape (N, C, H, W), got shape {x.shape}")
    if interpolation not in ("bilinear", "nearest"):
        raise ValueError(f"affine: interpolation must be 'bilinear' or 'nearest', got {interpolation!r}")
    n, _, h, w = x.shape
    theta = np.deg2rad(np.broadcast_to(np.asarray(angle, dtype=np.float64), (n,)))
    t = np.broadcast_to(np.asarray(translate, dtype=np.float64), (n, 2))
    s = np.broadcast_to(np.asarray(scale, dtype=np.float64), (n,))
    if np.any(s <= 0):
        raise ValueError("affine: scale must be positive")
    # output pixel p (centred coordinates) comes from R(theta)^T (p - t) / s; R rotates counter-clockwise
    # on screen (y points down): R = [[cos, sin], [-sin, cos]]
    a = (np.cos(theta) / s).astype(np.float32)[:, None, None]
    b = (np.sin(theta) / s).astype(np.float32)[:, None, None]
    cx, cy = (w - 1) / 2, (h - 1) / 2
    xo = np.arange(w, dtype=np.float32)[None, None, :] - (cx + t[:, 0]).astype(np.float32)[:, None, None]
    yo = np.arange(h, dtype=np.float32)[None, :, None] - (cy + t[:, 1]).astype(np.float32)[:, None, None]
    xs = a * xo - b * yo + np.float32(cx)  # (N, H, W)
    ys = b * xo + a * yo + np.float32(cy)
    if x.dtype.kind == "f":
        return _sample(x, xs, ys, interpolation, fill)
    out = _sample(x.astype(np.float32), xs, ys, interpolation, fill)
    info = np.iinfo(x.dtype) if x.dtype.kind in "iu" else None
    if info is not None:
        np.clip(np.rint(out, out=out), info.min, info.max, out=out)
    return out.astype(x.dtype)


def _range(v, who: str, name: str, symmetric: bool = False) -> tuple[float, float] | None:
    if v is None:
        return None
    if isinstance(v, (int, float)) and symmetric:
        if v < 0:
            raise ValueError(f"{who}: {name} must be non-negative when one number, got {v!r}")
        return (-float(v), float(v))
    lo_hi = tuple(float(a) for a in v)
    if len(lo_hi) != 2 or lo_hi[0] > lo_hi[1]:
        raise ValueError(f"{who}: {name} must be (min, max) with min <= max, got {v!r}")
    return lo_hi


class RandomAffine(Transform):
    """A random rotation (``degrees``: d for [-d, d], or (min, max)), translation (``translate`` = (a, b):
    up to a*W and b*H pixels, rounded to whole pixels, as torchvision) and scale (``scale`` = (min, max))
    per image, about the image centre; uncovered pixels get ``fill``. ``interpolation``: nearest (the
    default, as torchvision) or bilinear.

    >>> import numpy as np
    >>> RandomAffine(10, translate=(0.1, 0.1))(np.zeros((4, 1, 28, 28), np.float32)).shape
    (4, 1, 28, 28)
    """

    def __init__(self, degrees: float | Sequence[float], translate: Sequence[float] | None = None,
                 scale: Sequence[float] | None = None, fill: float = 0, interpolation: str = "nearest"):
        self.degrees = _range(degrees, "RandomAffine", "degrees", symmetric=True)
        if translate is not None:
            translate = tuple(float(v) for v in translate)
            if len(translate) != 2 or not all(0 <= v <= 1 for v in translate):
                raise ValueError(f"RandomAffine: translate must be (a, b) with 0 <= a, b <= 1, got {translate!r}")
        self.translate = translate
        self.scale = _range(scale, "RandomAffine", "scale")
        if self.scale is not None and self.scale[0] <= 0:
            raise ValueError(f"RandomAffine: scale must be positive, got {scale!r}")
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"RandomAffine: interpolation must be 'bilinear' or 'nearest', got {interpolation!r}")
        self.fill = fill
        self.interpolation = interpolation

    def apply(self, x: np.ndarray) -> np.ndarray:
        n, _, h, w = self._batch(x)
        rng = generator()
        angle = rng.uniform(self.degrees[0], self.degrees[1], size=n)
        t = np.zeros((n, 2))
        if self.translate is not None:
            t[:, 0] = np.rint(rng.uniform(-self.translate[0] * w, self.translate[0] * w, size=n))
            t[:, 1] = np.rint(rng.uniform(-self.translate[1] * h, self.translate[1] * h, size=n))
        s = 1.0 if self.scale is None else rng.uniform(self.scale[0], self.scale[1], size=n)
        return affine(x, angle, t, s, self.fill, self.interpolation)

    def extra_repr(self) -> str:
        return (f"degrees={self.degrees}, translate={self.translate}, scale={self.scale}, "
                f"interpolation={self.interpolation!r}")


class RandomErasing(Transform):
    """With probability ``p`` per image, set a random rectangle to ``value`` (Zhong et al. 2017, as
    torchvision): its area a fraction in ``scale`` of the image, its aspect ratio in ``ratio`` (drawn
    log-uniform); up to 10 tries per image for a rectangle that fits, else the image is left as it is.
    ``value``: a number, one number per channel, or ``"random"`` (standard normal noise).

    >>> import numpy as np
    >>> y = RandomErasing(p=1.0, value=7)(np.zeros((4, 1, 28, 28), np.float32))
    >>> bool(((y == 7).sum(axis=(1, 2, 3)) > 0).all())
    True
    """

    def __init__(self, p: float = 0.5, scale: Sequence[float] = (0.02, 0.33), ratio: Sequence[float] = (0.3, 3.3),
                 value: float | Sequence[float] | str = 0):
        if not 0 <= p <= 1:
            raise ValueError(f"RandomErasing: p must be in [0, 1], got {p!r}")
        self.scale = _range(scale, "RandomErasing", "scale")
        self.ratio = _range(ratio, "RandomErasing", "ratio")
        if self.scale[0] < 0 or self.scale[1] > 1:
            raise ValueError(f"RandomErasing: scale must lie in [0, 1], got {scale!r}")
        if self.ratio[0] <= 0:
            raise ValueError(f"RandomErasing: ratio must be positive, got {ratio!r}")
        if isinstance(value, str) and value != "random":
            raise ValueError(f"RandomErasing: value must be a number, one per channel, or 'random', got {value!r}")
        self.p = p
        self.value = value if isinstance(value, str) else _per_channel(value, "value", "RandomErasing")

    _TRIES = 10

    def apply(self, x: np.ndarray) -> np.ndarray:
        n, c, h, w = self._batch(x)
        rng = generator()
        erase = rng.random(n) < self.p
        area = rng.uniform(self.scale[0], self.scale[1], size=(n, self._TRIES)) * (h * w)
        log_r = rng.uniform(math.log(self.ratio[0]), math.log(self.ratio[1]), size=(n, self._TRIES))
        eh = np.rint(np.sqrt(area * np.exp(log_r))).astype(np.int64)
        ew = np.rint(np.sqrt(area / np.exp(log_r))).astype(np.int64)
        fits = (eh < h) & (ew < w)
        first = fits.argmax(axis=1)                      # the first try that fits
        erase &= fits.any(axis=1)
        eh, ew = eh[np.arange(n), first], ew[np.arange(n), first]
        top = (rng.random(n) * (h - eh + 1)).astype(np.int64)
        left = (rng.random(n) * (w - ew + 1)).astype(np.int64)
        rows, cols = np.arange(h), np.arange(w)
        in_rows = (rows >= top[:, None]) & (rows < (top + eh)[:, None]) & erase[:, None]
        in_cols = (cols >= left[:, None]) & (cols < (left + ew)[:, None])
        mask = in_rows[:, None, :, None] & in_cols[:, None, None, :]  # (N, 1, H, W)
        if self.value == "random":
            noise_dt = x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float32)
            fill = rng.standard_normal(x.shape, dtype=noise_dt).astype(x.dtype, copy=False)
        else:
            fill = _channel_array(self.value, c, x.dtype, "RandomErasing", "value")
        return np.where(mask, fill, x)

    def extra_repr(self) -> str:
        return f"p={self.p}, scale={self.scale}, ratio={self.ratio}, value={self.value!r}"
