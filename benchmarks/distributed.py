#!/usr/bin/env python3
"""Data-parallel training over MPI on this machine, one command:

    LUCIDNET_DATA=../shared/data python benchmarks/distributed.py [--rounds 3] [--steps 30] [--epochs 1]

Configurations (every measurement a job of its own, the configurations interleaved round by round):
  1x2      one process on 2 threads (no MPI)
  1x1      one process on 1 thread (the cnn workload only: what one core does)
  2x1      mpiexec -n 2, one thread per rank (lucidnet's choice on 2 cores), shared memory between the ranks
  2x1-tcp  mpiexec -n 2 talking over TCP as two hosts would: MPIR_CVAR_NOLOCAL=1 (no shared memory),
           MPIR_CVAR_CH4_NETMOD=ucx with UCX_TLS=tcp,self (the mpich wheel's ch4 device, UCX on loopback TCP)

Workloads:
  cnn      benchmarks/workloads.py's cnn step (SGD momentum) on a fixed global batch of 128 (64 per rank):
           samples/s over --steps steps after 5 warm-up steps; per step, the bytes DistributedDataParallel puts
           into Allreduce and its milliseconds in MPI calls (starting the Allreduces and waiting for them: the
           other rank's lateness included), with one 25 MB bucket (one Allreduce after the backward) and with
           0.25 MB buckets (Allreduces started during the backward); and one Allreduce of the gradients' size
           alone (the network's cost).
  recipe   lucidnet train --dataset fashion-mnist --model cnn --epochs E (the recipe, its schedule over E
           epochs): training seconds (data loading and standardising included) and test accuracy;
           samples/s = 60000 E / seconds.

Prints a table of medians over the rounds (and the machine's load average before and after).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CONFIGS = {"1x2": (1, {}), "2x1": (2, {}),
           "2x1-tcp": (2, {"MPIR_CVAR_NOLOCAL": "1", "MPIR_CVAR_CH4_NETMOD": "ucx", "UCX_TLS": "tcp,self"}),
           "1x1": (1, {"LUCIDNET_NUM_THREADS": "1"})}  # the cnn workload only: one core's speed
RECIPE_CONFIGS = ("1x2", "2x1", "2x1-tcp")
BATCH = 128


# ---- what runs in each rank -----------------------------------------------------------------------------

def worker_cnn(steps: int, bucket_mb: float) -> None:
    import numpy as np

    sys.path.insert(0, str(HERE))
    import lucidnet as ln
    import lucidnet.distributed as dist
    import workloads

    world = dist.joined()
    size = 1 if world is None else world.size
    ln.manual_seed(0)
    model = workloads.cnn_model()
    ddp = ln.nn.parallel.DistributedDataParallel(model, bucket_cap_mb=bucket_mb) if size > 1 else None
    step = workloads.cnn(BATCH // size, model=model)  # the hooks on model's parameters average the gradients
    for _ in range(5):
        step()
    before = dict(ddp.stats) if ddp else {}
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = time.perf_counter() - t0
    out = {"samples_per_s": BATCH * steps / seconds, "threads": ln.get_num_threads(), "ranks": size}
    if ddp is not None:
        out["buckets"] = ddp.stats["buckets"]
        out["comm_bytes_per_step"] = (ddp.stats["bytes"] - before["bytes"]) / steps
        out["comm_ms_per_step"] = 1e3 * (ddp.stats["seconds"] - before["seconds"]) / steps
        grads = np.zeros(sum(p.numel() for p in model.parameters()), np.float32)
        times = []
        for _ in range(20):
            dist.barrier()
            t1 = time.perf_counter()
            dist.all_reduce(grads)
            times.append(time.perf_counter() - t1)
        out["allreduce_alone_ms"] = 1e3 * statistics.median(times)
    if world is None or world.rank == 0:
        print(json.dumps(out), flush=True)


# ---- the driver -------------------------------------------------------------------------------------------

def _env(extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "LUCIDNET_NUM_THREADS"}
    env.update(extra)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def _command(config: str, args: list[str]) -> tuple[list[str], dict]:
    import lucidnet.distributed as dist

    ranks, env = CONFIGS[config]
    cmd = [sys.executable, *args] if ranks == 1 else dist.mpiexec_command(ranks, args)
    return cmd, _env(env)


def _run(config: str, args: list[str]) -> str:
    cmd, env = _command(config, args)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done.stdout


def run_cnn(config: str, steps: int, bucket_mb: float) -> dict:
    out = _run(config, [str(Path(__file__).resolve()), "--worker", "cnn", "--steps", str(steps),
                        "--bucket-mb", str(bucket_mb)])
    return json.loads([line for line in out.splitlines() if line.startswith("{")][-1])


def run_recipe(config: str, epochs: int) -> dict:
    with tempfile.TemporaryDirectory() as d:
        _run(config, ["-m", "lucidnet", "train", "--dataset", "fashion-mnist", "--model", "cnn", "--epochs",
                      str(epochs), "--out", str(Path(d) / "run"), "--quiet"])
        m = json.loads((Path(d) / "run" / "metrics.json").read_text())
    return {"train_seconds": m["train_seconds"], "test_accuracy": m["test_accuracy"],
            "samples_per_s": 60000 * epochs / m["train_seconds"]}


def _median(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if key in r]
    return statistics.median(values) if values else None


def _fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=30, help="timed steps of the cnn workload")
    p.add_argument("--epochs", type=int, default=1, help="recipe epochs (0: skip the recipe)")
    p.add_argument("--recipe-rounds", type=int, default=1)
    p.add_argument("--worker", choices=["cnn"], help=argparse.SUPPRESS)
    p.add_argument("--bucket-mb", type=float, default=25.0, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        worker_cnn(a.steps, a.bucket_mb)
        return
    load = os.getloadavg()
    cnn: dict[tuple, list] = {}
    for r in range(a.rounds):
        for config in CONFIGS:
            for bucket in ((25.0, 0.25) if CONFIGS[config][0] > 1 else (25.0,)):
                cnn.setdefault((config, bucket), []).append(run_cnn(config, a.steps, bucket))
        print(f"round {r + 1}/{a.rounds} done, load {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
    recipe: dict[str, list] = {}
    for _ in range(a.recipe_rounds if a.epochs else 0):
        for config in RECIPE_CONFIGS:
            recipe.setdefault(config, []).append(run_recipe(config, a.epochs))
            print(f"recipe {config}: {recipe[config][-1]}", file=sys.stderr, flush=True)
    print(f"load average before: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; after: "
          + " ".join(f"{x:.1f}" for x in os.getloadavg()) + f"  ({os.cpu_count()} cores)")
    print(f"\ncnn workload, global batch {BATCH}, medians of {a.rounds} rounds of {a.steps} steps (x 1x2: the "
          "median of the per-round ratios)")
    print("| config | buckets | samples/s | x 1x2 | comm bytes/step | comm ms/step (in the step) | Allreduce "
          "alone ms |")
    print("|---|---|---|---|---|---|---|")
    base = [r["samples_per_s"] for r in cnn[("1x2", 25.0)]]
    for (config, bucket), rows in cnn.items():
        nb = _median(rows, "buckets")
        ratio = statistics.median(r["samples_per_s"] / b for r, b in zip(rows, base))
        buckets = "-" if nb is None else f"{nb:.0f} ({bucket:g} MB cap)"
        cells = [config, buckets, f"{_median(rows, 'samples_per_s'):.0f}",
                 f"{ratio:.2f}", _fmt(_median(rows, "comm_bytes_per_step"), ",.0f"),
                 _fmt(_median(rows, "comm_ms_per_step"), ".2f"), _fmt(_median(rows, "allreduce_alone_ms"), ".2f")]
        print("| " + " | ".join(cells) + " |")
    if recipe:
        print(f"\nFashion-MNIST SimpleCNN recipe, {a.epochs} epoch(s) (60000 images, batch 128, Adam, cosine)")
        print("| config | train seconds | samples/s | test accuracy |")
        print("|---|---|---|---|")
        for config, rows in recipe.items():
            print(f"| {config} | {_median(rows, 'train_seconds'):.1f} | {_median(rows, 'samples_per_s'):.0f} | "
                  f"{_median(rows, 'test_accuracy'):.4f} |")


if __name__ == "__main__":
    main()
