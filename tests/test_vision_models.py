"""lucidnet.vision.models: SimpleCNN, VGG and ResNet against the same networks in PyTorch (state dicts load,
outputs and gradients match), the registry round trip, summary() of each, and clear errors."""
import numpy as np
import pytest
from helpers import parity, rand, torch
from test_normalization import compare_steps

import lucidnet as ln
from lucidnet import models
from lucidnet.vision.models import VGG, ResNet, SimpleCNN, resnet8, resnet14, resnet20, resnet32


# ---- the same networks in PyTorch -----------------------------------------------------------------------
def torch_simple_cnn(in_channels=1, num_classes=10, side=28):
    tn = torch().nn
    net = tn.Module()
    net.features = tn.Sequential(tn.Conv2d(in_channels, 32, 3, padding=1), tn.ReLU(), tn.MaxPool2d(2),
                                 tn.Conv2d(32, 64, 3, padding=1), tn.ReLU(), tn.MaxPool2d(2))
    net.classifier = tn.Sequential(tn.Flatten(), tn.Linear(64 * (side // 4) ** 2, 128), tn.ReLU(), tn.Dropout(0.25),
                                   tn.Linear(128, num_classes))
    net.forward = lambda x: net.classifier(net.features(x))
    return net


def torch_vgg(cfg, in_channels=1, num_classes=10, pool_size=7, hidden=256):
    tn = torch().nn
    layers, c = [], in_channels
    for v in cfg:
        if v == "M":
            layers.append(tn.MaxPool2d(2))
        else:
            layers += [tn.Conv2d(c, v, 3, padding=1, bias=False), tn.BatchNorm2d(v), tn.ReLU()]
            c = v
    net = tn.Module()
    net.features, net.avgpool = tn.Sequential(*layers), tn.AdaptiveAvgPool2d(pool_size)
    flat = c * pool_size ** 2
    head = [tn.Linear(flat, hidden), tn.ReLU(), tn.Dropout(0.0), tn.Linear(hidden, num_classes)] if hidden else \
        [tn.Dropout(0.0), tn.Linear(flat, num_classes)]
    net.classifier = tn.Sequential(tn.Flatten(), *head)
    net.forward = lambda x: net.classifier(net.avgpool(net.features(x)))
    return net


def torch_resnet(depth, in_channels=1, num_classes=10, width=16):
    """torchvision's BasicBlock and naming, CIFAR-style stem and stages."""
    th = torch()
    tn = th.nn

    class Block(tn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = tn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = tn.BatchNorm2d(cout)
            self.relu = tn.ReLU()
            self.conv2 = tn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = tn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = tn.Sequential(tn.Conv2d(cin, cout, 1, stride, bias=False), tn.BatchNorm2d(cout))

        def forward(self, x):
            idt = x if self.downsample is None else self.downsample(x)
            return self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))) + idt)

    n = (depth - 2) // 6
    net = tn.Module()
    net.conv1, net.bn1, net.relu = tn.Conv2d(in_channels, width, 3, 1, 1, bias=False), tn.BatchNorm2d(width), tn.ReLU()
    for i, (cin, cout, stride) in enumerate([(width, width, 1), (width, 2 * width, 2), (2 * width, 4 * width, 2)]):
        setattr(net, f"layer{i + 1}", tn.Sequential(Block(cin, cout, stride), *(Block(cout, cout, 1)
                                                                                for _ in range(n - 1))))
    net.avgpool, net.fc = tn.AdaptiveAvgPool2d(1), tn.Linear(4 * width, num_classes)
    net.forward = lambda x: net.fc(th.flatten(net.avgpool(net.layer3(net.layer2(net.layer1(
        net.relu(net.bn1(net.conv1(x))))))), 1))
    return net


def randomize_bn(tnet, seed=0):
    """Non-trivial batch-norm parameters and running statistics (a fresh one is the identity)."""
    th = torch()
    gen = th.Generator().manual_seed(seed)
    with th.no_grad():
        for m in tnet.modules():
            if isinstance(m, th.nn.BatchNorm2d):
                m.weight.copy_(th.rand(m.weight.shape, generator=gen) + 0.5)
                m.bias.copy_(th.randn(m.bias.shape, generator=gen) * 0.1)
                m.running_mean.copy_(th.randn(m.running_mean.shape, generator=gen) * 0.1)
                m.running_var.copy_(th.rand(m.running_var.shape, generator=gen) + 0.5)
    return tnet


# ---- SimpleCNN --------------------------------------------------------------------------------------------
def test_simple_cnn_is_the_benchmark_network_plus_dropout():
    net = SimpleCNN()
    assert [type(m).__name__ for m in net.features] == ["Conv2d", "ReLU", "MaxPool2d"] * 2
    assert [type(m).__name__ for m in net.classifier] == ["Flatten", "Linear", "ReLU", "Dropout", "Linear"]
    assert net.classifier[3].p == 0.25
    shapes = {k: v.shape for k, v in net.state_dict().items()}
    assert shapes == {"features.0.weight": (32, 1, 3, 3), "features.0.bias": (32,),
                      "features.3.weight": (64, 32, 3, 3), "features.3.bias": (64,),
                      "classifier.1.weight": (128, 3136), "classifier.1.bias": (128,),
                      "classifier.4.weight": (10, 128), "classifier.4.bias": (10,)}
    out = net(ln.randn(3, 1, 28, 28))
    assert out.shape == (3, 10) and out.dtype == np.float32
    assert SimpleCNN(in_channels=3, num_classes=5, image_size=32)(ln.randn(2, 3, 32, 32)).shape == (2, 5)


@parity
def test_simple_cnn_loads_the_pytorch_state_dict_and_matches_it():
    """Eval mode (dropout off): outputs, input and parameter gradients; the state dicts line up key for key."""
    th = torch()
    th.manual_seed(0)
    tnet = torch_simple_cnn().eval()
    net = SimpleCNN().eval()
    compare_steps(net, tnet, [rand(4, 1, 28, 28, seed=1), rand(2, 1, 28, 28, seed=2)], atol=1e-5)


@parity
def test_simple_cnn_in_training_mode_matches_pytorch_without_dropout():
    th = torch()
    th.manual_seed(1)
    tnet = torch_simple_cnn(in_channels=3, num_classes=4, side=32)
    tnet.classifier[3].p = 0.0
    net = SimpleCNN(in_channels=3, num_classes=4, image_size=32, dropout=0.0)
    compare_steps(net, tnet, [rand(3, 3, 32, 32, seed=3)], atol=1e-5)


def test_simple_cnn_dropout_is_active_in_training_only():
    net = SimpleCNN()
    x = ln.randn(8, 1, 28, 28)
    a, b = net(x).numpy(), net(x).numpy()
    assert not np.allclose(a, b)
    net.eval()
    np.testing.assert_array_equal(net(x).numpy(), net(x).numpy())


# ---- VGG ---------------------------------------------------------------------------------------------------
GAP = {"pool_size": 1, "hidden": 0}


@parity
@pytest.mark.parametrize("train,head", [(True, GAP), (False, GAP), (True, {"pool_size": 2, "hidden": 5})])
def test_vgg_matches_pytorch_in_both_modes(train, head):
    """Training mode checks batch statistics and the running statistics after two steps; eval mode the
    running statistics in use; the global-pool head and one with a hidden layer on a 2x2 pooled map."""
    th = torch()
    th.manual_seed(2)
    cfg = [4, "M", 6, 6, "M"]
    tnet = randomize_bn(torch_vgg(cfg, **head)).train(train)
    net = VGG(cfg=cfg, dropout=0.0, **head).train(train)
    compare_steps(net, tnet, [rand(3, 1, 12, 12, seed=4), rand(3, 1, 12, 12, seed=5) + 1], atol=1e-5)


def test_vgg_default_layout_and_parameter_names():
    net = VGG()
    kinds = [type(m).__name__ for m in net.features]
    assert kinds == ["Conv2d", "BatchNorm2d", "ReLU"] * 2 + ["MaxPool2d"] + ["Conv2d", "BatchNorm2d", "ReLU"] * 2 + \
        ["MaxPool2d"]
    assert all(m.bias is None for m in net.features if isinstance(m, ln.nn.Conv2d))
    assert [type(m).__name__ for m in net.classifier] == ["Flatten", "Linear", "ReLU", "Dropout", "Linear"]
    assert net.classifier[1].weight.shape == (256, 64 * 7 * 7) and net.classifier[3].p == 0.3
    assert "features.1.running_mean" in net.state_dict() and "classifier.4.weight" in net.state_dict()
    assert VGG(batch_norm=False).features[0].bias is not None
    gap = VGG(cfg=[8, "M", 16, "M"], pool_size=1, hidden=0)
    assert [type(m).__name__ for m in gap.classifier] == ["Flatten", "Dropout", "Linear"]
    assert net(ln.randn(2, 1, 28, 28)).shape == (2, 10) and gap(ln.randn(2, 1, 32, 32)).shape == (2, 10)
    assert net(ln.randn(2, 1, 28, 28)).shape == (2, 10) and net(ln.randn(2, 1, 32, 32)).shape == (2, 10)


# ---- ResNet ---------------------------------------------------------------------------------------------
@parity
@pytest.mark.parametrize("depth,train", [(8, True), (8, False), (14, True)])
def test_resnet_matches_torchvision_style_resnet(depth, train):
    th = torch()
    th.manual_seed(3)
    tnet = randomize_bn(torch_resnet(depth, width=4)).train(train)
    net = ResNet(depth=depth, width=4).train(train)
    compare_steps(net, tnet, [rand(2, 1, 12, 12, seed=6), rand(2, 1, 12, 12, seed=7) * 2], atol=1e-5)


def test_resnet_gradients_by_finite_differences():
    """float64, through the stem, a block with a 1x1 downsampling shortcut and one without, BN in training mode."""
    net = ResNet(depth=8, width=2).double()
    x = ln.tensor(rand(2, 1, 6, 6, seed=8), dtype=ln.float64, requires_grad=True)
    params = [p for name, p in net.named_parameters() if name.startswith(("conv1", "layer2.0", "fc"))]
    assert ln.autograd.gradcheck(lambda inp, *ps: net(inp), [x, *params], atol=1e-5, rtol=1e-4)


def test_resnet_family_sizes_and_names():
    counts = {f.__name__: sum(p.numel() for p in f().parameters()) for f in (resnet8, resnet14, resnet20, resnet32)}
    assert counts["resnet8"] == 77_754 and 0.26e6 < counts["resnet20"] < 0.28e6   # He et al.: 0.27 M
    assert counts["resnet8"] < counts["resnet14"] < counts["resnet20"] < counts["resnet32"]
    net = resnet20(in_channels=3, num_classes=100, width=8)
    assert net.layer1[0].downsample is None and net.layer2[0].downsample is not None and len(net.layer3) == 3
    assert {"layer2.0.downsample.0.weight", "layer2.0.downsample.1.running_var", "fc.weight"} <= set(net.state_dict())
    assert net(ln.randn(2, 3, 32, 32)).shape == (2, 100)
    z = ResNet(depth=8, zero_init_residual=True)
    assert all(float(np.abs(b.bn2.weight.array).max()) == 0 for b in (z.layer1[0], z.layer2[0], z.layer3[0]))


# ---- the registry ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("net", [SimpleCNN(num_classes=7), VGG(cfg=[8, "M", 16], dropout=0.1),
                                 ResNet(depth=14, width=4, in_channels=3)], ids=["cnn", "vgg", "resnet"])
def test_registered_models_rebuild_from_their_config(net, tmp_path):
    config = models.config_of(net)
    assert config["name"] in models.registered()
    rebuilt = models.build(config)
    assert type(rebuilt) is type(net) and models.config_of(rebuilt) == config
    ln.save(net.state_dict(), tmp_path / "m.safetensors")
    rebuilt.load_state_dict(ln.load(tmp_path / "m.safetensors"))
    x = ln.randn(2, net.in_channels, 28, 28)
    net.eval(), rebuilt.eval()
    np.testing.assert_array_equal(net(x).numpy(), rebuilt(x).numpy())


# ---- summary ------------------------------------------------------------------------------------------------
def test_summary_of_simple_cnn_counts_conv_pool_and_linear_flops():
    s = SimpleCNN().summary((1, 28, 28), batch_size=2)
    rows = {r.name: r for r in s.rows}
    assert [r.output_shape for r in s.rows] == [(2, 32, 28, 28), (2, 32, 28, 28), (2, 32, 14, 14), (2, 64, 14, 14),
                                                (2, 64, 14, 14), (2, 64, 7, 7), (2, 3136), (2, 128), (2, 128),
                                                (2, 128), (2, 10)]
    conv1 = 2 * 2 * 32 * 28 * 28 * 9 + 2 * 32 * 28 * 28          # a multiply-add is 2 FLOPs, plus the bias
    conv2 = 2 * 2 * 64 * 14 * 14 * 32 * 9 + 2 * 64 * 14 * 14
    assert rows["features.0"].flops == conv1 and rows["features.3"].flops == conv2
    assert rows["features.2"].flops == 2 * 32 * 14 * 14 * 4       # max-pool: one per tap of every output
    assert rows["classifier.1"].flops == 2 * 2 * 3136 * 128 + 2 * 128
    assert rows["features.3"].params == 64 * 32 * 9 + 64 and s.total_params == 421_642
    assert not s.unknown_flops and "features.0 (Conv2d)" in str(s) and "(2, 64, 7, 7)" in str(s)


def test_summary_of_resnet_and_vgg_count_every_layer():
    s = ResNet(depth=8, width=4).summary((1, 28, 28))
    rows = {r.name: r for r in s.rows}
    assert not s.unknown_flops
    assert rows["layer3.0.conv2"].output_shape == (1, 16, 7, 7)
    assert rows["layer1.0.bn1"].flops == 2 * 4 * 28 * 28            # normalise, then scale and shift
    assert rows["layer2.0.downsample.0"].flops == 2 * 8 * 14 * 14 * 4
    assert rows["avgpool"].flops == 16 * 7 * 7 and rows["avgpool"].output_shape == (1, 16, 1, 1)
    assert s.total_params == sum(p.numel() for p in ResNet(depth=8, width=4).parameters())
    v = VGG().summary((1, 28, 28))
    assert not v.unknown_flops and v.rows[-1].output_shape == (1, 10)
    assert 38e6 < v.flops < 39e6   # four 3x3 convolutions (36.8 M) and the 3136-256-10 head (1.6 M)


# ---- errors -------------------------------------------------------------------------------------------------
def test_clear_errors():
    with pytest.raises(ValueError, match=r"SimpleCNN expected images of shape \(N, 1, 28, 28\).*x.reshape"):
        SimpleCNN()(ln.randn(2, 784))
    with pytest.raises(ValueError, match="SimpleCNN was built for 28x28 images"):
        SimpleCNN()(ln.randn(2, 1, 32, 32))
    with pytest.raises(ValueError, match=r"ResNet expected images of shape \(N, 3, H, W\)"):
        ResNet(depth=8, in_channels=3)(ln.randn(2, 1, 28, 28))
    with pytest.raises(ValueError, match="depth must be 6n \\+ 2"):
        ResNet(depth=18)
    with pytest.raises(ValueError, match="VGG: every width in cfg"):
        VGG(cfg=[8, "X"])
    with pytest.raises(ValueError, match="VGG needs images of at least 4x4"):
        VGG()(ln.randn(1, 1, 3, 3))
    with pytest.raises(ValueError, match="dropout must be a probability"):
        SimpleCNN(dropout=1.5)
    with pytest.raises(ValueError, match="image_size must be at least 4x4"):
        SimpleCNN(image_size=3)
    with pytest.raises(ValueError, match="num_classes must be a positive int"):
        VGG(num_classes=0)
    with pytest.raises(ValueError, match="VGG: hidden must be a positive int"):
        VGG(hidden=-3)


def test_mobilenet_conv_bn_relu6_fuses_unless_a_child_is_hooked_or_replaced():
    """ConvBNReLU6 runs batch norm and ReLU6 as one node; the values and gradients are those of its three
    children run one by one, which it falls back to when a child has a forward hook or is replaced."""
    from lucidnet.vision.models.mobilenet import ConvBNReLU6
    block = ConvBNReLU6(3, 8, 3)
    x = ln.randn(2, 3, 9, 9) * 3
    outs = []
    for fused in (True, False):
        block.zero_grad()
        xt = ln.tensor(x.numpy(), requires_grad=True)
        y = block(xt) if fused else block[2](block[1](block[0](xt)))
        assert (type(y._node).__name__ == "BatchNorm") == fused
        (y * y).sum().backward()
        outs.append((y.numpy(), xt.grad, block[0].weight.grad.array.copy(), block[1].weight.grad.array.copy()))
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    seen = []
    handle = block[2].register_forward_hook(lambda m, i, o: seen.append(o))
    y = block(x)
    assert len(seen) == 1 and type(y._node).__name__ == "Hardtanh"
    handle.remove()
    block[2] = ln.nn.Hardtanh(-0.5, 0.5)  # other bounds: fused with them
    y = block(x).numpy()
    assert y.min() == -0.5 and y.max() == 0.5
    block[2] = ln.nn.Tanh()  # another activation: the children one by one
    assert float(block(x).min()) < -0.5
