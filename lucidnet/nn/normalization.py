"""Normalisation layers: ``BatchNorm1d``, ``BatchNorm2d``, ``LayerNorm``, ``GroupNorm``.

Parameters and buffers have PyTorch's names, shapes and order (``weight``, ``bias``, ``running_mean``,
``running_var``, ``num_batches_tracked``), so a PyTorch ``state_dict`` loads as it is. The kernels (one
node each, with its own backward) are in ``lucidnet.fused.norm``.

>>> import lucidnet as ln
>>> bn = ln.nn.BatchNorm2d(16)
>>> y = bn(ln.randn(8, 16, 5, 5))
>>> list(bn.state_dict())
['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
>>> int(bn.num_batches_tracked.item())
1
"""
from __future__ import annotations

from typing import Sequence

from ..autograd.grad_mode import no_grad
from ..fused.norm import as_normalized_shape, batch_norm, batch_norm_hardtanh, group_norm, layer_norm
from ..tensor import Tensor, int64, ones, tensor, zeros
from .module import Module
from .parameter import Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm"]


def _check_positive(who: str, name: str, v) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"{who}: {name} must be a positive int, got {v!r}")


def _affine_parameters(module: Module, shape, affine: bool, bias: bool, dtype) -> None:
    """``weight`` (ones) and ``bias`` (zeros) of ``shape``, or None where absent (PyTorch's layout)."""
    shape = shape if isinstance(shape, tuple) else (shape,)
    module.register_parameter("weight", Parameter(ones(*shape, dtype=dtype)) if affine else None)
    module.register_parameter("bias", Parameter(zeros(*shape, dtype=dtype)) if affine and bias else None)


def _reset_affine(module: Module) -> None:
    with no_grad():
        if module.weight is not None:
            module.weight.fill_(1)
        if module.bias is not None:
            module.bias.zero_()


class _BatchNorm(Module):
    """Shared body of ``BatchNorm1d``/``BatchNorm2d``; subclasses say which input ranks they take."""

    _ranks: tuple = ()
    _expected: str = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, dtype=None, *, bias: bool = True):
        super().__init__()
        who = type(self).__name__
        _check_positive(who, "num_features", num_features)
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"{who}: momentum must be in [0, 1] or None (cumulative average), got {momentum!r}")
        if eps <= 0:
            raise ValueError(f"{who}: eps must be positive, got {eps!r}")
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        _affine_parameters(self, num_features, affine, bias, dtype)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches counted."""
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """Running statistics reset; weight 1, bias 0."""
        self.reset_running_stats()
        _reset_affine(self)

    def _check_input(self, x: Tensor) -> None:
        if not isinstance(x, Tensor):
            raise TypeError(f"{self!r} expected a Tensor, got {type(x).__name__}")
        if x.ndim not in self._ranks:
            raise ValueError(f"{self!r} expected {self._expected} input, got input of shape {tuple(x.shape)}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"{self!r} expected {self.num_features} channels (dim 1) but got input of shape "
                             f"{tuple(x.shape)}")
        w = self.weight if self.affine else self.running_mean
        if w is not None and x.dtype != w.dtype:
            raise TypeError(f"{self!r} got input of dtype {x.dtype} but its parameters are {w.dtype}; convert the "
                            "input (x.float() / x.double()) or the layer (layer.float() / layer.double())")

    def forward(self, x: Tensor) -> Tensor:
        return self._normalize(x, None)

    def forward_hardtanh(self, x: Tensor, min_val: float = 0.0, max_val: float = 6.0) -> Tensor:
        """``hardtanh(self(x), min_val, max_val)`` (ReLU6 by default) in one node: the clip folded into batch
        norm's passes (``fused.norm.batch_norm_hardtanh``). The same values, gradients and running statistics
        as the layer followed by ``nn.ReLU6``; this layer's forward hooks do not run."""
        return self._normalize(x, (min_val, max_val))

    def _normalize(self, x: Tensor, clip: tuple | None) -> Tensor:
        self._check_input(x)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.array += 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.array)
        # batch statistics (updating the running ones, if kept) in training mode, and in eval mode when no
        # running statistics are kept; otherwise the running statistics
        use_batch = self.training or self.running_mean is None
        args = (x, self.running_mean, self.running_var, self.weight, self.bias, use_batch, factor, self.eps)
        return self._kernel(args, clip)

    def _kernel(self, args: tuple, clip: tuple | None) -> Tensor:
        return batch_norm(*args) if clip is None else batch_norm_hardtanh(*args, *clip)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs over N (and L), per channel C.

    Training mode normalises with the batch's statistics and updates ``running_mean``/``running_var``
    (``momentum``; None = cumulative average); eval mode uses the running statistics.

    >>> import lucidnet as ln
    >>> ln.nn.BatchNorm1d(4)(ln.randn(10, 4)).shape
    (10, 4)
    """

    _ranks = (2, 3)
    _expected = "2D (N, C) or 3D (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs over N, H and W, per channel C.

    >>> import lucidnet as ln
    >>> ln.nn.BatchNorm2d(3).eval()(ln.randn(2, 3, 4, 4)).shape
    (2, 3, 4, 4)
    """

    _ranks = (4,)
    _expected = "4D (N, C, H, W)"


class LayerNorm(Module):
    """Normalise over the trailing dims ``normalized_shape`` of each sample; learnable elementwise affine.

    >>> import lucidnet as ln
    >>> ln.nn.LayerNorm(8)(ln.randn(4, 8)).shape
    (4, 8)
    """

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, dtype=None):
        super().__init__()
        shape = as_normalized_shape(normalized_shape)
        if not shape or any(s < 1 for s in shape):
            raise ValueError(f"LayerNorm: normalized_shape must be positive ints, got {normalized_shape!r}")
        self.normalized_shape = shape
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _affine_parameters(self, shape, elementwise_affine, bias, dtype)

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, x: Tensor) -> Tensor:
        k = len(self.normalized_shape)
        if x.ndim < k or tuple(x.shape[x.ndim - k:]) != self.normalized_shape:
            raise ValueError(f"{self!r} expected input of shape (*, {', '.join(map(str, self.normalized_shape))}), "
                             f"got {tuple(x.shape)}")
        if self.weight is not None and x.dtype != self.weight.dtype:
            raise TypeError(f"{self!r} got input of dtype {x.dtype} but its parameters are {self.weight.dtype}")
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class GroupNorm(Module):
    """Split the C channels of (N, C, *) into ``num_groups`` groups and normalise each group of each
    sample; then a per-channel affine (``affine=True``).

    >>> import lucidnet as ln
    >>> ln.nn.GroupNorm(2, 6)(ln.randn(3, 6, 4, 4)).shape
    (3, 6, 4, 4)
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True, dtype=None, *,
                 bias: bool = True):
        super().__init__()
        _check_positive("GroupNorm", "num_groups", num_groups)
        _check_positive("GroupNorm", "num_channels", num_channels)
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels={num_channels} must be divisible by num_groups={num_groups}")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        _affine_parameters(self, num_channels, affine, bias, dtype)

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"{self!r} expected input of shape (N, {self.num_channels}, *), got {tuple(x.shape)}")
        if self.affine and x.dtype != self.weight.dtype:
            raise TypeError(f"{self!r} got input of dtype {x.dtype} but its parameters are {self.weight.dtype}")
        return group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")
