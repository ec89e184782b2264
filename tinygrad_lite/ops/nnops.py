"""Fused layer ops: embedding lookup, layer/group/batch normalisation, GELU and SiLU (the
packed input projection of multi-head attention, ``InProj``, lives in ``inproj`` and is
re-exported here).

Per-sample rules:

* ``Embedding``: sample b's gradient of the table ``W`` (N, D) is
  ``S[b] = sum_t onehot(i[b,t]) (x) g[b,t]``: rows of the cotangent added at their indices.
  ``EmbeddingRows`` keeps the indices and the cotangent rows; its norms add the rows of
  equal (sample, index) first, ``|S[b]|^2 = sum_n |sum_{t: i[b,t]=n} g[b,t]|^2``, never
  building (B, N, D).
* normalisation weights: ``S[b] = sum over positions of g * xhat`` (a small dense array);
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from .. import batchstate
from ..batchstate import BATCHED, MIXED
from ..persample import DenseRows, Rows
from .base import Op, failed, lead, make
from .conv import layer_batch
from .elementwise import _Unary
from .inproj import INPROJ, InProj  # noqa: F401 (attention's packed projection, re-exported)
from .reduce import opmath


def _scatter_rows(index: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    """``out[j] = sum_{t: index[t] = j} rows[t]``, out of shape (n, D)."""
    out = np.zeros((n, rows.shape[-1]), dtype=rows.dtype)
    np.add.at(out, index, rows)
    return out


class EmbeddingRows(Rows):
    """``S[b] = scale sum_t onehot(idx[b,t]) (x) g[b,t]``; ``idx`` (B, T), ``g`` (B, T, D)."""

    __slots__ = ("idx", "g", "_uniq")

    def __init__(self, idx: np.ndarray, g: np.ndarray, shape: tuple, dtype: Any, scale: float) -> None:
        self.idx, self.g, self.shape, self.dtype, self.scale, self.B = idx, g, tuple(shape), dtype, scale, g.shape[0]
        self._uniq: Optional[tuple] = None

    def _unique(self) -> tuple:
        """Rows of equal (sample, index) added up: keys b*N + n and their summed rows."""
        if self._uniq is None:
            B, T = self.idx.shape
            N = self.shape[0]
            key = (np.arange(B, dtype=np.int64)[:, None] * N + self.idx).reshape(-1)
            uniq, inv = np.unique(key, return_inverse=True)
            summed = np.zeros((uniq.size, self.g.shape[-1]), dtype=self.g.dtype)
            np.add.at(summed, inv.reshape(-1), self.g.reshape(B * T, self.g.shape[-1]))
            self._uniq = (uniq, summed)
        return self._uniq

    def dense(self, out: Optional[np.ndarray] = None) -> np.ndarray:
        B, T = self.idx.shape
        N, D = self.shape
        S = np.zeros((B, N * D), dtype=self.dtype).reshape(B * N, D)
        uniq, summed = self._unique()
        S[uniq] = summed * self.scale
        return S.reshape(B, N, D)

    def sq_norms(self) -> np.ndarray:
        uniq, summed = self._unique()
        sq = np.einsum("kd,kd->k", summed, summed) * (self.scale * self.scale)
        return np.bincount(uniq // self.shape[0], weights=sq, minlength=self.B)

    def weighted_sum(self, w: np.ndarray) -> np.ndarray:
        gw = self.g * (w * self.scale).astype(self.g.dtype, copy=False)[:, None, None]
        return _scatter_rows(self.idx.reshape(-1), gw.reshape(-1, gw.shape[-1]), self.shape[0]).astype(self.dtype)

    def sq_sum(self) -> np.ndarray:
        uniq, summed = self._unique()
        return (_scatter_rows(uniq % self.shape[0], summed * summed, self.shape[0])
                * (self.scale * self.scale)).astype(self.dtype, copy=False)


class Embedding(Op):
    """out = W[idx] (rows of the table); dW adds the cotangent rows at their indices
    (repeated indices add); the row ``padding_idx`` gets no gradient."""

    name, rule = "embedding", "d W[i]/dW = the cotangent rows added at rows i"
    unread = (1,)  # the table's gradient needs its shape only (``max_norm`` renormalises it in place)

    def __call__(self, idx: Any, W: Any, padding_idx: Optional[int]) -> Any:
        try:
            data = W._data[idx._data]
        except Exception as e:
            failed(self, e, (idx, W))
            raise
        s = idx._bs | W._bs
        bs, mix = layer_batch(self.name, idx, (W,)) if s else (0, None)
        if bs & BATCHED and idx._data.ndim == 0:
            bs, mix = batchstate.mixed("op 'embedding' of a 0-d batched index", idx)
        return make(data, self, (idx, W), padding_idx, W._rg, bs, mix)

    @staticmethod
    def _rows(node: Any, g: np.ndarray) -> tuple:
        idx = node._parents[0]._data
        D = node._parents[1]._data.shape[1]
        flat = idx.reshape(-1)
        pad = node._ctx
        if pad is not None:
            keep = (idx != pad)[..., None]
            g = g * keep
        return flat, g, D

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        W = node._parents[1]._data
        flat, g, D = self._rows(node, g)
        n = lead(node, g)
        if n == 0:
            return None, _scatter_rows(flat, g.reshape(-1, D), W.shape[0]).astype(W.dtype, copy=False)
        ld = g.shape[:n]
        L = int(np.prod(ld))
        gr = g.reshape(L, flat.size, D)
        key = (np.arange(L)[:, None] * W.shape[0] + flat[None, :]).reshape(-1)
        gW = _scatter_rows(key, gr.reshape(-1, D), L * W.shape[0])
        return None, gW.reshape(ld + W.shape).astype(W.dtype, copy=False)

    def tvjp(self, node: Any, g: Any) -> tuple:
        from .layout import RESHAPE, SCATTERBACK
        idx, W = node._parents[0]._data, node._parents[1]._data
        if node._ctx is not None:
            g = g * (idx != node._ctx)[..., None].astype(W.dtype)
        return None, SCATTERBACK(RESHAPE(g, (-1, W.shape[1])), (W.shape, (idx.reshape(-1),), True))

    def sample_rows(self, node: Any, g: np.ndarray, i: int, scale: float) -> Any:
        if i != 1:
            return None
        p = node._parents[1]
        _, g, D = self._rows(node, g)
        B = g.shape[0]
        idx = node._parents[0]._data
        T = int(np.prod(idx.shape[1:]))
        return EmbeddingRows(idx.reshape(B, T), g.reshape(B, T, D), p._data.shape, p._data.dtype, scale)


def _normalise(x: np.ndarray, axes: tuple, eps: float) -> tuple:
    """xhat = (x - mean) / sqrt(var + eps) over ``axes`` (biased variance); returns (xhat, rstd)."""
    mu = x.mean(axis=axes, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(axis=axes, keepdims=True)
    rstd = 1.0 / np.sqrt(var + eps)
    return (xc * rstd).astype(x.dtype, copy=False), rstd.astype(x.dtype, copy=False)


def _normalise_vjp(gh: np.ndarray, xhat: np.ndarray, rstd: np.ndarray, axes: tuple) -> np.ndarray:
    """d/dx of xhat for cotangent gh: rstd (gh - mean(gh) - xhat mean(gh xhat)) over ``axes``
    (negative axes, so a leading stack of cotangents is fine)."""
    return rstd * (gh - gh.mean(axis=axes, keepdims=True) - xhat * (gh * xhat).mean(axis=axes, keepdims=True))


def _t_normalise(x: Any, axes: tuple, eps: float) -> Any:
    """``_normalise``'s xhat on Tensors: (x - mean) / sqrt(var + eps) over ``axes``."""
    xc = x - x.mean(axes, keepdims=True)
    return xc * ((xc * xc).mean(axes, keepdims=True) + eps) ** -0.5


class _Norm(Op):
    """Shared parts of the normalisation ops: parents (x, weight or None, bias or None)."""

    def __call__(self, x: Any, w: Any, b: Any, **params: Any) -> Any:
        parents = (x,) + tuple(p for p in (w, b) if p is not None)
        try:
            out, ctx = self.forward(x._data, None if w is None else w.data, None if b is None else b._data, **params)
        except Exception as e:
            failed(self, e, parents)
            raise
        ctx["has"] = (w is not None, b is not None)
        s = 0
        for p in parents:
            s |= p._bs
        bs, mix = self.batch(parents, out, ctx) if s else (0, None)
        rg = any(p._rg for p in parents)
        return make(out, self, parents, ctx, rg, bs, mix)

    def batch(self, inputs: tuple, out: np.ndarray, ctx: Any) -> tuple:
        x = inputs[0]
        if x._bs & BATCHED and ctx["sample_axes"]:
            return batchstate.mixed(ctx["sample_axes"], x)
        return layer_batch(self.name, x, inputs[1:])

    def affine_grads(self, node: Any, g: np.ndarray, red: tuple) -> list:
        """Cotangents of weight and bias: g * xhat and g summed over ``red`` (the stack axes kept)."""
        ctx = node._ctx
        out = []
        has_w, has_b = ctx["has"]
        if has_w:
            w = node._parents[1]
            out.append((g * ctx["xhat_w"]).sum(axis=red) if w._rg else None)
        if has_b:
            bp = node._parents[-1]
            out.append(g.sum(axis=red) if bp._rg else None)
        return out

    def sample_rows(self, node: Any, g: np.ndarray, i: int, scale: float) -> Any:
        p = node._parents[i]
        red = tuple(range(1, 1 + self.reduced_ndim(node)))
        has_w, has_b = node._ctx["has"]
        gg = g * node._ctx["xhat_w"] if has_w and i == 1 else g
        S = gg.sum(axis=red) if red else gg
        return DenseRows(S.reshape((S.shape[0],) + p._data.shape), p._data.shape, p._data.dtype, scale)

    def tvjp(self, node: Any, g: Any) -> tuple:
        """By differentiating y = xhat w + b rebuilt from x (and w, b) with differentiable ops:
        xhat is ``t_xhat``'s; w and b are reshaped to ``chan`` (per channel) where the op has one."""
        from ..higher import recompute
        ctx = node._ctx
        (has_w, has_b), chan = ctx["has"], ctx.get("chan")

        def y(x: Any, *wb: Any) -> Any:
            out = self.t_xhat(ctx, x)
            if has_w:
                out = out * (wb[0] if chan is None else wb[0].reshape(chan))
            return out + (wb[-1] if chan is None else wb[-1].reshape(chan)) if has_b else out

        return recompute(node, g, y)

    def t_xhat(self, ctx: dict, x: Any) -> Any:
        """The normalised x, with Tensor ops."""
        raise NotImplementedError


class LayerNorm(_Norm):
    """y = (x - mean) / sqrt(var + eps) * w + b over the last k axes (w, b of those axes' shape)."""

    name, rule = "layer_norm", "d xhat/dx = rstd (g - mean g - xhat mean(g xhat)); d/dw = sum g xhat"

    def forward(self, x: np.ndarray, w: Any, b: Any, k: int = 1, eps: float = 1e-5) -> tuple:
        axes = tuple(range(-k, 0))
        xhat, rstd = _normalise(x, axes, eps)
        y = xhat * w if w is not None else xhat.copy()
        if b is not None:
            y += b
        sample_axes = "op 'layer_norm' over the sample axis (axis 0)" if x.ndim <= k else ""
        return y, {"xhat": xhat, "xhat_w": xhat, "rstd": rstd, "axes": axes, "sample_axes": sample_axes, "eps": eps}

    def reduced_ndim(self, node: Any) -> int:
        return node._data.ndim - len(node._ctx["axes"]) - 1

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        ctx = node._ctx
        x = node._parents[0]
        has_w, _ = ctx["has"]
        gx = None
        if x._rg:
            gh = g * node._parents[1]._data if has_w else g
            gx = _normalise_vjp(gh, ctx["xhat"], ctx["rstd"], ctx["axes"])
        n = lead(node, g)
        red = tuple(range(n, n + node._data.ndim - len(ctx["axes"])))
        return tuple([gx] + self.affine_grads(node, g, red))

    def t_xhat(self, ctx: dict, x: Any) -> Any:
        return _t_normalise(x, ctx["axes"], ctx["eps"])


def _scaled_cotangent(node: Any, g: np.ndarray) -> tuple:
    """(ctx, input, number of leading stack axes, g times the per-channel weight) of a
    normalisation node: the cotangent of the normalised values x_hat."""
    ctx = node._ctx
    x = node._parents[0]
    has_w, _ = ctx["has"]
    gh = g * node._parents[1]._data.reshape(ctx["chan"]) if has_w and x._rg else g
    return ctx, x, lead(node, g), gh


class GroupNorm(_Norm):
    """x (B, C, *S) normalised over each group of C/G channels and all positions, then
    y = xhat * w[c] + b[c] per channel."""

    name, rule = "group_norm", "d xhat/dx = rstd (g - mean g - xhat mean(g xhat)) per group; d/dw = sum g xhat"

    def forward(self, x: np.ndarray, w: Any, b: Any, groups: int = 1, eps: float = 1e-5) -> tuple:
        B, C = x.shape[:2]
        n = C // groups * int(np.prod(x.shape[2:]))
        xhat, rstd = _normalise(x.reshape(B, groups, n), (-1,), eps)
        xhat = xhat.reshape(x.shape)
        chan = (C,) + (1,) * (x.ndim - 2)
        y = xhat * w.reshape(chan) if w is not None else xhat.copy()
        if b is not None:
            y += b.reshape(chan)
        return y, {"xhat": xhat, "xhat_w": xhat, "rstd": rstd, "groups": groups, "chan": chan, "sample_axes": "",
                   "eps": eps}

    def reduced_ndim(self, node: Any) -> int:
        return 0

    def sample_rows(self, node: Any, g: np.ndarray, i: int, scale: float) -> Any:
        p = node._parents[i]
        has_w, _ = node._ctx["has"]
        gg = g * node._ctx["xhat"] if has_w and i == 1 else g
        S = gg.reshape(gg.shape[:2] + (int(np.prod(gg.shape[2:])),)).sum(axis=2)
        return DenseRows(S, p._data.shape, p._data.dtype, scale)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        ctx, x, n, gh = _scaled_cotangent(node, g)
        gx = None
        if x._rg:
            B, G = x._data.shape[0], ctx["groups"]
            m = x._data.shape[1] // G * int(np.prod(x._data.shape[2:]))
            gx = _normalise_vjp(gh.reshape(g.shape[:n] + (B, G, m)), ctx["xhat"].reshape(B, G, m), ctx["rstd"],
                                (-1,)).reshape(g.shape)
        red = (n,) + tuple(range(n + 2, g.ndim))
        return tuple([gx] + self.affine_grads(node, g, red))

    def t_xhat(self, ctx: dict, x: Any) -> Any:
        G = ctx["groups"]
        return _t_normalise(x.reshape(x.shape[0], G, x.shape[1] // G * math.prod(x.shape[2:])), (-1,),
                            ctx["eps"]).reshape(x.shape)


class BatchNorm(_Norm):
    """x (B, C, *S). Training: xhat = (x - mean) / sqrt(var + eps) with the batch's mean and
    (biased) variance per channel over (B, *S) -- every sample's output depends on the whole
    batch; evaluation: the running statistics, constants. y = xhat * w[c] + b[c]."""

    name, rule = "batch_norm", "training: d xhat/dx = rstd (g - mean g - xhat mean(g xhat)) over (B, *S)"

    def forward(self, x: np.ndarray, w: Any, b: Any, mean: Any = None, var: Any = None, training: bool = True,
                eps: float = 1e-5, label: str = "BatchNorm") -> tuple:
        C = x.shape[1]
        chan = (C,) + (1,) * (x.ndim - 2)
        axes = (-x.ndim,) + tuple(range(-x.ndim + 2, 0))
        if training:
            xhat, rstd = _normalise(x, axes, eps)
        else:
            rstd = (1.0 / np.sqrt(var.reshape(chan) + eps)).astype(x.dtype, copy=False)
            xhat = ((x - mean.reshape(chan)) * rstd).astype(x.dtype, copy=False)
        y = xhat * w.reshape(chan) if w is not None else xhat.copy()
        if b is not None:
            y += b.reshape(chan)
        why = (f"'{label}' normalises with the mean and variance of the whole batch (in training mode, or "
               "always without running statistics), so each sample's output depends on the other samples (use "
               "GroupNorm or LayerNorm for per-sample gradients, or .eval() with running statistics kept)"
               ) if training else ""
        return y, {"xhat": xhat, "xhat_w": xhat, "rstd": rstd, "chan": chan, "axes": axes, "training": training,
                   "sample_axes": why, "eps": eps}

    def batch(self, inputs: tuple, out: np.ndarray, ctx: Any) -> tuple:
        x = inputs[0]
        if x._bs & (BATCHED | MIXED) and ctx["sample_axes"]:
            return batchstate.mixed(ctx["sample_axes"], *inputs)
        return layer_batch(self.name, x, inputs[1:])

    def sample_rows(self, node: Any, g: np.ndarray, i: int, scale: float) -> Any:
        return GroupNorm.sample_rows(self, node, g, i, scale)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        ctx, x, n, gh = _scaled_cotangent(node, g)
        gx = None
        if x._rg:
            gx = _normalise_vjp(gh, ctx["xhat"], ctx["rstd"], ctx["axes"]) if ctx["training"] else gh * ctx["rstd"]
        red = (n,) + tuple(range(n + 2, g.ndim))
        return tuple([gx] + self.affine_grads(node, g, red))

    def t_xhat(self, ctx: dict, x: Any) -> Any:
        """Training: with the batch's statistics; evaluation: x rstd + a constant."""
        if ctx["training"]:
            return _t_normalise(x, ctx["axes"], ctx["eps"])
        return x * ctx["rstd"] + (ctx["xhat"] - x._data * ctx["rstd"])


# numpy has no erf; scipy's when importable, else a series / continued fraction exact to ~1e-15
try:  # pragma: no cover - depends on the environment
    from scipy.special import erf as _erf
except Exception:  # noqa: BLE001
    _erf = None


def erf(x: np.ndarray) -> np.ndarray:
    """The error function, elementwise. Without scipy: for |x| < 3 the everywhere-positive series
    erf(x) = 2/sqrt(pi) e^{-x^2} sum_n 2^n x^{2n+1} / (1*3*...*(2n+1)); beyond, 1 - erfc(x) with
    erfc's continued fraction e^{-x^2}/sqrt(pi) / (x + 1/2 / (x + 1 / (x + 3/2 / (x + ...))))."""
    if _erf is not None:
        return np.asarray(_erf(x), dtype=x.dtype)
    a = np.abs(x.astype(np.float64))
    small = a < 3.0
    s = np.where(small, a, 0.0)
    term = s.copy()
    total = s.copy()
    for n in range(1, 80):
        term = term * (2.0 * s * s) / (2 * n + 1)
        total += term
    res = 2.0 / math.sqrt(math.pi) * np.exp(-s * s) * total
    big = np.where(small, 3.0, a)
    f = big.copy()
    for k in range(60, 0, -1):
        f = big + (k / 2.0) / f
    erfc = np.exp(-big * big) / math.sqrt(math.pi) / f
    res = np.where(small, res, 1.0 - erfc)
    return (np.sign(x) * res).astype(x.dtype, copy=False)


class Gelu(_Unary):
    """gelu(x) = x Phi(x) (Phi the normal cdf); d/dx = Phi(x) + x phi(x). With
    approximate="tanh": 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3)."""

    name, rule = "gelu", "d gelu(x)/dx = Phi(x) + x phi(x)"

    def forward(self, a: np.ndarray, approximate: str = "none") -> tuple:
        x = opmath(a)
        if approximate == "tanh":
            c = math.sqrt(2.0 / math.pi)
            t = np.tanh(c * (x + 0.044715 * x ** 3))
            return (0.5 * x * (1.0 + t)).astype(a.dtype, copy=False), ("tanh", t)
        cdf = (0.5 * (1.0 + erf(x / math.sqrt(2.0)))).astype(x.dtype, copy=False)
        return (x * cdf).astype(a.dtype, copy=False), ("none", cdf)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        a = opmath(node._parents[0]._data)
        kind, c = node._ctx
        if kind == "tanh":
            k = math.sqrt(2.0 / math.pi)
            d = 0.5 * (1.0 + c) + 0.5 * a * (1.0 - c * c) * k * (1.0 + 3 * 0.044715 * a * a)
        else:
            d = c + a * np.exp(-0.5 * a * a) / math.sqrt(2.0 * math.pi)
        return (g * d.astype(g.dtype, copy=False),)

    def tderiv(self, node: Any) -> Any:
        from .mathfns import ERF
        a = node._parents[0]
        if node._ctx[0] == "tanh":
            k = math.sqrt(2.0 / math.pi)
            t = ((a + a * a * a * 0.044715) * k).tanh()
            return (t + 1.0) * 0.5 + a * (1.0 - t * t) * (a * a * (3 * 0.044715) + 1.0) * (0.5 * k)
        return (ERF(a / math.sqrt(2.0)) + 1.0) * 0.5 + a * (a * a * -0.5).exp() / math.sqrt(2.0 * math.pi)


class Silu(_Unary):
    """silu(x) = x sigmoid(x); d/dx = s + x s (1 - s)."""

    name, rule = "silu", "d silu(x)/dx = s + x s (1 - s), s = sigmoid(x)"

    def forward(self, a: np.ndarray) -> tuple:
        s = np.empty_like(a)
        pos = a >= 0
        s[pos] = 1.0 / (1.0 + np.exp(-a[pos]))
        e = np.exp(a[~pos])
        s[~pos] = e / (1.0 + e)
        return a * s, s

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        a, s = node._parents[0]._data, node._ctx
        return (g * (s + a * s * (1.0 - s)),)

    def tderiv(self, node: Any) -> Any:
        a = node._parents[0]
        s = a.sigmoid()
        return s * (a * (1.0 - s) + 1.0)


EMBEDDING, LAYERNORM, GROUPNORM, BATCHNORM = Embedding(), LayerNorm(), GroupNorm(), BatchNorm()
GELU, SILU = Gelu(), Silu()
