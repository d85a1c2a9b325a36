"""``Upsample``: resize feature maps by a scale factor or to a size, nearest or (bi)linear.

The kernel (one node, its own backward) is ``lucidnet.fused.interpolate``; ``F.interpolate`` is its
functional form.

>>> import lucidnet as ln
>>> up = ln.nn.Upsample(scale_factor=2, mode="bilinear")
>>> up(ln.randn(1, 3, 7, 7)).shape
(1, 3, 14, 14)
>>> up
Upsample(scale_factor=2.0, mode='bilinear')
"""
from __future__ import annotations

from typing import Sequence

from ..fused.interpolate import MODES, interpolate
from ..tensor import Tensor
from .module import Module

__all__ = ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]


class Upsample(Module):
    """Resize (N, C, L) or (N, C, H, W) inputs: give ``size`` (the output's spatial size) or
    ``scale_factor`` (output = floor(input * factor)). ``mode``: ``"nearest"``, ``"linear"`` (3-D) or
    ``"bilinear"`` (4-D); ``align_corners`` only with the linear modes."""

    def __init__(self, size: int | Sequence[int] | None = None, scale_factor: float | Sequence[float] | None = None,
                 mode: str = "nearest", align_corners: bool | None = None):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"Upsample: mode must be one of {', '.join(MODES)}, got {mode!r}")
        if (size is None) == (scale_factor is None):
            raise ValueError("Upsample: give exactly one of size and scale_factor")
        if mode == "nearest" and align_corners is not None:
            raise ValueError("Upsample: align_corners can only be set with the linear modes (linear, bilinear)")
        self.size = tuple(size) if isinstance(size, (list, tuple)) else size
        if isinstance(scale_factor, (list, tuple)):
            self.scale_factor = tuple(float(s) for s in scale_factor)
        else:
            self.scale_factor = None if scale_factor is None else float(scale_factor)
        self.mode = mode
        self.align_corners = align_corners

    def forward(self, x: Tensor) -> Tensor:
        return interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners)

    def extra_repr(self) -> str:
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}"  # PyTorch's form (align_corners not shown)


class UpsamplingNearest2d(Upsample):
    """``Upsample(size or scale_factor, mode="nearest")`` (PyTorch's alias)."""

    def __init__(self, size: int | Sequence[int] | None = None, scale_factor: float | Sequence[float] | None = None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(..., mode="bilinear", align_corners=True)`` (PyTorch's alias, corners aligned)."""

    def __init__(self, size: int | Sequence[int] | None = None, scale_factor: float | Sequence[float] | None = None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
