"""``Callback``: hooks the training loop calls (Keras's names), and ``CallbackList``, which calls them.

A callback sees the run through ``self.trainer`` (the model, the optimizer, the epoch and step, the
history) and stops it with ``self.trainer.stop_training = True``. Hooks get ``logs``, a dict:

* ``on_batch_end``: ``loss`` (this batch's loss), ``size`` (its sample count);
  ``trainer.running_logs()`` gives the epoch's running loss and metrics when a callback needs them.
* ``on_validation_begin``: before each validation (no logs);
* ``on_validation_end``: the ``val_*`` logs of each validation: at every epoch's end and, with
  ``fit(val_check_interval=...)``, inside the epochs too (``trainer.global_step`` says where);
* ``on_epoch_end``: the epoch's ``loss`` and metrics, ``val_*`` of the epoch-end validation, and ``lr``.
* ``on_train_end``: the last epoch's logs.

In a data-parallel run (``mpiexec``) every rank runs the callbacks, but for those with ``rank_zero_only``
(they print or write files), which rank 0 alone runs.

A callback with state that must survive a resumed run (best value so far, patience counter) returns it
from ``state_dict()`` (nested dicts, lists, numbers, strings and NumPy arrays) and takes it back in
``load_state_dict()``; the training checkpoint stores it.

>>> class PrintLoss(Callback):
...     def on_epoch_end(self, epoch, logs=None):
...         print(f"epoch {epoch}: {logs['loss']:.3f}")
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    from ..trainer import Trainer

__all__ = ["Callback", "CallbackList"]

_HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_batch_begin", "on_batch_end",
          "on_validation_begin", "on_validation_end")


class Callback:
    """Base class; override the hooks you need (each default does nothing)."""

    trainer: "Trainer"
    #: whether ``CallbackList.state_dict`` collects this callback's state (the History is saved on its own)
    saved_with_callbacks: bool = True
    #: in a data-parallel run (``mpiexec``), whether only rank 0 runs it: the callbacks that print or write files
    rank_zero_only: bool = False

    def set_trainer(self, trainer: "Trainer") -> None:
        self.trainer = trainer

    @property
    def model(self) -> Any:
        return self.trainer.model

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        pass

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        pass

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        pass

    def on_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        pass

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        pass

    def on_validation_begin(self, logs: dict[str, Any] | None = None) -> None:
        pass

    def on_validation_end(self, logs: dict[str, Any] | None = None) -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        """What a resumed run needs to continue as if never stopped (empty by default)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


class CallbackList:
    """Calls each hook on every callback, in order. Per-batch hooks are called only on the callbacks that
    override them, so callbacks without batch hooks cost nothing per step."""

    def __init__(self, callbacks: Iterable[Callback], trainer: "Trainer", rank: int = 0):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks: expected Callback instances, got {type(cb).__name__}")
            cb.set_trainer(trainer)
        runs = [cb for cb in self.callbacks if rank == 0 or not cb.rank_zero_only]  # rank: of a data-parallel run
        self._by_hook = {h: [getattr(cb, h) for cb in runs
                             if getattr(type(cb), h) is not getattr(Callback, h)] for h in _HOOKS}
        self.has_batch_begin = bool(self._by_hook["on_batch_begin"])
        self.has_batch_end = bool(self._by_hook["on_batch_end"])

    def on_train_begin(self, logs: dict | None = None) -> None:
        for f in self._by_hook["on_train_begin"]:
            f(logs)

    def on_train_end(self, logs: dict | None = None) -> None:
        for f in self._by_hook["on_train_end"]:
            f(logs)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        for f in self._by_hook["on_epoch_begin"]:
            f(epoch, logs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for f in self._by_hook["on_epoch_end"]:
            f(epoch, logs)

    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        for f in self._by_hook["on_batch_begin"]:
            f(batch, logs)

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        for f in self._by_hook["on_batch_end"]:
            f(batch, logs)

    def on_validation_begin(self, logs: dict | None = None) -> None:
        for f in self._by_hook["on_validation_begin"]:
            f(logs)

    def on_validation_end(self, logs: dict | None = None) -> None:
        for f in self._by_hook["on_validation_end"]:
            f(logs)

    def _keys(self) -> list[str]:
        """Each callback's key in a saved state: its class and how many of that class come before it
        (``EarlyStopping#0``), so that adding or removing a callback of another class keeps the match."""
        seen: dict[str, int] = {}
        keys = []
        for cb in self.callbacks:
            name = type(cb).__name__
            keys.append(f"{name}#{seen.get(name, 0)}")
            seen[name] = seen.get(name, 0) + 1
        return keys

    def state_dict(self) -> dict[str, Any]:
        out = {}
        for key, cb in zip(self._keys(), self.callbacks):
            s = cb.state_dict() if cb.saved_with_callbacks else None
            if s:
                out[key] = s
        return out

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Give each callback its saved state, matched by class and order among those of its class (checkpoints
        of earlier versions: by position and class); a callback added since the checkpoint starts fresh."""
        for i, (key, cb) in enumerate(zip(self._keys(), self.callbacks)):
            if not cb.saved_with_callbacks:
                continue
            s = state.get(key, state.get(f"{i}:{type(cb).__name__}"))
            if s:
                cb.load_state_dict(s)


def resolve_mode(monitor: str, mode: str, who: str) -> str:
    """``'min'`` or ``'max'``; ``'auto'`` means max for accuracy-like names, min otherwise."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{who}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    name = monitor.lower()
    return "max" if any(s in name for s in ("acc", "f1", "precision", "recall", "auc")) else "min"


def monitored(logs: dict[str, Any] | None, monitor: str, who: str) -> float | None:
    """The monitored value from ``logs`` (None, with a warning, when it is missing)."""
    import warnings

    if logs is None or monitor not in logs or logs[monitor] is None:
        warnings.warn(f"{who}: the monitored quantity {monitor!r} is not in the logs (available: "
                      f"{sorted(logs or {})}); skipping this epoch", RuntimeWarning, stacklevel=3)
        return None
    return float(logs[monitor])
