"""``nn.utils``: gradient clipping under PyTorch's names (``nn.utils.clip_grad_norm_``).

The implementations live in ``lucidnet.optim.clip``; they are imported when first called, so that
importing ``lucidnet.nn`` does not import the optimizers (imports flow engine <- nn <- optim).
"""
from __future__ import annotations

from typing import Any


def clip_grad_norm_(parameters: Any, max_norm: float, *args: Any, **kwargs: Any) -> Any:
    """Scale the gradients so that their joint norm is at most ``max_norm``; see ``lucidnet.optim.clip``."""
    from ..optim.clip import clip_grad_norm_ as impl
    return impl(parameters, max_norm, *args, **kwargs)


def clip_grad_value_(parameters: Any, clip_value: float, *args: Any, **kwargs: Any) -> Any:
    """Clamp every gradient element to [-clip_value, clip_value]; see ``lucidnet.optim.clip``."""
    from ..optim.clip import clip_grad_value_ as impl
    return impl(parameters, clip_value, *args, **kwargs)


__all__ = ["clip_grad_norm_", "clip_grad_value_"]
