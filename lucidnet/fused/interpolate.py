"""Resampling of (N, C, L) and (N, C, H, W) inputs: nearest and (bi)linear, as PyTorch's ``F.interpolate``.

Both modes are separable: along each spatial axis the output is a fixed matrix ``A`` (out, in) applied to
the input, so the whole op is ``A_h @ x @ A_w.T`` (two batched BLAS products, no index arithmetic per
element) and its backward is ``A_h.T @ g @ A_w``. A row of ``A`` holds one 1 (nearest) or two weights
that add to 1 (linear); the indices and weights follow PyTorch's kernels, so outputs agree with
PyTorch's to float32 rounding (nearest: exactly).

>>> import lucidnet as ln
>>> x = ln.arange(4, dtype=ln.float32).reshape(1, 1, 2, 2)
>>> interpolate(x, scale_factor=2, mode="nearest")[0, 0].tolist()
[[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0], [2.0, 2.0, 3.0, 3.0], [2.0, 2.0, 3.0, 3.0]]
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..autograd.function import Function
from ..backend import xp

__all__ = ["Interpolate", "interpolate", "interpolation_matrix"]

MODES = {"nearest": (3, 4), "linear": (3,), "bilinear": (4,)}


def interpolation_matrix(in_size: int, out_size: int, mode: str, align_corners: bool = False,
                         scale: float | None = None, dtype=np.float32) -> np.ndarray:
    """The (out_size, in_size) matrix that resamples one axis as PyTorch does.

    ``scale``: the scale factor the user gave (PyTorch then maps positions with 1/scale rather than
    in_size/out_size); None when an output size was given.
    """
    o = np.arange(out_size)
    a = np.zeros((out_size, in_size), dtype=dtype)
    if mode == "nearest":
        # PyTorch: min(floor(o * s), in - 1) in float32 arithmetic, s = 1/scale or in/out
        if out_size == in_size:
            src = o
        elif out_size == 2 * in_size:
            src = o >> 1
        else:
            if scale is not None and scale > 0:
                s = np.float32(1.0 / scale)
            else:
                s = np.float32(in_size) / np.float32(out_size)
            src = np.minimum(np.floor(o.astype(np.float32) * s).astype(np.int64), in_size - 1)
        a[o, src] = 1
        return a
    # linear: the source position of each output, clamped to the input, and its two neighbours
    if align_corners:
        s = (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
        pos = o * s
    else:
        s = 1.0 / scale if scale is not None and scale > 0 else in_size / out_size
        pos = np.maximum(s * (o + 0.5) - 0.5, 0.0)
    i0 = np.minimum(pos.astype(np.int64), in_size - 1)
    lam = np.clip(pos - i0, 0.0, 1.0)
    i1 = np.minimum(i0 + 1, in_size - 1)
    np.add.at(a, (o, i0), (1 - lam).astype(dtype))
    np.add.at(a, (o, i1), lam.astype(dtype))
    return a


class Interpolate(Function):
    """``A_h @ x @ A_w.T`` over the last two dims (or ``x @ A_w.T`` over the last); None skips an axis."""

    def forward(self, x, mat_h=None, mat_w=None):
        self.mat_h, self.mat_w = mat_h, mat_w
        out = x
        if mat_h is not None:
            out = xp.matmul(mat_h, out)
        if mat_w is not None:
            out = xp.matmul(out, mat_w.T)
        return out if out is not x else x.copy()

    def backward(self, g):
        gx = g
        if self.mat_w is not None:
            gx = xp.matmul(gx, self.mat_w)
        if self.mat_h is not None:
            gx = xp.matmul(self.mat_h.T, gx)
        return gx, None, None


def _pair(v, n: int, name: str) -> tuple:
    if isinstance(v, (tuple, list)):
        if len(v) != n:
            raise ValueError(f"interpolate: {name} must have {n} entries for a {n}-d spatial input, got {tuple(v)}")
        return tuple(v)
    return (v,) * n


def interpolate(input, size: int | Sequence[int] | None = None, scale_factor: float | Sequence[float] | None = None,
                mode: str = "nearest", align_corners: bool | None = None):
    """Resize (N, C, L) or (N, C, H, W) to ``size``, or by ``scale_factor`` (output = floor(in * factor)).

    ``mode``: ``"nearest"`` (3-D and 4-D), ``"linear"`` (3-D) or ``"bilinear"`` (4-D). ``align_corners``
    (linear modes only, default False): map the corner pixels' centres onto each other.
    """
    x = input
    if mode not in MODES:
        raise ValueError(f"interpolate: mode must be one of {', '.join(MODES)}, got {mode!r}")
    if x.ndim not in MODES[mode]:
        want = " or ".join(f"{d}-D" for d in MODES[mode])
        raise ValueError(f"interpolate: mode {mode!r} expects a {want} input, got shape {tuple(x.shape)}")
    if x.dtype.kind != "f":
        raise TypeError(f"interpolate: expected a floating tensor, got dtype {x.dtype}")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("interpolate: align_corners can only be set with the linear modes (linear, bilinear)")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    k = x.ndim - 2
    spatial = tuple(x.shape[2:])
    if size is not None:
        out = tuple(int(s) for s in _pair(size, k, "size"))
        scales = (None,) * k
    else:
        scales = tuple(float(s) for s in _pair(scale_factor, k, "scale_factor"))
        if any(s <= 0 for s in scales):
            raise ValueError(f"interpolate: scale_factor must be positive, got {scale_factor!r}")
        out = tuple(int(math.floor(n * s)) for n, s in zip(spatial, scales))
    if any(s < 1 for s in out):
        raise ValueError(f"interpolate: the output size {out} of an input of shape {tuple(x.shape)} must be positive")
    mats = []
    for n_in, n_out, s in zip(spatial, out, scales):
        if n_in == n_out and (mode == "nearest" or s is None or s == 1.0):
            mats.append(None)  # this axis is unchanged
        else:
            mats.append(interpolation_matrix(n_in, n_out, mode, bool(align_corners), s, x.dtype))
    if k == 1:
        return Interpolate.apply(x, None, mats[0])
    return Interpolate.apply(x, mats[0], mats[1])
