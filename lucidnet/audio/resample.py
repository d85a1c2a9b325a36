"""Resampling: polyphase filtering (``scipy.signal.resample_poly``: upsample by ``up``, low-pass with a Kaiser
window FIR, downsample by ``down``, where ``up/down`` is the rate ratio in lowest terms) when both terms are at most
``MAX_POLYPHASE`` (every common pair of rates: 44100 -> 8000 is 80/441), else FFT resampling
(``scipy.signal.resample``), whose memory is that of the signal rather than of a filter of ``20 max(up, down)`` taps.
It needs SciPy; without it a rate change is an error that says so."""
from __future__ import annotations

import math

import numpy as np

__all__ = ["resample", "MAX_POLYPHASE"]

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
