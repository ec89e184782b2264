"""Attention masks and the transformer layers: outputs and every gradient match torch (float64,
eval mode), torch weights load by name, per-sample gradients equal each sample alone (also
with a per-sample key padding mask), Adam steps match torch, clear errors name the layer."""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.nn import functional as F


def _close(a: Any, b: Any, what: str = "", tol: float = 1e-10) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    err = float(np.max(np.abs(a - b))) / max(1.0, float(np.max(np.abs(b)))) if a.size else 0.0
    assert err < tol, f"{what}: relative error {err}"


def _load(m: nn.Module, tm: Any) -> None:
    sd = {k: v.detach().numpy() for k, v in tm.state_dict().items()}
    assert set(m.state_dict()) == set(sd)
    m.load_state_dict(sd)


def _grads_match(m: nn.Module, tm: Any) -> None:
    named = dict(tm.named_parameters())
    assert set(named) == {k for k, _ in m.named_parameters()}
    for k, p in m.named_parameters():
        _close(p.grad, named[k].grad.numpy(), f"grad of {k}")


# ------------------------------------------------------------------ MultiheadAttention masks ----
def _mha_pair(torch: Any, E: int = 8, H: int = 2) -> tuple:
    tm = torch.nn.MultiheadAttention(E, H, batch_first=True).double()
    m = nn.MultiheadAttention(E, H)
    _load(m, tm)
    return m, tm


_RNG = np.random.default_rng(0)
_KPM = np.zeros((3, 5), bool)
_KPM[1, -2:] = True
_KPM[2, 0] = True
_ATT = _RNG.random((4, 5)) < 0.3
_ATT[:, 1] = False


@pytest.mark.parametrize("kw", [
    {"key_padding_mask": _KPM},
    {"key_padding_mask": np.where(_KPM, -1e9, _RNG.standard_normal((3, 5)))},
    {"key_padding_mask": _KPM, "attn_mask": _ATT},
    {"key_padding_mask": np.where(_KPM, -np.inf, 0.0), "attn_mask": _RNG.standard_normal((3 * 2, 4, 5))},
    {"key_padding_mask": _KPM, "average_attn_weights": False},
    {"key_padding_mask": _KPM, "attn_mask": _ATT, "average_attn_weights": False},
])
def test_key_padding_mask_and_per_head_weights_match_torch(torch: Any, kw: dict) -> None:
    m, tm = _mha_pair(torch)
    rng = np.random.default_rng(1)
    q, k, v = rng.standard_normal((3, 4, 8)), rng.standard_normal((3, 5, 8)), rng.standard_normal((3, 5, 8))
    ts = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    xs = [tl.Tensor(a, requires_grad=True) for a in (q, k, v)]
    out, w = m(*xs, **kw)
    tout, tw = tm(*ts, **{a: torch.tensor(b) if isinstance(b, np.ndarray) else b for a, b in kw.items()})
    _close(out.data, tout.detach().numpy(), "output")
    _close(w.data, tw.detach().numpy(), "weights")
    assert w.shape == ((3, 2, 4, 5) if kw.get("average_attn_weights") is False else (3, 4, 5))
    G, GW = rng.standard_normal(out.shape), rng.standard_normal(w.shape)
    ((out * G).sum() + (w * GW).sum()).backward()
    ((tout * torch.tensor(G)).sum() + (tw * torch.tensor(GW)).sum()).backward()
    for x, t, name in zip(xs, ts, "qkv"):
        _close(x.grad, t.grad.numpy(), f"grad of {name}")
    _grads_match(m, tm)


def test_causal_with_key_padding_and_unbatched_masks_match_torch(torch: Any) -> None:
    m, tm = _mha_pair(torch)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 5, 8))
    causal = np.triu(np.ones((5, 5), bool), 1)
    kpm = _KPM.copy()
    kpm[:, 0] = False  # (query 0 sees key 0 only: torch's weights would be nan there)
    out, w = m(x, x, x, is_causal=True, key_padding_mask=kpm)
    tx = torch.tensor(x)
    tout, tw = tm(tx, tx, tx, attn_mask=torch.tensor(causal), is_causal=True, key_padding_mask=torch.tensor(kpm))
    _close(out.data, tout.detach().numpy())
    _close(w.data, tw.detach().numpy())
    kp1 = np.array([False, False, True, False, True])  # unbatched: a (S,) mask
    out1, w1 = m(x[0], x[0], x[0], key_padding_mask=kp1, average_attn_weights=False)
    tout1, tw1 = tm(tx[0], tx[0], tx[0], key_padding_mask=torch.tensor(kp1), average_attn_weights=False)
    _close(out1.data, tout1.detach().numpy())
    _close(w1.data, tw1.detach().numpy())
    assert w1.shape == (2, 5, 5)


def test_a_query_with_every_key_masked_gets_zero_weights(torch: Any) -> None:
    m, tm = _mha_pair(torch)
    x = np.random.default_rng(3).standard_normal((2, 3, 8))
    kpm = np.zeros((2, 3), bool)
    kpm[1] = True
    xt = tl.Tensor(x, requires_grad=True)
    out, w = m(xt, xt, xt, key_padding_mask=kpm)
    assert np.array_equal(w.data[1], np.zeros((3, 3))) and np.isfinite(w.data).all()
    _close(out.data[1], np.broadcast_to(m.out_proj.bias.data, (3, 8)))
    tx = torch.tensor(x)  # torch's path without weights gives the same zero rows
    _close(out.data, tm(tx, tx, tx, key_padding_mask=torch.tensor(kpm), need_weights=False)[0].detach().numpy())
    (out ** 2).sum().backward()
    assert all(np.isfinite(p.grad).all() for p in m.parameters()) and np.isfinite(xt.grad).all()


class AttnClassifier(nn.Module):
    """Self-attention, mean over the sequence, then a Linear head."""

    def __init__(self) -> None:
        self.attn = nn.MultiheadAttention(6, 2, rng=0)
        self.head = nn.Linear(6, 3, rng=1)

    def forward(self, x: Any, kpm: Any = None) -> tl.Tensor:
        return self.head(self.attn(x, x, x, key_padding_mask=kpm)[0].mean(axis=1))


def _each_alone(model: nn.Module, x: np.ndarray, y: np.ndarray, masks: Optional[np.ndarray],
                call: Callable) -> None:
    """grad_sample (and grad, norms) from one batched backward equal B runs of one sample each."""
    ref: dict = {name: [] for name, _ in model.named_parameters()}
    for b in range(len(x)):
        model.zero_grad()
        F.cross_entropy(call(model, tl.Tensor(x[b:b + 1]), None if masks is None else masks[b:b + 1]),
                        y[b:b + 1]).backward()
        for name, p in model.named_parameters():
            ref[name].append(p.grad.copy())
    model.zero_grad()
    F.cross_entropy(call(model, tl.Tensor(x, batched=True), masks), y).backward()
    for name, p in model.named_parameters():
        want = np.stack(ref[name])
        _close(p.grad_sample, want, f"grad_sample of {name}")
        _close(p.grad, want.mean(axis=0), f"grad of {name}")
        _close(p.grad_sample_norm, np.sqrt((want.reshape(len(x), -1) ** 2).sum(axis=1)), f"norms of {name}")


def test_attention_grad_sample_with_a_per_sample_key_padding_mask() -> None:
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((4, 5, 6)), np.array([0, 2, 1, 2])
    kpm = np.zeros((4, 5), bool)
    kpm[1, 3:] = True
    kpm[2, 0] = True
    kpm[3, 1:4] = True
    _each_alone(AttnClassifier(), x, y, kpm, lambda m, xb, kb: m(xb, kb))


_Z = np.zeros((2, 3, 4))


@pytest.mark.parametrize("call,err,match", [
    (lambda m: m(_Z, _Z, _Z, key_padding_mask=np.zeros((3, 2), bool)),
     ValueError, r"key_padding_mask must have shape \(2, 3\).*\(3, 2\)"),
    (lambda m: m(np.zeros((3, 4)), np.zeros((3, 4)), np.zeros((3, 4)), key_padding_mask=np.zeros((1, 3), bool)),
     ValueError, r"key_padding_mask must have shape \(3,\).*\(1, 3\)"),
    (lambda m: m(_Z, _Z, _Z, key_padding_mask=np.zeros((2, 3), int)),
     TypeError, r"key_padding_mask must be bool.*int"),
    (lambda m: m(*[tl.Tensor(np.zeros((2, 4)), batched=True)] * 3), ValueError,
     r"MultiheadAttention\(4, 2\): a batched input.*\(B, T, 4\).*\(2, 4\)"),
])
def test_attention_mask_errors_name_the_layer_and_shapes(call: Callable, err: type, match: str) -> None:
    with pytest.raises(err, match=match):
        call(nn.MultiheadAttention(4, 2))


def test_attention_refuses_a_batched_input_with_batch_first_false() -> None:
    m = nn.MultiheadAttention(4, 2, batch_first=False)
    x = tl.Tensor(np.zeros((2, 3, 4)), batched=True)
    with pytest.raises(ValueError, match=r"MultiheadAttention\(4, 2\).*batch_first=True.*batch_first=False"):
        m(x, x, x)
    assert m(np.zeros((3, 2, 4)), np.zeros((3, 2, 4)), np.zeros((3, 2, 4)))[0].shape == (3, 2, 4)


def test_attention_dropout_follows_manual_seed() -> None:
    m = nn.MultiheadAttention(4, 2, dropout=0.5)
    x = np.random.default_rng(5).standard_normal((2, 3, 4))
    tl.manual_seed(7)
    a = m(x, x, x)[0].data
    tl.manual_seed(7)
    b = m(x, x, x)[0].data
    assert np.array_equal(a, b)
    assert not np.allclose(a, m.eval()(x, x, x)[0].data)
