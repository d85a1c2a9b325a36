#!/usr/bin/env python3
"""One command: lucidnet vs PyTorch (and the hand-written NumPy floors) on the reference workloads.

    python benchmarks/run.py [mlp ...] [--batch B] [--seconds S] [--threads T] [--rounds R] [--fast-blas]
                             [--capture] [--jax PYTHON] [--compare CHECKOUT]

Each measurement runs in its own process with the same thread count (OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS=T,
torch.set_num_threads(T)); rounds are interleaved and the median of each side is reported with the
ratio lucidnet / PyTorch, and beside it the median of the per-round ratios (each round's sides run
back to back, so that figure is the less affected by a host whose speed drifts over tens of seconds).
``--fast-blas`` unsets OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for every side (these machines set them,
which holds NumPy's BLAS to its Haswell kernels); the output says so. ``--capture``: lucidnet's mlp, cnn, mf and
ncf steps run through ``lucidnet.compile`` (``workloads.py --capture``). ``--jax PYTHON``: a third side,
``../shared/bench/jax_anchor.py`` run by that interpreter (an environment of its own with ``pip install jax
optax``: JAX is not a dependency of lucidnet) on the workloads it has (mlp, cnn, lstm, mf, ncf), with the
ratio lucidnet / JAX and PyTorch / JAX. ``--compare CHECKOUT``: another lucidnet (that checkout's
``benchmarks/workloads.py`` with ``PYTHONPATH=CHECKOUT``, say a change's base) as the side ``baseline`` in every
round, with the ratio lucidnet / baseline. The mlp and bert-infer also run ``gemm_floor.py`` (the step's matrix
products alone, through NumPy's BLAS) as the side ``gemm-floor``, with the ceiling ``gemm-floor / pytorch``: no
engine on this BLAS can be further ahead of PyTorch than that; and the same products through PyTorch
(``gemm_floor.py --engine torch``) as the side ``torch-gemm-floor``, with ``gemm-floor / torch-gemm-floor`` (NumPy's
BLAS against PyTorch's on them) and ``pytorch / torch-gemm-floor`` (the share of PyTorch's step they take).
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CAPTURED = ("mlp", "cnn", "mf", "ncf")  # the workloads whose step --capture runs through lucidnet.compile
JAX_WORKLOADS = ("mlp", "cnn", "lstm", "mf", "ncf")  # those jax_anchor.py has
GEMM_FLOOR = ("mlp", "bert-infer")  # the workloads gemm_floor.py has
SHARED_BENCH = Path(os.environ.get("LUCIDNET_SHARED_BENCH", HERE.parent.parent / "shared" / "bench"))


def run(cmd: list[str], env: dict) -> tuple[float, str]:
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(cmd)}\n{out.stderr}")
    return parse(out.stdout)


def parse(stdout: str) -> tuple[float, str]:
    """(steps per second, the line) from a side's output, whose last line has ``steps_per_s=`` and ``batch=``."""
    line = stdout.strip().splitlines()[-1]
    m = re.search(r"steps_per_s=([\d.]+)", line)
    b, sps = re.search(r"batch=(\d+)", line), re.search(r"samples_per_s=(\d+)", line)
    if b and sps and float(m.group(1)) < 10:  # below 10 steps/s, samples/s / batch carries more digits
        return int(sps.group(1)) / int(b.group(1)), line
    return float(m.group(1)), line


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("workloads", nargs="*", default=["mlp"])
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--fast-blas", action="store_true",
                   help="unset OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for all sides")
    p.add_argument("--capture", action="store_true", help="lucidnet's mlp, cnn, mf, ncf steps through ln.compile")
    p.add_argument("--jax", metavar="PYTHON", default=None,
                   help="an interpreter with jax and optax installed: adds JAX (jax_anchor.py) as a third side")
    p.add_argument("--compare", metavar="CHECKOUT", default=None,
                   help="another lucidnet checkout, run as the side 'baseline' in every round")
    a = p.parse_args()
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[k] = str(a.threads)
    if a.fast_blas:
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    print(f"threads={a.threads} rounds={a.rounds} seconds={a.seconds} "
          f"OPENBLAS_CORETYPE={env.get('OPENBLAS_CORETYPE', '(unset)')} "
          f"OPENBLAS_L2_SIZE={env.get('OPENBLAS_L2_SIZE', '(unset)')}"
          + ("  [--fast-blas: both variables unset for every side]" if a.fast_blas else "")
          + ("  [--capture: lucidnet's " + ", ".join(CAPTURED) + " steps through lucidnet.compile]" if a.capture else ""))
    py = sys.executable
    for w in a.workloads:
        batch = ["--batch", str(a.batch)] if a.batch else []
        secs = ["--seconds", str(a.seconds)]
        sides = {
            "lucidnet": [py, str(HERE / "workloads.py"), w, *batch, *secs,
                         *(["--capture"] if a.capture and w in CAPTURED else [])],
            "pytorch": [py, str(SHARED_BENCH / "torch_anchor.py"), w, *batch, *secs, "--threads", str(a.threads)],
        }
        if a.jax and w in JAX_WORKLOADS:
            sides["jax"] = [a.jax, str(SHARED_BENCH / "jax_anchor.py"), w, *batch, *secs, "--threads", str(a.threads)]
        if w == "mlp":
            sides["numpy-floor-reuse"] = [py, str(SHARED_BENCH / "numpy_floor.py"), "reuse", *batch, *secs]
        if w in GEMM_FLOOR:
            sides["gemm-floor"] = [py, str(HERE / "gemm_floor.py"), w, *batch, *secs]
            sides["torch-gemm-floor"] = [py, str(HERE / "gemm_floor.py"), w, *batch, *secs, "--engine", "torch",
                                         "--threads", str(a.threads)]
        envs = {name: env for name in sides}
        if a.compare:
            base = Path(a.compare).resolve()
            sides["baseline"] = [py, str(base / "benchmarks" / "workloads.py"), w, *batch, *secs,
                                 *(["--capture"] if a.capture and w in CAPTURED else [])]
            envs["baseline"] = {**env, "PYTHONPATH": str(base)}
        results: dict[str, list[float]] = {k: [] for k in sides}
        lines: dict[str, str] = {}
        for _ in range(a.rounds):
            for name, cmd in sides.items():
                r, line = run(cmd, envs[name])
                results[name].append(r)
                lines[name] = line
        med = {k: statistics.median(v) for k, v in results.items()}
        print(f"\n== {w} ==")
        for name in sides:
            runs = ", ".join(f"{r:.2f}" if r < 10 else f"{r:.1f}" for r in results[name])
            print(f"  {name:18s} median {med[name]:8.2f} steps/s   (runs: {runs})   {lines[name]}")
        for other in [k for k in ("pytorch", "jax", "numpy-floor-reuse", "gemm-floor", "baseline") if k in med]:
            if not all(results[other]) or not med[other]:  # a side below 0.05 steps/s prints 0.0
                print(f"  ratio lucidnet / {other:17s}: not computed, {other} ran below 0.05 steps/s in a round")
                continue
            paired = statistics.median(a / b for a, b in zip(results["lucidnet"], results[other]))
            print(f"  ratio lucidnet / {other:17s} = {med['lucidnet'] / med[other]:.2f}x   "
                  f"(median of the per-round ratios: {paired:.2f}x)")
        if "gemm-floor" in med and med["pytorch"] and all(results["pytorch"]):
            paired = statistics.median(a / b for a, b in zip(results["gemm-floor"], results["pytorch"]))
            print(f"  ceiling gemm-floor / pytorch      = {med['gemm-floor'] / med['pytorch']:.2f}x   "
                  f"(median of the per-round ratios: {paired:.2f}x): the step's products alone, this BLAS")
            for top, bottom, what in (("gemm-floor", "torch-gemm-floor", "NumPy's BLAS against PyTorch's, the same "
                                       "products"), ("pytorch", "torch-gemm-floor", "PyTorch's step against its "
                                                     "products alone")):
                paired = statistics.median(a / b for a, b in zip(results[top], results[bottom]))
                print(f"  ratio {top} / {bottom} = {med[top] / med[bottom]:.2f}x   "
                      f"(median of the per-round ratios: {paired:.2f}x): {what}")
        if "jax" in med and med["jax"] and all(results["jax"]):
            paired = statistics.median(a / b for a, b in zip(results["pytorch"], results["jax"]))
            print(f"  ratio pytorch / jax               = {med['pytorch'] / med['jax']:.2f}x   "
                  f"(median of the per-round ratios: {paired:.2f}x)")


if __name__ == "__main__":
    main()
