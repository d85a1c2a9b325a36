"""The benchmarks' shared timer: the median wall time of repeated calls, after one warm-up call."""
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
