"""``fit``, ``evaluate`` and ``predict`` as functions: a ``Trainer`` built and used once.

>>> import numpy as np, lucidnet as ln
>>> _ = ln.manual_seed(0)
>>> x = np.random.default_rng(0).normal(size=(128, 4)).astype(np.float32)
>>> y = (x.sum(axis=1) > 0).astype(np.int64)
>>> model = ln.nn.Sequential(ln.nn.Linear(4, 16), ln.nn.ReLU(), ln.nn.Linear(16, 2))
>>> history = ln.fit(model, (x, y), loss="cross_entropy", optimizer="adam", lr=0.01, epochs=10,
...                  val_data=(x, y), verbose=0)
>>> history.history["val_accuracy"][-1] > 0.9
True
>>> ln.train.predict(model, x[:3]).shape
(3, 2)
"""
from __future__ import annotations

import os
from typing import Any, Callable, Iterable

from .callbacks.base import Callback
from .history import History
from .trainer import EVAL_BATCH_SIZE, MetricsArg, Trainer

__all__ = ["fit", "evaluate", "predict"]


def fit(model: Any, train_data: Any, *, loss: str | Callable, optimizer: Any = "adam", epochs: int = 1,
        val_data: Any = None, metrics: MetricsArg = None, callbacks: Iterable[Callback] | None = None,
        batch_size: int = 32, shuffle: bool = True, verbose: int = 1, lr: float | None = None,
        scheduler: Any = None, scheduler_interval: str = "epoch", scheduler_monitor: str | None = None,
        checkpoint: str | os.PathLike | None = None, checkpoint_every: int | None = None,
        resume: str | os.PathLike | bool | None = None,
        split_batch: Callable[[Any], tuple[tuple, Any]] | None = None,
        clip_grad_norm: float | None = None, max_seconds: float | None = None,
        val_check_interval: int | float | None = None, capture: bool = False) -> History:
    """Train ``model`` on ``train_data``; returns a ``History`` (``history.history["val_accuracy"]``, ...).

    ``train_data``/``val_data``: a ``DataLoader``, a dataset, or arrays ``(x, y)`` / ``(x1, x2, ..., y)``.
    ``loss``: a name (``"cross_entropy"``, ``"mse"``, ``"bce_with_logits"``, ...) or ``loss(output, target)``.
    ``optimizer``: an optimizer, or a name built over ``model.parameters()`` with ``lr``.
    ``metrics``: names (``"accuracy"``, ``"top5_accuracy"``, ``"f1"``, ``"mse"``, ...), ``Metric`` objects or
    functions; default ``["accuracy"]`` for classification losses. ``scheduler``: stepped per epoch or
    per step (``scheduler_interval``); ``ReduceLROnPlateau`` gets ``scheduler_monitor``.
    ``checkpoint``/``checkpoint_every``/``resume``/``max_seconds``/``val_check_interval`` (validation inside the
    epochs): see ``Trainer.fit``. Other arguments: see ``Trainer``.
    """
    trainer = Trainer(model, loss, optimizer, metrics, lr=lr, scheduler=scheduler,
                      scheduler_interval=scheduler_interval, scheduler_monitor=scheduler_monitor, verbose=verbose,
                      split_batch=split_batch, clip_grad_norm=clip_grad_norm, capture=capture)
    return trainer.fit(train_data, epochs, val_data=val_data, batch_size=batch_size, shuffle=shuffle,
                       callbacks=callbacks, checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume,
                       max_seconds=max_seconds, val_check_interval=val_check_interval)


def evaluate(model: Any, data: Any, *, loss: str | Callable | None = None, metrics: MetricsArg = None,
             batch_size: int = EVAL_BATCH_SIZE, split_batch: Callable[[Any], tuple[tuple, Any]] | None = None) -> dict[str, Any]:
    """``{"loss": ..., "accuracy": ...}`` over ``data``, in eval mode under ``no_grad`` (the model's mode is
    restored after). Metrics default as in ``fit``; with neither loss nor metrics there is nothing to do."""
    if loss is None and not metrics:
        raise ValueError("evaluate: give a loss or metrics to compute")
    trainer = Trainer(model, loss, None, metrics, verbose=0, split_batch=split_batch)
    return trainer.evaluate(data, batch_size=batch_size)


def predict(model: Any, data: Any, *, batch_size: int = EVAL_BATCH_SIZE,
            split_batch: Callable[[Any], tuple[tuple, Any]] | None = None) -> Any:
    """The model's outputs over ``data`` as a NumPy array, in eval mode under ``no_grad``.

    ``data``: an array or a tuple of input arrays (``model(*arrays)``), or a dataset / DataLoader whose
    batches are split as in ``fit`` (the target, if any, is ignored)."""
    return Trainer(model, None, None, [], verbose=0, split_batch=split_batch).predict(data, batch_size=batch_size)
