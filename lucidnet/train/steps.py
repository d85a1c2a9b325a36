"""Training steps: what ``Trainer`` runs on each batch, pluggable (``Trainer(step=...)``).

A step turns the data into loaders, makes the per-batch function of a run and validates:

* ``train_loader(data, batch_size, shuffle)`` / ``val_loader(data, batch_size)``: what ``fit`` iterates;
* ``bind(trainer)`` -> ``run(batch) -> (loss, n, output, target)``: one optimizer step on ``batch``; ``loss``
  a float, ``n`` its weight in the epoch's mean loss, ``output``/``target`` what the metrics see (None: no
  metrics). ``bind`` is called once per ``fit``, so the per-batch function closes over what it needs;
* ``begin_epoch()``: before each epoch's first batch (a stateful step resets its state);
* ``evaluate(trainer, val) -> {"loss": ..., ...}``: the validation logs (``val_`` is prefixed by the trainer);
* ``epoch_logs(trainer) -> dict``: anything the step adds to each epoch's logs.

``SupervisedStep`` (the default): split the batch, forward, loss, backward, clip, ``optimizer.step()``.
``TBPTTStep``: truncated back-propagation through time over token streams (``lucidnet.data.StreamLoader``):
the recurrent state is carried from chunk to chunk, detached between them and reset at each epoch start;
the model is ``model(x, state) -> (logits, state)`` (``state=None`` starts from zeros).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..autograd.capture import compile as compile_step
from ..data import StreamLoader, as_streams, chunks
from ..nn.inference import inference
from ..nn.losses import cross_entropy
from ..nn.utils import clip_grad_norm_
from ..tensor import Tensor
from .data import as_loader, batch_size_of

__all__ = ["TrainStep", "SupervisedStep", "TBPTTStep", "detach_state", "next_token_loss", "evaluate_stream"]

StepFn = Callable[[Any], "tuple[float, int, Any, Any]"]


class TrainStep:
    """The step protocol (see the module docstring); subclasses define ``bind``."""

    supports_capture = False  # whether ``bind`` honours ``Trainer(capture=True)``

    def train_loader(self, data: Any, batch_size: int, shuffle: bool) -> Any:
        return as_loader(data, batch_size, shuffle, "fit(train_data)")

    def val_loader(self, data: Any, batch_size: int) -> Any:
        return as_loader(data, batch_size, False, "fit(val_data)")

    def bind(self, trainer: Any) -> StepFn:
        raise NotImplementedError

    def begin_epoch(self) -> None:
        pass

    def evaluate(self, trainer: Any, val: Any) -> dict[str, Any]:
        return trainer.evaluate(val)

    def epoch_logs(self, trainer: Any) -> dict[str, Any]:
        return {}


def _clipper(trainer: Any, optimizer: Any) -> Callable[[], Any] | None:
    """A function clipping the optimizer's gradients to the trainer's ``clip_grad_norm`` (None: no clipping)."""
    clip = trainer.clip_grad_norm
    if clip is None:
        return None
    params = [p for g in optimizer.param_groups for p in g["params"]]
    return lambda: clip_grad_norm_(params, clip)


class SupervisedStep(TrainStep):
    """``zero_grad``, forward, the trainer's loss, backward, (clip), ``optimizer.step()``."""

    supports_capture = True

    def bind(self, trainer: Any) -> StepFn:
        model, loss_fn, split, optimizer = trainer.model, trainer.loss_fn, trainer.split_batch, trainer.optimizer
        clip = _clipper(trainer, optimizer)

        def forward(*args: Any) -> tuple[Any, Any]:
            out = model(*args[:-1])
            return loss_fn(out, args[-1]), out

        if trainer.capture:  # one capture for every epoch of this model and loss (bind runs per epoch)
            kept = getattr(self, "_captured", None)
            if kept is None or kept[0] is not model or kept[1] is not loss_fn:
                self._captured = kept = (model, loss_fn, compile_step(forward, modules=model))
            forward = kept[2]

        def run(batch: Any) -> tuple[float, int, Any, Any]:
            inputs, target = split(batch)
            optimizer.zero_grad()
            loss, out = forward(*inputs, target)
            if not isinstance(loss, Tensor) or loss.array.size != 1:
                raise ValueError(f"fit: the loss must return a scalar Tensor, got "
                                 f"{type(loss).__name__} {getattr(loss, 'shape', '')}; use reduction='mean'")
            loss.backward()
            if clip is not None:
                clip()
            optimizer.step()
            return float(loss.array), batch_size_of(inputs, target), out, target

        return run


def detach_state(state: Any) -> Any:
    """The recurrent state cut from the graph: Tensors detached, inside any tuples or lists."""
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(s) for s in state)
    return state


def next_token_loss(model: Any, x: np.ndarray, y: np.ndarray, state: Any, reduction: str = "mean") -> tuple:
    """``(cross-entropy of model(x, state)'s logits (B, T, V) against y (B, T), the new state)``."""
    logits, state = model(Tensor(x), state)
    v = logits.shape[-1]
    return cross_entropy(logits.reshape(-1, v), Tensor(y.reshape(-1)), reduction=reduction), state


def evaluate_stream(model: Any, ids: np.ndarray, batch_size: int = 1, seq_len: int = 256) -> float:
    """Mean cross-entropy (nats per token) of predicting every token of ``ids`` from all the ones before it,
    read straight through in ``batch_size`` streams with the state carried (``batch_size=1``: the whole
    sequence as one stream, every token but the first predicted). Run under ``inference(model)``."""
    streams = as_streams(ids, batch_size)
    total, count, state = 0.0, 0, None
    with inference(model):
        for x, y in chunks(streams, seq_len):
            loss, state = next_token_loss(model, x, y, state, reduction="sum")
            total += float(loss.array)
            count += y.size
    return total / count


class TBPTTStep(TrainStep):
    """Truncated BPTT for ``model(x, state) -> (logits, state)`` on a sequence of token ids.

    ``fit(train_ids, batch_size=B)`` reads ``train_ids`` in B streams of ``seq_len``-token chunks
    (``StreamLoader``, a random offset per epoch when ``shuffle``); each step predicts every next token
    (cross-entropy, mean over the chunk), with the state carried from the previous chunk and detached after.
    The epoch's loss is weighted by tokens. Validation (``fit(val_data=val_ids)``): ``evaluate_stream`` with
    ``val_batch_size`` streams of ``val_seq_len`` chunks. Each epoch's logs get ``seconds``, the training time
    so far (validation excluded).

    >>> import numpy as np, lucidnet as ln
    >>> class LM(ln.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.emb, self.head = ln.nn.Embedding(5, 4), ln.nn.Linear(8, 5)
    ...         self.rnn = ln.nn.LSTM(4, 8, batch_first=True)
    ...     def forward(self, x, state=None):
    ...         out, state = self.rnn(self.emb(x), state)
    ...         return self.head(out), state
    >>> _ = ln.manual_seed(0)
    >>> model = LM()
    >>> ids = np.tile(np.arange(5), 40)
    >>> trainer = ln.train.Trainer(model, optimizer="adam", lr=0.05, step=TBPTTStep(seq_len=8), verbose=0)
    >>> h = trainer.fit(ids, epochs=2, batch_size=4, val_data=ids[:50])
    >>> sorted(h.history), h.history["loss"][1] < h.history["loss"][0]
    (['loss', 'lr', 'seconds', 'val_loss'], True)
    """

    def __init__(self, seq_len: int = 128, *, val_batch_size: int = 1, val_seq_len: int = 256):
        for name, v in (("seq_len", seq_len), ("val_batch_size", val_batch_size), ("val_seq_len", val_seq_len)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"TBPTTStep: {name} must be a positive int, got {v!r}")
        self.seq_len, self.val_batch_size, self.val_seq_len = seq_len, val_batch_size, val_seq_len
        self.state: Any = None

    def train_loader(self, data: Any, batch_size: int, shuffle: bool) -> Any:
        if isinstance(data, StreamLoader):
            return data
        return StreamLoader(data, batch_size, self.seq_len, random_offset=shuffle)

    def val_loader(self, data: Any, batch_size: int) -> Any:
        as_streams(data, self.val_batch_size)  # validates the ids early
        return np.asarray(data)

    def begin_epoch(self) -> None:
        self.state = None

    def bind(self, trainer: Any) -> StepFn:
        model, optimizer = trainer.model, trainer.optimizer
        clip = _clipper(trainer, optimizer)

        def run(batch: Any) -> tuple[float, int, Any, Any]:
            x, y = batch
            optimizer.zero_grad()
            loss, state = next_token_loss(model, x, y, self.state)
            loss.backward()
            if clip is not None:
                clip()
            optimizer.step()
            self.state = detach_state(state)
            return float(loss.array), y.size, None, None

        return run

    def evaluate(self, trainer: Any, val: Any) -> dict[str, Any]:
        return {"loss": evaluate_stream(trainer.model, val, self.val_batch_size, self.val_seq_len)}

    def epoch_logs(self, trainer: Any) -> dict[str, Any]:
        return {"seconds": round(trainer.elapsed, 2)}
