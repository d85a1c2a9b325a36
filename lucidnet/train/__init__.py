"""Training: a Keras-like loop for any ``Module``.

``fit`` / ``evaluate`` / ``predict`` (functions) or a ``Trainer`` (the same loop, reusable); ``History``
(what ``fit`` returns); ``callbacks`` (EarlyStopping, ModelCheckpoint, LRSchedulerCallback, ProgressBar,
CSVLogger, TerminateOnNaN, TrainingCheckpoint); ``metrics`` (computed exactly over each epoch).

A run checkpointed with ``fit(checkpoint=path, checkpoint_every=N)`` and killed at any point continues with
``fit(..., resume=path)`` to the same weights, bit for bit, as a run that never stopped.
"""
from . import callbacks, metrics
from .callbacks import (Callback, CSVLogger, EarlyStopping, LRSchedulerCallback, ModelCheckpoint, ProgressBar,
                        TerminateOnNaN, TrainingCheckpoint)
from .fit import evaluate, fit, predict
from .history import History
from .metrics import Metric
from .trainer import Trainer

__all__ = ["fit", "evaluate", "predict", "Trainer", "History", "Metric", "callbacks", "metrics", "Callback",
           "CSVLogger", "EarlyStopping", "LRSchedulerCallback", "ModelCheckpoint", "ProgressBar", "TerminateOnNaN",
           "TrainingCheckpoint"]
