"""Programs that tests/test_distributed.py runs under ``mpiexec -n N`` (one per process); each prints one JSON
line (rank 0) or fails.

    mpiexec -n 2 python tests/mpi_programs.py equivalence float64:cnn float32:mlp
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time

import numpy as np

import lucidnet as ln
import lucidnet.distributed as dist
from lucidnet import nn


def _model(kind: str, dtype) -> nn.Module:
    ln.manual_seed(0)
    if kind == "mlp":
        m = nn.Sequential(nn.Linear(12, 32), nn.Tanh(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 3))
    else:  # a CNN with BatchNorm (synchronised when trained by several ranks)
        m = nn.Sequential(nn.Conv2d(2, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(6, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(),
                          nn.Linear(8 * 4 * 4, 3))
    return m.to(dtype=dtype)


def _data(kind: str, dtype, n: int):
    rng = np.random.default_rng(1)
    shape = (n, 12) if kind == "mlp" else (n, 2, 8, 8)
    return rng.standard_normal(shape).astype(dtype), rng.integers(0, 3, n)


def _state(model) -> dict:
    return {k: np.array(getattr(v, "array", v)) for k, v in model.state_dict().items()}


def _train(model, x, y, batch: int, steps: int, part=None) -> None:
    """``steps`` SGD steps on consecutive batches of ``batch`` (``part=(r, n)``: the r-th of n equal slices)."""
    opt = ln.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model.train()
    for k in range(steps):
        lo = (k * batch) % len(x)
        xb, yb = x[lo:lo + batch], y[lo:lo + batch]
        if part is not None:
            r, n = part
            share = batch // n
            xb, yb = xb[r * share:(r + 1) * share], yb[r * share:(r + 1) * share]
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(ln.from_numpy(xb)), ln.from_numpy(yb))
        loss.backward()
        opt.step()


def equivalence(*cases: str) -> None:
    """``equivalence float64:mlp float32:cnn ...``: each case, one JSON line."""
    for case in cases:
        dtype_name, kind = case.split(":")
        equivalent(dtype_name, kind)


def equivalent(dtype_name: str, kind: str, steps: str = "50") -> None:
    """N ranks with per-rank batch B/N against one process with batch B (on rank 0), after ``steps`` steps."""
    world = dist.init()
    dtype = np.dtype(dtype_name)
    batch, n_steps = 16, int(steps)
    x, y = _data(kind, dtype, batch * 10)
    model = nn.SyncBatchNorm.convert_sync_batchnorm(_model(kind, dtype))
    ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0.001)  # several buckets
    _train(ddp, x, y, batch, n_steps, part=(world.rank, world.size))
    mine = _state(model)
    everyone = [None] * world.size
    dist.all_gather_object(everyone, mine)
    if world.rank == 0:
        reference = _model(kind, dtype)       # plain BatchNorm, this process's batch of B
        _train(reference, x, y, batch, n_steps)
        ref, start = _state(reference), _state(_model(kind, dtype))
        diff = max(float(np.max(np.abs(ref[k] - mine[k]))) for k in ref)
        ranks = max(float(np.max(np.abs(other[k] - mine[k]))) for other in everyone for k in mine)
        moved = max(float(np.max(np.abs(ref[k] - start[k]))) for k in ref)
        print(json.dumps({"case": f"{dtype_name}:{kind}", "max_diff": diff, "ranks_diff": ranks, "moved": moved,
                          "buckets": ddp.stats["buckets"], "allreduces": ddp.stats["allreduces"]}))


def mismatch() -> None:
    """Rank 1 builds a different model: DistributedDataParallel refuses at wrap time."""
    world = dist.init()
    width = 8 if world.rank == 0 else 9
    nn.parallel.DistributedDataParallel(nn.Sequential(nn.Linear(4, width), nn.ReLU(), nn.Linear(width, 2)))


def fails(how: str) -> None:
    """Rank 1 fails in the middle of training with fit: ``kill`` (SIGKILL to itself) or ``raise``."""
    world = dist.init()
    x, y = _data("mlp", np.float32, 512)

    class Fail(ln.train.Callback):
        def on_batch_end(self, batch, logs=None):
            if world.rank != 1 or batch != 3:
                return
            if how == "kill":
                print(f"killing rank 1 at {time.time()}", flush=True)
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError("a failure on rank 1")

    ln.fit(_model("mlp", np.float32), (x, y), loss="cross_entropy", optimizer="sgd", lr=0.01, epochs=50,
           batch_size=16, callbacks=[Fail()], verbose=0)


def resume(phase: str, path: str) -> None:
    """A fit with training checkpoints every 4 steps: ``full`` runs it through, ``stop`` stops it with an error
    at step 10, ``resume`` continues the stopped run from its checkpoint; rank 0 prints the final weights' sum."""
    world = dist.init()
    x, y = _data("mlp", np.float32, 200)
    model = _model("mlp", np.float32)

    class Stop(ln.train.Callback):
        def on_batch_begin(self, batch, logs=None):
            if phase == "stop" and self.trainer.global_step == 10:
                raise RuntimeError("stopped at step 10")

    h = ln.fit(model, (x, y), loss="cross_entropy", optimizer="adam", lr=0.01, epochs=3, batch_size=32,
               val_data=(x[:64], y[:64]), callbacks=[Stop()], checkpoint=path, checkpoint_every=4,
               resume=path if phase == "resume" else None, verbose=0)
    if world.rank == 0:
        weights = sum(float(np.sum(np.abs(p.numpy().astype(np.float64)))) for p in model.parameters())
        print(json.dumps({"weights": weights, "loss": h.history["loss"], "val_accuracy": h.history["val_accuracy"]}))


if __name__ == "__main__":
    globals()[sys.argv[1]](*sys.argv[2:])
