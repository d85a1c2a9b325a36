#!/usr/bin/env python3
"""int8 against float32, per trained run: accuracy, size on disk, inference speed at batch 1 and 32, one command:

    LUCIDNET_DATA=../shared/data python benchmarks/efficiency.py [--runs NAME=RUN_DIR ...] [--rounds 3]
                                                                 [--seconds 4] [--work DIR] [--skip-accuracy]

Each float run is quantized with ``lucidnet quantize`` into ``--work`` (dynamic int8 for text runs, static for
image runs, calibrated on 512 training images), unless that directory already holds the int8 run. Then:
  accuracy   ``lucidnet evaluate``'s test accuracy of both (the full test split)
  size       bytes of model.safetensors of both
  speed      samples/s of the model's forward under ``lucidnet.inference`` on test samples in their file order
             (text: consecutive sentences padded to the longest of each batch; images: normalised test images),
             at batch 1 and batch 32, each measurement a process of its own (one model loaded, 3 warm-up
             batches, then as many batches as fit in --seconds), float and int8 interleaved round by round;
             the best round of each is reported (the machine's 2 cores are shared: figures are noisy)
Prints one row per run for the README's table.

Default runs: what this machine holds (MiniLM and a BiLSTM fine-tuned/trained on SST-2, SimpleCNN and VGG on
Fashion-MNIST), each skipped with a word when its directory is missing.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_RUNS = {"MiniLM (SST-2)": "/work/exp/sst2-minilm-lr2", "BiLSTM (SST-2)": "/work/repro/sst2",
                "SimpleCNN (Fashion-MNIST)": "/work/repro/cnn", "VGG (Fashion-MNIST)": "/work/quant_runs/vgg"}
BATCHES = (1, 32)


def worker(run_dir: str, batch: int, seconds: float) -> None:
    """Time the model of ``run_dir`` on test samples at ``batch``; print {"samples_per_s": ...}."""
    import numpy as np

    import lucidnet as ln
    from lucidnet.cli import tasks
    from lucidnet.train import rundir

    family, config = tasks.family_of_run(run_dir)
    if config.get("task") == "text-classification":
        from lucidnet.text.batching import pad_sequences
        from lucidnet.text.recipes import _test_texts, load_text_run
        from lucidnet.text.tokenize import tokenize
        from lucidnet.text.wordpiece import WordPieceTokenizer
        model, config, vocab = load_text_run(run_dir)
        texts = _test_texts(config, None)[0][:max(64 * batch, 200)]
        ids = vocab.encode(texts) if isinstance(vocab, WordPieceTokenizer) else \
            [vocab.encode(tokenize(t) or [vocab.unk_token]) for t in texts]
        batches = []
        for i in range(0, len(ids) - batch + 1, batch):
            tokens, lengths = pad_sequences(ids[i:i + batch], pad_id=vocab.pad_id,
                                            min_len=int(getattr(model, "min_length", 1)))
            batches.append((ln.tensor(tokens), ln.tensor(lengths)))
    else:
        from lucidnet.vision import data as image_data
        from lucidnet.vision.recipes import normalise
        model, config = rundir.load_run(run_dir)
        x = normalise(image_data.load(config["dataset"], None, splits=("test",)).x_test[:64 * batch], config)
        batches = [(ln.from_numpy(x[i:i + batch]),) for i in range(0, len(x) - batch + 1, batch)]
    done, spent = 0, 0.0
    with ln.inference(model):
        for b in batches[:3]:
            model(*b)
        start = time.perf_counter()
        while spent < seconds:
            for b in batches:
                model(*b)
                done += batch
                spent = time.perf_counter() - start
                if spent >= seconds:
                    break
    print(json.dumps({"samples_per_s": done / spent}))


def _run(args: list[str], env: dict) -> str:
    r = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"{' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")
    return r.stdout


def _accuracy(out: str) -> float:
    return float(next(line.split()[1] for line in out.splitlines() if line.strip().startswith("accuracy")))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", nargs="*", metavar="NAME=RUN_DIR", help="float runs (default: those of this machine)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--work", default="/tmp/lucidnet-efficiency", help="where the int8 runs are written")
    ap.add_argument("--skip-accuracy", action="store_true")
    ap.add_argument("--threads", type=int, default=None,
                    help="LUCIDNET_NUM_THREADS for the timed processes (default: lucidnet's own choice, 2 here)")
    ap.add_argument("--worker", nargs=3, metavar=("RUN", "BATCH", "SECONDS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker[0], int(args.worker[1]), float(args.worker[2]))
        return
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    timing_env = env if args.threads is None else {**env, "LUCIDNET_NUM_THREADS": str(args.threads)}
    runs = dict(r.split("=", 1) for r in args.runs) if args.runs else DEFAULT_RUNS
    work = Path(args.work)
    rows = {}
    for name, src in runs.items():
        if not (Path(src) / "model.safetensors").is_file():
            print(f"{name}: no run at {src}; skipped")
            continue
        dst = work / Path(src).name
        if not (dst / "model.safetensors").is_file():
            print(_run(["-m", "lucidnet", "quantize", src, "--out", str(dst), "--overwrite"], env).strip())
        row = rows[name] = {"float": src, "int8": str(dst), "speed": {}}
        row["scheme"] = json.loads((dst / "config.json").read_text())["quantization"]["scheme"]
        row["size"] = {k: (Path(row[k]) / "model.safetensors").stat().st_size for k in ("float", "int8")}
        if not args.skip_accuracy:
            row["accuracy"] = {k: _accuracy(_run(["-m", "lucidnet", "evaluate", row[k]], env))
                               for k in ("float", "int8")}
    for _ in range(args.rounds):
        for name, row in rows.items():
            for b in BATCHES:
                for k in ("float", "int8"):
                    out = _run([str(Path(__file__).resolve()), "--worker", row[k], str(b), str(args.seconds)],
                               timing_env)
                    row["speed"].setdefault((b, k), []).append(json.loads(out.splitlines()[-1])["samples_per_s"])
    print(f"\nload average after: {os.getloadavg()[0]:.1f} (2 cores, shared); threads: "
          f"{args.threads or 'lucidnet default'}\n")
    print("| model | int8 | test accuracy float -> int8 | size float -> int8 | batch 1 samples/s float -> int8 | "
          "batch 32 samples/s float -> int8 |")
    print("|---|---|---|---|---|---|")
    for name, row in rows.items():
        acc = row.get("accuracy")
        a = "-" if acc is None else \
            f"{100 * acc['float']:.2f}% -> {100 * acc['int8']:.2f}% ({100 * (acc['int8'] - acc['float']):+.2f})"
        s = row["size"]
        size = f"{s['float'] / 2**20:.1f} MiB -> {s['int8'] / 2**20:.1f} MiB ({s['float'] / s['int8']:.2f}x smaller)"
        cells = []
        for b in BATCHES:
            f, q = max(row["speed"][(b, "float")]), max(row["speed"][(b, "int8")])
            cells.append(f"{f:,.0f} -> {q:,.0f} ({q / f:.2f}x)")
        print(f"| {name} | {row['scheme']} | {a} | {size} | {cells[0]} | {cells[1]} |")
    print("\n" + json.dumps({n: {**r, "speed": {f"{b}/{k}": v for (b, k), v in r["speed"].items()}}
                             for n, r in rows.items()}))


if __name__ == "__main__":
    main()
