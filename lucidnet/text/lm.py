"""Language models over characters or tokens, trained by truncated back-propagation through time (TBPTT).

Training is ``lucidnet.train.Trainer`` with a ``TBPTTStep``: the ids are cut into parallel streams
(``lucidnet.data.StreamLoader``), the recurrent state is carried from chunk to chunk and detached between
them. The model: ``model(x, state) -> (logits, state)`` with x int64 (B, T) and logits (B, T, V);
``state=None`` starts from zeros (``lucidnet.text.CharLSTM``). ``evaluate_lm`` reads a text straight through.

>>> import numpy as np
>>> from lucidnet.data import as_streams
>>> as_streams(np.arange(10), 3).tolist()
[[0, 1, 2], [3, 4, 5], [6, 7, 8]]
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..train.steps import evaluate_stream

__all__ = ["evaluate_lm"]


def evaluate_lm(model: Any, ids: np.ndarray, batch_size: int = 1, seq_len: int = 256) -> float:
    """Mean cross-entropy (nats per token) of predicting every token of ``ids`` from all the ones before it,
    read straight through in ``batch_size`` streams with the state carried (``batch_size=1``: the whole text as
    one stream, every token but the first predicted). Eval mode, no graph; the model's mode is restored."""
    return evaluate_stream(model, ids, batch_size, seq_len)
