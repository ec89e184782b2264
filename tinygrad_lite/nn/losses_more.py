"""More losses with PyTorch's signatures: ``kl_div``, ``soft_margin_loss``,
``margin_ranking_loss``, ``hinge_embedding_loss``, ``cosine_embedding_loss``,
``triplet_margin_loss``, ``poisson_nll_loss``, ``gaussian_nll_loss`` (re-exported by
``tl.nn.functional``) and their modules (re-exported by ``tl.nn``).

Each is composed from Tensor ops: the elementwise (or per-row) terms, then ``.mean()`` /
``.sum()``. A mean over a batched input is thus the mean over the B samples of each sample's
own mean, a sum the sum of their sums, and ``grad_sample`` equals running each sample alone
(``kl_div``'s ``"batchmean"``, the sum divided by the batch size, is the mean over the samples
of each sample's sum). An input and a target of different shapes raise ``ValueError`` naming
both (no silent broadcasting, as ``mse_loss``); ``reduction`` is ``"mean"``, ``"sum"`` or
``"none"`` (the legacy ``size_average`` / ``reduce`` flags map to it as in torch).
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, Optional

import numpy as np

from .. import factories
from ..conventions import ShapeMismatchError
from ..tensor import Tensor
from .functional import _check_eps, _t
from .functional_more import pairwise_distance, value_clamped
from .losses import _LossModule, _ReducedLoss, _reduction
from .module import Module

__all__ = ["kl_div", "soft_margin_loss", "margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss",
           "triplet_margin_loss", "poisson_nll_loss", "gaussian_nll_loss", "KLDivLoss", "SoftMarginLoss",
           "MarginRankingLoss", "HingeEmbeddingLoss", "CosineEmbeddingLoss", "TripletMarginLoss", "PoissonNLLLoss",
           "GaussianNLLLoss"]


def _reduce(terms: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return terms
    return terms.mean() if reduction == "mean" else terms.sum()


def _pair(input: Any, target: Any, who: str) -> tuple:
    """(input, target) as float Tensors of one shape (ValueError naming both shapes otherwise)."""
    x = _t(input)._floating(who)
    t = _t(target)
    if t.data.dtype.kind != "f":
        t = t.astype(x.data.dtype)
    if x.data.shape != t.data.shape:
        raise ShapeMismatchError(f"{who}: input shape {x.data.shape} and target shape {t.data.shape} differ; reshape "
                                 "one of them (broadcasting them would compute a different loss)")
    return x, t


def _number(v: Any, who: str, name: str) -> float:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError(f"{who}: {name} must be a real number, got {v!r}")
    return float(v)


def _flag(v: Any, who: str, name: str) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{who}: {name} must be a bool, got {v!r}")
    return bool(v)


def _where(cond: np.ndarray, a: Any, b: Any) -> Tensor:
    return factories.where(cond, a, b)


# --------------------------------------------------------------------------- divergences --
def _kl_reduction(size_average: Optional[bool], reduce: Optional[bool], reduction: str, who: str) -> str:
    if size_average is not None or reduce is not None:
        return _reduction(who, size_average, reduce, "mean")
    if reduction not in ("mean", "batchmean", "sum", "none"):
        raise ValueError(f"{who}: reduction must be 'mean', 'batchmean', 'sum' or 'none', got {reduction!r}")
    if reduction == "mean":
        warnings.warn("kl_div: reduction='mean' divides the total loss by both the batch size and the support "
                      "size; 'batchmean' divides by the batch size only, which is the KL divergence",
                      UserWarning, stacklevel=3)
    return reduction


def kl_div(input: Any, target: Any, size_average: Optional[bool] = None, reduce: Optional[bool] = None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Pointwise KL divergence of log-probabilities ``x`` from the target distribution:
    ``t (log t - x)`` (0 where t = 0), or ``e^t (t - x)`` with ``log_target=True``.

    ``"batchmean"``: the sum divided by the size of axis 0 (the KL divergence per sample);
    ``"mean"``: divided by the number of elements (warns, as torch: it is not the divergence);
    ``"sum"``, ``"none"``. d/dx = -t (or -e^t).
    """
    who = "kl_div"
    x, t = _pair(input, target, who)  # (shapes first: a refused call does not warn)
    red = _kl_reduction(size_average, reduce, reduction, who)
    log_target = _flag(log_target, who, "log_target")
    if log_target:
        terms = t.exp() * (t - x)
    else:
        td = t.data
        with np.errstate(divide="ignore", invalid="ignore"):  # x log x: 0 at 0, nan below (as torch's xlogy)
            tlogt = np.where(td == 0, 0.0, td * np.log(td)).astype(td.dtype, copy=False)
        if t.requires_grad:
            tlogt = _where(td > 0, t * _where(td > 0, t, 1.0).log(), tlogt)
        terms = tlogt - t * x
    if red != "batchmean":
        return _reduce(terms, red)
    if terms.data.ndim == 0:
        return terms
    shape = terms.data.shape  # the mean over axis 0 of each row's sum: the sum / shape[0]
    return terms.reshape(shape[0], math.prod(shape[1:])).sum(1).mean()


# --------------------------------------------------------------------------- margin losses --
def soft_margin_loss(input: Any, target: Any, size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                     reduction: str = "mean") -> Tensor:
    """Two-class logistic loss ``log(1 + exp(-y x))`` for targets y in {1, -1};
    d/dx = -y sigmoid(-y x)."""
    red = _reduction("soft_margin_loss", size_average, reduce, reduction)
    if isinstance(target, Tensor) and target.requires_grad:  # (torch's refusal: no derivative for it)
        raise TypeError("soft_margin_loss: the loss is not differentiable with respect to target; detach() it")
    x, y = _pair(input, target, "soft_margin_loss")
    return _reduce((-(x * y)).exp().log1p(), red)


def _same_ndim(who: str, **tensors: Tensor) -> None:
    dims = {k: v.data.ndim for k, v in tensors.items()}
    if len(set(dims.values())) > 1:
        shapes = ", ".join(f"{k} {v.data.shape}" for k, v in tensors.items())
        raise ShapeMismatchError(f"{who}: all inputs must have the same number of axes, got {shapes}")
    try:
        np.broadcast_shapes(*(v.data.shape for v in tensors.values()))
    except ValueError:
        shapes = ", ".join(f"{k} {v.data.shape}" for k, v in tensors.items())
        raise ShapeMismatchError(f"{who}: the shapes {shapes} do not broadcast together") from None


def margin_ranking_loss(input1: Any, input2: Any, target: Any, margin: float = 0, size_average: Optional[bool] = None,
                        reduce: Optional[bool] = None, reduction: str = "mean") -> Tensor:
    """``max(0, -y (x1 - x2) + margin)``: y = 1 asks x1 to rank above x2 by the margin, y = -1
    below (the three broadcast together, with the same number of axes, as torch)."""
    who = "margin_ranking_loss"
    red = _reduction(who, size_average, reduce, reduction)
    m = _number(margin, who, "margin")
    a, b, y = _t(input1)._floating(who), _t(input2)._floating(who), _t(target)
    _same_ndim(who, input1=a, input2=b, target=y)
    return _reduce((-y * (a - b) + m).clamp_min(0.0), red)


def hinge_embedding_loss(input: Any, target: Any, margin: float = 1.0, size_average: Optional[bool] = None,
                         reduce: Optional[bool] = None, reduction: str = "mean") -> Tensor:
    """``x`` where y = 1, ``max(0, margin - x)`` where y = -1 (x usually a distance); for other
    targets both terms count, as torch."""
    who = "hinge_embedding_loss"
    red = _reduction(who, size_average, reduce, reduction)
    m = _number(margin, who, "margin")
    x, y = _pair(input, target, who)
    yd = y.data
    return _reduce(_where(yd != 1, (m - x).clamp_min(0.0), 0.0) + _where(yd != -1, x, 0.0), red)


def cosine_embedding_loss(input1: Any, input2: Any, target: Any, margin: float = 0,
                          size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                          reduction: str = "mean") -> Tensor:
    """``1 - cos(x1, x2)`` where y = 1, ``max(0, cos(x1, x2) - margin)`` where y = -1 (0 for
    other targets), with ``cos = <x1, x2> / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12))`` per row of
    (N, D) inputs and (N,) targets, or of (D,) inputs and a 0-d target."""
    who = "cosine_embedding_loss"
    red = _reduction(who, size_average, reduce, reduction)
    m = _number(margin, who, "margin")
    a, b, y = _t(input1)._floating(who), _t(input2)._floating(who), _t(target)
    k = y.data.ndim
    if k not in (0, 1):
        raise ShapeMismatchError(f"{who}: expected a 0-d or 1-d target, got shape {y.data.shape} (multi-target is "
                                 "not supported)")
    if a.data.ndim != k + 1 or b.data.ndim != k + 1:
        raise ShapeMismatchError(f"{who}: a {k}-d target expects {k + 1}-d inputs, got input1 {a.data.shape}, "
                                 f"input2 {b.data.shape}")
    try:
        np.broadcast_shapes(a.data.shape, b.data.shape, y.data.shape + (1,))
    except ValueError:
        raise ShapeMismatchError(f"{who}: input1 {a.data.shape}, input2 {b.data.shape} and target {y.data.shape} "
                                 "do not fit together") from None
    eps = 1e-12
    cos = (a * b).sum(k) / (((a * a).sum(k) + eps) * ((b * b).sum(k) + eps)).sqrt()
    yd = np.asarray(y.data)
    return _reduce(_where(yd == 1, 1.0 - cos, 0.0) + _where(yd == -1, (cos - m).clamp_min(0.0), 0.0), red)


def triplet_margin_loss(anchor: Any, positive: Any, negative: Any, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average: Optional[bool] = None,
                        reduce: Optional[bool] = None, reduction: str = "mean") -> Tensor:
    """``max(0, margin + d(a, p) - d(a, n))`` with ``d = pairwise_distance(., ., p, eps)`` over
    the last axis; ``swap=True`` uses ``min(d(a, n), d(p, n))`` as the negative distance."""
    who = "triplet_margin_loss"
    red = _reduction(who, size_average, reduce, reduction)
    m = _number(margin, who, "margin")
    if m <= 0:
        raise ValueError(f"{who}: margin must be greater than 0, got {margin!r}")
    swap = _flag(swap, who, "swap")
    a, pos, neg = _t(anchor), _t(positive), _t(negative)
    _same_ndim(who, anchor=a, positive=pos, negative=neg)
    d_pos = pairwise_distance(a, pos, p, eps)
    d_neg = pairwise_distance(a, neg, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(pos, neg, p, eps))
    return _reduce((m + d_pos - d_neg).clamp_min(0.0), red)


# --------------------------------------------------------------------------- likelihoods --
def poisson_nll_loss(input: Any, target: Any, log_input: bool = True, full: bool = False,
                     size_average: Optional[bool] = None, eps: float = 1e-8, reduce: Optional[bool] = None,
                     reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of counts y under a Poisson of rate lambda: ``e^x - y x`` with
    ``log_input`` (x = log lambda), else ``x - y log(x + eps)``; ``full`` adds Stirling's
    ``y log y - y + log(2 pi y) / 2`` where y > 1 (the terms of log y! that do not depend on x)."""
    who = "poisson_nll_loss"
    red = _reduction(who, size_average, reduce, reduction)
    log_input, full = _flag(log_input, who, "log_input"), _flag(full, who, "full")
    eps = _number(eps, who, "eps")
    x, y = _pair(input, target, who)
    loss = x.exp() - y * x if log_input else x - y * (x + eps).log()
    if full:
        big = y.data > 1
        ys = _where(big, y, 2.0)
        stirling = ys * ys.log() - ys + 0.5 * (2 * math.pi * ys).log()
        loss = loss + _where(big, stirling, 0.0)
    return _reduce(loss, red)


def _variance(var: Any, shape: tuple, dtype: Any, who: str) -> Tensor:
    """``var`` as a Tensor that broadcasts to the input's ``shape`` as torch allows: the same
    shape, one axis fewer (the last), or one axis of size 1."""
    if isinstance(var, numbers.Real) and not isinstance(var, (bool, np.bool_)):
        if var < 0:
            raise ValueError(f"{who}: var has negative entries (got {var!r})")
        return _t(np.full(shape, float(var), dtype=dtype))
    v = _t(var)
    if v.data.dtype.kind not in "iuf":
        raise TypeError(f"{who}: var must be a real number or a numeric Tensor, got dtype {v.data.dtype}")
    if np.any(v.data < 0):
        raise ValueError(f"{who}: var has negative entries")
    vs = v.data.shape
    if vs != shape:
        if shape[:-1] == vs:
            v = v.unsqueeze(-1)
        elif not (len(vs) == len(shape) and sum(b for a, b in zip(shape, vs) if a != b) == 1):
            raise ShapeMismatchError(f"{who}: var of shape {vs} does not fit the input of shape {shape} (give the "
                                     "input's shape, that shape without its last axis, or one axis of size 1)")
    return v._floating(who)


def gaussian_nll_loss(input: Any, target: Any, var: Any, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of the target under N(input, var):
    ``(log(max(var, eps)) + (x - y)^2 / max(var, eps)) / 2`` (+ log(2 pi) / 2 with ``full``).

    The clamp changes var's value only (the gradient with respect to var flows as if
    unclamped, as torch's clamp under no_grad)."""
    who = "gaussian_nll_loss"
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{who}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    full = _flag(full, who, "full")
    _check_eps(eps, who)
    x, y = _pair(input, target, who)
    v = value_clamped(_variance(var, x.data.shape, x.data.dtype, who), float(eps))
    loss = 0.5 * (v.log() + (x - y) ** 2 / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# --------------------------------------------------------------------------- modules -------
class KLDivLoss(_LossModule):
    """``F.kl_div`` as a module."""

    def __init__(self, size_average: Optional[bool] = None, reduce: Optional[bool] = None, reduction: str = "mean",
                 log_target: bool = False) -> None:
        if size_average is not None or reduce is not None:
            reduction = _reduction("KLDivLoss", size_average, reduce, "mean")
        elif reduction not in ("mean", "batchmean", "sum", "none"):
            raise ValueError(f"KLDivLoss: reduction must be 'mean', 'batchmean', 'sum' or 'none', got {reduction!r}")
        self.reduction = reduction
        self.log_target = _flag(log_target, "KLDivLoss", "log_target")

    def forward(self, input: Any, target: Any) -> Tensor:
        return kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class SoftMarginLoss(_ReducedLoss):
    """``F.soft_margin_loss`` as a module."""

    def forward(self, input: Any, target: Any) -> Tensor:
        return soft_margin_loss(input, target, reduction=self.reduction)


class _MarginModule(_LossModule):
    default_margin = 0.0

    def __init__(self, margin: Optional[float] = None, size_average: Optional[bool] = None,
                 reduce: Optional[bool] = None, reduction: str = "mean") -> None:
        self._reduce(size_average, reduce, reduction)
        self.margin = _number(self.default_margin if margin is None else margin, type(self).__name__, "margin")


class MarginRankingLoss(_MarginModule):
    """``F.margin_ranking_loss`` as a module (margin 0 by default)."""

    def forward(self, input1: Any, input2: Any, target: Any) -> Tensor:
        return margin_ranking_loss(input1, input2, target, self.margin, reduction=self.reduction)


class HingeEmbeddingLoss(_MarginModule):
    """``F.hinge_embedding_loss`` as a module (margin 1 by default)."""

    default_margin = 1.0

    def forward(self, input: Any, target: Any) -> Tensor:
        return hinge_embedding_loss(input, target, self.margin, reduction=self.reduction)


class CosineEmbeddingLoss(_MarginModule):
    """``F.cosine_embedding_loss`` as a module (margin 0 by default)."""

    def forward(self, input1: Any, input2: Any, target: Any) -> Tensor:
        return cosine_embedding_loss(input1, input2, target, self.margin, reduction=self.reduction)


class TripletMarginLoss(_LossModule):
    """``F.triplet_margin_loss`` as a module."""

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                 size_average: Optional[bool] = None, reduce: Optional[bool] = None, reduction: str = "mean") -> None:
        self._reduce(size_average, reduce, reduction)
        self.margin = _number(margin, "TripletMarginLoss", "margin")
        if self.margin <= 0:
            raise ValueError(f"TripletMarginLoss: margin must be greater than 0, got {margin!r}")
        self.p, self.eps = _number(p, "TripletMarginLoss", "p"), _number(eps, "TripletMarginLoss", "eps")
        self.swap = _flag(swap, "TripletMarginLoss", "swap")

    def forward(self, anchor: Any, positive: Any, negative: Any) -> Tensor:
        return triplet_margin_loss(anchor, positive, negative, self.margin, self.p, self.eps, self.swap,
                                   reduction=self.reduction)


class PoissonNLLLoss(_LossModule):
    """``F.poisson_nll_loss`` as a module."""

    def __init__(self, log_input: bool = True, full: bool = False, size_average: Optional[bool] = None,
                 eps: float = 1e-8, reduce: Optional[bool] = None, reduction: str = "mean") -> None:
        self._reduce(size_average, reduce, reduction)
        self.log_input = _flag(log_input, "PoissonNLLLoss", "log_input")
        self.full = _flag(full, "PoissonNLLLoss", "full")
        self.eps = _number(eps, "PoissonNLLLoss", "eps")

    def forward(self, log_input: Any, target: Any) -> Tensor:
        return poisson_nll_loss(log_input, target, self.log_input, self.full, eps=self.eps, reduction=self.reduction)


class GaussianNLLLoss(Module):
    """``F.gaussian_nll_loss`` as a module: ``forward(input, target, var)``."""

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"GaussianNLLLoss: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        _check_eps(eps, "GaussianNLLLoss")
        self.full, self.eps, self.reduction = _flag(full, "GaussianNLLLoss", "full"), float(eps), reduction

    def forward(self, input: Any, target: Any, var: Any) -> Tensor:
        return gaussian_nll_loss(input, target, var, self.full, self.eps, self.reduction)

