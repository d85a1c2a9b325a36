"""scaled_dot_product_attention and nn.MultiheadAttention: finite differences (float64), PyTorch parity,
masks, dropout, dtypes, PyTorch's state_dict layout, errors."""
import numpy as np
import pytest
from helpers import check_grad, check_parity, parity, rand, torch

import lucidnet as ln
import lucidnet.nn.functional as F
from lucidnet import nn

# ---- scaled_dot_product_attention ----------------------------------------------------------------------

Q, K, V = rand(2, 3, 4, 5, seed=1), rand(2, 3, 6, 5, seed=2), rand(2, 3, 6, 7, seed=3)
BOOL_MASK = np.random.default_rng(4).random((4, 6)) > 0.4
BOOL_MASK[:, 0] = True  # every row attends somewhere (finite differences need finite scores)


def sdpa(**kw):
    return lambda q, k, v, *m: F.scaled_dot_product_attention(q, k, v, *m, **kw)


@pytest.mark.parametrize("kw", [{}, {"is_causal": True}, {"scale": 0.37}])
def test_sdpa_gradcheck(kw):
    check_grad(sdpa(**kw), Q, K, V)


def test_sdpa_gradcheck_bool_mask():
    check_grad(sdpa(), Q, K, V, BOOL_MASK)


def test_sdpa_gradcheck_float_mask_gets_its_gradient():
    check_grad(sdpa(), Q, K, V, rand(3, 1, 6, seed=5))  # broadcast over batch and query rows


def test_sdpa_gradcheck_broadcast_batch():
    check_grad(sdpa(), rand(2, 3, 4, 5, seed=1), rand(1, 3, 6, 5, seed=2), rand(3, 6, 7, seed=3))


@parity
@pytest.mark.parametrize("kw", [{}, {"is_causal": True}, {"scale": 0.37}])
def test_sdpa_parity(kw):
    th = torch()
    check_parity(sdpa(**kw), lambda q, k, v: th.nn.functional.scaled_dot_product_attention(q, k, v, **kw), Q, K, V)


@parity
def test_sdpa_parity_masks_and_fully_masked_rows():
    th = torch()
    m = BOOL_MASK.copy()
    m[2] = False  # a row that attends nowhere: PyTorch 2.x gives 0 output and 0 gradients there
    check_parity(sdpa(), lambda q, k, v, m: th.nn.functional.scaled_dot_product_attention(q, k, v, m), Q, K, V, m)
    fm = np.where(m, 0.0, -np.inf)
    fm[0, 1] = 0.5
    out, _ = check_parity(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, ln.tensor(fm, dtype=ln.float32)),
                          lambda q, k, v: th.nn.functional.scaled_dot_product_attention(
                              q, k, v, th.tensor(fm, dtype=th.float32)), Q, K, V)
    assert np.all(out[0].numpy()[:, :, 2] == 0)


def test_sdpa_keeps_dtype():
    for dt in (ln.float32, ln.float64):
        q = ln.tensor(Q, dtype=dt, requires_grad=True)
        o = F.scaled_dot_product_attention(q, q, q, attn_mask=ln.tensor(np.zeros((4, 4)), dtype=dt), dropout_p=0.2)
        o.sum().backward()
        assert o.dtype == dt and q.grad.dtype == dt


def test_sdpa_dropout_uses_lucidnet_rng_and_is_consistent():
    q, k, v = (ln.tensor(a, dtype=ln.float32) for a in (Q, K, V))
    ln.manual_seed(3)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy()
    ln.manual_seed(3)
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy()
    c = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    # the weights after dropout: each kept one scaled by 2, dropped ones 0; gradient through the same mask
    from lucidnet.fused.attention import attention_weights
    ln.manual_seed(3)
    w = attention_weights(q, k, dropout_p=0.5).numpy()
    ln.manual_seed(3)
    p = attention_weights(q, k).numpy()
    assert set(np.unique(np.round(w[w > 0] / p[w > 0], 5))) == {2.0}
    np.testing.assert_allclose(w @ V.astype(np.float32), a, rtol=1e-5, atol=1e-6)


def test_sdpa_gradcheck_with_dropout():
    def f(q, k, v):
        ln.manual_seed(11)  # the same mask at every evaluation
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.3)
    check_grad(f, Q, K, V)


def test_sdpa_errors():
    q, k, v = ln.randn(2, 4, 5), ln.randn(2, 6, 5), ln.randn(2, 6, 3)
    with pytest.raises(ValueError, match=r"query .*\(2, 4, 5\).*key .*\(2, 6, 3\)"):
        F.scaled_dot_product_attention(q, ln.randn(2, 6, 3), v)
    with pytest.raises(ValueError, match=r"key .*\(2, 6, 5\).*value .*\(2, 7, 3\)"):
        F.scaled_dot_product_attention(q, k, ln.randn(2, 7, 3))
    with pytest.raises(ValueError, match="not both"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=ln.ones(4, 6).bool(), is_causal=True)
    with pytest.raises(ValueError, match=r"attn_mask of shape \(3, 6\).*\(2, 4, 6\)"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=ln.ones(3, 6).bool())
    with pytest.raises(TypeError, match="dtype"):
        F.scaled_dot_product_attention(q, k.double(), v)
    with pytest.raises(TypeError, match="attn_mask must be bool"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=ln.ones(4, 6).double())
    with pytest.raises(ValueError, match="dropout_p"):
        F.scaled_dot_product_attention(q, k, v, dropout_p=1.0)
