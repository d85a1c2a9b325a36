"""Transformer layers: PyTorch's state dicts load as is and give the same outputs and input gradients
(post-LN and pre-LN, relu and gelu, masks), float64 finite differences, errors."""
import numpy as np
import pytest
from helpers import parity, rand, torch

import lucidnet as ln
from lucidnet import nn

D, NH, FF, N = 8, 2, 16, 2


def load_from(module, tmodule):
    module.load_state_dict({k: v.detach().numpy() for k, v in tmodule.state_dict().items()})
    assert list(module.state_dict()) == list(tmodule.state_dict())
    return module


def compare(module, tmodule, arrays, call, tcall, atol=2e-5, rtol=1e-4):
    """Outputs and gradients of every input (and of the parameters) of ours and PyTorch's on the same arrays."""
    th = torch()
    module.eval()
    tmodule.eval()
    xs = [ln.tensor(a.astype(np.float32), requires_grad=True) for a in arrays]
    ts = [th.tensor(a.astype(np.float32), requires_grad=True) for a in arrays]
    out, tout = call(module, *xs), tcall(tmodule, *ts)
    assert out.dtype == np.float32 and tuple(out.shape) == tuple(tout.shape)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), atol=atol, rtol=rtol)
    w = np.random.default_rng(9).standard_normal(out.shape).astype(np.float32)
    (out * ln.tensor(w)).sum().backward()
    (tout * th.tensor(w)).sum().backward()
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad, t.grad.numpy(), atol=atol, rtol=rtol)
    for name, p in tmodule.named_parameters():
        np.testing.assert_allclose(module.get_parameter(name).grad, p.grad.numpy(), atol=10 * atol, rtol=rtol,
                                   err_msg=name)


def _seq(length, batch_first, seed):
    return rand(*((N, length, D) if batch_first else (length, N, D)), seed=seed)


def layer_pair(name, norm_first, activation, batch_first):
    """PyTorch's ``nn.<name>`` and ours, with its weights."""
    kw = dict(dim_feedforward=FF, activation=activation, batch_first=batch_first, norm_first=norm_first)
    t = getattr(torch().nn, name)(D, NH, **kw)
    return load_from(getattr(nn, name)(D, NH, **kw), t), t


LAYER_CASES = [pytest.param(nf, act, bf, id=f"{'preLN' if nf else 'postLN'}-{act}-{'bf' if bf else 'sf'}")
               for nf in (False, True) for act in ("relu", "gelu") for bf in (False, True)]


@parity
@pytest.mark.parametrize("norm_first,activation,batch_first", LAYER_CASES)
def test_encoder_layer_parity(norm_first, activation, batch_first):
    th = torch()
    m, t = layer_pair("TransformerEncoderLayer", norm_first, activation, batch_first)
    kpm = np.zeros((N, 5), bool)
    kpm[1, 3:] = True
    compare(m, t, [_seq(5, batch_first, 1)],
            lambda mod, x: mod(x, src_key_padding_mask=ln.tensor(kpm)),
            lambda mod, x: mod(x, src_key_padding_mask=th.tensor(kpm)))


@parity
@pytest.mark.parametrize("norm_first,activation,batch_first", LAYER_CASES)
def test_decoder_layer_parity(norm_first, activation, batch_first):
    th = torch()
    m, t = layer_pair("TransformerDecoderLayer", norm_first, activation, batch_first)
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    compare(m, t, [_seq(4, batch_first, 1), _seq(6, batch_first, 2)],
            lambda mod, x, mem: mod(x, mem, tgt_mask=mask, tgt_is_causal=True),
            lambda mod, x, mem: mod(x, mem, tgt_mask=th.tensor(mask.numpy()), tgt_is_causal=True))


@parity
@pytest.mark.filterwarnings("ignore:enable_nested_tensor")
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_parity_with_causal_mask(norm_first, batch_first):
    th = torch()
    kw = dict(d_model=D, nhead=NH, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=FF,
              batch_first=batch_first, norm_first=norm_first, activation="gelu")
    th.manual_seed(0)
    t = th.nn.Transformer(**kw)
    m = load_from(nn.Transformer(**kw), t)
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    tmask = th.nn.Transformer.generate_square_subsequent_mask(4)
    np.testing.assert_array_equal(mask.numpy(), tmask.numpy())
    compare(m, t, [_seq(5, batch_first, 1), _seq(4, batch_first, 2)],
            lambda mod, s, g: mod(s, g, tgt_mask=mask), lambda mod, s, g: mod(s, g, tgt_mask=tmask))


def test_transformer_structure_and_init():
    m = nn.Transformer(D, NH, 2, 1, FF)
    names = list(m.state_dict())
    assert "encoder.layers.1.self_attn.in_proj_weight" in names and "encoder.norm.weight" in names
    assert "decoder.layers.0.multihead_attn.out_proj.bias" in names and "decoder.norm.bias" in names
    assert "decoder.layers.0.norm3.weight" in names and "decoder.layers.1.norm1.weight" not in names
    w = m.encoder.layers[0].linear1.weight.numpy()  # xavier_uniform_ on every matrix, PyTorch's rule
    assert np.abs(w).max() <= np.sqrt(6 / (D + FF))
    # the clones are independent copies
    assert m.encoder.layers[0].linear1.weight.array is not m.encoder.layers[1].linear1.weight.array
    assert m.encoder.layers[0].dropout.p == 0.1 and m.encoder.layers[0].self_attn.dropout == 0.1
    assert nn.Transformer.generate_square_subsequent_mask(2, dtype=ln.float64).dtype == np.float64


def test_encoder_layer_gradcheck_float64():
    layer = nn.TransformerEncoderLayer(D, NH, FF, dropout=0.0, activation="gelu", norm_first=True).double()
    enc = nn.TransformerEncoder(layer, 1)
    mask = nn.Transformer.generate_square_subsequent_mask(3, dtype=ln.float64)
    x = ln.tensor(rand(3, N, D, seed=1), dtype=ln.float64, requires_grad=True)
    assert ln.autograd.gradcheck(lambda x, *ps: enc(x, mask=mask), [x, *enc.parameters()])


def test_encoder_layer_dropout_in_training_only():
    layer = nn.TransformerEncoderLayer(D, NH, FF, dropout=0.5, batch_first=True)
    x = ln.tensor(rand(N, 3, D, seed=1), dtype=ln.float32)
    assert not np.allclose(layer(x).numpy(), layer(x).numpy())
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), layer(x).numpy())


def test_custom_activation_and_errors():
    layer = nn.TransformerEncoderLayer(D, NH, FF, activation=ln.ops.tanh)
    assert layer(ln.randn(3, N, D)).shape == (3, N, D)
    with pytest.raises(ValueError, match="activation should be 'relu' or 'gelu'"):
        nn.TransformerEncoderLayer(D, NH, activation="swish")
    with pytest.raises(ValueError, match="embed_dim=8 must be divisible by num_heads=3"):
        nn.TransformerEncoderLayer(D, 3)
    with pytest.raises(ValueError, match=r"TransformerEncoderLayer\(d_model=8, nhead=2\): src of shape \(3, 2, 6\); "
                                         r"expected \(L, N, d_model\)"):
        layer(ln.randn(3, N, 6))
    with pytest.raises(ValueError, match=r"Transformer\(d_model=8, nhead=2\): src of shape \(2, 3, 2\) and tgt of "
                                         r"shape \(2, 4, 8\)|last dim d_model=8"):
        nn.Transformer(D, NH, 1, 1, FF)(ln.randn(2, 3, 2), ln.randn(2, 4, D))
    with pytest.raises(ValueError, match=r"same batch size \(dim 1\)"):
        nn.Transformer(D, NH, 1, 1, FF)(ln.randn(3, 2, D), ln.randn(3, 4, D))


def test_decoder_forward_cached_matches_the_causal_forward_and_refuses_what_it_cannot_do():
    """TransformerDecoder.forward_cached, fed the target in pieces (1 + 2 + 1 positions), gives the outputs of
    the full causal forward with a memory padding mask; it needs eval mode and batch-first attention."""
    layer = ln.nn.TransformerDecoderLayer(16, 4, 32, batch_first=True, norm_first=True)
    dec = ln.nn.TransformerDecoder(layer, 2, norm=ln.nn.LayerNorm(16)).eval()
    mem, tgt = ln.randn(2, 5, 16), ln.randn(2, 4, 16)
    pad = ln.tensor(np.array([[False] * 5, [False, False, False, True, True]]))
    full = dec(tgt, mem, tgt_mask=ln.nn.Transformer.generate_square_subsequent_mask(4),
               memory_key_padding_mask=pad).numpy()
    outs, cache = [], None
    for lo, hi in ((0, 1), (1, 3), (3, 4)):
        o, cache = dec.forward_cached(tgt[:, lo:hi], mem, cache, memory_key_padding_mask=pad)
        outs.append(o.numpy())
    np.testing.assert_allclose(np.concatenate(outs, axis=1), full, atol=1e-5)
    with pytest.raises(ValueError, match="call .eval\\(\\) first"):
        dec.train().forward_cached(tgt[:, :1], mem)
    seq_first = ln.nn.TransformerDecoder(ln.nn.TransformerDecoderLayer(16, 4, 32), 1).eval()
    with pytest.raises(ValueError, match="batch-first"):
        seq_first.forward_cached(tgt[:, :1], mem)
