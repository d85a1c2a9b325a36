"""The benchmarks' shared timers: the median wall time of repeated calls, and a step's rate over a time window."""
from __future__ import annotations

import statistics
import time
from typing import Callable


def median_seconds(call: Callable[[], object], seconds: float, min_runs: int = 3) -> float:
    """Median seconds of ``call()`` over at least ``min_runs`` calls and at least ``seconds`` of calling, after
    one warm-up call (it compiles lucidnet's kernels, plans ONNX Runtime's)."""
    call()
    times = []
    t_end = time.perf_counter() + seconds
    while len(times) < min_runs or time.perf_counter() < t_end:
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def steps_per_second(step: Callable[[], object], seconds: float, warmup: int = 5) -> float:
    """Calls of ``step()`` per second over a window of ``seconds`` (whole calls), after ``warmup`` calls: the rate
    that ``../shared/bench/torch_anchor.py`` reports for PyTorch, measured the same way."""
    for _ in range(warmup):
        step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        n += 1
    return n / (time.perf_counter() - t0)
