"""``Trainer``: the training loop for any ``Module`` (``fit``, ``evaluate``, ``predict``), with callbacks,
epoch-exact metrics and checkpoints that resume a killed run bit for bit.

One training step (``lucidnet.train.steps``; by default ``SupervisedStep``: ``zero_grad``, forward, loss,
backward, (clip), ``optimizer.step()``; ``TBPTTStep`` for recurrent language models); then the batch's loss
(one float) and the metrics' counts are accumulated on NumPy arrays. Nothing else runs per batch unless a
callback asks for it (callbacks without batch hooks cost nothing per step) or ``fit(max_seconds=...)`` times
the batches.

Under ``mpiexec -n N`` the same ``fit`` trains data-parallel (``lucidnet.train.distributed``): the batch size
stays the global one, each rank trains on its share, gradients are averaged, metrics summed over the ranks,
and rank 0 alone prints and writes; ``save_checkpoint`` and ``evaluate`` during ``fit`` are then collective.

>>> import numpy as np, lucidnet as ln
>>> _ = ln.manual_seed(0)
>>> x = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)
>>> y = (x[:, 0] > 0).astype(np.int64)
>>> model = ln.nn.Linear(2, 2)
>>> trainer = Trainer(model, loss="cross_entropy", optimizer=ln.optim.SGD(model.parameters(), lr=0.5), verbose=0)
>>> history = trainer.fit((x, y), epochs=5, batch_size=16)
>>> sorted(history.history), len(history.history["loss"])
(['accuracy', 'loss', 'lr'], 5)
>>> trainer.evaluate((x, y))["accuracy"] > 0.9
True
"""
from __future__ import annotations

import copy
import os
import time
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from ..nn.inference import inference
from ..optim.lr_scheduler import CosineAnnealingTimeLR
from ..tensor import Tensor
from . import metrics as _metrics
from .callbacks.base import Callback, CallbackList
from .callbacks.lr_scheduler import LRSchedulerCallback
from .callbacks.progress import ProgressBar
from .callbacks.training_checkpoint import TrainingCheckpoint
from .data import as_loader, batch_size_of, inputs_only
from .data import split_batch as default_split
from .distributed import WorldRun
from .history import History
from .metrics import Mean, Metric
from .resolve import CLASSIFICATION_LOSSES, LOGIT_LOSSES, get_loss, get_optimizer
from .steps import SupervisedStep, TrainStep
from .val_check import check_val_check_interval, in_epoch_points

EVAL_BATCH_SIZE = 256  # samples per batch wherever the library evaluates or predicts (no graph is kept)

__all__ = ["Trainer", "EVAL_BATCH_SIZE"]

MetricsArg = Sequence[str | Metric | Callable] | None


def _first(out: Any) -> Any:
    """The output metrics and predict look at: the first element of a tuple output."""
    return out[0] if isinstance(out, (tuple, list)) else out


def _arr(x: Any) -> Any:
    return x.array if isinstance(x, Tensor) else x


def _same_world(extra: dict | None, size: int, path: Any, anywhere: bool = False) -> None:
    """An error when a checkpoint saved in the middle of an epoch (``anywhere``: at any point) by a number of
    processes is resumed by another number."""
    saved, in_epoch = int((extra or {}).get("world_size", 1)), bool((extra or {}).get("in_epoch"))
    if (in_epoch or anywhere) and saved != size:
        where = " in the middle of an epoch" if in_epoch else ""
        raise ValueError(f"fit: {os.fspath(path)} was saved by {saved} process(es){where}; resume it with as many "
                         f"(mpiexec -n {saved}), not {size}")


class Trainer:
    """Train, evaluate and run a model, Keras style.

    Args:
        model: any ``Module`` (called as ``model(*inputs)``).
        loss: a name (``"cross_entropy"``, ``"mse"``, ``"mae"``, ``"bce"``, ``"bce_with_logits"``, ``"nll"``,
            ``"huber"``, ``"smooth_l1"``) or a callable ``loss(output, target) -> scalar Tensor``.
        optimizer: an optimizer instance, or a name (``"adam"``, ``"sgd"``, ``"adamw"``, ``"rmsprop"``,
            ``"adagrad"``) built over ``model.parameters()`` with ``lr`` (if given).
        metrics: names, ``Metric`` objects or functions ``fn(output, target)``; default: ``["accuracy"]``
            for classification losses, none otherwise.
        scheduler: an LR scheduler stepped every epoch (``scheduler_interval="epoch"``) or every optimizer
            step (``"step"``); a ``ReduceLROnPlateau`` gets ``scheduler_monitor`` (default ``"val_loss"``,
            or ``"loss"`` without validation data).
        callbacks: ``Callback`` objects, used by every ``fit`` of this trainer.
        verbose: 0 silent, 1 progress bar (one line per epoch when the output is not a terminal), 2 one
            line per epoch.
        split_batch: ``batch -> (inputs tuple, target)`` for batches that are not ``(x, y)`` /
            ``(x1, ..., y)`` tuples.
        clip_grad_norm: if set, gradients are scaled to this joint norm before each step.
        step: what runs on each batch (``lucidnet.train.steps``): ``SupervisedStep()`` by default, or a
            ``TBPTTStep`` (which computes its own loss: ``loss`` may then be None).
        clock: the time source of ``elapsed`` (``time.perf_counter``; injectable for tests).
        capture: run each batch's forward, loss and backward through ``lucidnet.compile`` (recorded on the first
            two batches of a shape, replayed after: the same bits, less per-op work; see
            ``lucidnet.autograd.capture``).

    During ``fit``, callbacks read ``epoch``, ``global_step``, ``batch_in_epoch``, ``params``, ``history``,
    ``elapsed`` (training seconds so far, validation excluded), ``validating_in_epoch`` (whether the validation
    that ``on_validation_begin`` and ``on_validation_end`` report is one inside an epoch), ``running_logs()``
    and set ``stop_training``.
    """

    def __init__(self, model: Any, loss: str | Callable | None = None, optimizer: Any = "adam",
                 metrics: MetricsArg = None, *, lr: float | None = None, scheduler: Any = None,
                 scheduler_interval: str = "epoch", scheduler_monitor: str | None = None,
                 callbacks: Iterable[Callback] | None = None, verbose: int = 1,
                 split_batch: Callable[[Any], tuple[tuple, Any]] | None = None,
                 clip_grad_norm: float | None = None, step: TrainStep | None = None,
                 clock: Callable[[], float] = time.perf_counter, capture: bool = False):
        if not callable(model):
            raise TypeError(f"Trainer: model must be a callable Module, got {type(model).__name__}")
        if verbose not in (0, 1, 2):
            raise ValueError(f"Trainer: verbose must be 0, 1 or 2, got {verbose!r}")
        self.model = model
        self.loss_fn, self.loss_name = get_loss(loss, "Trainer")
        self._optimizer_spec, self._lr = optimizer, lr
        self._optimizer: Any = None
        self.metrics = self._build_metrics(metrics)
        self.scheduler = scheduler
        self.scheduler_interval, self.scheduler_monitor = scheduler_interval, scheduler_monitor
        self.callbacks = list(callbacks or [])
        self.verbose = verbose
        self.split_batch = split_batch or default_split
        self.clip_grad_norm = clip_grad_norm
        self.step = step if step is not None else SupervisedStep()
        if capture and not self.step.supports_capture:
            raise ValueError(f"Trainer: capture=True applies to SupervisedStep only, not {type(self.step).__name__}")
        self.capture = bool(capture)
        self.clock = clock
        self.history = History()
        # the state of a run, read by callbacks
        self.epoch = 0
        self.global_step = 0
        self.batch_in_epoch = 0
        self.params: dict[str, Any] = {}
        self.stop_training = False
        self.elapsed = 0.0
        self.max_seconds: float | None = None
        self.has_validation = False
        self.resumed = False
        self.start_epoch = 0
        self.train_loader: Any = None
        self.validating_in_epoch = False
        self._epoch_finished = False
        self._val_loader: Any = None
        self._val_at: Callable[[int], bool] | None = None  # after which batches of an epoch to validate
        self._last_val: tuple[int, dict[str, Any]] | None = None  # (global step, val_* logs) of the last validation
        self._loss_mean = Mean(name="loss")
        self._callback_list: CallbackList | None = None
        self._world: WorldRun | None = None  # this rank's side of a data-parallel fit in progress

    # ---- set-up -----------------------------------------------------------------------------------
    @property
    def optimizer(self) -> Any:
        if self._optimizer is None:
            self._optimizer = get_optimizer(self._optimizer_spec, self.model, self._lr, "Trainer")
        return self._optimizer

    def _build_metrics(self, metrics: MetricsArg) -> list[Metric]:
        if metrics is None:
            metrics = ["accuracy"] if self.loss_name in CLASSIFICATION_LOSSES else []
        elif isinstance(metrics, (str, Metric)) or callable(metrics):
            metrics = [metrics]
        threshold = 0.0 if self.loss_name in LOGIT_LOSSES else None
        kind = "categorical" if self.loss_name in ("cross_entropy", "nll_loss") else None
        built = [_metrics.get(m, binary_threshold=threshold, kind=kind) for m in metrics]
        names = [m.name for m in built]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"Trainer: two metrics share the name(s) {dup}; give them distinct name=")
        if "loss" in names or "lr" in names:
            raise ValueError("Trainer: a metric may not be named 'loss' or 'lr' (those keys are the trainer's)")
        return built

    def _callbacks_for_fit(self, extra: Iterable[Callback] | None, checkpoint: Any,
                           checkpoint_every: int | None) -> CallbackList:
        cbs = self.callbacks + list(extra or [])
        if self.scheduler is not None:
            cbs.append(LRSchedulerCallback(self.scheduler, self.scheduler_interval, self.scheduler_monitor,
                                           save_state=False))
        if not any(isinstance(cb, ProgressBar) for cb in cbs):
            cbs.append(ProgressBar(self.verbose))
        if checkpoint is not None:
            cbs.append(TrainingCheckpoint(checkpoint, every_n_steps=checkpoint_every))
        elif checkpoint_every is not None:
            raise ValueError("fit: checkpoint_every is given without checkpoint=path")
        # the history records the logs after the callbacks that add to them; training checkpoints go last,
        # so the state they save has every other callback's update (and this epoch's history) in it
        cbs = [cb for cb in cbs if not isinstance(cb, TrainingCheckpoint)] + [self.history] + \
              [cb for cb in cbs if isinstance(cb, TrainingCheckpoint)]
        return CallbackList(cbs, self, rank=0 if self._world is None else self._world.rank)

    # ---- logs -------------------------------------------------------------------------------------
    def running_logs(self) -> dict[str, Any]:
        """The current epoch's training loss and metrics so far (exact over the batches seen; in a
        data-parallel run, over this rank's)."""
        logs: dict[str, Any] = {"loss": self._loss_mean.result()}
        for m in self.metrics:
            logs[m.name] = m.result()
        return logs

    def _accumulators(self) -> list[dict]:
        """The loss's and the metrics' accumulator states, summed over the ranks in a data-parallel run."""
        states = [self._loss_mean.state_dict()] + [m.state_dict() for m in self.metrics]
        return states if self._world is None else self._world.summed(states)

    def _epoch_logs(self) -> dict[str, Any]:
        """The epoch's training loss and metrics (over every rank's batches)."""
        if self._world is None:
            return self.running_logs()
        states = self._accumulators()
        mean = Mean(name="loss")
        mean.load_state_dict(states[0])
        logs: dict[str, Any] = {"loss": mean.result()}
        for m, state in zip(self.metrics, states[1:]):
            total = self._fresh(m)
            total.load_state_dict(state)
            logs[m.name] = total.result()
        return logs

    def current_lr(self) -> float | None:
        """The learning rate of the optimizer's first parameter group."""
        groups = getattr(self.optimizer, "param_groups", None)
        return float(groups[0]["lr"]) if groups else None

    # ---- checkpoints ------------------------------------------------------------------------------
    def save_checkpoint(self, path: str | os.PathLike) -> None:
        """Write the run's full state to ``path`` (atomically); ``fit(resume=path)`` continues from it.
        During a data-parallel ``fit`` every rank calls it (the epoch's accumulators are summed over the ranks)
        and rank 0 writes."""
        from ..serialization import save_checkpoint

        loader = self.train_loader if hasattr(self.train_loader, "state_dict") else None
        finished = self._epoch_finished
        states = self._accumulators()
        extra = {
            "in_epoch": not finished,
            "batch_in_epoch": 0 if finished else self.batch_in_epoch,
            "stop_training": bool(self.stop_training),
            "elapsed": self.elapsed,
            "loss": states[0],
            "metrics": {m.name: state for m, state in zip(self.metrics, states[1:])},
            "callbacks": self._callback_list.state_dict() if self._callback_list is not None else {},
        }
        if self._last_val is not None:
            extra["last_validation"] = {"step": self._last_val[0], "logs": dict(self._last_val[1])}
        world = self._world
        if world is not None:
            extra["world_size"] = world.size
            if world.sampler is not None:
                extra["sampler_seed"] = world.sampler.seed
            if world.rank != 0:
                return
        save_checkpoint(path, model=self.model, optimizer=self.optimizer, scheduler=self.scheduler, loader=loader,
                        epoch=self.epoch + 1 if finished else self.epoch, step=self.global_step,
                        history=self.history.state_dict(), extra=extra)

    def _load_checkpoint(self, path: str | os.PathLike) -> dict[str, Any]:
        from ..serialization import load_checkpoint

        loader = self.train_loader if hasattr(self.train_loader, "load_state_dict") else None
        world = self._world
        if world is None:
            try:
                ck = load_checkpoint(path, model=self.model, optimizer=self.optimizer, scheduler=self.scheduler,
                                     loader=loader)  # restores the library RNG too
            except ValueError:
                _same_world(load_checkpoint(path, restore_rng=False)["extra"], 1, path, anywhere=True)  # clearer
                raise
        else:
            ck = self._load_in_world(world, os.fspath(path), loader)
        extra = ck["extra"] or {}
        self.history.load_state_dict(ck["history"])
        self.epoch = self.start_epoch = int(ck["epoch"])
        self.global_step = int(ck["step"])
        self.stop_training = bool(extra.get("stop_training", False))
        self.elapsed = float(extra.get("elapsed", 0.0))
        last = extra.get("last_validation")
        self._last_val = None if last is None else (int(last["step"]), dict(last["logs"]))
        if extra.get("in_epoch"):
            if loader is None and int(extra.get("batch_in_epoch", 0)) > 0:
                raise ValueError(f"fit: {os.fspath(path)} was saved in the middle of an epoch, but "
                                 f"{type(self.train_loader).__name__} cannot resume mid-epoch (it has no "
                                 "load_state_dict); use a lucidnet DataLoader")
            self.batch_in_epoch = int(extra["batch_in_epoch"])
            if world is None or world.rank == 0:  # a data-parallel run saved the sums of every rank's
                self._loss_mean.load_state_dict(extra["loss"])
                saved = extra.get("metrics", {})
                for m in self.metrics:
                    if m.name in saved:
                        m.load_state_dict(saved[m.name])
        return extra

    def _load_in_world(self, world: WorldRun, path: str, loader: Any) -> dict[str, Any]:
        """``load_checkpoint`` of rank 0's file on every rank; the loader resumes an epoch in progress only
        (saved by as many ranks), in this rank's order."""
        from ..serialization import load_checkpoint

        local, copied = world.local_copy(path)
        try:
            ck = load_checkpoint(local, model=self.model, optimizer=self.optimizer, scheduler=self.scheduler)
        finally:
            if copied:
                os.unlink(local)
        extra = ck["extra"] or {}
        _same_world(extra, world.size, path)
        if extra.get("in_epoch"):
            if loader is not None and ck["loader_state_dict"] is not None:
                loader.load_state_dict(ck["loader_state_dict"])
        if world.sampler is not None and extra.get("sampler_seed") is not None:
            world.sampler.seed = int(extra["sampler_seed"])
        world.resumed_loader(self.train_loader, int(ck["epoch"]))
        return ck

    # ---- the loop ---------------------------------------------------------------------------------
    def fit(self, train_data: Any, epochs: int = 1, *, val_data: Any = None, batch_size: int = 32,
            shuffle: bool = True, callbacks: Iterable[Callback] | None = None,
            checkpoint: str | os.PathLike | None = None, checkpoint_every: int | None = None,
            resume: str | os.PathLike | bool | None = None, max_seconds: float | None = None,
            val_check_interval: int | float | None = None) -> History:
        """Train for ``epochs`` epochs; returns the ``History``.

        ``train_data``/``val_data``: a ``DataLoader``, a dataset, or arrays ``(x, y)`` (batched by
        ``batch_size``, the training data shuffled every epoch when ``shuffle``).
        ``checkpoint``: a path where the full training state is written (atomically) at every epoch end and,
        with ``checkpoint_every=N``, every N optimizer steps. ``resume``: a checkpoint path to continue from
        (``True``: the ``checkpoint`` path, if that file exists; otherwise start fresh).
        ``max_seconds``: stop once this much training time (validation excluded) has passed: the epoch in
        progress ends there and is validated (default: the budget of a ``CosineAnnealingTimeLR`` scheduler).
        ``val_check_interval``: validate inside the epochs too (PyTorch Lightning's name; Hugging Face's
        ``eval_steps``): an int N after every N-th batch of an epoch, a float f in (0, 1] after each fraction f
        of it (0.25: four validations an epoch, the last at its end). Every validation goes to the callbacks'
        ``on_validation_end`` and ``history.validations``; ``EarlyStopping(restore_best_weights=True)`` keeps
        the best of them all.
        How the data is batched and validated is the step's (``Trainer(step=...)``).
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"fit: epochs must be a non-negative int, got {epochs!r}")
        step = self.step
        if self.loss_fn is None and isinstance(step, SupervisedStep):
            raise ValueError("fit: no loss given; pass loss='cross_entropy' (or another name) or a callable")
        if max_seconds is None and isinstance(self.scheduler, CosineAnnealingTimeLR):
            max_seconds = self.scheduler.budget_seconds
        if max_seconds is not None and not max_seconds >= 0:
            raise ValueError(f"fit: max_seconds must be >= 0, got {max_seconds!r}")
        if val_check_interval is not None:
            check_val_check_interval(val_check_interval)
            if val_data is None:
                raise ValueError("fit: val_check_interval validates inside the epochs; it needs val_data")
        loader = step.train_loader(train_data, batch_size, shuffle)
        val_loader = None if val_data is None else step.val_loader(val_data, batch_size)
        if checkpoint_every is not None and not hasattr(loader, "state_dict"):
            raise ValueError(f"fit: checkpoint_every needs a loader that can resume mid-epoch (with state_dict()); "
                             f"{type(loader).__name__} has none. Checkpoint at epoch ends only (checkpoint= alone)")
        world = self._world = WorldRun.join()  # one rank of several (mpiexec): data-parallel
        if world is None:
            resume_path = self._resume_path(resume, checkpoint)
        else:  # rank 0's checkpoint decides, and is read by every rank
            loader = world.train_loader(loader)
            resume_path = world.decide(self._resume_path(resume, checkpoint) if world.rank == 0 else None)

        _ = self.optimizer  # built now (from a name), before the callbacks and a resume use it
        self.train_loader = loader
        self.has_validation = val_loader is not None
        self.history = History()
        self.epoch, self.global_step, self.batch_in_epoch = 0, 0, 0
        self.stop_training, self.resumed, self.start_epoch = False, False, 0
        self.elapsed, self.max_seconds = 0.0, max_seconds
        self._epoch_finished = False
        self._reset_accumulators()
        steps = len(loader) if hasattr(loader, "__len__") else None
        self._val_loader, self._last_val, self.validating_in_epoch = val_loader, None, False
        self._val_at = None if val_check_interval is None else in_epoch_points(val_check_interval, steps)
        self.params = {"epochs": epochs, "steps": steps, "verbose": self.verbose}
        cbs = self._callback_list = self._callbacks_for_fit(callbacks, checkpoint, checkpoint_every)

        extra: dict[str, Any] = {}
        if resume_path is not None:
            extra = self._load_checkpoint(resume_path)
            self.resumed = True
        if world is not None:
            world.wrap(self.model)
        self.history.params = dict(self.params)
        was_training = getattr(self.model, "training", True)
        cbs.on_train_begin()
        if extra.get("callbacks"):
            cbs.load_state_dict(extra["callbacks"])
        mid_epoch = bool(extra.get("in_epoch"))
        logs: dict[str, Any] = {}
        try:
            for epoch in range(self.start_epoch, epochs):
                if self.stop_training and not mid_epoch:
                    break
                self.epoch, self._epoch_finished = epoch, False
                if not mid_epoch:
                    self._reset_accumulators()
                    self.batch_in_epoch = 0
                mid_epoch = False
                cbs.on_epoch_begin(epoch)
                if not self.stop_training:
                    if world is not None:
                        world.begin_epoch(loader, epoch)
                    self._train_epoch(loader, cbs)
                logs = self._epoch_logs()
                if val_loader is not None:
                    logs.update(self._validated(cbs))
                logs["lr"] = self.current_lr()
                logs.update(step.epoch_logs(self))
                self._epoch_finished = True
                cbs.on_epoch_end(epoch, logs)
                if world is not None:
                    self.stop_training = world.any(self.stop_training)
                if self.stop_training:
                    break
            if world is not None:
                world.sync_buffers()
        finally:
            if hasattr(self.model, "train"):
                self.model.train(was_training)
            if world is not None:
                world.release()
            self._world = None
        cbs.on_train_end(logs)
        return self.history

    def _resume_path(self, resume: Any, checkpoint: Any) -> str | None:
        if resume is None or resume is False:
            return None
        if resume is True:
            if checkpoint is None:
                raise ValueError("fit: resume=True resumes from checkpoint=path; no checkpoint path was given")
            return os.fspath(checkpoint) if os.path.exists(checkpoint) else None
        path = os.fspath(resume)
        if not os.path.exists(path):
            raise FileNotFoundError(f"fit: cannot resume: no checkpoint at {path!r}")
        return path

    def _validate(self, cbs: CallbackList, in_epoch: bool = False) -> dict[str, Any]:
        """Validate now: the ``val_*`` logs, given to the callbacks' ``on_validation_end``."""
        if self._world is not None:
            self._world.sync_buffers()
        self.validating_in_epoch = in_epoch
        try:
            cbs.on_validation_begin()
            val = {f"val_{k}": v for k, v in self.step.evaluate(self, self._val_loader).items()}
            self._last_val = (self.global_step, val)
            cbs.on_validation_end(dict(val))
        finally:
            self.validating_in_epoch = False
        return val

    def _validated(self, cbs: CallbackList) -> dict[str, Any]:
        """The epoch-end validation's logs: those of a validation inside the epoch after its last step, if there
        was one (the same weights), else a new one."""
        if self._last_val is not None and self._last_val[0] == self.global_step:
            return dict(self._last_val[1])
        return self._validate(cbs)

    def _reset_accumulators(self) -> None:
        self._loss_mean.reset()
        for m in self.metrics:
            m.reset()

    @staticmethod
    def _fresh(m: Metric) -> Metric:
        c = copy.deepcopy(m)
        c.reset()
        return c

    def _train_epoch(self, loader: Any, cbs: CallbackList) -> None:
        metrics, mean = self.metrics, self._loss_mean
        has_begin, has_end = cbs.has_batch_begin, cbs.has_batch_end
        max_seconds, clock = self.max_seconds, self.clock
        timed = max_seconds is not None
        val_at = self._val_at
        world = self._world
        if hasattr(self.model, "train"):
            self.model.train()
        self.step.begin_epoch()
        run = self.step.bind(self)
        i = self.batch_in_epoch
        start, t0 = self.elapsed, clock()
        for batch in loader:
            if has_begin:
                cbs.on_batch_begin(i, {})
            value, n, out, target = run(batch)
            mean.total += value * n
            mean.count += n
            if metrics:
                o, t = _arr(_first(out)), _arr(target)
                for m in metrics:
                    m.update(o, t)
            i += 1
            self.batch_in_epoch = i
            self.global_step += 1
            if timed:
                self.elapsed = start + clock() - t0
                if world is not None:  # one clock for every rank (a time-based schedule, the budget)
                    self.elapsed = world.largest(self.elapsed)
                if self.elapsed >= max_seconds:
                    self.stop_training = True
            if val_at is not None and val_at(i) and not self.stop_training:  # its time is not training time
                t_val = clock()
                self._validate(cbs, in_epoch=True)
                t0 += clock() - t_val
            if has_end:
                cbs.on_batch_end(i - 1, {"loss": value, "size": n})
            if world is not None:  # every rank stops at the same step
                self.stop_training = world.any(self.stop_training)
            if self.stop_training:
                break
        self.elapsed = start + clock() - t0

    def _run_eval(self, loader: Any, metrics: list[Metric]) -> dict[str, Any]:
        """Loss and metrics over ``loader``, under ``inference(model)`` (in a data-parallel fit, each rank on every
        N-th batch, the sums over the ranks)."""
        model, loss_fn, split, world = self.model, self.loss_fn, self.split_batch, self._world
        mean = Mean()
        with inference(model):
            for batch in (loader if world is None else world.eval_batches(loader)):
                inputs, target = split(batch)
                if target is None and (loss_fn is not None or metrics):
                    raise ValueError("evaluate: the data has no targets (batches of inputs only); "
                                     "pass (x, y) to compute a loss or metrics")
                out = model(*inputs)
                if loss_fn is not None:
                    mean.update(float(loss_fn(out, target).array), batch_size_of(inputs, target))
                if metrics:
                    o, t = _arr(_first(out)), _arr(target)
                    for m in metrics:
                        m.update(o, t)
        if world is not None:
            states = world.summed([mean.state_dict()] + [m.state_dict() for m in metrics])
            for acc, state in zip([mean, *metrics], states):
                acc.load_state_dict(state)
        logs: dict[str, Any] = {"loss": mean.result()} if loss_fn is not None else {}
        for m in metrics:
            logs[m.name] = m.result()
        return logs

    def evaluate(self, data: Any, *, batch_size: int = EVAL_BATCH_SIZE) -> dict[str, Any]:
        """``{"loss": ..., <metric>: ...}`` over ``data`` (eval mode, no graph), exact over all samples."""
        loader = as_loader(data, batch_size, False, "evaluate(data)")
        return self._run_eval(loader, [self._fresh(m) for m in self.metrics])

    def predict(self, data: Any, *, batch_size: int = EVAL_BATCH_SIZE) -> Any:
        """The model's outputs over ``data`` as one NumPy array (a tuple of arrays for tuple outputs),
        under ``inference(model)``.

        ``data``: an array or a tuple of arrays (every array is an input: ``model(*arrays)``), or a
        ``Dataset``/``DataLoader`` (batches split as in ``fit``; a target, if present, is ignored).
        """
        direct = isinstance(data, (np.ndarray, Tensor, tuple, list))
        loader = as_loader(data, batch_size, False, "predict(data)")
        split = inputs_only if direct and self.split_batch is default_split else self.split_batch
        model = self.model
        chunks: list[Any] = []
        with inference(model):
            for batch in loader:
                inputs, _ = split(batch)
                out = model(*inputs)
                chunks.append(tuple(_arr(o) for o in out) if isinstance(out, (tuple, list)) else _arr(out))
        if not chunks:
            raise ValueError("predict: the data is empty")
        if isinstance(chunks[0], tuple):
            return tuple(np.concatenate([c[j] for c in chunks]) for j in range(len(chunks[0])))
        return np.concatenate(chunks)
