"""BatchNorm1d/2d, LayerNorm, GroupNorm: finite differences, PyTorch parity (train and eval), running statistics,
PyTorch's state_dict layout, errors."""
import numpy as np
import pytest
from helpers import check_grad, check_parity, parity, rand, torch

import lucidnet as ln
from lucidnet import nn
from lucidnet.nn.normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from lucidnet import kernels as _kernels
from lucidnet.fused import norm
from lucidnet.fused.norm import batch_norm, group_norm, layer_norm


def gradcheck_module(module, x):
    """Finite differences (float64) through ``module`` for its input and every parameter."""
    module.double()
    xt = ln.tensor(x, dtype=ln.float64, requires_grad=True)
    assert ln.autograd.gradcheck(lambda inp, *ps: module(inp), [xt, *module.parameters()])


def randomize(tmodule, seed=3):
    """Non-trivial affine parameters (and running statistics) in a PyTorch module."""
    th = torch()
    gen = th.Generator().manual_seed(seed)
    with th.no_grad():
        for p in tmodule.parameters():
            p.copy_(th.rand(p.shape, generator=gen) + 0.5)
        if getattr(tmodule, "running_mean", None) is not None:
            tmodule.running_mean.copy_(th.randn(tmodule.running_mean.shape, generator=gen))
            tmodule.running_var.copy_(th.rand(tmodule.running_var.shape, generator=gen) + 0.5)
    return tmodule


def compare_steps(module, tmodule, xs, atol=1e-5, rtol=1e-4, layout=None):
    """Load PyTorch's state; run both on each batch: outputs, grads of input and parameters, then the buffers.
    ``layout``: turns each input array into the memory layout lucidnet gets (e.g. ``channels_last``)."""
    th = torch()
    module.load_state_dict({k: v.numpy() for k, v in tmodule.state_dict().items()})
    tparams = dict(tmodule.named_parameters())
    for step, x in enumerate(xs):
        x = x.astype(np.float32)
        xl, xt = ln.tensor(x, requires_grad=True), th.tensor(x, requires_grad=True)
        if layout is not None:
            xl.array = layout(xl.array)
        yl, yt = module(xl), tmodule(xt)
        assert yl.dtype == np.float32 and tuple(yl.shape) == tuple(yt.shape)
        np.testing.assert_allclose(yl.numpy(), yt.detach().numpy(), atol=atol, rtol=rtol, err_msg=f"step {step}")
        w = np.random.default_rng(step).standard_normal(yl.shape).astype(np.float32)
        (yl * ln.tensor(w)).sum().backward()
        (yt * th.tensor(w)).sum().backward()
        assert xl.grad.dtype == np.float32
        np.testing.assert_allclose(xl.grad, xt.grad.numpy(), atol=atol, rtol=rtol, err_msg=f"step {step}")
        for name, p in module.named_parameters():
            assert p.grad.dtype == np.float32, name
            np.testing.assert_allclose(p.grad, tparams[name].grad.numpy(), atol=atol * 10, rtol=rtol,
                                       err_msg=f"{name}, step {step}")
        module.zero_grad()
        tmodule.zero_grad()
    sd, tsd = module.state_dict(), tmodule.state_dict()
    assert list(sd) == list(tsd)
    for k, v in tsd.items():
        assert sd[k].dtype == v.numpy().dtype, k
        np.testing.assert_allclose(sd[k], v.numpy(), atol=1e-6, rtol=1e-5, err_msg=k)


# ---- BatchNorm: gradients -----------------------------------------------------------------------------

BN_CASES = [(BatchNorm1d, (6, 3)), (BatchNorm1d, (4, 3, 5)), (BatchNorm2d, (3, 2, 4, 3))]


@pytest.mark.parametrize("cls,shape", BN_CASES)
@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_gradcheck_train(cls, shape, affine):
    bn = cls(shape[1], affine=affine)
    if affine:
        bn.weight.data[...] = rand(shape[1], seed=1) + 1.5
        bn.bias.data[...] = rand(shape[1], seed=2)
    gradcheck_module(bn, rand(*shape, seed=3) * 2 + 1)


@pytest.mark.parametrize("cls,shape", BN_CASES)
def test_batchnorm_gradcheck_eval(cls, shape):
    bn = cls(shape[1]).double()
    bn.running_mean.data[...] = rand(shape[1], seed=4)
    bn.running_var.data[...] = rand(shape[1], seed=5) ** 2 + 0.5
    bn.weight.data[...] = rand(shape[1], seed=6)
    gradcheck_module(bn.eval(), rand(*shape, seed=7))


def test_batch_norm_functional_gradcheck_without_affine_or_stats():
    check_grad(lambda x: batch_norm(x, None, None, training=True), rand(5, 3, 2, seed=8))
    check_grad(lambda x, w, b: batch_norm(x, None, None, w, b, training=False), rand(4, 2, 3, 3, seed=9),
               rand(2, seed=10), rand(2, seed=11))


# ---- BatchNorm: PyTorch parity ------------------------------------------------------------------------

@parity
@pytest.mark.parametrize("cls,shape", [(BatchNorm1d, (16, 5)), (BatchNorm1d, (8, 5, 7)), (BatchNorm2d, (8, 5, 6, 7))])
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batchnorm_parity_train_steps_then_eval(cls, shape, momentum):
    th = torch()
    tcls = getattr(th.nn, cls.__name__)
    bn, tbn = cls(shape[1], momentum=momentum), randomize(tcls(shape[1], momentum=momentum))
    xs = [rand(*shape, seed=s) * (1 + s) + s for s in range(4)]  # shifting statistics
    compare_steps(bn, tbn, xs)
    assert int(bn.num_batches_tracked.item()) == int(tbn.num_batches_tracked.item()) == 4
    bn.eval(), tbn.eval()
    compare_steps(bn, tbn, [rand(*shape, seed=9)])
    assert int(bn.num_batches_tracked.item()) == 4  # eval mode counts nothing


@parity
@pytest.mark.parametrize("affine,bias,track", [(False, True, True), (True, True, False), (False, True, False),
                                               (True, False, True)])
def test_batchnorm_parity_without_affine_bias_or_running_stats(affine, bias, track):
    th = torch()
    shape = (6, 4, 3, 3)
    bn = BatchNorm2d(4, affine=affine, track_running_stats=track, bias=bias)
    tbn = randomize(th.nn.BatchNorm2d(4, affine=affine, track_running_stats=track, bias=bias))
    compare_steps(bn, tbn, [rand(*shape, seed=s) + s for s in range(2)])
    bn.eval(), tbn.eval()  # without running statistics, eval mode also uses the batch's
    compare_steps(bn, tbn, [rand(*shape, seed=5)])
    assert [k for k, _ in bn.named_parameters()] == [k for k, _ in tbn.named_parameters()]


@parity
def test_batchnorm_loads_pytorch_state_dict_and_eval_matches():
    th = torch()
    tbn = randomize(th.nn.BatchNorm2d(3))
    tbn.num_batches_tracked.fill_(17)
    bn = BatchNorm2d(3)
    bn.load_state_dict({k: v.numpy() for k, v in tbn.state_dict().items()})
    assert int(bn.num_batches_tracked.item()) == 17 and bn.num_batches_tracked.dtype == np.int64
    x = rand(2, 3, 4, 4, seed=1, dtype=np.float32)
    np.testing.assert_allclose(bn.eval()(ln.tensor(x)).numpy(), tbn.eval()(th.tensor(x)).detach().numpy(),
                               atol=1e-5, rtol=1e-5)
    assert repr(bn) == repr(tbn)
    assert repr(BatchNorm1d(4, momentum=None, affine=False)) == repr(th.nn.BatchNorm1d(4, momentum=None, affine=False))


@parity
def test_batch_norm_functional_parity():
    th = torch()
    F = th.nn.functional
    rm, rv = rand(3, seed=1, dtype=np.float32), rand(3, seed=2, dtype=np.float32) ** 2 + 0.5
    x = rand(4, 3, 5, seed=3) + 2
    w, b = rand(3, seed=4) + 1, rand(3, seed=5)
    for training in (True, False):
        lrm, lrv, trm, trv = ln.tensor(rm), ln.tensor(rv), th.tensor(rm), th.tensor(rv)
        check_parity(lambda x, w, b: batch_norm(x, lrm, lrv, w, b, training, 0.3, 1e-3),
                     lambda x, w, b: F.batch_norm(x, trm, trv, w, b, training, 0.3, 1e-3), x, w, b)
        np.testing.assert_allclose(lrm.numpy(), trm.numpy(), rtol=1e-6)
        np.testing.assert_allclose(lrv.numpy(), trv.numpy(), rtol=1e-6)
        assert training or np.array_equal(lrm.numpy(), rm)  # eval leaves the running statistics alone


def test_batchnorm_running_stats_rule_by_hand():
    """PyTorch's rule, written out: running_var takes the unbiased variance; momentum=None averages."""
    x1, x2 = rand(10, 2, seed=1, dtype=np.float32) * 3 + 1, rand(10, 2, seed=2, dtype=np.float32) - 2
    bn = BatchNorm1d(2, momentum=0.2)
    bn(ln.tensor(x1))
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.8 * 0 + 0.2 * x1.mean(0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.8 * 1 + 0.2 * x1.var(0, ddof=1), rtol=1e-5)
    cma = BatchNorm1d(2, momentum=None)
    cma(ln.tensor(x1)), cma(ln.tensor(x2))
    np.testing.assert_allclose(cma.running_mean.numpy(), (x1.mean(0) + x2.mean(0)) / 2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cma.running_var.numpy(), (x1.var(0, ddof=1) + x2.var(0, ddof=1)) / 2, rtol=1e-5)
    assert cma.running_var.dtype == np.float32 and int(cma.num_batches_tracked.item()) == 2


def test_batchnorm_training_output_is_normalized_and_float32():
    x = ln.tensor(rand(32, 4, 6, 6, seed=1, dtype=np.float32) * 5 + 3)
    y = BatchNorm2d(4)(x).numpy()
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, atol=1e-3)


def test_batchnorm_float64_layer_and_reset():
    bn = BatchNorm1d(3, dtype=ln.float64)
    assert bn.weight.dtype == np.float64 and bn.running_mean.dtype == np.float64
    y = bn(ln.tensor(rand(8, 3, seed=1), dtype=ln.float64))
    assert y.dtype == np.float64 and bn.running_mean.dtype == np.float64
    bn.reset_parameters()
    assert np.all(bn.running_mean.numpy() == 0) and np.all(bn.running_var.numpy() == 1)
    assert int(bn.num_batches_tracked.item()) == 0


def test_batchnorm_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"BatchNorm2d\(4.*expected 4 channels.*\(2, 3, 5, 5\)"):
        BatchNorm2d(4)(ln.randn(2, 3, 5, 5))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3.*expected 4D \(N, C, H, W\).*\(2, 3\)"):
        BatchNorm2d(3)(ln.randn(2, 3))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3.*expected 2D \(N, C\) or 3D"):
        BatchNorm1d(3)(ln.randn(2, 3, 4, 4))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        BatchNorm1d(3)(ln.randn(1, 3))
    BatchNorm1d(3).eval()(ln.randn(1, 3))  # fine in eval mode: running statistics
    with pytest.raises(TypeError, match=r"BatchNorm1d\(3.*dtype float64.*float32"):
        BatchNorm1d(3)(ln.randn(4, 3, dtype=ln.float64))
    with pytest.raises(ValueError, match="num_features must be a positive int"):
        BatchNorm2d(0)
    with pytest.raises(ValueError, match="momentum"):
        BatchNorm2d(3, momentum=2.0)


def test_batchnorm_under_no_grad_updates_stats_without_graph():
    bn = BatchNorm2d(2)
    with ln.no_grad():
        y = bn(ln.randn(4, 2, 3, 3) + 5)
    assert y._node is None and int(bn.num_batches_tracked.item()) == 1
    assert np.all(bn.running_mean.numpy() > 0.3)


# ---- LayerNorm ----------------------------------------------------------------------------------------

LN_CASES = [((4, 6), 6), ((2, 3, 4), (3, 4)), ((3, 2, 5), 5)]


@pytest.mark.parametrize("shape,nshape", LN_CASES)
@pytest.mark.parametrize("affine,bias", [(True, True), (True, False), (False, False)])
def test_layernorm_gradcheck(shape, nshape, affine, bias):
    m = LayerNorm(nshape, elementwise_affine=affine, bias=bias)
    for p in m.parameters():
        p.data[...] = rand(*p.shape, seed=p.ndim) + 1
    gradcheck_module(m, rand(*shape, seed=1) * 3)


@parity
@pytest.mark.parametrize("shape,nshape", LN_CASES + [((64, 256), 256)])
@pytest.mark.parametrize("affine,bias", [(True, True), (True, False), (False, False)])
def test_layernorm_parity(shape, nshape, affine, bias):
    th = torch()
    m, tm = LayerNorm(nshape, eps=1e-4, elementwise_affine=affine, bias=bias), \
        th.nn.LayerNorm(nshape, eps=1e-4, elementwise_affine=affine, bias=bias)
    compare_steps(m, randomize(tm), [rand(*shape, seed=2) * 2 + 1])
    assert repr(m) == repr(tm)


@parity
def test_layer_norm_functional_parity_and_errors():
    th = torch()
    check_parity(lambda x, w, b: layer_norm(x, (5,), w, b), lambda x, w, b: th.nn.functional.layer_norm(x, (5,), w, b),
                 rand(3, 4, 5, seed=1), rand(5, seed=2), rand(5, seed=3))
    with pytest.raises(ValueError, match=r"LayerNorm\(\(5,\).*expected input of shape \(\*, 5\), got \(3, 4\)"):
        LayerNorm(5)(ln.randn(3, 4))
    with pytest.raises(ValueError, match="normalized_shape"):
        layer_norm(ln.randn(3, 4), (3,))


# ---- GroupNorm ----------------------------------------------------------------------------------------

GN_CASES = [(1, 4, (2, 4, 3, 3)), (2, 4, (3, 4, 5)), (4, 4, (2, 4, 2, 3)), (3, 6, (2, 6))]


@pytest.mark.parametrize("groups,channels,shape", GN_CASES)
@pytest.mark.parametrize("affine", [True, False])
def test_groupnorm_gradcheck(groups, channels, shape, affine):
    m = GroupNorm(groups, channels, affine=affine)
    for p in m.parameters():
        p.data[...] = rand(*p.shape, seed=p.ndim + 4) + 1
    gradcheck_module(m, rand(*shape, seed=2) * 2 - 1)


@parity
@pytest.mark.parametrize("groups,channels,shape", GN_CASES + [(8, 32, (16, 32, 7, 7))])
@pytest.mark.parametrize("affine,bias", [(True, True), (True, False), (False, True)])
def test_groupnorm_parity(groups, channels, shape, affine, bias):
    th = torch()
    m, tm = GroupNorm(groups, channels, affine=affine, bias=bias), th.nn.GroupNorm(groups, channels, affine=affine,
                                                                                     bias=bias)
    compare_steps(m, randomize(tm), [rand(*shape, seed=3) + 2])
    assert repr(m) == repr(tm)


def test_groupnorm_errors():
    with pytest.raises(ValueError, match="num_channels=6 must be divisible by num_groups=4"):
        GroupNorm(4, 6)
    with pytest.raises(ValueError, match=r"GroupNorm\(2, 4.*expected input of shape \(N, 4, \*\), got \(2, 3, 5\)"):
        GroupNorm(2, 4)(ln.randn(2, 3, 5))
    with pytest.raises(ValueError, match="must divide into num_groups=3"):
        group_norm(ln.randn(2, 4, 5), 3)


def test_norms_keep_float32_and_leave_input_alone():
    x = ln.randn(4, 6, 3, 3)
    before = x.numpy().copy()
    for m in (BatchNorm2d(6), GroupNorm(3, 6), LayerNorm((3, 3)), BatchNorm2d(6).eval()):
        y = m(x)
        assert y.dtype == np.float32
        np.testing.assert_array_equal(x.numpy(), before)


def test_norm_layers_in_a_model_train_end_to_end():
    """Gradients reach every parameter through each norm layer, and an SGD step lowers the loss."""
    ln.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 12), LayerNorm(12),
                          nn.Linear(12, 3))
    x, y = ln.randn(32, 8), ln.randint(0, 3, (32,))
    opt = ln.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        assert all(p.grad is not None and p.grad.dtype == np.float32 for p in model.parameters())
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] * 0.8



def channels_last(a):
    """An NCHW array whose memory is NHWC (what a convolution returns)."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_channels_last_memory_gives_the_same_values_and_keeps_the_layout(training, backend):
    x = rand(6, 5, 4, 3, seed=1, dtype=np.float32) * 2 + 1
    g = rand(6, 5, 4, 3, seed=2, dtype=np.float32)
    results = []
    for xa, ga in ((x, g), (channels_last(x), channels_last(g)), (channels_last(x), g)):
        bn = BatchNorm2d(5).train(training)
        bn.weight.data[...] = rand(5, seed=3, dtype=np.float32)
        bn.running_var.data[...] = 2.0
        xt = ln.tensor(xa, requires_grad=True)
        xt.array = xa  # keep the memory layout (tensor() copies into C order)
        y = bn(xt)
        assert y.numpy().flags.c_contiguous == xa.flags.c_contiguous  # the output follows the input's layout
        y.backward(ga)
        results.append((y.numpy(), xt.grad, bn.weight.grad, bn.bias.grad, bn.running_mean.numpy().copy()))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_batchnorm_channels_last_gradcheck():
    bn = BatchNorm2d(3).double()
    bn.weight.data[...] = rand(3, seed=4) + 1
    x = ln.tensor(rand(4, 3, 2, 3, seed=5), dtype=ln.float64, requires_grad=True)
    x.array = channels_last(x.array)
    assert ln.autograd.gradcheck(lambda inp, w, b: bn(inp), [x, bn.weight, bn.bias])


@parity
@pytest.mark.parametrize("cls,shape", [(BatchNorm2d, (8, 6, 5, 7)), (BatchNorm1d, (32, 6))])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_channels_last_parity_on_both_paths(cls, shape, momentum, backend):
    th = torch()
    bn, tbn = cls(6, momentum=momentum), randomize(getattr(th.nn, cls.__name__)(6, momentum=momentum))
    layout = channels_last if len(shape) == 4 else None
    compare_steps(bn, tbn, [rand(*shape, seed=s) * (1 + s) + 3 * s for s in range(3)], layout=layout)
    bn.eval(), tbn.eval()
    compare_steps(bn, tbn, [rand(*shape, seed=7)], layout=layout)


def test_fused_kernels_match_the_numpy_path():
    if not _kernels.numba_available():
        pytest.skip("numba is not installed (pip install numba)")
    x = channels_last(rand(16, 8, 6, 6, seed=1, dtype=np.float32) * 4 + 100)  # a large mean: no cancellation
    g = channels_last(rand(16, 8, 6, 6, seed=2, dtype=np.float32))
    w, b = ln.tensor(rand(8, seed=3, dtype=np.float32), requires_grad=True), ln.tensor(np.ones(8, np.float32))
    results = []
    for fused in (False, True):
        previous = _kernels.set_numba(fused)
        try:
            xt = ln.tensor(x, requires_grad=True)
            xt.array = x
            rm, rv = ln.zeros(8), ln.ones(8)
            y = batch_norm(xt, rm, rv, w, b, training=True)
            assert (y._node.fused is not None) == fused
            y.backward(g)
            results.append((y.numpy(), xt.grad, w.grad, rm.numpy(), rv.numpy()))
            w.grad = None
        finally:
            _kernels.set_numba(previous)
    for a, c in zip(*results):
        np.testing.assert_allclose(a, c, rtol=2e-5, atol=2e-5)
    assert _kernels.compiled("norm", np.zeros(1, np.float32)) is not None


def test_group_and_layer_norm_take_channels_last_memory():
    x = rand(3, 4, 5, 2, seed=6, dtype=np.float32)
    for m in (GroupNorm(2, 4), LayerNorm((4, 5, 2))):
        xl = ln.tensor(x)
        xl.array = channels_last(x)
        np.testing.assert_allclose(m(xl).numpy(), m(ln.tensor(x)).numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_compiled_rows_match_the_numpy_path(affine):
    """float32 layer norm runs the one-pass row kernels of kernels.norm_numba when numba is on: output and
    the three gradients as the NumPy path, a large mean without cancellation, nothing saved under no_grad."""
    if not _kernels.numba_available():
        pytest.skip("numba is not installed (pip install numba)")
    x = rand(4, 5, 48, seed=1, dtype=np.float32) * 3 + 50
    g = rand(4, 5, 48, seed=2, dtype=np.float32)
    results = []
    for fused in (False, True):
        previous = _kernels.set_numba(fused)
        try:
            m = LayerNorm(48, elementwise_affine=affine)
            if affine:
                m.weight.data[:] = rand(48, seed=3, dtype=np.float32)
                m.bias.data[:] = rand(48, seed=4, dtype=np.float32)
            xt = ln.tensor(x, requires_grad=True)
            y = m(xt)
            assert (y._node.fused is not None) == fused
            y.backward(ln.tensor(g))
            with ln.no_grad():
                y0 = m(ln.tensor(x))
            np.testing.assert_array_equal(y0.numpy(), y.numpy())
            results.append((y.numpy(), xt.grad) + ((m.weight.grad, m.bias.grad) if affine else ()))
        finally:
            _kernels.set_numba(previous)
    for a, c in zip(*results):
        assert c.dtype == np.float32
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=2e-5)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
def test_batch_norm_hardtanh_is_batch_norm_then_relu6(training, layout, backend):
    """BatchNorm2d.forward_hardtanh (the clip folded into batch norm's passes) gives the values, the three
    gradients and the running statistics of the layer followed by ReLU6, on both kernel paths and layouts."""
    x = rand(6, 5, 4, 3, seed=1, dtype=np.float32) * 3 + 1
    g = rand(6, 5, 4, 3, seed=2, dtype=np.float32)
    if layout == "channels_last":
        x, g = channels_last(x), channels_last(g)
    results = []
    for fused in (False, True):
        bn = BatchNorm2d(5).train(training)
        bn.weight.data[...] = rand(5, seed=3, dtype=np.float32) + 0.5
        bn.bias.data[...] = rand(5, seed=4, dtype=np.float32)
        xt = ln.tensor(x, requires_grad=True)
        xt.array = x
        y = bn.forward_hardtanh(xt) if fused else nn.ReLU6()(bn(xt))
        y.backward(ln.tensor(g))
        results.append((y.numpy(), xt.grad, bn.weight.grad, bn.bias.grad, bn.running_mean.numpy(),
                        bn.running_var.numpy()))
    assert 0 < (results[1][0] == 6).mean() and 0 < (results[1][0] == 0).mean()  # both bounds are hit
    for a, c in zip(*results):
        np.testing.assert_allclose(a, c, rtol=1e-6, atol=1e-6)


def test_batch_norm_hardtanh_gradcheck_and_bounds():
    from lucidnet.fused.norm import batch_norm_hardtanh
    x = rand(4, 3, 5, seed=5) * 2
    w, b = rand(3, seed=6) + 1.0, rand(3, seed=7)
    check_grad(lambda x, w, b: batch_norm_hardtanh(x, None, None, w, b, training=True, min_val=-0.5, max_val=0.7),
               x, w, b)
    with pytest.raises(ValueError, match="min_val=2.0 must not exceed max_val=1.0"):
        batch_norm_hardtanh(ln.tensor(x), training=True, min_val=2.0, max_val=1.0)


@pytest.mark.parametrize("act", ["relu", "relu6", "hardtanh"])
@pytest.mark.parametrize("training", [True, False])
def test_sequential_folds_the_activation_into_batch_norm(act, training, backend):
    """Sequential runs BatchNorm + ReLU/ReLU6/Hardtanh as one node: the same bits as the layers one by one
    (outputs, input and parameter gradients, running statistics); a forward hook on either keeps them apart."""
    def make():
        ln.manual_seed(3)
        a = {"relu": nn.ReLU(), "relu6": nn.ReLU6(), "hardtanh": nn.Hardtanh(-0.5, 0.7)}[act]
        m = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), a)
        return m.train(training)
    x = rand(3, 2, 5, 6, seed=4).astype(np.float32)
    g = rand(3, 4, 5, 6, seed=5).astype(np.float32)
    res = []
    for fold in (True, False):
        m = make()
        t = ln.tensor(x, requires_grad=True)
        y = m(t) if fold else m[2](m[1](m[0](t)))
        y.backward(ln.tensor(g))
        res.append([y.numpy(), t.grad, m[0].weight.grad.numpy(), m[1].weight.grad.numpy(), m[1].bias.grad.numpy(),
                    m[1].running_mean.numpy(), m[1].running_var.numpy()])
        if fold:
            assert type(y._node).__name__ != "ReLU" and type(y._node).__name__ != "Hardtanh"
    for a, b in zip(*res):
        assert np.isfinite(a).all()
        np.testing.assert_array_equal(a, b)
    assert 0 < (res[0][0] == 0).mean() < 1 if act == "relu" else True
    seen = []
    m = make()
    m[2].register_forward_hook(lambda mod, inputs, out: seen.append(out.shape))
    m(ln.tensor(x))
    assert seen == [(3, 4, 5, 6)]
