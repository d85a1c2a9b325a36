"""Devices, PyTorch's way: lucidnet computes on the CPU, and says so to programs that ask.

``device("cpu")`` is where every tensor lives. ``device("cuda")`` can be named (programs build it before
they check), but moving a tensor or a module there raises a clear error. ``cuda.is_available()``,
``backends.mps.is_available()`` and ``accelerator.is_available()`` answer False, so programs take their
CPU branch; ``cuda.manual_seed`` is ignored without a GPU, as in PyTorch.

>>> import lucidnet as torch
>>> dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
>>> dev, torch.zeros(2, device=dev).device
(device(type='cpu'), device(type='cpu'))
>>> torch.ones(2).to("cuda")
Traceback (most recent call last):
...
RuntimeError: to: lucidnet runs on the CPU only, not on device 'cuda' (lucidnet.cuda.is_available() is False)
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

__all__ = ["device", "cuda", "backends", "accelerator", "check_device", "is_device", "to_arguments"]

_KNOWN = ("cpu", "cuda", "mps", "xpu", "meta", "xla", "hip", "mtia", "privateuseone")


class device:  # noqa: N801 - PyTorch's name
    """A device name: ``device("cpu")``, ``device("cuda:0")``, ``device("cuda", 1)``."""

    __slots__ = ("type", "index")

    def __init__(self, type: "str | device", index: int | None = None):  # noqa: A002 - PyTorch's argument name
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string such as 'cpu', got {type!r}")
        name, _, rest = type.partition(":")
        if rest:
            if index is not None or not rest.isdigit():
                raise RuntimeError(f"device: invalid device string {type!r}")
            index = int(rest)
        if name not in _KNOWN:
            raise RuntimeError(f"device: expected one of {', '.join(_KNOWN)} device type at start of device "
                               f"string: {type!r}")
        if index is not None and (isinstance(index, bool) or not isinstance(index, int) or index < 0):
            raise RuntimeError(f"device: the index must be a non-negative int, got {index!r}")
        self.type, self.index = name, index

    def __repr__(self) -> str:
        return f"device(type={self.type!r}" + (f", index={self.index})" if self.index is not None else ")")

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except (RuntimeError, TypeError):
                return False
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


CPU = device("cpu")


def is_device(value: Any) -> bool:
    """Whether ``value`` names a device (a ``device``, or a string such as 'cpu' or 'cuda:0'), not a dtype."""
    if isinstance(value, device):
        return True
    if isinstance(value, str):
        return value.partition(":")[0] in _KNOWN
    return False


def check_device(value: Any, who: str) -> None:
    """Accept ``None`` or the CPU; raise a clear error for any other device."""
    if value is None:
        return
    d = device(value) if not isinstance(value, device) else value
    if d.type != "cpu":
        raise RuntimeError(f"{who}: lucidnet runs on the CPU only, not on device '{d}' "
                           "(lucidnet.cuda.is_available() is False)")


def to_arguments(args: tuple, dtype: Any, device: Any, who: str) -> Any:
    """The dtype that PyTorch's ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(tensor)`` (or the
    keywords) asks for (None: keep it), after checking that the device is the CPU."""
    rest = list(args)
    if rest and hasattr(rest[0], "array") and hasattr(rest[0], "dtype"):  # another tensor: its dtype
        dtype, device = rest.pop(0).dtype, None
    elif rest and is_device(rest[0]):
        device = rest.pop(0)
    if rest and dtype is None:
        dtype = rest.pop(0)
    if rest:
        raise TypeError(f"{who}: unexpected arguments {rest!r}; expected to(dtype), to(device), to(device, dtype) "
                        "or to(tensor)")
    check_device(device, who)
    return dtype


def _false(*args: Any, **kwargs: Any) -> bool:
    return False


def _ignored(*args: Any, **kwargs: Any) -> None:
    return None


def _no_gpu(*args: Any, **kwargs: Any):
    raise RuntimeError("lucidnet.cuda: lucidnet runs on the CPU only; there is no CUDA device "
                       "(lucidnet.cuda.is_available() is False)")


cuda = SimpleNamespace(
    is_available=_false, is_initialized=_false, device_count=lambda: 0, manual_seed=_ignored,
    manual_seed_all=_ignored, seed=_ignored, seed_all=_ignored, empty_cache=_ignored, synchronize=_no_gpu,
    current_device=_no_gpu, get_device_name=_no_gpu, set_device=_no_gpu)
cuda.__doc__ = "PyTorch's ``torch.cuda`` queries: no CUDA device (seeding is ignored, as PyTorch does without one)."

backends = SimpleNamespace(
    mps=SimpleNamespace(is_available=_false, is_built=_false),
    cuda=SimpleNamespace(is_built=_false),
    cudnn=SimpleNamespace(is_available=_false, enabled=False, deterministic=False, benchmark=False),
    mkldnn=SimpleNamespace(is_available=_false))
backends.__doc__ = ("PyTorch's ``torch.backends`` queries: no MPS, CUDA or cuDNN; the cuDNN flags can be set and "
                    "change nothing on the CPU.")

accelerator = SimpleNamespace(is_available=_false, current_accelerator=_ignored, device_count=lambda: 0)
accelerator.__doc__ = "PyTorch's ``torch.accelerator`` queries: none; lucidnet computes on the CPU."
