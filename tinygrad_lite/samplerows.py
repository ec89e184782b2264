"""What one parameter's per-sample gradient through one edge is made of (``Rows``), and how
it is built on read: densely (``dense``), as squared norms (``sq_norms``), as a weighted sum
over the samples (``weighted_sum``, DP-SGD's clipped sum) and as elementwise second moments
(``sq_sum``). The kinds and where the backward keeps them are described in ``persample``,
which collects them per parameter and batch; ops build them in their ``sample_rows`` rules.

Touches nothing outside the objects themselves (``PushedRows`` re-runs an op's vjp on the
inputs ``keptinputs`` kept for it).
"""

from __future__ import annotations

import copy
import math
from typing import Any, Optional

import numpy as np

from .batchstate import unbroadcast_keep0
from .keptinputs import keep, pushed_vjp

__all__ = ["Rows", "DenseRows", "OuterRows", "ShareRows", "PushedRows", "dense_sum", "sq_norms", "push", "widened"]


class Rows:
    """Sample b's gradient ``S[b]`` of one parameter through one edge, times ``scale``.
    Subclasses keep what S is made of; the defaults here build it densely."""

    __slots__ = ("scale", "shape", "dtype", "B")

    def dense(self, out: Optional[np.ndarray] = None) -> np.ndarray:
        raise NotImplementedError

    def sq_norms(self) -> np.ndarray:
        """``|S[b]|^2`` for each b, shape (B,)."""
        S = self.dense().reshape(self.B, math.prod(self.shape))
        return np.einsum("bk,bk->b", S, S)

    def weighted_sum(self, w: np.ndarray) -> np.ndarray:
        """``sum_b w_b S[b]`` (DP-SGD's clipped sum with ``w_b`` the clip factors)."""
        return np.tensordot(w.astype(self.dtype, copy=False), self.dense(), axes=(0, 0))

    def sq_sum(self) -> np.ndarray:
        """``sum_b S[b]**2`` elementwise (the second moment behind the gradient variance)."""
        S = self.dense()
        return np.einsum("b...,b...->...", S, S)


class DenseRows(Rows):
    """``S = unbroadcast_keep0(g) * scale``: g is the op's full-shape cotangent for the
    parameter, its axis 0 the samples."""

    __slots__ = ("g",)

    def __init__(self, g: np.ndarray, shape: tuple, dtype: Any, scale: float) -> None:
        self.g, self.shape, self.dtype, self.scale, self.B = g, tuple(shape), dtype, scale, g.shape[0]

    def dense(self, out: Optional[np.ndarray] = None) -> np.ndarray:
        S = self.g
        if S.shape[1:] != self.shape:
            S = unbroadcast_keep0(S, self.shape)
        S = S * self.scale if self.scale != 1.0 else np.array(S)
        return S.astype(self.dtype, copy=False)


class OuterRows(Rows):
    """``S[b] = scale * sum_t outer(L[b, t], R[b, t])``, reshaped to the parameter's shape.
    ``L``: (B, T, m), ``R``: (B, T, n); T = 1 for one row per sample (a Linear layer)."""

    __slots__ = ("L", "R")

    def __init__(self, L: np.ndarray, R: np.ndarray, shape: tuple, dtype: Any, scale: float) -> None:
        self.L, self.R, self.shape, self.dtype, self.scale, self.B = L, R, tuple(shape), dtype, scale, L.shape[0]

    def dense(self, out: Optional[np.ndarray] = None) -> np.ndarray:
        L, R = self.L, self.R
        B, T, m = L.shape
        n = R.shape[2]
        dt = np.result_type(L, R)
        if out is None or out.dtype != dt or out.size != B * m * n:
            out = np.empty((B, m, n), dt)
        out3 = out.reshape(B, m, n)
        if T == 1:
            Ls = L[:, 0] * self.scale if self.scale != 1.0 else L[:, 0]
            np.einsum("bm,bn->bmn", Ls, R[:, 0], out=out3)
        else:
            np.matmul(np.swapaxes(L, 1, 2), R, out=out3)
            if self.scale != 1.0:
                out3 *= self.scale
        return out3.reshape((B,) + self.shape).astype(self.dtype, copy=False)

    def sq_norms(self) -> np.ndarray:
        L, R = self.L, self.R
        B, T, m = L.shape
        n = R.shape[2]
        s2 = self.scale * self.scale
        if T == 1:
            return (np.einsum("bm,bm->b", L[:, 0], L[:, 0]) * np.einsum("bn,bn->b", R[:, 0], R[:, 0])) * s2
        if T * T * (m + n) < T * m * n:  # Gram form: no (B, m, n) array
            GL = L @ np.swapaxes(L, 1, 2)
            GR = R @ np.swapaxes(R, 1, 2)
            return np.einsum("bts,bts->b", GL, GR) * s2
        return Rows.sq_norms(self)

    def weighted_sum(self, w: np.ndarray) -> np.ndarray:
        L, R = self.L, self.R
        B, T, m = L.shape
        wl = L * (w * self.scale).astype(L.dtype, copy=False)[:, None, None]
        out = wl.reshape(B * T, m).T @ R.reshape(B * T, R.shape[2])
        return out.reshape(self.shape).astype(self.dtype, copy=False)

    def sq_sum(self) -> np.ndarray:
        L, R = self.L, self.R
        if L.shape[1] == 1:
            s2 = self.scale * self.scale
            out = (L[:, 0] * L[:, 0]).T @ (R[:, 0] * R[:, 0]) * s2
            return out.reshape(self.shape).astype(self.dtype, copy=False)
        return Rows.sq_sum(self)


class ShareRows(Rows):
    """Every sample's share of a cotangent ``d`` that reached the parameter outside the
    per-sample terms: ``S[b] = d * scale`` with ``scale = 1 / (B c)``."""

    __slots__ = ("d",)

    def __init__(self, d: np.ndarray, B: int, dtype: Any, scale: float) -> None:
        self.d, self.shape, self.dtype, self.scale, self.B = d, np.shape(d), dtype, scale, B

    def dense(self, out: Optional[np.ndarray] = None) -> np.ndarray:
        one = np.asarray(self.d * self.scale, dtype=self.dtype)
        return np.broadcast_to(one, (self.B,) + self.shape).copy()

    def weighted_sum(self, w: np.ndarray) -> np.ndarray:
        return np.asarray(self.d * (self.scale * float(np.sum(w))), dtype=self.dtype)


class PushedRows(Rows):
    """Rows of a parameter-side non-leaf ``node`` (e.g. ``W.T``) pushed to its parent ``i``
    through the op's vjp, which accepts a leading stack axis (on the inputs of the backward)."""

    __slots__ = ("node", "i", "parts", "kept")

    def __init__(self, node: Any, i: int, parts: list, shape: tuple, dtype: Any) -> None:
        self.node, self.i, self.parts, self.kept = node, i, parts, keep(node)
        self.shape, self.dtype, self.scale, self.B = tuple(shape), dtype, 1.0, parts[0].B

    def dense(self, out: Optional[np.ndarray] = None) -> np.ndarray:
        stack = dense_sum(self.parts)
        g = pushed_vjp(self.node, stack, self.i, self.kept)
        if g.shape[1:] != self.shape:
            g = unbroadcast_keep0(g, self.shape)
        return g.astype(self.dtype, copy=False)


def dense_sum(parts: list, out: Optional[np.ndarray] = None) -> np.ndarray:
    """``sum`` of the parts' dense per-sample arrays."""
    S = parts[0].dense(out)
    for r in parts[1:]:
        S = S + r.dense()
    return S


def sq_norms(parts: list) -> np.ndarray:
    """``|sum_parts S[b]|^2``: outer factors of one shape side by side (their Gram form
    covers the cross terms); otherwise densely. A row whose result is not finite is computed
    again from its dense gradient, squared in float64 (``_again``)."""
    with np.errstate(over="ignore", invalid="ignore"):  # (such rows are computed again)
        n = _sq_norms(parts)
    return n if np.isfinite(n).all() else _again(parts, n)


def _sq_norms(parts: list) -> np.ndarray:
    if len(parts) == 1:
        return parts[0].sq_norms()
    if all(type(r) is OuterRows and r.shape == parts[0].shape and r.L.shape[2] == parts[0].L.shape[2]
           and r.R.shape[2] == parts[0].R.shape[2] for r in parts):
        L = np.concatenate([r.L * r.scale for r in parts], axis=1)
        R = np.concatenate([r.R for r in parts], axis=1)
        return OuterRows(L, R, parts[0].shape, parts[0].dtype, 1.0).sq_norms()
    S = dense_sum(parts).reshape(parts[0].B, math.prod(parts[0].shape))
    return np.einsum("bk,bk->b", S, S)


def _again(parts: list, n: np.ndarray) -> np.ndarray:
    """The rows of ``n`` that came out inf or nan, from the dense gradient in float64. A factored
    norm squares its factors (``|dy_b|^2 |x_b|^2``), which overflows where the gradient itself
    is finite: 0 * inf = nan for a zero cotangent and an input above 1.8e19 in float32. Rows
    whose gradient is itself not finite stay so."""
    bad = ~np.isfinite(n)
    S = dense_sum(parts)[bad]
    S = S.reshape(S.shape[0], math.prod(S.shape[1:])).astype(np.float64)
    out = n.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        out[bad] = np.einsum("bk,bk->b", S, S)
    return out


def widened(r: Rows) -> Rows:
    """``r`` with its floating arrays (and its dtype) in float64: the same rows, whose sums
    (``sq_sum``, ``weighted_sum``, ``sq_norms``) then round as float64 does (the gradient
    variance of float32 parameters: its ``E[S^2] - m^2`` cancels what float32 sums keep)."""
    def wide(v: Any) -> Any:
        if isinstance(v, np.ndarray) and v.dtype.kind == "f" and v.dtype.itemsize < 8:
            return v.astype(np.float64)
        if isinstance(v, Rows):
            return widened(v)
        if isinstance(v, (list, tuple)):
            return type(v)(wide(q) for q in v)
        return v
    out = copy.copy(r)
    for cls in type(r).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if name not in ("node", "kept", "op") and hasattr(r, name):  # (the graph's own values stay)
                setattr(out, name, wide(getattr(r, name)))
    if np.dtype(r.dtype).kind == "f":
        out.dtype = np.dtype(np.float64)
    return out


def push(node: Any, i: int, parts: list, shape: tuple, dtype: Any) -> list:
    """Rows of ``node`` carried to its parent ``i``: the op's ``push_rows`` keeps factors
    where it can (a transpose swaps L and R), otherwise ``PushedRows``."""
    rule = getattr(node._op, "push_rows", None)
    if rule is not None:
        out = [rule(node, i, r) for r in parts]
        if all(r is not None for r in out):
            return out
    return [PushedRows(node, i, parts, shape, dtype)]


class _Summed(Rows):
    __slots__ = ("parts",)

    def __init__(self, parts: list) -> None:
        self.parts, self.B, self.dtype, self.shape, self.scale = parts, parts[0].B, parts[0].dtype, parts[0].shape, 1.0

    def dense(self, out: Optional[np.ndarray] = None) -> np.ndarray:
        return dense_sum(self.parts, out)
