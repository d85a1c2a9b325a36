"""Every `lucidnet train` run writes report.html and runs the doctor; `lucidnet report RUN_DIR` rebuilds it."""
import json
import re

import pytest

from lucidnet.cli import main
from lucidnet.inspect import MonitorLog
from lucidnet.inspect.monitor import DEFAULT_EVERY

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["train", "--out", str(out), "--epochs", "1", "--quiet"]) == 0  # 10% held out by default
    return out


def test_train_writes_the_report_and_prints_the_doctor(run_dir, capsys):
    for name in ("report.html", "monitor.json", "predictions.npz", "diagnosis.json", "plots/confusion.png",
                 "plots/misclassified.png", "plots/layers.png"):
        assert (run_dir / name).is_file(), name
    log = MonitorLog.load(run_dir / "monitor.json")
    steps = -(-5400 // 128)
    assert len(log.loss) == steps and log.steps == list(range(0, steps, DEFAULT_EVERY))
    assert list(log.kinds.values()) == ["weight", "relu", "weight", "relu", "weight"]
    page = (run_dir / "report.html").read_text()
    for piece in ("Confusion matrix", "Misclassified test images", "Ankle boot", "net.1 (Linear)", "Doctor"):
        assert piece in page, piece
    diagnosis = json.loads((run_dir / "diagnosis.json").read_text())
    assert diagnosis["healthy"], diagnosis  # the default recipe trains well
    # 10% of the bundled images held out: validation metrics, though one epoch is too few to judge by
    assert diagnosis["skipped"] == ["overfitting (validation metrics of one epoch only)"]
    assert json.loads((run_dir / "config.json").read_text())["train"]["val_split"] == 0.1
    assert "val_accuracy" in (run_dir / "history.csv").read_text().splitlines()[0]


def test_report_command_rebuilds_the_report(run_dir, capsys):
    (run_dir / "report.html").unlink()
    capsys.readouterr()
    assert main(["report", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Doctor: healthy.") and "report written to" in out
    page = (run_dir / "report.html").read_text()
    assert len(re.findall(r'<img class="plot"', page)) == 6


def test_report_command_errors(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_a_text_run_with_dev_data_is_judged_for_overfitting(tmp_path, capsys):
    from text_fixture import write_sst2

    write_sst2(tmp_path / "data" / "sst2")
    out = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "data"), "--out", str(out), "--quiet", "--dataset", "sst2",
                 "--model", "textcnn", "--epochs", "3", "--batch-size", "16", "--embed-dim", "8"]) == 0
    diagnosis = json.loads((out / "diagnosis.json").read_text())
    assert "overfitting" in diagnosis["checked"], diagnosis
    assert not any("overfitting" in s for s in diagnosis["skipped"])
    assert "val_accuracy" in (out / "history.csv").read_text().splitlines()[0]
    capsys.readouterr()
    assert main(["report", str(out)]) == 0  # rebuilt from the files: judged the same way
    assert json.loads((out / "diagnosis.json").read_text()) == diagnosis
