"""Elementwise ops (+ - * / neg pow exp sin cos log sqrt abs maximum minimum clip where, comparisons; the math
functions of ops.unary: tan ... sign).

Every differentiable case runs twice: a float64 finite-difference check of lucidnet's backward, and
a float32 PyTorch parity check of values and gradients on the same inputs (tinygrad's helper_test_op
style: one table, many shapes, broadcasting included).
"""
import warnings

import numpy as np
import pytest

import lucidnet as ln
from helpers import check_grad, check_parity, parity, rand


def normal(*shape, seed=0):
    return np.asarray(rand(*shape, seed=seed))


def positive(*shape, seed=0):
    return np.asarray(rand(*shape, seed=seed, low=0.5, high=2.0))


def unit(*shape, seed=0):
    """|x| <= 0.8: inside asin's and acos's domain, and away from tan's poles."""
    return np.asarray(rand(*shape, seed=seed, low=-0.8, high=0.8))


def away_from_zero(*shape, seed=0):
    """|x| in [0.2, 2], random sign: abs/sign-like ops are smooth there."""
    mag = positive(*shape, seed=seed) * 1.2 - 0.4
    sign = np.where(normal(*shape, seed=seed + 100) > 0, 1.0, -1.0)
    return mag * sign


# broadcasting pairs: same shape, trailing, leading 1s, both sides stretched, 0-d with n-d, rank mismatch
BROADCAST = [((3, 4), (3, 4)), ((3, 4), (4,)), ((4,), (3, 4)), ((2, 1, 4), (3, 1)), ((), (2, 3)), ((2, 3), ()),
             ((1,), (2, 3)), ((2, 1), (1, 3)), ((1, 3), (3,))]

# name, lucidnet fn, torch fn, maker of the first input, maker of the second input
BINARY = [
    ("add", lambda a, b: a + b, lambda a, b: a + b, normal, normal),
    ("sub", lambda a, b: a - b, lambda a, b: a - b, normal, normal),
    ("mul", lambda a, b: a * b, lambda a, b: a * b, normal, normal),
    ("div", lambda a, b: a / b, lambda a, b: a / b, normal, away_from_zero),
    ("pow", lambda a, b: a ** b, lambda a, b: a ** b, positive, normal),
    ("maximum", ln.maximum, lambda a, b: __import__("torch").maximum(a, b), normal, normal),
    ("minimum", ln.minimum, lambda a, b: __import__("torch").minimum(a, b), normal, normal),
    ("ops.add", ln.ops.add, lambda a, b: a + b, normal, normal),
    ("ops.sub", ln.ops.sub, lambda a, b: a - b, normal, normal),
    ("ops.mul", ln.ops.mul, lambda a, b: a * b, normal, normal),
    ("ops.div", ln.ops.div, lambda a, b: a / b, normal, away_from_zero),
    ("ops.pow", ln.ops.pow, lambda a, b: a ** b, positive, normal),
    ("method.add", lambda a, b: a.add(b), lambda a, b: a.add(b), normal, normal),
    ("method.sub", lambda a, b: a.sub(b), lambda a, b: a.sub(b), normal, normal),
    ("method.mul", lambda a, b: a.mul(b), lambda a, b: a.mul(b), normal, normal),
    ("method.div", lambda a, b: a.div(b), lambda a, b: a.div(b), normal, away_from_zero),
    ("method.maximum", lambda a, b: a.maximum(b), lambda a, b: a.maximum(b), normal, normal),
    ("method.minimum", lambda a, b: a.minimum(b), lambda a, b: a.minimum(b), normal, normal),
    # an expression where one input is used twice and the other broadcast
    ("compound", lambda a, b: (a * b + a) / (b * b + 1.0) - a ** 2,
     lambda a, b: (a * b + a) / (b * b + 1.0) - a ** 2, normal, normal),
]

BINARY_CASES = [pytest.param(fn, th, ma, mb, sa, sb, id=f"{name}-{sa}-{sb}")
                for name, fn, th, ma, mb in BINARY for sa, sb in BROADCAST]


@pytest.mark.parametrize("fn,th,ma,mb,sa,sb", BINARY_CASES)
def test_binary_grad(fn, th, ma, mb, sa, sb):
    check_grad(fn, ma(*sa, seed=1), mb(*sb, seed=2))


@parity
@pytest.mark.parametrize("fn,th,ma,mb,sa,sb", BINARY_CASES)
def test_binary_parity(fn, th, ma, mb, sa, sb):
    outs, _ = check_parity(fn, th, ma(*sa, seed=1), mb(*sb, seed=2))
    assert outs[0].dtype == np.float32


def _torch():
    return pytest.importorskip("torch")


# name, lucidnet fn, torch fn, maker, shape
UNARY = [
    ("neg", lambda x: -x, lambda x: -x, normal),
    ("neg.fn", ln.ops.neg, lambda x: -x, normal),
    ("pos", lambda x: +x * 1.0, lambda x: +x * 1.0, normal),
    ("exp", ln.exp, lambda x: x.exp(), normal),
    ("exp.method", lambda x: x.exp(), lambda x: x.exp(), normal),
    ("sin", ln.sin, lambda x: x.sin(), normal),
    ("cos.method", lambda x: x.cos(), lambda x: x.cos(), normal),
    ("tan", ln.tan, lambda x: x.tan(), unit),
    ("asin", ln.asin, lambda x: x.asin(), unit),
    ("acos.method", lambda x: x.acos(), lambda x: x.acos(), unit),
    ("atan", ln.atan, lambda x: x.atan(), normal),
    ("sinh", ln.sinh, lambda x: x.sinh(), normal),
    ("cosh.method", lambda x: x.cosh(), lambda x: x.cosh(), normal),
    ("log2", ln.log2, lambda x: x.log2(), positive),
    ("log10.method", lambda x: x.log10(), lambda x: x.log10(), positive),
    ("log1p", ln.log1p, lambda x: x.log1p(), positive),
    ("expm1", ln.expm1, lambda x: x.expm1(), normal),
    ("exp2", ln.exp2, lambda x: x.exp2(), normal),
    ("rsqrt", ln.rsqrt, lambda x: x.rsqrt(), positive),
    ("reciprocal.method", lambda x: x.reciprocal(), lambda x: x.reciprocal(), away_from_zero),
    ("square", ln.square, lambda x: x.square(), normal),
    ("floor (zero gradient)", lambda x: ln.floor(x * 3) + x, lambda x: (x * 3).floor() + x, normal),
    ("ceil.method", lambda x: (x * 3).ceil() * x, lambda x: (x * 3).ceil() * x, normal),
    ("round", lambda x: ln.round(x * 3) * x, lambda x: (x * 3).round() * x, normal),
    ("trunc", lambda x: ln.trunc(x * 3) * x, lambda x: (x * 3).trunc() * x, normal),
    ("sign.method", lambda x: x.sign() * x, lambda x: x.sign() * x, away_from_zero),
    ("log", ln.log, lambda x: x.log(), positive),
    ("log.method", lambda x: x.log(), lambda x: x.log(), positive),
    ("sqrt", ln.sqrt, lambda x: x.sqrt(), positive),
    ("sqrt.method", lambda x: x.sqrt(), lambda x: x.sqrt(), positive),
    ("abs", ln.abs, lambda x: x.abs(), away_from_zero),
    ("abs.builtin", lambda x: abs(x), lambda x: abs(x), away_from_zero),
    ("square", lambda x: x.square(), lambda x: x.square(), normal),
    ("pow2", lambda x: x ** 2, lambda x: x ** 2, normal),
    ("pow3", lambda x: x ** 3, lambda x: x ** 3, normal),
    ("pow0.5", lambda x: x ** 0.5, lambda x: x ** 0.5, positive),
    ("pow-1", lambda x: x ** -1, lambda x: x ** -1, away_from_zero),
    ("pow-1.5", lambda x: x ** -1.5, lambda x: x ** -1.5, positive),
    ("rpow", lambda x: 2.0 ** x, lambda x: 2.0 ** x, normal),
    ("radd", lambda x: 3.0 + x, lambda x: 3.0 + x, normal),
    ("rsub", lambda x: 3.0 - x, lambda x: 3.0 - x, normal),
    ("rmul", lambda x: 3.0 * x, lambda x: 3.0 * x, normal),
    ("rdiv", lambda x: 3.0 / x, lambda x: 3.0 / x, away_from_zero),
    ("add_int", lambda x: x + 2, lambda x: x + 2, normal),
    ("div_int", lambda x: x / 2, lambda x: x / 2, normal),
    ("clip", lambda x: x.clip(-0.5, 0.7), lambda x: x.clip(-0.5, 0.7), normal),
    ("clip_lo", lambda x: ln.clip(x, min=-0.3), lambda x: x.clamp(min=-0.3), normal),
    ("clip_hi", lambda x: ln.clamp(x, max=0.4), lambda x: x.clamp(max=0.4), normal),
    ("clamp.method", lambda x: x.clamp(-1.0, 1.0), lambda x: x.clamp(-1.0, 1.0), normal),
    ("maximum_scalar", lambda x: ln.maximum(x, 0.1), lambda x: x.clamp(min=0.1), normal),
    ("minimum_scalar", lambda x: ln.minimum(x, 0.1), lambda x: x.clamp(max=0.1), normal),
    ("chain", lambda x: ln.sqrt(ln.exp(x) + 1.0).log() * x.abs(),
     lambda x: (x.exp() + 1.0).sqrt().log() * x.abs(), away_from_zero),
]
UNARY_SHAPES = [(), (5,), (3, 4), (2, 3, 2)]
UNARY_CASES = [pytest.param(fn, th, mk, s, id=f"{name}-{s}") for name, fn, th, mk in UNARY for s in UNARY_SHAPES]


def _off_bounds(x, bounds=(-0.5, 0.7, -0.3, 0.4, -1.0, 1.0, 0.1)):
    """Move values away from clip bounds so finite differences never straddle a kink."""
    x = np.array(x, copy=True)
    for b in bounds:
        near = np.abs(x - b) < 1e-3
        x[near] += 1e-2
    return x


@pytest.mark.parametrize("fn,th,mk,shape", UNARY_CASES)
def test_unary_grad(fn, th, mk, shape):
    check_grad(fn, _off_bounds(mk(*shape, seed=3)))


@parity
@pytest.mark.parametrize("fn,th,mk,shape", UNARY_CASES)
def test_unary_parity(fn, th, mk, shape):
    outs, _ = check_parity(fn, th, _off_bounds(mk(*shape, seed=3)))
    assert outs[0].dtype == np.float32


@pytest.mark.parametrize("fn,th,mk,shape", UNARY_CASES[::4])
def test_unary_float64_stays_float64(fn, th, mk, shape):
    x = ln.tensor(_off_bounds(mk(*shape, seed=3)), dtype=ln.float64, requires_grad=True)
    y = fn(x)
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float64


# ---- ties and kinks: PyTorch's rules -----------------------------------------------------------

@parity
def test_maximum_minimum_ties_split_gradient_like_torch():
    a = np.array([1.0, 2.0, 3.0, -1.0, 0.0])
    b = np.array([1.0, 0.0, 3.0, 2.0, 0.0])
    th = _torch()
    check_parity(ln.maximum, th.maximum, a, b)
    check_parity(ln.minimum, th.minimum, a, b)
    x, y = ln.tensor(a, requires_grad=True), ln.tensor(b, requires_grad=True)
    ln.maximum(x, y).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.5, 1.0, 0.5, 0.0, 0.5])
    np.testing.assert_array_equal(y.grad, [0.5, 0.0, 0.5, 1.0, 0.5])


@parity
def test_maximum_ties_with_broadcasting():
    th = _torch()
    a = np.array([[1.0, 2.0, 3.0], [2.0, 2.0, 0.0]])
    b = np.array([2.0, 2.0, 0.0])
    check_parity(ln.maximum, th.maximum, a, b)
    check_parity(ln.minimum, th.minimum, a, b)


@parity
def test_clip_at_bounds_like_torch():
    """The gradient passes where the input equals a bound (PyTorch's clamp rule)."""
    x = np.array([-2.0, -1.0, -0.5, 0.0, 1.0, 1.5])
    check_parity(lambda t: t.clip(-1.0, 1.0), lambda t: t.clamp(-1.0, 1.0), x)
    t = ln.tensor(x, requires_grad=True)
    t.clip(-1.0, 1.0).sum().backward()
    np.testing.assert_array_equal(t.grad, [0, 1, 1, 1, 1, 0])


@parity
def test_abs_at_zero_like_torch():
    check_parity(ln.abs, lambda t: t.abs(), np.array([-1.0, 0.0, 2.0]))


@parity
def test_pow_edge_cases_like_torch():
    # base 0 with exponent 2 (gradient 0); exponent gradient at base 0 (PyTorch: 0 where base is 0)
    check_parity(lambda a, b: a ** b, lambda a, b: a ** b, np.array([0.0, 1.0, 2.0]), np.array([2.0, 3.0, 0.5]))
    check_parity(lambda a: a ** 2, lambda a: a ** 2, np.array([0.0, -1.5, 2.0]))
    check_parity(lambda a: a ** 0, lambda a: a ** 0, np.array([0.0, -1.5, 2.0]))
    # negative base with an integer-valued exponent: the base gradient matches; the exponent gradient
    # (log of a negative number) is NaN in PyTorch and 0 in lucidnet, so only the base is compared
    th = _torch()
    e = np.array([2.0, 3.0], dtype=np.float32)
    check_parity(lambda a: a ** ln.tensor(e), lambda a: a ** th.tensor(e), np.array([-2.0, -0.5]))
    b = ln.tensor(e, requires_grad=True)
    (ln.tensor([-2.0, -0.5]) ** b).sum().backward()
    np.testing.assert_array_equal(b.grad, [0.0, 0.0])


def test_pow_scalar_base_and_exponent_grads():
    check_grad(lambda b: ln.tensor(2.5, dtype=ln.float64) ** b, normal(3, 2, seed=4))
    check_grad(lambda a: a ** ln.tensor(1.7, dtype=ln.float64), positive(3, 2, seed=4))


# ---- where --------------------------------------------------------------------------------------

WHERE_SHAPES = [((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), (3, 1)), ((3, 1), (3, 4), ()), ((4,), (3, 4), (3, 4))]


@pytest.mark.parametrize("sc,sa,sb", WHERE_SHAPES)
def test_where_grad(sc, sa, sb):
    cond = rand(*sc, seed=5) > 0
    check_grad(lambda a, b: ln.where(ln.tensor(cond), a, b), normal(*sa, seed=1), normal(*sb, seed=2))


@parity
@pytest.mark.parametrize("sc,sa,sb", WHERE_SHAPES)
def test_where_parity(sc, sa, sb):
    th = _torch()
    cond = rand(*sc, seed=5) > 0
    outs, _ = check_parity(lambda a, b: ln.where(ln.tensor(cond), a, b),
                           lambda a, b: th.where(th.tensor(cond), a, b), normal(*sa, seed=1), normal(*sb, seed=2))
    assert outs[0].dtype == np.float32


@parity
def test_where_with_scalars_and_comparison_condition():
    check_parity(lambda a: ln.where(a > 0, a, 0.0), lambda a: __import__("torch").where(a > 0, a, 0.0),
                 normal(4, 3, seed=6))
    check_parity(lambda a: ln.where(a > 0, 1.0, a * 2), lambda a: __import__("torch").where(a > 0, 1.0, a * 2),
                 normal(4, 3, seed=6))


def test_where_condition_gets_no_gradient_and_accepts_numpy():
    a = ln.randn(3, requires_grad=True)
    out = ln.where(np.array([True, False, True]), a, ln.zeros(3))
    out.sum().backward()
    np.testing.assert_array_equal(a.grad, [1, 0, 1])


# ---- comparisons --------------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["eq", "ne", "lt", "le", "gt", "ge"])
def test_comparisons_are_boolean_and_carry_no_gradient(op):
    import operator
    a = np.array([[1.0, 2.0, 3.0], [0.0, 2.0, -1.0]], dtype=np.float32)
    b = np.array([2.0, 2.0, 0.0], dtype=np.float32)
    x, y = ln.tensor(a, requires_grad=True), ln.tensor(b, requires_grad=True)
    for out in (getattr(operator, op)(x, y), getattr(x, op)(y), getattr(ln.ops, op)(x, y),
                getattr(operator, op)(x, 2.0)):
        assert out.dtype == np.bool_
        assert not out.requires_grad and out.grad_fn is None
    np.testing.assert_array_equal(getattr(operator, op)(x, y).numpy(), getattr(operator, op)(a, b))
    np.testing.assert_array_equal(getattr(operator, op)(x, 2.0).numpy(), getattr(operator, op)(a, 2.0))


def test_boolean_ops_on_masks():
    x = ln.tensor([1.0, -2.0, 3.0])
    m = (x > 0) & (x < 2)
    np.testing.assert_array_equal(m.numpy(), [True, False, False])
    np.testing.assert_array_equal(((x > 0) | (x < -1)).numpy(), [True, True, True])
    np.testing.assert_array_equal((~(x > 0)).numpy(), [False, True, False])


# ---- dtypes and errors --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow", "maximum", "minimum"])
def test_binary_float32_stays_float32_with_python_scalars_and_ints(name):
    op = getattr(ln.ops, name)
    x = ln.tensor(positive(3, 2, seed=7), requires_grad=True)
    outs = [op(x, 2.0), op(2.0, x), op(x, 3), op(x, np.float64(1.5)), op(x, ln.tensor([1, 2])),
            op(x, np.array([1, 2])), op(x, x)]
    for o in outs:
        assert o.dtype == np.float32, (name, o.dtype)
    sum(o.sum() for o in outs).backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "matmul"])
def test_mixed_float_dtypes_raise_clear_type_error(name):
    op = getattr(ln.ops, name)
    a = ln.ones(2, 2)
    b = ln.ones(2, 2, dtype=ln.float64)
    for x, y in ((a, b), (b, a), (a, np.ones((2, 2))), (np.ones((2, 2)), a)):
        with pytest.raises(TypeError, match=rf"{name}.*float(32|64).*float(32|64)"):
            op(x, y)


def test_mixed_dtypes_in_where_raise():
    with pytest.raises(TypeError, match="where"):
        ln.where(ln.tensor([True]), ln.ones(1), ln.ones(1, dtype=ln.float64))


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow", "maximum", "minimum"])
def test_shape_mismatch_names_the_op_and_both_shapes(name):
    op = getattr(ln.ops, name)
    with pytest.raises(ValueError, match=rf"{name}.*\(2, 3\).*\(4,\)"):
        op(ln.ones(2, 3, requires_grad=True), ln.ones(4))
    with pytest.raises(ValueError, match=rf"{name}.*\(2, 3\).*\(4,\)"):
        op(ln.ones(2, 3), ln.ones(4))


def test_shape_mismatch_through_operators_and_where():
    with pytest.raises(ValueError, match=r"add.*\(2, 3\).*\(4,\)"):
        _ = ln.ones(2, 3) + ln.ones(4)
    with pytest.raises(ValueError, match=r"where.*\(4,\)"):
        ln.where(ln.ones(2, 3) > 0, ln.ones(2, 3), ln.ones(4))


def test_integer_tensors_stay_integer_and_int_with_float_follows_float():
    i = ln.tensor([1, 2, 3])
    assert (i + i).dtype == np.int64
    assert (i * 2).dtype == np.int64
    assert (i + ln.ones(3)).dtype == np.float32
    assert (ln.ones(3, dtype=ln.float64) * i).dtype == np.float64


def test_no_overflow_warnings_from_log_and_exp_in_normal_range():
    x = ln.tensor(positive(100, seed=8), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (ln.log(x) + ln.exp(x) + ln.sqrt(x)).sum().backward()
    assert np.isfinite(x.grad).all()


def test_integer_tensor_with_python_float_gives_the_default_float_not_float64():
    i = ln.tensor([1, 2])
    for out in (i * 0.5, 0.5 * i, i + 1.5, i ** 0.5, 1.5 - i, ln.maximum(i, 1.5)):
        assert out.dtype == np.float32, out.dtype
    np.testing.assert_allclose((i * 0.5).numpy(), [0.5, 1.0])
