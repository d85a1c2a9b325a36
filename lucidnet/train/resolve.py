"""Losses and optimizers by name, for ``fit(loss="cross_entropy", optimizer="adam")``."""
from __future__ import annotations

from typing import Any, Callable

__all__ = ["get_loss", "get_optimizer", "CLASSIFICATION_LOSSES", "LOGIT_LOSSES"]

_LOSSES = {
    "cross_entropy": "cross_entropy", "ce": "cross_entropy", "categorical_crossentropy": "cross_entropy",
    "sparse_categorical_crossentropy": "cross_entropy",
    "nll": "nll_loss", "nll_loss": "nll_loss",
    "mse": "mse_loss", "mse_loss": "mse_loss", "mean_squared_error": "mse_loss",
    "mae": "l1_loss", "l1": "l1_loss", "l1_loss": "l1_loss", "mean_absolute_error": "l1_loss",
    "huber": "huber_loss", "huber_loss": "huber_loss", "smooth_l1": "smooth_l1_loss",
    "smooth_l1_loss": "smooth_l1_loss",
    "bce": "binary_cross_entropy", "binary_cross_entropy": "binary_cross_entropy",
    "binary_crossentropy": "binary_cross_entropy",
    "bce_with_logits": "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits": "binary_cross_entropy_with_logits",
}
CLASSIFICATION_LOSSES = frozenset({"cross_entropy", "nll_loss", "binary_cross_entropy",
                                   "binary_cross_entropy_with_logits"})
LOGIT_LOSSES = frozenset({"binary_cross_entropy_with_logits"})

def get_loss(loss: str | Callable | None, who: str = "fit") -> tuple[Callable | None, str | None]:
    """``(loss_fn, canonical name or None)``: a name from ``lucidnet.nn.functional``, or any callable
    ``loss_fn(output, target) -> scalar Tensor`` (a function or a loss module)."""
    if loss is None:
        return None, None
    if isinstance(loss, str):
        key = _LOSSES.get(loss.lower())
        if key is None:
            raise ValueError(f"{who}: unknown loss {loss!r}; known names: {sorted(_LOSSES)}, or pass a callable "
                             "loss(output, target)")
        from ..nn import functional as F

        return getattr(F, key), key
    if callable(loss):
        name = getattr(loss, "__name__", None) or type(loss).__name__
        canon = {"CrossEntropyLoss": "cross_entropy", "NLLLoss": "nll_loss", "BCELoss": "binary_cross_entropy",
                 "BCEWithLogitsLoss": "binary_cross_entropy_with_logits"}.get(name, name)
        return loss, canon
    raise TypeError(f"{who}: loss must be a name or a callable loss(output, target), got {type(loss).__name__}")


def get_optimizer(optimizer: Any, model: Any, lr: float | None, who: str = "fit") -> Any:
    """An optimizer instance as it is, or one built from a name over ``model.parameters()`` with the defaults
    of ``lucidnet.optim.factory`` (the one table of them) and ``lr`` if given."""
    if isinstance(optimizer, str):
        from ..optim.factory import OPTIMIZERS, build_optimizer

        if optimizer.lower() not in OPTIMIZERS:
            raise ValueError(f"{who}: unknown optimizer {optimizer!r}; known names: {sorted(OPTIMIZERS)}, "
                             "or pass an optimizer instance")
        return build_optimizer(optimizer, model.parameters(), lr=lr)
    if lr is not None:
        raise ValueError(f"{who}: lr={lr} is given with an optimizer instance; set the lr on the optimizer")
    if not (hasattr(optimizer, "step") and hasattr(optimizer, "zero_grad")):
        raise TypeError(f"{who}: optimizer must be a name or an optimizer (with step() and zero_grad()), got "
                        f"{type(optimizer).__name__}")
    return optimizer
