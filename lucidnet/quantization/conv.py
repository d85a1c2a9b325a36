"""``QuantizedConv2d``: a static int8 2-D convolution (``groups=1``): the input quantized to uint8 with the scale
and zero point calibration chose (buffers ``input_scale``, ``input_zero_point``), the weight int8 per output
channel (``weight`` (O, C, kH, kW) int8, ``weight_scale`` (O,)), im2col and one int8 GEMM with int32
accumulation, float32 out (bias added in the same pass). The padding is zeros in float, which the input's
range always holds exactly.

>>> import lucidnet as ln
>>> conv = ln.nn.Conv2d(3, 8, 3, padding=1)
>>> q = QuantizedConv2d.from_float(conv, (4 / 255, 128))
>>> x = ln.rand(2, 3, 5, 5) * 2 - 1
>>> with ln.no_grad():
...     bool(abs(q(x) - conv(x)).max() < 0.05)
True
"""
from __future__ import annotations

from ..backend import xp
from .. import kernels as K
from ..fused.conv import conv_padding, nhwc, out_size
from ..kernels.qlinear import int8_matmul, quantize_into
from ..nn import Conv2d
from ..tensor import Tensor, from_numpy
from .base import QuantizedModule, check_input
from .spec import register_layer

__all__ = ["QuantizedConv2d"]


@register_layer
class QuantizedConv2d(QuantizedModule):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: tuple, stride: tuple = (1, 1),
                 padding=(0, 0), dilation: tuple = (1, 1)):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding, self.dilation = tuple(kernel_size), tuple(stride), padding, \
            tuple(dilation)
        self._set_int8("weight", xp.zeros((out_channels, in_channels, *self.kernel_size), xp.float32))
        self.register_buffer("bias", from_numpy(xp.zeros(out_channels, xp.float32)))
        self.register_buffer("input_scale", from_numpy(xp.ones(1, xp.float32)))
        self.register_buffer("input_zero_point", from_numpy(xp.zeros(1, xp.int32)))

    @classmethod
    def restore(cls, mod: Conv2d) -> "QuantizedConv2d":
        """An empty layer of ``mod``'s geometry, for ``load_state_dict`` (see ``quantization.spec``)."""
        if mod.groups != 1:
            raise ValueError(f"QuantizedConv2d: {mod} has groups={mod.groups}; only groups=1 is quantized")
        return cls(mod.in_channels, mod.out_channels, mod.kernel_size, mod.stride, mod.padding, mod.dilation)

    @classmethod
    def from_float(cls, mod: Conv2d, qparams: tuple[float, int] = (1.0, 0)) -> "QuantizedConv2d":
        """The int8 twin of a float ``nn.Conv2d`` (BatchNorm folded in already, if any) whose input has the uint8
        ``qparams`` (scale, zero point)."""
        q = cls.restore(mod)
        q._set_int8("weight", mod.weight.array)
        if mod.bias is not None:
            q.bias.array[...] = mod.bias.array
        q.input_scale.array[0], q.input_zero_point.array[0] = qparams
        return q

    def forward(self, x: Tensor) -> Tensor:
        x = check_input(self, x, self.in_channels, 1, "(N, C, H, W)")
        n, c, h, w = x.shape
        kh, kw = self.kernel_size
        (sh, sw), (dh, dw) = self.stride, self.dilation
        pt, pb, pl, pr = conv_padding(self.padding, self.kernel_size, self.stride, self.dilation, self._who())
        ho, wo = out_size(h, kh, sh, pt + pb, dh), out_size(w, kw, sw, pl + pr, dw)
        if ho < 1 or wo < 1:
            raise ValueError(f"{self._who()}: input of shape {tuple(x.shape)} is smaller than the kernel")
        qp = float(self.input_scale.array[0]), int(self.input_zero_point.array[0])
        k = c * kh * kw
        k4 = -(-k // 4) * 4  # the int8 kernel reads K in fours: the columns past K stay 0
        # quantized first, then unfolded: im2col moves bytes (a quarter of float32's) and each input value is
        # quantized once rather than once per window it falls in; the padding holds the zero point (the code
        # of 0.0), so the result is the bytes of quantizing the float unfolding
        xq = xp.empty((n * h * w, c), dtype=xp.uint8)
        quantize_into(nhwc(x.array).reshape(-1, c), qp, xq)
        if (kh, kw, sh, sw, pt, pb, pl, pr) == (1, 1, 1, 1, 0, 0, 0, 0) and k4 == k:
            cols = xq
        else:
            cols = xp.empty((n * ho * wo, k4), dtype=xp.uint8)  # rows (n, oh, ow); cols (i, j, c)
            cols[:, k:] = 0
            K.im2col(xq.reshape(n, h, w, c), cols, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo, 1, qp[1])
        out = int8_matmul(cols, self._int8("weight", (0, 2, 3, 1)), self.bias.array, qp)
        return from_numpy(xp.ascontiguousarray(out).reshape(n, ho, wo, self.out_channels).transpose(0, 3, 1, 2))

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dtype=qint8")
