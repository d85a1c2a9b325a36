"""benchmarks/gemm_floor.py (a step's matrix products alone): the products it makes are the step's, with the FLOP
count it reports, through NumPy's BLAS or PyTorch's (the same products), and its output line is one
``run.py`` reads. Nothing here asserts a time."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import parity, torch

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


sys.path.insert(0, str(ROOT / "benchmarks"))  # the script imports its shared timer as its neighbour
try:
    floor = _load("gemm_floor")
finally:
    sys.path.remove(str(ROOT / "benchmarks"))


def _counting_matmul(monkeypatch) -> list:
    """Replace np.matmul in the module with one that records each product's FLOPs (batched ones included)."""
    seen = []
    real = np.matmul

    def matmul(a, b, out=None):
        seen.append(2 * int(np.prod(a.shape)) * b.shape[-1])
        return real(a, b, out=out)
    monkeypatch.setattr(floor.np, "matmul", matmul)
    return seen


def test_mlp_makes_the_eight_products_of_the_step(monkeypatch):
    step, flops = floor.mlp_products(128)
    seen = _counting_matmul(monkeypatch)
    step()
    layers = [(784, 512), (512, 256), (256, 10)]
    forward = sum(2 * 128 * i * o for i, o in layers)
    assert len(seen) == 8                                    # 3 forward, 3 weight gradients, 2 input gradients
    assert sum(seen) == flops == forward * 2 + sum(2 * 128 * i * o for i, o in layers[1:])


def test_bert_infer_makes_six_products_a_layer(monkeypatch):
    step, flops = floor.bert_infer_products(2)
    seen = _counting_matmul(monkeypatch)
    step()
    assert len(seen) == 6 * 6 and sum(seen) == flops
    n = 2 * 32
    per_layer = 2 * n * 384 * (3 * 384 + 384 + 1536) + 2 * n * 1536 * 384 + 2 * 2 * (2 * 12) * 32 * 32 * 32
    assert flops == 6 * per_layer


@parity
@pytest.mark.parametrize("make", ["mlp_products", "bert_infer_products"])
def test_pytorchs_products_are_the_same_products(make, monkeypatch):
    """``--engine torch``: as many products as NumPy's side, of the same sizes (oriented as PyTorch orients them)."""
    th = torch()
    real = th.matmul
    seen = []

    def matmul(a, b, out=None):
        seen.append(2 * int(np.prod(a.shape)) * b.shape[-1])
        return real(a, b, out=out)
    monkeypatch.setattr(th, "matmul", matmul)
    step, flops = getattr(floor, make)(2, "torch")
    step()
    counted = _counting_matmul(monkeypatch)
    np_step, np_flops = getattr(floor, make)(2)
    np_step()
    assert sorted(seen) == sorted(counted) and sum(seen) == flops == np_flops


@pytest.mark.parametrize("workload,engine", [("mlp", "numpy"), ("bert-infer", "numpy"), ("mlp", "torch")])
def test_prints_the_line_run_py_reads(workload, engine):
    if engine == "torch":
        torch()                                              # skips where PyTorch is not installed
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gemm_floor.py"), workload, "--batch", "2",
                          "--seconds", "0.01", "--engine", engine], capture_output=True, text=True, check=True).stdout
    rate, line = _load("run").parse(out)
    suffix = "-torch" if engine == "torch" else ""
    assert line.startswith(f"{workload}-gemm-floor{suffix} batch=2 ") and rate > 0
