"""The network doctor: ``diagnose(monitor, history)`` reads a run's statistics and names what went wrong, in
plain words, with the layer, the evidence and a suggestion; or says the run looks healthy.

The checks, and what sets each off (thresholds are module constants):

* diverging loss: a non-finite loss, a loss above ``DIVERGE_FACTOR`` x its starting value, or an end
  loss above ``RISE_FACTOR`` x the start;
* stuck loss: after ``MIN_STEPS`` steps the loss is still above ``STUCK_FRACTION`` of its start;
* vanishing gradients: a layer's relative gradient ``|grad| / |weight|`` is under ``VANISH_RATIO`` of
  the last layer's (an ``Embedding``'s over the rows its batches used: the others get no gradient by nature);
* exploding gradients: a non-finite gradient, a gradient above ``EXPLODE_RELATIVE`` x its weight, or a
  relative gradient above ``1 / VANISH_RATIO`` x the last layer's;
* dead ReLUs: over ``DEAD_FRACTION`` of a ReLU layer's units never fire;
* saturated sigmoid/tanh: over ``SATURATED_FRACTION`` of outputs sit in the flat tails;
* large updates: an optimizer step moves a weight by over ``UPDATE_RATIO_HIGH`` of its norm;
* overfitting: a validation metric (``val_loss``, else any ``val_*``: accuracy, RMSE, HR, ...) worsens by
  over ``OVERFIT_WORSE`` for ``OVERFIT_PATIENCE`` epochs past its best while the training loss keeps falling,
  or train accuracy beats validation accuracy by over ``GAP``;
* a non-finite learning rate is named as such (lowering it would not help), and a loss that is non-finite
  on the first batch, or jumps there from a steady value, as a sign of bad input.

Layer statistics are read over the last third of the monitored steps (medians: robust to one odd batch),
and only from steps before the loss became non-finite.

>>> d = diagnose(history={"loss": [1.39, 1.38, 1.38, 1.39], "val_loss": [1.39, 1.38, 1.39, 1.38]}, num_classes=4)
>>> print(d)  # doctest: +NORMALIZE_WHITESPACE
Doctor: 1 problem found.
1. [error] the loss is stuck
  evidence: over 4 epochs the loss went from 1.39 to 1.39 (under 3% lower); that is log(4), the loss of
  guessing every class equally
  suggestion: fix the layer problems named in this report first if there are any; otherwise try a 10x larger
  and a 10x smaller learning rate, and check that the inputs are normalised and the labels match them
Not checked: layer statistics (no Monitor in the run).

With a ``Monitor(every=N)`` among the ``fit`` callbacks, ``diagnose(monitor, history)`` checks the layers too.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Mapping

import numpy as np

from .monitor import Monitor, MonitorLog

__all__ = ["diagnose", "Diagnosis", "Finding"]

DIVERGE_FACTOR = 10.0
RISE_FACTOR = 1.5
STUCK_FRACTION = 0.97
MIN_STEPS = 20
VANISH_RATIO = 1e-3
EXPLODE_RELATIVE = 10.0
DEAD_FRACTION = 0.5
SATURATED_FRACTION = 0.5
UPDATE_RATIO_HIGH = 0.1
UPDATE_RATIO_LOW = 1e-6
OVERFIT_PATIENCE = 2
OVERFIT_WORSE = 0.05
GAP = 0.1


@dataclass
class Finding:
    """One problem: ``problem`` (a short key: ``"vanishing_gradients"``), ``title`` (in words), ``layer``
    (``"net.1 (Linear)"`` or None for the whole run), ``evidence`` (the numbers), ``suggestion``,
    ``severity`` (``"error"``: training is failing; ``"warning"``: it works, but worse than it could)."""
    problem: str
    title: str
    layer: str | None
    evidence: str
    suggestion: str
    severity: str = "warning"

    def __str__(self) -> str:
        where = f" in {self.layer}" if self.layer else ""
        return f"[{self.severity}] {self.title}{where}\n  evidence: {self.evidence}\n  suggestion: {self.suggestion}"


@dataclass
class Diagnosis:
    """What ``diagnose`` returns: ``findings`` (empty when healthy), ``checked`` (the checks that could run)
    and ``skipped`` (those that could not, with the reason)."""
    findings: list[Finding]
    checked: list[str]
    skipped: list[str]

    @property
    def healthy(self) -> bool:
        """No problem found by at least one check (a run where nothing could be checked is not healthy)."""
        return not self.findings and bool(self.checked)

    def problems(self) -> list[str]:
        """The problem keys found (``["dead_relu", "stuck_loss"]``)."""
        return [f.problem for f in self.findings]

    def to_dict(self) -> dict[str, Any]:
        return {"healthy": self.healthy, "findings": [asdict(f) for f in self.findings], "checked": self.checked,
                "skipped": self.skipped}

    def __str__(self) -> str:
        if self.healthy:
            lines = [f"Doctor: healthy. No problems found (checked: {', '.join(self.checked)})."]
        elif not self.findings:
            lines = ["Doctor: nothing could be checked."]
        else:
            n = len(self.findings)
            lines = [f"Doctor: {n} problem{'s' if n > 1 else ''} found."]
            lines += [f"{i}. {f}" for i, f in enumerate(self.findings, 1)]
        if self.skipped:
            lines.append(f"Not checked: {'; '.join(self.skipped)}.")
        return "\n".join(lines)


def _g(x: float) -> str:
    return f"{x:.3g}"


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _ratio(x: float) -> str:
    """``"250x"``, ``"35%"``, ``"0.003%"``."""
    if x >= 2:
        return f"{x:.3g}x"
    return f"{100 * x:.2g}%"


_ORDER = ["diverging_loss", "exploding_gradients", "unused_parameters", "vanishing_gradients", "dead_relu", "saturated", "large_updates",
          "stuck_loss", "overfitting"]


def _history_dict(history: Any) -> dict[str, list]:
    if history is None:
        return {}
    h = getattr(history, "history", history)
    if not isinstance(h, Mapping):
        raise TypeError(f"diagnose: history should be a History or a dict of lists, got {type(history).__name__}")
    return {k: [math.nan if v is None else float(v) for v in vals] for k, vals in h.items()
            if all(v is None or isinstance(v, (int, float, np.number)) for v in vals)}


class _Doctor:
    def __init__(self, log: MonitorLog | None, hist: dict[str, list], num_classes: int | None,
                 kept_epoch: int | None = None):
        self.log, self.hist, self.num_classes = log, hist, num_classes
        self.kept_epoch = kept_epoch
        self.findings: list[Finding] = []
        self.checked: list[str] = []
        self.skipped: list[str] = []
        self.diverged_at: int | None = None

    def add(self, *args: Any, **kw: Any) -> None:
        self.findings.append(Finding(*args, **kw))

    # ---- the loss -----------------------------------------------------------------------------------
    def losses(self) -> tuple[np.ndarray, str]:
        """Per-step losses if the monitor has them, else per-epoch training losses."""
        if self.log is not None and len(self.log.loss) >= 2:
            return np.asarray(self.log.loss, dtype=np.float64), "step"
        return np.asarray(self.hist.get("loss", []), dtype=np.float64), "epoch"

    def check_loss(self) -> None:
        loss, unit = self.losses()
        if len(loss) < 2:
            self.skipped.append("the loss (fewer than 2 values)")
            return
        self.checked.append("the loss")
        finite = np.isfinite(loss)
        start = float(loss[0])  # the reference for blow-ups: later steps of a diverging run are already off
        w = max(1, min(5, len(loss) // 10))
        start_mean = float(np.mean(loss[:w])) if finite[:w].all() else start
        lower = self.lower_lr()
        if not finite.all():
            at = int(np.argmax(~finite))
            self.diverged_at = at
            if self.bad_lr() is not None:
                self.add("diverging_loss", "the loss diverged", None,
                         f"the loss became {loss[at]} at {unit} {at} (it started at {_g(start)})", lower, "error")
            elif unit == "step" and (at == 0 or self.steady_before(loss, at)):
                before = "on the first batch, before any optimizer step" if at == 0 else \
                    f"at step {at}, straight from a steady {_g(loss[at - 1])} with small optimizer steps"
                self.add("diverging_loss", "the loss became non-finite", None,
                         f"the loss became {loss[at]} {before}: a sign of bad input rather than of a learning rate "
                         "too high",
                         "check the inputs and targets for NaN/inf (np.isfinite(x).all()) and the labels for values "
                         "out of range, and the loss for log(0) or a division by zero; if the data is clean, "
                         f"{lower}", "error")
            else:
                self.add("diverging_loss", "the loss diverged", None,
                         f"the loss became {loss[at]} at {unit} {at} (it started at {_g(start)})"
                         f"{self.update_evidence()}", f"{lower}, or clip gradients (clip_grad_norm=1.0)", "error")
            return
        peak = int(np.argmax(loss))
        tail = max(1, len(loss) // 10)
        end = float(np.mean(loss[-tail:]))
        if start > 0 and loss[peak] > DIVERGE_FACTOR * start:
            self.diverged_at = peak
            self.add("diverging_loss", "the loss diverged", None,
                     f"the loss rose to {_g(loss[peak])} at {unit} {peak}, {_g(loss[peak] / start)}x its start "
                     f"({_g(start)}){self.update_evidence()}",
                     f"{lower}, or clip gradients (clip_grad_norm=1.0)", "error")
            return
        if start_mean > 0 and end > RISE_FACTOR * start_mean:
            self.add("diverging_loss", "the loss went up, not down", None,
                     f"the loss was {_g(start_mean)} at the start and {_g(end)} at the end", lower, "error")
            return
        if len(loss) >= (MIN_STEPS if unit == "step" else 3) and end > STUCK_FRACTION * start_mean:
            chance = ""
            if self.num_classes and abs(end - math.log(self.num_classes)) < 0.05 * math.log(self.num_classes):
                chance = f"; that is log({self.num_classes}), the loss of guessing every class equally"
            self.add("stuck_loss", "the loss is stuck", None,
                     f"over {len(loss)} {unit}s the loss went from {_g(start_mean)} to {_g(end)} (under "
                     f"{_pct(1 - STUCK_FRACTION)} lower){chance}{self.update_evidence(always=True)}",
                     self.stuck_advice(), "error")

    def stuck_advice(self) -> str:
        worst = self.worst_update(use_all=True)
        if worst is not None and 0 < worst[1] < UPDATE_RATIO_LOW:
            return "raise the learning rate (try 10x larger): the updates are too small to move the weights"
        if worst is not None and worst[1] > UPDATE_RATIO_HIGH:
            return self.lower_lr() + ": steps this large overshoot"
        return ("fix the layer problems named in this report first if there are any; otherwise try a 10x larger and "
                "a 10x smaller learning rate, and check that the inputs are normalised and the labels match them")

    def steady_before(self, loss: np.ndarray, at: int) -> bool:
        """Whether the per-step loss held steady (no rise above ``RISE_FACTOR`` x its start) up to step ``at``
        while the optimizer steps stayed small: a sudden non-finite loss then points at a bad batch."""
        worst = self.worst_update(use_all=True)
        return bool(at >= 2 and worst is not None and worst[1] <= UPDATE_RATIO_HIGH
                    and np.max(loss[:at]) <= RISE_FACTOR * max(float(loss[0]), 1e-12))

    def bad_lr(self) -> tuple[float, str] | None:
        """(the first non-finite learning rate, where it was seen) or None when every recorded lr is finite."""
        if self.log is not None:
            for s, v in zip(self.log.steps, self.log.lr):
                if not math.isfinite(v):
                    return v, f"at step {s}"
        for e, v in enumerate(self.hist.get("lr", [])):
            if not math.isfinite(v):
                return v, f"in epoch {e + 1}"
        return None

    def lower_lr(self) -> str:
        bad = self.bad_lr()
        if bad is not None:
            return (f"the learning rate itself was {bad[0]} {bad[1]}, not a number a step can use: set a finite lr "
                    "and check the schedule that sets it (its length, warm-up and factors); lowering it will not help")
        lr = [v for v in (self.log.lr if self.log is not None else []) if math.isfinite(v)]
        if not lr:
            lr = [v for v in self.hist.get("lr", []) if math.isfinite(v)]
        return f"lower the learning rate (it was {_g(lr[0])}; try {_g(lr[0] / 10)})" if lr else \
            "lower the learning rate (try 10x smaller)"

    def update_evidence(self, always: bool = False) -> str:
        worst = self.worst_update(use_all=True)
        if worst is None or not (always or worst[1] > UPDATE_RATIO_HIGH):
            return ""
        return f"; optimizer steps change {self.log.label(worst[0])}'s weight by {_ratio(worst[1])} of its norm " \
               "(median)"

    # ---- layer statistics --------------------------------------------------------------------------
    def window(self, use_all: bool = False) -> np.ndarray:
        """Indices of the monitored steps to read: before any divergence, the last third."""
        steps = np.asarray(self.log.steps)
        ok = np.ones(len(steps), bool)
        if self.diverged_at is not None:
            ok = steps < self.diverged_at
        idx = np.flatnonzero(ok)
        if use_all or len(idx) < 3:
            return idx
        return idx[len(idx) - max(1, len(idx) // 3):]

    def stat(self, layer: str, name: str, idx: np.ndarray) -> float | None:
        """The median of a layer's statistic over the monitored steps ``idx`` (finite values only)."""
        vals = self.log.layers.get(layer, {}).get(name)
        if not vals:
            return None
        v = np.asarray(vals, dtype=np.float64)[idx]
        v = v[np.isfinite(v)]
        return float(np.median(v)) if v.size else None

    def worst_update(self, use_all: bool = False) -> tuple[str, float] | None:
        """(layer, median update ratio) of the layer whose weights move most per step."""
        if self.log is None or not self.log.steps:
            return None
        idx = self.window(use_all)
        ratios = [(name, self.stat(name, "update_ratio", idx)) for name in self.log.layer_names("weight")]
        ratios = [(n, r) for n, r in ratios if r is not None]
        return max(ratios, key=lambda t: t[1]) if ratios else None

    def check_layers(self) -> None:
        log = self.log
        if log is None or not log.steps:
            self.skipped.append("layer statistics (no Monitor in the run)")
            return
        idx = self.window()
        if not len(idx):
            self.skipped.append("layer statistics (the loss diverged before the first monitored step)")
            return
        self.checked += ["gradients", "dead ReLUs", "saturated activations", "update sizes"]
        dead_found = self.check_dead(idx)
        self.check_saturated(idx)
        self.check_gradients(idx, dead_found)
        if self.diverged_at is None:
            self.check_updates()

    def flagged(self, kind: str, stat: str, threshold: float, idx: np.ndarray) -> list[tuple[str, float]]:
        out = []
        for name in self.log.layer_names(kind):
            v = self.stat(name, stat, idx)
            if v is not None and v > threshold:
                out.append((name, v))
        return out

    def where(self, hits: list[tuple[str, float]]) -> tuple[str, str]:
        """(the layers, ``"100% in 1 (ReLU), 97% in 3 (ReLU)"``)."""
        return (", ".join(self.log.label(n) for n, _ in hits),
                ", ".join(f"{_pct(v)} in {self.log.label(n)}" for n, v in hits))

    def check_dead(self, idx: np.ndarray) -> bool:
        hits = self.flagged("relu", "dead", DEAD_FRACTION, idx)
        if hits:
            layers, amounts = self.where(hits)
            self.add("dead_relu", "dead ReLUs", layers,
                     f"units that output zero for every example: {amounts} (median over the last {len(idx)} "
                     "monitored steps); a dead unit passes no gradient, so it never recovers",
                     "lower the learning rate, check the bias initialisation (large negative biases kill units), use "
                     "Kaiming (He) initialisation, or a LeakyReLU/ELU/GELU that keeps a gradient below zero",
                     "error" if max(v for _, v in hits) > 0.9 else "warning")
        return bool(hits)

    def check_saturated(self, idx: np.ndarray) -> None:
        for kind, tails in (("sigmoid", "below 0.01 or above 0.99"), ("tanh", "beyond +-0.99")):
            hits = self.flagged(kind, "saturated", SATURATED_FRACTION, idx)
            if hits:
                layers, amounts = self.where(hits)
                self.add("saturated", f"saturated {kind} units", layers,
                         f"outputs in the flat tails ({tails}), where the gradient is almost zero: {amounts}",
                         "use a smaller weight initialisation (Xavier/Glorot for sigmoid and tanh), normalise the "
                         "inputs, lower the learning rate, or switch to ReLU/GELU",
                         "error" if max(v for _, v in hits) > 0.9 else "warning")

    def check_gradients(self, idx: np.ndarray, dead_found: bool) -> None:
        names = self.log.layer_names("weight")
        before = self.window(use_all=True)  # every monitored step before any divergence
        graded = {}
        for name in names:  # a step where no gradient reached the weight (None, not NaN) says nothing of its size
            no = np.asarray(self.log.layers[name].get("no_grad", []), dtype=np.float64)
            seen = before[before < len(no)]
            graded[name] = seen[no[seen] == 0] if len(no) else before   # logs from before no_grad: every step
        unused = [n for n in names if len(before) and not len(graded[n])]
        if unused:
            self.add("unused_parameters", "parameters that get no gradient",
                     ", ".join(self.log.label(n) for n in unused),
                     f"no gradient reached their weights in any of the {len(before)} monitored steps: the loss does "
                     "not depend on them (a branch whose output is never used, or a layer skipped in forward)",
                     "remove the layers or use their output; to keep layers fixed, set requires_grad=False",
                     "warning")
        names = [n for n in names if n not in unused]
        for name in names:
            g = np.asarray(self.log.layers[name].get("grad_norm", []), dtype=np.float64)
            at = graded[name][graded[name] < len(g)]
            g = g[at]
            if not np.isfinite(g).all():
                j = int(np.argmax(~np.isfinite(g)))
                self.add("exploding_gradients", "exploding gradients", self.log.label(name),
                         f"its gradient norm became {g[j]} at step {self.log.steps[at[j]]} while the loss was "
                         "still finite", "lower the learning rate, clip gradients (clip_grad_norm=1.0), "
                         "or check the inputs for very large values", "error")
                return
        rel: list[tuple[str, float, float]] = []  # (layer, |g|/|w|, |g|)
        for name in names:
            # an embedding's gradient reaches only the rows of the batch's ids: judged against those rows
            sparse = self.log.types.get(name) == "Embedding"
            g, w = self.stat(name, "grad_norm", idx), self.stat(name, "used_weight_norm" if sparse else "weight_norm",
                                                                 idx)
            if g is not None and w is not None:
                rel.append((name, g / w if w > 0 else g, g))
        if len(rel) < 1:
            return
        big = max(rel, key=lambda t: t[1])
        if big[1] > EXPLODE_RELATIVE:
            self.add("exploding_gradients", "exploding gradients", self.log.label(big[0]),
                     f"its gradient norm is {_g(big[1])}x its weight norm ({_g(big[2])})",
                     "lower the learning rate, clip gradients (clip_grad_norm=1.0), use a smaller "
                     "initialisation, or normalise the inputs", "error")
            return
        if len(rel) < 2:
            return
        last = rel[-1]
        if last[1] <= 0:
            if not dead_found and all(r[2] == 0 for r in rel):
                self.add("vanishing_gradients", "no gradient at all", None,
                         "every layer's weight gradient is exactly zero",
                         "check that the loss depends on the model's output and that no layer blocks the gradient "
                         "(a detach, a step function, integer outputs)", "error")
            return
        worst = min(rel[:-1], key=lambda t: t[1])
        ratio = worst[1] / last[1]
        if ratio < VANISH_RATIO:
            if worst[2] == 0 and dead_found:
                return  # the dead-unit finding explains it
            per_row = " (over the rows the batches used)" if self.log.types.get(worst[0]) == "Embedding" else ""
            self.add("vanishing_gradients", "vanishing gradients", self.log.label(worst[0]),
                     f"its relative gradient |grad|/|weight|{per_row} is {_g(worst[1])}, {_g(ratio)} of the last layer's "
                     f"({self.log.label(last[0])}: {_g(last[1])}), so it learns about {_g(1 / ratio)}x slower",
                     "use ReLU-family activations instead of sigmoid/tanh in deep stacks, Kaiming (He) or Xavier "
                     "initialisation, normalisation layers, residual connections, or a shallower network",
                     "error" if ratio < VANISH_RATIO ** 2 else "warning")
        elif ratio > 1 / VANISH_RATIO:
            self.add("exploding_gradients", "exploding gradients", self.log.label(worst[0]),
                     f"its relative gradient is {_g(ratio)}x the last layer's", "lower the learning rate, clip "
                     "gradients (clip_grad_norm=1.0), or use a smaller initialisation", "warning")

    def check_updates(self) -> None:
        worst = self.worst_update()
        if worst is not None and worst[1] > UPDATE_RATIO_HIGH:
            self.add("large_updates", "updates too large", self.log.label(worst[0]),
                     f"each optimizer step changes its weight by {_ratio(worst[1])} of the weight's norm (median; "
                     "about 0.1% is typical)", self.lower_lr(), "warning")

    # ---- validation ----------------------------------------------------------------------------------
    def check_overfitting(self) -> None:
        """Judged on the model that was kept: with ``kept_epoch`` (early stopping restored that epoch's
        weights), the epochs after it do not count."""
        hist = {k: list(v)[:self.kept_epoch] for k, v in self.hist.items()} if self.kept_epoch else self.hist
        keys = [k for k in hist if k.startswith("val_") and np.isfinite(hist[k]).sum() >= 2]
        if not keys:
            short = any(k.startswith("val_") and np.isfinite(v).any() for k, v in self.hist.items())
            self.skipped.append("overfitting (validation metrics of one epoch only)" if short else
                                "overfitting (no validation data)")
            return
        self.checked.append("overfitting")
        train = np.asarray(hist.get("loss", []), dtype=np.float64)
        for key in sorted(keys, key=lambda k: k != "val_loss"):  # the validation loss first
            if self.rising(hist, key, train):
                return
        for key in keys:
            if key[4:] in hist and "acc" in key:
                tr, va = hist[key[4:]][-1], hist[key][-1]
                if math.isfinite(tr) and math.isfinite(va) and tr - va > GAP:
                    self.add("overfitting", "a large train/validation gap", None,
                             f"{key[4:]} is {_g(tr)} on the training data but {_g(va)} on the validation data",
                             "regularise: dropout, weight decay (AdamW), data augmentation, more data, a smaller model")
                    return

    def rising(self, hist: dict[str, list], key: str, train: np.ndarray) -> bool:
        """Whether validation metric ``key`` of ``hist`` worsened past its best for ``OVERFIT_PATIENCE`` epochs
        (by over ``OVERFIT_WORSE``) while the training loss fell; adds the finding."""
        vals = np.asarray(hist[key], dtype=np.float64)
        epochs = np.flatnonzero(np.isfinite(vals))  # a metric may be measured every few epochs only
        val = vals[epochs]
        lower = _lower_is_better(key[4:])
        best = int(np.argmin(val) if lower else np.argmax(val))
        tail = len(val) - 1 - best
        worse = val[-1] > val[best] + OVERFIT_WORSE * abs(val[best]) if lower else \
            val[-1] < val[best] - OVERFIT_WORSE * abs(val[best])
        b, e = int(epochs[best]), int(epochs[-1])
        if not (tail >= OVERFIT_PATIENCE and worse and e < len(train) and np.isfinite(train[[b, e]]).all()
                and train[e] < train[b]):
            return False
        name = "validation loss" if key == "val_loss" else f"validation {key[4:]}"
        way = ("was lowest", "rose") if lower else ("was highest", "fell")
        self.add("overfitting", "overfitting", None,
                 f"the {name} {way[0]} at epoch {b + 1} ({_g(val[best])}) and {way[1]} to {_g(val[-1])} by epoch "
                 f"{e + 1} while the training loss fell from {_g(train[b])} to {_g(train[e])}",
                 "stop earlier (EarlyStopping(restore_best_weights=True)), or regularise: dropout, weight decay "
                 "(AdamW), data augmentation, more data, a smaller model")
        return True


def _lower_is_better(metric: str) -> bool:
    """Losses and errors (``loss``, ``rmse``, ``mae``, ``perplexity``, ``bits_per_char``) fall as a model
    improves; accuracies and ranking scores (``accuracy``, ``hr``, ``ndcg``, ``auc``) rise."""
    return any(t in metric for t in ("loss", "err", "rmse", "mae", "mse", "perplexity", "bits"))


def diagnose(monitor: Monitor | MonitorLog | Mapping | None = None, history: Any = None, *,
             num_classes: int | None = None, kept_epoch: int | None = None) -> Diagnosis:
    """Name the problems of a training run.

    ``monitor``: the ``Monitor`` used in ``fit`` (or its ``MonitorLog``, or that log's dict); ``history``:
    the ``History`` ``fit`` returned (or its ``history`` dict); either may be missing, and the checks that
    need it are skipped. ``num_classes``: for classification, lets the doctor recognise a loss stuck at
    chance level. ``kept_epoch``: the epoch (from 1) whose weights the model holds, when early stopping
    restored the best ones: overfitting is judged up to it.

    >>> h = {"loss": [1.0, 0.5, 0.3, 0.2, 0.1, 0.05], "val_loss": [1.0, 0.6, 0.7, 0.8, 0.9, 1.0]}
    >>> [f.problem for f in diagnose(history=h).findings], diagnose(history=h, kept_epoch=2).findings
    (['overfitting'], [])
    """
    if isinstance(monitor, Monitor):
        log = monitor.log
    elif isinstance(monitor, MonitorLog) or monitor is None:
        log = monitor
    elif isinstance(monitor, Mapping):
        log = MonitorLog.from_dict(monitor)
    else:
        raise TypeError(f"diagnose: monitor should be a Monitor, a MonitorLog or a dict, got {type(monitor).__name__}")
    doc = _Doctor(log, _history_dict(history), num_classes, kept_epoch)
    if log is None and not doc.hist:
        raise ValueError("diagnose: nothing to read; pass the Monitor used in fit and/or the History fit returned")
    doc.check_loss()
    doc.check_layers()
    doc.check_overfitting()
    # causes before symptoms: what breaks the loss first, then the layers, then the loss curve and validation
    doc.findings.sort(key=lambda f: _ORDER.index(f.problem) if f.problem in _ORDER else len(_ORDER))
    return Diagnosis(doc.findings, doc.checked, doc.skipped)
