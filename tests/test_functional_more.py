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
from hypothesis import given
from hypothesis import strategies as st
from test_ops import DOMAINS, SETTINGS, OpSpec, check_forward, check_gradients, check_torch

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


@quiet_kl
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
@SETTINGS
@given(data=st.data())
def test_value_matches_numpy(spec: OpSpec, data: Any) -> None:
    check_forward(spec, data)


@quiet_kl
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
@SETTINGS
@given(data=st.data())
def test_gradients_match_finite_differences(spec: OpSpec, data: Any) -> None:
    check_gradients(spec, data)


@quiet_kl
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
@SETTINGS
@given(data=st.data())
def test_value_and_gradients_match_torch(torch: Any, spec: OpSpec, data: Any) -> None:
    check_torch(torch, spec, data)
