"""The report's figures, drawn with matplotlib's Agg canvas (no window, no global backend change) and
returned as PNG bytes.

Every function takes plain data (lists and arrays) and returns ``bytes`` (a PNG) or None when there is
nothing to draw.
"""
from __future__ import annotations

import io
import math
from typing import Any, Sequence

import numpy as np

from .monitor import MonitorLog

__all__ = ["available", "loss_curves", "metric_names", "metric_curves", "lr_curve", "layer_stats", "confusion", "misclassified"]

MAX_LEGEND = 10

_STATS = (("act_mean", "activation mean", False), ("act_std", "activation std", False),
          ("dead", "dead ReLU fraction", False), ("saturated", "saturated fraction", False),
          ("weight_norm", "weight norm", True), ("grad_norm", "gradient norm", True),
          ("update_ratio", "update / weight", True))


def available() -> bool:
    """Whether matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _figure(w: float, h: float) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError('the training report needs matplotlib: pip install "lucidnet[report]"') from None
    fig = Figure(figsize=(w, h), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _finite(v: Sequence[float]) -> np.ndarray:
    a = np.asarray([math.nan if x is None else x for x in v], dtype=np.float64)
    a[~np.isfinite(a)] = np.nan
    return a


def _log_if_wide(ax: Any, *series: np.ndarray) -> None:
    vals = np.concatenate([s[np.isfinite(s)] for s in series]) if series else np.zeros(0)
    if vals.size and vals.min() > 0 and vals.max() / vals.min() > 100:
        ax.set_yscale("log")


def _steps_per_epoch(log: MonitorLog | None, epochs: int) -> float | None:
    if log is None or not log.loss or not epochs:
        return None
    return len(log.loss) / epochs


def _validation_points(history: dict[str, list], key: str,
                       validations: dict[str, list] | None) -> tuple[np.ndarray, np.ndarray]:
    """(x in epochs, values) of ``key``: at every validation where the run validated inside its epochs
    (``validations``, from ``validations.csv``), else at each epoch's end (1..N)."""
    if validations and validations.get(key) and validations.get("epoch"):
        x, v = _finite(validations["epoch"]), _finite(validations[key])
        if len(x) == len(v) and np.isfinite(x).all():
            return x, v
    v = _finite(history.get(key, []))
    return np.arange(1, len(v) + 1, dtype=np.float64), v


def in_epochs(validations: dict[str, list] | None) -> bool:
    """Whether ``validations`` has points inside the epochs (not only at their ends)."""
    x = _finite((validations or {}).get("epoch", []))
    return bool(x.size) and bool((x != np.round(x)).any())


def loss_curves(history: dict[str, list], log: MonitorLog | None = None,
                validations: dict[str, list] | None = None) -> bytes | None:
    """Training loss per step (faint) and per epoch (its mean), validation loss per epoch (or at every
    validation, given ``validations``); x in epochs, one convention for every curve of the report: an epoch's
    values at its end (1..N), a step's at its end."""
    train = _finite(history.get("loss", []))
    val_x, val = _validation_points(history, "val_loss", validations)
    if not train.size and (log is None or not log.loss):
        return None
    fig = _figure(7, 3.6)
    ax = fig.add_subplot()
    series = []
    spe = _steps_per_epoch(log, len(train))
    if spe:
        steps = _finite(log.loss)
        ax.plot((np.arange(len(steps)) + 1) / spe, steps, color="tab:blue", alpha=0.25, lw=0.8,
                label="train (per step)")
        series.append(steps)
    if train.size:  # at the epoch's end, like the validation loss and the metrics
        ax.plot(np.arange(1, len(train) + 1), train, "o-", color="tab:blue", label="train (epoch mean)")
        series.append(train)
    if val.size:
        ax.plot(val_x, val, "s-", color="tab:orange", label="validation")
        series.append(val)
    _log_if_wide(ax, *series)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title("Loss")
    ax.grid(alpha=0.3)
    ax.legend()
    return _png(fig)


def metric_names(history: dict[str, list]) -> list[str]:
    """The metrics ``metric_curves`` draws (without ``val_``): every key but the losses and the lr."""
    names = [k for k in history if k not in ("loss", "lr") and not k.startswith("val_")]
    return names + [k[4:] for k in history if k.startswith("val_") and k[4:] not in names and k != "val_loss"]


def metric_curves(history: dict[str, list], validations: dict[str, list] | None = None) -> bytes | None:
    """One panel per metric (train per epoch, validation per epoch or at every validation, given
    ``validations``)."""
    names = metric_names(history)
    if not names:
        return None
    fig = _figure(min(4.2 * len(names), 12), 3.4)
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names):
        for key, style, label in ((name, "o-", "train"), (f"val_{name}", "s-", "validation")):
            if key in history:
                x, v = _validation_points(history, key, validations if label == "validation" else None)
                ax.plot(x, v, style, label=label)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    return _png(fig)


def lr_curve(history: dict[str, list], log: MonitorLog | None = None) -> bytes | None:
    """The learning rate at each monitored step (or each epoch without a monitor)."""
    epochs = len(history.get("loss", []))
    spe = _steps_per_epoch(log, epochs)
    unit = "epoch"
    if log is not None and log.lr and np.isfinite(_finite(log.lr)).any():
        y = _finite(log.lr)
        x = (np.asarray(log.steps) + 1) / spe if spe else np.asarray(log.steps)
        unit = "epoch" if spe else "step"
    elif history.get("lr"):
        y = _finite(history["lr"])
        x = np.arange(1, len(y) + 1)
    else:
        return None
    fig = _figure(7, 2.8)
    ax = fig.add_subplot()
    ax.plot(x, y, color="tab:green")
    ax.set_xlabel(unit)
    ax.set_ylabel("learning rate")
    ax.set_title("Learning rate")
    ax.grid(alpha=0.3)
    return _png(fig)


def layer_stats(log: MonitorLog | None, epochs: int) -> bytes | None:
    """A panel per statistic, one line per layer, over the monitored steps (x in epochs). Beyond
    ``MAX_LEGEND`` layers in a panel the lines are coloured by depth instead of named in a legend."""
    if log is None or not log.steps:
        return None
    panels = [(key, title, logy) for key, title, logy in _STATS if any(key in st for st in log.layers.values())]
    spe = _steps_per_epoch(log, epochs)
    x = (np.asarray(log.steps) + 1) / spe if spe else np.asarray(log.steps, dtype=np.float64)
    unit = "epoch" if spe else "step"
    cols = 2
    rows = -(-len(panels) // cols)
    fig = _figure(11, 2.9 * rows)
    from matplotlib import colormaps

    depth = colormaps["viridis"]
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (key, title, logy) in zip(axes, panels):
        drawn = False
        lines = [(layer, st[key]) for layer, st in log.layers.items() if key in st]
        many = len(lines) > MAX_LEGEND
        for i, (layer, vals) in enumerate(lines):
            v = _finite(vals)
            if logy:
                v[v <= 0] = np.nan
            drawn |= bool(np.isfinite(v).any())
            color = depth(i / max(len(lines) - 1, 1)) if many else None  # many layers: colour by depth
            ax.plot(x[:len(v)], v, lw=1.2, color=color, label=log.label(layer))
        if logy and drawn:
            ax.set_yscale("log")
        ax.set_title(title + (f" ({len(lines)} layers; dark: first, yellow: last)" if many else ""))
        ax.set_xlabel(unit)
        ax.grid(alpha=0.3)
        if not many:
            ax.legend(fontsize=7, ncol=2)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    return _png(fig)


def confusion(cm: np.ndarray, classes: Sequence[str]) -> bytes:
    """The confusion matrix (rows: true class, columns: predicted), counts written in the cells."""
    c = len(cm)
    fig = _figure(1.0 + 0.62 * c, 0.8 + 0.55 * c)
    ax = fig.add_subplot()
    ax.imshow(cm, cmap="Blues")
    top = cm.max() if cm.size else 0
    for i in range(c):
        for j in range(c):
            ax.text(j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=8,
                    color="white" if cm[i, j] > top / 2 else "black")
    ax.set_xticks(range(c), classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(c), classes, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"Confusion matrix ({int(cm.sum())} test examples, accuracy {np.trace(cm) / max(cm.sum(), 1):.3f})")
    return _png(fig)


def misclassified(images: np.ndarray, true: np.ndarray, pred: np.ndarray, classes: Sequence[str],
                  confidence: np.ndarray | None = None, cols: int = 8) -> bytes | None:
    """A grid of misclassified images, each titled ``true -> predicted``; ``images``: (N, H, W) or (N, 1, H, W)."""
    n = len(images)
    if not n:
        return None
    imgs = images.reshape(n, *images.shape[-2:]) if images.ndim == 4 and images.shape[1] == 1 else images
    if imgs.ndim == 4:  # channels first, colour: to channels last
        imgs = np.moveaxis(imgs, 1, -1)
    cols = min(cols, n)
    rows = -(-n // cols)
    fig = _figure(1.45 * cols, 1.7 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for k, ax in enumerate(axes):
        ax.axis("off")
        if k >= n:
            continue
        ax.imshow(imgs[k], cmap="gray", vmin=0, vmax=255 if imgs.dtype == np.uint8 else 1)
        conf = f" {confidence[k]:.0%}" if confidence is not None else ""
        ax.set_title(f"{classes[true[k]]}\n-> {classes[pred[k]]}{conf}", fontsize=7, color="tab:red")
    return _png(fig)


def ctc_alignments(examples: Sequence[dict]) -> bytes | None:
    """One panel per utterance: its log-mel spectrogram (``"spectrogram"``: bands x frames), the frame where each
    predicted label starts (``"frames"``, ``"labels"``) marked and named above it, the reference in the title;
    under it, the per-frame probability of each label and of the blank (``"posteriors"``: classes x output
    frames, class 0 the blank; output frame ``k`` covers input frames from ``k * frames / outputs``)."""
    if not examples:
        return None
    k = len(examples)
    fig = _figure(10.0, 3.4 * k)
    for i, e in enumerate(examples):
        spec = np.asarray(e["spectrogram"], dtype=float)
        ax = fig.add_subplot(2 * k, 1, 2 * i + 1)
        ax.imshow(spec, origin="lower", aspect="auto", cmap="magma")
        for f, lab in zip(e["frames"], e["labels"]):
            ax.axvline(f, color="cyan", linewidth=1.0)
            ax.text(f + 0.5, spec.shape[0] - 1, str(lab), color="cyan", fontsize=10, va="top", fontweight="bold")
        ref, hyp = "".join(map(str, e["reference"])), "".join(map(str, e["labels"]))
        ax.set_title(f"reference {ref}, predicted {hyp}" + ("" if ref == hyp else "  (error)"), fontsize=9)
        ax.set_ylabel("mel band", fontsize=8)
        ax.set_xticks([])
        post = np.asarray(e.get("posteriors", []), dtype=float)
        ax2 = fig.add_subplot(2 * k, 1, 2 * i + 2)
        if post.size:
            t = np.arange(post.shape[1]) * spec.shape[1] / post.shape[1]
            ax2.plot(t, post[0], color="0.7", linewidth=0.8, label="blank")
            for c in range(1, post.shape[0]):
                ax2.plot(t, post[c], linewidth=1.0)
            ax2.set_xlim(0, spec.shape[1])
        ax2.set_ylim(0, 1.05)
        ax2.set_ylabel("p", fontsize=8)
        ax2.set_xlabel(f"frame ({1000 * float(e.get('frame_seconds', 0)):.0f} ms)", fontsize=8)
    return _png(fig)


def attention_maps(examples: Sequence[dict]) -> bytes | None:
    """One heatmap per example: ``{"source": tokens, "target": tokens, "weights": (T, S)}``, target tokens
    down the side, source tokens along the top (a translation model's attention over the source)."""
    if not examples:
        return None
    k = len(examples)
    widths = [max(3.0, 0.28 * len(e["source"]) + 1.5) for e in examples]
    height = max(3.0, 0.26 * max(len(e["target"]) for e in examples) + 1.5)
    fig = _figure(sum(widths), height)
    for i, e in enumerate(examples):
        ax = fig.add_subplot(1, k, i + 1)
        ax.imshow(np.asarray(e["weights"], dtype=float), cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_xticks(range(len(e["source"])), e["source"], rotation=90, fontsize=7)
        ax.set_yticks(range(len(e["target"])), e["target"], fontsize=7)
    return _png(fig)
