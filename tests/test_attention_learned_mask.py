"""A float attention mask that requires grad is a learned bias (relative positions,
ALiBi-style slopes): as in torch, it gets its gradient from scaled_dot_product_attention and
from MultiheadAttention."""

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")
F = tl.nn.functional


@pytest.mark.parametrize("mask_shape", [(3, 4), (2, 1, 3, 4), (1, 3, 4), (2, 2, 3, 4)])
@pytest.mark.parametrize("causal_part", [False, True])
def test_sdpa_learned_mask_gradient_matches_torch(mask_shape, causal_part):
    r = np.random.default_rng(0)
    q, k, v = r.standard_normal((2, 2, 3, 5)), r.standard_normal((2, 2, 4, 5)), r.standard_normal((2, 2, 4, 5))
    m = r.standard_normal(mask_shape)
    if causal_part:  # -inf entries (never a whole row): their gradient is 0
        m = m + np.where(np.triu(np.ones((3, 4), dtype=bool), 2), -np.inf, 0.0)
    cot = r.standard_normal((2, 2, 3, 5))
    tq, tk, tv, tm = (torch.tensor(a, requires_grad=True) for a in (q, k, v, m))
    (torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=tm) * torch.tensor(cot)).sum().backward()
    lq, lk, lv, lm = (tl.tensor(a, requires_grad=True) for a in (q, k, v, m))
    out = F.scaled_dot_product_attention(lq, lk, lv, attn_mask=lm)
    (out * cot).sum().backward()
    for a, b in ((lq, tq), (lk, tk), (lv, tv), (lm, tm)):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_sdpa_mask_as_the_only_input_that_requires_grad():
    r = np.random.default_rng(1)
    q = r.standard_normal((1, 3, 4))
    m = tl.tensor(np.zeros((3, 3)), requires_grad=True)
    out = F.scaled_dot_product_attention(tl.tensor(q), tl.tensor(q), tl.tensor(q), attn_mask=m)
    assert out.requires_grad
    out.sum().backward()
    tm = torch.zeros((3, 3), dtype=torch.float64, requires_grad=True)
    tq = torch.tensor(q)
    torch.nn.functional.scaled_dot_product_attention(tq, tq, tq, attn_mask=tm).sum().backward()
    np.testing.assert_allclose(m.grad, tm.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_a_constant_float_mask_gives_the_same_output_as_a_learned_one():
    r = np.random.default_rng(2)
    q = tl.tensor(r.standard_normal((2, 3, 4)))
    m = r.standard_normal((3, 3))
    a = F.scaled_dot_product_attention(q, q, q, attn_mask=m).data
    b = F.scaled_dot_product_attention(q, q, q, attn_mask=tl.tensor(m, requires_grad=True)).data
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("per_head", [False, True])
@pytest.mark.parametrize("extras", [{}, {"add_bias_kv": True}, {"add_zero_attn": True}])
def test_mha_learned_mask_gradient_matches_torch(per_head, extras):
    E, H, B, T = 4, 2, 2, 3
    torch.manual_seed(0)
    tm_mod = torch.nn.MultiheadAttention(E, H, batch_first=True, dtype=torch.float64, **extras)
    mha = tl.nn.MultiheadAttention(E, H, **extras)
    mha.load_state_dict({k: v.detach().numpy() for k, v in tm_mod.state_dict().items()})
    r = np.random.default_rng(3)
    x = r.standard_normal((B, T, E))
    m = r.standard_normal((B * H, T, T) if per_head else (T, T))
    kp = np.array([[False, False, True], [False, False, False]])
    tmask = torch.tensor(m, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    tout, tw = tm_mod(tx, tx, tx, attn_mask=tmask, key_padding_mask=torch.tensor(kp))
    (tout.sum() + tw.sum()).backward()
    lmask = tl.tensor(m, requires_grad=True)
    lx = tl.tensor(x, requires_grad=True)
    out, w = mha(lx, lx, lx, attn_mask=lmask, key_padding_mask=kp)
    (out.sum() + w.sum()).backward()
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(lmask.grad, tmask.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(lx.grad, tx.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("shapes", [((2, 4, 3, 5), (2, 2, 6, 5)), ((4, 3, 5), (1, 6, 5)), ((2, 6, 3, 5), (2, 6, 4, 5))])
def test_sdpa_grouped_query_attention_matches_torch(shapes):
    qs, ks = shapes
    r = np.random.default_rng(4)
    q, k, v = r.standard_normal(qs), r.standard_normal(ks), r.standard_normal(ks)
    cot = r.standard_normal(qs)
    t = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    (torch.nn.functional.scaled_dot_product_attention(*t, is_causal=True, enable_gqa=True)
     * torch.tensor(cot)).sum().backward()
    lt = [tl.tensor(a, requires_grad=True) for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*lt, is_causal=True, enable_gqa=True)
    (out * cot).sum().backward()
    for a, b in zip(lt, t):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_sdpa_grouped_query_attention_refuses_heads_that_do_not_divide():
    q, k = tl.tensor(np.ones((3, 2, 4))), tl.tensor(np.ones((2, 2, 4)))
    with pytest.raises(ValueError, match="enable_gqa needs key and value"):
        F.scaled_dot_product_attention(q, k, k, enable_gqa=True)
    with pytest.raises(TypeError, match="enable_gqa"):
        F.scaled_dot_product_attention(q, q, q, enable_gqa="yes")
