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


# ---- what new users tripped over (issue: report.html) ----------------------------------------------------
from html.parser import HTMLParser


class Parsed(HTMLParser):
    """The page's sections in order (id, text), figure captions by section id, and tables as rows of cells."""

    def __init__(self, page):
        super().__init__()
        self.sections, self.captions, self.tables, self.pres = [], {}, [], []
        self._in, self._section, self._cell = [], None, None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self._in.append((tag, a))
        if tag == "section":
            self._section = a.get("id")
            self.sections.append([self._section, ""])
        elif tag == "table":
            self.tables.append({"class": a.get("class"), "name": a.get("data-metric"), "rows": []})
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag == "pre":
            self.pres.append([a.get("class"), ""])

    def handle_endtag(self, tag):
        while self._in and self._in.pop()[0] != tag:
            pass
        if tag in ("td", "th") and self.tables:
            self.tables[-1]["rows"][-1].append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self.sections:
            self.sections[-1][1] += data
        if self._cell is not None:
            self._cell += data
        if any(t == "figcaption" for t, _ in self._in):
            self.captions[self._section] = self.captions.get(self._section, "") + data
        if any(t == "pre" for t, _ in self._in):
            self.pres[-1][1] += data


def test_the_headline_metric_comes_first(run):
    out, metrics = run[0], run[5]
    page = Parsed((out / "report.html").read_text())
    sid, text = page.sections[0]
    assert sid == "headline" and "test accuracy" in text and f"{metrics['test_accuracy']:#.4g}" in text
    assert '<span class="value">' in (out / "report.html").read_text()


@pytest.mark.parametrize("metrics, label, value, also", [
    ({"test_loss": 0.31, "test_accuracy": 0.871234, "dev_accuracy": 0.86}, "test accuracy", "0.8712", "dev accuracy"),
    ({"val_loss": 1.4567, "val_bits_per_char": 2.1}, "validation loss (nats/char)", "1.457", "bits/char"),
    ({"test_rmse": 0.91234, "test_mae": 0.71}, "test RMSE", "0.9123", "MAE"),
    ({"epochs": 3, "test_hr10": 0.65, "test_ndcg10": 0.38}, "test HR@10", "0.6500", "NDCG@10")])
def test_the_headline_of_each_kind_of_run(tmp_path, metrics, label, value, also):
    build_report(tmp_path, {"loss": [1.0, 0.8, 0.7]}, metrics=metrics)
    sid, text = Parsed((tmp_path / "report.html").read_text()).sections[0]
    assert sid == "headline" and label in text and value in text and also in text


def test_nested_metrics_are_a_table_with_4_significant_digits(tmp_path):
    metrics = {"test_hr10": 0.25, "baselines": {
        "global_mean": {"hr": 0.10000000000000002, "ndcg": 0.04543559338088345, "users": 20, "k": 10},
        "popularity": {"hr": 0.10988095238095238, "ndcg": 0.05932796671494319, "users": 20, "k": 10}}}
    build_report(tmp_path, {"loss": [1.0, 0.8, 0.7], "val_hr": [0.1, 0.2, 0.25]}, metrics=metrics)
    text = (tmp_path / "report.html").read_text()
    assert "0.10000000000000002" not in text and "{&quot;" not in text  # no raw JSON
    table = next(t for t in Parsed(text).tables if t["name"] == "baselines")
    assert table["rows"] == [["", "hr", "ndcg", "users", "k"], ["global_mean", "0.1", "0.04544", "20", "10"],
                             ["popularity", "0.1099", "0.05933", "20", "10"]]


def test_captions_describe_what_is_plotted(tmp_path, run):
    build_report(tmp_path, {"loss": [1.0, 0.8, 0.7], "accuracy": [0.5, 0.6, 0.7], "lr": [0.1] * 3})
    caps = Parsed((tmp_path / "report.html").read_text()).captions
    assert "validation" not in caps["loss"].lower() and "per step" not in caps["loss"]
    assert "training loss averaged over each epoch" in caps["loss"]
    assert caps["metrics"] == "accuracy at the end of each epoch, on the training data."
    caps = Parsed((run[0] / "report.html").read_text()).captions  # a monitor and validation data
    assert "per step" in caps["loss"] and "validation loss" in caps["loss"]
    assert "training data and the validation data" in caps["metrics"]
    assert "dead ReLU" in caps["layers"] and "saturated" not in caps["layers"]  # the run has no sigmoid/tanh


def test_the_configuration_wraps(run):
    page = (run[0] / "report.html").read_text()
    assert "pre.wrap{white-space:pre-wrap" in page
    cls, text = next(p for p in Parsed(page).pres if '"model"' in p[1])
    assert cls == "wrap"


def test_loss_and_metrics_share_one_epoch_axis(monkeypatch):
    figs = []
    real = plots_mod._png
    monkeypatch.setattr(plots_mod, "_png", lambda fig: figs.append(fig) or real(fig))
    hist = {"loss": [1.0, 0.8, 0.7], "val_loss": [1.1, 0.9, 0.8], "accuracy": [0.5, 0.6, 0.7]}
    log = MonitorLog()
    log.loss = [1.2, 1.0, 0.9, 0.8, 0.75, 0.7]  # two steps an epoch
    plots_mod.loss_curves(hist, log)
    plots_mod.metric_curves(hist)
    lines = {ln_.get_label(): list(ln_.get_xdata()) for fig in figs for ax in fig.axes for ln_ in ax.get_lines()}
    assert lines["train (epoch mean)"] == lines["validation"] == lines["train"] == [1, 2, 3]
    assert lines["train (per step)"][-1] == 3.0


def test_validations_inside_the_epochs_are_drawn_where_they_were_made(monkeypatch, tmp_path):
    figs = []
    real = plots_mod._png
    monkeypatch.setattr(plots_mod, "_png", lambda fig: figs.append(fig) or real(fig))
    hist = {"loss": [1.0, 0.8], "val_loss": [1.1, 0.9], "accuracy": [0.5, 0.6], "val_accuracy": [0.4, 0.7]}
    (tmp_path / "validations.csv").write_text("step,epoch,val_loss,val_accuracy\n2,0.5,1.3,0.3\n4,1.0,1.1,0.4\n"
                                              "6,1.5,1.0,0.6\n8,2.0,0.9,0.7\n")
    build_report(tmp_path, hist)
    lines = {(ax.get_title(), ln_.get_label()): (list(ln_.get_xdata()), list(ln_.get_ydata()))
             for fig in figs for ax in fig.axes for ln_ in ax.get_lines()}
    assert lines[("Loss", "validation")] == ([0.5, 1.0, 1.5, 2.0], [1.3, 1.1, 1.0, 0.9])
    assert lines[("accuracy", "validation")] == ([0.5, 1.0, 1.5, 2.0], [0.3, 0.4, 0.6, 0.7])
    assert lines[("accuracy", "train")] == ([1, 2], [0.5, 0.6])
    caps = Parsed((tmp_path / "report.html").read_text()).captions
    assert "the validation loss at every validation, inside the epochs and at their ends" in caps["loss"]
    assert "the validation data's at every validation" in caps["metrics"]
    (tmp_path / "validations.csv").write_text("step,epoch,val_loss\n2,x,1.3\n")
    with pytest.raises(ValueError, match="validations.csv, line 2: 'x' is not a number"):
        build_report(tmp_path, hist)


def test_a_corrupt_attention_file_is_left_out_with_a_warning(tmp_path):
    """attention.json (a translation run's maps) that is not valid, or whose weights do not match its tokens,
    never breaks the report: the maps are left out with a warning naming the file."""
    from lucidnet.inspect.report import read_attention
    good = [{"source": ["a", "b"], "target": ["x", "</s>"], "weights": [[0.5, 0.5], [1.0, 0.0]]}]
    path = tmp_path / "attention.json"
    path.write_text(json.dumps(good))
    assert read_attention(path) == good
    for bad in ("{not json", json.dumps([{"source": ["a"], "target": ["x"], "weights": [[0.5, 0.5]]}]),
                json.dumps([{"source": ["a"]}])):
        path.write_text(bad)
        with pytest.warns(RuntimeWarning, match="attention maps left out"):
            assert read_attention(path) is None
