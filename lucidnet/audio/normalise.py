"""Cepstral (here: per-band) mean and variance normalisation, CMVN: each example's features minus their mean over
its own frames (and divided by their standard deviation with ``variance=True``), band by band. It takes away what
is constant through an utterance -- the channel, the microphone, much of a voice's timbre -- so that a model
trained on some speakers hears a new one more like them.

>>> x = np.array([[[1., 3.], [2., 2.]]], np.float32)          # one example, 2 bands, 2 frames
>>> cmvn(x)
array([[[-1.,  1.],
        [ 0.,  0.]]], dtype=float32)
"""
from __future__ import annotations

import numpy as np

__all__ = ["cmvn"]


def cmvn(x: np.ndarray, lengths: np.ndarray | None = None, variance: bool = False, eps: float = 1e-5) -> np.ndarray:
    """``x`` (N, ..., bins, frames) with each example's per-bin mean over its frames subtracted (and divided by
    the per-bin standard deviation plus ``eps`` with ``variance``). ``lengths`` (N,): how many leading frames of
    each example are real; the statistics come from those alone and the padding after them is shifted (and
    scaled) the same way, so padding silence stays below the example's own level. Returns a new array of
    ``x``'s dtype."""
    x = np.asarray(x)
    if x.ndim < 2 or x.dtype.kind != "f":
        raise ValueError(f"cmvn: expected float features (..., bins, frames), got {x.dtype} of shape {x.shape}")
    frames = x.shape[-1]
    if lengths is None:
        valid = np.ones((1,) * (x.ndim - 1) + (frames,), bool)
        count = np.full((1,) * x.ndim, frames, np.float64)
    else:
        lengths = np.asarray(lengths, np.int64)
        if lengths.shape != (x.shape[0],) or (lengths < 1).any() or (lengths > frames).any():
            raise ValueError(f"cmvn: lengths must be one count per example in [1, {frames}], got "
                             f"{lengths.tolist()} for shape {x.shape}")
        shape = (x.shape[0],) + (1,) * (x.ndim - 2)
        valid = (np.arange(frames) < lengths[:, None]).reshape(shape + (frames,))
        count = lengths.reshape(shape + (1,)).astype(np.float64)
    x64 = x.astype(np.float64)
    mean = np.where(valid, x64, 0.0).sum(axis=-1, keepdims=True) / count
    out = x64 - mean
    if variance:
        std = np.sqrt(np.where(valid, out ** 2, 0.0).sum(axis=-1, keepdims=True) / count)
        out = out / (std + eps)
    return out.astype(x.dtype)
