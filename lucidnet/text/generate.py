"""Sampling text from a language model, one token at a time with the recurrent state carried.

>>> import numpy as np
>>> logits = np.array([0.0, 5.0, 1.0, -2.0], dtype=np.float32)
>>> sample_next(logits, temperature=0)          # temperature 0: the most likely token
1
>>> rng = np.random.default_rng(0)
>>> sorted({sample_next(logits, 1.0, top_k=2, rng=rng) for _ in range(200)})   # only the 2 best can come
[1, 2]
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..nn.inference import inference
from ..ops import softmax
from ..random import generator
from ..tensor import Tensor, from_numpy
from .vocab import CharVocab

__all__ = ["sample_next", "generate"]


def sample_next(logits: np.ndarray, temperature: float = 1.0, top_k: int | None = None,
                rng: np.random.Generator | None = None) -> int:
    """A token id drawn from ``softmax(logits / temperature)`` restricted to the ``top_k`` largest logits
    (all when None); ``temperature=0`` takes the largest."""
    if temperature < 0:
        raise ValueError(f"sample_next: temperature must be >= 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"sample_next: top_k must be a positive int or None, got {top_k}")
    z = np.asarray(logits, dtype=np.float64).reshape(-1)
    if temperature == 0:
        return int(np.argmax(z))
    z = z / temperature
    if top_k is not None and top_k < z.size:
        kth = np.partition(z, -top_k)[-top_k]
        z = np.where(z >= kth, z, -np.inf)
    p = softmax(from_numpy(z)).array
    rng = generator() if rng is None else rng
    return int(rng.choice(z.size, p=p))


def generate(model: Any, vocab: CharVocab, prompt: str, length: int = 500, temperature: float = 1.0,
             top_k: int | None = None, rng: np.random.Generator | None = None) -> str:
    """``prompt`` followed by ``length`` characters sampled from ``model`` (``model(x, state) -> (logits,
    state)``). The prompt is read in one pass, then each sampled character is fed back with the state.
    Eval mode, no graph; the model's mode is restored."""
    if not prompt:
        raise ValueError("generate: the prompt is empty; give at least one character to start from")
    if length < 0:
        raise ValueError(f"generate: length must be >= 0, got {length}")
    try:
        ids = vocab.encode(prompt)
    except KeyError as e:
        raise ValueError(f"generate: the prompt has a character the model never saw in training ({e.args[0]})") \
            from None
    out: list[int] = []
    with inference(model):
        logits, state = model(Tensor(ids[None, :]), None)
        for i in range(length):
            nxt = sample_next(logits.array[0, -1], temperature, top_k, rng)
            out.append(nxt)
            if i + 1 < length:
                logits, state = model(Tensor(np.array([[nxt]], dtype=np.int64)), state)
    return prompt + vocab.decode(out)
