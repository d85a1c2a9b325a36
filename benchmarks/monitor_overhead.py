#!/usr/bin/env python3
"""The extra cost of one monitored step, from best-of-N fit times with a Monitor on every step and with none
(best-of-N is the least disturbed by other processes on a shared machine), as a share of training time at
the default interval.

    python benchmarks/monitor_overhead.py [REPS]      # REPS one-epoch fits per variant (default 15)
"""
import sys
import time

import numpy as np

import lucidnet as ln
from lucidnet.inspect import Monitor
from lucidnet.inspect.monitor import DEFAULT_EVERY

reps = int(sys.argv[1]) if len(sys.argv) > 1 else 15
x, y = ln.datasets.FashionMNIST.bundled("train").to_arrays()
x = ((x - x.mean()) / x.std()).astype(np.float32)
steps = -(-len(x) // 128)


def run(mon):
    ln.manual_seed(0)
    model = ln.models.MLP(784, [512, 256], 10)
    opt = ln.optim.Adam(model.parameters(), lr=1e-3)
    t = time.perf_counter()
    ln.fit(model, (x, y), loss="cross_entropy", optimizer=opt, epochs=1, batch_size=128,
           callbacks=[mon] if mon else [], verbose=0)
    return time.perf_counter() - t


t = {"none": [], "every step": [], "default": []}
for i in range(reps):
    t["none"].append(run(None))
    t["every step"].append(run(Monitor(every=1)))
    t["default"].append(run(Monitor()))
best = {k: min(v) for k, v in t.items()}
step = best["none"] / steps
extra = (best["every step"] - best["none"]) / steps
print(f"best of {reps}, one epoch of {steps} steps: no monitor {best['none']:.3f} s ({1e3 * step:.2f} ms/step); "
      f"monitor on every step {best['every step']:.3f} s, so a monitored step costs {1e3 * extra:.2f} ms more "
      f"({100 * extra / step:.0f}% of a step); at the default every={DEFAULT_EVERY}: "
      f"{100 * extra / (DEFAULT_EVERY * step):.2f}% of training time; measured directly at the default: "
      f"{best['default']:.3f} s ({100 * (best['default'] / best['none'] - 1):+.1f}%)")
