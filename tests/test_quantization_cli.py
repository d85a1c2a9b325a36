"""``lucidnet quantize RUN --out RUN_INT8 [--calibrate N]`` then ``lucidnet evaluate RUN_INT8``: a CNN (static, on a
slice of the bundled Fashion-MNIST subset) and a BiLSTM (dynamic, on the tiny SST-2 fixture)."""
import dataclasses
import json

import numpy as np
import pytest

import lucidnet as ln

from lucidnet.cli import main
from lucidnet.serialization import load
from lucidnet.vision import data as datasets
from text_fixture import write_sst2


@pytest.fixture(scope="module")
def small_images():
    real = datasets.load

    def load_slice(name, root=None, download=False, splits=("train", "test")):
        d = real(name, root, download, splits)
        return dataclasses.replace(d, x_train=d.x_train[:256], y_train=d.y_train[:256], x_test=d.x_test[:300],
                                   y_test=d.y_test[:300])

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(datasets, "load", load_slice)
        yield


def _accuracy(out: str) -> float:
    return float(next(line.split()[1] for line in out.splitlines() if line.strip().startswith("accuracy")))


def test_quantize_static_on_a_run_directory(small_images, tmp_path, capsys):
    """The static path of the command on a run written by hand (an untrained SimpleCNN: no training time)."""
    import lucidnet as ln
    from lucidnet import models
    from lucidnet.train import rundir
    ln.manual_seed(0)
    model = models.build({"name": "cnn", "num_classes": 10, "in_channels": 1, "image_size": [28, 28]})
    run, q = tmp_path / "cnn", tmp_path / "cnn_int8"
    rundir.save_run(run, model, {"model": models.config_of(model), "task": "image-classification",
                                 "input": {"shape": [1, 28, 28], "mean": 0.286, "std": 0.353},
                                 "classes": [str(i) for i in range(10)], "dataset": "fashion-mnist-bundled",
                                 "data_dir": None, "train": {"seed": 0}})
    assert main(["quantize", str(run), "--out", str(q), "--calibrate", "32"]) == 0
    assert "(static, calibrated on 32 images (minmax)): 4 layers replaced" in capsys.readouterr().out
    float_model, _ = rundir.load_run(run)
    int8_model, config = rundir.load_run(q)
    assert type(int8_model.features[0]).__name__ == "QuantizedConv2d" and config["quantization"]["scheme"] == "static"
    from lucidnet.vision.recipes import calibration_images
    x = ln.from_numpy(calibration_images(run, 8, seed=1))          # images as the run normalises them
    with ln.no_grad():
        a, b = float_model(x).array, int8_model(x).array
    assert np.abs(a - b).max() <= 0.05 * np.abs(a).max()
    assert main(["evaluate", str(q)]) == 0 and "(300 images)" in capsys.readouterr().out
    assert main(["export", str(q), "--out", str(tmp_path / "cnn.onnx")]) == 0
    assert "(ONNX, int8 (static); inputs: images (batch, 1, 28, 28))" in capsys.readouterr().out
    _matches_onnxruntime(q, "images", ln.from_numpy(calibration_images(run, 40, seed=2)), run, tmp_path / "cnn.onnx")


def _matches_onnxruntime(run, name, x, float_run, path=None):
    """ONNX Runtime on the exported file gives the int8 run's outputs, no farther from them than they lie from the
    float run's (see tests/test_onnx_quantized.py for why), and the same classes."""
    import lucidnet as ln
    from lucidnet.train import rundir
    ort = pytest.importorskip("onnxruntime")
    model, _ = rundir.load_run(run)
    float_model, _ = rundir.load_run(float_run)
    got = ort.InferenceSession(str(path or run / "model.onnx")).run(None, {name: x.numpy()})[0]
    with ln.no_grad():
        want, ref = model(x).numpy(), float_model(x).numpy()
    np.testing.assert_allclose(got, want, rtol=0, atol=np.abs(want - ref).max())
    assert (got.argmax(1) == want.argmax(1)).mean() >= 0.95


@pytest.mark.slow  # trains a VGG for an epoch (about 30 s on the shared 2 cores); the static path's own tests are fast
def test_quantize_a_cnn_run_statically_then_evaluate(small_images, tmp_path, capsys):
    run, q = tmp_path / "cnn", tmp_path / "cnn_int8"
    assert main(["train", "--model", "vgg", "--epochs", "1", "--out", str(run), "--quiet"]) == 0
    assert main(["evaluate", str(run)]) == 0
    float_acc = _accuracy(capsys.readouterr().out)
    assert main(["quantize", str(run), "--out", str(q), "--calibrate", "64", "--observer", "percentile"]) == 0
    printed = capsys.readouterr().out
    assert "quantized to int8 (static, calibrated on 64 images (percentile))" in printed
    config = json.loads((q / "config.json").read_text())
    assert config["quantization"]["scheme"] == "static" and "FoldedBatchNorm" in config["quantization"]["layers"].values()
    state = load(q / "model.safetensors")
    assert state["features.0.weight"].dtype == np.int8 and "features.0.input_scale" in state
    assert main(["evaluate", str(q)]) == 0
    assert abs(_accuracy(capsys.readouterr().out) - float_acc) <= 0.03     # 300 test images: a point is 3 images
    assert main(["quantize", str(q), "--out", str(tmp_path / "again")]) == 2
    assert "already quantized" in capsys.readouterr().err
    assert main(["quantize", str(run), "--out", str(q)]) == 2
    assert "exists and is not empty" in capsys.readouterr().err


def test_quantize_a_text_run_dynamically_then_evaluate(tmp_path, capsys):
    write_sst2(tmp_path / "data" / "sst2")
    run, q = tmp_path / "bilstm", tmp_path / "bilstm_int8"
    assert main(["train", "--data", str(tmp_path / "data"), "--out", str(run), "--quiet", "--dataset", "sst2",
                 "--model", "bilstm", "--epochs", "3", "--batch-size", "16", "--lr", "0.02", "--embed-dim", "8",
                 "--hidden-size", "8"]) == 0
    assert main(["evaluate", str(run)]) == 0
    float_acc = _accuracy(capsys.readouterr().out)
    assert main(["quantize", str(run), "--out", str(q), "--calibrate", "10"]) == 2
    assert "--calibrate does not apply" in capsys.readouterr().err
    assert main(["quantize", str(run), "--out", str(q)]) == 0
    assert "(dynamic): 3 layers replaced" in capsys.readouterr().out
    assert (q / "vocab.json").is_file()
    assert main(["export", str(q)]) == 0                                # the int8 run as integer ONNX
    assert "(ONNX, int8 (dynamic); inputs: tokens (batch, sequence))" in capsys.readouterr().out
    _matches_onnxruntime(q, "tokens", ln.randint(1, 20, (5, 11)), run)
    assert main(["evaluate", str(q)]) == 0
    assert abs(_accuracy(capsys.readouterr().out) - float_acc) <= 0.05     # 60 test sentences
