"""MultiheadAttention's torch keywords ``kdim``, ``vdim``, ``add_bias_kv`` and ``add_zero_attn``
against torch in float64: parameter names, order and shapes, state_dict both ways, outputs,
attention weights and every gradient (batched, unbatched, sequence-first, with each kind of
mask), and per-sample gradients against one backward per sample."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask and attn_mask")

E, H = 8, 2
B, TQ, TK = 3, 4, 5


def _close(a: Any, b: Any, what: str = "") -> None:
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-12, err_msg=what)


def _pair(bias: bool = True, batch_first: bool = True, **opts: Any) -> tuple:
    """A torch module and this library's, holding torch's weights."""
    torch.manual_seed(0)
    tm = torch.nn.MultiheadAttention(E, H, bias=bias, batch_first=batch_first, **opts).double()
    m = nn.MultiheadAttention(E, H, bias, batch_first, rng=1, **opts)
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    return m, tm


def _t(a: Any) -> Any:
    return torch.tensor(a) if isinstance(a, np.ndarray) else a


OPTS = [
    pytest.param({}, id="packed"),
    pytest.param({"add_bias_kv": True}, id="bias_kv"),
    pytest.param({"add_zero_attn": True}, id="zero_attn"),
    pytest.param({"add_bias_kv": True, "add_zero_attn": True}, id="bias_kv+zero_attn"),
    pytest.param({"kdim": 3, "vdim": 5}, id="kdim3_vdim5"),
    pytest.param({"kdim": 3, "vdim": 5, "add_bias_kv": True, "add_zero_attn": True}, id="kvdim+bias_kv+zero_attn"),
    pytest.param({"vdim": 5, "add_bias_kv": True}, id="vdim5+bias_kv"),
    pytest.param({"kdim": E, "vdim": E, "add_zero_attn": True}, id="kdim=vdim=E"),
]

_R = np.random.default_rng(0)
_KPM = np.zeros((B, TK), bool)
_KPM[1, -2:] = True
_KPM[2, 0] = True
_ATT = _R.random((TQ, TK)) < 0.3
_ATT[:, 1] = False
_KPM_C = _KPM.copy()  # with the causal mask: every query keeps a key (torch gives nan otherwise)
_KPM_C[2, 0], _KPM_C[2, 3] = False, True
_CAUSAL = np.where(np.triu(np.ones((TQ, TK), bool), 1), -np.inf, 0.0)
MASKS = [
    pytest.param({}, id="nomask"),
    pytest.param({"attn_mask": _ATT}, id="bool_attn"),
    pytest.param({"attn_mask": _R.standard_normal((TQ, TK))}, id="float_attn"),
    pytest.param({"attn_mask": _R.standard_normal((B * H, TQ, TK))}, id="float_attn3d"),
    pytest.param({"key_padding_mask": _KPM}, id="bool_kpm"),
    pytest.param({"key_padding_mask": np.where(_KPM, -np.inf, _R.standard_normal((B, TK)))}, id="float_kpm"),
    pytest.param({"key_padding_mask": _KPM, "attn_mask": _ATT, "average_attn_weights": False}, id="kpm+attn_heads"),
    pytest.param({"is_causal": True}, id="causal"),
    pytest.param({"is_causal": True, "key_padding_mask": _KPM_C}, id="causal+kpm"),
]


def _inputs(opts: dict, batch: Any = (B,)) -> tuple:
    rng = np.random.default_rng(3)
    kd, vd = opts.get("kdim") or E, opts.get("vdim") or E
    shape = tuple(batch)
    return (rng.standard_normal(shape + (TQ, E)), rng.standard_normal(shape + (TK, kd)),
            rng.standard_normal(shape + (TK, vd)))


def _torch_kw(kw: dict) -> dict:
    """torch's equivalent call: ``is_causal`` needs the causal mask as ``attn_mask`` there."""
    tkw = {a: _t(b) for a, b in kw.items()}
    if kw.get("is_causal"):
        tkw["attn_mask"] = torch.tensor(_CAUSAL[:kw.get("_tq", TQ), :kw.get("_tk", TK)])
    tkw.pop("_tq", None)
    tkw.pop("_tk", None)
    return tkw


def _run_both(m: Any, tm: Any, xs: tuple, kw: dict, G_seed: int = 4) -> tuple:
    """Forward both, a random cotangent on the output and one on the weights; returns
    (our out, weights, input grads), torch's likewise."""
    ts = [torch.tensor(a, requires_grad=True) for a in xs]
    ls = [tl.Tensor(a, requires_grad=True) for a in xs]
    out, w = m(*ls, **kw)
    tout, tw = tm(*ts, **_torch_kw(kw))
    rng = np.random.default_rng(G_seed)
    G, Gw = rng.standard_normal(out.shape), rng.standard_normal(w.shape)
    ((out * G).sum() + (w * Gw).sum()).backward()
    ((tout * torch.tensor(G)).sum() + (tw * torch.tensor(Gw)).sum()).backward()
    return (out, w, [x.grad for x in ls]), (tout, tw, [t.grad for t in ts])


def _check(m: Any, tm: Any, ours: tuple, theirs: tuple) -> None:
    _close(ours[0].data, theirs[0].detach().numpy(), "output")
    _close(ours[1].data, theirs[1].detach().numpy(), "attention weights")
    for name, a, b in zip(("query", "key", "value"), ours[2], theirs[2]):
        _close(a, b.numpy(), f"grad of {name}")
    named = dict(tm.named_parameters())
    assert [k for k, _ in m.named_parameters()] == list(named)
    for k, p in m.named_parameters():
        _close(p.grad, named[k].grad.numpy(), f"grad of {k}")


# ------------------------------------------------------------------ parameters and state ----
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("opts", OPTS)
def test_parameter_names_order_shapes_and_attributes_match_torch(opts: dict, bias: bool) -> None:
    m, tm = _pair(bias, **opts)
    assert [(k, tuple(p.shape)) for k, p in m.named_parameters()] == \
           [(k, tuple(p.shape)) for k, p in tm.named_parameters()]
    assert list(m.state_dict()) == list(tm.state_dict())
    for a in ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias",
              "bias_k", "bias_v"):
        assert (getattr(m, a) is None) == (getattr(tm, a) is None), a
    for a in ("kdim", "vdim", "_qkv_same_embed_dim", "add_zero_attn"):
        assert getattr(m, a) == getattr(tm, a), a


@pytest.mark.parametrize("opts", OPTS)
def test_state_dict_loads_both_ways(opts: dict) -> None:
    m, tm = _pair(**opts)
    fresh = nn.MultiheadAttention(E, H, rng=7, **opts)
    tm2 = torch.nn.MultiheadAttention(E, H, batch_first=True, **opts).double()
    tm2.load_state_dict({k: torch.tensor(v) for k, v in fresh.state_dict().items()})
    fresh.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    for k, v in tm.state_dict().items():
        _close(fresh.state_dict()[k], v.numpy(), k)
    xs = _inputs(opts)
    _close(nn.MultiheadAttention(E, H, rng=7, **opts)(*xs)[0].data,
           tm2(*(torch.tensor(a) for a in xs))[0].detach().numpy(), "torch holding our weights")


def test_separate_weights_and_bias_kv_refuse_the_other_layout() -> None:
    packed = nn.MultiheadAttention(E, H)
    sep = nn.MultiheadAttention(E, H, kdim=3, add_bias_kv=True)
    with pytest.raises(KeyError, match=r"load_state_dict.*q_proj_weight"):
        packed.load_state_dict(sep.state_dict())
    before = {k: v.copy() for k, v in sep.state_dict().items()}
    with pytest.raises(KeyError, match=r"load_state_dict.*in_proj_weight"):
        sep.load_state_dict(packed.state_dict())
    for k, v in sep.state_dict().items():
        assert np.array_equal(v, before[k])


def test_initialisation_follows_torch() -> None:
    """xavier uniform on each projection, xavier normal (std 1/sqrt(E)) on bias_k / bias_v."""
    e = 512
    m = nn.MultiheadAttention(e, 4, kdim=64, vdim=32, add_bias_kv=True, rng=0)
    for p, cols in ((m.q_proj_weight, e), (m.k_proj_weight, 64), (m.v_proj_weight, 32)):
        bound = math.sqrt(6.0 / (e + cols))
        assert np.abs(p.data).max() <= bound and np.abs(p.data).max() > 0.95 * bound
    for p in (m.bias_k, m.bias_v):
        assert p.shape == (1, 1, e) and abs(p.data.std() / math.sqrt(1.0 / e) - 1) < 0.15
        assert abs(p.data.mean()) < 8.0 / e  # (8 standard errors of the mean)
    assert not np.array_equal(m.bias_k.data, m.bias_v.data)
    _close(m.in_proj_bias.data, 0.0)
    _close(m.out_proj.bias.data, 0.0)


def test_default_construction_unchanged_by_the_options() -> None:
    """The default layout draws the same weights as before the options existed."""
    a = nn.MultiheadAttention(E, H, rng=5)
    b = nn.MultiheadAttention(E, H, rng=5, add_zero_attn=True, kdim=E, vdim=E)
    for (k, p), (k2, p2) in zip(a.named_parameters(), b.named_parameters()):
        assert k == k2 and np.array_equal(p.data, p2.data)


# ------------------------------------------------------------------ forward and backward ----
@pytest.mark.parametrize("kw", MASKS)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("opts", OPTS)
def test_batched_forward_weights_and_grads_match_torch(opts: dict, bias: bool, kw: dict) -> None:
    m, tm = _pair(bias, **opts)
    ours, theirs = _run_both(m, tm, _inputs(opts), kw)
    extra = bool(opts.get("add_bias_kv")) + bool(opts.get("add_zero_attn"))
    assert ours[1].shape[-1] == TK + extra
    _check(m, tm, ours, theirs)


@pytest.mark.parametrize("opts", OPTS[:4] + [pytest.param({"vdim": 5, "add_bias_kv": True, "add_zero_attn": True},
                                                          id="vdim5+both")])
def test_self_attention_and_shared_query_key_match_torch(opts: dict) -> None:
    """query is key (and value when the sizes allow): the one-Linear path and the separate one."""
    m, tm = _pair(**opts)
    rng = np.random.default_rng(8)
    x = rng.standard_normal((B, TQ, E))
    v = x if not opts.get("vdim") else rng.standard_normal((B, TQ, opts["vdim"]))
    tx = torch.tensor(x, requires_grad=True)
    tv = tx if v is x else torch.tensor(v)
    lx = tl.Tensor(x, requires_grad=True)
    lv = lx if v is x else tl.Tensor(v)
    out, w = m(lx, lx, lv, is_causal=True)
    tout, tw = tm(tx, tx, tv, attn_mask=torch.tensor(_CAUSAL[:, :TQ]), is_causal=True)
    G = np.random.default_rng(9).standard_normal(out.shape)
    (out * G).sum().backward()
    (tout * torch.tensor(G)).sum().backward()
    _close(out.data, tout.detach().numpy(), "output")
    _close(w.data, tw.detach().numpy(), "weights")
    _close(lx.grad, tx.grad.numpy(), "grad of x")
    named = dict(tm.named_parameters())
    for k, p in m.named_parameters():
        _close(p.grad, named[k].grad.numpy(), f"grad of {k}")


@pytest.mark.parametrize("kw", [
    pytest.param({}, id="nomask"),
    pytest.param({"attn_mask": _ATT, "key_padding_mask": _KPM[1]}, id="bool"),
    pytest.param({"attn_mask": _R.standard_normal((H, TQ, TK)),
                  "key_padding_mask": np.where(_KPM[2], -np.inf, 0.0), "average_attn_weights": False}, id="float"),
    pytest.param({"is_causal": True}, id="causal"),
])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("opts", OPTS)
def test_unbatched_forward_weights_and_grads_match_torch(opts: dict, bias: bool, kw: dict) -> None:
    m, tm = _pair(bias, **opts)
    ours, theirs = _run_both(m, tm, _inputs(opts, ()), kw)
    _check(m, tm, ours, theirs)


@pytest.mark.parametrize("opts", OPTS)
def test_sequence_first_matches_torch(opts: dict) -> None:
    m, tm = _pair(batch_first=False, **opts)
    q, k, v = (np.ascontiguousarray(a.transpose(1, 0, 2)) for a in _inputs(opts))
    ours, theirs = _run_both(m, tm, (q, k, v), {"key_padding_mask": _KPM, "attn_mask": _ATT})
    _check(m, tm, ours, theirs)


@pytest.mark.parametrize("opts", OPTS[1:4])
def test_causal_without_weights_keeps_the_appended_columns(opts: dict) -> None:
    """``is_causal=True`` masks the given keys only; the appended rows stay visible to every
    query, with or without ``need_weights`` (torch's explicit causal mask, padded)."""
    m, tm = _pair(**opts)
    xs = _inputs(opts)
    a = m(*xs, is_causal=True, need_weights=False)
    assert a[1] is None
    ref = tm(*(torch.tensor(x) for x in xs), attn_mask=torch.tensor(_CAUSAL), need_weights=False)[0]
    _close(a[0].data, ref.detach().numpy(), "output")
    _close(a[0].data, m(*xs, is_causal=True)[0].data, "output with weights")


# ------------------------------------------------------------------ per-sample gradients ----
@pytest.mark.parametrize("kw", [
    pytest.param({}, id="nomask"),
    pytest.param({"key_padding_mask": _KPM, "attn_mask": _ATT}, id="kpm+attn"),
    pytest.param({"key_padding_mask": _KPM_C, "is_causal": True}, id="kpm+causal"),
])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("opts", OPTS)
def test_per_sample_gradients_match_torch_one_sample_at_a_time(opts: dict, bias: bool, kw: dict) -> None:
    m, tm = _pair(bias, **opts)
    xs = _inputs(opts)
    out, _ = m(*(tl.Tensor(a, batched=True) for a in xs), need_weights=False, **kw)
    G = np.random.default_rng(6).standard_normal(out.shape)
    (out * G).sum().backward()
    ref: dict = {k: [] for k, _ in tm.named_parameters()}
    for b in range(B):
        tm.zero_grad()
        kwb = {a: (v[b:b + 1] if a == "key_padding_mask" else v) for a, v in kw.items()}
        tout, _ = tm(*(torch.tensor(a[b:b + 1]) for a in xs), need_weights=False, **_torch_kw(kwb))
        (tout * torch.tensor(G[b:b + 1])).sum().backward()
        for k, p in tm.named_parameters():
            ref[k].append(p.grad.numpy().copy())
    names = [k for k, _ in m.named_parameters()]
    assert names == list(ref)
    for k, p in m.named_parameters():
        S = np.stack(ref[k])
        assert p.grad_sample.shape == (B,) + p.shape, k
        _close(p.grad_sample, S, f"grad_sample of {k}")
        _close(p.grad, S.sum(axis=0), f"grad of {k}")
        _close(p.grad_sample_norm, np.sqrt((S.reshape(B, -1) ** 2).sum(axis=1)), f"grad_sample_norm of {k}")


def test_per_sample_gradients_with_a_mean_cost_inside_a_model() -> None:
    """The options inside a model trained with a mean cross-entropy: grad_sample of every
    parameter equals each sample's own backward (a batch of one)."""

    class Model(nn.Module):
        def __init__(self) -> None:
            self.attn = nn.MultiheadAttention(E, H, rng=0, kdim=3, vdim=5, add_bias_kv=True, add_zero_attn=True)
            self.head = nn.Linear(E, 4, rng=1)

        def forward(self, q: Any, k: Any, v: Any) -> Any:
            return self.head(self.attn(q, k, v, need_weights=False)[0].sum(axis=1))

    model = Model()
    xs = _inputs({"kdim": 3, "vdim": 5})
    y = np.arange(B) % 4
    rows: dict = {k: [] for k, _ in model.named_parameters()}
    for b in range(B):
        model.zero_grad()
        nn.functional.cross_entropy(model(*(tl.Tensor(a[b:b + 1]) for a in xs)), y[b:b + 1]).backward()
        for k, p in model.named_parameters():
            rows[k].append(p.grad.copy())
    model.zero_grad()
    nn.functional.cross_entropy(model(*(tl.Tensor(a, batched=True) for a in xs)), y).backward()
    assert {"attn.q_proj_weight", "attn.k_proj_weight", "attn.v_proj_weight", "attn.bias_k",
            "attn.bias_v"} <= set(rows)
    for k, p in model.named_parameters():
        _close(p.grad_sample, np.stack(rows[k]), f"grad_sample of {k}")
        _close(p.grad, np.stack(rows[k]).mean(axis=0), f"grad of {k}")


# ------------------------------------------------------------------ bad input ----
def test_key_and_value_sizes_are_checked() -> None:
    m = nn.MultiheadAttention(E, H, kdim=3, vdim=5)
    q = np.ones((B, TQ, E))
    with pytest.raises(ValueError, match=r"MultiheadAttention\(8, 2\): key must have shape \(B, T, 3\) "
                                         r"\(kdim=3\), got \(3, 5, 8\)"):
        m(q, np.ones((B, TK, E)), np.ones((B, TK, 5)))
    with pytest.raises(ValueError, match=r"value must have shape \(B, T, 5\) \(vdim=5\), got \(3, 5, 3\)"):
        m(q, np.ones((B, TK, 3)), np.ones((B, TK, 3)))
    with pytest.raises(ValueError, match=r"key must have shape \(B, T, 8\) \(kdim=8\), got \(3, 5, 3\)"):
        nn.MultiheadAttention(E, H)(q, np.ones((B, TK, 3)), np.ones((B, TK, E)))


@pytest.mark.parametrize("kw, err, msg", [
    ({"kdim": 0}, ValueError, r"MultiheadAttention: kdim must be an int >= 1, got 0"),
    ({"vdim": 2.5}, ValueError, r"MultiheadAttention: vdim must be an int >= 1, got 2.5"),
    ({"kdim": True}, ValueError, r"kdim"),
    ({"add_bias_kv": 1}, TypeError, r"MultiheadAttention: add_bias_kv must be a bool, got 1"),
    ({"add_zero_attn": "yes"}, TypeError, r"MultiheadAttention: add_zero_attn must be a bool"),
])
def test_bad_options_are_refused(kw: dict, err: type, msg: str) -> None:
    with pytest.raises(err, match=msg):
        nn.MultiheadAttention(E, H, **kw)


def test_masks_keep_their_original_key_length() -> None:
    """Masks are given for the keys passed in; the appended columns are added inside."""
    m = nn.MultiheadAttention(E, H, add_bias_kv=True, add_zero_attn=True)
    xs = _inputs({})
    with pytest.raises(ValueError, match=r"attn_mask must have shape \(4, 5\) or \(6, 4, 5\), got \(4, 7\)"):
        m(*xs, attn_mask=np.zeros((TQ, TK + 2), bool))
    with pytest.raises(ValueError, match=r"key_padding_mask must have shape \(3, 5\).*got \(3, 7\)"):
        m(*xs, key_padding_mask=np.zeros((B, TK + 2), bool))


def test_all_keys_masked_still_attends_to_the_appended_rows() -> None:
    """A query whose given keys are all masked attends to bias_k / the zero row (as torch)."""
    kpm = np.ones((B, TK), bool)
    for opts in ({"add_bias_kv": True}, {"add_zero_attn": True}):
        m, tm = _pair(**opts)
        ours, theirs = _run_both(m, tm, _inputs(opts), {"key_padding_mask": kpm})
        _check(m, tm, ours, theirs)
        assert np.allclose(ours[1].data[..., -1], 1.0)


def test_repr_names_the_options() -> None:
    r = repr(nn.MultiheadAttention(E, H, kdim=3, vdim=5, add_bias_kv=True, add_zero_attn=True))
    assert "kdim=3, vdim=5, add_bias_kv=True, add_zero_attn=True" in r
    assert "kdim" not in repr(nn.MultiheadAttention(E, H))
