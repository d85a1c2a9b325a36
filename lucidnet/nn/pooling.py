"""Pooling layers: ``MaxPool2d``, ``AvgPool2d`` and ``AdaptiveAvgPool2d`` (global average pooling included).

Thin modules over ``lucidnet.fused.pool`` (which holds the backward), with PyTorch's arguments and defaults.

>>> import lucidnet as ln
>>> from lucidnet.nn.pooling import AdaptiveAvgPool2d, MaxPool2d
>>> MaxPool2d(2)(ln.randn(8, 32, 28, 28)).shape
(8, 32, 14, 14)
>>> AdaptiveAvgPool2d(1)(ln.randn(8, 64, 7, 7)).shape
(8, 64, 1, 1)
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

from ..fused import pool as P
from ..tensor import Tensor
from .module import Module

__all__ = ["MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"]

IntOrPair = Union[int, Sequence[int]]


def _check(layer: Module, x: Tensor) -> None:
    if x.ndim not in (3, 4):
        raise ValueError(f"{layer._header()} got input of shape {tuple(x.shape)}; expected (N, C, H, W) or (C, H, W)")


class _Pool(Module):
    def _header(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


class MaxPool2d(_Pool):
    """Max over (kH, kW) windows; ``stride`` defaults to ``kernel_size``. ``return_indices=True`` also returns
    the flat index h * W + w of each maximum, as PyTorch does."""

    def __init__(self, kernel_size: IntOrPair, stride: Optional[IntOrPair] = None, padding: IntOrPair = 0,
                 dilation: IntOrPair = 1, return_indices: bool = False, ceil_mode: bool = False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode
        P.pool_params(self._header(), kernel_size, stride, padding, dilation)

    def forward(self, x: Tensor):
        _check(self, x)
        return P.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices, _who=self._header())

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(_Pool):
    """Mean over (kH, kW) windows; padding counts as zeros in the mean unless ``count_include_pad=False``."""

    def __init__(self, kernel_size: IntOrPair, stride: Optional[IntOrPair] = None, padding: IntOrPair = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: Optional[int] = None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override
        P.pool_params(self._header(), kernel_size, stride, padding, 1)

    def forward(self, x: Tensor) -> Tensor:
        _check(self, x)
        return P.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                            self.divisor_override, _who=self._header())

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(_Pool):
    """Average pooling to a fixed output size (oH, oW) for any input size; ``AdaptiveAvgPool2d(1)`` is global
    average pooling. ``None`` in the pair keeps that input dim."""

    def __init__(self, output_size: Union[int, Sequence[Optional[int]]]):
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        _check(self, x)
        return P.adaptive_avg_pool2d(x, self.output_size, _who=self._header())

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

