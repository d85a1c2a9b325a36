"""What lucidnet.audio has against the differences between speakers: per-band mean and variance normalisation
(cmvn), the vocal-tract-length warp (FrequencyWarp) and speed perturbation (change_speed)."""
import numpy as np
import pytest

import lucidnet as ln
from lucidnet.audio import FrequencyWarp, change_speed, cmvn, stft


def test_cmvn_uses_each_examples_own_frames():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((3, 1, 5, 12)) * 4 + rng.standard_normal((3, 1, 5, 1)) * 10).astype(np.float32)
    lengths = np.array([12, 7, 1])
    for variance in (False, True):
        y = cmvn(x, lengths, variance=variance)
        assert y.dtype == np.float32 and y.shape == x.shape
        for i, n in enumerate(lengths):
            real = x[i, 0, :, :n].astype(np.float64)
            mean = real.mean(1, keepdims=True)
            std = real.std(1, keepdims=True) + 1e-5 if variance else 1.0
            np.testing.assert_allclose(y[i, 0], (x[i, 0] - mean) / std, rtol=1e-5, atol=1e-5)  # padding too
    whole = cmvn(x, variance=True)
    np.testing.assert_allclose(whole.mean(-1), 0, atol=1e-5)
    np.testing.assert_allclose(whole.std(-1), 1, atol=1e-3)
    np.testing.assert_array_equal(cmvn(x[:1]), cmvn(x[:1], np.array([12])))


def test_cmvn_refuses_bad_input():
    with pytest.raises(ValueError, match="lengths must be one count per example in"):
        cmvn(np.zeros((2, 4, 5), np.float32), np.array([5, 6]))
    with pytest.raises(ValueError, match="expected float features"):
        cmvn(np.zeros((2, 4, 5), np.int64))


def test_frequency_warp_moves_a_formant_by_the_drawn_factor():
    ln.manual_seed(0)
    bins, n = 40, 400
    x = np.zeros((n, 1, bins, 3), np.float32)
    x[:, :, 20] = 1.0                                                 # one band lit in every frame
    y = FrequencyWarp((0.8, 1.2))(x)
    assert y.shape == x.shape and y.dtype == np.float32 and (x[:, :, 20] == 1).all()
    centre = (y[:, 0, :, 0] * np.arange(bins)).sum(1) / y[:, 0, :, 0].sum(1)   # where the lit band went
    alpha = centre / 20
    assert 0.8 - 0.02 <= alpha.min() < 0.85 and 1.15 < alpha.max() <= 1.2 + 0.02
    np.testing.assert_array_equal(y[:, :, :, 0], y[:, :, :, 2])      # the same warp in every frame
    # each row is the input read at bin b / alpha by linear interpolation
    row = np.random.default_rng(1).standard_normal((1, bins, 1)).astype(np.float32)
    want = np.interp(np.minimum(np.arange(bins) / 1.1, bins - 1), np.arange(bins), row[0, :, 0])
    np.testing.assert_allclose(FrequencyWarp((1.1, 1.1))(row)[0, :, 0], want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(FrequencyWarp((0.7, 1.3), p=0.0)(row), row)
    ln.manual_seed(0)
    np.testing.assert_array_equal(FrequencyWarp((0.8, 1.2))(x), y)   # seeded: repeats


def test_frequency_warp_refuses_bad_settings():
    with pytest.raises(ValueError, match="FrequencyWarp: factor must be"):
        FrequencyWarp((1.1, 0.9))
    with pytest.raises(ValueError, match="expected a batch of spectrograms"):
        FrequencyWarp()(np.zeros((4, 40), np.float32))


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_change_speed_scales_duration_and_pitch(factor):
    rate = 8000
    t = np.arange(rate) / rate
    x = np.sin(2 * np.pi * 500 * t).astype(np.float32)
    y = change_speed(x, factor, rate)
    assert y.dtype == np.float32 and abs(len(y) - rate / factor) <= 1
    spectrum = np.abs(stft(y, n_fft=4096, hop_length=1024)).mean(-1)
    peak_hz = np.argmax(spectrum) * rate / 4096
    assert abs(peak_hz - 500 * factor) < 4, peak_hz
    with pytest.raises(ValueError, match="factor must be positive"):
        change_speed(x, 0.0, rate)
