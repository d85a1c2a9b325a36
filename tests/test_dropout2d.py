"""Dropout2d: whole channels dropped, scaling, gradients, eval mode, the seed, PyTorch's behaviour and layout."""
import warnings

import numpy as np
import pytest
from helpers import parity, rand, torch

import lucidnet as ln
from lucidnet.nn.dropout import Dropout2d, dropout2d


def channel_values(y):
    """Each (sample, channel) of y as a row; a channel is kept or dropped whole when its row is constant."""
    n, c = y.shape[:2]
    return y.reshape(n * c, -1)


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout2d_drops_whole_channels_at_rate_p(p):
    y = Dropout2d(p)(ln.ones(200, 64, 3, 3)).numpy()
    assert y.dtype == np.float32
    rows = channel_values(y)
    assert np.all(rows.min(axis=1) == rows.max(axis=1))  # constant per channel
    np.testing.assert_array_equal(np.unique(rows), [0.0, np.float32(1 / (1 - p))])
    assert abs((rows[:, 0] == 0).mean() - p) < 0.03  # 12,800 channels: ~7 standard errors


def test_dropout2d_backward_uses_the_channel_mask_and_3d_input():
    p = 0.4
    for shape in ((6, 5, 4, 3), (6, 5, 7)):
        x = ln.tensor(rand(*shape, seed=1, dtype=np.float32) + 5, requires_grad=True)  # no zeros in x
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "dropout2d: Received a 3D input")  # PyTorch's warning, tested below
            y = dropout2d(x, p)
        assert y._node.mask.values.shape == shape[:2] + (1,) * (len(shape) - 2)  # one draw per channel
        g = rand(*shape, seed=2, dtype=np.float32)
        y.backward(g)
        kept = y.numpy() != 0
        assert np.all(channel_values(kept).min(axis=1) == channel_values(kept).max(axis=1))
        np.testing.assert_allclose(y.numpy(), np.where(kept, x.numpy() / (1 - p), 0), rtol=1e-6)
        np.testing.assert_allclose(x.grad, np.where(kept, g / (1 - p), 0), rtol=1e-6)
        assert x.grad.dtype == np.float32


def test_dropout2d_gradcheck_with_a_fixed_mask():
    def fn(x):
        ln.manual_seed(5)  # the same mask on every call
        return dropout2d(x, 0.5)

    x = ln.tensor(rand(4, 6, 2, 2, seed=3), dtype=ln.float64, requires_grad=True)
    assert ln.autograd.gradcheck(fn, [x])
    ln.manual_seed(5)
    assert 0 < (fn(x).numpy() == 0).mean() < 1  # the check saw kept and dropped channels


def test_dropout2d_eval_seed_and_errors():
    x = ln.randn(4, 8, 5, 5)
    state = ln.get_rng_state()
    assert Dropout2d(0.5).eval()(x) is x and dropout2d(x, 0.5, training=False) is x
    assert ln.get_rng_state() == state
    ln.manual_seed(9)
    a = Dropout2d(0.5)(x).numpy()
    ln.manual_seed(9)
    np.testing.assert_array_equal(a, Dropout2d(0.5)(x).numpy())
    with pytest.raises(ValueError, match=r"dropout2d: expected a 3D \(N, C, L\) or 4D \(N, C, H, W\) input, got "
                                         r"shape \(4,\)"):
        dropout2d(ln.randn(4))
    with pytest.warns(UserWarning, match="2-D input to dropout2d"):   # PyTorch: element-wise, with a warning
        y = dropout2d(ln.ones(40, 50), 0.5).numpy()
    assert set(np.unique(y).tolist()) == {0.0, 2.0} and 0 < (y == 0).mean(axis=1).std()
    with pytest.warns(UserWarning, match="3D input"):
        dropout2d(ln.ones(2, 3, 4), 0.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        Dropout2d(1.5)


@parity
def test_dropout2d_like_pytorch():
    th = torch()
    x = rand(50, 40, 3, 3, seed=4, dtype=np.float32) + 5
    yt = th.nn.Dropout2d(0.3)(th.tensor(x)).numpy()
    yl = Dropout2d(0.3)(ln.tensor(x)).numpy()
    for y in (yl, yt):  # the same behaviour: channels kept whole and scaled by 1/(1-p), or zero
        ratio = channel_values(y / x)
        assert np.all(np.isclose(ratio, 0) | np.isclose(ratio, 1 / 0.7, rtol=1e-6))
        kept = channel_values(y != 0)
        assert np.all(kept.min(axis=1) == kept.max(axis=1))
        assert 0.2 < 1 - kept[:, 0].mean() < 0.4
    for p in (0.0, 1.0):  # deterministic edges: identical
        np.testing.assert_array_equal(Dropout2d(p)(ln.tensor(x)).numpy(), th.nn.Dropout2d(p)(th.tensor(x)).numpy())
    assert repr(Dropout2d(0.2)) == repr(th.nn.Dropout2d(0.2))
