"""report.html: one self-contained file with the plots embedded (and saved as PNG), the doctor's findings,
the model summary, the confusion matrix and misclassified images; rebuilt from the run directory's files;
rendered in headless Chromium by tools/screenshot_report.py."""
import base64
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lucidnet as ln
from lucidnet import nn
from lucidnet.inspect import Monitor, MonitorLog
from lucidnet.inspect import plots as plots_mod
from lucidnet.inspect.report import build_report, load_predictions, write_run_report

pytest.importorskip("matplotlib")
REPO = Path(__file__).resolve().parents[1]
CLASSES = ["ring", "bar", "dot"]
PNG = b"\x89PNG\r\n\x1a\n"


def images(n=240, seed=0):
    """Tiny 8x8 pictures of three shapes, with noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.uniform(0, 0.4, (n, 1, 8, 8)).astype(np.float32)
    x[y == 0, 0, 1:7, 1] = x[y == 0, 0, 1:7, 6] = x[y == 0, 0, 1, 1:7] = x[y == 0, 0, 6, 1:7] = 1.0
    x[y == 1, 0, :, 3:5] = 1.0
    x[y == 2, 0, 3:5, 3:5] = 1.0
    y[::7] = (y[::7] + 1) % 3  # some wrong labels, so the test set has misclassified images
    return x, y.astype(np.int64)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    ln.manual_seed(0)
    out = tmp_path_factory.mktemp("run")
    x, y = images()
    model = ln.models.MLP(64, [16], 3)
    monitor = Monitor(every=3)
    history = ln.fit(model, (x[:160], y[:160]), loss="cross_entropy", lr=0.01, epochs=3, batch_size=16,
                     val_data=(x[160:200], y[160:200]), callbacks=[monitor], verbose=0)
    logits = ln.train.predict(model, x[200:])
    config = {"model": {"name": "mlp", "in_features": 64, "hidden": [16], "num_classes": 3},
              "input": {"shape": [1, 8, 8]}, "classes": CLASSES, "dataset": "shapes",
              "train": {"epochs": 3, "batch_size": 16}}
    metrics = {"test_accuracy": float((logits.argmax(1) == y[200:]).mean())}
    diagnosis = write_run_report(out, history, monitor, model, config=config, metrics=metrics, y_true=y[200:],
                                 logits=logits, images=x[200:])
    return out, history, monitor, model, config, metrics, diagnosis, logits


def imgs_of(page):
    return re.findall(r'<img class="plot" id="plot-(\w+)" alt="[^"]*" src="data:image/png;base64,([^"]+)"', page)


def test_the_run_directory_gets_the_report_and_its_data(run):
    out, history, monitor, model, config, metrics, diagnosis, logits = run
    for name in ("report.html", "monitor.json", "predictions.npz", "diagnosis.json"):
        assert (out / name).is_file(), name
    assert sorted(p.name for p in (out / "plots").iterdir()) == sorted(
        f"{k}.png" for k in ("loss", "metrics", "lr", "layers", "confusion", "misclassified"))
    assert MonitorLog.load(out / "monitor.json").to_dict() == json.loads(json.dumps(monitor.log.to_dict()))
    assert json.loads((out / "diagnosis.json").read_text()) == diagnosis.to_dict()


def test_report_is_self_contained_and_embeds_the_saved_pngs(run):
    out = run[0]
    page = (out / "report.html").read_text()
    assert page.startswith("<!doctype html>")
    # nothing is fetched: no scripts, stylesheets, or external sources
    assert "<script" not in page and "<link" not in page and "http://" not in page and "https://" not in page
    found = imgs_of(page)
    assert [k for k, _ in found] == ["loss", "metrics", "lr", "layers", "confusion", "misclassified"]
    assert page.count("<img") == len(found)
    for key, data in found:
        png = base64.b64decode(data, validate=True)
        assert png.startswith(PNG) and png == (out / "plots" / f"{key}.png").read_bytes(), key


def test_report_content(run):
    out, history, monitor, model, config, metrics, diagnosis, logits = run
    page = (out / "report.html").read_text()
    assert '<section id="doctor">' in page and ("Healthy." in page) == diagnosis.healthy
    assert "net.1 (Linear)" in page and "Total params: 1,091" in page  # the summary (64*16+16 + 16*3+3)
    assert "(16, 16)" in page  # output shapes at the training batch size
    assert "test accuracy" in page and "shapes" in page
    for c in CLASSES:
        assert c in page


def test_predictions_file(run):
    out, *_, logits = run
    x, y = images()
    p = load_predictions(out / "predictions.npz")
    np.testing.assert_array_equal(p["y_true"], y[200:])
    np.testing.assert_array_equal(p["y_pred"], logits.argmax(1))
    wrong = np.flatnonzero(p["y_pred"] != p["y_true"])
    np.testing.assert_array_equal(p["example_index"], wrong[:32])
    assert p["example_images"].dtype == np.uint8 and p["example_images"].shape == (len(wrong[:32]), 1, 8, 8)
    z = logits - logits.max(1, keepdims=True)
    np.testing.assert_allclose(p["confidence"], np.exp(z).max(1) / np.exp(z).sum(1), rtol=1e-5)


def test_rebuilt_from_the_files_gives_the_same_report(run, tmp_path):
    out, history, monitor, model, config, metrics, diagnosis, _ = run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    (copy / "report.html").unlink()
    shutil.rmtree(copy / "plots")
    d = build_report(copy, history.history, MonitorLog.load(copy / "monitor.json"), model, config=config,
                     metrics=metrics)
    assert d.to_dict() == diagnosis.to_dict()
    before, after = (out / "report.html").read_text(), (copy / "report.html").read_text()
    strip = re.compile(r"on \d{4}-\d\d-\d\d \d\d:\d\d|report: \w+")
    assert [k for k, _ in imgs_of(after)] == [k for k, _ in imgs_of(before)]
    assert strip.sub("", after).replace(copy.name, "") == strip.sub("", before).replace(out.name, "")


def test_without_predictions_or_classes_there_is_no_confusion_matrix(tmp_path):
    log = MonitorLog()
    d = build_report(tmp_path, {"loss": [1.0, 0.8, 0.7], "lr": [0.1, 0.1, 0.1]}, log)
    page = (tmp_path / "report.html").read_text()
    assert [k for k, _ in imgs_of(page)] == ["loss", "lr"]
    assert d.healthy and "layer statistics (no Monitor in the run)" in page


def test_without_matplotlib_the_report_still_has_the_doctor(tmp_path, monkeypatch):
    monkeypatch.setattr(plots_mod, "available", lambda: False)
    with pytest.warns(RuntimeWarning, match="without plots"):
        d = build_report(tmp_path, {"loss": [2.0, 2.0, 2.0]})
    page = (tmp_path / "report.html").read_text()
    assert "<img" not in page and "lucidnet[report]" in page and "the loss is stuck" in page
    assert d.problems() == ["stuck_loss"] and not (tmp_path / "plots").exists()


def test_plots_survive_non_finite_values():
    log = MonitorLog()
    log.steps, log.epochs, log.lr, log.loss = [0, 1, 2], [0, 0, 1], [10.0, 10.0, 10.0], [1.0, np.inf, np.nan, 3.0]
    log.layers = {"0": {"grad_norm": [1.0, np.inf, np.nan], "dead": [0.0, 0.5, np.nan]}}
    log.types, log.kinds = {"0": "Linear"}, {"0": "weight"}
    for png in (plots_mod.loss_curves({"loss": [1.0, None]}, log), plots_mod.layer_stats(log, 2),
                plots_mod.lr_curve({}, log)):
        assert png.startswith(PNG)


# ---- headless Chromium ---------------------------------------------------------------------------------
chromium = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(chromium is None, reason="Chromium is not installed (apt-get install chromium)")


def screenshot(path, out):
    pytest.importorskip("PIL")
    return subprocess.run([sys.executable, str(REPO / "tools" / "screenshot_report.py"), str(path), "--out", str(out),
                           "--chromium", chromium], capture_output=True, text=True, timeout=300)


@needs_chromium
def test_report_renders_in_headless_chromium_with_every_plot(run, tmp_path):
    res = screenshot(run[0], tmp_path / "shot.png")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "all plots are on the page" in res.stdout
    assert res.stdout.count("ok  plot-") == 6
    assert (tmp_path / "shot.png").read_bytes().startswith(PNG)


@needs_chromium
def test_the_screenshot_check_fails_when_the_plots_are_not_shown(run, tmp_path):
    page = (run[0] / "report.html").read_text()
    broken = tmp_path / "report.html"
    broken.write_text(page.replace("</style>", "img.plot{visibility:hidden}</style>", 1))
    res = screenshot(broken, tmp_path / "shot.png")
    assert res.returncode == 1
    assert res.stdout.count("FAIL plot-") == 6 and "blank" in res.stdout
