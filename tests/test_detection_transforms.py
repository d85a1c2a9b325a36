"""Joint transforms keep image, boxes and masks in sync: every box inside the image and tight on its mask."""
import numpy as np
import pytest

from lucidnet.vision.detection.joint import (ColorJitter, JointCompose, Letterbox, RandomCrop, RandomHorizontalFlip,
                                             RandomScale, Sample, collate_images, crop, hflip, mask_boxes, resize)


def random_sample(rng, h=None, w=None, k=None):
    h, w = h or int(rng.integers(60, 200)), w or int(rng.integers(60, 200))
    k = k or int(rng.integers(1, 5))
    mask = np.zeros((h, w), np.uint8)
    for i in range(1, k + 1):  # people-like blobs: rectangles with a ragged edge
        y0, x0 = rng.integers(0, h - 20), rng.integers(0, w - 10)
        y1, x1 = y0 + rng.integers(10, h - y0 + 1), x0 + rng.integers(5, w - x0 + 1)
        mask[y0:y1, x0:x1] = i
        mask[y0:y1:3, x0] = 0 if x1 - x0 > 1 else i
    ids = np.unique(mask)[1:]
    boxes, _ = mask_boxes(mask, ids)
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    return Sample(image, boxes=boxes, mask=mask, ids=ids)


def assert_consistent(s: Sample):
    h, w = s.size
    assert s.mask.shape == (h, w)
    b = s.boxes
    assert (b[:, 0] >= 0).all() and (b[:, 1] >= 0).all() and (b[:, 2] <= w).all() and (b[:, 3] <= h).all()
    assert (b[:, 2] > b[:, 0]).all() and (b[:, 3] > b[:, 1]).all()
    tight, counts = mask_boxes(s.mask, s.ids)
    assert (counts > 0).all(), "a box kept without pixels on its mask"
    np.testing.assert_array_equal(b, tight)  # on its mask: the box is the bounds of its pixels


def test_random_pipelines_keep_boxes_inside_and_on_their_masks():
    rng = np.random.default_rng(0)
    pipeline = JointCompose([RandomHorizontalFlip(), RandomScale(96, (0.6, 1.6)), RandomCrop(96), ColorJitter(),
                             Letterbox(96)])
    dropped = 0
    for _ in range(60):
        s = random_sample(rng)
        out = pipeline(s, rng)
        assert out.image.shape == (96, 96, 3) and out.image.dtype == np.uint8
        assert_consistent(out)
        dropped += len(s.boxes) - len(out.boxes)
    assert dropped > 0  # the crops did cut people out


def test_hflip_twice_is_identity_and_moves_boxes():
    s = random_sample(np.random.default_rng(1))
    f = hflip(s)
    assert_consistent(f)
    back = hflip(f)
    np.testing.assert_array_equal(back.image, s.image)
    np.testing.assert_array_equal(back.mask, s.mask)
    np.testing.assert_array_equal(back.boxes, s.boxes)


def test_crop_clips_and_drops():
    mask = np.zeros((50, 50), np.uint8)
    mask[0:40, 0:10] = 1      # cut to a quarter by the window below: dropped at min_visible 0.3
    mask[10:30, 20:40] = 2    # inside
    s = Sample(np.zeros((50, 50, 3), np.uint8), boxes=mask_boxes(mask, [1, 2])[0], mask=mask, ids=np.array([1, 2]))
    out = crop(s, 5, 7, 40, 40, min_visible=0.3)
    np.testing.assert_array_equal(out.ids, [2])
    np.testing.assert_array_equal(out.boxes, [[13, 5, 33, 25]])
    kept = crop(s, 5, 7, 40, 40, min_visible=0.05)
    np.testing.assert_array_equal(kept.boxes, [[0, 0, 3, 35], [13, 5, 33, 25]])
    # without a mask: boxes clipped geometrically, dropped by the area left
    nomask = Sample(np.zeros((50, 50, 3), np.uint8), boxes=s.boxes)
    np.testing.assert_array_equal(crop(nomask, 5, 7, 40, 40, 0.05).boxes, [[0, 0, 3, 35], [13, 5, 33, 25]])
    with pytest.raises(ValueError, match="not inside the 50x50 image"):
        crop(s, 20, 0, 40, 40)


def test_letterbox_scale_maps_back():
    s = random_sample(np.random.default_rng(2), h=150, w=90)
    out = Letterbox(64)(s)
    assert out.image.shape == (64, 64, 3) and out.extra["content"] == (64, 38)
    assert abs(out.scale - 38 / 90) < 1e-6
    assert_consistent(out)
    assert (out.mask[:, 38:] == 0).all() and (out.image[:, 38:] == 114).all()
    np.testing.assert_allclose(out.boxes / out.scale, s.boxes, atol=1 / out.scale + 1e-4)


def test_resize_keeps_tiny_people_on_pixels():
    mask = np.zeros((100, 100), np.uint8)
    mask[10:12, 50:51] = 1
    mask[20:90, 10:60] = 2
    s = Sample(np.zeros((100, 100, 3), np.uint8), boxes=mask_boxes(mask, [1, 2])[0], mask=mask, ids=np.array([1, 2]))
    out = resize(s, (20, 20))
    assert_consistent(out)


def test_collate_images_of_different_sizes():
    x, sizes = collate_images([np.full((10, 20, 3), 255, np.uint8), np.zeros((33, 5, 3), np.uint8)], multiple=16)
    assert x.shape == (2, 3, 48, 32) and x.dtype == np.float32 and sizes == [(10, 20), (33, 5)]
    assert (x[0, :, :10, :20] == 1).all() and np.allclose(x[0, :, 10:], 114 / 255)
