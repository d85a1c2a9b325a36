#!/usr/bin/env python3
"""The matrix products of a training step alone, through NumPy's BLAS (the one lucidnet uses): a ceiling.

    python benchmarks/gemm_floor.py {mlp,bert-infer} [--batch B] [--seconds S] [--engine {numpy,torch}] [--threads T]

The products of a step of a workload of ``../shared/bench/torch_anchor.py``, and nothing else of it (no
activation, normalisation, loss or update), into buffers allocated once, in the threads BLAS chooses, with the
weights stored as lucidnet's ``nn.Linear`` stores them (an (in, out) row-major buffer):

- ``mlp`` (784-512-256-10, batch 128): eight products, three forward, three weight gradients and two input
  gradients (the input needs none);
- ``bert-infer`` (6 layers, d 384, 12 heads, FFN 1536, batch 32 x 32 tokens): per layer the four products of
  the linear maps (packed in-projection, out-projection, the two of the FFN) and attention's two batched
  products (``Q K^T`` and ``P V``, 384 matrices of 32 x 32 x 32 each, as NumPy's ``matmul`` makes them).

No engine that makes these products with this BLAS runs the step faster, so ``run.py``'s ratio
``gemm-floor / pytorch`` is the ceiling of ``lucidnet / pytorch`` on this machine. ``--engine torch`` makes the
same products through ``torch.matmul`` (PyTorch's BLAS, on ``--threads`` threads), the weights in PyTorch's (out, in)
layout and each product oriented as ``nn.Linear``'s forward and backward orient it: ``run.py``'s side
``torch-gemm-floor``, the share of PyTorch's step its products take. Prints one line:
``WORKLOAD-gemm-floor[-torch] batch=B steps_per_s=... samples_per_s=... gflops=...``.
"""
from __future__ import annotations

import argparse

import numpy as np
from timing import steps_per_second


def mlp_products(batch: int, engine: str = "numpy"):
    """The eight products of the mlp step as a function of no arguments, and their FLOPs."""
    rng = np.random.default_rng(0)
    f = np.float32
    sizes = [784, 512, 256, 10]
    w = [rng.standard_normal((i, o), dtype=f) * f(0.05) for i, o in zip(sizes, sizes[1:])]  # (in, out)
    h = [rng.standard_normal((batch, n), dtype=f) for n in sizes]                          # layer inputs, logits
    g = [rng.standard_normal((batch, n), dtype=f) for n in sizes]                          # their gradients
    flops = 0
    for i in range(3):
        flops += 2 * batch * w[i].shape[0] * w[i].shape[1] * (3 if i else 2)  # forward, weight grad, input grad
    if engine == "torch":
        return _torch_mlp(w, h, g), flops
    gw = [np.empty_like(wi) for wi in w]

    def step():
        for i in range(3):
            np.matmul(h[i], w[i], out=h[i + 1])          # forward
        for i in (2, 1, 0):
            np.matmul(h[i].T, g[i + 1], out=gw[i])       # weight gradient, in the weight's layout
            if i:
                np.matmul(g[i + 1], w[i].T, out=g[i])    # input gradient (none for the data)
    return step, flops


def _torch_mlp(w, h, g):
    """The mlp's products through PyTorch, as its ``nn.Linear`` makes them: W (out, in), ``x @ W.T``,
    ``g.T @ x`` and ``g @ W``."""
    import torch
    wt = [torch.from_numpy(np.ascontiguousarray(wi.T)) for wi in w]
    ht, gt = [torch.from_numpy(a) for a in h], [torch.from_numpy(a) for a in g]
    gwt = [torch.empty_like(wi) for wi in wt]
    mm = torch.matmul

    def step():
        for i in range(3):
            mm(ht[i], wt[i].T, out=ht[i + 1])
        for i in (2, 1, 0):
            mm(gt[i + 1].T, ht[i], out=gwt[i])
            if i:
                mm(gt[i + 1], wt[i], out=gt[i])
    return step


def bert_infer_products(batch: int, engine: str = "numpy"):
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
    mm, linear = _np_matmul, [(x[wi.shape[0]], wi, out[wi.shape[1]]) for wi in w]
    if engine == "torch":                                              # W (out, in) and x @ W.T, as nn.Linear
        import torch
        mm, t = torch.matmul, torch.from_numpy
        linear = [(t(a), t(np.ascontiguousarray(wi.T)).T, t(o)) for a, wi, o in linear]
        q, k, v, scores, ctx = (t(a) for a in (q, k, v, scores, ctx))          # the same (strided) views

    def step():
        for _ in range(layers):
            for a, wi, o in linear:
                mm(a, wi, out=o)
            mm(q, k.swapaxes(-1, -2), out=scores)
            mm(scores, v, out=ctx)
    return step, flops


def _np_matmul(a, b, out):
    """``np.matmul``, looked up at each call (as the mlp's step does), so a test can count the products."""
    return np.matmul(a, b, out=out)


PRODUCTS = {"mlp": (mlp_products, 128), "bert-infer": (bert_infer_products, 32)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("workload", choices=list(PRODUCTS))
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--engine", choices=["numpy", "torch"], default="numpy",
                   help="whose products: NumPy's BLAS (lucidnet's) or PyTorch's")
    p.add_argument("--threads", type=int, default=None, help="--engine torch: torch.set_num_threads(T)")
    a = p.parse_args()
    if a.threads and a.engine != "torch":
        p.error("--threads applies to --engine torch (NumPy's BLAS follows OPENBLAS_NUM_THREADS)")
    if a.engine == "torch" and a.threads:
        import torch
        torch.set_num_threads(a.threads)
    make, default_batch = PRODUCTS[a.workload]
    batch = a.batch or default_batch
    step, flops = make(batch, a.engine)
    r = steps_per_second(step, a.seconds)
    print(f"{a.workload}-gemm-floor{'-torch' if a.engine == 'torch' else ''} batch={batch} steps_per_s={r:.1f} "
          f"samples_per_s={r * batch:.0f} gflops={r * flops / 1e9:.0f}")


if __name__ == "__main__":
    main()
