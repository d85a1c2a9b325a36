"""What the vision models share: argument checks, the input check and the initialisation of conv nets."""
from __future__ import annotations

from typing import Any, Sequence

from ... import nn
from ...tensor import Tensor


def positive_int(who: str, name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"{who}: {name} must be a positive int, got {v!r}")
    return v


def dropout_p(who: str, p: Any) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
        raise ValueError(f"{who}: dropout must be a probability in [0, 1), got {p!r}")
    return float(p)


def size_pair(who: str, size: Any) -> tuple[int, int]:
    hw = tuple(size) if isinstance(size, (tuple, list)) else (size, size)
    if len(hw) != 2:
        raise ValueError(f"{who}: image_size must be an int or (height, width), got {size!r}")
    return positive_int(who, "image_size", hw[0]), positive_int(who, "image_size", hw[1])


def check_images(who: str, x: Tensor, in_channels: int, size: Sequence[int] | None = None,
                 min_size: int = 1) -> None:
    """A clear error unless ``x`` is a batch of images (N, in_channels, H, W) (of ``size`` when given)."""
    shape = tuple(x.shape)
    want = f"(N, {in_channels}, {size[0]}, {size[1]})" if size else f"(N, {in_channels}, H, W)"
    if len(shape) != 4 or shape[1] != in_channels:
        hint = "; reshape flat images with x.reshape(-1, 1, 28, 28)" if len(shape) == 2 else ""
        raise ValueError(f"{who} expected images of shape {want}, got input of shape {shape}{hint}")
    if size is not None and shape[2:] != tuple(size):
        raise ValueError(f"{who} was built for {size[0]}x{size[1]} images (image_size={tuple(size)}), got input of "
                         f"shape {shape}")
    if min(shape[2:]) < min_size:
        raise ValueError(f"{who} needs images of at least {min_size}x{min_size} pixels, got input of shape {shape}")


def init_conv_net(model: nn.Module) -> None:
    """torchvision's initialisation of its VGG and ResNet: He-normal convolutions (fan_out, ReLU gain), batch
    norms at weight 1 and bias 0; linear layers keep PyTorch's default."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d) and m.affine:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def pooled_size(size: int, pools: int) -> int:
    """The side of a ``size`` image after ``pools`` 2x2 max-pools (each floors)."""
    return size // 2 ** pools
