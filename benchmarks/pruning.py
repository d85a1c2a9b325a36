#!/usr/bin/env python3
"""Pruning on Fashion-MNIST: VGG with 50% of its channels pruned and SimpleCNN at 50/80/90% global magnitude
sparsity, each fine-tuned; accuracy, size on disk and inference speed against the unpruned model.

    LUCIDNET_DATA=/work/shared/data python benchmarks/pruning.py [--work runs/pruning] [--train-epochs 1]
        [--finetune-epochs 1] [--cnn-finetune-per-class 1000] [--threads 2] [--rounds 5] [--parts vgg cnn]

The unpruned runs are ``WORK/vgg`` and ``WORK/cnn``; each is trained with its recipe (``lucidnet train --dataset
fashion-mnist --model vgg|cnn --epochs --train-epochs``) when it is not there yet. VGG: ``lucidnet prune WORK/vgg
--structured --sparsity 0.5 --finetune-epochs E`` (the run's own settings, all the training images). SimpleCNN:
global magnitude pruning on the schedule during a shorter fine-tuning (``labels_per_class``: that many images of
each class, the run's other settings). Test accuracy is on the 10,000 test images. Speed: two worker processes,
one with the unpruned model and one with the pruned, each on ``--threads`` threads, take turns (interleaved
rounds, so other load on the machine falls on both alike) timing one forward pass at batch 1 and 32 under
``no_grad`` for ``--seconds`` (median); the table gives the median over rounds, their ratio, and the median of
the rounds' own ratios (what a turn's load did to both sides cancels there). Size: the
``model.safetensors`` file, and gzip'd (what sparsity saves when a file is compressed).
"""
from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

from timing import median_seconds

BATCHES = (1, 32)
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def lucidnet_cli(*args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    subprocess.run([sys.executable, "-m", "lucidnet", *args], check=True, env=env)


def trained(work: Path, model: str, epochs: int, dataset: str) -> Path:
    out = work / model
    if not (out / "metrics.json").is_file():
        print(f"training {model} ({epochs} epochs) -> {out}", flush=True)
        lucidnet_cli("train", "--dataset", dataset, "--model", model, "--epochs", str(epochs), "--out",
                     str(out), "--quiet", *(["--overwrite"] if out.exists() else []))
    return out


def metrics(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())


def size(run: Path) -> tuple[int, int]:
    data = (run / "model.safetensors").read_bytes()
    return len(data), len(gzip.compress(data, 6))


def worker(run: str, threads: int, conn) -> None:
    """Serve (batch, seconds) requests with the model of ``run``: -> median seconds per forward pass."""
    import lucidnet as ln
    from lucidnet.train import rundir
    ln.set_num_threads(threads)
    model, config = rundir.load_run(run)
    shape = tuple(config["input"]["shape"])
    while True:
        request = conn.recv()
        if request is None:
            return
        batch, seconds = request
        x = ln.tensor(np.random.default_rng(batch).standard_normal((batch, *shape)).astype(np.float32))
        with ln.no_grad():
            conn.send(median_seconds(lambda: model(x), seconds))


def speed(base: Path, pruned: Path, threads: int, rounds: int, seconds: float) -> dict:
    ctx = mp.get_context("spawn")
    pipes, procs = {}, []
    for key, run in (("base", base), ("pruned", pruned)):
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=worker, args=(str(run), threads, child))
        proc.start()
        pipes[key] = parent
        procs.append(proc)
    times = {(k, b): [] for k in pipes for b in BATCHES}
    for _ in range(rounds):
        for b in BATCHES:
            for key, pipe in pipes.items():
                pipe.send((b, seconds))
                times[key, b].append(pipe.recv())
    for pipe in pipes.values():
        pipe.send(None)
    for proc in procs:
        proc.join()
    return {b: {**{k: statistics.median(times[k, b]) * 1e3 for k in pipes},
                "round": statistics.median(x / y for x, y in zip(times["base", b], times["pruned", b]))}
            for b in BATCHES}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--work", type=Path, default=Path("runs/pruning"))
    p.add_argument("--train-epochs", type=int, default=1, help="epochs of the unpruned runs, when trained here")
    p.add_argument("--finetune-epochs", type=int, default=1)
    p.add_argument("--cnn-finetune-per-class", type=int, default=1000,
                   help="SimpleCNN's fine-tuning images per class (0: all of them)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=float, default=1.0)
    p.add_argument("--dataset", default="fashion-mnist", help="fashion-mnist-bundled: a quick check of this script")
    p.add_argument("--parts", nargs="+", default=["vgg", "cnn"], choices=["vgg", "cnn"])
    args = p.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    rows = []
    if "vgg" in args.parts:
        base = trained(args.work, "vgg", args.train_epochs, args.dataset)
        pruned = args.work / "vgg-channels50"
        if not (pruned / "metrics.json").is_file():
            print(f"pruning 50% of VGG's channels, fine-tuning {args.finetune_epochs} epoch(s) -> {pruned}", flush=True)
            lucidnet_cli("prune", str(base), "--out", str(pruned), "--structured", "--sparsity", "0.5",
                         "--finetune-epochs", str(args.finetune_epochs), "--quiet", "--overwrite")
        load = os.getloadavg()[0]
        t = speed(base, pruned, args.threads, args.rounds, args.seconds)
        rows.append(("VGG", "50% of channels removed (structured)", base, pruned, t, load))
    if "cnn" in args.parts:
        base = trained(args.work, "cnn", args.train_epochs, args.dataset)
        for s in (0.5, 0.8, 0.9):
            pruned = args.work / f"cnn-sparse{int(s * 100)}"
            if not (pruned / "metrics.json").is_file():
                print(f"SimpleCNN: global magnitude pruning to {s:.0%} while fine-tuning -> {pruned}", flush=True)
                from lucidnet.vision.prune import prune_run
                per_class = args.cnn_finetune_per_class or None
                prune_run(base, pruned, sparsity=s, finetune_epochs=args.finetune_epochs, overwrite=True, verbose=0,
                          settings={"labels_per_class": per_class} if per_class else None)
            rows.append(("SimpleCNN", f"{s:.0%} of weights zero (global magnitude)", base, pruned, None, None))
    print(f"\n{args.dataset} test accuracy; speed: {args.threads} threads, median of {args.rounds} "
          f"interleaved rounds (ms per forward pass); {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f} now\n")
    print("| model | pruning | accuracy (unpruned -> pruned) | drop (points) | parameters | model.safetensors "
          "(gzip) | batch 1 ms (speed-up) | batch 32 ms (speed-up) |")
    print("|---|---|---|---:|---|---|---|---|")
    for name, what, base, pruned, t, load in rows:
        a0, a1 = metrics(base)["test_accuracy"], metrics(pruned)["test_accuracy"]
        info = json.loads((pruned / "config.json").read_text())["pruning"]
        (s0, g0), (s1, g1) = size(base), size(pruned)
        cells = [f"{t[b]['base']:.2f} -> {t[b]['pruned']:.2f} ({t[b]['base'] / t[b]['pruned']:.2f}x; per round "
                 f"{t[b]['round']:.2f}x)" if t else "-" for b in BATCHES]
        print(f"| {name} | {what} | {100 * a0:.2f}% -> {100 * a1:.2f}% | {100 * (a0 - a1):.2f} | "
              f"{info['parameters_before']:,} -> {info['parameters_after']:,} | {s0 / 1e6:.2f} MB ({g0 / 1e6:.2f}) -> "
              f"{s1 / 1e6:.2f} MB ({g1 / 1e6:.2f}) | {cells[0]} | {cells[1]} |")
        if load is not None:
            print(f"<!-- {name}: load average {load:.1f} when its timing began -->")


if __name__ == "__main__":
    main()
