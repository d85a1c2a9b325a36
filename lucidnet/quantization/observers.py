"""Observers: what static quantization learns about each quantized layer's input from calibration batches, turned
into a uint8 scale and zero point (``qparams``; the range always holds 0).

- ``MinMaxObserver``: the smallest and largest value seen;
- ``PercentileObserver(percentile=99.99)``: the range between the (100 - p)th and pth percentiles of the values
  seen (outliers clipped);
- ``HistogramObserver`` (entropy): the clipping threshold that minimises the KL divergence between the
  histogram of the values and its 128-level quantized version (TensorRT's calibration), on ``|x|``
  (symmetric range) or, for non-negative inputs (after a ReLU), on ``x`` with the range ``[0, t]``.

Percentile and histogram observers keep a uniform sample of at most ``max_samples`` values per layer.

>>> import numpy as np
>>> o = MinMaxObserver()
>>> o.observe(np.array([-1.0, 3.0], np.float32))
>>> o.qparams()
(0.01568627543747425, 64)
"""
from __future__ import annotations

import numpy as np

from ..kernels.qlinear import activation_qparams

__all__ = ["Observer", "MinMaxObserver", "PercentileObserver", "HistogramObserver", "OBSERVERS", "make_observer"]


class Observer:
    """Base: ``observe(array)`` per calibration batch, then ``qparams() -> (scale, zero_point)``."""

    def __init__(self) -> None:
        self.count = 0

    def observe(self, x: np.ndarray) -> None:
        raise NotImplementedError

    def range(self) -> tuple[float, float]:
        raise NotImplementedError

    def qparams(self) -> tuple[float, int]:
        if not self.count:
            raise ValueError(f"{type(self).__name__}: no calibration data reached this layer")
        return activation_qparams(*self.range())


class MinMaxObserver(Observer):
    def __init__(self) -> None:
        super().__init__()
        self.lo, self.hi = np.inf, -np.inf

    def observe(self, x: np.ndarray) -> None:
        if x.size:
            self.lo, self.hi = min(self.lo, float(x.min())), max(self.hi, float(x.max()))
            self.count += x.size

    def range(self) -> tuple[float, float]:
        return self.lo, self.hi


class _Sampling(Observer):
    """Keeps a uniform sample (at most ``max_samples`` values) of everything observed."""

    def __init__(self, max_samples: int = 1 << 20, seed: int = 0) -> None:
        super().__init__()
        self.max_samples, self.rng = int(max_samples), np.random.default_rng(seed)
        self.parts: list[np.ndarray] = []
        self.kept = 0
        self.lo, self.hi = np.inf, -np.inf

    def observe(self, x: np.ndarray) -> None:
        v = np.asarray(x, dtype=np.float32).ravel()
        if not v.size:
            return
        self.lo, self.hi = min(self.lo, float(v.min())), max(self.hi, float(v.max()))
        self.count += v.size
        # keep each value with the probability that a uniform sample of max_samples over everything seen has
        take = min(1.0, self.max_samples / self.count)
        if take < 1.0:
            v = v[self.rng.random(v.size) < take]
            if self.kept + v.size > self.max_samples:
                joined = np.concatenate(self.parts + [v])
                self.parts = [self.rng.choice(joined, self.max_samples, replace=False)]
                self.kept = self.max_samples
                return
        self.parts.append(v.copy())
        self.kept += v.size

    def values(self) -> np.ndarray:
        return np.concatenate(self.parts) if self.parts else np.zeros(0, np.float32)


class PercentileObserver(_Sampling):
    def __init__(self, percentile: float = 99.99, max_samples: int = 1 << 20, seed: int = 0) -> None:
        if not 50 < percentile <= 100:
            raise ValueError(f"PercentileObserver: percentile must be in (50, 100], got {percentile}")
        super().__init__(max_samples, seed)
        self.percentile = float(percentile)

    def range(self) -> tuple[float, float]:
        v = self.values()
        return float(np.percentile(v, 100 - self.percentile)), float(np.percentile(v, self.percentile))


class HistogramObserver(_Sampling):
    BINS, LEVELS = 2048, 128

    def range(self) -> tuple[float, float]:
        v = self.values()
        one_sided = self.lo >= 0
        a = v if one_sided else np.abs(v)
        top = float(a.max()) if a.size else 0.0
        if top == 0.0:
            return 0.0, 0.0
        hist, _ = np.histogram(a, bins=self.BINS, range=(0.0, top))
        t = (self._threshold(hist.astype(np.float64)) + 0.5) * top / self.BINS
        return (0.0, t) if one_sided else (-t, t)

    def _threshold(self, hist: np.ndarray) -> int:
        """The bin index whose upper edge, as the clipping threshold, minimises KL(P || Q)."""
        best, best_i = np.inf, len(hist) - 1
        levels = self.LEVELS
        for i in range(levels, len(hist) + 1, 16):
            p = hist[:i].copy()
            p[i - 1] += hist[i:].sum()                  # the clipped outliers land in the last bin
            # Q: the first i bins merged into `levels` groups, each group's mass spread over its non-empty bins
            edges = np.linspace(0, i, levels + 1).astype(int)
            q = np.zeros(i)
            for g in range(levels):
                s, e = edges[g], edges[g + 1]
                nz = hist[s:e] > 0
                if nz.any():
                    q[s:e][nz] = hist[s:e].sum() / nz.sum()
            mask = p > 0
            pn, qn = p / p.sum(), q / max(q.sum(), 1e-30)
            if np.any(qn[mask] == 0):
                continue
            kl = float(np.sum(pn[mask] * np.log(pn[mask] / qn[mask])))
            if kl < best:
                best, best_i = kl, i - 1
        return best_i


OBSERVERS = {"minmax": MinMaxObserver, "percentile": PercentileObserver, "entropy": HistogramObserver}


def make_observer(name: str) -> Observer:
    """An observer by name: ``"minmax"``, ``"percentile"`` (99.99) or ``"entropy"`` (the histogram's KL)."""
    if name not in OBSERVERS:
        raise ValueError(f"unknown observer {name!r}; one of {', '.join(OBSERVERS)}")
    return OBSERVERS[name]()
