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


# ------------------------------------------------------------------ encoder and decoder vs torch --
def _enc_pair(torch: Any, num_layers: int = 1, final_norm: bool = False, **kw: Any) -> tuple:
    tl_layer = nn.TransformerEncoderLayer(8, 2, 16, **kw)
    tkw = {"activation": kw.get("activation", "relu"), **{k: v for k, v in kw.items() if k != "activation"}}
    t_layer = torch.nn.TransformerEncoderLayer(8, 2, 16, **tkw)
    tm = torch.nn.TransformerEncoder(t_layer, num_layers, norm=torch.nn.LayerNorm(8) if final_norm else None,
                                     enable_nested_tensor=False).double().eval()
    m = nn.TransformerEncoder(tl_layer, num_layers, norm=nn.LayerNorm(8) if final_norm else None).eval()
    _load(m, tm)
    return m, tm


_CAUSAL = np.triu(np.ones((5, 5), bool), 1)
_SRC_BOOL = np.random.default_rng(6).random((5, 5)) < 0.3
np.fill_diagonal(_SRC_BOOL, False)


@pytest.mark.parametrize("layer_kw,nl,fn,fkw", [
    ({"norm_first": False}, 1, False, {}),
    ({"norm_first": True, "activation": "gelu"}, 1, False, {}),
    ({"norm_first": False, "activation": "gelu", "batch_first": True}, 2, True, {"src_key_padding_mask": _KPM}),
    ({"norm_first": True, "batch_first": True}, 2, True, {"mask": _SRC_BOOL, "src_key_padding_mask": _KPM}),
    ({"norm_first": True}, 2, False, {"mask": np.random.default_rng(7).standard_normal((5, 5))}),
    ({"norm_first": False, "batch_first": True}, 2, True, {"is_causal": True}),
    ({"norm_first": True, "bias": False}, 1, True, {"mask": _SRC_BOOL}),
])
def test_encoder_outputs_and_every_gradient_match_torch(torch: Any, layer_kw: dict, nl: int, fn: bool,
                                                        fkw: dict) -> None:
    m, tm = _enc_pair(torch, nl, fn, **layer_kw)
    x = np.random.default_rng(8).standard_normal((3, 5, 8) if layer_kw.get("batch_first") else (5, 3, 8))
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in fkw.items()}
    if fkw.get("is_causal"):
        tkw["mask"] = torch.tensor(_CAUSAL)  # torch needs the mask itself with its is_causal hint
    xt, tx = tl.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = m(xt, **fkw), tm(tx, **tkw)
    _close(y.data, ty.detach().numpy(), "output")
    G = np.random.default_rng(9).standard_normal(y.shape)
    (y * G).sum().backward()
    (ty * torch.tensor(G)).sum().backward()
    _close(xt.grad, tx.grad.numpy(), "grad of src")
    _grads_match(m, tm)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_outputs_and_every_gradient_match_torch(torch: Any, norm_first: bool) -> None:
    kw = {"batch_first": True, "norm_first": norm_first, "activation": "gelu"}
    tm = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(8, 2, 16, **kw), 2,
                                     norm=torch.nn.LayerNorm(8)).double().eval()
    m = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, **kw), 2, norm=nn.LayerNorm(8)).eval()
    _load(m, tm)
    assert "layers.1.multihead_attn.in_proj_weight" in m.state_dict() and "layers.0.norm3.bias" in m.state_dict()
    rng = np.random.default_rng(10)
    tgt, mem = rng.standard_normal((3, 4, 8)), rng.standard_normal((3, 5, 8))
    mkpm = np.where(_KPM, -np.inf, 0.0)  # float, like memory_mask
    mem_mask = rng.standard_normal((4, 5))
    tkpm = np.zeros((3, 4), bool)
    tkpm[2, 3] = True
    args = (tgt, mem)
    kw2 = {"tgt_mask": np.triu(np.ones((4, 4), bool), 1), "memory_mask": mem_mask, "tgt_key_padding_mask": tkpm,
           "memory_key_padding_mask": mkpm}
    xs = [tl.Tensor(a, requires_grad=True) for a in args]
    ts = [torch.tensor(a, requires_grad=True) for a in args]
    y = m(*xs, **kw2)
    ty = tm(*ts, **{k: torch.tensor(v) for k, v in kw2.items()})
    _close(y.data, ty.detach().numpy(), "output")
    _close(m(*args, tgt_is_causal=True, memory_key_padding_mask=mkpm).data,
           tm(*(torch.tensor(a) for a in args), tgt_mask=torch.tensor(kw2["tgt_mask"]), tgt_is_causal=True,
              memory_key_padding_mask=torch.tensor(mkpm)).detach().numpy(), "causal target")
    G = rng.standard_normal(y.shape)
    (y * G).sum().backward()
    (ty * torch.tensor(G)).sum().backward()
    for x, t, name in zip(xs, ts, ("tgt", "memory")):
        _close(x.grad, t.grad.numpy(), f"grad of {name}")
    _grads_match(m, tm)


def test_torch_weights_load_by_name(torch: Any) -> None:
    tm = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 2,
                                     norm=torch.nn.LayerNorm(8))
    m = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 2, norm=nn.LayerNorm(8))
    assert list(m.state_dict()) == list(tm.state_dict())  # the same names, in the same order
    for k, v in m.state_dict().items():
        assert v.shape == tuple(tm.state_dict()[k].shape), k
    m.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})  # float32 weights load as they are
    x = np.random.default_rng(11).standard_normal((2, 5, 8)).astype(np.float32)
    tm.eval()
    m.eval()
    _close(m(x).data, tm(torch.tensor(x)).detach().numpy(), "float32 output", tol=1e-5)


# ------------------------------------------------------------------ per-sample gradients ---------
class EncClassifier(nn.Module):
    """A two-layer encoder, pooled (mean over the sequence, or the first token), then a head."""

    def __init__(self, pool: str, norm_first: bool) -> None:
        layer = nn.TransformerEncoderLayer(6, 2, 10, dropout=0.0, batch_first=True, norm_first=norm_first,
                                           activation="gelu", rng=0)
        self.encoder = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(6))
        self.head = nn.Linear(6, 3, rng=1)
        self.pool = pool

    def forward(self, x: Any, kpm: Any = None) -> tl.Tensor:
        h = self.encoder(x, src_key_padding_mask=kpm)
        return self.head(h.mean(axis=1) if self.pool == "mean" else h[:, 0])


@pytest.mark.parametrize("pool,norm_first,padded", [("mean", False, False), ("first", True, False),
                                                    ("mean", True, True), ("first", False, True)])
def test_encoder_grad_sample_equals_each_sample_alone(pool: str, norm_first: bool, padded: bool) -> None:
    rng = np.random.default_rng(12)
    x, y = rng.standard_normal((4, 5, 6)), np.array([2, 0, 1, 1])
    kpm = None
    if padded:  # each sample its own padding: a constant of that sample
        kpm = np.zeros((4, 5), bool)
        kpm[0, 4:] = True
        kpm[2, 2:] = True
        kpm[3, 1] = True
    model = EncClassifier(pool, norm_first)
    model.encoder.layers[1].linear1.weight.data += 0.1  # the copies start equal: make them differ
    _each_alone(model, x, y, kpm, lambda m, xb, kb: m(xb, kb))


def test_a_few_adam_steps_match_torch(torch: Any) -> None:
    tm = torch.nn.ModuleDict({"encoder": torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(6, 2, 10, dropout=0.0, batch_first=True, activation="gelu"), 2,
        norm=torch.nn.LayerNorm(6), enable_nested_tensor=False), "head": torch.nn.Linear(6, 3)}).double()
    m = EncClassifier("mean", False)
    _load(m, tm)
    rng = np.random.default_rng(13)
    x, y = rng.standard_normal((8, 5, 6)), rng.integers(0, 3, 8)
    kpm = rng.random((8, 5)) < 0.3
    kpm[:, 0] = False
    opt, topt = tl.optim.Adam(m.parameters(), lr=0.01), torch.optim.Adam(tm.parameters(), lr=0.01)
    losses = []
    for _ in range(4):
        opt.zero_grad()
        loss = F.cross_entropy(m(tl.Tensor(x, batched=True), kpm), y)
        loss.backward()
        opt.step()
        topt.zero_grad()
        h = tm["encoder"](torch.tensor(x), src_key_padding_mask=torch.tensor(kpm)).mean(dim=1)
        tloss = torch.nn.functional.cross_entropy(tm["head"](h), torch.tensor(y))
        tloss.backward()
        topt.step()
        _close(loss.item(), tloss.item(), "loss")
        losses.append(loss.item())
        for name, p in m.named_parameters():
            _close(p.data, tm.state_dict()[name].numpy(), f"{name} after a step")
        assert m.encoder.layers[0].self_attn.in_proj_weight.grad_sample.shape == (8, 18, 6)
    assert losses[-1] < losses[0]


# ------------------------------------------------------------------ dropout, errors -------------
def test_dropout_follows_the_seed_and_each_copy_draws_its_own_masks() -> None:
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5, batch_first=True), 2)
    x = np.random.default_rng(14).standard_normal((2, 5, 8))
    tl.manual_seed(3)
    a = enc(x).data
    tl.manual_seed(3)
    assert np.array_equal(a, enc(x).data)
    assert not np.allclose(a, enc.eval()(x).data)
    seeded = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5, batch_first=True, rng=5), 2)
    layers = seeded.layers
    assert layers[0].dropout.rng is layers[1].dropout.rng  # one stream shared, not two equal clones
    assert layers[0].linear1.weight is not layers[1].linear1.weight
    np.testing.assert_array_equal(layers[0].linear1.weight.data, layers[1].linear1.weight.data)


def test_a_batched_input_needs_batch_first() -> None:
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    assert not layer.batch_first  # torch's default, so torch code feeding (S, N, E) gets torch's result
    xb = tl.Tensor(np.zeros((3, 5, 8)), batched=True)
    with pytest.raises(ValueError, match=r"TransformerEncoderLayer\(d_model=8, nhead=2\): a batched src.*"
                                         r"\(B, S, 8\).*batch_first=True.*\(3, 5, 8\).*batch_first=False"):
        layer(xb)
    with pytest.raises(ValueError, match=r"TransformerEncoderLayer.*a batched src.*\(5, 8\)"):
        nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)(tl.Tensor(np.zeros((5, 8)), batched=True))
    dec = nn.TransformerDecoderLayer(8, 2, 16)
    with pytest.raises(ValueError, match=r"TransformerDecoderLayer\(d_model=8, nhead=2\): a batched memory"):
        dec(np.zeros((4, 3, 8)), xb)
    assert layer(np.zeros((5, 3, 8))).shape == (5, 3, 8)
    assert nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)(xb).shape == (3, 5, 8)


_ENC = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)
_X = np.zeros((3, 5, 8))


@pytest.mark.parametrize("call,err,match", [
    (lambda: _ENC(np.zeros((3, 5, 6))), ValueError,
     r"TransformerEncoderLayer\(d_model=8, nhead=2\): src must have shape \(N, S, 8\).*\(3, 5, 6\)"),
    (lambda: nn.TransformerEncoderLayer(6, 4), ValueError, r"TransformerEncoderLayer: d_model=6.*nhead=4"),
    (lambda: nn.TransformerDecoderLayer(10, 3), ValueError, r"TransformerDecoderLayer: d_model=10.*nhead=3"),
    (lambda: _ENC(_X, src_mask=np.zeros((5, 4), bool)), ValueError,
     r"TransformerEncoderLayer\(d_model=8, nhead=2\): src_mask must have shape \(5, 5\) or \(6, 5, 5\).*\(5, 4\)"),
    (lambda: _ENC(_X, src_key_padding_mask=np.zeros((5, 3), bool)), ValueError,
     r"src_key_padding_mask must have shape \(3, 5\).*\(5, 3\)"),
    (lambda: _ENC(_X[0], src_key_padding_mask=np.zeros((1, 5), bool)), ValueError,
     r"src_key_padding_mask must have shape \(5,\).*\(1, 5\)"),
    (lambda: nn.TransformerEncoder(_ENC, 2)(_X, mask=np.zeros((3, 5, 5))), ValueError,
     r"TransformerEncoderLayer.*src_mask must have shape \(5, 5\) or \(6, 5, 5\).*\(3, 5, 5\)"),
    (lambda: nn.TransformerDecoderLayer(8, 2, 16, batch_first=True)(np.zeros((3, 4, 8)), _X,
                                                                   memory_key_padding_mask=np.zeros((3, 4), bool)),
     ValueError, r"TransformerDecoderLayer.*memory_key_padding_mask must have shape \(3, 5\).*\(3, 4\)"),
    (lambda: nn.TransformerDecoderLayer(8, 2, 16, batch_first=True)(np.zeros((2, 4, 8)), _X), ValueError,
     r"TransformerDecoderLayer.*tgt \(2, 4, 8\) and memory \(3, 5, 8\)"),
    (lambda: nn.TransformerEncoderLayer(8, 2, activation="swish"), ValueError, r"activation.*'swish'"),
    (lambda: nn.TransformerEncoder("layer", 2), TypeError, r"TransformerEncoder: the layer to copy must be a Module"),
    (lambda: nn.TransformerEncoder(_ENC, -1), ValueError, r"TransformerEncoder: num_layers must be an int >= 0"),
    (lambda: nn.TransformerEncoderLayer(8, 2, dropout=1.5), ValueError, r"dropout.*\[0, 1\]"),
])
def test_clear_errors_name_the_layer_and_the_shapes(call: Callable, err: type, match: str) -> None:
    with pytest.raises(err, match=match):
        call()


def test_callable_activation_and_repr() -> None:
    a = nn.TransformerEncoderLayer(8, 2, 16, activation=nn.GELU(), rng=0).eval()
    b = nn.TransformerEncoderLayer(8, 2, 16, activation="gelu", rng=0).eval()
    x = np.random.default_rng(15).standard_normal((5, 2, 8))
    np.testing.assert_array_equal(a(x).data, b(x).data)
    assert b.extra_repr().startswith("d_model=8, nhead=2, dim_feedforward=16")
    assert "(self_attn): MultiheadAttention" in repr(b) and "(linear1): Linear" in repr(b)
    enc = nn.TransformerEncoder(b, 3, enable_nested_tensor=False)
    assert len(enc.layers) == 3 and enc.extra_repr() == "num_layers=3"
    assert "(0-2): 3 x TransformerEncoderLayer(" in repr(enc)  # (a ModuleList prints alike children once, as torch)
