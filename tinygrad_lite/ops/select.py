"""Ops that select values: ``where`` (elementwise, by a boolean condition), ``gather``
(along an axis, by an index tensor), ``sort`` and ``topk`` (values taken along an axis in
order; the cotangent goes back to where each value came from), and the piecewise-constant functions floor, ceil,
round and sign (each value snapped to a step: derivative 0 wherever it exists, taken as 0
at the jumps too, as torch does).

Each class holds its forward, vjp, batch rule and derivative text, like its siblings.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .. import batchstate
from ..batchstate import BATCHED, MIXED, STAT
from ..persample import Rows
from . import base
from .base import Op, axis_of, failed, lead, make
from .elementwise import _Unary, promoted


class Where(Op):
    name = "where"
    rule = "d where(c, a, b)/da = 1 where c, else 0; d/db = 0 where c, else 1"

    def __call__(self, cond: Any, a: Any, b: Any) -> Any:
        """``cond``, ``a``, ``b``: Tensors (``cond`` of dtype bool), broadcast together."""
        try:
            cd, ad, bd = cond._data, a._data, b._data
            if cd.dtype != np.bool_:
                raise base.DtypeError(f"where: the condition must be a bool tensor, got dtype {cd.dtype}")
            if ad.dtype != bd.dtype:
                ad, bd = promoted(ad, bd)
            try:
                data = np.where(cd, ad, bd)
            except ValueError:
                raise base.ShapeMismatchError(f"where: shapes {cd.shape} (condition), {ad.shape} and {bd.shape} are "
                                              "not compatible") from None
        except Exception as e:
            failed(self, e, (cond, a, b))
            raise
        inputs = (cond, a, b)
        bs, mix = self.batch(inputs, data, None) if cond._bs | a._bs | b._bs else (0, None)
        return make(data, self, inputs, None, a._rg or b._rg, bs, mix)

    def batch(self, inputs: tuple, out: np.ndarray, ctx: Any) -> tuple:
        """Like ``a + b`` for the two branches (linear in each); a batched condition makes
        the result batched, provided it keeps the sample axis in front."""
        cond, a, b = inputs
        if cond._bs & (MIXED | STAT):  # a selection that depends on the other samples
            return batchstate.mixed("op 'where' selects by a condition computed from a batch statistic", cond, a, b)
        state, mix = batchstate.elementwise(self.name, out.shape, a, b, "ab") if a._bs | b._bs else (0, None)
        if not cond._bs & BATCHED or state & MIXED:
            return state, mix
        if state & STAT:
            return batchstate.mixed("op 'where' picks between a batch statistic and other values by a per-sample "
                                    "condition", a, b)
        cd = cond._data
        if cd.ndim != out.ndim or cd.shape[0] != out.shape[0]:
            return batchstate.mixed(f"op 'where' broadcasts a batched condition of shape {cd.shape} to {out.shape}, "
                                    "moving or repeating the sample axis", cond)
        return BATCHED, None

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        cond, a, b = node._parents
        c = cond._data
        zero = np.zeros((), node._data.dtype)
        return (None, np.where(c, g, zero) if a._rg else None,
                np.where(c, zero, g) if b._rg else None)

    def tvjp(self, node: Any, g: Any) -> tuple:
        cond, a, b = node._parents
        zero = base.const(np.zeros((), node._data.dtype))
        return (None, self(cond, g, zero) if a._rg else None,
                self(cond, zero, g) if b._rg else None)


class PickedRows(Rows):
    """Per-sample gradients of an unbatched tensor read at per-sample positions
    (``table[idx]`` or ``gather`` with a batched index): ``S[b]`` is sample b's cotangent
    ``g[b]`` added back at the positions ``pos`` of row b (repeated positions add), times
    ``scale``. ``pos``: an index tuple into the tensor whose arrays lead with the sample axis."""

    __slots__ = ("pos", "g")

    def __init__(self, pos: tuple, g: np.ndarray, shape: tuple, dtype: Any, scale: float) -> None:
        self.pos, self.g, self.shape, self.dtype, self.scale, self.B = pos, g, tuple(shape), dtype, scale, g.shape[0]

    def dense(self, out: Optional[np.ndarray] = None) -> np.ndarray:
        S = np.zeros((self.B,) + self.shape, self.dtype)
        first = next(a for a in self.pos if isinstance(a, np.ndarray))
        b = np.arange(self.B).reshape((self.B,) + (1,) * (first.ndim - 1))
        np.add.at(S, (b,) + self.pos, self.g * self.scale if self.scale != 1.0 else self.g)
        return S


def picked_rows(node: Any, g: np.ndarray, pos: tuple, scale: float) -> Any:
    """``PickedRows`` for ``node``'s unbatched input read at the per-sample positions ``pos``
    (None when the input is batched itself or ``g`` is a stack of per-sample cotangents)."""
    x = node._parents[0]
    if x._bs & BATCHED or lead(node, g):
        return None
    return PickedRows(pos, g, x._data.shape, x._data.dtype, scale)


def picked_state(op: str, x: Any, index: Any, leads: bool) -> tuple:
    """The batch state of an unbatched ``x`` read at a batched ``index``: BATCHED when the
    result's axis 0 is the index's sample axis (``leads``), else mixed (samples land on
    other axes, which per-sample gradients cannot follow)."""
    if leads:
        return BATCHED, None
    return batchstate.mixed(f"op '{op}' reads an unbatched tensor at a per-sample index whose sample axis is not "
                            "the result's first axis", index, x)


class Gather(Op):
    name, rule = "gather", "d gather(a)/da: the cotangent added back at the gathered positions"

    def __call__(self, x: Any, axis: int, index: Any) -> Any:
        """``out[..., i, ...] = x[..., index[..., i, ...], ...]`` along ``axis`` (torch's
        ``gather``): ``index`` has x's number of axes and is no larger than x off ``axis``."""
        xd = x._data
        try:
            idx = np.asarray(index._data if isinstance(index, base.Tensor) else index)
            if idx.dtype.kind not in "iu":
                raise base.DtypeError(f"gather: index must be an integer tensor, got dtype {idx.dtype}")
            if xd.ndim == 0 or idx.ndim != xd.ndim:
                raise base.ShapeMismatchError(f"gather: index of shape {idx.shape} must have as many axes as the "
                                              f"tensor of shape {xd.shape} (at least one)")
            a = axis_of(xd.ndim, axis, "gather")
            if any(i != a and m > n for i, (m, n) in enumerate(zip(idx.shape, xd.shape))):
                raise base.ShapeMismatchError(f"gather: index of shape {idx.shape} is larger than the tensor of "
                                              f"shape {xd.shape} off axis {a}")
            if idx.size and (idx.min() < 0 or idx.max() >= xd.shape[a]):
                raise base.IndexRangeError(f"gather: index values must lie in [0, {xd.shape[a]}) for axis {a} of a "
                                           f"tensor of shape {xd.shape}, got values from {idx.min()} to {idx.max()}")
        except Exception as e:
            failed(self, e, (x,))
            raise
        full = tuple(idx if i == a else np.arange(m).reshape((-1,) + (1,) * (idx.ndim - i - 1))
                     for i, m in enumerate(idx.shape))
        data = xd[full]
        if isinstance(index, base.Tensor) and index._bs & (MIXED | STAT):  # selects by the other samples
            bs, mix = batchstate.mixed("op 'gather' selects by an index computed from a batch statistic", index, x)
        elif not x._bs & BATCHED and isinstance(index, base.Tensor) and index._bs & BATCHED:
            bs, mix = picked_state("gather", x, index, True)  # (out row b = x read at index row b)
        elif x._bs:
            bs, mix = batchstate.same_rows("gather", x, data, a != 0 and idx.shape[0] == xd.shape[0])
        else:
            bs, mix = 0, None
        return make(data, self, (x,), (xd.shape, full), x._rg, bs, mix)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        in_shape, full = node._ctx
        k = lead(node, g)
        z = np.zeros(g.shape[:k] + in_shape, node._data.dtype)
        np.add.at(z, (slice(None),) * k + full, g)
        return (z,)

    def tvjp(self, node: Any, g: Any) -> tuple:
        from .layout import SCATTERBACK
        return (SCATTERBACK(g, (node._ctx[0], node._ctx[1], True)),)

    @staticmethod
    def sample_rows(node: Any, g: np.ndarray, i: int, scale: float) -> Any:
        return picked_rows(node, g, node._ctx[1], scale)


class _Step(_Unary):
    """A piecewise-constant function of one input: the cotangent it sends back is 0. On
    an integer tensor floor, ceil and round return the values unchanged, as torch."""

    rule = "d f(a)/da = 0 (f is constant between its jumps)"
    fn: Any = None

    def forward(self, a: np.ndarray, *args: Any) -> tuple:
        if a.dtype.kind != "f" and self.name != "sign":
            return a.copy(), None
        return type(self).fn(a, *args), (args[0] if args else None)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        return (np.zeros(g.shape, node._data.dtype),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        return (base.const(np.zeros(g.shape, node._data.dtype)),)


class Floor(_Step):
    name, fn = "floor", np.floor


class Ceil(_Step):
    name, fn = "ceil", np.ceil


class Round(_Step):
    """To the nearest value with ``decimals`` digits, halves to even (numpy's and torch's rule)."""

    name, fn = "round", np.round


def _sign(a: np.ndarray) -> np.ndarray:
    """-1, 0 or 1; on floats nan and -0.0 give 0.0, as torch."""
    if a.dtype.kind != "f":
        return np.sign(a)
    return (a > 0).astype(a.dtype) - (a < 0).astype(a.dtype)


class Sign(_Step):
    name, fn = "sign", _sign


def order(a: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """Positions that sort ``a`` along ``axis`` (int64): a stable sort, so equal values keep
    their order in both directions, and nan counts as the largest value (torch's rule)."""
    if not descending:
        return np.argsort(a, axis=axis, kind="stable").astype(np.int64, copy=False)
    n = a.shape[axis]
    rev = np.flip(np.argsort(np.flip(a, axis), axis=axis, kind="stable"), axis)  # ties: first one first
    return (n - 1 - rev).astype(np.int64, copy=False)


class _Along(Op):
    """Values taken along one axis at positions ``idx`` (an int array of the input's rank,
    each position at most once along the axis): ``out = take_along_axis(x, idx, axis)``."""

    def __call__(self, x: Any, axis: int, idx: np.ndarray) -> Any:
        xd = x._data
        data = np.take_along_axis(xd, idx, axis)
        bs, mix = batchstate.along_axis(self.name, x, axis) if x._bs else (0, None)
        return make(data, self, (x,), (xd.shape, axis, idx), x._rg, bs, mix)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        shape, axis, idx = node._ctx
        k = lead(node, g)
        z = np.zeros(g.shape[:k] + shape, node._data.dtype)
        np.put_along_axis(z, idx.reshape((1,) * k + idx.shape), g, axis + k)  # distinct positions: no sums
        return (z,)

    def tvjp(self, node: Any, g: Any) -> tuple:
        """The cotangent put back at the taken positions by the getitem-backward op."""
        from .layout import SCATTERBACK
        shape, axis, idx = node._ctx
        full = tuple(idx if d == axis else np.arange(n).reshape((-1,) + (1,) * (idx.ndim - d - 1))
                     for d, n in enumerate(idx.shape))
        return (SCATTERBACK(g, (shape, full, True)),)


class Sort(_Along):
    name, rule = "sort", "d sort(a)/da: the cotangent of each value goes back to the position it came from"


class TopK(_Along):
    name, rule = "topk", "d topk(a)/da: the cotangent of each kept value goes back to its position, 0 elsewhere"


WHERE, GATHER, FLOOR, CEIL, ROUND, SIGN = Where(), Gather(), Floor(), Ceil(), Round(), Sign()
SORT, TOPK = Sort(), TopK()
