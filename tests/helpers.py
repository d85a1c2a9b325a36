"""Test helpers: float64 gradient checks and PyTorch parity on the same inputs.

check_grad(fn, *arrays)        -- finite differences vs lucidnet's backward, float64
check_parity(fn_ln, fn_torch, *arrays) -- forward values and gradients vs PyTorch, float32
Both take plain NumPy arrays; float arrays become tensors that require grad, integer arrays are passed
as constant tensors. ``fn`` returns a tensor (or a tuple of tensors).
"""
import numpy as np
import pytest

import lucidnet as ln

parity = pytest.mark.parity


def rand(*shape, seed=0, low=None, high=None, dtype=np.float64):
    rng = np.random.default_rng(seed)
    if low is not None:
        return rng.uniform(low, high, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _wrap(arrays, dtype):
    out = []
    for a in arrays:
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            out.append(ln.tensor(a, dtype=dtype, requires_grad=True))
        elif isinstance(a, np.ndarray):
            out.append(ln.tensor(a))
        else:
            out.append(a)
    return out


def check_grad(fn, *arrays, atol=1e-5, rtol=1e-4, eps=1e-6):
    inputs = _wrap(arrays, ln.float64)
    assert ln.autograd.gradcheck(fn, inputs, eps=eps, atol=atol, rtol=rtol)


def torch():
    return pytest.importorskip("torch")


def check_parity(fn_ln, fn_torch, *arrays, atol=1e-5, rtol=1e-4, grad=True):
    """Run both on float32 copies of the same arrays; compare outputs and input gradients."""
    th = torch()
    ins_ln = _wrap([a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in arrays],
                   ln.float32)
    ins_th = []
    for a in arrays:
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            ins_th.append(th.tensor(a.astype(np.float32), requires_grad=True))
        elif isinstance(a, np.ndarray):
            ins_th.append(th.tensor(a))
        else:
            ins_th.append(a)
    out_ln, out_th = fn_ln(*ins_ln), fn_torch(*ins_th)
    outs_ln = list(out_ln) if isinstance(out_ln, (tuple, list)) else [out_ln]
    outs_th = list(out_th) if isinstance(out_th, (tuple, list)) else [out_th]
    assert len(outs_ln) == len(outs_th)
    rng = np.random.default_rng(7)
    tot_ln = tot_th = None
    for a, b in zip(outs_ln, outs_th):
        assert tuple(a.shape) == tuple(b.shape), (a.shape, b.shape)
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), atol=atol, rtol=rtol)
        if grad and a.requires_grad and a.dtype.kind == "f":
            w = rng.standard_normal(a.shape).astype(np.float32)
            sl = (a * ln.tensor(w)).sum()
            st = (b * th.tensor(w)).sum()
            tot_ln = sl if tot_ln is None else tot_ln + sl
            tot_th = st if tot_th is None else tot_th + st
    if grad and tot_ln is not None:
        tot_ln.backward()
        tot_th.backward()
        for x, y in zip(ins_ln, ins_th):
            if isinstance(x, ln.Tensor) and x.requires_grad:
                gx = x.grad.numpy() if x.grad is not None else np.zeros(x.shape, np.float32)
                gy = y.grad.numpy() if y.grad is not None else np.zeros(x.shape, np.float32)
                assert gx.dtype == np.float32, gx.dtype
                np.testing.assert_allclose(gx, gy, atol=atol, rtol=rtol)
    return outs_ln, outs_th


def separable_data(n=100, seed=0):
    """(x (n, 4) float32, y (n,) int64): two classes split by x0 + x1 = 0, for the training-loop tests."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    return x, (x[:, 0] + x[:, 1] > 0).astype(np.int64)


def check_gemm_layouts(gemm):
    """``gemm(a, b, out=None, bias=None)`` (a CBLAS float32 product, ``lucidnet.kernels.cblas``) matches NumPy for
    row- and column-major operands and a row-strided view, with and without a bias, writes into ``out``, and
    returns None for what it cannot take (float64, no unit stride, an output that overlaps an operand)."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((37, 19), dtype=np.float32), rng.standard_normal((19, 23), dtype=np.float32)
    bias = rng.standard_normal(23, dtype=np.float32)
    want = a.astype(np.float64) @ b.astype(np.float64)
    wide = rng.standard_normal((37, 40), dtype=np.float32)
    for x, y in [(a, b), (np.asfortranarray(a), b), (a, np.asfortranarray(b)), (a.T.copy().T, b.T.copy().T),
                 (wide[:, 3:22], b)]:  # row-strided view
        x[...] = a
        got = gemm(x, y)
        assert got is not None and got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(gemm(x, y, bias=bias), want + bias, rtol=1e-5, atol=1e-5)
    out = np.empty((37, 23), np.float32)
    assert gemm(a, b, out) is out
    assert gemm(a.astype(np.float64), b) is None      # not float32: NumPy's
    assert gemm(a, b, bias=bias.astype(np.float64)) is None
    assert gemm(a[:, ::2], b[::2]) is None           # no unit stride: NumPy's
    sq = rng.standard_normal((8, 8), dtype=np.float32)
    assert gemm(sq, sq, out=sq) is None              # the output overlaps an operand: NumPy's
