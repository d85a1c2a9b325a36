"""Validation inside an epoch: which batches ``fit(val_check_interval=...)`` validates after.

PyTorch Lightning's ``val_check_interval`` (Hugging Face's ``eval_steps``, counted within each epoch): an int N
validates after every N-th batch of an epoch; a float f in (0, 1] validates after each fraction f of the epoch's
batches (0.25: four times an epoch, evenly spread). An epoch is always validated at its end (as without the
option), so the last point of an epoch is never repeated inside it.

>>> in_epoch_points(0.25, 2105)(526), in_epoch_points(0.25, 2105)(527)
(True, False)
>>> [i for i in range(1, 11) if in_epoch_points(3, 10)(i)]
[3, 6, 9]
>>> in_epoch_points(0, 10)
Traceback (most recent call last):
...
ValueError: fit: val_check_interval must be a positive int (a number of batches) or a float in (0, 1] (a fraction of the epoch), got 0
"""
from __future__ import annotations

import math
from typing import Callable

__all__ = ["check_val_check_interval", "in_epoch_points"]


def check_val_check_interval(interval: int | float) -> int | float:
    """``interval`` if it is a positive int or a float in (0, 1]; a ``ValueError`` saying what is expected
    otherwise."""
    ok = (isinstance(interval, int) and not isinstance(interval, bool) and interval >= 1) or \
        (isinstance(interval, float) and math.isfinite(interval) and 0.0 < interval <= 1.0)
    if not ok:
        raise ValueError("fit: val_check_interval must be a positive int (a number of batches) or a float in (0, 1] "
                         f"(a fraction of the epoch), got {interval!r}")
    return interval


def in_epoch_points(interval: int | float, steps: int | None) -> Callable[[int], bool]:
    """``f(i)``: whether to validate after the i-th batch (1-based) of an epoch of ``steps`` batches (None: a
    loader without a length; an int interval only), the epoch's last batch excluded (its end is validated)."""
    check_val_check_interval(interval)
    last = math.inf if steps is None else steps
    if isinstance(interval, int):
        return lambda i: i % interval == 0 and i < last
    if steps is None:
        raise ValueError(f"fit: val_check_interval={interval!r} is a fraction of an epoch, but the training loader has "
                         "no length; give a number of batches (an int)")
    points = set()
    k = 1
    while k * interval < 1.0 - 1e-9:
        points.add(math.floor(k * interval * steps + 0.5))
        k += 1
    points = {p for p in points if 1 <= p < steps}
    return points.__contains__
