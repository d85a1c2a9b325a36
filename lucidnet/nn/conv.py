"""Convolution layers: ``Conv1d``, ``Conv2d`` and ``ConvTranspose2d``, with PyTorch's parameters and init.

Weights have PyTorch's shapes (Conv: (out, in/groups, *kernel); ConvTranspose: (in, out/groups, *kernel)),
so a PyTorch state dict loads as it is. The ops live in ``lucidnet.fused.conv``.

>>> import lucidnet as ln
>>> from lucidnet.nn.conv import Conv2d
>>> conv = Conv2d(1, 32, 3, padding=1)
>>> conv
Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
>>> conv(ln.randn(8, 1, 28, 28)).shape
(8, 32, 28, 28)
"""
from __future__ import annotations

import math
from typing import Sequence, Union

from ..fused import conv as C
from ..tensor import Tensor, empty
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "ConvTranspose2d"]

IntOrTuple = Union[int, Sequence[int]]


class _ConvNd(Module):
    _dims = 2
    _transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrTuple, stride: IntOrTuple = 1,
                 padding: Union[IntOrTuple, str] = 0, dilation: IntOrTuple = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", dtype=None, *, output_padding: IntOrTuple = 0):
        super().__init__()
        who = type(self).__name__
        for name, v in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise ValueError(f"{who}: {name} must be a positive int, got {v!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{who}: in_channels={in_channels} and out_channels={out_channels} must both be "
                             f"divisible by groups={groups}")
        if padding_mode != "zeros":
            raise NotImplementedError(f"{who}: padding_mode={padding_mode!r} is not supported (only 'zeros')")
        tup = self._tuple
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = tup(kernel_size, "kernel_size", 1)
        self.stride = tup(stride, "stride", 1)
        self.dilation = tup(dilation, "dilation", 1)
        self.output_padding = tup(output_padding, "output_padding", 0)
        self.padding_mode = padding_mode
        if isinstance(padding, str):
            if self._transposed or padding not in ("same", "valid"):
                allowed = "an int or a tuple" if self._transposed else "an int, a tuple, 'same' or 'valid'"
                raise ValueError(f"{who}: padding must be {allowed}, got {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{who}: padding='same' needs stride 1, got stride={self.stride}")
            self.padding = padding
        else:
            self.padding = tup(padding, "padding", 0)
        if self._transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(empty(*shape, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _tuple(self, v, name: str, minimum: int) -> tuple:
        who = type(self).__name__
        if self._dims == 1:
            return (C.single(v, name, who, minimum),)
        return C.pair(v, name, who, minimum)

    def reset_parameters(self) -> None:
        """PyTorch's default init: kaiming_uniform_(a=sqrt(5)) on weight, U(+-1/sqrt(fan_in)) on bias, where
        fan_in = weight.shape[1] * prod(kernel_size) (for ConvTranspose that is out/groups, as in PyTorch)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def _check_input(self, x: Tensor) -> None:
        nd = self._dims + 2
        dims = "(N, C, L)" if self._dims == 1 else "(N, C, H, W)"
        if x.ndim not in (nd, nd - 1):
            raise ValueError(f"{self._header()} got input of shape {tuple(x.shape)}; expected {dims} "
                             f"(or unbatched without N)")
        c = x.shape[-self._dims - 1]
        if c != self.in_channels:
            raise ValueError(f"{self._header()} got input of shape {tuple(x.shape)} with {c} channels; "
                             f"expected {self.in_channels} channels, shape {dims.replace('C', str(self.in_channels))}")
        if x.dtype != self.weight.dtype:
            raise TypeError(f"{self._header()} got input of dtype {x.dtype} but its weight is {self.weight.dtype}; "
                            "convert the input (x.float() / x.double()) or the layer (layer.float() / layer.double())")

    def _header(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        zero = (0,) * self._dims
        if self.padding != zero:
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if self.dilation != (1,) * self._dims:
            s += f", dilation={self.dilation}"
        if self.output_padding != zero:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode!r}"
        return s


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L) -> (N, C_out, L_out); weight (C_out, C_in/groups, k).

    >>> import lucidnet as ln
    >>> from lucidnet.nn.conv import Conv1d
    >>> Conv1d(4, 8, 5, padding="same")(ln.randn(2, 4, 50)).shape
    (2, 8, 50)
    """
    _dims = 1

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        return C.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups,
                        _who=self._header())


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W) -> (N, C_out, H_out, W_out); weight (C_out, C_in/groups, kH, kW).

    ``padding``: int, pair, ``"same"`` (stride 1) or ``"valid"``; ``groups=in_channels`` is depthwise.
    """

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        return C.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups,
                        _who=self._header())


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution (N, C_in, H, W) -> (N, C_out, H_out, W_out), weight (C_in, C_out/groups, kH, kW):
    H_out = (H - 1) * stride - 2 * padding + dilation * (kH - 1) + output_padding + 1.

    >>> import lucidnet as ln
    >>> from lucidnet.nn.conv import ConvTranspose2d
    >>> up = ConvTranspose2d(16, 8, 2, stride=2)
    >>> up(ln.randn(1, 16, 7, 7)).shape
    (1, 8, 14, 14)
    """
    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrTuple, stride: IntOrTuple = 1,
                 padding: IntOrTuple = 0, output_padding: IntOrTuple = 0, groups: int = 1, bias: bool = True,
                 dilation: IntOrTuple = 1, padding_mode: str = "zeros", dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, output_padding=output_padding, dtype=dtype)
        if any(o >= max(s, d) for o, s, d in zip(self.output_padding, self.stride, self.dilation)):
            raise ValueError(f"ConvTranspose2d: output_padding {self.output_padding} must be smaller than stride "
                             f"{self.stride} or dilation {self.dilation}")

    def forward(self, x: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        self._check_input(x)
        op = self.output_padding
        if output_size is not None:
            op = self._output_padding_for(x, output_size)
        return C.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, op, self.groups,
                                  self.dilation, _who=self._header())

    def _output_padding_for(self, x: Tensor, output_size: Sequence[int]) -> tuple:
        """The output_padding that gives ``output_size`` (its last two entries), as PyTorch's forward allows."""
        size = tuple(output_size)[-2:]
        op = []
        for i, want in enumerate(size):
            base = ((x.shape[-2 + i] - 1) * self.stride[i] - 2 * self.padding[i]
                    + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            extra = want - base
            if not 0 <= extra < max(self.stride[i], self.dilation[i]):
                raise ValueError(f"{self._header()}: output_size {tuple(size)} is not reachable from input of shape "
                                 f"{tuple(x.shape)} (dim {i} can be {base} to "
                                 f"{base + max(self.stride[i], self.dilation[i]) - 1})")
            op.append(extra)
        return tuple(op)
