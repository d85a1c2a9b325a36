"""The training report: ``report.html``, one self-contained file (every image embedded as a base64 PNG), with
the loss and metric curves, the learning rate, the per-layer statistics over time, the doctor's findings,
the model summary and, for classifiers, the confusion matrix and a grid of misclassified test images. The
plots are also saved as PNG files in ``plots/``.

A run directory gets, beside what ``lucidnet train`` writes:

    monitor.json      the Monitor's statistics (``MonitorLog``)
    predictions.npz   test labels and predictions, and the misclassified images shown in the report
    diagnosis.json    the doctor's findings
    report.html       the report;  plots/*.png  its figures

``write_run_report`` saves the first two and builds the report; ``build_report`` rebuilds it from the files
(``lucidnet report RUN_DIR``).
"""
from __future__ import annotations

import base64
import datetime
import html
import json
import os
import warnings
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .. import distributed as dist
from ..ops import softmax
from ..serialization.atomic import atomic_write
from ..tensor import from_numpy
from ..train.metrics import confusion_matrix
from ..train.rundir import (ALIGNMENT, ATTENTION, DIAGNOSIS, MONITOR, PLOTS, PREDICTIONS, REPORT, VALIDATIONS,
                            read_validations, save_run, write_metrics)
from . import plots
from .doctor import Diagnosis, diagnose
from .monitor import Monitor, MonitorLog
from ..nn.summary import summary as model_summary

__all__ = ["finish_run", "write_run_report", "build_report", "render_html", "save_predictions", "load_predictions", "REPORT",
           "MONITOR", "PREDICTIONS", "DIAGNOSIS", "PLOTS"]

MAX_EXAMPLES = 32


# ---- the run directory's files ------------------------------------------------------------------------
def save_predictions(path: str | os.PathLike, y_true: np.ndarray, *, logits: np.ndarray | None = None,
                     y_pred: np.ndarray | None = None, images: np.ndarray | None = None,
                     max_examples: int = MAX_EXAMPLES) -> None:
    """Save test labels and predictions (from ``logits`` (N, C) or ``y_pred``), and up to ``max_examples``
    misclassified ``images`` (floats in [0, 1], stored as uint8) for the report's grid."""
    y_true = np.asarray(y_true).astype(np.int64).reshape(-1)
    if logits is not None:
        logits = np.asarray(logits)
        if logits.ndim != 2 or len(logits) != len(y_true):
            raise ValueError(f"save_predictions: logits should be (N, classes) with N = {len(y_true)} labels, got "
                             f"shape {logits.shape}")
        y_pred, conf = logits.argmax(axis=1), softmax(from_numpy(logits), dim=1).array.max(axis=1).astype(np.float32)
    elif y_pred is not None:
        conf = None
    else:
        raise ValueError("save_predictions: give logits or y_pred")
    y_pred = np.asarray(y_pred).astype(np.int64).reshape(-1)
    if len(y_pred) != len(y_true):
        raise ValueError(f"save_predictions: {len(y_pred)} predictions for {len(y_true)} labels")
    arrays = {"y_true": y_true, "y_pred": y_pred}
    if conf is not None:
        arrays["confidence"] = conf
    wrong = np.flatnonzero(y_pred != y_true)
    if images is not None and len(wrong):
        if len(images) != len(y_true):
            raise ValueError(f"save_predictions: {len(images)} images for {len(y_true)} labels")
        pick = wrong[:max_examples]  # the first ones: the test set's order is arbitrary, and this is repeatable
        arrays["example_index"] = pick
        arrays["example_images"] = np.clip(np.rint(np.asarray(images[pick], dtype=np.float32) * 255), 0,
                                           255).astype(np.uint8)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    buf = _npz_bytes(arrays)
    atomic_write(path, [buf])


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    import io

    b = io.BytesIO()
    np.savez_compressed(b, **arrays)
    return b.getvalue()


def load_predictions(path: str | os.PathLike) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _read_examples(path: str | os.PathLike, what: str, check) -> list[dict] | None:
    """The list of examples a run saved for a figure, each passed to ``check`` (which raises on a bad one), or
    None (with a warning naming ``what`` is left out) when the file is not such a list."""
    try:
        examples = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(examples, list):
            raise ValueError(f"expected a list, found {type(examples).__name__}")
        for e in examples:
            check(e)
        return examples
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        warnings.warn(f"{path}: {what} left out of the report ({e})", RuntimeWarning, stacklevel=3)
        return None


def _check_attention(e: dict) -> None:
    w = np.asarray(e["weights"], dtype=float)
    if w.shape != (len(e["target"]), len(e["source"])):
        raise ValueError(f"weights of shape {w.shape} for {len(e['target'])} x {len(e['source'])} tokens")


def _check_alignment(e: dict) -> None:
    spec = np.asarray(e["spectrogram"], dtype=float)
    if spec.ndim != 2 or len(e["frames"]) != len(e["labels"]) or not isinstance(e["reference"], list):
        raise ValueError("an alignment needs a 2-D spectrogram, one frame per label and a reference list")
    if any(not 0 <= float(f) <= spec.shape[1] for f in e["frames"]):
        raise ValueError(f"alignment frames outside the spectrogram's {spec.shape[1]} frames")
    post = np.asarray(e.get("posteriors", []), dtype=float)
    if post.size and post.ndim != 2:
        raise ValueError(f"posteriors of shape {post.shape}, expected (classes, frames)")


def read_attention(path: str | os.PathLike) -> list[dict] | None:
    """The attention maps a translation run saved (``attention.json``: a list of ``{"source": tokens,
    "target": tokens, "weights": rows}``), or None (with a warning) when the file is not such a list."""
    return _read_examples(path, "attention maps", _check_attention)


def read_alignment(path: str | os.PathLike) -> list[dict] | None:
    """The CTC alignments a speech run saved (``alignment.json``: a list of ``{"spectrogram": bands x frames,
    "reference": labels, "labels": predicted, "frames": their start frames, "posteriors": classes x output
    frames, "frame_seconds"}``), or None (with a warning) when the file is not such a list."""
    return _read_examples(path, "CTC alignments", _check_alignment)


def _history_dict(history: Any) -> dict[str, list]:
    h = getattr(history, "history", history) or {}
    return {k: list(v) for k, v in h.items()}


# ---- building -------------------------------------------------------------------------------------------
def write_run_report(run_dir: str | os.PathLike, history: Any, monitor: Monitor | MonitorLog | None = None,
                     model: Any = None, *, config: Mapping | None = None, metrics: Mapping | None = None,
                     y_true: np.ndarray | None = None, logits: np.ndarray | None = None,
                     y_pred: np.ndarray | None = None, images: np.ndarray | None = None,
                     figures: Sequence[tuple[str, str, bytes, str]] = ()) -> Diagnosis:
    """Save the run's monitor statistics and test predictions in ``run_dir``, run the doctor and write
    ``report.html`` (and ``plots/*.png``, ``diagnosis.json``). Returns the doctor's ``Diagnosis``.

    ``history``: the ``History`` from ``fit`` (or its dict); ``model``: for the summary table (its input
    shape from ``config["input"]["shape"]``); ``config``/``metrics``: the run's settings and test results,
    shown at the top; ``y_true`` with ``logits`` or ``y_pred``: test labels and outputs, for the confusion
    matrix; ``images``: the test images, for the grid of misclassified ones; ``figures``: the application's own
    figures, ``(key, title, png bytes, caption)`` each, shown after the others.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    log = monitor.log if isinstance(monitor, Monitor) else monitor
    if log is not None:
        log.save(run_dir / MONITOR)
    if y_true is not None:
        save_predictions(run_dir / PREDICTIONS, y_true, logits=logits, y_pred=y_pred, images=images)
    return build_report(run_dir, history, log, model, config=config, metrics=metrics, figures=figures)


def build_report(run_dir: str | os.PathLike, history: Any, log: MonitorLog | None = None, model: Any = None, *,
                 config: Mapping | None = None, metrics: Mapping | None = None,
                 figures: Sequence[tuple[str, str, bytes, str]] = ()) -> Diagnosis:
    """Write ``report.html``, ``plots/*.png`` and ``diagnosis.json`` in ``run_dir`` from what is given and from
    ``predictions.npz`` if the directory has one. Returns the ``Diagnosis``."""
    run_dir = Path(run_dir)
    config = dict(config or {})
    hist = _history_dict(history)
    classes = list(config.get("classes") or [])
    kept = (metrics or {}).get("best_epoch")  # a recipe that restored its best epoch's weights says which
    diagnosis = diagnose(log, hist if hist else None, num_classes=len(classes) or None,
                         kept_epoch=kept if isinstance(kept, int) and kept > 0 else None) \
        if (log is not None or hist) else Diagnosis([], [], ["everything (no history and no monitor)"])
    atomic_write(run_dir / DIAGNOSIS, [json.dumps(diagnosis.to_dict(), indent=2).encode() + b"\n"])
    summary_text = None
    shape = config.get("input", {}).get("shape") if isinstance(config.get("input"), Mapping) else None
    if model is not None and shape:
        batch = int(config.get("train", {}).get("batch_size", 1))
        summary_text = str(model_summary(model, tuple(shape), batch_size=batch))
    preds = load_predictions(run_dir / PREDICTIONS) if (run_dir / PREDICTIONS).is_file() else None
    notes = []
    attention = read_attention(run_dir / ATTENTION) if (run_dir / ATTENTION).is_file() else None
    extra = list(figures)
    alignment = read_alignment(run_dir / ALIGNMENT) if (run_dir / ALIGNMENT).is_file() else None
    validations = read_validations(run_dir / VALIDATIONS) if (run_dir / VALIDATIONS).is_file() else None
    if plots.available():
        figures = _figures(hist, log, preds, classes, attention, alignment, validations)
    else:
        figures = []
        notes.append('The plots need matplotlib, which is not installed: pip install "lucidnet[report]", then '
                     "run: lucidnet report RUN_DIR")
        warnings.warn(f"{run_dir / REPORT}: written without plots; {notes[0]}", RuntimeWarning, stacklevel=2)
    plot_dir = run_dir / PLOTS
    drawn = [(key, title, png, caption) for key, title, png, caption in figures if png is not None]
    drawn += [tuple(f) for f in extra]
    if drawn:
        plot_dir.mkdir(exist_ok=True)
    for key, _, png, _ in drawn:
        atomic_write(plot_dir / f"{key}.png", [png])
    page = render_html(title=f"lucidnet training report: {run_dir.resolve().name}", facts=_facts(config, metrics, hist),
                       diagnosis=diagnosis, figures=drawn, summary_text=summary_text, config=config, notes=notes,
                       metrics=metrics)
    atomic_write(run_dir / REPORT, [page.encode()])
    return diagnosis


def _figures(hist: dict[str, list], log: MonitorLog | None, preds: dict | None, classes: list[str],
             attention: list | None = None, alignment: list | None = None,
             validations: dict[str, list] | None = None) -> list[tuple[str, str, bytes | None, str]]:
    inside = plots.in_epochs(validations)
    figures: list[tuple[str, str, bytes | None, str]] = [
        ("loss", "Loss", plots.loss_curves(hist, log, validations), _loss_caption(hist, log, inside)),
        ("metrics", "Metrics", plots.metric_curves(hist, validations), _metrics_caption(hist, inside)),
        ("lr", "Learning rate", plots.lr_curve(hist, log), ""),
        ("layers", "Layers over time", plots.layer_stats(log, len(hist.get("loss", []))), _layers_caption(log)),
    ]
    if attention:
        figures.append(("attention", "Attention", plots.attention_maps(attention),
                        "Test sentences: how much each output subword (rows) attends to each source subword "
                        "(columns) in the decoder's last attention over the source (mean over heads)."))
    if alignment:
        figures.append(("alignment", "CTC alignments", plots.ctc_alignments(alignment),
                        "Test utterances: the log-mel spectrogram with the frame where each predicted label starts "
                        "(best path), and below it each label's probability per output frame (grey: the blank)."))
    if preds is not None and classes:
        c = len(classes)
        cm = confusion_matrix(np.eye(c, dtype=np.float32)[preds["y_pred"]], preds["y_true"], num_classes=c)
        figures.append(("confusion", "Confusion matrix", plots.confusion(cm, classes),
                        "Test set; rows: true class, columns: predicted class."))
        if "example_images" in preds:
            idx = preds["example_index"]
            conf = preds["confidence"][idx] if "confidence" in preds else None
            figures.append(("misclassified", "Misclassified test images",
                            plots.misclassified(preds["example_images"], preds["y_true"][idx], preds["y_pred"][idx],
                                                classes, conf),
                            f"The first {len(idx)} misclassified test images: true class, then the prediction "
                            "(and its probability)."))
    return figures


def _has(hist: dict[str, list], key: str) -> bool:
    return any(v is not None and np.isfinite(v) for v in hist.get(key, []))


def _loss_caption(hist: dict[str, list], log: MonitorLog | None, inside: bool = False) -> str:
    """What the loss plot shows (the same conditions as ``plots.loss_curves``; ``inside``: the validations
    inside the epochs are drawn too)."""
    parts = []
    if log is not None and log.loss and hist.get("loss"):
        parts.append("training loss per step (faint)")
    if hist.get("loss"):
        parts.append("the training loss averaged over each epoch")
    if _has(hist, "val_loss"):
        parts.append(f"the validation loss {_WHEN[inside]}")
    if not parts:
        return ""
    text = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    return f"{text[0].upper()}{text[1:]}; x: epochs, each epoch's values at its end (1 to N)."


_WHEN = {False: "at the end of each epoch", True: "at every validation, inside the epochs and at their ends"}


def _metrics_caption(hist: dict[str, list], inside: bool = False) -> str:
    names = plots.metric_names(hist)
    if not names:
        return ""
    train = [n for n in names if _has(hist, n)]
    val = [n for n in names if _has(hist, f"val_{n}")]
    where = " and ".join(w for w, have in (("the training data", train), ("the validation data", val)) if have)
    if inside and val:
        return f"{', '.join(names)} on {where}: the training data's at the end of each epoch, the validation " \
               f"data's {_WHEN[True]}."
    return f"{', '.join(names)} at the end of each epoch, on {where}."


def _layers_caption(log: MonitorLog | None) -> str:
    if log is None or not log.steps:
        return ""
    stats = {k for st in log.layers.values() for k in st}
    what = [text for key, text in (("act_mean", "activation mean and spread"), ("dead", "the fraction of dead ReLU "
                                   "units"), ("saturated", "the fraction of saturated sigmoid/tanh outputs"),
                                   ("weight_norm", "weight and gradient norms"),
                                   ("update_ratio", "how much each step changes the weights relative to their size"))
            if key in stats]
    return f"Per layer, every {log.every} steps: {', '.join(what)}."


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, dict)):
        return json.dumps(v)
    return str(v)


def _facts(config: Mapping, metrics: Mapping | None, hist: dict[str, list]) -> list[tuple[str, str]]:
    facts: list[tuple[str, str]] = []
    if "dataset" in config:
        facts.append(("dataset", str(config["dataset"])))
    model = config.get("model")
    if isinstance(model, Mapping):
        facts.append(("model", ", ".join(f"{k}={_fmt(v)}" for k, v in model.items())))
    for k, v in (config.get("train") or {}).items():
        facts.append((k.replace("_", " "), _fmt(v)))
    for k, v in (metrics or {}).items():
        if isinstance(v, Mapping):  # a nested table (a recommender's baselines): shown as a table of its own
            continue
        label = k.replace("_", " ")
        if any(f[0] == label for f in facts):  # e.g. epochs asked for vs epochs run
            label = f"{label} (result)"
        facts.append((label, _fmt(v)))
    if not metrics:
        for k, vals in hist.items():
            if vals and k != "lr":
                facts.append((f"final {k}", _fmt(vals[-1])))
    return facts


# the headline: the first of these that metrics.json has, with the others of its task beside it
HEADLINES = (("test_accuracy", "test accuracy", ("test_loss", "dev_accuracy")),
             ("test_hr10", "test HR@10", ("test_ndcg10",)),
             ("test_rmse", "test RMSE", ("test_mae",)),
             ("val_loss", "validation loss (nats/char)", ("val_bits_per_char",)),
             ("test_loss", "test loss", ()))
_LABELS = {"test_loss": "test loss", "dev_accuracy": "dev accuracy", "test_ndcg10": "NDCG@10", "test_mae": "MAE",
           "val_bits_per_char": "bits/char"}


def headline(metrics: Mapping | None) -> tuple[str, str, list[tuple[str, str]]] | None:
    """(label, value, [(label, value) of the companion metrics]) of a run's headline metric, or None."""
    for key, label, also in HEADLINES:
        v = (metrics or {}).get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            rest = [(_LABELS[k], f"{float(metrics[k]):#.4g}") for k in also
                    if isinstance(metrics.get(k), (int, float)) and not isinstance(metrics.get(k), bool)]
            return label, f"{float(v):#.4g}", rest  # 4 significant digits, trailing zeros kept: 0.8500
    return None


def _tables(metrics: Mapping | None) -> list[tuple[str, list[str], list[list[str]]]]:
    """Nested metrics as tables: (title, header, rows); ``{name: {metric: value}}`` gives a row per name, a flat
    ``{metric: value}`` a row per metric. Numbers to 4 significant digits."""
    out = []
    for k, v in (metrics or {}).items():
        if not isinstance(v, Mapping) or not v:
            continue
        if all(isinstance(x, Mapping) for x in v.values()):
            cols = list(dict.fromkeys(c for row in v.values() for c in row))
            rows = [[str(name)] + [_fmt(row[c]) if c in row else "" for c in cols] for name, row in v.items()]
            out.append((k.replace("_", " "), [""] + cols, rows))
        else:
            out.append((k.replace("_", " "), ["", "value"], [[str(a), _fmt(b)] for a, b in v.items()]))
    return out


# ---- HTML ------------------------------------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1d2430}
main{max-width:1180px;margin:0 auto;padding:24px 32px 48px}
h1{font-size:26px;margin:8px 0 2px}h2{font-size:19px;margin:0 0 10px}
.sub{color:#5b6573;margin:0 0 18px;font-size:14px}
section{background:#fff;border:1px solid #e1e4e8;border-radius:8px;padding:18px 20px;margin:0 0 18px}
table.facts{border-collapse:collapse;font-size:14px}
table.facts td{padding:3px 18px 3px 0;vertical-align:top;overflow-wrap:anywhere}
table.facts td:first-child{color:#5b6573;white-space:nowrap}
table.metrics{border-collapse:collapse;font-size:14px;margin:4px 0 10px}
table.metrics th,table.metrics td{padding:3px 14px;border-bottom:1px solid #e1e4e8;text-align:right}
table.metrics th:first-child,table.metrics td:first-child{text-align:left}
.headline{display:flex;align-items:baseline;gap:28px;flex-wrap:wrap}
.headline .label{color:#5b6573;font-size:15px;display:block}
.headline .value{font-size:40px;font-weight:600;line-height:1.1}
.headline .also{color:#5b6573;font-size:15px}
.nothing{border-left:5px solid #8c959f;background:#f6f8fa;padding:10px 14px;border-radius:4px;font-size:15px}
.finding{border-left:5px solid #d4a72c;background:#fff8e5;padding:10px 14px;margin:0 0 10px;border-radius:4px}
.finding.error{border-color:#cf222e;background:#ffebe9}
.finding h3{margin:0 0 4px;font-size:16px}.finding p{margin:3px 0;font-size:14px}
.healthy{border-left:5px solid #1a7f37;background:#dafbe1;padding:10px 14px;border-radius:4px;font-size:15px}
.note{color:#5b6573;font-size:13px;margin:6px 0 0}
img.plot{max-width:100%;height:auto;display:block}
figcaption{color:#5b6573;font-size:13px;margin-top:6px}
pre{background:#f6f8fa;padding:12px;border-radius:6px;overflow-x:auto;font-size:12.5px;line-height:1.35}
pre.wrap{white-space:pre-wrap;overflow-wrap:anywhere}
"""


def _doctor_html(d: Diagnosis) -> str:
    e = html.escape
    if d.healthy:
        body = (f'<div class="healthy"><b>Healthy.</b> No problems found (checked: {e(", ".join(d.checked))}).'
                '</div>')
    elif not d.findings:
        body = '<div class="nothing"><b>Nothing could be checked.</b> See below for why.</div>'
    else:
        parts = []
        for f in d.findings:
            where = f" &mdash; {e(f.layer)}" if f.layer else ""
            parts.append(f'<div class="finding {e(f.severity)}" data-problem="{e(f.problem)}">'
                         f"<h3>{e(f.title)}{where}</h3><p><b>Evidence:</b> {e(f.evidence)}</p>"
                         f"<p><b>Suggestion:</b> {e(f.suggestion)}</p></div>")
        body = "\n".join(parts)
    if d.skipped:
        body += f'\n<p class="note">Not checked: {e("; ".join(d.skipped))}.</p>'
    return body


def _headline_html(h: tuple[str, str, list[tuple[str, str]]]) -> str:
    e = html.escape
    label, value, also = h
    rest = "".join(f'<div class="also"><span class="label">{e(k)}</span>{e(v)}</div>' for k, v in also)
    return (f'<section id="headline" class="headline"><div><span class="label">{e(label)}</span>'
            f'<span class="value">{e(value)}</span></div>{rest}</section>')


def _table_html(title: str, header: list[str], rows: list[list[str]]) -> str:
    e = html.escape
    head = "".join(f"<th>{e(c)}</th>" for c in header)
    body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return (f'<h2>{e(title[0].upper() + title[1:])}</h2><table class="metrics" data-metric="{e(title)}">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def render_html(*, title: str, facts: Sequence[tuple[str, str]], diagnosis: Diagnosis,
                figures: Sequence[tuple[str, str, bytes, str]], summary_text: str | None = None,
                config: Mapping | None = None, notes: Sequence[str] = (),
                metrics: Mapping | None = None) -> str:
    """The report page: one HTML string with every figure inlined as a data URI."""
    e = html.escape
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    out = ["<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{e(title)}</title><style>{_CSS}</style></head><body><main>",
           f"<h1>{e(title)}</h1><p class=\"sub\">Written by lucidnet {e(_version())} on {now}.</p>"]
    top = headline(metrics)
    if top is not None:
        out.append(_headline_html(top))
    if facts:
        rows = "".join(f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in facts)
        out.append(f'<section><h2>Run</h2><table class="facts">{rows}</table></section>')
    tables = _tables(metrics)
    if tables:
        out.append('<section id="metric-tables">' + "".join(_table_html(*t) for t in tables) + "</section>")
    out.append(f'<section id="doctor"><h2>Doctor</h2>{_doctor_html(diagnosis)}</section>')
    for note in notes:
        out.append(f'<section class="note-box"><p class="note">{e(note)}</p></section>')
    for key, heading, png, caption in figures:
        data = base64.b64encode(png).decode("ascii")
        cap = f"<figcaption>{e(caption)}</figcaption>" if caption else ""
        out.append(f'<section id="{e(key)}"><h2>{e(heading)}</h2><figure style="margin:0">'
                   f'<img class="plot" id="plot-{e(key)}" alt="{e(heading)}" src="data:image/png;base64,{data}">'
                   f"{cap}</figure></section>")
    if summary_text:
        out.append(f'<section id="summary"><h2>Model</h2><pre>{e(summary_text)}</pre></section>')
    if config:
        text = "\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in config.items())
        out.append(f'<section id="config"><h2>Configuration</h2><pre class="wrap">{e(text)}</pre></section>')
    out.append("</main></body></html>\n")
    return "\n".join(out)


def _version() -> str:
    from .. import __version__

    return __version__


def finish_run(out: str | os.PathLike | None, model: Any, config: Mapping, metrics: dict, message: str, history: Any,
               monitor: Monitor | MonitorLog | None = None, *, footer: str = "",
               figures: Sequence[tuple[str, str, bytes, str]] = (), **predictions: Any) -> Diagnosis | None:
    """The end of every recipe's run. Without a run directory (``out=None``): ``message`` printed. With one: the
    model and config saved, ``metrics.json`` written (and the training checkpoint removed), ``message`` and
    ``footer`` printed, then the report (:func:`write_run_report`) written and the doctor's findings printed.
    In a data-parallel run (``mpiexec``) rank 0 alone does this; the other ranks return None."""
    if not dist.is_main_process():
        return None
    if out is None:
        print(message + (f"\n{footer}" if footer else ""))
        return None
    save_run(out, model, dict(config))
    write_metrics(out, metrics)
    print(f"{message}  run saved to {out}" + (f"\n{footer}" if footer else ""))
    diagnosis = write_run_report(out, history, monitor, model, config=config, metrics=metrics, figures=figures,
                                 **predictions)
    print(f"{diagnosis}\nreport: {Path(out) / REPORT}")
    return diagnosis
