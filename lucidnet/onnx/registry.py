"""The converters: Function class (an op of lucidnet's engine) -> a function that writes its ONNX nodes.

A converter takes the graph and the op (see ``trace.Op``; ``op.twin`` is the same op in the second trace)
and returns the ONNX name of the op's output. ``dynamic`` names the attributes it reads knowing that they
may change with the dynamic axes (a reshape's target shape); every other attribute must be the same in
both traces, or the export stops with an error naming the attribute, the op and the layer.
"""
from __future__ import annotations

from typing import Callable

__all__ = ["CONVERTERS", "converts", "supported"]

CONVERTERS: dict[type, tuple[Callable, frozenset]] = {}


def converts(*kinds: type, dynamic: tuple = ()) -> Callable:
    """Register the decorated function as the converter of the Function classes ``kinds``."""
    def deco(fn: Callable) -> Callable:
        for k in kinds:
            CONVERTERS[k] = (fn, frozenset(dynamic))
        return fn
    return deco


def supported() -> list[str]:
    """The names of the ops that convert, sorted."""
    return sorted({k.__name__ for k in CONVERTERS})
