"""The loss functions beyond ``mse_loss``, with PyTorch's signatures, and their modules.

Functions (re-exported by ``tl.nn.functional``): ``cross_entropy`` (class weights,
``ignore_index``, ``label_smoothing``, probability targets), ``nll_loss``,
``binary_cross_entropy``, ``binary_cross_entropy_with_logits``, ``l1_loss``,
``huber_loss``, ``smooth_l1_loss``. Modules (re-exported by ``tl.nn``): ``CrossEntropyLoss``,
``NLLLoss``, ``BCELoss``, ``BCEWithLogitsLoss``, ``L1Loss``, ``HuberLoss``, ``SmoothL1Loss``.

Each function checks its arguments (a target whose shape differs from the input's raises
``ValueError`` naming the loss and both shapes: no silent broadcasting; a label out of range
raises ``IndexError`` naming it) and calls one op of ``tinygrad_lite.ops.losses`` (after a
``log_softmax`` for cross_entropy). ``reduction`` is ``"mean"``, ``"sum"`` or ``"none"``; the
legacy ``size_average`` / ``reduce`` flags map to it as in torch.

Per sample (a batched input): a ``"mean"`` is the mean over the B samples of each sample's
own mean, a ``"sum"`` the sum of their sums, so ``grad_sample`` equals running each sample
alone. A class-weighted mean of nll_loss / cross_entropy divides by the total weight the
batch selects (as torch); unless every sample selects the same weight (no class weights and
no ignored label, or a uniform weight), that mixes samples, and reading per-sample gradients
raises naming the fix (``reduction="sum"``, or ``reduction="none"`` then ``.mean()``).
"""

from __future__ import annotations

import numbers
from typing import Any, Optional

import numpy as np

from .. import ops
from ..batchstate import BATCHED
from ..ops.base import DtypeError, broadcasts_to
from ..ops.losses import BCE, BCELOGITS, HUBER, L1, NLL, SMOOTHL1
from ..tensor import Tensor
from .functional import _check_reduction, _t
from .module import Module

__all__ = ["cross_entropy", "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "l1_loss",
           "huber_loss", "smooth_l1_loss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "L1Loss",
           "HuberLoss", "SmoothL1Loss"]


# ------------------------------------------------------------------------- argument checks --
def _reduction(who: str, size_average: Optional[bool], reduce: Optional[bool], reduction: str) -> str:
    """The reduction, with torch's legacy flags taking over when either is given:
    ``reduce=False`` is ``"none"``, else ``size_average=False`` is ``"sum"``, else ``"mean"``."""
    if size_average is not None or reduce is not None:
        reduction = "none" if reduce is False else ("sum" if size_average is False else "mean")
    _check_reduction(who, reduction)
    return reduction


def _const_array(v: Any, who: str, name: str, dtype: Any) -> np.ndarray:
    """A constant operand (weight, pos_weight) as an array of ``dtype``."""
    if isinstance(v, Tensor):
        if v.requires_grad:
            raise TypeError(f"{who}: gradients with respect to {name} are not supported; pass it without "
                            "requires_grad (or detach() it)")
        v = v.data
    if isinstance(v, str):  # (a reduction given in the place torch gives the weight)
        raise ValueError(f"{who}: {name} must be a numeric array or Tensor (or None), got the string {v!r}; "
                         f"give the reduction by keyword: reduction={v!r}")
    arr = np.asarray(v)
    if isinstance(v, bool) or arr.dtype.kind not in "iuf":
        raise TypeError(f"{who}: {name} must be a numeric array or Tensor (or None), got {v!r}")
    return arr.astype(dtype, copy=False)


def _elem_weight(v: Any, shape: tuple, who: str, name: str, dtype: Any) -> Optional[np.ndarray]:
    """A weight broadcast over the input (it must not enlarge the input's shape)."""
    if v is None:
        return None
    w = _const_array(v, who, name, dtype)
    if not broadcasts_to(w.shape, shape):
        raise ValueError(f"{who}: {name} of shape {w.shape} does not broadcast to the input's shape {shape}")
    return w


def _class_weight(v: Any, C: int, who: str, dtype: Any, learned: bool = False) -> Any:
    """One weight per class, as an array; with ``learned``, a Tensor that requires grad stays one."""
    if v is None:
        return None
    w = v if learned and isinstance(v, Tensor) and v.requires_grad else _const_array(v, who, "weight", dtype)
    if w.shape != (C,):
        raise ValueError(f"{who}: weight must have one entry per class, shape ({C},), got {w.shape}")
    return w


def _index(v: Any, who: str) -> int:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{who}: ignore_index must be an int, got {v!r}")
    return int(v)


def _pair(input: Any, target: Any, who: str) -> tuple:
    """(prediction, target) as float Tensors; an integer target takes the prediction's dtype."""
    pred = _t(input)
    pred = pred._floating(who)
    tgt = _t(target)
    if tgt.data.dtype.kind != "f":
        tgt = tgt.astype(pred.data.dtype)
    return pred, tgt


def _pointwise(op: Any, who: str, input: Any, target: Any, reduction: str, same_weight: bool = False,
               **kw: Any) -> Tensor:
    """One pointwise loss op; ``same_weight``: the weight must have the input's shape (l1,
    huber), else it may broadcast to it (the binary cross-entropies)."""
    pred, tgt = _pair(input, target, who)
    if pred.data.shape != tgt.data.shape:
        raise ValueError(f"{who}: input shape {pred.data.shape} and target shape {tgt.data.shape} differ; reshape "
                         "one of them (broadcasting them would compute a different loss)")
    if "weight" in kw:
        kw["weight"] = w = _elem_weight(kw["weight"], pred.data.shape, who, "weight", pred.data.dtype)
        if same_weight and w is not None and w.shape != pred.data.shape:
            raise ValueError(f"{who}: weight of shape {w.shape} must have the input's shape {pred.data.shape}")
    if reduction != "none" and tgt._bs & BATCHED and not pred._bs and pred.requires_grad:
        # only the target holds the samples: the elementwise terms carry each sample's own term
        terms = op(pred, tgt, "none", **kw)
        return terms.mean() if reduction == "mean" else terms.sum()
    return op(pred, tgt, reduction, **kw)


# ------------------------------------------------------------------------- pointwise losses --
def l1_loss(input: Any, target: Any, size_average: Optional[bool] = None, reduce: Optional[bool] = None,
            reduction: str = "mean", weight: Any = None) -> Tensor:
    """Absolute error ``w |x - y|`` (``w`` an optional weight of the input's shape, else 1),
    averaged over every element (``"mean"``; with a weight, divided by the weights' sum, as
    torch), summed, or elementwise (``"none"``); d/dx = w sign(x - y)."""
    reduction = _reduction("l1_loss", size_average, reduce, reduction)
    return _pointwise(L1, "l1_loss", input, target, reduction, True, weight=weight)


def _positive(v: Any, who: str, name: str, allow_zero: bool) -> float:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError(f"{who}: {name} must be a real number, got {v!r}")
    if not (v >= 0 if allow_zero else v > 0) or not np.isfinite(v):
        raise ValueError(f"{who}: {name} must be a finite number {'>=' if allow_zero else '>'} 0, got {v!r}")
    return float(v)


def huber_loss(input: Any, target: Any, reduction: str = "mean", delta: float = 1.0, weight: Any = None) -> Tensor:
    """Huber's loss of d = x - y: ``d^2 / 2`` where ``|d| < delta``, else ``delta (|d| - delta/2)``
    (quadratic near 0, linear beyond delta), times an optional weight; d/dx = clip(d, -delta, delta)."""
    _check_reduction("huber_loss", reduction)
    d = _positive(delta, "huber_loss", "delta", False)
    return _pointwise(HUBER, "huber_loss", input, target, reduction, True, delta=d, weight=weight)


def smooth_l1_loss(input: Any, target: Any, size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """``d^2 / (2 beta)`` where ``|d| < beta``, else ``|d| - beta/2`` (d = x - y): Huber's loss
    with delta = beta divided by beta; ``beta = 0`` is ``l1_loss``. d/dx = clip(d / beta, -1, 1)."""
    reduction = _reduction("smooth_l1_loss", size_average, reduce, reduction)
    b = _positive(beta, "smooth_l1_loss", "beta", True)
    if b == 0.0:
        return _pointwise(L1, "smooth_l1_loss", input, target, reduction)
    return _pointwise(SMOOTHL1, "smooth_l1_loss", input, target, reduction, delta=b, div=b)


def binary_cross_entropy(input: Any, target: Any, weight: Any = None, size_average: Optional[bool] = None,
                         reduce: Optional[bool] = None, reduction: str = "mean") -> Tensor:
    """``-w (y log x + (1 - y) log(1 - x))`` for probabilities x in [0, 1] (each log clamped
    at -100, so x = 0 or 1 gives a finite loss, as torch); d/dx = w (x - y) / (x (1 - x))."""
    reduction = _reduction("binary_cross_entropy", size_average, reduce, reduction)
    return _pointwise(BCE, "binary_cross_entropy", input, target, reduction, weight=weight)


def binary_cross_entropy_with_logits(input: Any, target: Any, weight: Any = None,
                                     size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                                     reduction: str = "mean", pos_weight: Any = None) -> Tensor:
    """``-w (p y log s(z) + (1 - y) log(1 - s(z)))`` with s the sigmoid and p = ``pos_weight``
    (broadcast over the input, usually one entry per class on the last axis), computed from
    the logits z without overflow as ``w ((1 - y) z + (1 + (p - 1) y) log(1 + e^-z))``;
    d/dz = w (s(z) - y) when p = 1."""
    who = "binary_cross_entropy_with_logits"
    reduction = _reduction(who, size_average, reduce, reduction)
    x = _t(input)._floating(who)
    pw = _elem_weight(pos_weight, x.data.shape, who, "pos_weight", x.data.dtype)
    return _pointwise(BCELOGITS, who, x, target, reduction, weight=weight, pos_weight=pw)


# ------------------------------------------------------------------------- class losses -----
def _labels(y: np.ndarray, z: np.ndarray, ignore_index: int, who: str) -> None:
    """Integer labels of the input's shape without its class axis, each a class or ignore_index."""
    if not np.issubdtype(y.dtype, np.integer):
        raise DtypeError(f"{who}: labels must be integer class indices, got dtype {y.dtype} (probability targets "
                         f"must have the input's shape {z.shape})")
    want = z.shape[:1] + z.shape[2:] if z.ndim > 1 else ()
    if y.shape != want:
        raise ValueError(f"{who}: labels of shape {y.shape} do not match input of shape {z.shape} "
                         f"(expected labels of shape {want})")
    C = z.shape[1] if z.ndim > 1 else z.shape[0]
    bad = (y != ignore_index) & ((y < 0) | (y >= C))
    if bad.any():
        raise IndexError(f"{who}: label {int(y[bad].reshape(-1)[0])} is out of range for {C} classes "
                         f"(ignore_index={ignore_index})")


def _class_input(input: Any, who: str) -> Tensor:
    x = _t(input)
    if x.data.ndim == 0:
        raise ValueError(f"{who}: input must have shape (N, C), (C,) or (N, C, d1, ...), got {x.data.shape}")
    return x._floating(who)


def nll_loss(input: Any, target: Any, weight: Any = None, size_average: Optional[bool] = None,
             ignore_index: int = -100, reduce: Optional[bool] = None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood ``-w[y_i] lp[i, y_i]`` of log-probabilities ``lp`` (N, C) (or
    (C,), or (N, C, d1, ...) with labels (N, d1, ...)); labels equal to ``ignore_index`` add
    nothing. ``"mean"`` divides the sum by the sum of the selected weights ``w[y_i]`` (the
    count of non-ignored labels without weights), as torch."""
    reduction = _reduction("nll_loss", size_average, reduce, reduction)
    ignore_index = _index(ignore_index, "nll_loss")
    lp = _class_input(input, "nll_loss")
    z = lp.data
    y = np.asarray(target.data if isinstance(target, Tensor) else target)
    _labels(y, z, ignore_index, "nll_loss")
    w = _class_weight(weight, z.shape[1] if z.ndim > 1 else z.shape[0], "nll_loss", z.dtype)
    return NLL(lp, y, reduction, weight=w, ignore_index=ignore_index)


def _plain_cross_entropy(logits: Tensor, y: np.ndarray, reduction: str) -> Tensor:
    """Integer labels, no class weight, no smoothing, none ignored, (N, C, d...) logits or
    reduction "none" (the fused op serves the rest)."""
    z = logits.data
    if z.ndim > 2:
        if not np.issubdtype(y.dtype, np.integer):
            raise DtypeError(f"cross_entropy: labels must be integer class indices, got dtype {y.dtype}")
        C = z.shape[1]
        if y.shape != z.shape[:1] + z.shape[2:]:
            raise ValueError(f"cross_entropy: labels of shape {y.shape} do not match logits of shape {z.shape} "
                             f"(expected labels of shape {z.shape[:1] + z.shape[2:]})")
        if y.size and (y.min() < 0 or y.max() >= C):
            raise IndexError(f"cross_entropy: label {int(y[(y < 0) | (y >= C)].reshape(-1)[0])} is out of range "
                             f"for {C} classes")
        onehot = (np.arange(C).reshape((1, C) + (1,) * (z.ndim - 2)) == y[:, None]).astype(z.dtype)
        terms = -(logits.log_softmax(1) * onehot).sum(axis=1)
        if reduction == "none":
            return terms
        return terms.mean() if reduction == "mean" else terms.sum()
    ops.XENT.forward(z, y)  # reduction "none": the fused op's argument checks, then the terms
    lp = logits.log_softmax(-1)
    return -(lp[np.arange(z.shape[0]), y] if z.ndim == 2 else lp[int(y)])


def cross_entropy(input: Any = None, target: Any = None, weight: Any = None, size_average: Optional[bool] = None,
                  ignore_index: int = -100, reduce: Optional[bool] = None, reduction: str = "mean",
                  label_smoothing: float = 0.0, *, logits: Any = None, labels: Any = None) -> Tensor:
    """Softmax cross-entropy of logits z: ``nll_loss(log_softmax(z), target)``.

    ``input`` is (N, C) (or (C,) for one sample, or (N, C, d1, ...) with labels (N, d1, ...),
    the mean then running over every position); ``target`` holds integer class indices (int
    Tensor or numpy array), or class probabilities of the input's shape (float). With class
    weights w, ``ignore_index`` and label smoothing eps, position i's term is
    ``-sum_c Q[i, c] log softmax(z_i)[c]`` with ``Q[i] = (1 - eps) w[y_i] onehot(y_i) + eps w / C``
    (0 where y_i is ignored; for probabilities q, ``Q[i] = w ((1 - eps) q_i + eps / C)``). The mean
    divides by the sum of the selected weights ``w[y_i]`` (by the number of positions for
    probabilities). Without weights, smoothing or ignored labels, one fused node:
    dL/dz_b = (softmax(z_b) - onehot(y_b)) / N.

    The contract's spelling ``cross_entropy(logits, labels, reduction)`` works too: ``logits=``
    and ``labels=`` name ``input`` and ``target``, and a string third argument is the reduction.
    """
    if input is None or target is None or logits is not None or labels is not None:
        from ..torchkw import one_of
        input, target = one_of("cross_entropy", input=input, logits=logits), \
            one_of("cross_entropy", target=target, labels=labels)
    if isinstance(weight, str) and reduction == "mean":  # (the contract's positional reduction)
        weight, reduction = None, weight
    if size_average is not None or reduce is not None or reduction != "mean":
        reduction = _reduction("cross_entropy", size_average, reduce, reduction)
    logits = input if type(input) is Tensor else _t(input)
    if logits._data.dtype.kind != "f" and logits._data.ndim:  # integer logits compute in float
        logits = logits._floating("cross_entropy")
    y = np.asarray(target.data if isinstance(target, Tensor) else target)
    z = logits._data
    if weight is None and label_smoothing == 0.0 and y.dtype.kind in "iu" and z.ndim:
        ii = ignore_index if type(ignore_index) is int else _index(ignore_index, "cross_entropy")
        if not 0 <= ii < z.shape[z.ndim > 1]:  # no label can be ignored unless it is out of range
            try:
                if z.ndim <= 2 and reduction != "none":
                    return ops.XENT(logits, y, reduction)
                return _plain_cross_entropy(logits, y, reduction)
            except IndexError:
                if not np.any(y == ii):
                    raise
    if isinstance(label_smoothing, (bool, np.bool_)) or not isinstance(label_smoothing, numbers.Real) or not (
            0.0 <= label_smoothing <= 1.0):
        raise ValueError(f"cross_entropy: label_smoothing must be a number in [0, 1], got {label_smoothing!r}")
    ignore_index = _index(ignore_index, "cross_entropy")
    logits = _class_input(logits, "cross_entropy")
    z = logits.data
    ca = 1 if z.ndim > 1 else 0
    probs = y.dtype.kind == "f" and y.shape == z.shape
    if probs:
        if ignore_index != -100:  # (torch refuses it too: a class probability target ignores no position)
            raise ValueError(f"cross_entropy: ignore_index={ignore_index} is not supported with class probability "
                             "targets (float, the input's shape); it applies to class index targets")
        y = y.astype(z.dtype, copy=False)
    else:
        _labels(y, z, ignore_index, "cross_entropy")
    w = _class_weight(weight, z.shape[ca], "cross_entropy", z.dtype, learned=probs)
    if probs and (isinstance(w, Tensor) or isinstance(target, Tensor) and target.requires_grad):  # (Tensor ops)
        return _soft_cross_entropy(logits, _t(target), w, float(label_smoothing), reduction, ca)
    return NLL(logits.log_softmax(ca), y, reduction, weight=w, ignore_index=ignore_index,
               smoothing=float(label_smoothing), probs=probs)


def _soft_cross_entropy(logits: Tensor, target: Tensor, w: Any, smoothing: float, reduction: str,
                        ca: int) -> Tensor:
    """Cross-entropy against class probabilities that require grad (a learned or distilled
    target), or with a learned class weight ``w``, in Tensor ops so every operand gets its
    gradient: per position
    ``-sum_c w_c q_c log_softmax(z)_c`` with ``q = (1 - s) p + s / C``; "mean" divides the sum
    by the number of positions, as torch does for probability targets."""
    C = logits.shape[ca]
    q = target.astype(logits.dtype) if target.dtype != logits.dtype else target
    if smoothing:
        q = q * (1.0 - smoothing) + smoothing / C
    term = logits.log_softmax(ca) * q
    if w is not None:
        term = term * w.reshape((C,) + (1,) * (logits.ndim - ca - 1))
    per = -term.sum(ca)
    return per if reduction == "none" else per.sum() if reduction == "sum" else per.mean()


# ------------------------------------------------------------------------- modules -----------
class _LossModule(Module):
    """A loss function as a module; ``reduction`` from torch's (size_average, reduce, reduction)."""

    def _reduce(self, size_average: Optional[bool], reduce: Optional[bool], reduction: str) -> None:
        self.reduction = _reduction(type(self).__name__, size_average, reduce, reduction)

    def _weights(self, **arrays: Any) -> None:
        """Keep class / element weights as buffers (saved in ``state_dict``, as torch's)."""
        for name, v in arrays.items():
            if v is not None:
                _const_array(v, type(self).__name__, name, np.float64)  # checked now, not at the first call
            self.register_buffer(name, v)


class _ReducedLoss(_LossModule):
    """A loss module whose only setting is the reduction."""

    def __init__(self, size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                 reduction: str = "mean") -> None:
        self._reduce(size_average, reduce, reduction)


class _WeightedLoss(_LossModule):
    """A loss module with the reduction and a ``weight`` kept as a buffer."""

    def __init__(self, weight: Any = None, size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                 reduction: str = "mean") -> None:
        self._reduce(size_average, reduce, reduction)
        self._weights(weight=weight)


class L1Loss(_ReducedLoss):
    """``F.l1_loss`` as a module."""

    def forward(self, input: Any, target: Any) -> Tensor:
        return l1_loss(input, target, reduction=self.reduction)


class HuberLoss(_LossModule):
    """``F.huber_loss`` as a module."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        self._reduce(None, None, reduction)
        self.delta = _positive(delta, "HuberLoss", "delta", False)

    def forward(self, input: Any, target: Any) -> Tensor:
        return huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class SmoothL1Loss(_LossModule):
    """``F.smooth_l1_loss`` as a module."""

    def __init__(self, size_average: Optional[bool] = None, reduce: Optional[bool] = None, reduction: str = "mean",
                 beta: float = 1.0) -> None:
        self._reduce(size_average, reduce, reduction)
        self.beta = _positive(beta, "SmoothL1Loss", "beta", True)

    def forward(self, input: Any, target: Any) -> Tensor:
        return smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class BCELoss(_WeightedLoss):
    """``F.binary_cross_entropy`` as a module (``weight`` kept as a buffer)."""

    def forward(self, input: Any, target: Any) -> Tensor:
        return binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_LossModule):
    """``F.binary_cross_entropy_with_logits`` as a module (``weight``, ``pos_weight`` buffers)."""

    def __init__(self, weight: Any = None, size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                 reduction: str = "mean", pos_weight: Any = None) -> None:
        self._reduce(size_average, reduce, reduction)
        self._weights(weight=weight, pos_weight=pos_weight)

    def forward(self, input: Any, target: Any) -> Tensor:
        return binary_cross_entropy_with_logits(input, target, self.weight, reduction=self.reduction,
                                                pos_weight=self.pos_weight)


class NLLLoss(_LossModule):
    """``F.nll_loss`` as a module (``weight`` kept as a buffer)."""

    def __init__(self, weight: Any = None, size_average: Optional[bool] = None, ignore_index: int = -100,
                 reduce: Optional[bool] = None, reduction: str = "mean") -> None:
        self._reduce(size_average, reduce, reduction)
        self._weights(weight=weight)
        self.ignore_index = _index(ignore_index, "NLLLoss")

    def forward(self, input: Any, target: Any) -> Tensor:
        return nll_loss(input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction)


class CrossEntropyLoss(_LossModule):
    """``F.cross_entropy`` as a module (``weight`` kept as a buffer)."""

    def __init__(self, weight: Any = None, size_average: Optional[bool] = None, ignore_index: int = -100,
                 reduce: Optional[bool] = None, reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        self._reduce(size_average, reduce, reduction)
        self._weights(weight=weight)
        self.ignore_index = _index(ignore_index, "CrossEntropyLoss")
        if isinstance(label_smoothing, (bool, np.bool_)) or not isinstance(label_smoothing, numbers.Real) or not (
                0.0 <= label_smoothing <= 1.0):
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be a number in [0, 1], got {label_smoothing!r}")
        self.label_smoothing = float(label_smoothing)

    def forward(self, input: Any, target: Any) -> Tensor:
        return cross_entropy(input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction,
                             label_smoothing=self.label_smoothing)
