"""Convolutions: conv2d, conv1d, conv_transpose2d and their layers; float64 gradient checks, PyTorch parity on
both kernel paths (numba and NumPy), the numba kernels against the NumPy reference, init and errors."""
import numpy as np
import pytest
from helpers import check_grad, check_parity, parity, rand, torch
from test_nn_layers import module_gradcheck, module_parity

import lucidnet as ln
from lucidnet.nn.conv import Conv1d, Conv2d, ConvTranspose2d
from lucidnet import kernels as _kernels
from lucidnet.fused.conv import conv1d, conv2d, conv_transpose2d



# (x shape, weight shape, stride, padding, dilation, groups, bias)
CONV2D = [
    ((2, 3, 7, 6), (4, 3, 3, 3), 1, 1, 1, 1, True),
    ((2, 3, 7, 6), (4, 3, 3, 3), 1, 0, 1, 1, False),
    ((2, 4, 9, 8), (6, 2, 3, 2), 2, (1, 0), 1, 2, True),             # groups, non-square kernel
    ((1, 4, 9, 9), (4, 1, 3, 3), 1, 2, 2, 4, True),                  # depthwise, dilation
    ((2, 3, 8, 8), (6, 1, 3, 3), 1, "same", 1, 3, True),             # depthwise with multiplier 2
    ((2, 3, 8, 7), (5, 3, 4, 4), 1, "same", 1, 1, True),             # even kernel: the odd pad goes last
    ((2, 3, 8, 7), (5, 3, 3, 2), 1, "same", (2, 1), 1, False),
    ((2, 3, 8, 8), (5, 3, 2, 3), (2, 1), "valid", (1, 2), 1, True),
    ((2, 2, 5, 5), (3, 2, 5, 5), 3, 2, 1, 1, True),                  # kernel as large as the input
    ((3, 1, 6, 6), (2, 1, 1, 1), 1, 0, 1, 1, True),                  # 1x1
    ((2, 8, 6, 5), (3, 8, 3, 3), 1, 1, 1, 1, True),                  # a long reduction: bias added after the GEMM
    ((8, 1, 64, 64), (4, 1, 3, 3), 1, 1, 1, 1, True),                # many rows: weight gradient summed in chunks
]


def _conv2d_args(xs, ws, bias, seed=0):
    arrays = [rand(*xs, seed=seed), rand(*ws, seed=seed + 1)]
    if bias:
        arrays.append(rand(ws[0], seed=seed + 2))
    return arrays


@parity
@pytest.mark.filterwarnings("ignore:Using padding='same'")  # PyTorch's note about its own even-kernel path
@pytest.mark.parametrize("xs,ws,stride,padding,dilation,groups,bias", CONV2D)
def test_conv2d_parity(backend, xs, ws, stride, padding, dilation, groups, bias):
    th = torch()
    # float32 weight gradients summed over 3e4 rows differ from PyTorch's by ~1e-3 (both sides' rounding;
    # lucidnet's error against float64 is the smaller, see test_long_reductions_are_accurate)
    atol = 1e-5 if xs[0] * xs[2] * xs[3] < 10_000 else 3e-3
    outs, _ = check_parity(lambda *a: conv2d(*a, stride=stride, padding=padding, dilation=dilation, groups=groups),
                           lambda *a: th.nn.functional.conv2d(*a, stride=stride, padding=padding, dilation=dilation,
                                                              groups=groups),
                           *_conv2d_args(xs, ws, bias), atol=atol)
    assert outs[0].dtype == np.float32


@parity
def test_long_reductions_are_accurate(backend):
    """The chunked weight gradient (many rows, small result) is as close to float64 as PyTorch's float32."""
    th = torch()
    x, w, b = _conv2d_args((8, 1, 64, 64), (4, 1, 3, 3), True)
    r = rand(8, 4, 64, 64, seed=7)

    def weight_grad(dtype, lib):
        if lib == "torch":
            ts = [th.tensor(a.astype(dtype), requires_grad=True) for a in (x, w, b)]
            (th.nn.functional.conv2d(*ts, padding=1) * th.tensor(r.astype(dtype))).sum().backward()
            return ts[1].grad.numpy().astype(np.float64)
        ts = [ln.tensor(a, dtype=dtype, requires_grad=True) for a in (x, w, b)]
        (conv2d(*ts, padding=1) * ln.tensor(r, dtype=dtype)).sum().backward()
        return ts[1].grad.array.astype(np.float64)
    exact = weight_grad(np.float64, "torch")
    np.testing.assert_allclose(weight_grad(np.float64, "lucidnet"), exact, rtol=1e-10, atol=1e-9)
    err_ln = np.abs(weight_grad(np.float32, "lucidnet") - exact).max()
    err_th = np.abs(weight_grad(np.float32, "torch") - exact).max()
    assert err_ln <= 2 * err_th, (err_ln, err_th)


@pytest.mark.parametrize("xs,ws,stride,padding,dilation,groups,bias", CONV2D[:8])
def test_conv2d_gradcheck(xs, ws, stride, padding, dilation, groups, bias):
    xs = (1,) + xs[1:] if xs[0] > 1 else xs
    check_grad(lambda *a: conv2d(*a, stride=stride, padding=padding, dilation=dilation, groups=groups),
               *_conv2d_args(xs, ws, bias))


@pytest.mark.parametrize("cin", [1, 8])  # bias folded into the GEMM, and added after it
def test_conv2d_gradients_when_only_some_inputs_require_them(backend, cin):
    x, w, b = rand(2, cin, 5, 5), rand(3, cin, 3, 3, seed=1), rand(3, seed=2)
    full = [ln.tensor(a, dtype=ln.float32, requires_grad=True) for a in (x, w, b)]
    (conv2d(*full, padding=1) ** 2).sum().backward()
    for which in range(3):
        ts = [ln.tensor(a, dtype=ln.float32, requires_grad=i == which) for i, a in enumerate((x, w, b))]
        (conv2d(*ts, padding=1) ** 2).sum().backward()
        np.testing.assert_allclose(ts[which].grad, full[which].grad, rtol=1e-5, atol=1e-5)
        assert all(t.grad is None for i, t in enumerate(ts) if i != which)


def test_conv2d_known_values():
    x = ln.arange(16.0).reshape(1, 1, 4, 4)
    w = ln.tensor([[[[0.0, 1.0], [2.0, 3.0]]]])
    expect = [[0 * a + 1 * b + 2 * c + 3 * d for a, b, c, d in
               [(r * 4 + k, r * 4 + k + 1, r * 4 + k + 4, r * 4 + k + 5) for k in range(3)]] for r in range(3)]
    np.testing.assert_array_equal(conv2d(x, w)[0, 0].numpy(), expect)


CONV1D = [
    ((2, 3, 11), (4, 3, 3), 1, 1, 1, 1, True),
    ((2, 4, 12), (6, 2, 4), 2, 0, 1, 2, False),
    ((2, 4, 10), (4, 1, 3), 1, "same", 2, 4, True),
    ((1, 2, 9), (3, 2, 2), 1, "same", 1, 1, True),
]


@parity
@pytest.mark.parametrize("xs,ws,stride,padding,dilation,groups,bias", CONV1D)
def test_conv1d_parity(backend, xs, ws, stride, padding, dilation, groups, bias):
    th = torch()
    check_parity(lambda *a: conv1d(*a, stride=stride, padding=padding, dilation=dilation, groups=groups),
                 lambda *a: th.nn.functional.conv1d(*a, stride=stride, padding=padding, dilation=dilation,
                                                    groups=groups),
                 *_conv2d_args(xs, ws, bias))


@pytest.mark.parametrize("xs,ws,stride,padding,dilation,groups,bias", CONV1D)
def test_conv1d_gradcheck(xs, ws, stride, padding, dilation, groups, bias):
    check_grad(lambda *a: conv1d(*a, stride=stride, padding=padding, dilation=dilation, groups=groups),
               *_conv2d_args(xs, ws, bias))


# (x shape, weight shape, stride, padding, output_padding, groups, dilation, bias)
CONVT = [
    ((2, 4, 5, 5), (4, 3, 3, 3), 2, 1, 1, 2, 1, True),
    ((1, 3, 4, 6), (3, 2, 2, 3), (2, 1), (0, 1), (1, 0), 1, (1, 2), True),
    ((2, 2, 3, 3), (2, 3, 3, 3), 1, 0, 0, 1, 1, False),
    ((2, 2, 4, 4), (2, 2, 2, 2), 2, 0, 0, 1, 1, True),               # the usual 2x upsampling
    ((1, 2, 3, 4), (2, 1, 3, 3), 3, 1, 2, 2, 2, True),
]


def _convt_args(xs, ws, groups, bias, seed=0):
    arrays = [rand(*xs, seed=seed), rand(*ws, seed=seed + 1)]
    if bias:
        arrays.append(rand(ws[1] * groups, seed=seed + 2))
    return arrays


@parity
@pytest.mark.parametrize("xs,ws,stride,padding,opad,groups,dilation,bias", CONVT)
def test_conv_transpose2d_parity(backend, xs, ws, stride, padding, opad, groups, dilation, bias):
    th = torch()
    check_parity(lambda *a: conv_transpose2d(*a, stride=stride, padding=padding, output_padding=opad, groups=groups,
                                             dilation=dilation),
                 lambda *a: th.nn.functional.conv_transpose2d(*a, stride=stride, padding=padding, output_padding=opad,
                                                              groups=groups, dilation=dilation),
                 *_convt_args(xs, ws, groups, bias))


@pytest.mark.parametrize("xs,ws,stride,padding,opad,groups,dilation,bias", CONVT)
def test_conv_transpose2d_gradcheck(xs, ws, stride, padding, opad, groups, dilation, bias):
    check_grad(lambda *a: conv_transpose2d(*a, stride=stride, padding=padding, output_padding=opad, groups=groups,
                                           dilation=dilation),
               *_convt_args((1,) + xs[1:], ws, groups, bias))


def test_conv_transpose2d_is_the_adjoint_of_conv2d():
    """<conv2d(x, w), y> == <x, conv_transpose2d(y, w)> for the same weight and geometry."""
    x, w = rand(2, 3, 9, 8, seed=1), rand(4, 3, 3, 3, seed=2)
    y = conv2d(ln.tensor(x, dtype=ln.float64), ln.tensor(w, dtype=ln.float64), stride=2, padding=1)
    r = rand(*y.shape, seed=3)
    xt = conv_transpose2d(ln.tensor(r, dtype=ln.float64), ln.tensor(w, dtype=ln.float64), stride=2, padding=1,
                          output_padding=(0, 1))
    assert xt.shape == x.shape
    np.testing.assert_allclose((y.numpy() * r).sum(), (xt.numpy() * x).sum(), rtol=1e-10)


# ---- layers ------------------------------------------------------------------------------------------
@parity
@pytest.mark.parametrize("kwargs", [dict(), dict(stride=2, padding=1), dict(padding="same", dilation=2, groups=2),
                                    dict(bias=False, groups=4)])
def test_conv2d_layer_loads_pytorch_state_dict(backend, kwargs):
    th = torch()
    module_parity(Conv2d(4, 8, 3, **kwargs), th.nn.Conv2d(4, 8, 3, **kwargs), rand(2, 4, 9, 10))


@parity
def test_conv1d_and_transpose_layers_load_pytorch_state_dict(backend):
    th = torch()
    module_parity(Conv1d(3, 6, 5, padding=2, groups=3), th.nn.Conv1d(3, 6, 5, padding=2, groups=3), rand(2, 3, 20))
    module_parity(ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
                  th.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2), rand(2, 4, 5, 6))


def test_conv_layers_gradcheck():
    module_gradcheck(Conv2d(2, 3, (2, 3), stride=(1, 2), padding=1), rand(1, 2, 5, 6))
    module_gradcheck(Conv1d(2, 4, 3, groups=2, padding="same"), rand(2, 2, 7))
    module_gradcheck(ConvTranspose2d(2, 3, 3, stride=2), rand(1, 2, 3, 3))


@parity
def test_small_cnn_matches_pytorch(backend):
    """conv-relu-pool-conv-relu-pool-flatten-linear, weights from PyTorch: the NHWC views flow through."""
    th = torch()
    from lucidnet.nn.pooling import MaxPool2d
    nn, tnn = ln.nn, th.nn
    model = nn.Sequential(Conv2d(1, 4, 3, padding=1), nn.ReLU(), MaxPool2d(2), Conv2d(4, 6, 3, padding=1), nn.ReLU(),
                          MaxPool2d(2), nn.Flatten(), nn.Linear(6 * 3 * 3, 5))
    tmodel = tnn.Sequential(tnn.Conv2d(1, 4, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                            tnn.Conv2d(4, 6, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
                            tnn.Linear(6 * 3 * 3, 5))
    module_parity(model, tmodel, rand(3, 1, 12, 13))


def test_conv_default_init_matches_pytorchs_bounds():
    conv = Conv2d(16, 32, 3)
    bound = 1 / np.sqrt(16 * 9)  # kaiming_uniform(a=sqrt(5)) and the bias both give 1/sqrt(fan_in)
    for p in (conv.weight, conv.bias):
        assert p.dtype == np.float32
        assert np.abs(p.numpy()).max() <= bound and np.abs(p.numpy()).max() > 0.9 * bound
    convt = ConvTranspose2d(16, 8, 4, groups=2)
    assert convt.weight.shape == (16, 4, 4, 4)
    assert np.abs(convt.bias.numpy()).max() <= 1 / np.sqrt(4 * 16)  # PyTorch's fan_in: weight.shape[1] * k * k


def test_conv_layer_repr_and_shapes():
    assert repr(Conv2d(1, 32, 3, padding=1)) == "Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    assert repr(Conv1d(4, 8, 3, padding="same", bias=False)) == \
        "Conv1d(4, 8, kernel_size=(3,), stride=(1,), padding='same', bias=False)"
    assert repr(ConvTranspose2d(8, 4, 2, stride=2, groups=2)) == \
        "ConvTranspose2d(8, 4, kernel_size=(2, 2), stride=(2, 2), groups=2)"
    assert Conv2d(3, 8, 3)(ln.randn(3, 10, 10)).shape == (8, 8, 8)  # unbatched
    assert ConvTranspose2d(4, 2, 3, stride=2)(ln.randn(1, 4, 5, 5), output_size=(12, 12)).shape == (1, 2, 12, 12)


def test_float64_layer_stays_float64():
    conv = Conv2d(2, 3, 3).double()
    x = ln.randn(1, 2, 5, 5, dtype=ln.float64, requires_grad=True)
    y = conv(x)
    y.sum().backward()
    assert y.dtype == np.float64 and x.grad.dtype == np.float64 and conv.weight.grad.dtype == np.float64


def test_nhwc_memory_and_nchw_memory_give_the_same_result(backend):
    x = rand(2, 3, 6, 7).astype(np.float32)
    w = ln.randn(4, 3, 3, 3)
    a = conv2d(ln.tensor(x), w, padding=1)
    x_nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)  # same values, NHWC memory
    b = conv2d(ln.Tensor._make(x_nhwc, None), w, padding=1)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-6)
    # the output is an NCHW view of NHWC memory; every later op reads NCHW values
    np.testing.assert_array_equal(a.reshape(2, -1).numpy(), np.ascontiguousarray(a.numpy()).reshape(2, -1))


# ---- errors ------------------------------------------------------------------------------------------
def test_errors_name_the_layer_and_the_shapes():
    conv = Conv2d(3, 8, 3)
    with pytest.raises(ValueError, match=r"Conv2d\(3, 8, kernel_size=\(3, 3\).*\(2, 1, 8, 8\).*expected 3 channels"):
        conv(ln.randn(2, 1, 8, 8))
    with pytest.raises(ValueError, match=r"Conv2d.*\(2, 3, 2, 8\) is too small.*kernel \(3, 3\)"):
        conv(ln.randn(2, 3, 2, 8))
    with pytest.raises(ValueError, match=r"Conv2d.*expected \(N, C, H, W\)"):
        conv(ln.randn(2, 3, 8, 8, 1))
    with pytest.raises(TypeError, match=r"Conv2d.*float64.*float32"):
        conv(ln.randn(2, 3, 8, 8, dtype=ln.float64))
    with pytest.raises(ValueError, match="divisible by groups=2"):
        Conv2d(3, 8, 3, groups=2)
    with pytest.raises(ValueError, match="padding='same' needs stride 1"):
        Conv2d(3, 8, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="kernel_size must be >= 1"):
        Conv2d(3, 8, 0)
    with pytest.raises(ValueError, match="output_padding"):
        ConvTranspose2d(3, 8, 3, stride=1, output_padding=1)
    with pytest.raises(ValueError, match=r"Conv1d.*too small"):
        Conv1d(2, 2, 5)(ln.randn(1, 2, 3))
    with pytest.raises(ValueError, match=r"conv2d: input of shape \(1, 4, 5, 5\) has 4 channels.*\(2, 3, 3, 3\)"):
        conv2d(ln.randn(1, 4, 5, 5), ln.randn(2, 3, 3, 3))
    with pytest.raises(ValueError, match=r"conv_transpose2d: .* weight of shape \(3, 2, 3, 3\) expects 3"):
        conv_transpose2d(ln.randn(1, 4, 5, 5), ln.randn(3, 2, 3, 3))
    with pytest.raises(NotImplementedError, match="padding_mode='reflect'"):
        Conv2d(3, 8, 3, padding_mode="reflect")


# ---- the numba kernels against the NumPy reference --------------------------------------------------
GEOMETRY = [  # x (N, H, W, C), kernel, stride, pad (top, left), dilation, groups
    ((2, 7, 6, 3), (3, 3), (1, 1), (1, 1), (1, 1), 1),
    ((2, 9, 8, 4), (3, 2), (2, 1), (1, 0), (1, 2), 2),
    ((1, 5, 5, 6), (2, 2), (2, 2), (0, 0), (1, 1), 3),
    ((2, 6, 7, 1), (4, 3), (3, 2), (2, 1), (2, 1), 1),
]


@pytest.mark.parametrize("xs,k,s,p,d,g", GEOMETRY)
def test_numba_im2col_col2im_match_numpy(xs, k, s, p, d, g):
    if not _kernels.numba_available():
        pytest.skip("numba is not installed (pip install numba)")
    from lucidnet.kernels import conv_numba as numba_impl, conv_numpy as numpy_impl
    n, h, w, c = xs
    ho = (h + 2 * p[0] - d[0] * (k[0] - 1) - 1) // s[0] + 1
    wo = (w + 2 * p[1] - d[1] * (k[1] - 1) - 1) // s[1] + 1
    x = rand(*xs).astype(np.float32)
    geo = (*k, *s, *p, *d, ho, wo, g)
    cols = [np.full((n * ho * wo, c * k[0] * k[1]), np.nan, np.float32) for _ in range(2)]
    numpy_impl.im2col(x, cols[0], *geo, 0)
    numba_impl.im2col(x, cols[1], *geo, 0)
    np.testing.assert_array_equal(cols[0], cols[1])
    # uint8 (the int8 convolution quantizes first): the padding holds the zero point
    xq = np.random.default_rng(0).integers(0, 256, xs, dtype=np.uint8)
    qcols = [np.zeros((n * ho * wo, c * k[0] * k[1]), np.uint8) for _ in range(2)]
    numpy_impl.im2col(xq, qcols[0], *geo, 7)
    numba_impl.im2col(xq, qcols[1], *geo, 7)
    np.testing.assert_array_equal(qcols[0], qcols[1])
    if p[0] or p[1]:
        assert (qcols[0] == 7).any()
    gx = [np.full(xs, np.nan, np.float32) for _ in range(2)]
    numpy_impl.col2im(cols[0], gx[0], *geo)
    numba_impl.col2im(cols[0], gx[1], *geo)
    np.testing.assert_allclose(gx[0], gx[1], rtol=1e-6, atol=1e-6)


def test_a_broken_numba_install_falls_back_to_numpy(monkeypatch):
    def broken(name, package=None):
        raise ImportError("numba built for another NumPy")
    monkeypatch.setattr(_kernels, "_loaded", {})
    monkeypatch.setattr(_kernels, "_broken", None)
    monkeypatch.setattr(_kernels, "_available", True)
    monkeypatch.setattr(_kernels, "_enabled", True)
    monkeypatch.setattr(_kernels.importlib, "import_module", broken)
    x, w = ln.randn(1, 2, 5, 5), ln.randn(3, 2, 3, 3)
    with pytest.warns(RuntimeWarning, match="using the NumPy kernels"):
        y = conv2d(x, w)
    assert not _kernels.numba_enabled() and not _kernels.numba_available()
    monkeypatch.undo()
    previous = _kernels.set_numba(False)
    np.testing.assert_allclose(y.numpy(), conv2d(x, w).numpy(), rtol=1e-6)
    _kernels.set_numba(previous)
