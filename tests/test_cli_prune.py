"""``lucidnet prune RUN --out OUT --sparsity S --finetune-epochs E [--structured]`` end to end on a slice of the
bundled Fashion-MNIST subset: the result is a run directory that evaluate and predict read, and what does not
apply is refused."""
import json

import numpy as np
import pytest

from lucidnet import models
from lucidnet.cli import main
from lucidnet.train import rundir

from image_fixture import image_run_fixtures

SLICE = {"train": 400, "test": 100}


# the slice, and a cnn run trained on it
small_data, cnn_run = image_run_fixtures(SLICE["train"], SLICE["test"], epochs=1)


def test_unstructured_prune_writes_a_sparse_run_that_evaluate_reads(cnn_run, tmp_path, capsys):
    out = tmp_path / "pruned"
    assert main(["prune", str(cnn_run), "--out", str(out), "--sparsity", "0.8", "--finetune-epochs", "1",
                 "--quiet"]) == 0
    said = capsys.readouterr().out
    assert "global magnitude, sparsity 0.8" in said and "80.0% of the conv/linear weights zero" in said
    config = json.loads((out / rundir.CONFIG).read_text())
    assert config["pruning"]["method"] == "global magnitude" and config["pruning"]["zero_weights"] == 0.8
    original = json.loads((cnn_run / rundir.CONFIG).read_text())["model"]
    assert {k: config["model"][k] for k in original} == original and config["model"]["channels"] == [32, 64]
    assert config["train"]["epochs"] == 1 and config["recipe"] == "cnn"
    model, _ = rundir.load_run(out)  # plain weights (the masks made permanent), 80% of them zero
    assert not any(k.endswith(("_orig", "_mask")) for k in model.state_dict())
    w = np.concatenate([m.weight.array.ravel() for m in model.modules() if hasattr(m, "weight")
                        and m.weight is not None and m.weight.ndim > 1])
    assert np.mean(w == 0) == pytest.approx(0.8, abs=1e-3)
    assert main(["evaluate", str(out)]) == 0
    assert "accuracy" in capsys.readouterr().out
    assert (out / rundir.HISTORY).is_file() and (out / rundir.METRICS).is_file()


def test_structured_prune_writes_a_smaller_run_that_rebuilds(cnn_run, tmp_path, capsys):
    out = tmp_path / "narrow"
    assert main(["prune", str(cnn_run), "--out", str(out), "--sparsity", "0.5", "--finetune-epochs", "1",
                 "--structured", "--quiet"]) == 0
    config = json.loads((out / rundir.CONFIG).read_text())
    assert config["model"]["channels"] == [16, 32] and config["model"]["hidden"] == 64
    model, _ = rundir.load_run(out)
    assert {k: v.shape for k, v in models.build(config["model"]).state_dict().items()} == \
        {k: v.shape for k, v in model.state_dict().items()}
    assert (out / rundir.MODEL).stat().st_size < 0.3 * (cnn_run / rundir.MODEL).stat().st_size
    capsys.readouterr()
    assert main(["evaluate", str(out)]) == 0
    Image = pytest.importorskip("PIL.Image")
    from lucidnet.datasets import FashionMNIST
    png = tmp_path / "x.png"
    Image.fromarray(FashionMNIST.bundled("test").data[0]).save(png)
    assert main(["predict", str(out), str(png)]) == 0 and "x.png" in capsys.readouterr().out


def test_refusals(cnn_run, tmp_path, capsys, small_data):
    resnet = tmp_path / "resnet"  # an untrained ResNet-20 run: the refusal comes before any training
    config = json.loads((cnn_run / rundir.CONFIG).read_text())
    net = models.build({"name": "resnet", "depth": 20, "width": 4, "in_channels": 1, "num_classes": 10})
    rundir.save_run(resnet, net, {**config, "recipe": "resnet", "model": models.config_of(net)})
    assert main(["prune", str(resnet), "--out", str(tmp_path / "r2"), "--sparsity", "0.5", "--finetune-epochs", "1",
                 "--structured", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "ResNet" in err and "residual" in err and not (tmp_path / "r2").exists()
    assert main(["prune", str(cnn_run), "--out", str(cnn_run), "--sparsity", "0.5", "--finetune-epochs", "1"]) == 2
    assert "another directory" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["prune", str(cnn_run), "--out", str(tmp_path / "x"), "--sparsity", "1.5", "--finetune-epochs", "1"])
    assert "expected a finite value in (0.0, 1.0)" in capsys.readouterr().err
    # a text run: pruning (and --structured) is for image runs
    text = tmp_path / "text"
    text.mkdir()
    (text / rundir.CONFIG).write_text(json.dumps({"model": {"name": "lstm_classifier"},
                                                  "task": "text-classification"}))
    assert main(["prune", str(text), "--out", str(tmp_path / "t2"), "--sparsity", "0.5", "--finetune-epochs", "1",
                 "--structured"]) == 2
    assert "--structured (channel pruning) and pruning applies to image-classification runs" in \
        capsys.readouterr().err
