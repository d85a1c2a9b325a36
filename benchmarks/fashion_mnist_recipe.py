#!/usr/bin/env python3
"""The Fashion-MNIST MLP recipe, lucidnet's CLI beside the same recipe in PyTorch, one command.

    LUCIDNET_DATA=../shared/data python benchmarks/fashion_mnist_recipe.py [--epochs 10] [--threads 2]

Recipe: 784-512-256-10 MLP, ReLU, Adam(lr=1e-3) with cosine decay per step, batch 128, inputs standardised
with the training set's mean and std, shuffled every epoch; test accuracy on the full 10,000-image test set.
Each side runs in its own process with the same thread count; the script prints accuracy and wall time of
each (data loading and evaluation included) and the time ratio.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TORCH_SIDE = r'''
import sys, time, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
from lucidnet.datasets import FashionMNIST   # the same IDX reader for both sides (NumPy only)
epochs, threads = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads); torch.manual_seed(0)
t0 = time.perf_counter()
x, y = FashionMNIST(None, "train").to_arrays(flatten=True); xt, yt = FashionMNIST(None, "test").to_arrays(flatten=True)
m, s = x.mean(), x.std(); x = torch.tensor((x - m) / s); xt = torch.tensor((xt - m) / s)
y = torch.tensor(y); yt = torch.tensor(yt)
model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
steps = epochs * ((len(x) + 127) // 128)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
for ep in range(epochs):
    perm = torch.randperm(len(x))
    for i in range(0, len(x), 128):
        idx = perm[i:i + 128]
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x[idx]), y[idx]).backward()
        opt.step(); sched.step()
with torch.no_grad():
    acc = (model(xt).argmax(1) == yt).float().mean().item()
print(f"ACC {acc:.4f} TIME {time.perf_counter() - t0:.1f}")
'''


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    a = p.parse_args()
    if not os.environ.get("LUCIDNET_DATA"):
        raise SystemExit("set LUCIDNET_DATA to the folder holding fashion-mnist/ (e.g. ../shared/data)")
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), OPENBLAS_NUM_THREADS=str(a.threads),
               MKL_NUM_THREADS=str(a.threads))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "lucidnet", "train", "--dataset", "fashion-mnist", "--model", "mlp",
                        "--epochs", str(a.epochs), "--out", tmp, "--quiet"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        ln_time = time.perf_counter() - t0
        ln_acc = json.loads((Path(tmp) / "metrics.json").read_text())["test_accuracy"]
    out = subprocess.run([sys.executable, "-c", TORCH_SIDE, str(a.epochs), str(a.threads)], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    th_acc, th_time = float(out[out.index("ACC") + 1]), float(out[out.index("TIME") + 1])
    print(f"threads={a.threads} epochs={a.epochs}")
    print(f"  lucidnet  test accuracy {ln_acc:.4f}  time {ln_time:6.1f} s  (CLI process, start to finish)")
    print(f"  pytorch   test accuracy {th_acc:.4f}  time {th_time:6.1f} s  (in-process, from data loading on)")
    print(f"  time ratio pytorch / lucidnet = {th_time / ln_time:.2f}x (above 1: lucidnet is faster)")


if __name__ == "__main__":
    main()
