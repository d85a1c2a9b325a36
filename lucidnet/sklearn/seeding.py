"""The estimators' randomness: lucidnet's global generator, seeded from the estimator's own stream for the span
of one call and put back as it was after it (a fit neither reads nor moves the state the user seeded).

>>> import numpy as np, lucidnet as ln
>>> _ = ln.manual_seed(0); before = ln.get_rng_state()
>>> with seeded(np.random.default_rng(1)):
...     a = ln.randn(2).numpy()
>>> with seeded(np.random.default_rng(1)):
...     b = ln.randn(2).numpy()
>>> bool((a == b).all()), ln.get_rng_state() == before
(True, True)
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import numpy as np
from sklearn.utils import check_random_state

from ..random import get_rng_state, set_rng_state

__all__ = ["estimator_stream", "seeded"]


def estimator_stream(random_state: int | np.random.RandomState | None) -> np.random.Generator:
    """The generator of one fit, drawn from ``random_state`` as scikit-learn reads it (None: NumPy's global
    ``RandomState``, an int: a fixed seed, a ``RandomState``: drawn from, so moved)."""
    return np.random.default_rng(int(check_random_state(random_state).randint(np.iinfo(np.int32).max)))


@contextmanager
def seeded(stream: np.random.Generator) -> Iterator[None]:
    """Inside the block, lucidnet's global generator (initialisation, dropout, shuffling) starts from a seed
    drawn from ``stream``; on exit it has the state it had before."""
    saved = get_rng_state()
    set_rng_state(np.random.default_rng(int(stream.integers(2 ** 63))).bit_generator.state)
    try:
        yield
    finally:
        set_rng_state(saved)
