"""lucidnet.pruning's masks (torch.nn.utils.prune's semantics, checked against PyTorch), the forward pre-hook that
applies them, and gradients through them."""
import numpy as np
import pytest

import lucidnet as ln
from lucidnet import nn, pruning

torch = pytest.importorskip("torch")
import torch.nn.utils.prune as tprune  # noqa: E402


def _pair_linear(i=6, o=5, seed=0):
    t = torch.nn.Linear(i, o)
    rng = np.random.default_rng(seed)
    w, b = rng.standard_normal((o, i)).astype(np.float32), rng.standard_normal(o).astype(np.float32)
    with torch.no_grad():
        t.weight.copy_(torch.from_numpy(w))
        t.bias.copy_(torch.from_numpy(b))
    m = nn.Linear(i, o)
    m.load_state_dict({"weight": w, "bias": b})
    return m, t


def _pair_conv(seed=0):
    t = torch.nn.Conv2d(3, 4, 3, padding=1)
    m = nn.Conv2d(3, 4, 3, padding=1)
    rng = np.random.default_rng(seed)
    sd = {"weight": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
          "bias": rng.standard_normal(4).astype(np.float32)}
    t.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
    m.load_state_dict(sd)
    return m, t


@pytest.mark.parametrize("amount", [0.0, 0.3, 0.5, 1.0, 7, 0])
def test_l1_unstructured_matches_pytorch(amount):
    m, t = _pair_linear()
    pruning.l1_unstructured(m, "weight", amount=amount)
    tprune.l1_unstructured(t, "weight", amount=amount)
    np.testing.assert_array_equal(m.weight_mask.array, t.weight_mask.numpy())
    assert list(m.state_dict()) == list(t.state_dict())  # bias, weight_orig, weight_mask
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]
    x = np.random.default_rng(1).standard_normal((3, 6)).astype(np.float32)
    np.testing.assert_allclose(m(ln.tensor(x)).numpy(), t(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_pruning_twice_combines_masks_as_pytorch():
    m, t = _pair_conv()
    for amount in (0.4, 10, 0.5):
        pruning.l1_unstructured(m, "weight", amount=amount)
        tprune.l1_unstructured(t, "weight", amount=amount)
        np.testing.assert_array_equal(m.weight_mask.array, t.weight_mask.numpy())
    assert len(m._forward_pre_hooks) == 1 and len(next(iter(m._forward_pre_hooks.values()))) == 3
    x = np.random.default_rng(2).standard_normal((2, 3, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(m(ln.tensor(x)).numpy(), t(torch.from_numpy(x)).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_global_unstructured_matches_pytorch():
    (m1, t1), (m2, t2) = _pair_linear(6, 5, 0), _pair_linear(5, 3, 1)
    (c, tc) = _pair_conv(2)
    pruning.l1_unstructured(m2, "weight", amount=3)  # already pruned: the amount counts the unpruned entries
    tprune.l1_unstructured(t2, "weight", amount=3)
    ours, theirs = [(m1, "weight"), (m2, "weight"), (c, "weight"), (c, "bias")], \
        [(t1, "weight"), (t2, "weight"), (tc, "weight"), (tc, "bias")]
    pruning.global_unstructured(ours, pruning_method=pruning.L1Unstructured, amount=0.6)
    tprune.global_unstructured(theirs, pruning_method=tprune.L1Unstructured, amount=0.6)
    for (m, n), (t, _) in zip(ours, theirs):
        np.testing.assert_array_equal(getattr(m, n + "_mask").array, getattr(t, n + "_mask").numpy())
        np.testing.assert_array_equal(getattr(m, n).array, getattr(t, n).detach().numpy())


def test_gradients_reach_orig_through_the_mask_as_pytorch():
    m, t = _pair_conv()
    pruning.l1_unstructured(m, "weight", amount=0.5)
    tprune.l1_unstructured(t, "weight", amount=0.5)
    x = np.random.default_rng(3).standard_normal((2, 3, 5, 5)).astype(np.float32)
    (m(ln.tensor(x)) ** 2).sum().backward()
    (t(torch.from_numpy(x)) ** 2).sum().backward()
    np.testing.assert_allclose(m.weight_orig.grad.numpy(), t.weight_orig.grad.numpy(), rtol=1e-4, atol=1e-4)
    assert np.all(m.weight_orig.grad.numpy()[m.weight_mask.array == 0] == 0)
    assert m.weight_mask.grad is None and not m.weight_mask.requires_grad


def test_gradient_through_the_mask_float64_finite_differences():
    ln.manual_seed(0)
    fc = nn.Linear(4, 3).double()
    pruning.l1_unstructured(fc, "weight", amount=5)
    x = ln.randn(2, 4, dtype=ln.float64)
    loss = lambda: float((fc(x).tanh() ** 2).sum().item())  # noqa: E731
    (fc(x).tanh() ** 2).sum().backward()
    w, eps = fc.weight_orig.array, 1e-6
    numeric = np.zeros_like(w)
    for idx in np.ndindex(w.shape):  # through the hook: every forward recomputes weight_orig * weight_mask
        old = w[idx]
        w[idx] = old + eps
        up = loss()
        w[idx] = old - eps
        numeric[idx] = (up - loss()) / (2 * eps)
        w[idx] = old
    np.testing.assert_allclose(fc.weight_orig.grad.numpy(), numeric, rtol=1e-6, atol=1e-9)
    assert np.all(numeric[fc.weight_mask.array == 0] == 0)


def test_remove_makes_it_permanent_as_pytorch():
    m, t = _pair_linear()
    opt = ln.optim.SGD(m.parameters(), lr=0.1)  # built before pruning: it holds weight_orig (the same Parameter)
    w = m.weight
    pruning.l1_unstructured(m, "weight", amount=0.5)
    tprune.l1_unstructured(t, "weight", amount=0.5)
    assert m.weight_orig is w
    pruning.remove(m, "weight")
    tprune.remove(t, "weight")
    assert m.weight is w and not pruning.is_pruned(m) and not m._forward_pre_hooks and not m._hooked
    assert list(m.state_dict()) == list(t.state_dict())
    np.testing.assert_array_equal(m.weight.array, t.weight.detach().numpy())
    assert w.array.flags.f_contiguous  # nn.Linear's layout is kept
    m(ln.randn(2, 6)).sum().backward()
    opt.step()


def test_refusals_name_the_problem():
    fc = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="has to be pruned before"):
        pruning.remove(fc, "weight")
    with pytest.raises(ValueError, match="no parameter named 'kernel'"):
        pruning.l1_unstructured(fc, "kernel", amount=0.5)
    with pytest.raises(ValueError, match="float in the range"):
        pruning.l1_unstructured(fc, "weight", amount=1.5)
    with pytest.raises(TypeError, match="Must be int or float"):
        pruning.l1_unstructured(fc, "weight", amount="half")
    with pytest.raises(ValueError, match="should be smaller than the number of parameters"):
        pruning.l1_unstructured(fc, "weight", amount=7)
    assert "weight" in fc._parameters and not pruning.is_pruned(fc)  # bad input leaves it as it was
    with pytest.raises(TypeError, match="unstructured"):
        pruning.global_unstructured([(fc, "weight")], pruning_method=pruning.CustomFromMask, mask=np.ones((2, 3)))


def test_random_unstructured_counts_and_seed():
    a, b = nn.Linear(10, 10), nn.Linear(10, 10)
    ln.manual_seed(0)
    pruning.random_unstructured(a, "weight", amount=0.3)
    ln.manual_seed(0)
    pruning.random_unstructured(b, "weight", amount=0.3)
    assert int(a.weight_mask.array.sum()) == 70
    np.testing.assert_array_equal(a.weight_mask.array, b.weight_mask.array)


def test_forward_pre_hook_semantics_as_pytorch():
    fc, order = nn.Linear(4, 2), []
    h1 = fc.register_forward_pre_hook(lambda m, args: order.append("a"))
    fc.register_forward_pre_hook(lambda m, args: order.append("first"), prepend=True)
    h3 = fc.register_forward_pre_hook(lambda m, args: args[0] * 0)  # a single value is wrapped in a tuple
    out = fc(ln.randn(3, 4))
    assert order == ["first", "a"]
    np.testing.assert_allclose(out.numpy(), np.broadcast_to(fc.bias.numpy(), (3, 2)))
    h3.remove()
    h1.remove()
    assert fc._hooked  # one hook left
    with pytest.raises(TypeError, match="callable"):
        fc.register_forward_pre_hook(3)


def test_fused_mobilenet_block_respects_pre_hooks():
    from lucidnet.vision.models.mobilenet import ConvBNReLU6
    block = ConvBNReLU6(3, 4).eval()
    x = ln.randn(1, 3, 6, 6)
    seen = []
    block[1].register_forward_pre_hook(lambda m, args: seen.append(m))
    block(x)
    assert seen == [block[1]]  # the children ran one by one
    pruning.l1_unstructured(block[1], "weight", amount=2)
    ref = (block[1](block[0](x))).clamp(0, 6)
    np.testing.assert_allclose(block(x).numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)


def test_sequential_batch_norm_relu_fold_respects_pre_hooks():
    ln.manual_seed(0)
    seq = nn.Sequential(nn.BatchNorm2d(4), nn.ReLU()).eval()
    seq[0].running_mean.array[:] = 0.5
    x = ln.randn(2, 4, 3, 3)
    pruning.l1_unstructured(seq[0], "weight", amount=2)
    seq[0].weight_orig.array[:] = [1.0, 2.0, 3.0, 4.0]  # changed after the last forward: the hook must run
    ref = ((x - 0.5) / np.sqrt(1 + 1e-5) * ln.tensor(np.array([0, 0, 3, 4], np.float32)).reshape(1, 4, 1, 1)).relu()
    np.testing.assert_allclose(seq(x).numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)


def test_cached_attention_respects_pre_hooks():
    ln.manual_seed(0)
    mha = nn.MultiheadAttention(8, 2, batch_first=True).eval()
    dense = nn.MultiheadAttention(8, 2, batch_first=True).eval()
    pruning.l1_unstructured(mha, "in_proj_weight", amount=0.5)
    mha.in_proj_weight_orig.array *= 2  # changed after the last forward: the cached path must run the hook
    sd = {k.replace("_orig", ""): v for k, v in mha.state_dict().items() if not k.endswith("_mask")}
    sd["in_proj_weight"] = sd["in_proj_weight"] * mha.in_proj_weight_mask.array
    dense.load_state_dict(sd)
    x = ln.randn(1, 1, 8)
    np.testing.assert_allclose(mha.forward_cached(x, None, {}).numpy(),
                               dense(x, x, x, need_weights=False)[0].numpy(), rtol=1e-5, atol=1e-6)


def test_pruning_trains_and_keeps_pruned_weights_at_zero():
    ln.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    pruning.global_unstructured([(net[0], "weight"), (net[2], "weight")], amount=0.5)
    x = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    ln.fit(net, (x, y), loss="cross_entropy", epochs=2, batch_size=16, verbose=0)
    for m in (net[0], net[2]):
        assert np.all(m.weight.array[m.weight_mask.array == 0] == 0)
    sd = net.state_dict()
    other = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    for m in (other[0], other[2]):
        pruning.identity(m, "weight")
    other.load_state_dict(sd)
    np.testing.assert_allclose(other(ln.tensor(x)).numpy(), net(ln.tensor(x)).numpy(), rtol=1e-6, atol=1e-7)
