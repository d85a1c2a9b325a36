"""Language-model training with truncated back-propagation through time (TBPTT), and its evaluation.

The token ids of a corpus are cut into ``batch_size`` parallel streams (``as_streams``: row b is the b-th
contiguous slice of the text); a training step reads the next ``seq_len`` tokens of every stream and predicts
each next token. The recurrent state is carried from one chunk to the next, so the model sees context beyond
``seq_len``, and detached between chunks, so gradients flow back ``seq_len`` steps at most. Each epoch starts
the streams at a random offset (below ``seq_len``), so chunk boundaries fall in new places.

The model: ``model(x, state) -> (logits, state)`` with x int64 (B, T) and logits (B, T, V); ``state=None``
starts from zeros (``lucidnet.text.CharLSTM``).

>>> import numpy as np
>>> as_streams(np.arange(10), 3).tolist()
[[0, 1, 2], [3, 4, 5], [6, 7, 8]]
"""
from __future__ import annotations

import math
import os
import time
from typing import Any, Iterable, Iterator

import numpy as np

from ..autograd.grad_mode import no_grad
from ..nn.losses import cross_entropy
from ..nn.utils import clip_grad_norm_
from ..random import generator
from ..serialization import load_checkpoint, save_checkpoint
from ..tensor import Tensor
from ..train.callbacks.base import Callback, CallbackList
from ..train.callbacks.progress import ProgressBar
from ..train.history import History

__all__ = ["as_streams", "chunks", "detach_state", "evaluate_lm", "LMTrainer"]


def as_streams(ids: np.ndarray, batch_size: int) -> np.ndarray:
    """(B, N // B): the ids cut into ``batch_size`` contiguous streams (the last N % B ids are dropped)."""
    ids = np.asarray(ids)
    if ids.ndim != 1 or ids.dtype.kind not in "iu":
        raise ValueError(f"as_streams: expected a 1-D array of integer ids, got shape {ids.shape} dtype {ids.dtype}")
    if batch_size < 1 or len(ids) < 2 * batch_size:
        raise ValueError(f"as_streams: {len(ids)} ids are too few for {batch_size} streams of at least 2 ids")
    n = len(ids) // batch_size
    return ids[:n * batch_size].reshape(batch_size, n)


def chunks(streams: np.ndarray, seq_len: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(x, y)`` pairs of (B, T) int64 arrays, consecutive along the streams, y = x shifted by one. The last
    chunk is shorter when the streams do not divide evenly."""
    n = streams.shape[1] - 1
    for lo in range(0, n, seq_len):
        hi = min(lo + seq_len, n)
        yield (np.ascontiguousarray(streams[:, lo:hi], dtype=np.int64),
               np.ascontiguousarray(streams[:, lo + 1:hi + 1], dtype=np.int64))


def detach_state(state: Any) -> Any:
    """The recurrent state cut from the graph: Tensors detached, inside any tuples or lists."""
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(s) for s in state)
    return state


def _chunk_loss(model: Any, x: np.ndarray, y: np.ndarray, state: Any, reduction: str = "mean"):
    logits, state = model(Tensor(x), state)
    v = logits.shape[-1]
    return cross_entropy(logits.reshape(-1, v), Tensor(y.reshape(-1)), reduction=reduction), state


def evaluate_lm(model: Any, ids: np.ndarray, batch_size: int = 1, seq_len: int = 256) -> float:
    """Mean cross-entropy (nats per token) of predicting every token of ``ids`` from all the ones before it,
    read straight through in ``batch_size`` streams with the state carried (``batch_size=1``: the whole text as
    one stream, every token but the first predicted). Eval mode, no graph; the model's mode is restored."""
    streams = as_streams(ids, batch_size)
    was_training = getattr(model, "training", False)
    model.eval()
    total, count, state = 0.0, 0, None
    try:
        with no_grad():
            for x, y in chunks(streams, seq_len):
                loss, state = _chunk_loss(model, x, y, state, reduction="sum")
                total += float(loss.data)
                count += y.size
    finally:
        model.train(was_training)
    return total / count


class LMTrainer:
    """Train a recurrent language model by TBPTT (see the module docstring), with gradient clipping.

    Args:
        model: ``model(x, state) -> (logits, state)``.
        optimizer: a lucidnet optimizer over the model's parameters.
        batch_size: parallel streams B; seq_len: tokens per chunk T (the truncation length).
        clip_grad_norm: the gradients' joint norm is clipped to this before each step (None: no clipping).
        scheduler: an LR scheduler stepped after every optimizer step; or ``"time-cosine"``: with
            ``fit(max_seconds=S)``, the learning rate follows a cosine from its initial value to 0 over S seconds of
            training time (a budget in time rather than epochs; the run then depends on the machine's speed).
        callbacks: ``lucidnet.train`` callbacks (``CSVLogger``, ...); a ``ProgressBar(verbose)`` is added.
        val_batch_size / val_seq_len: how ``evaluate_lm`` reads the validation ids at each epoch end.

    ``fit`` returns a ``History`` with ``loss`` (mean training loss of the epoch), ``val_loss``, ``lr`` and
    ``seconds`` (training time so far, validation excluded) per epoch.
    """

    def __init__(self, model: Any, optimizer: Any, *, batch_size: int = 64, seq_len: int = 128,
                 clip_grad_norm: float | None = 5.0, scheduler: Any = None,
                 callbacks: Iterable[Callback] | None = None, verbose: int = 1, val_batch_size: int = 1,
                 val_seq_len: int = 256):
        for name, v in (("batch_size", batch_size), ("seq_len", seq_len), ("val_batch_size", val_batch_size),
                        ("val_seq_len", val_seq_len)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"LMTrainer: {name} must be a positive int, got {v!r}")
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.batch_size, self.seq_len, self.clip = batch_size, seq_len, clip_grad_norm
        self.val_batch_size, self.val_seq_len = val_batch_size, val_seq_len
        self.callbacks, self.verbose = list(callbacks or []), verbose
        self.history = History()
        # what callbacks read (the names of lucidnet.train.Trainer)
        self.epoch = self.global_step = self.batch_in_epoch = self.start_epoch = 0
        self.params: dict[str, Any] = {}
        self.stop_training = self.resumed = False
        self.elapsed = 0.0
        self._base_lrs: list[float] = []
        self._loss_sum, self._loss_count = 0.0, 0

    def running_logs(self) -> dict[str, Any]:
        return {"loss": self._loss_sum / max(self._loss_count, 1)}

    def current_lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def _lr_scheduler(self) -> Any:
        return None if isinstance(self.scheduler, str) else self.scheduler

    def _anneal_by_time(self, max_seconds: float) -> None:
        f = 0.5 * (1.0 + math.cos(math.pi * min(1.0, self.elapsed / max_seconds)))
        for g, base in zip(self.optimizer.param_groups, self._base_lrs):
            g["lr"] = base * f

    # ---- checkpoints ------------------------------------------------------------------------------
    def save_checkpoint(self, path: str | os.PathLike) -> None:
        """The state after the current epoch (model, optimizer, scheduler, RNG, history, time), atomically."""
        save_checkpoint(path, model=self.model, optimizer=self.optimizer, scheduler=self._lr_scheduler(),
                        epoch=self.epoch + 1, step=self.global_step, history=self.history.state_dict(),
                        extra={"elapsed": self.elapsed, "stop_training": bool(self.stop_training),
                               "base_lrs": self._base_lrs})

    def _resume(self, path: str | os.PathLike) -> None:
        ck = load_checkpoint(path, model=self.model, optimizer=self.optimizer, scheduler=self._lr_scheduler())
        self.history.load_state_dict(ck["history"])
        self.start_epoch, self.global_step = int(ck["epoch"]), int(ck["step"])
        extra = ck["extra"] or {}
        self.elapsed = float(extra.get("elapsed", 0.0))
        self._base_lrs = [float(v) for v in extra.get("base_lrs", self._base_lrs)]
        self.stop_training = bool(extra.get("stop_training", False))
        self.resumed = True

    # ---- the loop ---------------------------------------------------------------------------------
    def fit(self, train_ids: np.ndarray, epochs: int, *, val_ids: np.ndarray | None = None,
            max_seconds: float | None = None, checkpoint: str | os.PathLike | None = None,
            resume: bool = False) -> History:
        """Train for ``epochs`` epochs over ``train_ids`` (stopping early once ``max_seconds`` of training time
        have passed: the epoch in progress ends there and is validated); validate on ``val_ids`` after each
        epoch. ``checkpoint``: written at every epoch end; ``resume=True`` continues from it if it exists."""
        train_ids = np.asarray(train_ids)
        as_streams(train_ids, self.batch_size)  # validates the data early
        if self.scheduler == "time-cosine" and max_seconds is None:
            raise ValueError("LMTrainer: scheduler='time-cosine' anneals over fit(max_seconds=...); give max_seconds")
        self._base_lrs = [float(g["lr"]) for g in self.optimizer.param_groups]
        self.history = History()
        self.start_epoch, self.global_step, self.elapsed, self.stop_training, self.resumed = 0, 0, 0.0, False, False
        if resume and checkpoint is not None and os.path.exists(checkpoint):
            self._resume(checkpoint)
        steps = math.ceil((len(train_ids) // self.batch_size - 1) / self.seq_len)
        self.params = {"epochs": epochs, "steps": steps, "verbose": self.verbose}
        self.history.params = dict(self.params)
        cbs = list(self.callbacks)
        if not any(isinstance(cb, ProgressBar) for cb in cbs):
            cbs.append(ProgressBar(self.verbose))
        cb = CallbackList(cbs + [self.history], self)
        cb.on_train_begin()
        logs: dict[str, Any] = {}
        for epoch in range(self.start_epoch, epochs):
            if self.stop_training:
                break
            self.epoch, self.batch_in_epoch = epoch, 0
            cb.on_epoch_begin(epoch)
            self._train_epoch(train_ids, cb, max_seconds)
            logs = {**self.running_logs(), "lr": self.current_lr(), "seconds": round(self.elapsed, 2)}
            if val_ids is not None:
                logs["val_loss"] = evaluate_lm(self.model, val_ids, self.val_batch_size, self.val_seq_len)
            cb.on_epoch_end(epoch, logs)
            if checkpoint is not None:
                self.save_checkpoint(checkpoint)
        cb.on_train_end(logs)
        return self.history

    def _train_epoch(self, train_ids: np.ndarray, cb: CallbackList, max_seconds: float | None) -> None:
        model, opt, sched = self.model, self.optimizer, self.scheduler
        by_time = sched == "time-cosine" and max_seconds is not None
        params = [p for g in opt.param_groups for p in g["params"]]
        offset = int(generator().integers(self.seq_len)) if len(train_ids) > 4 * self.seq_len * self.batch_size else 0
        streams = as_streams(train_ids[offset:], self.batch_size)
        self._loss_sum, self._loss_count, self.batch_in_epoch = 0.0, 0, 0
        model.train()
        state = None
        t0 = time.perf_counter()
        start = self.elapsed
        for i, (x, y) in enumerate(chunks(streams, self.seq_len)):
            if cb.has_batch_begin:
                cb.on_batch_begin(i, {})
            opt.zero_grad()
            loss, state = _chunk_loss(model, x, y, state)
            loss.backward()
            if self.clip is not None:
                clip_grad_norm_(params, self.clip)
            opt.step()
            if by_time:
                self.elapsed = start + time.perf_counter() - t0
                self._anneal_by_time(max_seconds)
            elif sched is not None:
                sched.step()
            state = detach_state(state)
            value = float(loss.data)
            self._loss_sum += value * y.size
            self._loss_count += y.size
            self.global_step += 1
            self.batch_in_epoch = i + 1
            self.elapsed = start + time.perf_counter() - t0
            if cb.has_batch_end:
                cb.on_batch_end(i, {"loss": value, "size": y.shape[0]})
            if max_seconds is not None and self.elapsed >= max_seconds:
                self.stop_training = True
            if self.stop_training:
                break
