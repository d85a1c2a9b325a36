"""matmul (1-D promotion, batched, broadcast batch dims) and the fused affine op linear."""
import numpy as np
import pytest

import lucidnet as ln
from helpers import check_grad, check_parity, parity, rand


def T():
    return pytest.importorskip("torch")


MATMUL_SHAPES = [
    ((4,), (4,)),              # dot product -> 0-d
    ((4,), (4, 3)),            # vector @ matrix
    ((3, 4), (4,)),            # matrix @ vector
    ((3, 4), (4, 5)),
    ((1, 4), (4, 1)),
    ((2, 3, 4), (2, 4, 5)),    # batched
    ((2, 3, 4), (4, 5)),       # batch broadcast on the left
    ((4, 5), (2, 5, 3)),       # batch broadcast on the right
    ((2, 1, 3, 4), (5, 4, 2)),  # both broadcast: (2, 5, 3, 2)
    ((1, 3, 4), (2, 4, 2)),
    ((4,), (2, 4, 3)),         # 1-D with batched
    ((2, 3, 4), (4,)),
    ((2, 1, 3, 4), (4,)),
]
CASES = [pytest.param(sa, sb, id=f"{sa}@{sb}") for sa, sb in MATMUL_SHAPES]


@pytest.mark.parametrize("sa,sb", CASES)
def test_matmul_grad(sa, sb):
    check_grad(lambda a, b: a @ b, rand(*sa, seed=1), rand(*sb, seed=2))


@parity
@pytest.mark.parametrize("sa,sb", CASES)
def test_matmul_parity(sa, sb):
    outs, _ = check_parity(lambda a, b: ln.matmul(a, b), lambda a, b: T().matmul(a, b),
                           rand(*sa, seed=1), rand(*sb, seed=2))
    assert outs[0].dtype == np.float32


@parity
@pytest.mark.parametrize("sa,sb", CASES[:6])
def test_matmul_method_and_operator_spellings(sa, sb):
    check_parity(lambda a, b: a.matmul(b), lambda a, b: a.matmul(b), rand(*sa, seed=1), rand(*sb, seed=2))


def test_matmul_one_side_constant():
    """Only the side that requires grad gets one; the other (a plain array or constant) none."""
    w = rand(4, 3, seed=3)
    check_grad(lambda a: a @ ln.tensor(w, dtype=ln.float64), rand(2, 4, seed=1))
    check_grad(lambda b: ln.tensor(w.T, dtype=ln.float64) @ b, rand(4, 2, seed=1))
    x = ln.tensor(rand(2, 4), requires_grad=True)
    c = ln.tensor(w)
    (x @ c).sum().backward()
    assert c.grad is None and x.grad.shape == (2, 4) and x.grad.dtype == np.float32


def test_matmul_with_numpy_operand_keeps_float32():
    x = ln.tensor(rand(2, 4), requires_grad=True)
    y = x @ rand(4, 3).astype(np.float32)
    z = rand(5, 2).astype(np.float32) @ x
    assert y.dtype == np.float32 and z.dtype == np.float32 and z.shape == (5, 4)
    (y.sum() + z.sum()).backward()
    assert x.grad.dtype == np.float32


def test_matmul_chain_gradient_float32():
    x = ln.tensor(rand(3, 4), requires_grad=True)
    w1 = ln.tensor(rand(4, 8, seed=1), requires_grad=True)
    w2 = ln.tensor(rand(8, 2, seed=2), requires_grad=True)
    out = ((x @ w1).relu() @ w2).sum()
    out.backward()
    for t in (x, w1, w2):
        assert t.grad.dtype == np.float32 and t.grad.shape == t.shape


@pytest.mark.parametrize("sa,sb", [((3, 4), (5, 2)), ((4,), (3,)), ((2, 3, 4), (2, 5, 4)), ((3,), (2, 4, 5))])
def test_matmul_inner_dim_mismatch_names_shapes(sa, sb):
    with pytest.raises(ValueError, match=rf"matmul.*{sa}.*{sb}".replace("(", r"\(").replace(")", r"\)")):
        ln.matmul(ln.ones(*sa), ln.ones(*sb))


def test_matmul_batch_mismatch_and_0d_name_matmul():
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3, 4\).*\(3, 4, 5\)"):
        ln.matmul(ln.ones(2, 3, 4), ln.ones(3, 4, 5))
    with pytest.raises(ValueError, match="matmul"):
        ln.matmul(ln.tensor(2.0), ln.ones(3))


def test_matmul_mixed_dtype_raises():
    with pytest.raises(TypeError, match="matmul.*float"):
        ln.ones(2, 2) @ ln.ones(2, 2, dtype=ln.float64)


# ---- linear --------------------------------------------------------------------------------------

LINEAR_SHAPES = [(5, 3), (2, 4, 3), (3,), (2, 2, 2, 3)]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", LINEAR_SHAPES)
def test_linear_grad(shape, bias):
    args = [rand(*shape, seed=1), rand(4, 3, seed=2)] + ([rand(4, seed=3)] if bias else [])
    check_grad(lambda x, w, *b: ln.ops.linear(x, w, *b), *args)


@parity
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", LINEAR_SHAPES)
def test_linear_parity(shape, bias):
    F = T().nn.functional
    args = [rand(*shape, seed=1), rand(4, 3, seed=2)] + ([rand(4, seed=3)] if bias else [])
    outs, _ = check_parity(lambda x, w, *b: ln.ops.linear(x, w, *b), lambda x, w, *b: F.linear(x, w, *b), *args)
    assert outs[0].dtype == np.float32


def test_linear_with_constant_input_gives_weight_grads_only():
    x = ln.tensor(rand(5, 3))
    w = ln.tensor(rand(4, 3, seed=1), requires_grad=True)
    b = ln.tensor(rand(4, seed=2), requires_grad=True)
    ln.ops.linear(x, w, b).sum().backward()
    np.testing.assert_allclose(w.grad, np.ones((5, 4), np.float32).T @ x.numpy(), rtol=1e-5)
    np.testing.assert_allclose(b.grad, np.full(4, 5.0), rtol=1e-6)
    assert x.grad is None


def test_linear_errors():
    with pytest.raises(ValueError, match=r"linear.*\(5, 2\).*\(4, 3\)"):
        ln.ops.linear(ln.ones(5, 2), ln.ones(4, 3))
    with pytest.raises(TypeError, match="linear.*float64.*float32|linear.*float32.*float64"):
        ln.ops.linear(ln.ones(5, 3, dtype=ln.float64), ln.ones(4, 3))
    with pytest.raises(TypeError, match="linear: bias dtype float64"):
        ln.ops.linear(ln.ones(5, 3), ln.ones(4, 3), ln.ones(4, dtype=ln.float64))
