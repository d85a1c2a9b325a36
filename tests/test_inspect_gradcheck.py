"""`lucidnet.autograd.gradcheck` as a user tool: checking your own op or layer against finite differences."""
import numpy as np
import pytest

import lucidnet as ln
from lucidnet.autograd import Function, gradcheck


class ScaledSoftplus(Function):
    """A user's op with two inputs and its own backward: y = a * log(1 + exp(x))."""

    def forward(self, x, a):
        self.x, self.a = x, a
        return a * np.logaddexp(0, x)

    def backward(self, g):
        sig = 1 / (1 + np.exp(-self.x))
        return g * self.a * sig, (g * np.logaddexp(0, self.x)).sum(axis=0)


def test_a_users_custom_op_passes_and_a_wrong_gradient_is_caught():
    x = ln.randn(4, 3, dtype=ln.float64, requires_grad=True)
    a = ln.randn(3, dtype=ln.float64, requires_grad=True)
    x0, a0 = x.numpy().copy(), a.numpy().copy()
    assert gradcheck(ScaledSoftplus.apply, [x, a])
    np.testing.assert_array_equal(x.numpy(), x0)  # the inputs are left as they were
    np.testing.assert_array_equal(a.numpy(), a0)

    class Forgot(ScaledSoftplus):  # forgets the a-factor in dy/dx
        def backward(self, g):
            gx, ga = super().backward(g)
            return gx / self.a, ga

    assert gradcheck(Forgot.apply, [x, a], raise_exception=False) is False
    with pytest.raises(AssertionError, match=r"input 0 \(shape \(4, 3\)\)"):
        gradcheck(Forgot.apply, [x, a])


def test_a_users_layer_checked_through_its_parameters():
    """Check a whole layer: make it float64, and pass the parameters as inputs of the function."""
    layer = ln.nn.Sequential(ln.nn.Linear(3, 4), ln.nn.Tanh(), ln.nn.Linear(4, 2)).double()
    params = list(layer.parameters())
    x = ln.randn(5, 3, dtype=ln.float64, requires_grad=True)
    assert gradcheck(lambda x, *ps: layer(x), [x, *params])


def test_only_inputs_that_require_grad_are_checked_and_they_must_be_float64():
    x = ln.randn(2, 2, dtype=ln.float64, requires_grad=True)
    c = ln.randn(2, 2, dtype=ln.float64)  # a constant: not perturbed, not checked
    assert gradcheck(lambda x, c: (x * c).exp(), [x, c])
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda x: x * 2, [ln.randn(2, requires_grad=True)])
