"""Resampling: polyphase filtering (``scipy.signal.resample_poly``: upsample by ``up``, low-pass with a Kaiser
window FIR, downsample by ``down``, where ``up/down`` is the rate ratio in lowest terms) when both terms are at most
``MAX_POLYPHASE`` (every common pair of rates: 44100 -> 8000 is 80/441), else FFT resampling
(``scipy.signal.resample``), whose memory is that of the signal rather than of a filter of ``20 max(up, down)`` taps.
It needs SciPy; without it a rate change is an error that says so.

``change_speed`` plays a signal faster or slower (speed perturbation, Ko et al., 2015): resampling it as if it
had been recorded at ``factor`` times its rate, which shortens it by ``factor`` and raises every frequency, pitch
and formants alike, by ``factor``."""
from __future__ import annotations

import math

import numpy as np

__all__ = ["resample", "change_speed", "MAX_POLYPHASE"]

MAX_POLYPHASE = 1000


def resample(x: np.ndarray, orig_rate: int, target_rate: int, axis: int = -1) -> np.ndarray:
    """``x`` sampled at ``orig_rate`` Hz, resampled to ``target_rate`` Hz along ``axis`` (float32 out).

    >>> resample(np.ones(16000, np.float32), 16000, 8000).shape
    (8000,)
    """
    orig_rate, target_rate = int(orig_rate), int(target_rate)
    if orig_rate < 1 or target_rate < 1:
        raise ValueError(f"resample: rates must be positive, got {orig_rate} Hz -> {target_rate} Hz")
    if orig_rate == target_rate:
        return np.asarray(x, dtype=np.float32)
    try:
        from scipy.signal import resample as resample_fft
        from scipy.signal import resample_poly
    except ImportError:
        raise ImportError(f"resampling {orig_rate} Hz audio to {target_rate} Hz needs scipy (pip install scipy), "
                          "or give files at the model's rate") from None
    x = np.asarray(x, dtype=np.float32)
    g = math.gcd(orig_rate, target_rate)
    up, down = target_rate // g, orig_rate // g
    if max(up, down) <= MAX_POLYPHASE:
        return resample_poly(x, up, down, axis=axis).astype(np.float32, copy=False)
    n = int(math.ceil(x.shape[axis] * target_rate / orig_rate))
    return resample_fft(x, n, axis=axis).astype(np.float32, copy=False)


def change_speed(x: np.ndarray, factor: float, sample_rate: int, axis: int = -1) -> np.ndarray:
    """``x`` (at ``sample_rate`` Hz) played ``factor`` times as fast: ``len / factor`` samples, every frequency
    times ``factor`` (float32 out). The rate ratio is ``round(sample_rate * factor) / sample_rate``; factors
    such as 0.9 and 1.1 keep it a short fraction, so polyphase filtering does it.

    >>> x = np.ones(8000, np.float32)
    >>> change_speed(x, 1.1, 8000).shape, change_speed(x, 0.9, 8000).shape
    ((7273,), (8889,))
    """
    if not factor > 0:
        raise ValueError(f"change_speed: factor must be positive, got {factor}")
    return resample(x, int(round(sample_rate * factor)), int(sample_rate), axis=axis)
