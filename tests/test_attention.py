"""scaled_dot_product_attention and nn.MultiheadAttention: finite differences (float64), PyTorch parity,
masks, dropout, dtypes, PyTorch's state_dict layout, errors."""
import numpy as np
import pytest
from helpers import check_grad, check_parity, parity, rand, torch

import lucidnet as ln
import lucidnet.nn.functional as F
from lucidnet import nn
from lucidnet.fused.attention import attention_weights

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


# ---- nn.MultiheadAttention -------------------------------------------------------------------------------

E, H, N, L, S = 8, 2, 3, 4, 5


def mha_pair(batch_first=False, **kw):
    """A PyTorch MultiheadAttention and ours with its weights (non-zero biases), eval mode (no dropout)."""
    th = torch()
    th.manual_seed(0)
    t = th.nn.MultiheadAttention(E, H, batch_first=batch_first, **kw)
    with th.no_grad():
        for p in t.parameters():
            p.add_(0.1 * th.randn(p.shape))
    m = nn.MultiheadAttention(E, H, batch_first=batch_first, **kw)
    m.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    return m, t


def _seq(length, dim, batch_first, seed):
    return rand(*((N, length, dim) if batch_first else (length, N, dim)), seed=seed)


def _masks():
    rng = np.random.default_rng(5)
    kpm = rng.random((N, S)) > 0.7
    kpm[:, 0] = False
    am = rng.random((L, S)) > 0.7
    am[:, 1] = False
    return {"none": {}, "bool_attn": {"attn_mask": am}, "float_attn": {"attn_mask": rand(L, S, seed=6)},
            "per_head_attn": {"attn_mask": rand(N * H, L, S, seed=7)}, "bool_kpm": {"key_padding_mask": kpm},
            "float_kpm_and_bool_attn": {"key_padding_mask": rand(N, S, seed=8), "attn_mask": am},
            "both_bool": {"key_padding_mask": kpm, "attn_mask": am}}


MASKS = _masks()


def _call(module, masks, lib, **kw):
    """module(q, k, v, **masks, **kw) with the mask arrays turned into ``lib``'s constant tensors."""
    conv = {k: (lib.tensor(v) if v.dtype == bool else lib.tensor(v.astype(np.float32))) for k, v in masks.items()}
    if kw.get("need_weights", True):
        return lambda q, k, v: module(q, k, v, **conv, **kw)
    return lambda q, k, v: module(q, k, v, **conv, **kw)[0]  # (the weights: None, checked apart)


@parity
@pytest.mark.filterwarnings("ignore:Support for mismatched")
@pytest.mark.parametrize("mask", list(MASKS))
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("weights", ["average", "per_head", "none"])
def test_mha_parity(mask, batch_first, weights):
    th = torch()
    m, t = mha_pair(batch_first)
    kw = {"need_weights": weights != "none", "average_attn_weights": weights == "average"}
    check_parity(_call(m, MASKS[mask], ln, **kw), _call(t, MASKS[mask], th, **kw),
                 _seq(L, E, batch_first, 1), _seq(S, E, batch_first, 2), _seq(S, E, batch_first, 3))
    if weights == "none":
        x = ln.tensor(_seq(L, E, batch_first, 1), dtype=ln.float32)
        assert m(x, x, x, need_weights=False)[1] is None


@parity
@pytest.mark.parametrize("kw", [{"kdim": 5, "vdim": 7}, {"bias": False}, {"add_bias_kv": True},
                                {"add_zero_attn": True}, {"add_bias_kv": True, "add_zero_attn": True, "kdim": 5}])
@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_parity_options(kw, batch_first):
    th = torch()
    m, t = mha_pair(batch_first, **kw)
    masks = MASKS["both_bool"]
    check_parity(_call(m, masks, ln), _call(t, masks, th), _seq(L, E, batch_first, 1),
                 _seq(S, kw.get("kdim", E), batch_first, 2), _seq(S, kw.get("vdim", E), batch_first, 3))


@parity
def test_mha_self_attention_one_gemm_and_unbatched_and_parameter_grads():
    th = torch()
    m, t = mha_pair(True)
    x = rand(N, L, E, seed=1).astype(np.float32)
    xl, xt = ln.tensor(x, requires_grad=True), th.tensor(x, requires_grad=True)
    (m(xl, xl, xl)[0] ** 2).sum().backward()
    (t(xt, xt, xt)[0] ** 2).sum().backward()
    np.testing.assert_allclose(xl.grad, xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    for name, p in t.named_parameters():
        np.testing.assert_allclose(m.get_parameter(name).grad, p.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)
    check_parity(lambda q: m(q, q, q), lambda q: t(q, q, q), rand(L, E, seed=4))  # unbatched (L, E)


def test_mha_state_dict_keys_and_init_are_pytorchs():
    m = nn.MultiheadAttention(E, H)
    assert list(m.state_dict()) == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    assert m.in_proj_weight.shape == (3 * E, E)
    assert np.all(m.in_proj_bias.numpy() == 0) and np.all(m.out_proj.bias.numpy() == 0)
    bound = np.sqrt(6 / (E + 3 * E))  # xavier_uniform_ on (3E, E)
    assert np.abs(m.in_proj_weight.numpy()).max() <= bound
    assert np.abs(m.in_proj_weight.numpy()).max() > 0.8 * bound
    m2 = nn.MultiheadAttention(E, H, kdim=3, vdim=4, add_bias_kv=True)
    assert list(m2.state_dict()) == ["q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias", "bias_k",
                                     "bias_v", "out_proj.weight", "out_proj.bias"]
    assert m2.in_proj_weight is None and m2.k_proj_weight.shape == (E, 3)


def test_mha_gradcheck_float64():
    m = nn.MultiheadAttention(E, H, add_bias_kv=True).double()
    for p in m.parameters():
        p.data += 0.1 * np.random.default_rng(0).standard_normal(p.shape)
    am = MASKS["bool_attn"]["attn_mask"]
    kpm = ln.tensor(rand(N, S, seed=8), dtype=ln.float64)
    assert ln.autograd.gradcheck(
        lambda q, k, v, *ps: m(q, k, v, attn_mask=ln.tensor(am), key_padding_mask=kpm, average_attn_weights=False),
        [ln.tensor(_seq(n, E, False, s), dtype=ln.float64, requires_grad=True) for n, s in ((L, 1), (S, 2), (S, 3))]
        + list(m.parameters()))


def test_mha_dropout_only_in_training():
    m = nn.MultiheadAttention(E, H, dropout=0.5, batch_first=True)
    x = ln.tensor(rand(N, L, E, seed=1), dtype=ln.float32)
    a, b = m(x, x, x)[0].numpy(), m(x, x, x)[0].numpy()
    assert not np.allclose(a, b)
    m.eval()
    np.testing.assert_array_equal(m(x, x, x)[0].numpy(), m(x, x, x, need_weights=False)[0].numpy())


def test_mha_float64_stays_float64():
    m = nn.MultiheadAttention(E, H).double()
    x = ln.tensor(_seq(L, E, False, 1), dtype=ln.float64, requires_grad=True)
    out, w = m(x, x, x, attn_mask=ln.tensor(rand(L, L, seed=2), dtype=ln.float64))
    out.sum().backward()
    assert out.dtype == w.dtype == x.grad.dtype == np.float64
    z = nn.MultiheadAttention(E, H, add_zero_attn=True, add_bias_kv=True).double()
    assert z(x, x, x, attn_mask=ln.tensor(rand(L, L, seed=2), dtype=ln.float64))[0].dtype == np.float64


def test_mha_errors_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"MultiheadAttention: embed_dim=10 must be divisible by num_heads=3"):
        nn.MultiheadAttention(10, 3)
    m = nn.MultiheadAttention(E, H)
    x = ln.randn(L, N, E)
    with pytest.raises(ValueError, match=r"MultiheadAttention\(embed_dim=8, num_heads=2\): query of shape "
                                         r"\(4, 3, 6\) must have last dim 8"):
        m(ln.randn(L, N, 6), x, x)
    with pytest.raises(ValueError, match=r"key_padding_mask of shape \(2, 4\); expected \(N, S\) = \(3, 4\)"):
        m(x, x, x, key_padding_mask=ln.zeros(2, L).bool())
    with pytest.raises(ValueError, match=r"attn_mask of shape \(4, 5\); expected \(L, S\) = \(4, 4\)"):
        m(x, x, x, attn_mask=ln.zeros(4, 5).bool())
    with pytest.raises(ValueError, match=r"one batch size.*\(4, 3, 8\), \(4, 2, 8\)"):
        m(x, ln.randn(L, 2, E), ln.randn(L, 2, E))
    with pytest.raises(ValueError, match="is_causal=True needs attn_mask"):
        m(x, x, x, is_causal=True)
    with pytest.raises(TypeError, match="float64 but the layer is float32"):
        m(x.double(), x.double(), x.double())


def test_sdpa_compiled_softmax_matches_the_numpy_path(backend):
    """float32 attention weights take the compiled row softmax (kernels.act_numba) when numba is on; the same
    values as the NumPy path, zeros for a fully masked row, and a NaN score spreads over its row as in NumPy."""
    q, k, v = (ln.tensor(a.astype(np.float32) * 4) for a in (Q, K, V))
    m = BOOL_MASK.copy()
    m[2] = False
    out = F.scaled_dot_product_attention(q, k, v, ln.tensor(m)).numpy()
    w = attention_weights(q, k, ln.tensor(m)).numpy()
    s = np.einsum("bhle,bhse->bhls", Q * 4, K * 4) / np.sqrt(5)
    s = np.where(m, s, -np.inf)
    ref = np.exp(s - s.max(-1, keepdims=True, initial=-1e30, where=m))
    ref = np.where(m, ref, 0)
    ref /= np.maximum(ref.sum(-1, keepdims=True), 1e-30)
    np.testing.assert_allclose(w, ref, rtol=1e-5, atol=1e-6)
    assert np.all(w[:, :, 2] == 0) and np.all(out[:, :, 2] == 0)
    qn = q.numpy().copy()
    qn[0, 0, 1, 0] = np.nan
    wn = attention_weights(ln.tensor(qn), k).numpy()
    assert np.isnan(wn[0, 0, 1]).all() and not np.isnan(wn[0, 0, 0]).any()
