"""PyTorch-style custom autograd Functions (issue 24, point 8): static ``forward(ctx, ...)`` and
``backward(ctx, ...)`` on tensors, ``ctx.save_for_backward`` / ``saved_tensors`` / ``needs_input_grad``,
against PyTorch and finite differences."""
import numpy as np
import pytest

import lucidnet as ln


def _classes(lib):
    class Legendre3(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return 0.5 * (5 * x ** 3 - 3 * x)

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * 1.5 * (5 * x ** 2 - 1)

    class ScaledProduct(lib.autograd.Function):       # two tensors and a number; a gradient per input
        @staticmethod
        def forward(ctx, a, b, scale):
            ctx.save_for_backward(a, b)
            ctx.scale = scale
            return a * b * scale

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            ga = g * b * ctx.scale if ctx.needs_input_grad[0] else None
            gb = g * a * ctx.scale if ctx.needs_input_grad[1] else None
            return ga, gb, None

    return Legendre3, ScaledProduct


def test_pytorch_style_functions_match_pytorch():
    th = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    xa, aa, ba = (rng.standard_normal(5).astype(np.float32) for _ in range(3))
    results = []
    for lib in (ln, th):
        legendre, product = _classes(lib)
        x, a = lib.tensor(xa, requires_grad=True), lib.tensor(aa, requires_grad=True)
        b = lib.tensor(ba)                              # needs no gradient: backward is told so
        y = legendre.apply(x * 2) + product.apply(a, b, 3.0)
        y.sum().backward()
        results.append((y.detach().numpy(), x.grad.numpy(), a.grad.numpy(), b.grad))
    (y1, gx1, ga1, gb1), (y2, gx2, ga2, gb2) = results
    np.testing.assert_allclose(y1, y2, rtol=1e-5)
    np.testing.assert_allclose(gx1, gx2, rtol=1e-5)
    np.testing.assert_allclose(ga1, ga2, rtol=1e-5)
    assert gb1 is None and gb2 is None


def test_pytorch_style_functions_pass_a_finite_difference_check():
    legendre, product = _classes(ln)
    ln.manual_seed(0)
    x, a, b = (ln.randn(3, 2, dtype=ln.float64, requires_grad=True) for _ in range(3))
    assert ln.autograd.gradcheck(lambda x, a, b: legendre.apply(x) * product.apply(a, b, 0.5), [x, a, b])


def test_pytorch_style_function_errors_and_graph_rules():
    legendre, _ = _classes(ln)

    class TooFew(ln.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, g):
            return g

    a, b = ln.ones(2, requires_grad=True), ln.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        TooFew.apply(a, b).sum().backward()
    with pytest.raises(TypeError, match="positional"):
        TooFew.apply(a, b=b)
    x = ln.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1.0
    y = legendre.apply(h)
    assert y.grad_fn.name == "Legendre3Backward" and y.requires_grad
    with ln.no_grad():
        h.add_(1)                                        # a saved tensor changed: PyTorch's error at backward
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()
    with ln.no_grad():
        z = legendre.apply(x)
    assert not z.requires_grad and z.grad_fn is None
