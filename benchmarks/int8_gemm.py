#!/usr/bin/env python3
"""The int8 GEMM of the quantized layers against float32 BLAS, at the shapes of the models quantized:

    python benchmarks/int8_gemm.py [--rounds 3]

Per shape (M rows x K -> N), each its own measurement, the sides interleaved round by round, best of 20
calls per round, in one process (no PyTorch):
  sgemm      numpy.matmul float32 (OpenBLAS, its own threads: 2 here)
  int8       lucidnet.kernels.qlinear.int8_linear: quantize the input (per tensor, uint8), int8 GEMM with
             int32 accumulation, dequantize + bias; the weight quantized and packed beforehand
  int8-gemm  the compiled int8 GEMM alone (qgemm_rows, one thread), input already uint8
  loop       numba's own loop (int8 x int8 -> int32 written in Python, one thread): what numba makes of it
Also prints the host's VNNI flags and counts the dot-product instructions in each compiled kernel's assembly.
GOP/s count a multiply-add as two operations. The machine's 2 cores are shared: figures are noisy.
"""
from __future__ import annotations

import argparse
import re
import time

import numpy as np
from numba import njit

from lucidnet.kernels import qgemm_numba as q
from lucidnet.kernels.qlinear import Int8Weight, int8_linear

SHAPES = [("MiniLM qkv, batch 32 x 32 tokens", 1024, 384, 1152), ("MiniLM FFN up", 1024, 384, 1536),
          ("MiniLM FFN down", 1024, 1536, 384), ("MiniLM qkv, batch 1 x 32 tokens", 32, 384, 1152),
          ("MiniLM FFN up, batch 1", 32, 384, 1536), ("BiLSTM input proj, 32 x 20 tokens", 640, 256, 512),
          ("CNN fc 32 x 3136 -> 128", 32, 3136, 128)]


@njit(cache=True)
def loop_gemm(a, w, c):  # pragma: no cover - compiled
    for i in range(a.shape[0]):
        for j in range(w.shape[0]):
            s = np.int32(0)
            for t in range(a.shape[1]):
                s += np.int32(a[i, t]) * np.int32(w[j, t])
            c[i, j] = s


def best(fn, reps=20):
    fn()
    t = 1e9
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        t = min(t, time.perf_counter() - t0)
    return t


def count(asm):
    return {k: len(re.findall(k, asm)) for k in ("vpdpbusd", "vpdpwssd", "vpmaddubsw", "vpmaddwd") if k in asm}


def make_sides(rng, m, k, n):
    """The functions timed for one shape: {side: []} and {side: fn}."""
    x = rng.normal(size=(m, k)).astype(np.float32)
    wf = (rng.normal(size=(n, k)) * 0.05).astype(np.float32)
    wt = np.asfortranarray(wf.T)
    w = Int8Weight.from_float(wf)
    a = rng.integers(0, 256, (m, k), dtype=np.uint8)
    wp = q.pack(w.q)
    c = np.empty((m, q.padded(n)), np.float32)
    z, one = np.zeros(q.padded(n), np.int32), np.ones(q.padded(n), np.float32)
    ci = np.empty((m, n), np.int32)
    sides = {"sgemm": lambda: x @ wt, "int8": lambda: int8_linear(x, w),
             "int8-gemm": lambda: q.qgemm_rows(a, wp, c, z, one, one, 0, m)}
    if m * n * k <= 64 * 384 * 1536:
        sides["loop"] = lambda: loop_gemm(a, w.q, ci)
    return {s: [] for s in sides}, sides


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    import llvmlite.binding as llvm
    flags = llvm.get_host_cpu_features()
    print(f"host: {llvm.get_host_cpu_name()}, avx512vnni={flags.get('avx512vnni')}, avxvnni={flags.get('avxvnni')}, "
          f"amx-int8={flags.get('amx-int8')}; compiled kernel lanes: {q.lanes()}")
    rng = np.random.default_rng(0)
    rows = {name: (m, k, n, *make_sides(rng, m, k, n)) for name, m, k, n in SHAPES}
    a = rng.integers(0, 256, (8, 64), dtype=np.uint8)
    wp, c = q.pack(np.ones((16, 64), np.int8)), np.empty((8, 16), np.float32)
    z, one = np.zeros(16, np.int32), np.ones(16, np.float32)
    for _ in range(args.rounds):
        for name, (m, k, n, times, sides) in rows.items():
            for s, fn in sides.items():
                times[s].append(best(fn))
    cols = ("sgemm", "int8", "int8-gemm", "loop")
    print(f"{'shape':36s} {'M':>5s} {'K':>5s} {'N':>5s}  " + "  ".join(f"{s:>11s}" for s in cols) + "  int8/sgemm")
    for name, (m, k, n, times, _) in rows.items():
        g = {s: 2 * m * k * n / min(t) / 1e9 for s, t in times.items()}
        cells = "  ".join(f"{g[s]:11.0f}" if s in g else f"{'-':>11s}" for s in cols)
        print(f"{name:36s} {m:5d} {k:5d} {n:5d}  {cells}  {g['int8'] / g['sgemm']:.2f}x")
    print("(GOP/s) dot-product instructions in the assembly:")
    block = njit(q._rows.py_func)  # a fresh compile (numba does not show the assembly of cached code)
    block(a, wp, c, z, one, one, 0, 0, 8)
    print("  qgemm block (LLVM IR intrinsic):", count(block.inspect_asm(block.signatures[0])))
    loop = njit(loop_gemm.py_func)
    loop(a, wp[0, :, :, 0], np.empty((8, 16), np.int32))
    print("  numba loop (int8 x int8):       ", count(loop.inspect_asm(loop.signatures[0])))


if __name__ == "__main__":
    main()
