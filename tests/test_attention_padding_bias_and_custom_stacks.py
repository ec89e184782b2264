"""A learned float key_padding_mask gets its gradient (it was a constant), and the transformer
stacks copy a layer of one's own, take zero layers and dropout 1, as torch."""

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")
E, H, N, S = 4, 2, 2, 3


def _pair(**kw):
    kw.setdefault("batch_first", False)  # (tl's default is True, the contract's; torch's False)
    torch.manual_seed(0)
    tm = torch.nn.MultiheadAttention(E, H, **kw).double()
    m = tl.nn.MultiheadAttention(E, H, **kw)
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    return m, tm


@pytest.mark.parametrize("kw", [dict(batch_first=True), dict(batch_first=False),
                                dict(batch_first=True, add_bias_kv=True), dict(batch_first=False, add_zero_attn=True)])
@pytest.mark.parametrize("with_attn_mask", [False, True])
def test_learned_key_padding_mask_gets_torchs_gradient(kw, with_attn_mask):
    m, tm = _pair(**kw)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, S, E) if kw.get("batch_first") else (S, N, E))
    kp, am = rng.standard_normal((N, S)), rng.standard_normal((S, S))
    lkp, tkp = tl.Tensor(kp, requires_grad=True), torch.tensor(kp, requires_grad=True)
    lam = tl.Tensor(am, requires_grad=True) if with_attn_mask else None
    tam = torch.tensor(am, requires_grad=True) if with_attn_mask else None
    lo = m(tl.Tensor(x), tl.Tensor(x), tl.Tensor(x), key_padding_mask=lkp, attn_mask=lam)[0]
    to = tm(torch.tensor(x), torch.tensor(x), torch.tensor(x), key_padding_mask=tkp, attn_mask=tam)[0]
    np.testing.assert_allclose(lo.data, to.detach().numpy(), rtol=1e-10, atol=1e-12)
    (lo ** 2).sum().backward()
    (to ** 2).sum().backward()
    np.testing.assert_allclose(lkp.grad, tkp.grad.numpy(), rtol=1e-9, atol=1e-12)
    if with_attn_mask:
        np.testing.assert_allclose(lam.grad, tam.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_learned_padding_bias_of_an_unbatched_input_and_in_an_encoder_layer():
    m, tm = _pair()
    x, kp = np.random.default_rng(2).standard_normal((S, E)), np.random.default_rng(3).standard_normal(S)
    lkp, tkp = tl.Tensor(kp, requires_grad=True), torch.tensor(kp, requires_grad=True)
    m(tl.Tensor(x), tl.Tensor(x), tl.Tensor(x), key_padding_mask=lkp)[0].sum().backward()
    tm(torch.tensor(x), torch.tensor(x), torch.tensor(x), key_padding_mask=tkp)[0].sum().backward()
    np.testing.assert_allclose(lkp.grad, tkp.grad.numpy(), rtol=1e-9, atol=1e-12)
    torch.manual_seed(0)
    tt = torch.nn.TransformerEncoderLayer(E, H, 8, dropout=0.0, batch_first=True).double()
    layer = tl.nn.TransformerEncoderLayer(E, H, 8, dropout=0.0, batch_first=True)
    layer.load_state_dict({k: v.detach().numpy() for k, v in tt.state_dict().items()})
    xb, kpb = np.random.default_rng(4).standard_normal((N, S, E)), np.random.default_rng(5).standard_normal((N, S))
    lkp, tkp = tl.Tensor(kpb, requires_grad=True), torch.tensor(kpb, requires_grad=True)
    layer(tl.Tensor(xb), src_key_padding_mask=lkp).sum().backward()
    tt(torch.tensor(xb), src_key_padding_mask=tkp).sum().backward()
    np.testing.assert_allclose(lkp.grad, tkp.grad.numpy(), rtol=1e-9, atol=1e-12)


class _MyEncoderLayer(tl.nn.Module):
    def __init__(self):
        self.lin = tl.nn.Linear(E, E, rng=0)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        return src + self.lin(src)


class _MyDecoderLayer(tl.nn.Module):
    def __init__(self):
        self.lin = tl.nn.Linear(E, E, rng=0)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        return tgt + self.lin(memory)


def test_stacks_copy_a_layer_of_ones_own():
    x = tl.Tensor(np.random.default_rng(6).standard_normal((N, S, E)))
    enc = tl.nn.TransformerEncoder(_MyEncoderLayer(), 2)
    assert enc.layers[0].lin.weight is not enc.layers[1].lin.weight
    lin = enc.layers[0].lin
    want = x.data + lin(x).data
    np.testing.assert_allclose(enc(x).data, want + lin(tl.Tensor(want)).data, rtol=1e-13)
    dec = tl.nn.TransformerDecoder(_MyDecoderLayer(), 3)
    np.testing.assert_allclose(dec(x, x).data, x.data + 3 * lin(x).data, rtol=1e-13)
    with pytest.raises(TypeError, match="must be a Module"):
        tl.nn.TransformerEncoder(lambda s: s, 2)


def test_zero_layers_dropout_one_and_the_flags_torch_keeps():
    enc = tl.nn.TransformerEncoder(tl.nn.TransformerEncoderLayer(E, H, 8), 0, enable_nested_tensor=False)
    x = tl.ones(N, S, E)
    np.testing.assert_array_equal(enc(x).data, x.data)
    t = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(E, H, 8), 0, enable_nested_tensor=False)
    assert (enc.enable_nested_tensor, enc.use_nested_tensor, enc.mask_check) == \
        (t.enable_nested_tensor, t.use_nested_tensor, t.mask_check)
    m = tl.nn.MultiheadAttention(E, H, dropout=1.0)
    assert m.dropout == torch.nn.MultiheadAttention(E, H, dropout=1.0).dropout == 1.0
    out = m(tl.ones(S, N, E), tl.ones(S, N, E), tl.ones(S, N, E))[0]
    np.testing.assert_array_equal(out.data, np.broadcast_to(m.out_proj.bias.data, out.shape))
    assert tl.nn.TransformerEncoderLayer(E, H, 8, dropout=1.0).dropout.p == 1.0
