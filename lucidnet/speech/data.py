"""FSDD as the speech recipes use it: the recordings of a split read as waveforms, a validation set carved from
the training recordings, log-mel features, and connected-digit utterances.

Features (``FEATURES``, recorded in a run's config): 40 log-mel bands (Slaney mel scale up to 4 kHz) of 32 ms
Hann windows every 16 ms, in dB below each utterance's loudest bin (floored at -80 dB), then standardised with
the training set's mean and std. An isolated digit is centred in a 1 s window (a longer one keeps its loudest
second), so every example has 63 frames.

Connected digits (:func:`connected_digits`): an utterance of 2-7 digits is clips of the same split joined with
random silences (50-300 ms, and 100-300 ms at both ends), scaled by a random gain and mixed with white noise at
25-40 dB SNR, all drawn from one seeded generator: a split's utterances use only that split's recordings. With
``speeds`` (the training utterances' speed perturbation), each clip is first played at a speed drawn from them.

>>> waves = [np.ones(800, np.float32) * d for d in range(3)]
>>> utts = connected_digits(waves, [0, 1, 2], 4, seed=0, max_digits=3)
>>> [len(u.digits) for u in utts], all(len(u.sources) == len(u.digits) for u in utts)
([3, 2, 3, 3], True)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..audio import change_speed, log_mel_spectrogram
from ..data import holdout
from ..datasets.fsdd import FSDD, SAMPLE_RATE, Recording

__all__ = ["FEATURES", "Split", "load_split", "fit_length", "log_mels", "standardise", "Utterance",
           "connected_digits", "frames_of"]

FEATURES: dict[str, Any] = {"sample_rate": SAMPLE_RATE, "n_fft": 256, "hop_length": 128, "n_mels": 40,
                            "fmin": 0.0, "fmax": 4000.0, "top_db": 80.0, "clip_seconds": 1.0}


@dataclass
class Split:
    """The waveforms and digits of a split's training, validation and test recordings (and the recordings)."""

    train: list[np.ndarray]
    train_digits: np.ndarray
    val: list[np.ndarray]
    val_digits: np.ndarray
    test: list[np.ndarray]
    test_digits: np.ndarray
    recordings: dict[str, list[Recording]]


def load_split(root: Any, split: str, val_split: float, seed: int, sample_rate: int = SAMPLE_RATE) -> Split:
    """FSDD's ``split`` (``official`` or ``speaker:NAME``) read from ``root``; ``val_split`` of the training
    recordings (stratified by digit, drawn with ``seed``) held out for validation."""
    fsdd = FSDD(root)
    train, test = fsdd.split(split)
    keep, held = holdout(len(train), val_split, seed, stratify=np.array([r.digit for r in train]),
                         what="training recordings") if val_split else (np.arange(len(train)), np.zeros(0, int))
    fit, val = [train[i] for i in keep], [train[i] for i in held]
    digits = lambda rs: np.array([r.digit for r in rs], dtype=np.int64)  # noqa: E731
    return Split(fsdd.read(fit, sample_rate), digits(fit), fsdd.read(val, sample_rate), digits(val),
                 fsdd.read(test, sample_rate), digits(test), {"train": fit, "val": val, "test": test})


def fit_length(x: np.ndarray, n: int) -> np.ndarray:
    """``x`` centred in ``n`` samples of silence, or, when longer, its ``n`` consecutive samples of most energy.

    >>> fit_length(np.array([1., 2.], np.float32), 4), fit_length(np.array([0., 5., 5., 0.], np.float32), 2)
    (array([0., 1., 2., 0.], dtype=float32), array([5., 5.], dtype=float32))
    """
    if len(x) <= n:
        out = np.zeros(n, np.float32)
        start = (n - len(x)) // 2
        out[start:start + len(x)] = x
        return out
    energy = np.concatenate([[0.0], np.cumsum(x.astype(np.float64) ** 2)])
    start = int(np.argmax(energy[n:] - energy[:-n]))
    return np.ascontiguousarray(x[start:start + n], dtype=np.float32)


def frames_of(samples: int, features: dict = FEATURES) -> int:
    """The log-mel frames of ``samples`` samples (centred frames: one per hop, plus one)."""
    return 1 + samples // features["hop_length"]


def log_mels(waves: Sequence[np.ndarray] | np.ndarray, features: dict = FEATURES, length: int | None = None,
             batch: int = 256) -> np.ndarray:
    """(N, 1, n_mels, frames) float32 log-mels (dB below each utterance's peak) of waveforms, each first fitted to
    ``length`` samples (:func:`fit_length`; None: ``clip_seconds`` of the features)."""
    f = features
    length = int(round(f["clip_seconds"] * f["sample_rate"])) if length is None else int(length)
    out = np.empty((len(waves), 1, f["n_mels"], frames_of(length, f)), np.float32)
    for s in range(0, len(waves), batch):
        x = np.stack([fit_length(np.asarray(w, np.float32), length) for w in waves[s:s + batch]])
        db = log_mel_spectrogram(x, f["sample_rate"], top_db=f["top_db"], n_fft=f["n_fft"],
                                 hop_length=f["hop_length"], n_mels=f["n_mels"], fmin=f["fmin"], fmax=f["fmax"])
        out[s:s + batch, 0] = db - db.max(axis=(1, 2), keepdims=True)
    return out


def standardise(x: np.ndarray, stats: dict) -> np.ndarray:
    """``(x - mean) / std`` with a run's recorded statistics, float32."""
    return ((x - np.float32(stats["mean"])) / np.float32(stats["std"])).astype(np.float32, copy=False)


@dataclass
class Utterance:
    """A connected-digit utterance: its samples, its digits, and the recordings (indices) it was built from."""

    audio: np.ndarray
    digits: list[int]
    sources: list[int]


def connected_digits(waves: Sequence[np.ndarray], digits: Sequence[int], count: int, seed: int,
                     min_digits: int = 2, max_digits: int = 7, gap: tuple[float, float] = (0.05, 0.3),
                     edge: tuple[float, float] = (0.1, 0.3), snr_db: tuple[float, float] = (25.0, 40.0),
                     sample_rate: int = SAMPLE_RATE, speeds: Sequence[float] = ()) -> list[Utterance]:
    """``count`` utterances of ``min_digits`` to ``max_digits`` clips drawn from ``waves`` (spoken ``digits``),
    joined as the module's docstring says, each clip played at a speed drawn from ``speeds`` when given
    (``change_speed``); the same ``seed`` gives the same utterances."""
    if not 1 <= min_digits <= max_digits or not len(waves) or len(waves) != len(digits):
        raise ValueError(f"connected_digits: need 1 <= min_digits <= max_digits and one digit per clip; got "
                         f"{min_digits}..{max_digits} digits, {len(waves)} clips, {len(digits)} digits")
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        k = int(rng.integers(min_digits, max_digits + 1))
        picks = rng.integers(0, len(waves), size=k)
        pieces = [np.zeros(int(rng.uniform(*edge) * sample_rate), np.float32)]
        for j, i in enumerate(picks):
            w = np.asarray(waves[i], np.float32)
            if len(speeds):
                w = change_speed(w, float(rng.choice(np.asarray(speeds, np.float64))), sample_rate)
            peak = max(float(np.abs(w).max()), 1e-6)
            pieces.append(w / peak * np.float32(rng.uniform(0.3, 0.9)))
            span = edge if j == k - 1 else gap
            pieces.append(np.zeros(int(rng.uniform(*span) * sample_rate), np.float32))
        audio = np.concatenate(pieces)
        power = float((audio.astype(np.float64) ** 2).mean())
        noise = rng.standard_normal(len(audio)) * np.sqrt(power / 10 ** (rng.uniform(*snr_db) / 10))
        out.append(Utterance((audio + noise).astype(np.float32), [int(digits[i]) for i in picks],
                             [int(i) for i in picks]))
    return out
