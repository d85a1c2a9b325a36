"""Watching the ops a forward pass applies: what exporters (``lucidnet.onnx``) read a model from.

Inside ``with recording() as ops:`` every op that runs through ``Function.apply`` (with or without a graph
being recorded), and the few ops with no gradient that call :func:`noted` (comparisons, casts), is appended
to ``ops`` as an :class:`Applied`: the Function's class, the node that ran it
(what its forward saved, a recurrent layer's final states), its positional inputs, its keyword attributes
and its output tensor. Outside such a block the cost is one check of an empty list per op.

>>> import lucidnet as ln
>>> with recording() as ops:
...     y = (ln.ones(2, 3) * 2).sum(1)
>>> [a.op.__name__ for a in ops], ops[1].attrs
(['Mul', 'Sum'], {'axes': (1,), 'keepdims': False})
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, NamedTuple

__all__ = ["Applied", "recording", "note", "noted", "LISTENERS"]


class Applied(NamedTuple):
    """One op as it ran: ``op`` (the Function class), ``node`` (its instance), ``inputs``, ``attrs``, ``out``."""
    op: type
    node: Any
    inputs: tuple
    attrs: dict
    out: Any


LISTENERS: list = []  # the lists of the open ``recording()`` blocks (innermost last)


def note(op: type, node: Any, inputs: tuple, attrs: dict, out: Any) -> None:
    """Called by ``Function.apply`` for every op while a recording is open."""
    LISTENERS[-1].append(Applied(op, node, inputs, attrs, out))


def noted(op: type, inputs: tuple, attrs: dict, out: Any) -> Any:
    """``out``, noted as made by ``op`` from ``inputs`` while a recording is open: for the ops that make a
    tensor without ``Function.apply`` (comparisons, casts without a gradient)."""
    if LISTENERS:
        note(op, None, inputs, attrs, out)
    return out


@contextmanager
def recording(ops: list | None = None) -> Iterator[list]:
    """Collect the ops applied inside the block, in order, into the list it yields (``ops``, or a new one:
    anything with an ``append``)."""
    ops = [] if ops is None else ops
    LISTENERS.append(ops)
    try:
        yield ops
    finally:
        del LISTENERS[next(i for i, o in enumerate(LISTENERS) if o is ops)]
