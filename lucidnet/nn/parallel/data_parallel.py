"""``torch.nn.parallel`` on lucidnet's one device, the CPU: ``DataParallel`` wraps a module and calls it;
``data_parallel`` is a plain call. (Training over several processes is MPI data parallelism, not this.)

>>> import lucidnet as ln
>>> net = ln.nn.DataParallel(ln.nn.Linear(3, 2))
>>> net(ln.ones(4, 3)).shape, type(net.module).__name__
((4, 2), 'Linear')
"""
from __future__ import annotations

from typing import Any, Sequence

from ...device import check_device
from ..module import Module

__all__ = ["DataParallel", "data_parallel"]


def _check_ids(device_ids: Sequence[Any] | None, output_device: Any, who: str) -> None:
    for d in list(device_ids or []) + ([output_device] if output_device is not None else []):
        if isinstance(d, int):
            raise RuntimeError(f"{who}: device id {d} names a GPU; lucidnet runs on the CPU only "
                               "(lucidnet.cuda.is_available() is False)")
        check_device(d, who)


class DataParallel(Module):
    """PyTorch's ``nn.DataParallel`` with the CPU as the only device: ``forward`` calls ``module``; the
    state dict keeps PyTorch's ``module.`` prefix."""

    def __init__(self, module: Module, device_ids: Sequence[Any] | None = None, output_device: Any = None,
                 dim: int = 0):
        super().__init__()
        _check_ids(device_ids, output_device, "DataParallel")
        self.module, self.dim = module, dim

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)


def data_parallel(module: Module, inputs: Any, device_ids: Sequence[Any] | None = None, output_device: Any = None,
                  dim: int = 0, module_kwargs: dict | None = None) -> Any:
    """``module(*inputs, **module_kwargs)`` (PyTorch's ``data_parallel`` on one CPU device)."""
    _check_ids(device_ids, output_device, "data_parallel")
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    return module(*inputs, **(module_kwargs or {}))
