"""Audio: reading files (``read_audio``: WAV, and what ``soundfile`` reads; mono, resampled), spectral features
(STFT, mel filterbank, log-mel spectrogram, MFCC, deltas; librosa's definitions), per-band mean and variance
normalisation (``cmvn``) and augmentation (SpecAugment, vocal-tract-length perturbation, speed perturbation,
additive noise, time shifts). Data preparation, below training: it knows no layer and no model.

>>> from lucidnet.audio import log_mel_spectrogram
>>> log_mel_spectrogram(np.zeros(8000, np.float32), 8000, n_fft=256, hop_length=80, n_mels=40).shape
(40, 101)
"""
import numpy as np

from .augment import AddNoise, Augmentation, Chain, FrequencyWarp, SpecAugment, TimeShift
from .features import (delta, dct_matrix, hz_to_mel, log_mel_spectrogram, mel_filterbank, mel_spectrogram, mel_to_hz,
                       mfcc, power_spectrogram, power_to_db, stft, with_deltas)
from .normalise import cmvn
from .resample import change_speed, resample
from .wav import AudioError, backend, read_audio, wav_info, write_wav

__all__ = ["read_audio", "write_wav", "wav_info", "AudioError", "backend", "resample", "change_speed", "stft",
           "power_spectrogram", "hz_to_mel", "mel_to_hz", "mel_filterbank", "mel_spectrogram", "power_to_db", "log_mel_spectrogram",
           "dct_matrix", "mfcc", "delta", "with_deltas", "cmvn", "SpecAugment", "FrequencyWarp", "AddNoise",
           "TimeShift", "Chain", "Augmentation"]
