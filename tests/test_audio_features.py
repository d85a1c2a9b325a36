"""lucidnet.audio's features against librosa (a test-only dependency) on speech and random signals.

Tolerances, relative to the largest value: 1e-9 for float64 STFTs, filterbanks and deltas (the same formulas; only
the order of sums differs); 1e-6 for mel spectrograms, log-mels and MFCCs of float64 signals (librosa applies a
float32 filterbank to them); float32 inputs to 1e-4 (spectra) and 1e-3 dB (log-mels, MFCCs)."""
import numpy as np
import pytest

from lucidnet.audio import (delta, log_mel_spectrogram, mel_filterbank, mel_spectrogram, mfcc, power_to_db, stft,
                            with_deltas)

librosa = pytest.importorskip("librosa")

RNG = np.random.default_rng(0)
SIGNALS = {"noise": RNG.standard_normal(4000), "chirp": np.sin(2 * np.pi * np.cumsum(np.linspace(100, 3500, 5000)) /
                                                                 8000) * np.hanning(5000)}


def close(a, b, rtol):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    scale = max(np.abs(b).max(), 1e-12)
    assert np.abs(a - b).max() <= rtol * scale, np.abs(a - b).max() / scale


@pytest.mark.parametrize("name", sorted(SIGNALS))
@pytest.mark.parametrize("n_fft,hop,win,center", [(256, 80, None, True), (200, 64, 160, True), (512, 128, None, False)])
def test_stft_matches_librosa(name, n_fft, hop, win, center):
    y = SIGNALS[name]
    ref = librosa.stft(y, n_fft=n_fft, hop_length=hop, win_length=win, center=center)
    close(stft(y, n_fft, hop, win, center), ref, 1e-9)
    close(stft(y.astype(np.float32), n_fft, hop, win, center), ref, 1e-4)
    assert stft(y.astype(np.float32), n_fft, hop).dtype == np.complex64


@pytest.mark.parametrize("htk", [False, True])
@pytest.mark.parametrize("sr,n_fft,n_mels,fmin,fmax", [(8000, 256, 40, 0.0, None), (16000, 512, 64, 20.0, 7600.0),
                                                       (22050, 2048, 128, 0.0, None)])
def test_mel_filterbank_matches_librosa(htk, sr, n_fft, n_mels, fmin, fmax):
    ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, dtype=np.float64)
    close(mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk, dtype=np.float64), ref, 1e-9)
    ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=None)
    close(mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk, norm=None), ref, 1e-5)


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_log_mel_and_mfcc_match_librosa(name):
    y = SIGNALS[name]
    kw = dict(n_fft=256, hop_length=80, n_mels=40)
    close(mel_spectrogram(y, 8000, **kw), librosa.feature.melspectrogram(y=y, sr=8000, **kw), 1e-6)
    ref_db = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=8000, **kw))
    close(log_mel_spectrogram(y, 8000, **kw), ref_db, 1e-6)
    got32 = log_mel_spectrogram(y.astype(np.float32), 8000, **kw)
    assert got32.dtype == np.float32 and np.abs(got32 - ref_db).max() < 1e-3
    for lifter in (0, 22):
        ref = librosa.feature.mfcc(y=y, sr=8000, n_mfcc=13, lifter=lifter, **kw)
        close(mfcc(y, 8000, n_mfcc=13, lifter=lifter, **kw), ref, 1e-6)
        assert np.abs(mfcc(y.astype(np.float32), 8000, n_mfcc=13, lifter=lifter, **kw) - ref).max() < 1e-3


def test_power_to_db_matches_librosa():
    s = RNG.random((3, 10, 20)) ** 4
    for top_db in (80.0, 20.0, None):
        ref = np.stack([librosa.power_to_db(si, ref=1.0, top_db=top_db) for si in s])
        close(power_to_db(s, top_db=top_db), ref, 1e-12)


@pytest.mark.parametrize("width,order", [(9, 1), (9, 2), (3, 1), (5, 2), (7, 3)])
def test_delta_matches_librosa(width, order):
    x = RNG.standard_normal((2, 13, 30))
    close(delta(x, width, order), librosa.feature.delta(x, width=width, order=order), 1e-9)
    close(delta(x, width, order, axis=1), librosa.feature.delta(x, width=width, order=order, axis=1), 1e-9)


def test_batches_are_the_rows_features():
    ys = np.stack([SIGNALS["noise"][:4000], SIGNALS["chirp"][:4000]]).astype(np.float32)
    batch = log_mel_spectrogram(ys, 8000, n_fft=256, hop_length=80, n_mels=40)
    for y, b in zip(ys, batch):
        np.testing.assert_allclose(log_mel_spectrogram(y, 8000, n_fft=256, hop_length=80, n_mels=40), b, atol=1e-4)
    assert with_deltas(batch[:, :13]).shape == (2, 39, 51)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="n_fft"):
        stft(np.zeros(100), n_fft=256, center=False)
    with pytest.raises(ValueError, match="fewer than width"):
        delta(np.zeros((3, 4)), width=9)
    with pytest.raises(ValueError, match="fmax"):
        mel_filterbank(8000, 256, 40, fmax=6000)
    with pytest.raises(TypeError, match="float"):
        stft(np.zeros(1000, np.int16))
