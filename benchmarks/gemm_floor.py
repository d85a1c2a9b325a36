#!/usr/bin/env python3
"""The matrix products of a training step alone, through NumPy's BLAS (the one lucidnet uses): a ceiling.

    python benchmarks/gemm_floor.py {mlp,bert-infer} [--batch B] [--seconds S]

The products of a step of a workload of ``../shared/bench/torch_anchor.py``, and nothing else of it (no
activation, normalisation, loss or update), into buffers allocated once, in the threads BLAS chooses, with the
weights stored as lucidnet's ``nn.Linear`` stores them (an (in, out) row-major buffer):

- ``mlp`` (784-512-256-10, batch 128): eight products, three forward, three weight gradients and two input
  gradients (the input needs none);
- ``bert-infer`` (6 layers, d 384, 12 heads, FFN 1536, batch 32 x 32 tokens): per layer the four products of
  the linear maps (packed in-projection, out-projection, the two of the FFN) and attention's two batched
  products (``Q K^T`` and ``P V``, 384 matrices of 32 x 32 x 32 each, as NumPy's ``matmul`` makes them).

No engine that makes these products with this BLAS runs the step faster, so ``run.py``'s ratio
``gemm-floor / pytorch`` is the ceiling of ``lucidnet / pytorch`` on this machine. Prints one line:
``WORKLOAD-gemm-floor batch=B steps_per_s=... samples_per_s=... gflops=...``.
"""
from __future__ import annotations

import argparse

import numpy as np
from timing import steps_per_second


def mlp_products(batch: int):
    """The eight products of the mlp step as a function of no arguments, and their FLOPs."""
    rng = np.random.default_rng(0)
    f = np.float32
    sizes = [784, 512, 256, 10]
    w = [rng.standard_normal((i, o), dtype=f) * f(0.05) for i, o in zip(sizes, sizes[1:])]  # (in, out)
    h = [rng.standard_normal((batch, n), dtype=f) for n in sizes]                          # layer inputs, logits
    g = [rng.standard_normal((batch, n), dtype=f) for n in sizes]                          # their gradients
    gw = [np.empty_like(wi) for wi in w]
    flops = 0
    for i in range(3):
        flops += 2 * batch * w[i].shape[0] * w[i].shape[1] * (3 if i else 2)  # forward, weight grad, input grad

    def step():
        for i in range(3):
            np.matmul(h[i], w[i], out=h[i + 1])          # forward
        for i in (2, 1, 0):
            np.matmul(h[i].T, g[i + 1], out=gw[i])       # weight gradient, in the weight's layout
            if i:
                np.matmul(g[i + 1], w[i].T, out=g[i])    # input gradient (none for the data)
    return step, flops


def bert_infer_products(batch: int):
    """The products of the bert-infer step (forward only) as a function of no arguments, and their FLOPs."""
    rng = np.random.default_rng(0)
    f = np.float32
    tokens, d, heads, ffn, layers = 32, 384, 12, 1536, 6
    n = batch * tokens
    shapes = [(d, 3 * d), (d, d), (d, ffn), (ffn, d)]                  # (in, out) of the four linear maps
    w = [rng.standard_normal(s, dtype=f) * f(0.05) for s in shapes]
    x = {k: rng.standard_normal((n, k), dtype=f) for k in (d, ffn)}
    out = {o: np.empty((n, o), dtype=f) for o in (3 * d, d, ffn)}
    hd = d // heads
    qkv = rng.standard_normal((batch, tokens, 3, heads, hd), dtype=f)
    q, k, v = (qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))  # (B, H, T, hd) views, as in the layer
    scores = np.empty((batch, heads, tokens, tokens), dtype=f)
    ctx = np.empty((batch, heads, tokens, hd), dtype=f)
    flops = layers * (sum(2 * n * i * o for i, o in shapes) + 2 * 2 * batch * heads * tokens * tokens * hd)

    def step():
        for _ in range(layers):
            for wi in w:
                np.matmul(x[wi.shape[0]], wi, out=out[wi.shape[1]])
            np.matmul(q, k.swapaxes(-1, -2), out=scores)
            np.matmul(scores, v, out=ctx)
    return step, flops


PRODUCTS = {"mlp": (mlp_products, 128), "bert-infer": (bert_infer_products, 32)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("workload", choices=list(PRODUCTS))
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--seconds", type=float, default=3.0)
    a = p.parse_args()
    make, default_batch = PRODUCTS[a.workload]
    batch = a.batch or default_batch
    step, flops = make(batch)
    r = steps_per_second(step, a.seconds)
    print(f"{a.workload}-gemm-floor batch={batch} steps_per_s={r:.1f} samples_per_s={r * batch:.0f} "
          f"gflops={r * flops / 1e9:.0f}")


if __name__ == "__main__":
    main()
