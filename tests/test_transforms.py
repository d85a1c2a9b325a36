"""lucidnet.vision.transforms: shapes, dtypes and ranges; NumPy references for the deterministic parts (and
PyTorch's grid_sample for the affine warp); rates of the random choices; the seed; the DataLoader hook."""
import numpy as np
import pytest
from helpers import parity, torch

import lucidnet as ln
from lucidnet.data import DataLoader, TensorDataset
from lucidnet.vision import transforms as T


def images(n=8, c=1, h=28, w=28, seed=0):
    return np.random.default_rng(seed).random((n, c, h, w), dtype=np.float32)


def rng_after(seed):
    """The generator a transform will draw from after ``ln.manual_seed(seed)``, for NumPy references."""
    return np.random.default_rng(seed)


# ---- ToTensor, Normalize, Compose ---------------------------------------------------------------------

def test_to_tensor_layouts_scale_and_dtype():
    rng = np.random.default_rng(1)
    gray = rng.integers(0, 256, (5, 6, 7), dtype=np.uint8)
    y = T.ToTensor()(gray)
    assert y.shape == (5, 1, 6, 7) and y.dtype == np.float32
    np.testing.assert_array_equal(y[:, 0], gray.astype(np.float32) / np.float32(255))
    assert y.min() >= 0 and y.max() <= 1
    rgb = rng.integers(0, 256, (4, 6, 7, 3), dtype=np.uint8)  # channels last
    y = T.ToTensor()(rgb)
    assert y.shape == (4, 3, 6, 7) and y.flags.c_contiguous
    np.testing.assert_array_equal(y, rgb.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255))
    nchw = rng.integers(0, 256, (4, 3, 6, 7), dtype=np.uint8)
    np.testing.assert_array_equal(T.ToTensor()(nchw), nchw / np.float32(255))
    sq = rng.integers(0, 256, (2, 3, 5, 3), dtype=np.uint8)  # ambiguous: 3 at both ends
    with pytest.raises(ValueError, match="channels_last=True or False"):
        T.ToTensor()(sq)
    assert T.ToTensor(channels_last=True)(sq).shape == (2, 3, 3, 5)
    assert T.ToTensor(channels_last=False)(sq).shape == (2, 3, 5, 3)
    f = rng.random((2, 4, 4)).astype(np.float64)  # float: only cast (and a channel axis)
    np.testing.assert_array_equal(T.ToTensor()(f), f[:, None].astype(np.float32))
    with pytest.raises(TypeError, match="uint8 .* or float images, got dtype int64"):
        T.ToTensor()(np.zeros((2, 4, 4), np.int64))
    with pytest.raises(ValueError, match="ToTensor: expected images"):
        T.ToTensor()(np.zeros((4, 4), np.uint8))


def test_tensor_in_tensor_out_and_input_untouched():
    x = images(4)
    before = x.copy()
    t = ln.tensor(x)
    for tf in (T.Normalize(0.5, 0.2), T.RandomCrop(28, padding=2), T.RandomHorizontalFlip(1.0),
               T.RandomAffine(15, (0.1, 0.1)), T.RandomErasing(1.0), T.ToTensor()):
        out = tf(t)
        assert isinstance(out, ln.Tensor) and out.dtype == np.float32 and out.shape == (4, 1, 28, 28)
        assert isinstance(tf(x), np.ndarray)
        np.testing.assert_array_equal(x, before)


def test_normalize_matches_numpy_per_channel():
    x = images(6, c=3, h=5, w=4, seed=2)
    mean, std = (0.1, 0.5, 0.9), (0.2, 0.3, 0.4)
    y = T.Normalize(mean, std)(x)
    ref = (x - np.array(mean, np.float32)[:, None, None]) / np.array(std, np.float32)[:, None, None]
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, ref)
    np.testing.assert_array_equal(T.Normalize(0.5, 0.25)(x), (x - np.float32(0.5)) / np.float32(0.25))
    z = x.copy()
    assert T.Normalize(mean, std, inplace=True)(z) is z
    np.testing.assert_array_equal(z, ref)
    with pytest.raises(ValueError, match="mean has 2 values but the batch has 3 channels"):
        T.Normalize((0.1, 0.2), 1.0)(x)
    with pytest.raises(ValueError, match="std must not be zero"):
        T.Normalize(0.0, (1.0, 0.0))
    with pytest.raises(TypeError, match="apply ToTensor"):
        T.Normalize(0.5, 0.5)(np.zeros((1, 1, 2, 2), np.uint8))
    with pytest.raises(ValueError, match=r"Normalize: expected a batch of images of shape \(N, C, H, W\)"):
        T.Normalize(0.5, 0.5)(np.zeros((2, 2, 2), np.float32))


def test_compose_applies_in_order():
    u8 = np.random.default_rng(3).integers(0, 256, (3, 4, 4), dtype=np.uint8)
    c = T.Compose([T.ToTensor(), T.Normalize(0.5, 0.5), T.RandomHorizontalFlip(1.0)])
    np.testing.assert_allclose(c(u8), ((u8 / np.float32(255) - 0.5) / 0.5)[:, None, :, ::-1], rtol=1e-6)
    assert "ToTensor()" in repr(c) and "RandomHorizontalFlip(p=1.0)" in repr(c)
    with pytest.raises(TypeError, match="must be callable"):
        T.Compose([T.ToTensor(), 3])


# ---- RandomCrop ---------------------------------------------------------------------------------------

def crop_reference(x, size, pad, seed, **pad_kw):
    """A per-sample loop with the same draws (dy for every sample, then dx)."""
    (h, w), (left, top, right, bottom) = size, pad
    p = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), **pad_kw)
    rng = rng_after(seed)
    n = len(x)
    dy = rng.integers(0, p.shape[2] - h + 1, size=n)
    dx = rng.integers(0, p.shape[3] - w + 1, size=n)
    return np.stack([p[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])


@pytest.mark.parametrize("size,padding,mode", [(28, 4, "constant"), ((20, 24), None, "constant"),
                                                ((30, 28), (1, 2), "edge"), (26, (1, 2, 3, 0), "reflect")])
def test_random_crop_matches_a_per_sample_reference(size, padding, mode):
    x = images(16, c=2, seed=4)
    tf = T.RandomCrop(size, padding=padding, fill=0.5, padding_mode=mode)
    ln.manual_seed(7)
    y = tf(x)
    kw = dict(mode=mode, constant_values=0.5) if mode == "constant" else dict(mode=mode)
    ref = crop_reference(x, tf.size, tf.padding, 7, **kw)
    assert y.shape == ref.shape and y.dtype == np.float32
    np.testing.assert_array_equal(y, ref)


def test_random_crop_uses_every_offset_and_follows_the_seed():
    x = np.zeros((2000, 1, 4, 4), np.float32)
    x[:, :, 0, 0] = 1  # the top-left pixel's position in the output tells the offset
    y = T.RandomCrop(4, padding=2)(x)
    pos = np.argwhere(y[:, 0] == 1)
    assert len(np.unique(y.sum(axis=(1, 2, 3)))) == 2  # the pixel is inside or cropped away
    assert len({(int(r), int(c)) for _, r, c in pos}) == 9  # offsets 0..2 in both axes: 3 x 3 visible places
    ln.manual_seed(3)
    a = T.RandomCrop(4, padding=2)(x)
    ln.manual_seed(3)
    np.testing.assert_array_equal(a, T.RandomCrop(4, padding=2)(x))
    with pytest.raises(ValueError, match="larger than the \\(padded\\) images"):
        T.RandomCrop(40)(images(2))
    with pytest.raises(ValueError, match="padding must be"):
        T.RandomCrop(28, padding=(1, 2, 3))


# ---- RandomHorizontalFlip -----------------------------------------------------------------------------

def test_random_flip_rate_reference_and_seed():
    x = images(4000, c=1, h=3, w=5, seed=5)
    ln.manual_seed(11)
    y = T.RandomHorizontalFlip(0.3)(x)
    flipped = np.all(y == x[..., ::-1], axis=(1, 2, 3))
    unchanged = np.all(y == x, axis=(1, 2, 3))
    assert np.all(flipped ^ unchanged)  # each image either mirrored or left alone
    assert abs(flipped.mean() - 0.3) < 0.03  # ~4 standard errors
    ref_flip = rng_after(11).random(4000) < 0.3  # the same draw, done by hand
    np.testing.assert_array_equal(flipped, ref_flip)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(0.0)(x), x)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(x), x[..., ::-1])
    with pytest.raises(ValueError, match="p must be in"):
        T.RandomHorizontalFlip(2)


# ---- affine / RandomAffine ----------------------------------------------------------------------------

def test_affine_identity_rotations_and_shifts():
    x = images(3, c=2, h=6, w=6, seed=6)
    np.testing.assert_array_equal(T.affine(x, 0.0), x)
    np.testing.assert_allclose(T.affine(x, 90), np.rot90(x, 1, axes=(2, 3)), atol=1e-5)
    np.testing.assert_allclose(T.affine(x, -90, interpolation="nearest"), np.rot90(x, -1, axes=(2, 3)))
    np.testing.assert_allclose(T.affine(x, 180), x[:, :, ::-1, ::-1], atol=1e-5)
    # a shift by (2 right, 1 up), with fill where nothing comes from
    ref = np.full_like(x, 0.25)
    ref[:, :, :-1, 2:] = x[:, :, 1:, :-2]
    np.testing.assert_allclose(T.affine(x, 0, (2, -1), fill=0.25), ref, atol=1e-6)
    np.testing.assert_allclose(T.affine(x, 0, (2, -1), fill=0.25, interpolation="nearest"), ref)
    # per-sample parameters: each image gets its own
    y = T.affine(x, [0, 90, 180])
    np.testing.assert_allclose(y[1], np.rot90(x[1], 1, axes=(1, 2)), atol=1e-5)
    np.testing.assert_allclose(y[2], x[2, :, ::-1, ::-1], atol=1e-5)
    u8 = (x * 255).astype(np.uint8)
    assert T.affine(u8, 30).dtype == np.uint8


@parity
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_affine_matches_pytorch_grid_sample(mode):
    th = torch()
    n, c, h, w = 6, 2, 9, 12
    x = images(n, c, h, w, seed=7)
    rng = np.random.default_rng(8)
    angle, t, s = rng.uniform(-30, 30, n), rng.uniform(-2, 2, (n, 2)), rng.uniform(0.8, 1.2, n)
    y = T.affine(x, angle, t, s, interpolation=mode)
    # the same inverse map in grid_sample's normalised coordinates (align_corners=False)
    th_a, th_b = np.cos(np.deg2rad(angle)) / s, np.sin(np.deg2rad(angle)) / s
    tx, ty = t[:, 0], t[:, 1]
    theta = np.stack([np.stack([th_a, -th_b * h / w, 2 / w * (-th_a * tx + th_b * ty)], 1),
                      np.stack([th_b * w / h, th_a, 2 / h * (-th_b * tx - th_a * ty)], 1)], 1)
    grid = th.nn.functional.affine_grid(th.tensor(theta, dtype=th.float32), [n, c, h, w], align_corners=False)
    ref = th.nn.functional.grid_sample(th.tensor(x), grid, mode=mode, padding_mode="zeros",
                                       align_corners=False).numpy()
    assert y.dtype == np.float32
    if mode == "bilinear":
        np.testing.assert_allclose(y, ref, atol=2e-5)
    else:  # rounding ties may fall differently in float32: almost every pixel identical
        assert np.mean(y != ref) < 0.01


def test_random_affine_translation_only_is_a_whole_pixel_shift_within_range():
    x = np.zeros((500, 1, 20, 20), np.float32)
    x[:, :, 10, 10] = 1
    y = T.RandomAffine(0, translate=(0.1, 0.2))(x)
    pos = np.argwhere(y[:, 0] == 1)
    assert len(pos) == 500  # moved by whole pixels: the dot stays one pixel of value 1
    dy, dx = pos[:, 1] - 10, pos[:, 2] - 10
    assert np.abs(dx).max() == 2 and np.abs(dy).max() == 4  # up to 0.1 * 20 and 0.2 * 20 pixels
    assert len(np.unique(dx)) == 5 and len(np.unique(dy)) == 9


def test_random_affine_rotation_range_and_seed():
    x = images(64, c=1, h=15, w=15, seed=9)
    ln.manual_seed(4)
    y = T.RandomAffine((10, 20), interpolation="bilinear")(x)
    angles = rng_after(4).uniform(10, 20, 64)
    np.testing.assert_allclose(y, T.affine(x, angles, interpolation="bilinear"), atol=1e-6)
    ln.manual_seed(4)
    np.testing.assert_array_equal(y, T.RandomAffine((10, 20), interpolation="bilinear")(x))
    with pytest.raises(ValueError, match="translate must be"):
        T.RandomAffine(10, translate=(0.5, 2))
    with pytest.raises(ValueError, match="degrees must be"):
        T.RandomAffine((20, 10))


# ---- RandomErasing ------------------------------------------------------------------------------------

def test_random_erasing_rectangles_areas_and_values():
    n, h, w = 400, 20, 30
    x = images(n, c=3, h=h, w=w, seed=10) + 1  # no zeros: erased pixels are the zeros
    y = T.RandomErasing(p=1.0, scale=(0.05, 0.2), ratio=(0.5, 2.0), value=0)(x)
    erased = np.all(y == 0, axis=1)  # (N, H, W), the same rectangle in every channel
    assert np.all((y == 0) == erased[:, None])
    np.testing.assert_array_equal(y[~np.repeat(erased[:, None], 3, 1)], x[~np.repeat(erased[:, None], 3, 1)])
    rows, cols = erased.any(axis=2), erased.any(axis=1)
    assert np.all(erased == (rows[:, :, None] & cols[:, None, :]))  # a rectangle
    hh, ww = rows.sum(1), cols.sum(1)
    area = hh * ww / (h * w)
    assert np.all(hh > 0) and 0.03 < area.min() and area.max() < 0.25  # in scale, up to rounding of the sides
    assert np.all((hh / ww > 0.3) & (hh / ww < 3))  # aspect ratio in range, up to rounding
    per_channel = T.RandomErasing(p=1.0, value=(1.0, 2.0, 3.0))(np.zeros((5, 3, 8, 8), np.float32))
    for ch in range(3):
        assert set(np.unique(per_channel[:, ch])) == {0.0, ch + 1.0}
    noise = T.RandomErasing(p=1.0, value="random")(np.zeros((5, 1, 16, 16), np.float32))
    assert noise.dtype == np.float32 and 0 < np.mean(noise != 0) < 0.4


def test_random_erasing_rate_seed_and_errors():
    x = images(2000, c=1, h=10, w=10, seed=11) + 1
    ln.manual_seed(2)
    y = T.RandomErasing(p=0.4)(x)
    hit = np.any(y == 0, axis=(1, 2, 3))
    assert abs(hit.mean() - 0.4) < 0.05
    np.testing.assert_array_equal(hit, rng_after(2).random(2000) < 0.4)  # the first draw decides, by hand
    ln.manual_seed(2)
    np.testing.assert_array_equal(y, T.RandomErasing(p=0.4)(x))
    np.testing.assert_array_equal(T.RandomErasing(p=0.0)(x), x)
    with pytest.raises(ValueError, match="value must be"):
        T.RandomErasing(value="noise")
    with pytest.raises(ValueError, match="scale must lie in"):
        T.RandomErasing(scale=(0.1, 1.5))


# ---- the DataLoader hook ------------------------------------------------------------------------------

def test_dataloader_applies_transform_to_inputs_only():
    u8 = np.random.default_rng(12).integers(0, 256, (10, 6, 6), dtype=np.uint8)
    labels = np.arange(10)
    tf = T.Compose([T.ToTensor(), T.RandomHorizontalFlip(1.0)])
    batches = list(DataLoader(TensorDataset(u8, labels), batch_size=4, transform=tf))
    x = np.concatenate([b[0].numpy() for b in batches])
    assert batches[0][0].dtype == np.float32 and batches[0][0].shape == (4, 1, 6, 6)
    np.testing.assert_array_equal(x, (u8 / np.float32(255))[:, None, :, ::-1])
    assert np.concatenate([b[1].numpy() for b in batches]).tolist() == labels.tolist()
    # a lone-array batch, a list batch from collate_fn (Tensors), and the error for other batches
    only_x = list(DataLoader(TensorDataset(u8), batch_size=5, transform=T.ToTensor()))
    assert only_x[0][0].shape == (5, 1, 6, 6)
    listed = DataLoader(TensorDataset(u8, labels), batch_size=5, transform=T.ToTensor(),
                        collate_fn=lambda s: [ln.tensor(np.stack([a for a, _ in s])), [b for _, b in s]])
    first = next(iter(listed))
    assert isinstance(first, list) and isinstance(first[0], ln.Tensor) and first[0].dtype == np.float32
    dicts = DataLoader(TensorDataset(u8), batch_size=5, transform=T.ToTensor(), collate_fn=lambda s: {"x": s})
    with pytest.raises(TypeError, match="transform= applies to batches"):
        next(iter(dicts))
    with pytest.raises(TypeError, match="transform must be callable"):
        DataLoader(TensorDataset(u8), transform="flip")


@pytest.mark.parametrize("prefetch", [False, True])
def test_dataloader_augmentation_follows_the_seed(prefetch):
    x = images(64, seed=13)
    aug = T.Compose([T.RandomCrop(28, padding=4), T.RandomHorizontalFlip(), T.RandomErasing()])

    def epoch():
        ln.manual_seed(21)
        loader = DataLoader(TensorDataset(x, np.arange(64)), batch_size=16, shuffle=True, transform=aug,
                            prefetch=prefetch)
        return [(a.numpy().copy(), b.numpy().copy()) for a, b in loader]

    first, second = epoch(), epoch()
    for (a1, b1), (a2, b2) in zip(first, second):
        np.testing.assert_array_equal(a1, a2)
        np.testing.assert_array_equal(b1, b2)
    plain = x[first[0][1]]  # the same samples without augmentation differ: the transform ran
    assert not np.array_equal(first[0][0], plain)
