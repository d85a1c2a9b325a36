"""``Linear`` (the affine layer ``x @ W.T + b``), ``Identity`` and ``Flatten``."""
from __future__ import annotations

import math

from .. import ops
from ..backend import xp
from ..limits import check_count
from ..ops.linalg import Linear as _LinearFn
from ..tensor import Tensor, empty, get_default_dtype
from . import init
from .module import Module
from .parameter import Parameter


class Linear(Module):
    """``y = x @ weight.T + bias`` over the last dim; weight has shape (out_features, in_features).

    Initialised as in PyTorch: weight and bias ~ U(-1/sqrt(in_features), 1/sqrt(in_features)).
    Input shape: (..., in_features). Output shape: (..., out_features).

    >>> import lucidnet as ln
    >>> fc = ln.nn.Linear(784, 10)
    >>> fc(ln.randn(32, 784)).shape
    (32, 10)
    >>> fc
    Linear(in_features=784, out_features=10, bias=True)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None):
        super().__init__()
        for name, v in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"Linear: {name} must be a non-negative int, got {v!r}")
        self.in_features = in_features
        self.out_features = out_features
        check_count(in_features * out_features, xp.dtype(dtype or get_default_dtype()).itemsize,
                    f"its ({out_features}, {in_features}) weight", f"Linear({in_features}, {out_features})")
        # stored column-major: an (in, out) row-major buffer seen as (out, in) (see ops.linalg.Linear)
        self.weight = Parameter(empty(in_features, out_features, dtype=dtype).T)
        if bias:
            self.bias = Parameter(empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default init: kaiming_uniform_(a=sqrt(5)) on weight, U(+-1/sqrt(fan_in)) on bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        w, b = self.weight, self.bias
        shape = x.shape
        if not shape or shape[-1] != self.in_features:
            raise ValueError(f"Linear(in_features={self.in_features}, out_features={self.out_features}) got input of "
                             f"shape {tuple(shape)}; expected shape (..., {self.in_features})")
        if x.dtype != w.dtype:
            raise TypeError(f"Linear(in_features={self.in_features}, out_features={self.out_features}) got input of "
                            f"dtype {x.dtype} but its weight is {w.dtype}; convert the input (x.float() / x.double()) "
                            f"or the layer (layer.float() / layer.double())")
        return _LinearFn.apply(x, w) if b is None else _LinearFn.apply(x, w, b)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Identity(Module):
    """Returns its input unchanged (a placeholder layer); accepts and ignores any constructor arguments."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x


class Flatten(Module):
    """Flattens dims ``start_dim`` .. ``end_dim`` into one: (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x: Tensor) -> Tensor:
        nd = max(x.ndim, 1)
        s, e = self.start_dim, self.end_dim
        if not (-nd <= s < nd and -nd <= e < nd) or s % nd > e % nd:
            raise ValueError(f"Flatten(start_dim={s}, end_dim={e}) got input of shape {tuple(x.shape)}: "
                             f"dims must lie in [{-nd}, {nd - 1}] with start_dim <= end_dim")
        return ops.flatten(x, s, e)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
