"""The library's one source of randomness: ``manual_seed(n)`` governs init, dropout and shuffling.

A ``Generator`` (PyTorch's ``torch.Generator``) is a separate stream, for the functions and loaders that
take ``generator=``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

_gen = np.random.default_rng()


class Generator:
    """An independent random stream, PyTorch's ``torch.Generator``: pass it as ``generator=`` to
    ``randn``, ``rand``, ``randint``, ``randperm``, ``random_split``, a ``DataLoader`` or a sampler.

    >>> import lucidnet as ln
    >>> g = ln.Generator().manual_seed(42)
    >>> a = ln.randperm(5, generator=g).tolist()
    >>> a == ln.randperm(5, generator=ln.Generator().manual_seed(42)).tolist()
    True
    """

    def __init__(self, device: Any = "cpu"):
        from .device import check_device
        check_device(device, "Generator")
        self._seed = int(np.random.SeedSequence().entropy % (2 ** 63))
        self.numpy = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> "Generator":
        self._seed = int(seed)
        self.numpy = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        """Reseed from fresh entropy; returns the new seed."""
        self.manual_seed(int(np.random.SeedSequence().entropy % (2 ** 63)))
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        return self.numpy.bit_generator.state

    def set_state(self, state: dict) -> "Generator":
        self.numpy.bit_generator.state = state
        return self

    @property
    def device(self):
        from .device import CPU
        return CPU


def stream(gen: "Generator | None") -> np.random.Generator:
    """The NumPy generator to draw from: ``gen``'s, or the library's when ``gen`` is None."""
    if gen is None:
        return _gen
    if not isinstance(gen, Generator):
        raise TypeError(f"generator: expected a lucidnet.Generator or None, got {type(gen).__name__}")
    return gen.numpy


def manual_seed(seed: int) -> np.random.Generator:
    """Seed every random choice lucidnet makes; the same seed gives bit-identical runs.

    >>> import lucidnet as ln
    >>> _ = ln.manual_seed(0); a = ln.randn(3).numpy()
    >>> _ = ln.manual_seed(0); b = ln.randn(3).numpy()
    >>> bool((a == b).all())
    True
    """
    global _gen
    _gen = np.random.default_rng(seed)
    return _gen


def generator() -> np.random.Generator:
    """The current global generator (replaced by ``manual_seed``)."""
    return _gen


def get_rng_state() -> dict:
    """The generator's state, a JSON-able dict (for checkpoints)."""
    return _gen.bit_generator.state


def set_rng_state(state: dict) -> None:
    _gen.bit_generator.state = state
