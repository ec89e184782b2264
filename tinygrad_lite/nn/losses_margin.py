"""Multi-class and multi-label margin losses with PyTorch's signatures:
``multi_margin_loss``, ``multilabel_margin_loss``, ``multilabel_soft_margin_loss``,
``triplet_margin_with_distance_loss`` (re-exported by ``tl.nn.functional``) and their modules
(re-exported by ``tl.nn``).

Each is composed from Tensor ops (row gathers, clamps, sums), so every gradient is exact and
a batched input keeps its per-sample gradients: the loss of a row depends on that row only,
``"mean"`` averages the per-row losses and ``"sum"`` adds them.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from ..conventions import ShapeMismatchError
from ..tensor import Tensor
from .activations import logsigmoid
from .functional import _t
from .functional_more import pairwise_distance
from .losses import _class_weight, _LossModule, _ReducedLoss, _reduction, _WeightedLoss
from .losses_more import _flag, _number, _reduce, _same_ndim
from .module import Module

__all__ = ["multi_margin_loss", "multilabel_margin_loss", "multilabel_soft_margin_loss",
           "triplet_margin_with_distance_loss", "MultiMarginLoss", "MultiLabelMarginLoss",
           "MultiLabelSoftMarginLoss", "TripletMarginWithDistanceLoss"]


def _rows(input: Any, who: str) -> tuple:
    """The input as (N, C) rows and whether it was a single (C,) vector."""
    x = _t(input)._floating(who)
    if x.data.ndim not in (1, 2) or x.data.shape[-1] == 0:
        raise ShapeMismatchError(f"{who}: expected a non-empty (C,) or (N, C) input, got shape {x.data.shape}")
    return (x.reshape(1, -1), True) if x.data.ndim == 1 else (x, False)


def _labels(target: Any, who: str) -> np.ndarray:
    y = np.asarray(target.data if isinstance(target, Tensor) else target)
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{who}: target must hold integer class indices, got dtype {y.dtype}")
    return y


def _power(p: Any, who: str) -> int:
    if isinstance(p, (bool, np.bool_)) or p not in (1, 2):
        raise ValueError(f"{who}: only p == 1 and p == 2 are supported, got p={p!r}")
    return int(p)


def _triplet_args(margin: Any, swap: Any, distance_function: Any, who: str) -> tuple:
    """(margin > 0, swap, distance_function) checked, naming ``who``."""
    m = _number(margin, who, "margin")
    if m <= 0:
        raise ValueError(f"{who}: margin must be greater than 0, got {margin!r}")
    if distance_function is not None and not callable(distance_function):
        raise TypeError(f"{who}: distance_function must be callable or None, got {distance_function!r}")
    return m, _flag(swap, who, "swap"), distance_function


def _finish(per_row: Tensor, single: bool, reduction: str) -> Tensor:
    return _reduce(per_row.reshape(()) if single else per_row, reduction)


def multi_margin_loss(input: Any, target: Any, p: int = 1, margin: float = 1.0, weight: Any = None,
                      size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                      reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss of scores x (N, C) and labels y (N,):
    ``sum_{i != y} w[y] max(0, margin - x[y] + x[i])^p / C`` per row (p is 1 or 2)."""
    who = "multi_margin_loss"
    red = _reduction(who, size_average, reduce, reduction)
    p, m = _power(p, who), _number(margin, who, "margin")
    x, single = _rows(input, who)
    N, C = x.data.shape
    y = _labels(target, who)
    if y.shape != (() if single else (N,)):
        raise ShapeMismatchError(f"{who}: target of shape {y.shape} does not fit the input of shape "
                                 f"{(C,) if single else (N, C)} (expected {'()' if single else (N,)})")
    y = y.reshape(N)
    if np.any((y < 0) | (y >= C)):
        raise IndexError(f"{who}: target {int(y[(y < 0) | (y >= C)][0])} is out of range for {C} classes")
    w = _class_weight(weight, C, who, x.data.dtype)
    scale = (np.arange(C) != y[:, None]).astype(x.data.dtype) / C
    if w is not None:
        scale = scale * w[y][:, None]
    terms = (m - x.gather(1, y[:, None]) + x).relu()  # (no gradient at the hinge itself, as torch)
    return _finish(((terms * terms if p == 2 else terms) * scale).sum(1), single, red)


def multilabel_margin_loss(input: Any, target: Any, size_average: Optional[bool] = None,
                           reduce: Optional[bool] = None, reduction: str = "mean") -> Tensor:
    """Multi-label hinge loss: the target row lists the sample's classes, ended by the first -1;
    ``sum_{j listed} sum_{i not listed} max(0, 1 - (x[j] - x[i])) / C`` per row."""
    who = "multilabel_margin_loss"
    red = _reduction(who, size_average, reduce, reduction)
    x, single = _rows(input, who)
    N, C = x.data.shape
    y = _labels(target, who)
    if y.shape != (x.data.shape[1:] if single else x.data.shape):
        raise ShapeMismatchError(f"{who}: target of shape {y.shape} must have the input's shape "
                                 f"{(C,) if single else (N, C)}")
    y = y.reshape(N, C)
    listed = np.cumprod(y != -1, axis=1).astype(bool)  # the entries before the first -1
    if np.any(listed & ((y < 0) | (y >= C))):
        raise IndexError(f"{who}: target {int(y[listed & ((y < 0) | (y >= C))][0])} is out of range for {C} "
                         "classes (use -1 to end a row's labels)")
    yj = np.where(listed, y, 0)
    is_target = np.zeros((N, C), bool)
    r, c = np.nonzero(listed)
    is_target[r, y[r, c]] = True
    pick = (listed[:, :, None] & ~is_target[:, None, :]).astype(x.data.dtype) / C
    hinge = (1.0 - x.gather(1, yj).unsqueeze(2) + x.unsqueeze(1)).relu()  # (no gradient at the hinge itself)
    return _finish((hinge * pick).sum((1, 2)), single, red)


def multilabel_soft_margin_loss(input: Any, target: Any, weight: Any = None, size_average: Optional[bool] = None,
                                reduce: Optional[bool] = None, reduction: str = "mean") -> Tensor:
    """One-vs-all logistic loss over the last (class) axis:
    ``-sum_i w_i (y_i log sigmoid(x_i) + (1 - y_i) log sigmoid(-x_i)) / C`` per row."""
    who = "multilabel_soft_margin_loss"
    red = _reduction(who, size_average, reduce, reduction)
    x = _t(input)._floating(who)
    t = _t(target)
    if t.data.dtype.kind != "f":
        t = t.astype(x.data.dtype)
    if x.data.ndim == 0 or x.data.shape != t.data.shape:
        raise ShapeMismatchError(f"{who}: input of shape {x.data.shape} and target of shape {t.data.shape} must "
                                 "have one shape with a class axis last")
    loss = -(t * logsigmoid(x) + (1.0 - t) * logsigmoid(-x))
    if weight is not None:
        wt = _t(weight)
        try:
            np.broadcast_shapes(wt.data.shape, x.data.shape)
        except ValueError:
            raise ShapeMismatchError(f"{who}: weight of shape {wt.data.shape} does not broadcast to the input of "
                                     f"shape {x.data.shape}") from None
        loss = loss * wt
    return _reduce(loss.sum(-1) / x.data.shape[-1], red)


def triplet_margin_with_distance_loss(anchor: Any, positive: Any, negative: Any, *,
                                      distance_function: Optional[Callable[..., Tensor]] = None,
                                      margin: float = 1.0, swap: bool = False, reduction: str = "mean") -> Tensor:
    """``max(0, margin + d(a, p) - d(a, n))`` with any distance ``d`` (default
    ``pairwise_distance``); ``swap=True`` uses ``min(d(a, n), d(p, n))`` as the negative distance."""
    who = "triplet_margin_with_distance_loss"
    red = _reduction(who, None, None, reduction)
    m, swap, _ = _triplet_args(margin, swap, distance_function, who)
    d = pairwise_distance if distance_function is None else distance_function
    a, pos, neg = _t(anchor), _t(positive), _t(negative)
    _same_ndim(who, anchor=a, positive=pos, negative=neg)
    d_pos, d_neg = _t(d(a, pos)), _t(d(a, neg))
    if swap:
        d_neg = d_neg.minimum(_t(d(pos, neg)))
    return _reduce((m + d_pos - d_neg).clamp_min(0.0), red)


# --------------------------------------------------------------------------- modules -------
class MultiMarginLoss(_LossModule):
    """``F.multi_margin_loss`` as a module (``weight`` kept as a buffer)."""

    def __init__(self, p: int = 1, margin: float = 1.0, weight: Any = None, size_average: Optional[bool] = None,
                 reduce: Optional[bool] = None, reduction: str = "mean") -> None:
        self._reduce(size_average, reduce, reduction)
        self.p, self.margin = _power(p, "MultiMarginLoss"), _number(margin, "MultiMarginLoss", "margin")
        self._weights(weight=weight)

    def forward(self, input: Any, target: Any) -> Tensor:
        return multi_margin_loss(input, target, self.p, self.margin, self.weight, reduction=self.reduction)


class MultiLabelMarginLoss(_ReducedLoss):
    """``F.multilabel_margin_loss`` as a module."""

    def forward(self, input: Any, target: Any) -> Tensor:
        return multilabel_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """``F.multilabel_soft_margin_loss`` as a module (``weight`` kept as a buffer)."""

    def forward(self, input: Any, target: Any) -> Tensor:
        return multilabel_soft_margin_loss(input, target, self.weight, reduction=self.reduction)


class TripletMarginWithDistanceLoss(Module):
    """``F.triplet_margin_with_distance_loss`` as a module; the default distance is a
    ``PairwiseDistance()`` submodule, as torch."""

    def __init__(self, *, distance_function: Optional[Callable[..., Tensor]] = None, margin: float = 1.0,
                 swap: bool = False, reduction: str = "mean") -> None:
        who = "TripletMarginWithDistanceLoss"
        self.reduction = _reduction(who, None, None, reduction)
        self.margin, self.swap, distance_function = _triplet_args(margin, swap, distance_function, who)
        if distance_function is None:
            from .functional_more import PairwiseDistance
            distance_function = PairwiseDistance()
        self.distance_function = distance_function

    def forward(self, anchor: Any, positive: Any, negative: Any) -> Tensor:
        return triplet_margin_with_distance_loss(anchor, positive, negative, distance_function=self.distance_function,
                                                 margin=self.margin, swap=self.swap, reduction=self.reduction)
