"""Pooling: max_pool2d, avg_pool2d, adaptive_avg_pool2d and their layers; float64 gradient checks, PyTorch
parity on both kernel paths (numba and NumPy), the numba max-pool kernels against the NumPy reference, errors."""
import numpy as np
import pytest
from helpers import check_grad, check_parity, parity, rand, torch

import lucidnet as ln
from lucidnet.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from lucidnet import kernels as _kernels
from lucidnet.fused.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d



# (x shape, kernel, stride, padding, dilation, ceil_mode)
MAXPOOL = [
    ((2, 3, 8, 8), 2, None, 0, 1, False),
    ((2, 3, 9, 7), 2, None, 0, 1, True),               # ceil_mode keeps the partial last window
    ((2, 3, 9, 8), 3, 2, 1, 1, True),                  # overlapping windows, padding
    ((1, 2, 9, 8), 3, 1, 1, 2, False),                 # dilation
    ((2, 2, 9, 8), (2, 3), (1, 2), (1, 1), 1, True),
    ((1, 4, 5, 5), 5, 1, 0, 1, False),                 # global window
]


@parity
@pytest.mark.parametrize("xs,k,s,p,d,ceil", MAXPOOL)
def test_max_pool2d_parity(backend, xs, k, s, p, d, ceil):
    th = torch()
    outs, _ = check_parity(lambda x: max_pool2d(x, k, s, p, d, ceil),
                           lambda x: th.nn.functional.max_pool2d(x, k, s, p, d, ceil), rand(*xs))
    assert outs[0].dtype == np.float32


@parity
@pytest.mark.parametrize("xs,k,s,p,d,ceil", MAXPOOL)
def test_max_pool2d_indices_match_pytorch(backend, xs, k, s, p, d, ceil):
    th = torch()
    x = rand(*xs).astype(np.float32)
    _, idx = max_pool2d(ln.tensor(x), k, s, p, d, ceil, return_indices=True)
    _, tidx = th.nn.functional.max_pool2d(th.tensor(x), k, s, p, d, ceil, return_indices=True)
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())


@pytest.mark.parametrize("xs,k,s,p,d,ceil", MAXPOOL)
def test_max_pool2d_gradcheck(xs, k, s, p, d, ceil):
    check_grad(lambda x: max_pool2d(x, k, s, p, d, ceil), rand(1, *xs[1:]))


def test_max_pool2d_ties_and_nan_follow_pytorch(backend):
    x = ln.tensor([[[[1.0, 1.0], [0.0, 1.0]]], [[[1.0, np.nan], [2.0, np.nan]]]], requires_grad=True)
    y = max_pool2d(x, 2)
    y.sum().backward()
    assert y.numpy()[0].item() == 1.0 and np.isnan(y.numpy()[1].item())
    # the first maximum in window order takes the gradient; a NaN wins (the last NaN, as in PyTorch's kernel)
    np.testing.assert_array_equal(x.grad[0, 0], [[1, 0], [0, 0]])
    np.testing.assert_array_equal(x.grad[1, 0], [[0, 0], [0, 1]])


# (x shape, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
AVGPOOL = [
    ((2, 3, 8, 8), 2, None, 0, False, True, None),
    ((2, 3, 9, 8), 3, 2, 1, False, True, None),
    ((2, 3, 9, 8), 3, 2, 1, False, False, None),
    ((2, 3, 9, 7), 3, 2, 1, True, True, None),         # ceil_mode: the divisor is clipped to input + pad
    ((2, 3, 9, 7), 3, 2, 1, True, False, None),
    ((1, 2, 7, 9), (2, 3), (1, 2), (1, 1), True, True, None),
    ((1, 2, 6, 6), 3, 3, 0, False, True, 4),
]


@parity
@pytest.mark.parametrize("xs,k,s,p,ceil,cip,div", AVGPOOL)
def test_avg_pool2d_parity(backend, xs, k, s, p, ceil, cip, div):
    th = torch()
    check_parity(lambda x: avg_pool2d(x, k, s, p, ceil, cip, div),
                 lambda x: th.nn.functional.avg_pool2d(x, k, s, p, ceil, cip, div), rand(*xs))


@pytest.mark.parametrize("xs,k,s,p,ceil,cip,div", AVGPOOL)
def test_avg_pool2d_gradcheck(xs, k, s, p, ceil, cip, div):
    check_grad(lambda x: avg_pool2d(x, k, s, p, ceil, cip, div), rand(1, *xs[1:]))


ADAPTIVE = [((2, 3, 7, 7), 1), ((2, 3, 9, 8), (3, 5)), ((1, 2, 8, 8), 4), ((1, 2, 5, 7), (7, 9)),
            ((1, 2, 6, 10), (None, 3)), ((2, 4, 7, 7), (1, 1))]


@parity
@pytest.mark.parametrize("xs,size", ADAPTIVE)
def test_adaptive_avg_pool2d_parity(xs, size):
    th = torch()
    outs, _ = check_parity(lambda x: adaptive_avg_pool2d(x, size),
                           lambda x: th.nn.functional.adaptive_avg_pool2d(x, size), rand(*xs))
    assert outs[0].dtype == np.float32


@pytest.mark.parametrize("xs,size", ADAPTIVE)
def test_adaptive_avg_pool2d_gradcheck(xs, size):
    check_grad(lambda x: adaptive_avg_pool2d(x, size), rand(1, *xs[1:]))


def test_pools_after_a_conv_read_its_nhwc_view(backend):
    """A conv's output is an NCHW view of NHWC memory; pooling it equals pooling a contiguous copy."""
    from lucidnet.fused.conv import conv2d
    y = conv2d(ln.randn(2, 3, 9, 9), ln.randn(5, 3, 2, 2))
    yc = ln.tensor(np.ascontiguousarray(y.numpy()))
    for f in (lambda t: max_pool2d(t, 3, 2, 1), lambda t: avg_pool2d(t, 2), lambda t: adaptive_avg_pool2d(t, 3)):
        np.testing.assert_allclose(f(y).numpy(), f(yc).numpy(), rtol=1e-6, atol=1e-7)


@parity
@pytest.mark.parametrize("pool", ["max", "avg", "adaptive"])
def test_pools_of_a_conv_output_match_pytorch(backend, pool):
    """Values and gradients through conv -> pool, where the pool's input lies in NHWC memory."""
    th = torch()
    from lucidnet.fused.conv import conv2d
    ours = {"max": lambda t: max_pool2d(t, 3, 2, 1), "avg": lambda t: avg_pool2d(t, 3, 2, 1, True, False),
            "adaptive": lambda t: adaptive_avg_pool2d(t, (3, 2))}[pool]
    F = th.nn.functional
    theirs = {"max": lambda t: F.max_pool2d(t, 3, 2, 1), "avg": lambda t: F.avg_pool2d(t, 3, 2, 1, True, False),
              "adaptive": lambda t: F.adaptive_avg_pool2d(t, (3, 2))}[pool]
    check_parity(lambda x, w: ours(conv2d(x, w)), lambda x, w: theirs(F.conv2d(x, w)), rand(2, 3, 9, 10),
                 rand(4, 3, 2, 2, seed=1))


# ---- layers ------------------------------------------------------------------------------------------
def test_layers_repr_shapes_and_unbatched():
    assert repr(MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(AvgPool2d(3, 2, 1)) == "AvgPool2d(kernel_size=3, stride=2, padding=1)"
    assert repr(AdaptiveAvgPool2d((2, 2))) == "AdaptiveAvgPool2d(output_size=(2, 2))"
    assert MaxPool2d(2)(ln.randn(3, 8, 8)).shape == (3, 4, 4)
    y, idx = MaxPool2d(2, return_indices=True)(ln.randn(2, 3, 8, 8))
    assert y.shape == idx.shape == (2, 3, 4, 4)
    assert AvgPool2d(2, ceil_mode=True)(ln.randn(1, 2, 5, 5)).shape == (1, 2, 3, 3)
    assert AdaptiveAvgPool2d(1)(ln.randn(4, 16, 7, 7)).shape == (4, 16, 1, 1)
    g = AdaptiveAvgPool2d(1)(ln.randn(2, 3, 4, 4, dtype=ln.float64))
    assert g.dtype == np.float64


def test_global_average_pool_is_the_mean():
    x = rand(2, 3, 5, 6).astype(np.float32)
    np.testing.assert_allclose(AdaptiveAvgPool2d(1)(ln.tensor(x)).numpy()[:, :, 0, 0], x.mean((2, 3)), rtol=1e-6)


def test_errors_name_the_layer_and_the_shapes():
    with pytest.raises(ValueError, match=r"MaxPool2d\(kernel_size=3.*\(1, 2, 2, 2\) is too small for kernel \(3, 3\)"):
        MaxPool2d(3)(ln.randn(1, 2, 2, 2))
    with pytest.raises(ValueError, match=r"AvgPool2d.*expected \(N, C, H, W\)"):
        AvgPool2d(2)(ln.randn(4, 4))
    with pytest.raises(ValueError, match="at most half"):
        MaxPool2d(2, padding=2)
    with pytest.raises(ValueError, match="kernel_size must be >= 1"):
        AvgPool2d(0)
    with pytest.raises(ValueError, match="output_size must be >= 1"):
        AdaptiveAvgPool2d(0)(ln.randn(1, 1, 4, 4))
    with pytest.raises(TypeError, match="max_pool2d: expected a floating input"):
        max_pool2d(ln.tensor(np.ones((1, 1, 4, 4), np.int64)), 2)


# ---- the numba kernels against the NumPy reference --------------------------------------------------
@pytest.mark.parametrize("xs,k,s,p,d,ceil", MAXPOOL)
def test_numba_maxpool_matches_numpy(xs, k, s, p, d, ceil):
    if not _kernels.numba_available():
        pytest.skip("numba is not installed (pip install numba)")
    from lucidnet.kernels import conv_numba as numba_impl, conv_numpy as numpy_impl
    from lucidnet.fused.pool import pool_out_size, pool_params
    k, s, p, d = pool_params("test", k, s, p, d)
    n, c, h, w = xs
    ho, wo = (pool_out_size(h, k[0], s[0], p[0], d[0], ceil), pool_out_size(w, k[1], s[1], p[1], d[1], ceil))
    x = rand(n, h, w, c).astype(np.float32)
    x[0, 0, :2] = x[0, 0, 0]  # ties
    outs = [np.empty((n, ho, wo, c), np.float32) for _ in range(2)]
    args = [np.empty((n, ho, wo, c), np.int32) for _ in range(2)]
    numpy_impl.maxpool_forward(x, outs[0], args[0], *k, *s, *p, *d)
    numba_impl.maxpool_forward(x, outs[1], args[1], *k, *s, *p, *d)
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(args[0], args[1])
    g = rand(n, ho, wo, c, seed=1).astype(np.float32)
    for positive in (False, True):  # True: the gradient through a ReLU before the pool (where out > 0)
        gx = [np.full((n, h, w, c), np.nan, np.float32) for _ in range(2)]
        numpy_impl.maxpool_backward(g, args[0], outs[0], gx[0], positive, *k, *s, *p, *d)
        numba_impl.maxpool_backward(g, args[0], outs[0], gx[1], positive, *k, *s, *p, *d)
        np.testing.assert_allclose(gx[0], gx[1], rtol=1e-6, atol=1e-6)
        assert np.count_nonzero(gx[0]) > 0


# ---- max-pooling right after a ReLU: one backward pass for both --------------------------------------
RELU_POOL = [((2, 3, 8, 8), 2, None, 0), ((2, 3, 9, 7), 3, 2, 1), ((1, 2, 7, 7), 2, 2, 0)]


@parity
@pytest.mark.parametrize("xs,k,s,p", RELU_POOL)
def test_relu_then_max_pool_matches_pytorch(backend, xs, k, s, p):
    th = torch()
    z = rand(*xs)
    z[0, 0, 0, :4] = [-1.0, -2.0, -0.5, -3.0]  # a window of negatives: the max is 0, no gradient
    outs, _ = check_parity(lambda t: max_pool2d(ln.ops.relu(t), k, s, p),
                           lambda t: th.nn.functional.max_pool2d(th.relu(t), k, s, p), z)
    assert outs[0]._node.parents[0] is not None and type(outs[0]._node).__name__ == "MaxPool2d"


@pytest.mark.parametrize("xs,k,s,p", RELU_POOL)
def test_relu_then_max_pool_gradcheck(xs, k, s, p):
    check_grad(lambda t: max_pool2d(ln.ops.relu(t), k, s, p), rand(1, *xs[1:]))


def test_relu_output_used_elsewhere_or_retained_still_gets_its_gradient(backend):
    z0 = rand(2, 3, 6, 6).astype(np.float32)
    z = ln.tensor(z0, requires_grad=True)
    r = ln.ops.relu(z)
    (max_pool2d(r, 2).sum() * 2 + (r * r).sum()).backward()
    zr = ln.tensor(z0, requires_grad=True)
    rr = ln.ops.relu(zr)
    rr.retain_grad()  # asks for the ReLU output's own gradient: the pool then differentiates it alone
    (max_pool2d(rr, 2).sum() * 2 + (rr * rr).sum()).backward()
    assert rr.grad is not None
    np.testing.assert_allclose(z.grad, zr.grad, rtol=1e-6, atol=1e-6)
    mask = z0 > 0
    np.testing.assert_allclose(zr.grad, rr.grad * mask, rtol=1e-6, atol=1e-6)
