"""Reading audio files (lucidnet.audio.read_audio) and the augmentations of lucidnet.audio."""
import wave
from pathlib import Path

import numpy as np
import pytest

import lucidnet as ln
from lucidnet.audio import AddNoise, AudioError, SpecAugment, TimeShift, read_audio, resample, wav_info, write_wav
from lucidnet.audio import wav as wav_module

FSDD = Path(__file__).resolve().parents[2] / "shared" / "data" / "fsdd" / "recordings"
BACKENDS = ["soundfile", "wave"]


@pytest.fixture(params=BACKENDS)
def backend(request, monkeypatch):
    if request.param == "soundfile":
        pytest.importorskip("soundfile")
    monkeypatch.setattr(wav_module, "backend", lambda: request.param)
    return request.param


def tone(path, rate=16000, channels=2, seconds=0.1):
    t = np.arange(int(rate * seconds)) / rate
    x = np.stack([0.5 * np.sin(2 * np.pi * 440 * t * (c + 1)) for c in range(channels)], 1)
    write_wav(path, x, rate)
    return x


def test_stereo_is_mixed_down_and_resampled(tmp_path, backend):
    x = tone(tmp_path / "a.wav")
    y, rate = read_audio(tmp_path / "a.wav")
    assert rate == 16000 and y.dtype == np.float32 and y.shape == (1600,)
    np.testing.assert_allclose(y, x.mean(1), atol=1e-4)
    both, _ = read_audio(tmp_path / "a.wav", mono=False)
    assert both.shape == (1600, 2)
    down, rate = read_audio(tmp_path / "a.wav", sample_rate=8000)
    assert rate == 8000 and down.shape == (800,)
    # a 440 Hz + 880 Hz mix stays the same mix at 8 kHz (away from the filter's edges)
    ref = 0.25 * (np.sin(2 * np.pi * 440 * np.arange(800) / 8000) + np.sin(2 * np.pi * 880 * np.arange(800) / 8000))
    assert np.abs(down[100:-100] - ref[100:-100]).max() < 0.01


def test_odd_rate_ratios_resample_by_fft():
    x = np.sin(2 * np.pi * 100 * np.arange(8001) / 8001).astype(np.float32)
    y = resample(x, 8001, 8000)
    assert y.shape == (8000,) and np.abs(y[500:-500] - np.sin(2 * np.pi * 100 * np.arange(8000) / 8000)[500:-500]).max() < 0.01


def test_truncated_wav_is_a_clear_error(tmp_path, backend):
    tone(tmp_path / "a.wav", channels=1)
    data = (tmp_path / "a.wav").read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[:len(data) // 2])
    with pytest.raises(AudioError, match=r"cut\.wav: truncated: the data chunk declares 3200 bytes"):
        read_audio(cut)
    cut.write_bytes(data[:40])
    with pytest.raises(AudioError, match=r"cut\.wav: no 'data' chunk"):
        read_audio(cut)
    cut.write_bytes(data[:-1])   # half a sample missing at the end, the header fixed to match
    fixed = bytearray(data[:-1])
    fixed[40:44] = (3199).to_bytes(4, "little")
    cut.write_bytes(bytes(fixed))
    with pytest.raises(AudioError, match=r"cut\.wav: truncated: 3199 bytes of samples are not a whole number"):
        read_audio(cut)


def test_non_audio_files_are_refused(tmp_path, backend):
    text = tmp_path / "notes.wav"
    text.write_text("these are not samples\n" * 10)
    with pytest.raises(AudioError, match=r"notes\.wav"):
        read_audio(text)
    with pytest.raises(AudioError, match=r"missing\.wav: no such audio file"):
        read_audio(tmp_path / "missing.wav")
    bad = bytearray(tone(tmp_path / "b.wav") is not None and (tmp_path / "b.wav").read_bytes())
    bad[24:28] = (7).to_bytes(4, "little")  # a sample rate of 7 Hz
    (tmp_path / "b.wav").write_bytes(bytes(bad))
    with pytest.raises(AudioError, match=r"b\.wav: invalid WAV format: 2 channels, 7 Hz"):
        read_audio(tmp_path / "b.wav")


def test_the_stdlib_reader_refuses_float_wav(tmp_path, monkeypatch):
    sf = pytest.importorskip("soundfile")
    sf.write(tmp_path / "f.wav", np.zeros(100, np.float32), 8000, subtype="FLOAT")
    assert read_audio(tmp_path / "f.wav")[0].shape == (100,)   # soundfile reads it
    monkeypatch.setattr(wav_module, "backend", lambda: "wave")
    with pytest.raises(AudioError, match=r"f\.wav: WAV format 3 with 32-bit samples needs soundfile"):
        read_audio(tmp_path / "f.wav")


@pytest.mark.skipif(not FSDD.is_dir(), reason="FSDD is not in ../shared/data")
def test_fsdd_file_reads_the_same_with_both_decoders(monkeypatch):
    path = FSDD / "3_theo_7.wav"
    info = wav_info(path)
    assert (info["channels"], info["rate"], info["bits"]) == (1, 8000, 16)
    a, _ = read_audio(path)
    monkeypatch.setattr(wav_module, "backend", lambda: "wave")
    b, _ = read_audio(path)
    np.testing.assert_array_equal(a, b)
    with wave.open(str(path)) as w:
        assert len(a) == w.getnframes()


def test_spec_augment_masks_bands_and_spans():
    ln.manual_seed(1)
    x = np.random.default_rng(0).standard_normal((64, 1, 40, 100)).astype(np.float32)
    y = SpecAugment(freq_mask=10, time_mask=20, fill=np.inf)(x)
    masked = np.isinf(y[:, 0])
    assert masked.any() and not np.isinf(x).any()
    rows, cols = masked.all(axis=2), masked.all(axis=1)     # whole bands / whole spans
    assert 0 < rows.sum(1).max() <= 10 and 0 < cols.sum(1).max() <= 20
    assert np.array_equal(masked, rows[:, :, None] | cols[:, None, :])
    ln.manual_seed(1)
    assert np.array_equal(SpecAugment(freq_mask=10, time_mask=20, fill=np.inf)(x), y)   # seeded: repeats


def test_noise_and_shift():
    ln.manual_seed(0)
    x = np.tile(np.sin(np.arange(1000) / 5).astype(np.float32), (200, 1))
    y = AddNoise(snr_db=(20, 20), p=1.0)(x)
    snr = 10 * np.log10((x ** 2).mean() / ((y - x) ** 2).mean())
    assert abs(snr - 20) < 0.3 and y.dtype == np.float32
    s = TimeShift(5)(np.arange(10, dtype=np.float32)[None].repeat(300, 0))
    shifts = {int(np.argmax(r == 4.0)) - 4 for r in s if (r == 4.0).any()}
    assert shifts == set(range(-4, 6)) and (s == 0).any()
    t = ln.tensor(np.ones((2, 3, 4), np.float32))
    assert isinstance(SpecAugment(1, 1)(t), ln.Tensor)
