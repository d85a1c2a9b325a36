"""Parameter groups for fine-tuning: no weight decay on biases and normalisation weights (the parameters of
fewer than two dimensions, as nanoGPT and timm decide it), and layer-wise
learning-rate decay (each layer below the top gets ``layer_decay`` times the rate of the one above it).

``param_groups`` returns the list of dicts every optimizer takes (``optim.AdamW(param_groups(...))``); frozen
parameters (``requires_grad=False``) are left out.

>>> from lucidnet import nn
>>> m = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4), nn.Linear(4, 2))
>>> groups = param_groups(m, lr=1.0, weight_decay=0.01, depth=lambda name: int(name[0]), layer_decay=0.5)
>>> [(g["lr"], g["weight_decay"], len(g["params"])) for g in groups]
[(0.25, 0.01, 1), (0.25, 0.0, 1), (0.5, 0.0, 2), (1.0, 0.01, 1), (1.0, 0.0, 1)]
"""
from __future__ import annotations

from typing import Any, Callable

__all__ = ["param_groups", "is_bias_or_norm"]


def is_bias_or_norm(name: str, p: Any) -> bool:
    """True for the parameters that get no weight decay by default: those of fewer than 2 dimensions."""
    return p.ndim < 2


def param_groups(model: Any, lr: float, weight_decay: float = 0.0, *,
                 no_decay: Callable[[str, Any], bool] = is_bias_or_norm,
                 depth: Callable[[str], int] | None = None, layer_decay: float = 1.0) -> list[dict[str, Any]]:
    """Groups of ``model``'s trainable parameters: weight decay ``weight_decay`` except where
    ``no_decay(name, parameter)``; with ``depth`` (parameter name -> layer
    index, 0 at the input) and ``layer_decay`` < 1, a parameter at depth d gets ``lr * layer_decay ** (top - d)``.
    Groups are ordered by depth, then decay before no-decay."""
    if not 0.0 < layer_decay <= 1.0:
        raise ValueError(f"param_groups: layer_decay must be in (0, 1], got {layer_decay}")
    if layer_decay != 1.0 and depth is None:
        raise ValueError("param_groups: layer_decay needs depth (a function from parameter name to layer index)")
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not named:
        raise ValueError(f"param_groups: {type(model).__name__} has no trainable parameters (all frozen?)")
    depths = {n: (depth(n) if depth is not None else 0) for n, _ in named}
    top = max(depths.values())
    groups: dict[tuple[int, bool], dict[str, Any]] = {}
    for n, p in named:
        d, nd = depths[n], bool(no_decay(n, p))
        g = groups.setdefault((d, nd), {"params": [], "lr": lr * layer_decay ** (top - d),
                                        "weight_decay": 0.0 if nd else weight_decay, "depth": d})
        g["params"].append(p)
    return [groups[k] for k in sorted(groups)]
