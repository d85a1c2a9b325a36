"""Training: a Keras-like loop for any ``Module``.

``fit`` / ``evaluate`` / ``predict`` (functions) or a ``Trainer`` (the same loop, reusable); ``History``
(what ``fit`` returns); ``steps`` (what runs on each batch: ``SupervisedStep``, or ``TBPTTStep`` for
recurrent language models); ``callbacks`` (EarlyStopping, ModelCheckpoint, LRSchedulerCallback, ProgressBar,
CSVLogger, TerminateOnNaN, TrainingCheckpoint, WeightAveraging); ``metrics`` (computed exactly over each epoch);
``EVAL_BATCH_SIZE`` (the batch size of the library's evaluations) and ``steps_per_epoch``.

A run checkpointed with ``fit(checkpoint=path, checkpoint_every=N)`` and killed at any point continues with
``fit(..., resume=path)`` to the same weights, bit for bit, as a run that never stopped.
"""
from . import callbacks, metrics
from .callbacks import (Callback, CSVLogger, EarlyStopping, LRSchedulerCallback, ModelCheckpoint, ProgressBar,
                        TerminateOnNaN, TrainingCheckpoint, WeightAveraging)
from ..data import steps_per_epoch
from .fit import evaluate, fit, predict
from .history import History
from .metrics import Metric
from .steps import SupervisedStep, TBPTTStep, TrainStep
from .trainer import EVAL_BATCH_SIZE, Trainer

__all__ = ["fit", "evaluate", "predict", "Trainer", "History", "Metric", "callbacks", "metrics", "Callback",
           "CSVLogger", "EarlyStopping", "LRSchedulerCallback", "ModelCheckpoint", "ProgressBar", "TerminateOnNaN",
           "TrainingCheckpoint", "WeightAveraging",
           "EVAL_BATCH_SIZE", "steps_per_epoch", "TrainStep", "SupervisedStep", "TBPTTStep"]
