"""``inference(model)``: run a model for evaluation or prediction, then put it back as it was."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from ..autograd.grad_mode import no_grad

__all__ = ["inference"]


@contextmanager
def inference(model: Any) -> Iterator[Any]:
    """Eval mode (dropout off, batch-norm running statistics) and ``no_grad`` inside the block; the model's
    previous mode is restored on exit, even when the block raises. Objects without ``eval``/``train`` are
    only run under ``no_grad``.

    >>> import lucidnet as ln
    >>> model = ln.nn.Sequential(ln.nn.Linear(3, 2), ln.nn.Dropout(0.5))
    >>> with ln.inference(model):
    ...     out = model(ln.ones(4, 3))
    ...     model.training, out.requires_grad
    (False, False)
    >>> model.training
    True
    """
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        with no_grad():
            yield model
    finally:
        if hasattr(model, "train"):
            model.train(was_training)
