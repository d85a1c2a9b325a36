"""``lucidnet train --dataset pennfudan --model detector|segmenter``, ``lucidnet evaluate`` and ``lucidnet detect``
end to end on a small Penn-Fudan-shaped database written here (one epoch at 64x64: the wiring, not the
accuracy; the accuracy is tests/test_detection_model.py's and the README's)."""
import json

import numpy as np
import pytest
from PIL import Image

from lucidnet.cli import main

from test_pennfudan import write_db

pytest.importorskip("pycocotools")


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return write_db(tmp_path_factory.mktemp("pennfudan"), n=6, h=72, w=56)


@pytest.mark.parametrize("model", ["detector", "segmenter"])
def test_train_evaluate_detect(db, tmp_path, model, capsys):
    out = tmp_path / "run"
    assert main(["train", "--dataset", "pennfudan", "--model", model, "--data", str(db), "--epochs", "1",
                 "--batch-size", "2", "--image-size", "64", "--out", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0 <= metrics["person_iou"] <= 1
    assert ("box_AP50" in metrics) == (model == "detector")
    assert json.loads((out / "config.json").read_text())["input"] == {"image_size": 64, "inference": "native"}
    page = (out / "report.html").read_text()
    assert "ground truth (left) and prediction (right)" in page
    (out / "report.html").unlink()
    assert main(["report", str(out)]) == 0  # the rebuilt report keeps the figure drawn at the end of training
    assert "ground truth (left) and prediction (right)" in (out / "report.html").read_text()
    capsys.readouterr()
    assert main(["evaluate", str(out)]) == 0
    text = capsys.readouterr().out
    assert "pennfudan test split (3 images)" in text and "person_iou" in text
    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (50, 90, 3), dtype=np.uint8)).save(photo)
    assert main(["detect", str(out), str(photo), "--out", str(tmp_path / "annotated.png"),
                 "--score-threshold", "0"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"{photo}: ") and "s per image" in text
    with Image.open(tmp_path / "annotated.png") as im:
        assert im.size == (90, 50)


def test_options_that_do_not_apply_are_refused(db, tmp_path, capsys):
    assert main(["train", "--dataset", "pennfudan", "--data", str(db), "--label-smoothing", "0.1",
                 "--out", str(tmp_path / "r")]) != 0
    assert "--label-smoothing does not apply to --dataset pennfudan --model detector" in capsys.readouterr().err
    assert main(["train", "--dataset", "pennfudan", "--data", str(db), "--image-size", "100",
                 "--out", str(tmp_path / "r2")]) != 0
    assert "image_size must be a multiple of 32" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--dataset", "pennfudan", "--data", str(db), "--inference", "sideways"])
    assert "invalid choice: 'sideways'" in capsys.readouterr().err


REAL = __import__("pathlib").Path(__import__("os").environ.get("LUCIDNET_DATA", "/nonexistent")) / "pennfudan"


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.skipif(not REAL.is_dir(), reason="the Penn-Fudan database is not under $LUCIDNET_DATA")
def test_real_detector_reaches_the_issues_targets(tmp_path):
    """The README's run: the detector recipe as it ships, on the 120/50 split (about 10 minutes of CPU time).
    The issue's targets are box AP50 >= 0.90 and AP >= 0.55 (person IoU >= 0.80 is the segmenter's, below; the
    detector's mask decoder, trained beside the box head, reached 0.79)."""
    out = tmp_path / "det"
    assert main(["train", "--dataset", "pennfudan", "--model", "detector", "--out", str(out), "--quiet"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["box_AP50"] >= 0.90 and m["box_AP"] >= 0.55 and m["person_iou"] >= 0.75, m


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.skipif(not REAL.is_dir(), reason="the Penn-Fudan database is not under $LUCIDNET_DATA")
def test_real_segmenter_reaches_the_issues_iou(tmp_path):
    """The README's run: the segmenter recipe as it ships (trained at 384x384, tested at each image's own
    resolution; about 10 minutes of CPU time): person IoU >= 0.80, the issue's target."""
    out = tmp_path / "seg"
    assert main(["train", "--dataset", "pennfudan", "--model", "segmenter", "--out", str(out), "--quiet"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["person_iou"] >= 0.80, m


@pytest.mark.slow
@pytest.mark.skipif(not REAL.is_dir(), reason="the Penn-Fudan database is not under $LUCIDNET_DATA")
def test_real_segmenter_short(tmp_path):
    """CI's short version of the segmenter's real run: 2 epochs at 256x256 on the 120 training images, tested on
    the 50 test images at their own resolution; the pretrained backbone already finds people."""
    out = tmp_path / "seg"
    assert main(["train", "--dataset", "pennfudan", "--model", "segmenter", "--data", str(REAL), "--epochs", "2",
                 "--image-size", "256", "--out", str(out), "--quiet"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["person_iou"] >= 0.50, m   # 0.61 when written
