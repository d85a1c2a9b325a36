"""Forward hooks on Module, and model.summary(): shapes, parameters, FLOPs, activation memory."""
import numpy as np
import pytest

import lucidnet as ln
from lucidnet import nn
from lucidnet.inspect import register_flops, summary


# ---- forward hooks --------------------------------------------------------------------------------------
def test_forward_hook_sees_inputs_and_output_and_is_removed():
    fc = nn.Linear(3, 2)
    seen = []
    h = fc.register_forward_hook(lambda m, inputs, out: seen.append((m, inputs[0].shape, out.shape)))
    x = ln.randn(4, 3)
    fc(x)
    assert seen == [(fc, (4, 3), (4, 2))]
    h.remove()
    fc(x)
    assert len(seen) == 1
    h.remove()  # removing twice is harmless


def test_forward_hook_can_replace_the_output_and_hooks_run_in_order():
    relu = nn.ReLU()
    order = []
    relu.register_forward_hook(lambda m, i, o: order.append("a"))
    relu.register_forward_hook(lambda m, i, o: o * 2.0)
    relu.register_forward_hook(lambda m, i, o: order.append(float(o.data[0])))
    out = relu(ln.tensor([3.0]))
    assert order == ["a", 6.0] and float(out.data[0]) == 6.0 and out.dtype == np.float32


def test_hook_handle_as_context_manager_and_gradients_flow_through_hooked_modules():
    fc = nn.Linear(3, 1)
    x = ln.randn(2, 3)
    with fc.register_forward_hook(lambda m, i, o: None):
        fc(x).sum().backward()
    g = fc.weight.grad.array.copy()
    fc.zero_grad()
    fc(x).sum().backward()
    np.testing.assert_array_equal(fc.weight.grad, g)
    assert not fc._forward_hooks


def test_modules_without_hooks_keep_the_single_check_fast_path():
    """No instance gets a hooks dict until a hook is registered; the class default stays empty."""
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    net(ln.randn(1, 2))
    assert nn.Module._forward_hooks == {}
    assert all("_forward_hooks" not in m.__dict__ for m in net.modules())
    h = net[1].register_forward_hook(lambda *a: None)
    assert nn.Module._forward_hooks == {} and "_forward_hooks" not in net[0].__dict__
    h.remove()
    assert not net[1]._forward_hooks


def test_register_forward_hook_rejects_non_callables():
    with pytest.raises(TypeError, match="callable"):
        nn.ReLU().register_forward_hook(3)


# ---- summary ------------------------------------------------------------------------------------------------
def mlp():
    return ln.models.MLP(784, [512, 256], 10)


def test_summary_of_the_fashion_mnist_mlp():
    s = mlp().summary((1, 28, 28), batch_size=128)
    assert [(r.name, r.type) for r in s.rows] == [("net.0", "Flatten"), ("net.1", "Linear"), ("net.2", "ReLU"),
                                                  ("net.3", "Linear"), ("net.4", "ReLU"), ("net.5", "Linear")]
    assert [r.output_shape for r in s.rows] == [(128, 784), (128, 512), (128, 512), (128, 256), (128, 256),
                                                (128, 10)]
    assert [r.params for r in s.rows] == [0, 784 * 512 + 512, 0, 512 * 256 + 256, 0, 256 * 10 + 10]
    assert s.total_params == s.trainable_params == 535_818 and s.frozen_params == 0
    assert s.param_bytes == 535_818 * 4
    # a multiply-add is 2 FLOPs, plus one per bias add; ReLU one per element; Flatten nothing
    lin = [2 * 128 * i * o + 128 * o for i, o in ((784, 512), (512, 256), (256, 10))]
    assert [r.flops for r in s.rows] == [0, lin[0], 128 * 512, lin[1], 128 * 256, lin[2]]
    assert s.flops == sum(lin) + 128 * (512 + 256)
    # Flatten's output is a view of its input (no memory); the others are float32 arrays
    assert [r.activation_bytes for r in s.rows] == [0] + [128 * n * 4 for n in (512, 512, 256, 256, 10)]
    text = str(s)
    for piece in ("net.1 (Linear)", "(128, 512)", "401,920", "Total params: 535,818", "Frozen params: 0",
                  "FLOPs per forward pass: 137.2 M"):
        assert piece in text, piece


def test_summary_counts_frozen_parameters_and_restores_the_mode():
    net = mlp()
    net.net[1].requires_grad_(False)
    net.train()
    s = summary(net, (784,))
    assert s.frozen_params == 784 * 512 + 512 and s.trainable_params == s.total_params - s.frozen_params
    assert s.rows[1].frozen == 784 * 512 + 512 and s.rows[3].frozen == 0
    assert net.training and all(m.training for m in net.modules())
    assert "Frozen params: 401,920" in str(s)


def test_summary_runs_in_eval_mode_without_a_graph():
    modes = []
    net = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    net[1].register_forward_hook(lambda m, i, o: modes.append((m.training, o.requires_grad)))
    summary(net, (4,))
    assert modes == [(False, False)]


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 4)
        self.b = nn.Linear(5, 4)
        self.unused = nn.Linear(2, 2)
        self.scale = ln.nn.Parameter(ln.ones(4))

    def forward(self, x, y):
        return (self.a(x) + self.b(y)) * self.scale


def test_summary_with_two_inputs_lists_unused_layers_and_own_parameters():
    s = summary(TwoInputs(), [(3,), (5,)], batch_size=2)
    names = [(r.name, r.output_shape) for r in s.rows]
    # the model holds a parameter of its own, so it gets a row too (after its layers: hooks fire on return)
    assert names == [("a", (2, 4)), ("b", (2, 4)), ("", (2, 4)), ("unused", None)]
    assert s.rows[2].params == 4 and s.rows[3].params == 6
    assert s.total_params == 16 + 24 + 6 + 4
    assert "not called" in str(s) and s.input_shapes == [(2, 3), (2, 5)]


def test_summary_with_input_data_and_a_shared_layer():
    fc = nn.Linear(4, 4)
    net = nn.Sequential(fc, nn.ReLU(), fc)
    s = summary(net, input_data=np.zeros((3, 4), np.float32))
    assert [r.name for r in s.rows] == ["0", "1", "0"]
    assert [r.params for r in s.rows] == [20, 0, 0]  # a layer called twice is counted once
    assert s.total_params == 20 and s.flops == 2 * (2 * 3 * 16 + 12) + 12


def test_summary_flop_rules_can_be_registered_and_unknown_layers_are_named():
    class Square(nn.Module):
        def forward(self, x):
            return x * x

    class Cube(nn.Module):
        def forward(self, x):
            return x * x * x

    register_flops(Cube)(lambda m, inputs, out: 2 * out.numel())
    s = summary(nn.Sequential(Square(), Cube()), (5,))
    assert s.rows[0].flops is None and s.rows[1].flops == 10
    assert s.unknown_flops == ["0"] and "not counted: 0" in str(s)


def test_summary_float64_dtype_is_kept():
    net = nn.Sequential(nn.Linear(3, 2)).double()
    s = summary(net, (3,), dtype=ln.float64)
    assert s.input_dtypes == ["float64"] and s.rows[0].activation_bytes == 2 * 8


def test_summary_errors_name_what_was_expected():
    with pytest.raises(ValueError, match="input_shape"):
        summary(mlp())
    with pytest.raises(ValueError, match="without the batch dim"):
        summary(mlp(), (1, -28, 28))
    with pytest.raises(ValueError, match="batch_size"):
        summary(mlp(), (784,), batch_size=0)
    with pytest.raises(TypeError, match="nn.Module"):
        summary(lambda x: x, (3,))
    with pytest.raises(ValueError, match=r"Linear\(in_features=784"):
        summary(mlp(), (1, 28, 27))  # the layer's own error comes through
