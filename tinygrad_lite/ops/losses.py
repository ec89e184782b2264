"""Loss ops beyond mse_loss and cross_entropy: the pointwise losses (l1, huber, smooth_l1,
binary cross-entropy on probabilities and on logits) and the negative log-likelihood of a
target distribution over classes (nll_loss; weighted, ignored, smoothed or probability
targets of cross_entropy go through it after a log_softmax).

Each op is one node that keeps in its ctx ``(c, reduction, scale, ...)``: ``c`` the weight of
each sample's term in the cost (1/B for a mean, 1 for a sum; read by the per-sample pass as
``sample_scale``), the reduction's name and ``scale``, the factor of the summed elementwise
terms in the value (1/N for a mean over N elements, 1 for a sum). With ``reduction="none"``
the op returns the elementwise terms and is elementwise for the batch rules.

Per sample, a mean of pointwise terms over every element is the mean over the B samples of
each sample's own mean, exactly as for mse_loss. A weighted mean of nll_loss divides by the
sum of the weights the batch selects; it is the mean of the samples' own losses only when
every sample selects the same total weight, so otherwise the node is marked as mixing
samples and reading per-sample gradients raises, naming the fix.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .. import batchstate
from ..batchstate import BATCHED, MIXED, STAT
from .base import ArgumentError, Op, const, failed, lead, make, no_tvjp
from .fused import _Loss


def _scales(reduction: str, n: int, B: int) -> tuple:
    """(scale of the summed terms in the value, weight c of each sample's term)."""
    if reduction != "mean":
        return 1.0, 1.0
    return (1.0 / n if n else 1.0), (1.0 / B if B else 1.0)


def _expand(g: Any, reduced: bool, ndim: int) -> Any:
    """The cotangent ``g`` (with any leading per-sample stack axes) shaped to multiply the
    elementwise local derivatives: a reduced value gets one trailing axis per input axis."""
    if reduced and np.ndim(g):
        return np.reshape(g, np.shape(g) + (1,) * ndim)
    return g


class _Pointwise(_Loss):
    """An elementwise loss ``l(pred, target)`` reduced by mean (over every element), sum or
    none, each term times an optional constant ``weight`` (broadcast to the input's shape).
    Subclasses give ``terms`` (the elementwise values) and ``derivs`` (local derivatives)."""

    local = True
    mean_by_weight = False  # a weighted mean divides by the weights' sum (l1_loss, as torch), not by N

    def terms(self, p: np.ndarray, t: np.ndarray, kw: dict) -> np.ndarray:
        raise NotImplementedError

    def derivs(self, p: np.ndarray, t: np.ndarray, kw: dict, need_t: bool) -> tuple:
        """(dl/dpred, dl/dtarget or None) elementwise."""
        raise NotImplementedError

    def forward(self, p: np.ndarray, t: np.ndarray, reduction: str = "mean", batched: bool = False,
                **kw: Any) -> tuple:
        if p.shape != t.shape:
            raise ValueError(f"{self.name}: input shape {p.shape} and target shape {t.shape} differ; reshape one "
                             "of them (broadcasting them would compute a different loss)")
        with np.errstate(over="ignore"):
            vals = self.terms(p, t, kw)
        if kw.get("weight") is not None:
            vals = vals * kw["weight"]
        dt = np.result_type(p.dtype, t.dtype)
        if reduction == "none":
            return vals.astype(dt, copy=False), (1.0, reduction, 1.0, kw, True)
        B = p.shape[0] if p.ndim else 1
        scale, c = _scales(reduction, vals.size, B)
        exact = True
        w = kw.get("weight")
        if reduction == "mean" and w is not None and self.mean_by_weight and vals.size:
            wb = np.broadcast_to(w, p.shape)
            scale = 1.0 / float(wb.sum()) if wb.sum() else np.nan
            per = wb.reshape(B, -1).sum(axis=1) if p.ndim else wb.reshape(1)
            exact = bool(np.all(per == per[0]))  # each sample's own mean has the same divisor
        if reduction == "mean" and vals.size == 0 and not batched:
            value = np.asarray(np.nan, dtype=dt)
        else:
            value = np.asarray(vals.sum() * scale, dtype=dt)
        return value, (c, reduction, scale, kw, exact)

    def __call__(self, pred: Any, target: Any, reduction: str = "mean", **kw: Any) -> Any:
        try:
            data, ctx = self.forward(pred._data, target._data, reduction, bool((pred._bs | target._bs) & BATCHED),
                                     **kw)
        except Exception as e:
            failed(self, e, (pred, target))
            raise
        s = pred._bs | target._bs
        bs, mix = self.batch((pred, target), pred._data, ctx) if s else (0, None)
        return make(data, self, (pred, target), ctx, pred._rg or target._rg, bs, mix)

    def batch(self, inputs: tuple, out: np.ndarray, ctx: Any) -> tuple:
        pred, target = inputs
        bs, mix = batchstate.elementwise(self.name, out.shape, pred, target, "")
        if ctx[1] == "none":
            return bs, mix
        if bs == BATCHED and not ctx[4]:
            return batchstate.mixed(
                f"op '{self.name}' with a weight and reduction='mean' divides by the sum of the whole batch's "
                "weights, which differs between samples; use reduction='sum', or reduction='none' followed by "
                ".mean()", pred, target)
        if bs == BATCHED:
            return STAT, batchstate.stat_origin(self.name)
        if bs == STAT:
            return batchstate.mixed(f"op '{self.name}' applied to a batch statistic", pred, target)
        return bs, mix

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        _, reduction, scale, kw, _ = node._ctx
        pred, target = node._parents
        p, t = pred._data, target._data
        with np.errstate(over="ignore"):
            dp, dt = self.derivs(p, t, kw, target._rg)
        g = _expand(g, reduction != "none", p.ndim)
        if scale != 1.0:
            g = g * scale
        if kw.get("weight") is not None:
            g = g * kw["weight"]
        gp = (g * dp).astype(p.dtype, copy=False) if pred._rg else None
        gt = (g * dt).astype(t.dtype, copy=False) if dt is not None else None
        return gp, gt

    def tvjp(self, node: Any, g: Any) -> tuple:
        _, reduction, scale, kw, _ = node._ctx
        pred, target = node._parents
        dp, dt = self.tderivs(pred, target, kw, target._rg)
        if scale != 1.0:
            g = g * scale
        if kw.get("weight") is not None:
            g = g * kw["weight"]
        return (g * dp if pred._rg else None, None if dt is None else g * dt)

    def tderivs(self, p: Any, t: Any, kw: dict, need_t: bool) -> tuple:
        """``derivs`` with Tensor ops (``create_graph=True``); none by default."""
        raise no_tvjp(self)


class L1Loss(_Pointwise):
    """l = w |pred - target|; dl/dpred = w sign(pred - target) (0 where they are equal). A
    weighted mean divides by the sum of the weights (torch's rule for l1_loss)."""

    name, rule = "l1_loss", "d|p - t|/dp = sign(p - t), d/dt = -sign(p - t)"
    mean_by_weight = True

    def terms(self, p: np.ndarray, t: np.ndarray, kw: dict) -> np.ndarray:
        return np.abs(p - t)

    def derivs(self, p: np.ndarray, t: np.ndarray, kw: dict, need_t: bool) -> tuple:
        s = np.sign(p - t)
        return s, (-s if need_t else None)

    def tderivs(self, p: Any, t: Any, kw: dict, need_t: bool) -> tuple:
        s = self.derivs(p._data, t._data, kw, need_t)
        return const(s[0]), (None if s[1] is None else const(s[1]))


class WeightedSquaredError(_Pointwise):
    """l = w (pred - target)^2 (``mse_loss`` with a constant ``weight``); dl/dpred = 2 w (pred -
    target). A weighted mean divides by the sum of the weights (torch's rule), so sample b's
    own term is its weighted mean when every sample's weights add up to the same sum."""

    name, rule = "mse_loss", "d w(p - t)^2/dp = 2 w (p - t), d/dt = -d/dp"
    mean_by_weight = True

    def terms(self, p: np.ndarray, t: np.ndarray, kw: dict) -> np.ndarray:
        d = p - t
        return d * d

    def derivs(self, p: np.ndarray, t: np.ndarray, kw: dict, need_t: bool) -> tuple:
        d = 2 * (p - t)
        return d, (-d if need_t else None)

    def tderivs(self, p: Any, t: Any, kw: dict, need_t: bool) -> tuple:
        d = (p - t) * 2
        return d, (-d if need_t else None)


class HuberLoss(_Pointwise):
    """d = pred - target; l = d^2 / 2 where |d| < delta, else delta (|d| - delta / 2), all
    divided by ``div`` (1 for huber_loss, beta for smooth_l1_loss);
    dl/dpred = clip(d, -delta, delta) / div."""

    name, rule = "huber_loss", "d/dp = clip(p - t, -delta, delta), d/dt = -d/dp"

    def terms(self, p: np.ndarray, t: np.ndarray, kw: dict) -> np.ndarray:
        delta = kw["delta"]
        a = np.abs(p - t)
        out = np.where(a < delta, 0.5 * a * a, delta * (a - 0.5 * delta))
        return out if kw.get("div", 1.0) == 1.0 else out / kw["div"]

    def derivs(self, p: np.ndarray, t: np.ndarray, kw: dict, need_t: bool) -> tuple:
        delta = kw["delta"]
        d = np.clip(p - t, -delta, delta)
        if kw.get("div", 1.0) != 1.0:
            d = d / kw["div"]
        return d, (-d if need_t else None)

    def tderivs(self, p: Any, t: Any, kw: dict, need_t: bool) -> tuple:
        """p - t strictly inside (-delta, delta), the constant +-delta elsewhere: at |d| = delta
        the second derivative is 0, as torch's double backward."""
        from .select import WHERE
        delta = kw["delta"]
        diff = p - t
        d = WHERE(const(np.abs(diff._data) < delta), diff, const(np.clip(diff._data, -delta, delta)))
        if kw.get("div", 1.0) != 1.0:
            d = d / kw["div"]
        return d, (-d if need_t else None)


class SmoothL1Loss(HuberLoss):
    """Huber's loss with delta = beta, divided by beta: l = d^2 / (2 beta) where |d| < beta,
    else |d| - beta / 2; dl/dpred = clip(d / beta, -1, 1). (beta = 0 is l1_loss.)"""

    name, rule = "smooth_l1_loss", "d/dp = clip((p - t) / beta, -1, 1), d/dt = -d/dp"


_BCE_EPS = float(np.float32(1e-12))  # torch's floor of x (1 - x) in the gradient: 1e-12 rounded to float32


class BCELoss(_Pointwise):
    """Binary cross-entropy of probabilities x against targets t, each log clamped at -100:
    l = -w (t max(log x, -100) + (1 - t) max(log(1 - x), -100)) (w the weight, 1 if none);
    dl/dx = w (x - t) / max(x (1 - x), eps) (eps = 1e-12 in float32),
    dl/dt = -w logit(x) = w log((1 - x) / x), unclamped as torch's: +inf at x = 0, -inf at x = 1."""

    name, rule = "binary_cross_entropy", "d/dx = w (x - t) / (x (1 - x)), d/dt = w log((1 - x) / x)"

    @staticmethod
    def _logs(x: np.ndarray) -> tuple:
        with np.errstate(divide="ignore"):
            return np.maximum(np.log(x), -100.0), np.maximum(np.log1p(-x), -100.0)

    def terms(self, p: np.ndarray, t: np.ndarray, kw: dict) -> np.ndarray:
        if p.size and not (np.all(p >= 0) and np.all(p <= 1)):
            bad = p[~((p >= 0) & (p <= 1))].reshape(-1)[0]
            raise ArgumentError(f"{self.name}: every input value must be a probability in [0, 1], got {bad!r}; "
                                "for logits use binary_cross_entropy_with_logits")
        if t.size and not (np.all(t >= 0) and np.all(t <= 1)):  # as torch: a target is a probability too
            bad = t[~((t >= 0) & (t <= 1))].reshape(-1)[0]
            raise ArgumentError(f"{self.name}: every target value must be a probability in [0, 1], got {float(bad)!r}")
        lx, l1x = self._logs(p)
        return -(t * lx + (1 - t) * l1x)

    def derivs(self, p: np.ndarray, t: np.ndarray, kw: dict, need_t: bool) -> tuple:
        dp = (p - t) / np.maximum(p * (1 - p), _BCE_EPS)
        if not need_t:
            return dp, None
        with np.errstate(divide="ignore"):
            return dp, -np.log(p / (1 - p))

    def tderivs(self, p: Any, t: Any, kw: dict, need_t: bool) -> tuple:
        dp = (p - t) / (p * (1 - p)).clip(_BCE_EPS, None)
        return dp, ((1 - p).log() - p.log() if need_t else None)


def _softplus_neg(z: np.ndarray) -> np.ndarray:
    """log(1 + e^-z) without overflow."""
    return np.logaddexp(0, -z)


class BCEWithLogits(_Pointwise):
    """Binary cross-entropy of logits z (numerically stable), with pos_weight P and weight w:
    l = w ((1 - t) z + (1 + (P - 1) t) log(1 + e^-z));
    dl/dz = w ((1 - t) - (1 + (P - 1) t) sigmoid(-z)), dl/dt = w ((P - 1) log(1 + e^-z) - z)."""

    name, rule = "binary_cross_entropy_with_logits", "d/dz = w (sigmoid(z) - t) (pos_weight 1), d/dt = -w z"

    def terms(self, z: np.ndarray, t: np.ndarray, kw: dict) -> np.ndarray:
        P = kw.get("pos_weight")
        sp = _softplus_neg(z)
        return (1 - t) * z + (sp if P is None else (1 + (P - 1) * t) * sp)

    def derivs(self, z: np.ndarray, t: np.ndarray, kw: dict, need_t: bool) -> tuple:
        P = kw.get("pos_weight")
        sneg = np.exp(-np.logaddexp(0, z))  # sigmoid(-z)
        dz = (1 - t) - (sneg if P is None else (1 + (P - 1) * t) * sneg)
        if not need_t:
            return dz, None
        return dz, (-z if P is None else (P - 1) * _softplus_neg(z) - z)

    def tderivs(self, z: Any, t: Any, kw: dict, need_t: bool) -> tuple:
        P = kw.get("pos_weight")
        sneg = (-z).sigmoid()
        dz = (1 - t) - (sneg if P is None else (t * (P - 1) + 1) * sneg)
        if not need_t:
            return dz, None
        from .activations import LOGSIGMOID  # log(1 + e^-z) = -logsigmoid(z)
        return dz, (-z if P is None else LOGSIGMOID(z) * (1 - P) - z)


class NLLLoss(_Loss):
    """Negative log-likelihood of a target distribution over classes, from log-probabilities
    lp of shape (N, C, d1, ...) or (C,): each position's term is ``-sum_c Q[c] lp[c]`` where
    ``Q`` is the target's weighted distribution (``w_y`` at the label y for class indices, 0
    for an ignored label; with label smoothing eps ``(1 - eps) w_y onehot(y) + eps w / C``;
    for probability targets q, ``w (1 - eps) q + w eps / C``). The mean divides the summed
    terms by ``D``: the selected weights' sum for class indices, the number of positions for
    probabilities. d/dlp = -Q / D (mean) or -Q (sum)."""

    name, rule, local = "nll_loss", "d/dlp = -Q / D: Q the weighted target distribution, D the mean's divisor", True

    def forward(self, lp: np.ndarray, target: np.ndarray, reduction: str = "mean", batched: bool = False,
                weight: Optional[np.ndarray] = None, ignore_index: int = -100, smoothing: float = 0.0,
                probs: bool = False) -> tuple:
        lpm = lp if lp.ndim == 1 else np.moveaxis(lp, 1, -1)  # the class axis last
        pos = lpm.shape[:-1]
        if probs:
            target = target if lp.ndim == 1 else np.moveaxis(target, 1, -1)
            sel = None
            D = float(np.prod(pos))
        else:
            valid = target != ignore_index
            sel = np.where(valid, target, 0)
            wsel = valid.astype(lp.dtype) if weight is None else np.where(valid, weight[sel], 0).astype(lp.dtype)
            D = float(wsel.sum())
            sel = (sel, wsel, valid)
        Q = self.target_matrix(lpm, target, sel, weight, smoothing, probs)
        terms = -(Q * lpm).sum(axis=-1) if Q is not None else -np.take_along_axis(
            lpm, sel[0][..., None], axis=-1)[..., 0] * sel[1]
        terms = np.asarray(terms, dtype=lp.dtype)
        B = lp.shape[0] if lp.ndim > 1 else 1
        exact = True
        if reduction == "mean" and not probs and lp.ndim > 1 and B:
            per = sel[1].reshape(B, -1).sum(axis=1)  # each sample's own divisor: the mean of the
            exact = bool(np.all(per == per[0]))  # batch is the mean of theirs when all are equal
        ctx_tail = (exact, target, sel, weight, smoothing, probs)
        if reduction == "none":
            return terms, (1.0, reduction, 1.0) + ctx_tail
        scale = (1.0 / D if D else np.nan) if reduction == "mean" else 1.0
        c = (1.0 / B if B else 1.0) if reduction == "mean" else 1.0
        if reduction == "mean" and terms.size == 0:
            value = np.asarray(0.0 if batched else np.nan, dtype=lp.dtype)
            scale = 1.0
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                value = np.asarray(terms.sum() * scale, dtype=lp.dtype)
        return value, (c, reduction, scale) + ctx_tail

    @staticmethod
    def target_matrix(lpm: np.ndarray, target: np.ndarray, sel: Any, weight: Optional[np.ndarray],
                      smoothing: float, probs: bool) -> Optional[np.ndarray]:
        """Q, shaped like ``lpm`` (class axis last); None for plain class indices (the vjp
        and the value then use the labels directly)."""
        C = lpm.shape[-1]
        if probs:
            q = target if not smoothing else (1 - smoothing) * target + smoothing / C
            return q if weight is None else q * weight
        if not smoothing:
            return None
        idx, wsel, valid = sel
        Q = np.zeros(lpm.shape, dtype=lpm.dtype)
        np.put_along_axis(Q, idx[..., None], ((1 - smoothing) * wsel)[..., None], axis=-1)
        w = np.ones(C, lpm.dtype) if weight is None else weight
        return Q + (smoothing / C) * valid[..., None] * w

    @staticmethod
    def sample_reduction(node: Any) -> str:
        """The reduction, "weighted" for a mean whose divisor is a total of class weights that
        differ, or that leaves out ignored labels (no count of samples weighs it exactly)."""
        _, reduction, _, _, _, sel, weight, _, probs = node._ctx
        if reduction == "mean" and not probs and sel is not None and (not sel[2].all() or (
                weight is not None and weight.size and not np.all(weight == weight.flat[0]))):
            return "weighted"
        return reduction

    def __call__(self, lp: Any, target: np.ndarray, reduction: str = "mean", **kw: Any) -> Any:
        """The labels (or probabilities) are constants: only ``lp`` is an operand."""
        return Op.__call__(self, lp, target=target, reduction=reduction, batched=bool(lp._bs & BATCHED), **kw)

    def batch(self, inputs: tuple, out: np.ndarray, ctx: Any) -> tuple:
        lp = inputs[0]
        if lp._bs & MIXED or not lp._bs & BATCHED:  # already mixed, or a batch statistic
            return batchstate.unary(self.name, lp)
        if lp._data.ndim < 2:
            return batchstate.mixed(f"op '{self.name}' on a batched 1-D input", lp)
        if ctx[1] == "none":
            return BATCHED, None
        if not ctx[3]:
            return batchstate.mixed(
                f"op '{self.name}' with reduction='mean' divides by the total class weight the whole batch selects "
                "(class weights, or ignored labels), so a sample's term depends on the other samples' labels; use "
                "reduction='sum', or reduction='none' followed by .mean()", lp)
        return STAT, batchstate.stat_origin(self.name)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        _, reduction, scale, _, target, sel, weight, smoothing, probs = node._ctx
        lp = node._parents[0]._data
        lpm = lp if lp.ndim == 1 else np.moveaxis(lp, 1, -1)
        Q = self.target_matrix(lpm, target, sel, weight, smoothing, probs)
        if Q is None:
            Q = np.zeros(lpm.shape, dtype=lp.dtype)
            np.put_along_axis(Q, sel[0][..., None], sel[1][..., None], axis=-1)
        k = lead(node, g)
        if reduction == "none":
            G = np.asarray(g)[..., None] * Q
        else:
            G = _expand(g, True, lpm.ndim) * Q
        if scale != scale:  # the mean over no selected weight (0 / 0), as torch: NaN where a kept label
            idx, _, valid = sel  # reaches (its whole row when smoothed), 0 elsewhere (so none if all are ignored)
            hit = np.zeros(lpm.shape, dtype=bool)
            if smoothing:
                hit[valid] = True
            else:
                np.put_along_axis(hit, idx[..., None], valid[..., None], axis=-1)
            G = np.where(hit, np.nan, 0.0)
        else:
            G = -G if scale == 1.0 else G * -scale
        if lp.ndim > 1:
            G = np.moveaxis(G, -1, k + 1)
        return (G.astype(lp.dtype, copy=False),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        """Linear in lp: ``g`` times the (constant) vjp of ones."""
        G = self.vjp(node, np.ones(node._data.shape, node._data.dtype))[0]
        if node._ctx[1] == "none" and g.ndim:
            g = g.reshape(g.shape[:1] + (1,) + g.shape[1:])
        return (g * G,)


L1, HUBER, SMOOTHL1, BCE, BCELOGITS, NLL = L1Loss(), HuberLoss(), SmoothL1Loss(), BCELoss(), BCEWithLogits(), NLLLoss()
WSQUARED = WeightedSquaredError()
