"""Callbacks for ``fit``: Keras's hooks (``on_train_begin``, ``on_epoch_end``, ``on_batch_end``, ...).

>>> import lucidnet as ln
>>> from lucidnet.train.callbacks import EarlyStopping, ModelCheckpoint, CSVLogger
>>> cbs = [EarlyStopping(patience=2, restore_best_weights=True), CSVLogger("log.csv")]
"""
from .base import Callback, CallbackList
from .csv_logger import CSVLogger
from .early_stopping import EarlyStopping
from .lr_scheduler import LRSchedulerCallback
from .model_checkpoint import ModelCheckpoint
from .progress import ProgressBar
from .pruning import GradualPruning
from .terminate_on_nan import TerminateOnNaN
from .training_checkpoint import TrainingCheckpoint
from .weight_averaging import WeightAveraging

__all__ = ["Callback", "CallbackList", "CSVLogger", "EarlyStopping", "LRSchedulerCallback", "ModelCheckpoint",
           "GradualPruning", "ProgressBar", "TerminateOnNaN", "TrainingCheckpoint",
           "WeightAveraging"]
