"""Integer and bool inputs to ops that produce floats give the default float dtype, never float64."""
import numpy as np
import pytest

import lucidnet as ln


@pytest.mark.parametrize("expr", [
    lambda a: a / 2, lambda a: a / a, lambda a: 3 / a, lambda a: a / 2.0, lambda a: a.mean(),
    lambda a: a.var(), lambda a: a.std(), lambda a: (a == 1).mean(), lambda a: a.mean(dim=0),
])
def test_integer_math_gives_float32(expr):
    a = ln.tensor([1, 2, 3])
    assert expr(a).dtype == np.float32


def test_float64_stays_float64_and_mixing_is_an_error():
    x = ln.tensor([1.0, 2.0], dtype=ln.float64)
    assert (x / 2).dtype == np.float64
    assert (ln.tensor([1, 2]) / x).dtype == np.float64
    with pytest.raises(TypeError, match="mixed dtypes"):
        x + ln.tensor([1.0, 2.0])


def test_integer_mean_is_exact():
    a = ln.tensor([1, 2, 4])
    np.testing.assert_allclose(a.mean().item(), 7 / 3, rtol=1e-6)
    np.testing.assert_allclose((a / a).numpy(), [1, 1, 1])
