"""``ctc_loss`` and ``CTCLoss`` with PyTorch's signatures: the connectionist temporal
classification loss, ``-log p(target | input)`` summed over every alignment of the target
(with blanks and repeats) to the input frames.

The forward (alpha) recursion runs over the extended label ``l' = (blank, l1, blank, l2, ...,
blank)`` of length 2S + 1:

    alpha_t(s) = (alpha_{t-1}(s) + alpha_{t-1}(s-1) + [skip] alpha_{t-1}(s-2)) y_t(l'_s)

(the skip allowed when l'_s is not blank and differs from l'_{s-2}), started from the empty
path, and ``p = alpha_{T-1}(2S) + alpha_{T-1}(2S-1)``. Each step is rescaled by its total
``c_t = sum_s alpha_t(s)``, so ``log p = sum_t log c_t + log(rescaled end mass)`` stays finite
(the log-space recursion without its ``log(0)``). Every step is a differentiable Tensor op,
so the gradient is the exact derivative of the loss with respect to ``log_probs``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import factories
from ..conventions import ShapeMismatchError
from ..tensor import Tensor
from .functional import _t
from .losses import _reduction
from .losses_more import _flag
from .module import Module
from .padding import pad

__all__ = ["ctc_loss", "CTCLoss"]


def _lengths(v: Any, N: int, who: str, name: str) -> np.ndarray:
    a = np.asarray(v.data if isinstance(v, Tensor) else v)
    if not np.issubdtype(a.dtype, np.integer) or a.size != N or a.ndim > 1:
        raise ShapeMismatchError(f"{who}: {name} must hold {N} integer(s), one per sample, got shape {a.shape}, "
                                 f"dtype {a.dtype}")
    if np.any(a < 0):
        raise ValueError(f"{who}: {name} must not be negative, got {a.reshape(-1).tolist()}")
    return a.reshape(N).astype(np.int64)


def _labels(targets: Any, lens: np.ndarray, single: bool, who: str) -> list:
    """Each sample's target labels, from padded (N, S) targets or their 1-D concatenation."""
    y = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{who}: targets must hold integer labels, got dtype {y.dtype}")
    if y.ndim == 2 and not single:
        if np.any(lens > y.shape[1]) or y.shape[0] != lens.size:
            raise ShapeMismatchError(f"{who}: padded targets of shape {y.shape} do not hold target_lengths "
                                     f"{lens.tolist()}")
        return [y[n, :k] for n, k in enumerate(lens)]
    if y.ndim != 1 or (single and lens[0] > y.size) or (not single and y.size != lens.sum()):
        raise ShapeMismatchError(f"{who}: targets of shape {y.shape} do not fit target_lengths {lens.tolist()} "
                                 "(give (N, S) padded targets or their concatenation)")
    return np.split(y, np.cumsum(lens)[:-1]) if not single else [y[:lens[0]]]


def _blank(blank: Any, who: str, C: Any = None) -> int:
    if (isinstance(blank, (bool, np.bool_)) or not isinstance(blank, (int, np.integer)) or blank < 0
            or (C is not None and blank >= C)):
        span = "a non-negative int" if C is None else f"a class in 0..{C - 1}"
        raise ValueError(f"{who}: blank must be {span}, got {blank!r}")
    return int(blank)


def ctc_loss(log_probs: Any, targets: Any, input_lengths: Any, target_lengths: Any, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """``-log p(target_n | log_probs[:T_n, n])`` per sample: log_probs (T, N, C) (or (T, C)),
    targets (N, S) padded or concatenated, lengths (N,). ``"mean"`` divides each loss by its
    target length (at least 1), then averages over the batch; ``"sum"``; ``"none"``. A target
    no alignment fits (T_n < S_n + its repeats) has loss inf (0, without gradient, with
    ``zero_infinity``)."""
    who = "ctc_loss"
    red = _reduction(who, None, None, reduction)
    zero_infinity = _flag(zero_infinity, who, "zero_infinity")
    lp = _t(log_probs)._floating(who)
    single = lp.data.ndim == 2
    if single:
        lp = lp.unsqueeze(1)
    if lp.data.ndim != 3:
        raise ShapeMismatchError(f"{who}: log_probs must have shape (T, N, C) or (T, C), got {lp.data.shape}")
    T, N, C = lp.data.shape
    blank = _blank(blank, who, C)
    il, tl = _lengths(input_lengths, N, who, "input_lengths"), _lengths(target_lengths, N, who, "target_lengths")
    if np.any(il > T):
        raise ValueError(f"{who}: input_lengths {il.tolist()} exceed the {T} frames of log_probs {lp.data.shape}")
    labels = _labels(targets, tl, single, who)
    for n, lab in enumerate(labels):
        if np.any((lab < 0) | (lab >= C) | (lab == blank)):
            raise IndexError(f"{who}: target {n} holds labels {lab.tolist()}; each must be a class in 0..{C - 1} "
                             f"other than the blank {blank}")
    L = 2 * int(tl.max(initial=0)) + 1
    ext = np.full((N, L), blank, dtype=np.int64)
    for n, lab in enumerate(labels):
        ext[n, 1:2 * lab.size:2] = lab
    s = np.arange(L)
    valid = s < 2 * tl[:, None] + 1
    prev2 = np.concatenate([np.full((N, 2), blank), ext[:, :-2]], axis=1)[:, :L]  # (N, L) also for L = 1
    skip = ((s >= 2) & (ext != blank) & (ext != prev2)).astype(lp.data.dtype)
    repeats = np.array([int(np.sum(lab[1:] == lab[:-1])) for lab in labels])
    feasible = il >= tl + repeats
    end = ((s == 2 * tl[:, None]) | (s == 2 * tl[:, None] - 1)).astype(lp.data.dtype)
    y = lp.gather(2, np.broadcast_to(ext, (T, N, L))).exp()
    alpha: Any = (s == 0) * np.ones((N, 1), lp.data.dtype)  # the empty path, before the first frame
    log_c: Any = np.zeros(N, lp.data.dtype)
    for t in range(T):
        ok = feasible & (t < il)
        if not ok.any():
            break
        trans = alpha + pad(alpha, (1, 0))[:, :L] + pad(alpha, (2, 0))[:, :L] * skip
        a = trans * factories.where(ok[:, None] & valid, y[t], valid.astype(lp.data.dtype))
        c = a.sum(1)
        alpha = factories.where(ok[:, None], a / c.unsqueeze(1), alpha)
        log_c = log_c + factories.where(ok, c.log(), 0.0)
    if not isinstance(log_c, Tensor):  # no frame to run (no target fits): still a loss of log_probs, as torch
        log_c = y.sum((0, 2)) * 0.0
    # (an infeasible sample's end mass is taken as 1: a finite stand-in, replaced below)
    loss = -(log_c + (_t(alpha * end).sum(1) + (~feasible).astype(lp.data.dtype)).log())
    loss = factories.where(feasible, loss, 0.0 if zero_infinity else np.inf)
    if red == "mean":
        return (loss / np.maximum(tl, 1).astype(lp.data.dtype)).mean()
    if red == "sum":
        return loss.sum()
    return loss.reshape(()) if single else loss


class CTCLoss(Module):
    """``F.ctc_loss`` as a module: ``forward(log_probs, targets, input_lengths, target_lengths)``."""

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> None:
        self.blank, self.reduction = _blank(blank, "CTCLoss"), _reduction("CTCLoss", None, None, reduction)
        self.zero_infinity = _flag(zero_infinity, "CTCLoss", "zero_infinity")

    def forward(self, log_probs: Any, targets: Any, input_lengths: Any, target_lengths: Any) -> Tensor:
        return ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank, self.reduction,
                        self.zero_infinity)
