"""``Monitor``: per-layer statistics gathered during ``fit`` every N steps, cheaply.

On a monitored step the monitor puts forward hooks on the watched layers for that one step (and takes
them off after it), so the other steps run exactly as without it. It records, per layer:

* every watched layer: the mean and standard deviation of its output (``act_mean``, ``act_std``);
* ``ReLU``: ``dead``, the fraction of its units (output positions) that are zero for every sample of the
  last ``dead_window`` monitored batches (3 by default: one small batch leaves healthy units idle by chance);
* ``Sigmoid`` / ``Tanh``: ``saturated``, the fraction of outputs in the flat tails (sigmoid below 0.01 or
  above 0.99, tanh beyond +-0.99), where the gradient is under 4% of its peak;
* layers with a ``weight``: ``weight_norm``, ``grad_norm`` (L2, of the weight and its gradient) and
  ``update_ratio``, ``|w_after - w_before| / |w_before|`` over the optimizer step;
* ``Embedding``: also ``rows_used`` (the fraction of rows with a non-zero gradient: the batch's ids) and
  ``used_weight_norm`` (the norm of those rows), so its gradient is judged per used row, not over the table.

The loss of every step is kept too (one float per step), and the learning rate at each monitored step.
``MonitorLog`` holds it all as plain lists; ``save``/``load`` write and read it as JSON.

>>> import numpy as np, lucidnet as ln
>>> _ = ln.manual_seed(0)
>>> x = np.random.default_rng(0).normal(size=(256, 8)).astype(np.float32)
>>> y = (x[:, 0] > 0).astype(np.int64)
>>> net = ln.nn.Sequential(ln.nn.Linear(8, 16), ln.nn.ReLU(), ln.nn.Linear(16, 2))
>>> monitor = Monitor(every=4)
>>> _ = ln.fit(net, (x, y), loss="cross_entropy", lr=0.01, epochs=2, callbacks=[monitor], verbose=0)
>>> monitor.log.steps
[0, 4, 8, 12]
>>> sorted(monitor.log.layers["1"])
['act_mean', 'act_std', 'dead']
>>> sorted(monitor.log.layers["0"])
['act_mean', 'act_std', 'grad_norm', 'no_grad', 'update_ratio', 'weight_norm']
"""
from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np

from .. import nn
from ..serialization.atomic import atomic_write
from ..tensor import Tensor
from ..train.callbacks.base import Callback

__all__ = ["Monitor", "MonitorLog", "DEFAULT_EVERY", "layer_kind"]

#: the default interval, in optimizer steps (the overhead at this interval is measured in tests/README)
DEFAULT_EVERY = 20

_KINDS = ((nn.ReLU, "relu"), (nn.Sigmoid, "sigmoid"), (nn.Tanh, "tanh"),
          ((nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Softplus), "activation"))


def layer_kind(m: Any) -> str | None:
    """``"relu"``, ``"sigmoid"``, ``"tanh"``, ``"activation"`` (other activations), ``"weight"`` (a layer
    with a weight of its own and no sub-layers) or None (not watched)."""
    for cls, kind in _KINDS:
        if isinstance(m, cls):
            return kind
    if not m._modules and isinstance(m._parameters.get("weight"), Tensor):
        return "weight"
    return None


def _norm(a: np.ndarray) -> float:
    """The L2 norm, without a copy: ``ravel(order="K")`` is a view for C- and F-ordered arrays alike (a
    column-major Linear weight), and a dot product allocates nothing."""
    flat = np.ravel(a, order="K")
    if flat.dtype == np.float32:
        return math.sqrt(float(np.dot(flat, flat)))
    return float(np.linalg.norm(flat))


def _put(stats: dict[str, list[float]], key: str, value: float, n: int) -> None:
    """Append the value of monitored step ``n - 1``, padding with NaN for steps the layer missed."""
    lst = stats.setdefault(key, [])
    if len(lst) < n - 1:
        lst.extend([math.nan] * (n - 1 - len(lst)))
    lst.append(value)


class MonitorLog:
    """The statistics of a run: ``steps`` (the monitored global steps), ``epochs`` and ``lr`` at those
    steps, ``loss`` (every step's loss, indexed by global step), and ``layers``: ``{layer name:
    {statistic: [value per monitored step]}}`` with ``types`` (class names) and ``kinds`` per layer.
    Values are floats (NaN where a value could not be had)."""

    def __init__(self) -> None:
        self.every = DEFAULT_EVERY
        self.steps: list[int] = []
        self.epochs: list[int] = []
        self.lr: list[float] = []
        self.loss: list[float] = []
        self.layers: dict[str, dict[str, list[float]]] = {}
        self.types: dict[str, str] = {}
        self.kinds: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self.steps)

    def series(self, layer: str, stat: str) -> np.ndarray:
        """One statistic of one layer over the monitored steps, as a float64 array."""
        return np.asarray(self.layers[layer][stat], dtype=np.float64)

    def layer_names(self, kind: str | None = None) -> list[str]:
        """Watched layers in forward order (optionally only those of one kind)."""
        return [n for n in self.layers if kind is None or self.kinds.get(n) == kind]

    def label(self, layer: str) -> str:
        """``"net.1 (Linear)"``."""
        return f"{layer} ({self.types.get(layer, '?')})"

    def to_dict(self) -> dict[str, Any]:
        layers = {k: {s: list(v) for s, v in d.items()} for k, d in self.layers.items()}
        return {"every": self.every, "steps": list(self.steps), "epochs": list(self.epochs), "lr": list(self.lr),
                "loss": list(self.loss), "layers": layers, "types": dict(self.types), "kinds": dict(self.kinds)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MonitorLog:
        log = cls()
        log.every = int(d.get("every", DEFAULT_EVERY))
        log.steps = [int(s) for s in d.get("steps", [])]
        log.epochs = [int(e) for e in d.get("epochs", [])]
        log.lr = [float(v) for v in d.get("lr", [])]
        log.loss = [float(v) for v in d.get("loss", [])]
        log.layers = {k: {s: [float(x) for x in v] for s, v in st.items()} for k, st in d.get("layers", {}).items()}
        log.types = dict(d.get("types", {}))
        log.kinds = dict(d.get("kinds", {}))
        return log

    def save(self, path: str | os.PathLike) -> None:
        """Write the log as JSON (atomically; NaN and infinities as JSON's NaN/Infinity, which Python reads)."""
        atomic_write(path, [json.dumps(self.to_dict()).encode() + b"\n"])

    @classmethod
    def load(cls, path: str | os.PathLike) -> MonitorLog:
        with open(path) as f:
            return cls.from_dict(json.load(f))


class Monitor(Callback):
    """Gather per-layer statistics every ``every`` optimizer steps during ``fit`` (see the module doc).

    ``layers``: names of the layers to watch (``named_modules`` names); default: every activation layer and
    every layer with a weight of its own. Only layers called as modules are seen (``x.relu()`` inside a
    ``forward`` is not a layer); a layer called several times in a step is measured on its first call.
    ``dead_window``: how many monitored batches a ReLU unit must stay silent in to count as dead.
    ``monitor.log`` is the ``MonitorLog``; a resumed run continues it (the monitor's state is saved in the
    training checkpoint).
    """

    rank_zero_only = True  # prints or writes files: rank 0 alone, in a data-parallel run

    def __init__(self, every: int = DEFAULT_EVERY, layers: list[str] | None = None, dead_window: int = 3):
        for name, v in (("every", every), ("dead_window", dead_window)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"Monitor: {name} must be a positive int, got {v!r}")
        self.every, self.dead_window = every, dead_window
        self._alive: dict[str, list[np.ndarray]] = {}
        self._snap: dict[str, np.ndarray] = {}
        self.layer_filter = None if layers is None else list(layers)
        self.log = MonitorLog()
        self.log.every = every
        self._watched: list[tuple[str, Any, str]] = []
        self._handles: list[Any] = []
        self._before: dict[str, np.ndarray] = {}
        self._active = False

    # ---- set-up -------------------------------------------------------------------------------------
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        model = self.trainer.model
        if not isinstance(model, nn.Module):
            raise TypeError(f"Monitor: the model must be a lucidnet nn.Module, got {type(model).__name__}")
        named = dict(model.named_modules())
        if self.layer_filter is not None:
            missing = [n for n in self.layer_filter if n not in named]
            if missing:
                raise ValueError(f"Monitor: no layer named {missing} in {type(model).__name__}; layers: "
                                 f"{[n for n in named if n]}")
            chosen = [(n, named[n]) for n in self.layer_filter]
        else:
            chosen = list(named.items())
        # a frozen layer (its weight needs no gradient) gets none: not watched, so its missing gradient is not
        # read as a NaN one
        self._watched = [(n, m, k) for n, m in chosen if (k := layer_kind(m)) is not None
                         and not (k == "weight" and not m._parameters["weight"].requires_grad)]
        if not self._watched:
            raise ValueError(f"Monitor: {type(model).__name__} has no layer to watch (activation layers or layers "
                             "with a weight)")
        self.log = MonitorLog()
        self.log.every = self.every
        self._alive, self._snap = {}, {}
        for n, m, k in self._watched:
            self.log.layers[n] = {}
            self.log.types[n] = type(m).__name__
            self.log.kinds[n] = k
        self._remove_hooks()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._remove_hooks()

    def _remove_hooks(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles, self._before, self._active = [], {}, False

    # ---- per step -----------------------------------------------------------------------------------
    def on_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.trainer.global_step % self.every:
            return
        self._remove_hooks()
        self._active = True
        self._acts: dict[str, dict[str, float]] = {}
        for name, m, kind in self._watched:
            self._handles.append(m.register_forward_hook(self._hook(name, kind)))
            if kind == "weight":  # snapshot for the update ratio, in a buffer kept across steps (same layout)
                w = m._parameters["weight"].array
                buf = self._snap.get(name)
                if buf is None or buf.shape != w.shape or buf.dtype != w.dtype:
                    buf = self._snap[name] = np.empty_like(w)
                np.copyto(buf, w)
                self._before[name] = buf

    def _hook(self, name: str, kind: str):
        acts = self._acts

        def hook(m: Any, inputs: tuple, out: Any) -> None:
            if name in acts or not isinstance(out, Tensor):  # first call of the step only
                return
            a = out.array
            with np.errstate(all="ignore"):
                st = {"act_mean": float(a.mean()), "act_std": float(a.std())}
                if kind == "relu":
                    st["dead"] = self._dead(name, (a > 0).any(axis=0) if a.ndim > 1 else a > 0)
                elif kind == "sigmoid":
                    st["saturated"] = float(np.count_nonzero(np.abs(a - 0.5) > 0.49)) / max(a.size, 1)
                elif kind == "tanh":
                    st["saturated"] = float(np.count_nonzero(np.abs(a) > 0.99)) / max(a.size, 1)
            acts[name] = st
        return hook

    def _dead(self, name: str, alive: np.ndarray) -> float:
        """The fraction of units alive in none of the last ``dead_window`` monitored batches."""
        masks = [m for m in self._alive.get(name, []) if m.shape == alive.shape][-(self.dead_window - 1):] \
            if self.dead_window > 1 else []
        masks.append(alive)
        self._alive[name] = masks
        union = np.logical_or.reduce(masks) if len(masks) > 1 else alive
        return 1.0 - float(np.count_nonzero(union)) / max(union.size, 1)

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        loss = float(logs["loss"]) if logs and "loss" in logs else math.nan
        log = self.log
        step = self.trainer.global_step - 1  # the step that just ran
        while len(log.loss) < step:  # steps seen by no monitor (a resumed run without its state)
            log.loss.append(math.nan)
        log.loss.append(loss)
        if not self._active:
            return
        for h in self._handles:
            h.remove()
        self._handles = []
        log.steps.append(step)
        log.epochs.append(int(self.trainer.epoch))
        lr = self.trainer.current_lr() if hasattr(self.trainer, "current_lr") else None
        log.lr.append(math.nan if lr is None else float(lr))
        n = len(log.steps)
        with np.errstate(all="ignore"):
            for name, m, kind in self._watched:
                st = self._acts.get(name, {})
                stats = log.layers[name]
                for key in ("act_mean", "act_std") + (("dead",) if kind == "relu" else ()) + \
                        (("saturated",) if kind in ("sigmoid", "tanh") else ()):
                    _put(stats, key, st.get(key, math.nan), n)
                if kind == "weight":
                    w = m._parameters["weight"]
                    before = self._before.get(name)
                    _put(stats, "weight_norm", _norm(w.array), n)
                    _put(stats, "grad_norm", math.nan if w.grad is None else _norm(w.grad.array), n)
                    _put(stats, "no_grad", float(w.grad is None), n)  # no gradient reached it, not a NaN one
                    if isinstance(m, nn.Embedding):  # only the rows of the batch's ids get a gradient
                        used = np.zeros(0, np.intp) if w.grad is None else \
                            np.flatnonzero(np.any(w.grad.array != 0, axis=1))
                        _put(stats, "rows_used", len(used) / max(len(w.array), 1), n)
                        _put(stats, "used_weight_norm", _norm(w.array[used]) if len(used) else math.nan, n)
                    ratio = math.nan
                    if before is not None:
                        bn = _norm(before)
                        np.subtract(w.array, before, out=before)
                        ratio = _norm(before) / bn if bn > 0 else math.nan
                    _put(stats, "update_ratio", ratio, n)
        self._before, self._active = {}, False

    # ---- resume ----------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        d = self.log.to_dict()
        d["loss"] = np.asarray(d["loss"], dtype=np.float64)  # one entry per step: stored as an array
        # the dead-unit window, so a resumed run counts dead units exactly as an uninterrupted one
        d["alive"] = {name: [m.astype(np.uint8) for m in masks] for name, masks in self._alive.items()}
        return d

    def load_state_dict(self, state: dict[str, Any]) -> None:
        state = dict(state)
        alive = state.pop("alive", {})
        self.log = MonitorLog.from_dict({**state, "loss": [float(v) for v in np.asarray(state.get("loss", []))]})
        self._alive = {name: [np.asarray(m).astype(bool) for m in masks] for name, masks in alive.items()}
        for name, m, kind in self._watched:  # layers watched now but absent from the saved state
            self.log.layers.setdefault(name, {})
            self.log.kinds.setdefault(name, kind)
            self.log.types.setdefault(name, type(m).__name__)
