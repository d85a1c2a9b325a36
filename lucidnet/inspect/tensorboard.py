"""``TensorBoard``: a callback that writes event files TensorBoard reads (scalars and histograms).

The writer is tensorboardX, an optional extra (``pip install "lucidnet[tensorboard]"``); TensorBoard itself
is only needed to look at the files (``tensorboard --logdir runs``).

Written, with the epoch (or the optimizer step) as the x axis:

* every epoch: the epoch logs, grouped so train and validation share a chart (``loss/train``,
  ``loss/val``, ``accuracy/train``, ``accuracy/val``) and ``lr``;
* every ``update_freq`` steps (when an int): ``loss/batch``, the batch loss;
* every ``histogram_freq`` epochs: a histogram of each parameter (``weights/NAME``) and of its
  gradient from the epoch's last step (``grads/NAME``);
* with ``monitor=``: the monitor's per-layer statistics (``layers/STAT/LAYER``), per monitored step.

>>> from lucidnet.inspect import Monitor, TensorBoard
>>> monitor = Monitor()
>>> callbacks = [monitor, TensorBoard("runs/tb", monitor=monitor)]  # fit(..., callbacks=callbacks)
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..train.callbacks.base import Callback
from .monitor import Monitor

__all__ = ["TensorBoard"]


def _writer_class() -> Any:
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise ImportError('TensorBoard needs the tensorboardX writer: pip install "lucidnet[tensorboard]"') from None
    return SummaryWriter


def _tag(key: str) -> str:
    if key == "lr":
        return "lr"
    if key.startswith("val_"):
        return f"{key[4:]}/val"
    return f"{key}/train"


class TensorBoard(Callback):
    """Write TensorBoard event files to ``log_dir`` during ``fit`` (see the module doc).

    ``update_freq``: ``"epoch"`` (epoch scalars only) or an int N (also the batch loss every N steps).
    ``histogram_freq``: write weight and gradient histograms every this many epochs (0: never).
    ``monitor``: a ``Monitor`` in the same ``fit``, whose layer statistics are written too.
    """

    rank_zero_only = True  # prints or writes files: rank 0 alone, in a data-parallel run

    def __init__(self, log_dir: str | os.PathLike = "runs", update_freq: int | str = "epoch", histogram_freq: int = 1,
                 monitor: Monitor | None = None):
        if update_freq != "epoch" and (isinstance(update_freq, bool) or not isinstance(update_freq, int)
                                       or update_freq < 1):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch' or a positive int, got {update_freq!r}")
        if isinstance(histogram_freq, bool) or not isinstance(histogram_freq, int) or histogram_freq < 0:
            raise ValueError(f"TensorBoard: histogram_freq must be a non-negative int, got {histogram_freq!r}")
        if monitor is not None and not isinstance(monitor, Monitor):
            raise TypeError(f"TensorBoard: monitor should be a lucidnet.inspect.Monitor, got {type(monitor).__name__}")
        self.log_dir = os.fspath(log_dir)
        self.update_freq, self.histogram_freq, self.monitor = update_freq, histogram_freq, monitor
        self._writer_cls = _writer_class()  # fail at construction, not after the first epoch
        self.writer: Any = None
        self._written = 0  # monitor records already written

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.writer = self._writer_cls(logdir=self.log_dir)
        self._written = 0

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        step = self.trainer.global_step
        if self.update_freq != "epoch" and self.writer is not None and logs and step % self.update_freq == 0:
            self.writer.add_scalar("loss/batch", float(logs["loss"]), step)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        w = self.writer
        if w is None:
            return
        for key, v in (logs or {}).items():
            if isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
                w.add_scalar(_tag(key), float(v), epoch)
        if self.histogram_freq and (epoch + 1) % self.histogram_freq == 0:
            for name, p in self.trainer.model.named_parameters():
                if np.isfinite(p.array).all():
                    w.add_histogram(f"weights/{name}", p.array, epoch)
                if p.grad is not None and np.isfinite(p.grad.array).all():
                    w.add_histogram(f"grads/{name}", p.grad.array, epoch)
        self._write_monitor()
        w.flush()

    def _write_monitor(self) -> None:
        if self.monitor is None:
            return
        log = self.monitor.log
        for i in range(self._written, len(log.steps)):
            for layer, stats in log.layers.items():
                for stat, values in stats.items():
                    if i < len(values) and np.isfinite(values[i]):
                        self.writer.add_scalar(f"layers/{stat}/{layer}", values[i], log.steps[i])
        self._written = len(log.steps)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.writer is not None:
            self._write_monitor()
            self.writer.close()
            self.writer = None
