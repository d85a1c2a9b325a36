"""Depthwise convolution (groups == C_in == C_out): the dedicated kernels behind ``conv2d``. Float64 gradient
checks, PyTorch parity on both kernel paths, channels-last input (what a conv leaves), the numba kernels
against the NumPy reference, and the dispatch (only true depthwise convolutions take it)."""
import numpy as np
import pytest
from helpers import check_grad, check_parity, parity, rand, torch

import lucidnet as ln
from lucidnet import kernels
from lucidnet.fused import conv as C
from lucidnet.fused.conv import conv2d

# (x shape, kernel, stride, padding, dilation, bias)
DEPTHWISE = [
    ((2, 5, 8, 7), 3, 1, 1, 1, False),     # MobileNet's stride-1 block
    ((2, 5, 9, 8), 3, 2, 1, 1, False),     # MobileNet's stride-2 block (odd and even sizes)
    ((2, 4, 8, 8), 3, 2, 1, 1, True),
    ((1, 3, 9, 9), 3, 1, 2, 2, True),      # dilation
    ((2, 3, 7, 9), (5, 3), (1, 2), (2, 0), 1, True),   # non-square kernel, asymmetric stride and padding
    ((1, 2, 6, 6), 2, 3, 0, 1, False),     # stride larger than the kernel: pixels no tap reads
]


def _args(xs, k, bias, seed=0):
    kh, kw = (k, k) if isinstance(k, int) else k
    arrays = [rand(*xs, seed=seed), rand(xs[1], 1, kh, kw, seed=seed + 1)]
    if bias:
        arrays.append(rand(xs[1], seed=seed + 2))
    return arrays


@parity
@pytest.mark.parametrize("xs,k,stride,padding,dilation,bias", DEPTHWISE)
def test_depthwise_parity(backend, xs, k, stride, padding, dilation, bias):
    th = torch()
    g = xs[1]
    check_parity(lambda *a: conv2d(*a, stride=stride, padding=padding, dilation=dilation, groups=g),
                 lambda *a: th.nn.functional.conv2d(*a, stride=stride, padding=padding, dilation=dilation, groups=g),
                 *_args(xs, k, bias))


@parity
@pytest.mark.parametrize("stride", [1, 2])
def test_depthwise_parity_on_channels_last_input(backend, stride):
    """The input a conv returns (an NCHW view of NHWC memory) goes through without a layout change."""
    th = torch()
    x, w1, w2 = rand(2, 3, 10, 9), rand(6, 3, 1, 1, seed=1), rand(6, 1, 3, 3, seed=2)

    def ours(x, w1, w2):
        h = conv2d(x, w1)
        assert not h.array.flags.c_contiguous and h.array.transpose(0, 2, 3, 1).flags.c_contiguous
        return conv2d(h, w2, stride=stride, padding=1, groups=6)

    check_parity(ours, lambda x, w1, w2: th.nn.functional.conv2d(th.nn.functional.conv2d(x, w1), w2, stride=stride,
                                                                 padding=1, groups=6), x, w1, w2)


@pytest.mark.parametrize("xs,k,stride,padding,dilation,bias", DEPTHWISE)
def test_depthwise_gradcheck(xs, k, stride, padding, dilation, bias):
    check_grad(lambda *a: conv2d(*a, stride=stride, padding=padding, dilation=dilation, groups=xs[1]),
               *_args(xs, k, bias))


def test_depthwise_gradients_when_only_some_inputs_require_them(backend):
    x, w = rand(2, 4, 6, 6, dtype=np.float32), rand(4, 1, 3, 3, seed=1, dtype=np.float32)
    full = [ln.tensor(x, requires_grad=True), ln.tensor(w, requires_grad=True)]
    (conv2d(*full, padding=1, groups=4) ** 2).sum().backward()
    for which in range(2):
        ts = [ln.tensor(x, requires_grad=which == 0), ln.tensor(w, requires_grad=which == 1)]
        (conv2d(*ts, padding=1, groups=4) ** 2).sum().backward()
        np.testing.assert_allclose(ts[which].grad, full[which].grad, rtol=1e-6, atol=1e-6)
        assert ts[1 - which].grad is None


@pytest.mark.parametrize("stride,padding,dilation", [(1, 1, 1), (2, 1, 1), (2, 2, 2), (3, 0, 1)])
def test_numba_depthwise_kernels_match_numpy(stride, padding, dilation):
    if not kernels.numba_available():
        pytest.skip("numba is not installed")
    from lucidnet.kernels import depthwise_numba as nb, depthwise_numpy as ref
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 11, 10, 7)).astype(np.float32)
    w = rng.standard_normal((3, 3, 7)).astype(np.float32)
    ho = C.out_size(11, 3, stride, 2 * padding, dilation)
    wo = C.out_size(10, 3, stride, 2 * padding, dilation)
    geom = (stride, stride, padding, padding, dilation, dilation)
    outs = {}
    for name, mod in (("numba", nb), ("numpy", ref)):
        out = np.empty((3, ho, wo, 7), np.float32)
        mod.forward(x, w, out, *geom)
        gx = np.full_like(x, np.nan)  # overwritten everywhere, padding-only pixels included
        mod.backward_input(out, w, gx, *geom)
        gw = np.full_like(w, np.nan)
        mod.backward_weight(out, x, gw, *geom)
        outs[name] = (out, gx, gw)
    for a, b in zip(outs["numba"], outs["numpy"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)


def test_only_depthwise_convolutions_take_the_depthwise_path():
    assert C.is_depthwise((2, 8, 5, 5), (8, 1, 3, 3), 8)
    assert not C.is_depthwise((2, 8, 5, 5), (16, 1, 3, 3), 8)   # channel multiplier 2: the grouped GEMM
    assert not C.is_depthwise((2, 8, 5, 5), (8, 2, 3, 3), 4)
    assert not C.is_depthwise((2, 1, 5, 5), (1, 1, 3, 3), 1)    # one channel: a plain convolution
    x = ln.randn(1, 4, 5, 5, requires_grad=True)
    assert type(conv2d(x, ln.randn(4, 1, 3, 3), groups=4).grad_fn).__name__ == "DepthwiseConv2d"
    assert type(conv2d(x, ln.randn(8, 1, 3, 3), groups=4).grad_fn).__name__ == "Conv2d"


def test_depthwise_keeps_float64_and_refuses_mixed_dtypes():
    x = ln.randn(1, 3, 5, 5, dtype=ln.float64)
    assert conv2d(x, ln.randn(3, 1, 3, 3, dtype=ln.float64), groups=3).dtype == ln.float64
    with pytest.raises(TypeError, match="does not upcast"):
        conv2d(x, ln.randn(3, 1, 3, 3), groups=3)
