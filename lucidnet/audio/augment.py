"""Augmentation of speech: SpecAugment's frequency and time masking on batches of spectrograms, and additive
noise and time shifts on batches of waveforms or spectrograms.

Every augmentation takes a whole batch (N, ..., bins, frames) or (N, samples), draws its random numbers per
example, all at once, from the library's generator (``lucidnet.manual_seed`` makes them repeat), and returns a
new array (the input is not modified); a Tensor gives a Tensor back. The ``DataLoader`` applies them to each
training batch (``transform=``).

>>> import numpy as np, lucidnet as ln
>>> from lucidnet.audio import SpecAugment
>>> _ = ln.manual_seed(0)
>>> x = np.ones((8, 1, 40, 100), np.float32)
>>> y = SpecAugment(freq_mask=8, time_mask=20, fill=0.0)(x)
>>> y.shape, bool((y == 0).any()), bool((x == 1).all())
((8, 1, 40, 100), True, True)
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ..data.transform import BatchTransform
from ..random import generator

__all__ = ["Augmentation", "SpecAugment", "FrequencyWarp", "AddNoise", "TimeShift", "Chain"]


class Augmentation(BatchTransform):
    """Base class: subclasses write ``apply(batch) -> batch`` on NumPy arrays; calling accepts a Tensor too."""

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


def _ranges(rng: np.random.Generator, n: int, count: int, max_width: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(start, width) arrays of shape (n, count): widths uniform in [0, max_width], starts uniform where they fit."""
    width = rng.integers(0, min(max_width, size) + 1, size=(n, count))
    start = np.floor(rng.random((n, count)) * (size - width + 1)).astype(np.int64)
    return start, width


def _mask(start: np.ndarray, width: np.ndarray, size: int) -> np.ndarray:
    """(n, size) booleans: True inside any of each row's ranges."""
    pos = np.arange(size)[None, None, :]
    return ((pos >= start[..., None]) & (pos < (start + width)[..., None])).any(axis=1)


class SpecAugment(Augmentation):
    """SpecAugment's masking (Park et al., 2019): ``n_freq`` bands of up to ``freq_mask`` consecutive bins and
    ``n_time`` spans of up to ``time_mask`` consecutive frames per example set to ``fill`` (default: each
    example's mean, which is 0 for standardised features). Input (N, ..., bins, frames)."""

    def __init__(self, freq_mask: int = 8, time_mask: int = 10, n_freq: int = 1, n_time: int = 1,
                 fill: float | None = None):
        if min(freq_mask, time_mask, n_freq, n_time) < 0:
            raise ValueError("SpecAugment: mask widths and counts must be non-negative")
        self.freq_mask, self.time_mask, self.n_freq, self.n_time, self.fill = \
            int(freq_mask), int(time_mask), int(n_freq), int(n_time), fill

    def apply(self, x: np.ndarray) -> np.ndarray:
        if x.ndim < 3:
            raise ValueError(f"SpecAugment: expected a batch of spectrograms (N, ..., bins, frames), got shape "
                             f"{x.shape}")
        rng = generator()
        n, bins, frames = x.shape[0], x.shape[-2], x.shape[-1]
        fmask = _mask(*_ranges(rng, n, self.n_freq, self.freq_mask, bins), bins)       # (N, bins)
        tmask = _mask(*_ranges(rng, n, self.n_time, self.time_mask, frames), frames)   # (N, frames)
        mask = fmask[:, :, None] | tmask[:, None, :]                                    # (N, bins, frames)
        mask = mask.reshape((n,) + (1,) * (x.ndim - 3) + (bins, frames))
        fill = (x.mean(axis=tuple(range(1, x.ndim)), keepdims=True) if self.fill is None
                else np.asarray(self.fill, x.dtype))
        return np.where(mask, fill, x).astype(x.dtype, copy=False)


class FrequencyWarp(Augmentation):
    """Vocal-tract-length perturbation on spectrograms (after Jaitly & Hinton, 2013): each example's frequency
    axis stretched by a factor drawn uniformly in ``factor`` (with probability ``p``; else left alone), as a
    longer or shorter vocal tract would move every formant. Bin ``b`` of the output is the input read at bin
    ``b / alpha`` (linear interpolation; past the last bin, the last bin), so ``alpha > 1`` moves energy up.
    On mel bands this scales the mel index, close to a frequency scaling below 1 kHz and a shift above it.
    Input (N, ..., bins, frames).

    >>> x = np.arange(5, dtype=np.float32)[None, :, None]          # one example, 5 bins, 1 frame
    >>> FrequencyWarp((2.0, 2.0))(x)[0, :, 0]
    array([0. , 0.5, 1. , 1.5, 2. ], dtype=float32)
    """

    def __init__(self, factor: Sequence[float] = (0.9, 1.1), p: float = 1.0):
        lo, hi = (float(v) for v in factor)
        if not 0 < lo <= hi or not 0 <= p <= 1:
            raise ValueError(f"FrequencyWarp: factor must be (low, high) with 0 < low <= high and p in [0, 1], got "
                             f"{factor}, {p}")
        self.factor, self.p = (lo, hi), float(p)

    def apply(self, x: np.ndarray) -> np.ndarray:
        if x.ndim < 3:
            raise ValueError(f"FrequencyWarp: expected a batch of spectrograms (N, ..., bins, frames), got shape "
                             f"{x.shape}")
        rng = generator()
        n, bins = x.shape[0], x.shape[-2]
        alpha = rng.uniform(*self.factor, size=n)
        alpha = np.where(rng.random(n) < self.p, alpha, 1.0)
        src = np.minimum(np.arange(bins)[None, :] / alpha[:, None], bins - 1)       # (N, bins)
        lo = np.floor(src).astype(np.int64)
        hi = np.minimum(lo + 1, bins - 1)
        w = (src - lo).astype(x.dtype)
        shape = (n,) + (1,) * (x.ndim - 3) + (bins, 1)
        take = lambda idx: np.take_along_axis(x, np.broadcast_to(idx.reshape(shape), x.shape[:-1] + (1,)),  # noqa: E731
                                              axis=-2)
        w = w.reshape(shape)
        return (take(lo) * (1 - w) + take(hi) * w).astype(x.dtype, copy=False)


class AddNoise(Augmentation):
    """Gaussian noise at a signal-to-noise ratio drawn per example uniformly in ``snr_db`` (dB, against each
    example's mean power), with probability ``p``. For waveforms (N, samples), or any (N, ...) array."""

    def __init__(self, snr_db: Sequence[float] = (10.0, 30.0), p: float = 0.5):
        lo, hi = (float(v) for v in snr_db)
        if lo > hi or not 0 <= p <= 1:
            raise ValueError(f"AddNoise: snr_db must be (low, high) with low <= high and p in [0, 1], got {snr_db}, {p}")
        self.snr_db, self.p = (lo, hi), float(p)

    def apply(self, x: np.ndarray) -> np.ndarray:
        rng = generator()
        n = x.shape[0]
        axes = tuple(range(1, x.ndim))
        power = (x.astype(np.float64) ** 2).mean(axis=axes)
        snr = rng.uniform(*self.snr_db, size=n)
        scale = np.sqrt(power / 10 ** (snr / 10)) * (rng.random(n) < self.p)
        noise = rng.standard_normal(x.shape).astype(x.dtype)
        return x + noise * scale.reshape((n,) + (1,) * (x.ndim - 1)).astype(x.dtype)


class TimeShift(Augmentation):
    """Shift each example along its last axis (samples, or frames) by a whole number drawn uniformly in
    [-max_shift, max_shift], filling what is shifted in with ``fill`` (a roll with ``roll=True``)."""

    def __init__(self, max_shift: int, fill: float = 0.0, roll: bool = False):
        if max_shift < 0:
            raise ValueError(f"TimeShift: max_shift must be non-negative, got {max_shift}")
        self.max_shift, self.fill, self.roll = int(max_shift), float(fill), bool(roll)

    def apply(self, x: np.ndarray) -> np.ndarray:
        n, length = x.shape[0], x.shape[-1]
        shift = generator().integers(-self.max_shift, self.max_shift + 1, size=n)
        src = np.arange(length)[None, :] - shift[:, None]                               # (N, length)
        inside = (src >= 0) & (src < length)
        idx = np.mod(src, length) if self.roll else np.clip(src, 0, length - 1)
        shape = (n,) + (1,) * (x.ndim - 2) + (length,)
        out = np.take_along_axis(x, np.broadcast_to(idx.reshape(shape), x.shape), axis=-1)
        if not self.roll:
            out = np.where(inside.reshape(shape), out, np.asarray(self.fill, x.dtype))
        return out.astype(x.dtype, copy=False)


class Chain(Augmentation):
    """Augmentations applied one after the other."""

    def __init__(self, steps: Sequence[Callable[[Any], Any]]):
        self.steps = list(steps)

    def apply(self, x: np.ndarray) -> np.ndarray:
        for step in self.steps:
            x = step(x)
        return x
