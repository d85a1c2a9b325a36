"""Name -> model class, so a run directory's JSON config rebuilds the architecture."""
from __future__ import annotations

from typing import Any, Callable

_REGISTRY: dict[str, Callable] = {}


def register(name: str) -> Callable:
    """Class decorator: ``@register("mlp")``. The class must take its config as keyword arguments and
    expose them as ``self.config`` (a dict of JSON-able values)."""
    def deco(cls):
        _REGISTRY[name] = cls
        cls.registry_name = name
        return cls
    return deco


def registered() -> list[str]:
    return sorted(_REGISTRY)


def build(config: dict[str, Any]):
    """Build a model from ``{"name": ..., **kwargs}``."""
    cfg = dict(config)
    name = cfg.pop("name", None)
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(registered())}")
    return _REGISTRY[name](**cfg)


def config_of(model) -> dict[str, Any]:
    name = getattr(type(model), "registry_name", None)
    if name is None or not hasattr(model, "config"):
        raise TypeError(f"{type(model).__name__} is not a registered model; it has no config to save")
    return {"name": name, **model.config}
