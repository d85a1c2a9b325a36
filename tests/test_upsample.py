"""Upsample / interpolate (nearest, linear, bilinear): finite differences, PyTorch parity, shapes and errors."""
import numpy as np
import pytest
from helpers import check_grad, check_parity, parity, rand, torch

import lucidnet as ln
from lucidnet.nn.upsample import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d
from lucidnet.fused.interpolate import interpolate, interpolation_matrix

CASES = [
    ((2, 3, 4, 5), dict(scale_factor=2, mode="nearest")),
    ((2, 3, 4, 5), dict(size=(7, 3), mode="nearest")),
    ((2, 3, 5, 7), dict(scale_factor=1.7, mode="nearest")),
    ((2, 3, 5, 7), dict(scale_factor=(0.5, 3), mode="nearest")),
    ((1, 2, 6), dict(size=13, mode="nearest")),
    ((2, 3, 4, 5), dict(scale_factor=2, mode="bilinear", align_corners=False)),
    ((2, 3, 4, 5), dict(scale_factor=2, mode="bilinear", align_corners=True)),
    ((2, 2, 5, 7), dict(size=(9, 4), mode="bilinear", align_corners=False)),
    ((2, 2, 5, 7), dict(size=(9, 4), mode="bilinear", align_corners=True)),
    ((2, 2, 5, 7), dict(scale_factor=1.7, mode="bilinear")),
    ((2, 2, 6, 6), dict(scale_factor=0.4, mode="bilinear")),
    ((2, 3, 6), dict(scale_factor=2.5, mode="linear")),
    ((2, 3, 6), dict(size=4, mode="linear", align_corners=True)),
]


@pytest.mark.parametrize("shape,kw", CASES)
def test_interpolate_gradcheck(shape, kw):
    check_grad(lambda x: interpolate(x, **kw), rand(*shape, seed=1))


@parity
@pytest.mark.parametrize("shape,kw", CASES + [((8, 16, 14, 14), dict(scale_factor=2, mode="bilinear"))])
def test_interpolate_parity(shape, kw):
    th = torch()
    outs, _ = check_parity(lambda x: interpolate(x, **kw), lambda x: th.nn.functional.interpolate(x, **kw),
                           rand(*shape, seed=2), atol=1e-5, rtol=1e-5)
    assert outs[0].dtype == np.float32


@parity
def test_nearest_is_exact_against_pytorch():
    th = torch()
    x = rand(2, 3, 9, 11, seed=3, dtype=np.float32)
    for kw in (dict(scale_factor=3), dict(size=(4, 17)), dict(scale_factor=(1.3, 0.7))):
        np.testing.assert_array_equal(interpolate(ln.tensor(x), **kw).numpy(),
                                      th.nn.functional.interpolate(th.tensor(x), **kw).numpy())


@parity
def test_upsample_modules_match_pytorch_modules():
    th = torch()
    x = rand(2, 2, 5, 6, seed=4)
    pairs = [(Upsample(scale_factor=2), th.nn.Upsample(scale_factor=2)),
             (Upsample(size=(3, 8), mode="bilinear", align_corners=True),
              th.nn.Upsample(size=(3, 8), mode="bilinear", align_corners=True)),
             (UpsamplingNearest2d(scale_factor=3), th.nn.UpsamplingNearest2d(scale_factor=3)),
             (UpsamplingBilinear2d(size=(7, 7)), th.nn.UpsamplingBilinear2d(size=(7, 7)))]
    for m, tm in pairs:
        check_parity(m, tm, x)
        assert repr(m) == repr(tm)
        assert list(m.state_dict()) == list(tm.state_dict()) == []


def test_nearest_by_integer_factor_repeats_pixels():
    x = rand(2, 3, 4, 5, seed=5, dtype=np.float32)
    y = Upsample(scale_factor=(2, 3))(ln.tensor(x)).numpy()
    np.testing.assert_array_equal(y, x.repeat(2, axis=2).repeat(3, axis=3))


def test_bilinear_align_corners_keeps_the_corners_and_interpolates_linearly():
    x = np.arange(6, dtype=np.float32).reshape(1, 1, 2, 3)  # linear in both axes: exactly reproduced
    y = interpolate(ln.tensor(x), size=(3, 5), mode="bilinear", align_corners=True).numpy()[0, 0]
    np.testing.assert_allclose(y, np.add.outer(np.linspace(0, 3, 3), np.linspace(0, 2, 5)), atol=1e-6)


def test_interpolation_matrix_rows_sum_to_one():
    for mode in ("nearest", "linear"):
        for n_in, n_out in ((5, 12), (12, 5), (7, 7), (1, 4), (4, 1)):
            a = interpolation_matrix(n_in, n_out, mode)
            assert a.shape == (n_out, n_in) and a.dtype == np.float32
            np.testing.assert_allclose(a.sum(axis=1), 1, rtol=1e-6)


def test_upsample_keeps_float64_and_the_input():
    x = ln.tensor(rand(1, 2, 3, 3, seed=6), dtype=ln.float64)
    before = x.numpy().copy()
    y = Upsample(scale_factor=2, mode="bilinear")(x)
    assert y.dtype == np.float64 and y.shape == (1, 2, 6, 6)
    np.testing.assert_array_equal(x.numpy(), before)
    same = interpolate(x, size=(3, 3))
    np.testing.assert_array_equal(same.numpy(), before)
    assert same.numpy() is not x.numpy()


def test_interpolate_errors():
    x = ln.randn(1, 2, 4, 4)
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        interpolate(x)
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        Upsample(size=3, scale_factor=2)
    with pytest.raises(ValueError, match="mode must be one of nearest, linear, bilinear"):
        interpolate(x, scale_factor=2, mode="bicubic")
    with pytest.raises(ValueError, match="mode 'bilinear' expects a 4-D input, got shape \\(1, 2, 4\\)"):
        interpolate(ln.randn(1, 2, 4), scale_factor=2, mode="bilinear")
    with pytest.raises(ValueError, match="align_corners can only be set with the linear modes"):
        Upsample(scale_factor=2, align_corners=True)
    with pytest.raises(ValueError, match="size must have 2 entries"):
        interpolate(x, size=(2, 3, 4))
    with pytest.raises(ValueError, match="must be positive"):
        interpolate(x, scale_factor=0.1)


@pytest.mark.parametrize("shape,r", [((2, 8, 3, 4), 2), ((9, 2, 5), 3), ((1, 4, 1, 1), 2)])
def test_pixel_shuffle_and_unshuffle_match_pytorch(shape, r):
    th = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    y, ty = ln.nn.PixelShuffle(r)(ln.tensor(x)), th.nn.PixelShuffle(r)(th.tensor(x))
    np.testing.assert_array_equal(y.numpy(), ty.numpy())
    np.testing.assert_array_equal(ln.nn.PixelUnshuffle(r)(y).numpy(), x)           # the inverse
    check = ln.autograd.gradcheck(lambda t: ln.nn.functional.pixel_shuffle(t, r) ** 2,
                                  [ln.tensor(x, dtype=ln.float64, requires_grad=True)])
    assert check
    with pytest.raises(ValueError, match="divisible"):
        ln.nn.PixelShuffle(r)(ln.zeros(1, r * r + 1, 2, 2))
