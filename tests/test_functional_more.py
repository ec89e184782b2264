"""``F.pad`` and the padding layers, Conv ``padding_mode``, the similarities (``normalize``,
``cosine_similarity``, ``pairwise_distance``) and the losses of ``nn/losses_more.py``.

* every function, over hypothesis shapes and parameters: the value equals a numpy reference
  written independently (``np.pad``, explicit formulas), the gradients equal float64 central
  differences of it, and value and gradients equal torch's to ~1e-10 (the ``test_ops`` checks);
* torch's edge rules: negative pads, the eps guards (normalize clamps the norm, cosine
  similarity clamps its value only), kl_div's "batchmean" and its warning for "mean";
* per sample: with a batched input through a Linear (or a padded Conv), ``grad_sample``
  equals one backward per sample alone, for the mean and the sum;
* modules against torch's modules; bad inputs raise errors naming the function.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import strategies as st
from test_losses import check_empty_batch, each_sample_alone
from test_ops import DOMAINS, OpSpec, table_tests

import tinygrad_lite as tl
from tinygrad_lite import Tensor, nn
from tinygrad_lite.nn import functional as F

DOMAINS.setdefault("prob", lambda rng, shape: rng.uniform(0.05, 0.95, shape))
DOMAINS.setdefault("sign", lambda rng, shape: rng.choice([-1.0, 1.0], shape))
DOMAINS.setdefault("count", lambda rng, shape: rng.integers(0, 6, shape).astype(np.float64))
side = st.integers(1, 4)
reductions = st.sampled_from(["mean", "sum", "none"])


def _red(v: np.ndarray, reduction: str) -> np.ndarray:
    return v if reduction == "none" else (np.sum(v) if reduction == "sum" else np.mean(v))


# ------------------------------------------------------------------------------- pad
NP_MODE = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def np_pad(x: np.ndarray, pad: tuple, mode: str = "constant", value: Any = None) -> np.ndarray:
    """numpy's pad with torch's order (last axis first); constant mode crops negative pads first."""
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        ax = x.ndim - 1 - i
        lo, hi = pad[2 * i], pad[2 * i + 1]
        x = x[(slice(None),) * ax + (slice(max(-lo, 0), x.shape[ax] - max(-hi, 0)),)]
        widths[ax] = (max(lo, 0), max(hi, 0))
    kw = {"constant_values": 0.0 if value is None else value} if mode == "constant" else {}
    return np.pad(x, widths, mode=NP_MODE[mode], **kw)


@st.composite
def pad_shapes(draw: Any) -> tuple:
    return (tuple(draw(st.lists(side, min_size=1, max_size=5))),)


@st.composite
def pad_params(draw: Any, shapes: tuple) -> dict:
    s = shapes[0]
    nd = len(s)
    modes = ["constant"] + (["reflect", "replicate", "circular"] if nd >= 2 else [])
    mode = draw(st.sampled_from(modes))
    if mode == "constant":
        k = draw(st.integers(1, nd))
        pad = []
        for i in range(k):
            n = s[nd - 1 - i]
            lo = draw(st.integers(-n, 3))
            hi = draw(st.integers(-(n - max(-lo, 0)), 3))
            pad += [lo, hi]
        out = {"pad": tuple(pad), "mode": mode}
        if draw(st.booleans()):
            out["value"] = draw(st.sampled_from([0.0, -1.5, 2.25]))
        return out
    k = draw(st.integers(max(1, nd - 2), min(3, nd - 1)))
    pad = []
    for i in range(k):
        n = s[nd - 1 - i]
        top = {"reflect": n - 1, "replicate": 3, "circular": n}[mode]
        pad += [draw(st.integers(0, top)), draw(st.integers(0, top))]
    return {"pad": tuple(pad), "mode": mode}


def t_pad(T: Any, x: Any, pad: tuple, mode: str, value: Any = None) -> Any:
    return T.nn.functional.pad(x, pad, mode=mode, value=value)


# ------------------------------------------------------------------------------- similarities
@st.composite
def norm_params(draw: Any, shapes: tuple) -> dict:
    nd = len(shapes[0])
    return {"p": draw(st.sampled_from([1.0, 2.0, 3.0, 0.5])), "dim": draw(st.integers(-nd, nd - 1)),
            "eps": draw(st.sampled_from([1e-12, 0.5]))}


def np_normalize(x: np.ndarray, p: float, dim: int, eps: float) -> np.ndarray:
    n = np.sum(np.abs(x) ** p, axis=dim, keepdims=True) ** (1 / p)
    return x / np.maximum(n, eps)


@st.composite
def cos_shapes(draw: Any) -> tuple:
    s = tuple(draw(st.lists(side, min_size=1, max_size=3)))
    t = tuple(1 if draw(st.integers(0, 3)) == 0 else n for n in s)  # broadcast some axes
    return (s, t) if draw(st.booleans()) else (t, s)


@st.composite
def cos_params(draw: Any, shapes: tuple) -> dict:
    nd = len(shapes[0])
    return {"dim": draw(st.integers(-nd, nd - 1)), "eps": 1e-8}  # a clamp that bites: test_eps_rules_match_torch


def np_cos(a: np.ndarray, b: np.ndarray, dim: int, eps: float) -> np.ndarray:
    a, b = np.broadcast_arrays(a, b)
    na = np.maximum(np.sqrt(np.sum(a * a, axis=dim, keepdims=True)), eps)
    nb = np.maximum(np.sqrt(np.sum(b * b, axis=dim, keepdims=True)), eps)
    return np.sum((a / na) * (b / nb), axis=dim)


@st.composite
def pd_params(draw: Any, shapes: tuple) -> dict:
    return {"p": draw(st.sampled_from([1.0, 2.0, 3.0, 1.5])), "eps": draw(st.sampled_from([1e-6, 0.1])),
            "keepdim": draw(st.booleans())}


def np_pd(a: np.ndarray, b: np.ndarray, p: float, eps: float, keepdim: bool) -> np.ndarray:
    d = np.abs(a - b + eps)
    return np.sum(d ** p, axis=-1, keepdims=keepdim) ** (1 / p)


# ------------------------------------------------------------------------------- losses
def same_shapes(n: int, lo: int = 0) -> Any:
    return st.lists(side, min_size=lo, max_size=3).map(lambda s: (tuple(s),) * n)


@st.composite
def kl_params(draw: Any, shapes: tuple) -> dict:
    return {"reduction": draw(st.sampled_from(["mean", "sum", "none", "batchmean"])),
            "log_target": draw(st.booleans())}


def np_kl(x: np.ndarray, t: np.ndarray, reduction: str, log_target: bool) -> np.ndarray:
    v = np.exp(t) * (t - x) if log_target else t * (np.log(t) - x)
    if reduction == "batchmean":
        return np.sum(v) / (x.shape[0] if x.ndim else 1)
    return _red(v, reduction)


def red_params(shapes: tuple) -> Any:
    return st.fixed_dictionaries({"reduction": reductions})


@st.composite
def margin_params(draw: Any, shapes: tuple) -> dict:
    return {"reduction": draw(reductions), "margin": draw(st.sampled_from([0.0, 0.3, 1.0]))}


def np_soft_margin(x: np.ndarray, y: np.ndarray, reduction: str) -> np.ndarray:
    return _red(np.log1p(np.exp(-x * y)), reduction)


def np_ranking(a: np.ndarray, b: np.ndarray, y: np.ndarray, reduction: str, margin: float) -> np.ndarray:
    return _red(np.maximum(0.0, -y * (a - b) + margin), reduction)


def np_hinge(x: np.ndarray, y: np.ndarray, reduction: str, margin: float) -> np.ndarray:
    return _red(np.where(y == 1, x, np.maximum(0.0, margin - x)), reduction)


@st.composite
def emb_shapes(draw: Any) -> tuple:
    d = draw(side)
    if draw(st.booleans()):
        return ((d,), (d,), ())
    n = draw(side)
    return ((n, d), (n, d), (n,))


def np_cos_emb(a: np.ndarray, b: np.ndarray, y: np.ndarray, reduction: str, margin: float) -> np.ndarray:
    cos = np.sum(a * b, -1) / np.sqrt((np.sum(a * a, -1) + 1e-12) * (np.sum(b * b, -1) + 1e-12))
    return _red(np.where(y == 1, 1 - cos, np.maximum(0.0, cos - margin)), reduction)


@st.composite
def triplet_params(draw: Any, shapes: tuple) -> dict:
    return {"reduction": draw(reductions), "margin": draw(st.sampled_from([0.5, 1.0, 2.0])),
            "p": draw(st.sampled_from([1.0, 2.0, 3.0])), "swap": draw(st.booleans())}


def np_triplet(a: np.ndarray, p_: np.ndarray, n: np.ndarray, reduction: str, margin: float, p: float,
               swap: bool) -> np.ndarray:
    def d(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return np.sum(np.abs(u - v + 1e-6) ** p, axis=-1) ** (1 / p)
    dn = np.minimum(d(a, n), d(p_, n)) if swap else d(a, n)
    return _red(np.maximum(0.0, margin + d(a, p_) - dn), reduction)


@st.composite
def poisson_params(draw: Any, shapes: tuple) -> dict:
    return {"reduction": draw(reductions), "log_input": draw(st.booleans()), "full": draw(st.booleans())}


def np_poisson(x: np.ndarray, y: np.ndarray, reduction: str, log_input: bool, full: bool) -> np.ndarray:
    v = np.exp(x) - y * x if log_input else x - y * np.log(x + 1e-8)
    if full:
        with np.errstate(divide="ignore", invalid="ignore"):
            st_ = y * np.log(y) - y + 0.5 * np.log(2 * np.pi * y)
        v = v + np.where(y > 1, st_, 0.0)
    return _red(v, reduction)


@st.composite
def gauss_shapes(draw: Any) -> tuple:
    s = tuple(draw(st.lists(side, min_size=1, max_size=3)))
    kind = draw(st.sampled_from(["same", "short", "one"]))
    v = s if kind == "same" else (s[:-1] if kind == "short" else s[:-1] + (1,))
    return (s, s, v)


@st.composite
def gauss_params(draw: Any, shapes: tuple) -> dict:
    return {"reduction": draw(reductions), "full": draw(st.booleans()), "eps": draw(st.sampled_from([1e-6, 0.3]))}


def np_gauss(x: np.ndarray, y: np.ndarray, var: np.ndarray, reduction: str, full: bool, eps: float) -> np.ndarray:
    if var.shape != x.shape and var.shape == x.shape[:-1]:
        var = var[..., None]
    v = np.maximum(var, eps)
    out = 0.5 * (np.log(v) + (x - y) ** 2 / v) + (0.5 * np.log(2 * np.pi) if full else 0.0)
    return _red(out, reduction)


def _tf(name: str) -> Callable:
    def f(T: Any, *xs: Any, **kw: Any) -> Any:
        return getattr(T.nn.functional, name)(*xs, **kw)
    return f


SPECS = [
    OpSpec("pad", np_pad, F.pad, t_pad, ("real",), pad_shapes(), pad_params),
    OpSpec("normalize", np_normalize, F.normalize, _tf("normalize"), ("real",),
           st.lists(side, min_size=1, max_size=3).map(lambda s: (tuple(s),)), norm_params),
    OpSpec("cosine_similarity", np_cos, F.cosine_similarity, _tf("cosine_similarity"), ("real", "real"),
           cos_shapes(), cos_params, modes=("tt", "tn", "nt")),
    OpSpec("pairwise_distance", np_pd, F.pairwise_distance, _tf("pairwise_distance"), ("real", "real"),
           cos_shapes(), pd_params, modes=("tt", "tn")),
    OpSpec("kl_div", np_kl, F.kl_div, _tf("kl_div"), ("real", "prob"), same_shapes(2), kl_params,
           modes=("tt", "tn")),
    OpSpec("soft_margin_loss", np_soft_margin, F.soft_margin_loss, _tf("soft_margin_loss"), ("real", "sign"),
           same_shapes(2), red_params, modes=("tn",)),
    OpSpec("margin_ranking_loss", np_ranking, F.margin_ranking_loss, _tf("margin_ranking_loss"),
           ("real", "real", "sign"), same_shapes(3), margin_params, modes=("ttn", "tnn", "ttt")),
    OpSpec("hinge_embedding_loss", np_hinge, F.hinge_embedding_loss, _tf("hinge_embedding_loss"),
           ("real", "sign"), same_shapes(2), margin_params, modes=("tn",)),
    OpSpec("cosine_embedding_loss", np_cos_emb, F.cosine_embedding_loss, _tf("cosine_embedding_loss"),
           ("real", "real", "sign"), emb_shapes(), margin_params, modes=("ttn", "tnn")),
    OpSpec("triplet_margin_loss", np_triplet, F.triplet_margin_loss, _tf("triplet_margin_loss"),
           ("real", "real", "real"), same_shapes(3, 1), triplet_params, modes=("ttt", "tnn")),
    OpSpec("poisson_nll_loss", np_poisson, F.poisson_nll_loss, _tf("poisson_nll_loss"), ("pos", "count"),
           same_shapes(2), poisson_params, modes=("tn",)),
    OpSpec("gaussian_nll_loss", np_gauss, F.gaussian_nll_loss, _tf("gaussian_nll_loss"), ("real", "real", "pos"),
           gauss_shapes(), gauss_params, modes=("ttt", "tnt", "tnn")),
]
IDS = [s.name for s in SPECS]
quiet_kl = pytest.mark.filterwarnings("ignore:kl_div:UserWarning", "ignore:reduction:UserWarning")


(test_value_matches_numpy, test_gradients_match_finite_differences,
 test_value_and_gradients_match_torch) = (quiet_kl(t) for t in table_tests(SPECS))


# ------------------------------------------------------------------------------- pad: torch's edges
def _torch_pad(torch: Any, x: np.ndarray, pad: tuple, mode: str) -> Any:
    tx = torch.tensor(x, requires_grad=True)
    try:
        return tx, torch.nn.functional.pad(tx, pad, mode=mode)
    except (RuntimeError, NotImplementedError):
        return tx, None


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_negative_and_mixed_pads_match_torch(torch: Any, mode: str) -> None:
    """Crops and pads on every side, 1 to 3 padded axes: the same values and gradients as
    torch, and an error exactly where torch raises (circular: where a side wraps around the
    cropped input more than once, torch reads unset memory; that raises here, checked apart)."""
    rng = np.random.default_rng(0)
    compared = 0
    for shape in [(2, 3, 4), (1, 2, 3, 5), (3, 4), (2, 2, 3, 3, 4)]:
        for _ in range(40):
            nd = len(shape)
            k = int(rng.integers(max(1, nd - 2), min(3, nd - 1) + 1)) if mode != "constant" else int(
                rng.integers(1, nd + 1))
            pad = tuple(int(v) for v in rng.integers(-3, 4, 2 * k))
            x = rng.standard_normal(shape)
            tx, tout = _torch_pad(torch, x, pad, mode)
            X = Tensor(x.copy(), requires_grad=True)
            if mode == "circular":
                sizes = [shape[len(shape) - 1 - i] for i in range(k)]
                cropped = [n - max(-pad[2 * i], 0) - max(-pad[2 * i + 1], 0) for i, n in enumerate(sizes)]
                if any(max(pad[2 * i], 0) > m or max(pad[2 * i + 1], 0) > m for i, m in enumerate(cropped)):
                    with pytest.raises(ValueError, match="pad: circular padding .* wraps around"):
                        F.pad(X, pad, mode)
                    continue
            if tout is None:
                with pytest.raises((ValueError, NotImplementedError), match="pad"):
                    F.pad(X, pad, mode)
                continue
            out = F.pad(X, pad, mode)
            assert out.shape == tuple(tout.shape)
            np.testing.assert_array_equal(out.data, tout.detach().numpy())
            if out.data.size:  # (torch leaves the gradient of an empty output unset)
                R = rng.standard_normal(out.shape)
                tout.backward(torch.tensor(R))
                (out * R).sum().backward()
                np.testing.assert_allclose(X.grad, tx.grad.numpy(), rtol=1e-12, atol=1e-12)
                compared += 1
    assert compared > 40


def test_pad_examples_by_hand() -> None:
    x = Tensor(np.array([[[0.0, 1.0, 2.0]]]))
    assert F.pad(x, (2, 1), "reflect").tolist() == [[[2.0, 1.0, 0.0, 1.0, 2.0, 1.0]]]
    assert F.pad(x, (-1, 2), "reflect").tolist() == [[[1.0, 2.0, 1.0, 0.0]]]
    assert F.pad(x, (2, 1), "replicate").tolist() == [[[0.0, 0.0, 0.0, 1.0, 2.0, 2.0]]]
    assert F.pad(x, (2, 1), "circular").tolist() == [[[1.0, 2.0, 0.0, 1.0, 2.0, 0.0]]]
    assert F.pad(x, (-1, 2), "circular").tolist() == [[[1.0, 2.0, 1.0, 2.0]]]
    assert F.pad(x, (1, -2), value=7).tolist() == [[[7.0, 0.0]]]
    assert F.pad(Tensor(np.arange(3)), (1, 1), value=2.7).tolist() == [2, 0, 1, 2, 2]  # cast as torch


@pytest.mark.parametrize("args, exc, match", [
    (((1,),), ValueError, "pad: the padding length must be divisible by 2"),
    (((1, 1) * 4,), ValueError, "pad: the padding length should be at most twice .* 3 axes"),
    (((1.5, 1),), TypeError, "pad: pad must be a tuple of ints"),
    (((1, 1), "wrap"), NotImplementedError, "pad: unrecognised padding mode 'wrap'"),
    (((1, 1), "reflect", 1.0), ValueError, "pad: padding mode 'reflect' does not take a value"),
    (((3, 0), "reflect"), ValueError, r"pad: reflect padding \(3, 0\) of axis 2 must be less than the axis size 3"),
    (((1, 1) * 3, "replicate"), NotImplementedError, "pad: padding length 6 is not supported for an input of 3"),
    (((-2, -2),), ValueError, r"pad: padding \(-2, -2\) of axis 2 of the input of shape \(1, 2, 3\) crops more"),
    (((4, 0), "circular"), ValueError, "pad: circular padding .* more than once"),
    (((1, 1), "constant", "a"), TypeError, "pad: value must be a number"),
])
def test_pad_bad_arguments_raise_naming_pad(args: tuple, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        F.pad(Tensor(np.zeros((1, 2, 3))), *args)


LAYERS = [("ZeroPad1d", (2,)), ("ZeroPad2d", ((1, 0, 2, 1),)), ("ConstantPad1d", ((1, 2), 3.5)),
          ("ConstantPad2d", (1, -0.5)), ("ReflectionPad1d", (2,)), ("ReflectionPad2d", ((1, 2, 0, 1),)),
          ("ReplicationPad1d", ((3, 1),)), ("ReplicationPad2d", (2,)), ("CircularPad1d", (2,)),
          ("CircularPad2d", ((1, 2, 2, 0),))]


@pytest.mark.parametrize("name, args", LAYERS, ids=[n for n, _ in LAYERS])
def test_padding_layers_match_torch(torch: Any, name: str, args: tuple) -> None:
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 5) if name.endswith("2d") else (2, 3, 5))
    tm, m = getattr(torch.nn, name)(*args), getattr(nn, name)(*args)
    tx, X = torch.tensor(x, requires_grad=True), Tensor(x, requires_grad=True)
    tout, out = tm(tx), m(X)
    np.testing.assert_array_equal(out.data, tout.detach().numpy())
    R = np.random.default_rng(2).standard_normal(out.shape)
    tout.backward(torch.tensor(R))
    (out * R).sum().backward()
    np.testing.assert_allclose(X.grad, tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(m(Tensor(x[0])).data, tm(torch.tensor(x[0])).numpy())  # unbatched


@pytest.mark.parametrize("nd", [1, 2])
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular", "zeros"])
@pytest.mark.parametrize("padding", [1, 2, "same"])
def test_conv_padding_mode_matches_torch_and_gives_per_sample_gradients(torch: Any, nd: int, mode: str,
                                                                         padding: Any) -> None:
    k = 3 if nd == 1 else (3, 2)
    tm = getattr(torch.nn, f"Conv{nd}d")(2, 3, k, padding=padding, padding_mode=mode, dtype=torch.float64)
    m = getattr(nn, f"Conv{nd}d")(2, 3, k, padding=padding, padding_mode=mode)
    m.load_state_dict({n: v.detach().numpy() for n, v in tm.state_dict().items()})
    x = np.random.default_rng(3).standard_normal((4, 2) + (5,) * nd)
    tx = torch.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tout = tm(tx)
    X = Tensor(x, batched=True)
    out = m(X)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    (tout ** 2).sum().backward()
    (out ** 2).sum().backward()
    np.testing.assert_allclose(m.weight.grad, tm.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
    for b in range(4):  # each sample alone
        tm.zero_grad()
        (tm(tx[b:b + 1].detach()) ** 2).sum().backward()
        np.testing.assert_allclose(m.weight.grad_sample[b], tm.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
    if mode != "zeros":
        assert f"padding_mode={mode}" in repr(m) and f"padding_mode={mode}" in repr(tm)


def test_conv_padding_mode_bad_value_raises() -> None:
    with pytest.raises(ValueError, match="Conv2d: padding_mode must be one of .* got 'mirror'"):
        nn.Conv2d(1, 1, 3, padding_mode="mirror")


# ------------------------------------------------------------------------------- eps rules
def _grads_vs_torch(torch: Any, fn: Callable, tfn: Callable, *arrays: np.ndarray) -> None:
    xs = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = fn(*xs), tfn(*ts)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-10, atol=1e-13)
    R = np.random.default_rng(5).standard_normal(out.shape)
    (out * R).sum().backward()
    tout.backward(torch.tensor(R))
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_eps_rules_match_torch(torch: Any) -> None:
    """Norms below eps: normalize divides by the constant eps (no gradient through the norm);
    cosine_similarity and gaussian_nll_loss clamp the value only (the gradient still flows
    through the norm / the variance). Zero vectors give torch's zero gradients."""
    TF = torch.nn.functional
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    a[0] *= 1e-10
    a[1] = 0.0
    _grads_vs_torch(torch, lambda x: F.normalize(x, eps=1e-3), lambda x: TF.normalize(x, eps=1e-3), a)
    _grads_vs_torch(torch, lambda x, y: F.cosine_similarity(x, y, eps=1e-3),
                    lambda x, y: TF.cosine_similarity(x, y, eps=1e-3), a + 0.0, b)
    _grads_vs_torch(torch, lambda x, y: F.cosine_similarity(x, y, 0, eps=2.0),
                    lambda x, y: TF.cosine_similarity(x, y, 0, eps=2.0), b * 0.3, b.T.reshape(3, 4))
    var = rng.uniform(0.01, 2.0, (3, 4))
    _grads_vs_torch(torch, lambda x, y, v: F.gaussian_nll_loss(x, y, v, eps=0.5),
                    lambda x, y, v: TF.gaussian_nll_loss(x, y, v, eps=0.5), a, b, var)
    _grads_vs_torch(torch, lambda x, y: F.pairwise_distance(x, y), lambda x, y: TF.pairwise_distance(x, y),
                    a, a + 1e-6 * 0)


def test_kl_div_batchmean_is_the_divergence_and_only_mean_warns(torch: Any) -> None:
    rng = np.random.default_rng(6)
    p = rng.dirichlet(np.ones(5), 4)
    q = rng.dirichlet(np.ones(5), 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for red in ("batchmean", "sum", "none"):
            F.kl_div(np.log(q), p, reduction=red)
        nn.KLDivLoss(reduction="batchmean")(np.log(q), p)
        F.kl_div(np.log(q), p, size_average=False)  # legacy flags: no reduction warning
    kl = np.sum(p * np.log(p / q)) / 4  # the mean over samples of KL(p_b || q_b)
    np.testing.assert_allclose(F.kl_div(Tensor(np.log(q)), p, reduction="batchmean").item(), kl, rtol=1e-13)
    np.testing.assert_allclose(F.kl_div(np.log(q), np.log(p), reduction="batchmean", log_target=True).item(), kl,
                               rtol=1e-13)
    with pytest.warns(UserWarning, match="kl_div: reduction='mean'"):
        v = F.kl_div(np.log(q), p)
    np.testing.assert_allclose(v.item(), kl * 4 / 20, rtol=1e-13)
    with pytest.warns(UserWarning, match="batchmean"):
        nn.KLDivLoss()(np.log(q), p)
    t0 = p.copy()
    t0[0, 0] = 0.0  # 0 log 0 = 0, as torch's xlogy
    X = torch.tensor(np.log(q))
    np.testing.assert_allclose(F.kl_div(np.log(q), t0, reduction="sum").item(),
                               torch.nn.functional.kl_div(X, torch.tensor(t0), reduction="sum").item(), rtol=1e-13)


# ------------------------------------------------------------------------------- per sample
B, D, K = 5, 3, 4
_rng = np.random.default_rng(7)
X = _rng.standard_normal((B, D))
T = _rng.standard_normal((B, K))
P = _rng.dirichlet(np.ones(K), B)
SIGN = _rng.choice([-1.0, 1.0], B)
SIGNK = _rng.choice([-1.0, 1.0], (B, K))
COUNTS = _rng.integers(0, 6, (B, K)).astype(float)
VAR = _rng.uniform(0.5, 2.0, (B, K))


def _r(b: Any) -> slice:
    return slice(None) if b is None else slice(b, b + 1)


PER_SAMPLE: dict = {
    "kl_div": lambda o, b, r: F.kl_div(o.log_softmax(-1), P[_r(b)], reduction=r),
    "kl_div log_target": lambda o, b, r: F.kl_div(o.log_softmax(-1), np.log(P[_r(b)]), reduction=r,
                                                  log_target=True),
    "kl_div batchmean": lambda o, b, r: F.kl_div(o.log_softmax(-1), P[_r(b)],
                                                 reduction="batchmean" if r == "mean" else r),
    "soft_margin_loss": lambda o, b, r: F.soft_margin_loss(o, SIGNK[_r(b)], reduction=r),
    "margin_ranking_loss": lambda o, b, r: F.margin_ranking_loss(o[:, 0], o[:, 1], SIGN[_r(b)], 0.2,
                                                                 reduction=r),
    "hinge_embedding_loss": lambda o, b, r: F.hinge_embedding_loss(o, SIGNK[_r(b)], margin=0.7, reduction=r),
    "cosine_embedding_loss": lambda o, b, r: F.cosine_embedding_loss(o, T[_r(b)], SIGN[_r(b)], 0.1,
                                                                     reduction=r),
    "triplet_margin_loss": lambda o, b, r: F.triplet_margin_loss(o, T[_r(b)], o.tanh() * 2, margin=3.0,
                                                                 reduction=r),
    "triplet swap p=1": lambda o, b, r: F.triplet_margin_loss(o, T[_r(b)], -T[_r(b)], p=1, swap=True,
                                                              reduction=r),
    "poisson_nll_loss": lambda o, b, r: F.poisson_nll_loss(o, COUNTS[_r(b)], full=True, reduction=r),
    "poisson_nll_loss rates": lambda o, b, r: F.poisson_nll_loss(o.exp(), COUNTS[_r(b)], log_input=False,
                                                                 reduction=r),
    "gaussian_nll_loss": lambda o, b, r: F.gaussian_nll_loss(o, T[_r(b)], VAR[_r(b)], reduction=r),
    "gaussian_nll_loss learned var": lambda o, b, r: F.gaussian_nll_loss(o[:, :2], T[_r(b), :2],
                                                                         o[:, 2:].exp(), full=True, reduction=r),
    "gaussian_nll_loss one var per row": lambda o, b, r: F.gaussian_nll_loss(o, T[_r(b)], VAR[_r(b), 0],
                                                                             reduction=r),
    "cosine_similarity": lambda o, b, r: _red_t(1 - F.cosine_similarity(o, T[_r(b)]), r),
    "pairwise_distance": lambda o, b, r: _red_t(F.pairwise_distance(o, T[_r(b)], p=3), r),
    "normalize": lambda o, b, r: _red_t((F.normalize(o) - T[_r(b)]) ** 2, r),
    "pad reflect": lambda o, b, r: _red_t(F.pad(o[:, None, :], (2, 1), "reflect") ** 2, r),
    "pad constant": lambda o, b, r: _red_t(F.pad(o, (1, -2), value=0.5).sin(), r),
    "KLDivLoss module": lambda o, b, r: nn.KLDivLoss(reduction="batchmean" if r == "mean" else r)(
        o.log_softmax(-1), P[_r(b)]),
    "TripletMarginLoss module": lambda o, b, r: nn.TripletMarginLoss(margin=2.0, reduction=r)(o, T[_r(b)], -o),
}


def _red_t(t: Tensor, r: str) -> Tensor:
    return t.mean() if r == "mean" else t.sum()


@pytest.mark.filterwarnings("ignore:kl_div:UserWarning")
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("name", list(PER_SAMPLE))
def test_grad_sample_equals_each_sample_alone(name: str, reduction: str) -> None:
    cost = PER_SAMPLE[name]
    model, ref = each_sample_alone(cost, reduction, X, K, 6)
    cost(model(Tensor(X, batched=True)), None, reduction).backward()
    for n, p in model.named_parameters():
        rows = ref[n]
        np.testing.assert_allclose(p.grad_sample, rows, rtol=1e-10, atol=1e-13, err_msg=n)
        agg = rows.mean(axis=0) if reduction == "mean" else rows.sum(axis=0)
        np.testing.assert_allclose(p.grad, agg, rtol=1e-10, atol=1e-13, err_msg=n)


@pytest.mark.parametrize("fn", [
    lambda o: F.kl_div(o.log_softmax(-1), np.zeros((0, K)), reduction="batchmean"),
    lambda o: F.poisson_nll_loss(o, np.zeros((0, K))),
    lambda o: F.cosine_embedding_loss(o, np.zeros((0, K)), np.zeros(0)),
    lambda o: F.triplet_margin_loss(o, o * 2, o * 3),
])
def test_empty_batch_mean_is_zero_with_empty_grad_sample(fn: Callable) -> None:
    check_empty_batch(fn, D, K)


# ------------------------------------------------------------------------------- modules vs torch
MODULES = [
    ("KLDivLoss", {"reduction": "batchmean"}, lambda: (np.log(P), P)),
    ("KLDivLoss", {"reduction": "sum", "log_target": True}, lambda: (np.log(P), np.log(P[::-1]))),
    ("SoftMarginLoss", {}, lambda: (T, SIGNK)),
    ("MarginRankingLoss", {"margin": 0.5}, lambda: (T[:, 0], T[:, 1], SIGN)),
    ("HingeEmbeddingLoss", {"margin": 2.0, "reduction": "sum"}, lambda: (T, SIGNK)),
    ("CosineEmbeddingLoss", {"margin": 0.2}, lambda: (T, T[::-1], SIGN)),
    ("TripletMarginLoss", {"margin": 1.5, "p": 1.0, "swap": True}, lambda: (T, T * 0.5, T[::-1])),
    ("PoissonNLLLoss", {"log_input": False, "full": True}, lambda: (VAR, COUNTS)),
    ("GaussianNLLLoss", {"full": True, "eps": 0.6}, lambda: (T, T[::-1], VAR)),
    ("CosineSimilarity", {"dim": 0, "eps": 1e-3}, lambda: (T, T[::-1])),
    ("PairwiseDistance", {"p": 1.5, "keepdim": True}, lambda: (T, T[::-1])),
]


@pytest.mark.parametrize("name, kw, args", MODULES, ids=[m[0] for m in MODULES])
def test_modules_match_torch_modules(torch: Any, name: str, kw: dict, args: Callable) -> None:
    arrays = [np.ascontiguousarray(a) for a in args()]
    tm, m = getattr(torch.nn, name)(**kw), getattr(nn, name)(**kw)
    xs = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = m(xs[0], *arrays[1:]) if name not in ("GaussianNLLLoss",) else m(xs[0], arrays[1], xs[2])
    tout = tm(ts[0], *(torch.tensor(a) for a in arrays[1:])) if name != "GaussianNLLLoss" else tm(
        ts[0], torch.tensor(arrays[1]), ts[2])
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-10, atol=1e-13)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(xs[0].grad, ts[0].grad.numpy(), rtol=1e-10, atol=1e-13)
    if name == "GaussianNLLLoss":
        np.testing.assert_allclose(xs[2].grad, ts[2].grad.numpy(), rtol=1e-10, atol=1e-13)


# ------------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("fn, exc, match", [
    (lambda: F.kl_div(T, P[:, :2]), ValueError, r"kl_div: input shape \(5, 4\) and target shape \(5, 2\) differ"),
    (lambda: F.kl_div(T, P, reduction="avg"), ValueError, "kl_div: reduction must be 'mean', 'batchmean'"),
    (lambda: F.kl_div(T, P, reduction="sum", log_target=1), TypeError, "kl_div: log_target must be a bool"),
    (lambda: F.soft_margin_loss(T, SIGN), ValueError, "soft_margin_loss: input shape"),
    (lambda: F.margin_ranking_loss(T, T, SIGN), ValueError, "margin_ranking_loss: all inputs must have the same "
                                                            r"number of axes, got input1 \(5, 4\)"),
    (lambda: F.hinge_embedding_loss(T, SIGNK, reduction="max"), ValueError, "hinge_embedding_loss: reduction"),
    (lambda: F.cosine_embedding_loss(T, T, SIGNK), ValueError, "cosine_embedding_loss: expected a 0-d or 1-d"),
    (lambda: F.cosine_embedding_loss(T[0], T[0], SIGN), ValueError, "cosine_embedding_loss: a 1-d target expects"),
    (lambda: F.triplet_margin_loss(T, T, T, margin=0.0), ValueError, "triplet_margin_loss: margin must be greater"),
    (lambda: F.triplet_margin_loss(T, T[0], T), ValueError, "triplet_margin_loss: all inputs must have the same"),
    (lambda: F.poisson_nll_loss(T, COUNTS, full=None), TypeError, "poisson_nll_loss: full must be a bool"),
    (lambda: F.gaussian_nll_loss(T, T, -VAR), ValueError, "gaussian_nll_loss: var has negative entries"),
    (lambda: F.gaussian_nll_loss(T, T, -1.0), ValueError, "gaussian_nll_loss: var has negative entries"),
    (lambda: F.gaussian_nll_loss(T, T, VAR[:, :2]), ValueError, r"gaussian_nll_loss: var of shape \(5, 2\)"),
    (lambda: F.gaussian_nll_loss(T, T, VAR, reduction="avg"), ValueError, "gaussian_nll_loss: reduction"),
    (lambda: F.cosine_similarity(T, T[:, :2]), ValueError, "cosine_similarity: x1 of shape .* do not broadcast"),
    (lambda: F.cosine_similarity(T, T, dim=2), IndexError, "cosine_similarity: dim 2 is out of range"),
    (lambda: F.cosine_similarity(np.arange(3), np.arange(3), 0), TypeError, "cosine_similarity: expected a "
                                                                            "floating point"),
    (lambda: F.cosine_similarity(T, T, eps=-1.0), ValueError, "cosine_similarity: eps must be a finite number"),
    (lambda: F.pairwise_distance(T, T[:, :2]), ValueError, "pairwise_distance: x1 of shape"),
    (lambda: F.normalize(T, dim=(0, 5)), IndexError, "normalize: dim 5 is out of range"),
    (lambda: F.normalize(T, p="fro"), TypeError, "normalize: p must be a real number"),
    (lambda: nn.TripletMarginLoss(margin=-1.0), ValueError, "TripletMarginLoss: margin must be greater than 0"),
    (lambda: nn.GaussianNLLLoss(reduction="avg"), ValueError, "GaussianNLLLoss: reduction"),
    (lambda: nn.KLDivLoss(reduction="avg"), ValueError, "KLDivLoss: reduction"),
    (lambda: nn.ZeroPad2d((1, 2)), TypeError, r"ZeroPad2d: padding must be an int or a tuple of 4 ints"),
])
def test_bad_inputs_raise_naming_the_function(fn: Callable, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        fn()


def test_new_names_are_exported() -> None:
    for name in ["pad", "normalize", "cosine_similarity", "pairwise_distance", "kl_div", "soft_margin_loss",
                 "margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss", "triplet_margin_loss",
                 "poisson_nll_loss", "gaussian_nll_loss"]:
        assert name in F.__all__ and callable(getattr(F, name))
    assert math.isclose(tl.nn.PairwiseDistance()(np.zeros((1, 2)), np.ones((1, 2))).item(),
                        math.sqrt(2) * (1 - 1e-6), rel_tol=1e-12)
