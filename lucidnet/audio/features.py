"""Spectral features of audio, vectorised in NumPy, with librosa's definitions and defaults (``tests/test_audio
_features.py`` checks them against librosa): the STFT, a mel filterbank, the (log-)mel spectrogram, MFCCs and
their deltas. Every function takes signals of any leading shape ``(..., samples)`` and returns
``(..., bins, frames)``: frequency bins (or mel bands, or coefficients) by frames, as librosa does.

>>> x = np.sin(2 * np.pi * 440 * np.arange(8000) / 8000).astype(np.float32)
>>> stft(x, n_fft=256, hop_length=80).shape
(129, 101)
>>> log_mel_spectrogram(x, 8000, n_fft=256, hop_length=80, n_mels=40).shape
(40, 101)
>>> m = mfcc(x, 8000, n_mfcc=13, n_fft=256, hop_length=80, n_mels=40)
>>> with_deltas(m).shape
(39, 101)
"""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["stft", "power_spectrogram", "hz_to_mel", "mel_to_hz", "mel_filterbank", "mel_spectrogram",
           "power_to_db", "log_mel_spectrogram", "dct_matrix", "mfcc", "delta", "with_deltas"]


def _hann(n: int) -> np.ndarray:
    """The periodic Hann window (``scipy.signal.get_window("hann", n)``, librosa's default)."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float64)


def stft(y: np.ndarray, n_fft: int = 2048, hop_length: int | None = None, win_length: int | None = None,
         center: bool = True, pad_mode: str = "constant") -> np.ndarray:
    """The short-time Fourier transform of ``y`` (..., samples) with a periodic Hann window of ``win_length``
    (default ``n_fft``, zero-padded to ``n_fft`` in the middle), every ``hop_length`` samples (default
    ``win_length // 4``); ``center`` pads ``n_fft // 2`` samples on both sides (``pad_mode``: ``"constant"``
    zeros, or ``"reflect"``) so frame ``t`` is centred on sample ``t * hop_length``. Returns complex64
    (complex128 for float64 input) of shape (..., 1 + n_fft // 2, frames)."""
    y = np.asarray(y)
    if y.dtype.kind != "f":
        raise TypeError(f"stft: expected float samples, got {y.dtype}")
    win_length = n_fft if win_length is None else int(win_length)
    hop_length = win_length // 4 if hop_length is None else int(hop_length)
    if n_fft < 1 or hop_length < 1 or not 1 <= win_length <= n_fft:
        raise ValueError(f"stft: need n_fft >= 1, hop_length >= 1 and 1 <= win_length <= n_fft; got n_fft={n_fft}, "
                         f"hop_length={hop_length}, win_length={win_length}")
    if center:
        if pad_mode not in ("constant", "reflect"):
            raise ValueError(f"stft: pad_mode must be 'constant' or 'reflect', got {pad_mode!r}")
        widths = [(0, 0)] * (y.ndim - 1) + [(n_fft // 2, n_fft // 2)]
        y = np.pad(y, widths, mode=pad_mode)
    if y.shape[-1] < n_fft:
        raise ValueError(f"stft: a signal of {y.shape[-1]} samples is shorter than n_fft={n_fft}")
    window = np.zeros(n_fft)
    start = (n_fft - win_length) // 2
    window[start:start + win_length] = _hann(win_length)
    frames = sliding_window_view(y, n_fft, axis=-1)[..., ::hop_length, :]        # (..., frames, n_fft)
    out = np.fft.rfft(frames * window.astype(y.dtype), axis=-1)                     # (..., frames, bins)
    out = out.astype(np.complex64 if y.dtype == np.float32 else np.complex128, copy=False)
    return np.swapaxes(out, -1, -2)


def power_spectrogram(y: np.ndarray, n_fft: int = 2048, hop_length: int | None = None,
                      win_length: int | None = None, center: bool = True, pad_mode: str = "constant",
                      power: float = 2.0) -> np.ndarray:
    """``|stft(y)| ** power`` (2: power, 1: magnitude), in ``y``'s float dtype."""
    s = np.abs(stft(y, n_fft, hop_length, win_length, center, pad_mode))
    return s ** power if power != 1 else s


def hz_to_mel(f: np.ndarray | float, htk: bool = False) -> np.ndarray:
    """Hertz to mels: HTK's ``2595 log10(1 + f/700)``, or Slaney's (linear below 1 kHz, logarithmic above;
    librosa's default)."""
    f = np.asarray(f, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, math.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, min_log_hz) / min_log_hz) / logstep,
                    f / f_sp)


def mel_to_hz(m: np.ndarray | float, htk: bool = False) -> np.ndarray:
    """Mels to hertz, the inverse of :func:`hz_to_mel`."""
    m = np.asarray(m, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, math.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


def mel_filterbank(sr: int, n_fft: int, n_mels: int = 128, fmin: float = 0.0, fmax: float | None = None,
                   htk: bool = False, norm: str | None = "slaney", dtype=np.float32) -> np.ndarray:
    """(n_mels, 1 + n_fft // 2) triangular filters, their centres evenly spaced in mels from ``fmin`` to
    ``fmax`` (default ``sr / 2``); ``norm="slaney"`` scales each to unit area (``librosa.filters.mel``)."""
    fmax = sr / 2.0 if fmax is None else float(fmax)
    if n_mels < 1 or not 0 <= fmin < fmax <= sr / 2.0 + 1e-9:
        raise ValueError(f"mel_filterbank: need n_mels >= 1 and 0 <= fmin < fmax <= sr/2 = {sr / 2}; got "
                         f"n_mels={n_mels}, fmin={fmin}, fmax={fmax}")
    if norm not in ("slaney", None):
        raise ValueError(f"mel_filterbank: norm must be 'slaney' or None, got {norm!r}")
    fft_freqs = np.linspace(0, sr / 2.0, 1 + n_fft // 2)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(fmin, htk), hz_to_mel(fmax, htk), n_mels + 2), htk)
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    if norm == "slaney":
        weights *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]
    return weights.astype(dtype)


def mel_spectrogram(y: np.ndarray, sr: int, n_fft: int = 2048, hop_length: int | None = None,
                    win_length: int | None = None, center: bool = True, pad_mode: str = "constant",
                    power: float = 2.0, n_mels: int = 128, fmin: float = 0.0, fmax: float | None = None,
                    htk: bool = False, norm: str | None = "slaney") -> np.ndarray:
    """The mel filterbank applied to the power spectrogram: (..., n_mels, frames)."""
    s = power_spectrogram(y, n_fft, hop_length, win_length, center, pad_mode, power)
    fb = mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk, norm, dtype=s.dtype)
    return np.matmul(fb, s)


def power_to_db(s: np.ndarray, ref: float = 1.0, amin: float = 1e-10, top_db: float | None = 80.0) -> np.ndarray:
    """``10 log10(max(s, amin) / ref)``, floored at ``top_db`` below the maximum (of each signal: over the last
    two axes) when ``top_db`` is given."""
    s = np.asarray(s)
    if amin <= 0 or (top_db is not None and top_db < 0):
        raise ValueError(f"power_to_db: amin must be positive and top_db non-negative, got {amin}, {top_db}")
    db = 10.0 * np.log10(np.maximum(amin, s)) - 10.0 * np.log10(max(amin, ref))
    if top_db is not None:
        peak = db.max(axis=(-2, -1), keepdims=True) if db.ndim >= 2 else db.max()
        db = np.maximum(db, peak - top_db)
    return db.astype(s.dtype, copy=False)


def log_mel_spectrogram(y: np.ndarray, sr: int, top_db: float | None = 80.0, **kwargs) -> np.ndarray:
    """:func:`power_to_db` of :func:`mel_spectrogram` (``kwargs`` are its settings): decibels, (..., n_mels,
    frames)."""
    return power_to_db(mel_spectrogram(y, sr, **kwargs), top_db=top_db)


def dct_matrix(n_out: int, n_in: int, dtype=np.float64) -> np.ndarray:
    """The orthonormal DCT-II as an (n_out, n_in) matrix (``scipy.fft.dct(..., norm="ortho")``'s first
    ``n_out`` rows)."""
    k, n = np.arange(n_out)[:, None], np.arange(n_in)[None, :]
    m = np.cos(np.pi * k * (2 * n + 1) / (2 * n_in)) * math.sqrt(2.0 / n_in)
    m[0] /= math.sqrt(2.0)
    return m.astype(dtype)


def mfcc(y: np.ndarray, sr: int, n_mfcc: int = 20, top_db: float | None = 80.0, lifter: float = 0.0,
         **kwargs) -> np.ndarray:
    """Mel-frequency cepstral coefficients: the orthonormal DCT-II of the log-mel spectrogram over the mel
    bands, the first ``n_mfcc`` kept, liftered (``1 + lifter/2 sin(pi (k+1) / lifter)``) when ``lifter > 0``:
    (..., n_mfcc, frames)."""
    db = log_mel_spectrogram(y, sr, top_db=top_db, **kwargs)
    if not 1 <= n_mfcc <= db.shape[-2]:
        raise ValueError(f"mfcc: n_mfcc must be in [1, n_mels={db.shape[-2]}], got {n_mfcc}")
    out = np.matmul(dct_matrix(n_mfcc, db.shape[-2], db.dtype), db)
    if lifter > 0:
        li = 1 + (lifter / 2) * np.sin(np.pi * np.arange(1, n_mfcc + 1) / lifter)
        out = out * li.astype(db.dtype)[:, None]
    return out


def _savgol_weights(width: int, order: int) -> np.ndarray:
    """Weights w with ``sum_n w[n] x[t + n - width//2]``: the ``order``-th derivative, at the centre, of the
    degree-``order`` least-squares polynomial through ``width`` samples (a Savitzky-Golay filter)."""
    half = width // 2
    vander = np.arange(-half, half + 1, dtype=np.float64)[:, None] ** np.arange(order + 1)[None, :]
    return math.factorial(order) * np.linalg.pinv(vander)[order]


def delta(data: np.ndarray, width: int = 9, order: int = 1, axis: int = -1) -> np.ndarray:
    """Derivative of ``order`` of ``data`` along ``axis`` (time), by Savitzky-Golay filtering over ``width``
    (odd, >= 3) frames with a polynomial of degree ``order``; at the edges, the derivative of the polynomial fitted
    to the first (last) ``width`` frames (``librosa.feature.delta``'s ``mode="interp"``)."""
    data = np.asarray(data)
    if width < 3 or width % 2 == 0 or order < 1:
        raise ValueError(f"delta: width must be odd and >= 3 and order >= 1, got width={width}, order={order}")
    n = data.shape[axis]
    if n < width:
        raise ValueError(f"delta: {n} frames along axis {axis} are fewer than width={width}")
    x = np.moveaxis(data, axis, -1)
    w = _savgol_weights(width, order).astype(data.dtype)
    inner = sliding_window_view(x, width, axis=-1) @ w                    # (..., n - width + 1)
    half = width // 2
    # the fitted polynomial has degree `order`, so its order-th derivative is one number over the edge window
    out = np.concatenate([np.repeat(inner[..., :1], half, -1), inner, np.repeat(inner[..., -1:], half, -1)], -1)
    return np.moveaxis(out.astype(data.dtype, copy=False), -1, axis)


def with_deltas(features: np.ndarray, width: int = 9, order: int = 2) -> np.ndarray:
    """``features`` (..., bins, frames) stacked with their deltas up to ``order`` along the bins:
    (..., bins * (order + 1), frames)."""
    parts = [features] + [delta(features, width, k, axis=-1) for k in range(1, order + 1)]
    return np.concatenate(parts, axis=-2)
