"""Structured channel pruning: the pruned network is smaller, computes the same function when the removed
channels carried nothing, rebuilds from its config, and models it cannot narrow are refused."""
import numpy as np
import pytest

import lucidnet as ln
from lucidnet import models, nn, pruning
from lucidnet.pruning import ChannelPruningError, prune_channels

IMAGES = (3, 1, 28, 28)


def _zero_half(model: nn.Module, rng) -> dict:
    """Zero half the output channels of every layer but the last (the conv filters and biases; the batch norm's
    scale and shift where one follows), so those channels output exactly 0; returns the kept widths."""
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))][:-1]
    norms = {id(layers[i]): m for i, m in enumerate(_norm_after(model, layers))}
    kept = []
    for layer in layers:
        c = layer.weight.shape[0]
        dead = rng.permutation(c)[: c // 2]
        norm = norms.get(id(layer))
        if norm is not None:
            norm.weight.array[dead] = 0
            norm.bias.array[dead] = 0
        else:
            layer.weight.array[dead] = 0
            if layer.bias is not None:
                layer.bias.array[dead] = 0
        kept.append(c - c // 2)
    return kept


def _norm_after(model, layers):
    mods = list(model.modules())
    out = []
    for layer in layers:
        nxt = mods[mods.index(layer) + 1]
        out.append(nxt if isinstance(nxt, nn.BatchNorm2d) else None)
    return out


@pytest.mark.parametrize("config, widths", [
    ({"name": "cnn"}, ("channels", "hidden")),
    ({"name": "vgg"}, ("cfg", "hidden")),
    ({"name": "mlp", "hidden": [64, 32]}, ("hidden",)),
])
def test_removing_all_zero_channels_keeps_the_function_exactly(config, widths):
    ln.manual_seed(0)
    model = models.build(config)
    # trained-like batch-norm statistics, so eval mode is not the identity
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.array[:] = np.random.default_rng(1).normal(size=m.running_mean.shape)
            m.running_var.array[:] = np.random.default_rng(2).uniform(0.5, 2, size=m.running_var.shape)
    kept = _zero_half(model, np.random.default_rng(0))
    model.eval()
    x = ln.randn(*IMAGES)
    small = prune_channels(model, 0.5, x)
    assert not small.training
    got_widths = [m.weight.shape[0] for m in small.modules() if isinstance(m, (nn.Conv2d, nn.Linear))][:-1]
    assert got_widths == kept
    np.testing.assert_allclose(small(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-5)
    assert sum(p.numel() for p in small.parameters()) < 0.5 * sum(p.numel() for p in model.parameters())
    # the new widths are in the config, and the config rebuilds exactly the pruned network
    assert models.config_of(small)["name"] == config["name"]
    rebuilt = models.build(models.config_of(small))
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {k: v.shape for k, v in small.state_dict().items()}
    flat = [w for k in widths for w in (small.config[k] if isinstance(small.config[k], list) else [small.config[k]])
            if isinstance(w, int)]
    assert flat == kept
    # the given model is unchanged
    assert [m.weight.shape[0] for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))][:-1] == \
        [2 * k for k in kept]


def test_least_important_channels_go_l1_or_batch_norm_scale():
    ln.manual_seed(3)
    cnn = models.build({"name": "cnn"})
    small = prune_channels(cnn, 0.25, ln.randn(*IMAGES))
    w = cnn.features[0].weight.array
    keep = np.sort(np.argsort(-np.abs(w).reshape(32, -1).sum(1), kind="stable")[:24])
    np.testing.assert_array_equal(small.features[0].weight.array, w[keep])
    w3 = cnn.features[3].weight.array
    keep3 = np.sort(np.argsort(-np.abs(w3).reshape(64, -1).sum(1), kind="stable")[:48])
    np.testing.assert_array_equal(small.features[3].weight.array, w3[keep3][:, keep])  # rows and inputs narrowed
    # the Linear after Flatten loses the columns of the removed channels (channel x 7 x 7)
    fc = cnn.classifier[1].weight.array.reshape(128, 64, 49)
    keep_fc = np.sort(np.argsort(-np.abs(cnn.classifier[1].weight.array).sum(1), kind="stable")[:96])
    np.testing.assert_array_equal(small.classifier[1].weight.array, fc[keep_fc][:, keep3].reshape(96, 48 * 49))
    ln.manual_seed(4)
    vgg = models.build({"name": "vgg"})
    vgg.features[1].weight.array[:] = np.random.default_rng(0).uniform(0.1, 1, 32)
    small = prune_channels(vgg, 0.5, ln.randn(*IMAGES))
    keep = np.sort(np.argsort(-vgg.features[1].weight.array, kind="stable")[:16])
    np.testing.assert_array_equal(small.features[1].weight.array, vgg.features[1].weight.array[keep])
    np.testing.assert_array_equal(small.features[1].running_var.array, vgg.features[1].running_var.array[keep])


def test_old_simple_cnn_configs_still_build():
    old = {"name": "cnn", "in_channels": 1, "num_classes": 10, "image_size": [28, 28], "dropout": 0.25}
    m = models.build(old)
    assert sum(p.numel() for p in m.parameters()) == 421642
    assert m.config["channels"] == [32, 64] and m.config["hidden"] == 128
    with pytest.raises(ValueError, match="channels must be the two conv stages' widths"):
        models.build({"name": "cnn", "channels": [8]})


@pytest.mark.parametrize("config, shape, why", [
    ({"name": "resnet", "depth": 20, "width": 8, "in_channels": 1}, IMAGES, "ResNet.*not a plain chain.*residual"),
    ({"name": "mobilenet_v2", "width_mult": 0.25}, (1, 3, 32, 32), "MobileNetV2.*not a plain chain"),
])
def test_residual_networks_are_refused(config, shape, why):
    with pytest.raises(ChannelPruningError, match=why):
        prune_channels(models.build(config), 0.5, ln.randn(*shape))


def test_other_refusals():
    mlp = models.build({"name": "mlp", "in_features": 8, "hidden": [8], "num_classes": 2})
    with pytest.raises(ValueError, match=r"amount must be a fraction in \[0, 1\)"):
        prune_channels(mlp, 1.0, ln.randn(2, 8))
    pruning.l1_unstructured(mlp.net[1], "weight", amount=0.5)
    with pytest.raises(ChannelPruningError, match="has pruning masks"):
        prune_channels(mlp, 0.5, ln.randn(2, 8))
    with pytest.raises(ChannelPruningError, match="not a registered model"):
        prune_channels(nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2)), 0.5, ln.randn(2, 4))
    with pytest.raises(ChannelPruningError, match="no layer that feeds another"):
        prune_channels(models.build({"name": "mlp", "in_features": 8, "hidden": [], "num_classes": 2}), 0.5,
                       ln.randn(2, 8))
    assert isinstance(ChannelPruningError("x"), ValueError)  # the CLI reports it as bad input
