"""Ops that write slices of a source into a copy of a tensor along one axis (torch's
``index_add`` and ``index_copy``). With ``index`` a vector of k positions along axis ``d``
and ``src`` of the tensor's shape but k along ``d``:

* ``index_add``:  ``out = x``, then ``out[.., index[i], ..] += alpha * src[.., i, ..]``
  (repeated positions add); d/dx = 1, d/dsrc[.., i, ..] = alpha * g[.., index[i], ..];
* ``index_copy``: ``out = x``, then ``out[.., index[i], ..] = src[.., i, ..]`` (of repeated
  positions the last one stays, as torch on the CPU); d/dx = g where nothing was written,
  else 0; d/dsrc[.., i, ..] = g[.., index[i], ..] (every copy, as torch).

Samples stay apart as long as the axis is not the sample axis: the op is linear in each of
``x`` and ``src`` (the batch rule of ``x + y``); along the sample axis it mixes them.

Also torch's order of axes for ``x[index]`` and ``x[index] = v`` (``torch_order``, ``getitem``):
torch applies an index's integers first, numpy counts them among the index arrays, so the two
place the arrays' axes differently when an integer and an array are apart (``x[0, :, [1, 2]]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import batchstate
from . import base
from .base import Op, lead
from .layout import GETITEM


def _along(axis: int, key: Any, k: int = 0) -> tuple:
    """An index applying ``key`` to ``axis`` (after ``k`` extra leading axes)."""
    return (slice(None),) * (k + axis) + (key,)


class _IndexPut(Op):
    """The shared checks, batch rule and source cotangent of ``index_add`` / ``index_copy``."""

    def forward(self, x: np.ndarray, src: np.ndarray, axis: int = 0, index: Any = None, alpha: Any = 1) -> tuple:
        out = x.copy()
        self.write(out, _along(axis, index), src if alpha == 1 else src * alpha)
        return out, (axis, index, alpha)

    def write(self, out: np.ndarray, key: tuple, src: np.ndarray) -> None:
        raise NotImplementedError

    def batch(self, inputs: tuple, out: np.ndarray, ctx: Any) -> tuple:
        x, src = inputs
        if ctx[0] == 0 and (x._bs | src._bs) & batchstate.BATCHED:
            return batchstate.mixed(f"op '{self.name}' writes along the sample axis (axis 0)", x, src)
        return batchstate.elementwise(self.name, out.shape, x, src, "ab")

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        x, src = node._parents
        axis, index, alpha = node._ctx
        k = lead(node, g)
        gs = None
        if src.requires_grad:
            gs = g[_along(axis, index, k)]
            gs = gs * alpha if alpha != 1 else gs
        return self.x_cotangent(g, k, axis, index) if x.requires_grad else None, gs

    def tvjp(self, node: Any, g: Any) -> tuple:
        """The same maps on Tensors: x's cotangent is ``g`` times a constant mask."""
        x, src = node._parents
        axis, index, alpha = node._ctx
        gs = None
        if src.requires_grad:
            gs = GETITEM(g, _along(axis, index))
            gs = gs * alpha if alpha != 1 else gs
        gx = None
        if x.requires_grad:
            w = self.x_cotangent(np.ones(g.shape, node._data.dtype), 0, axis, index)
            gx = g * w
        return gx, gs


class IndexAdd(_IndexPut):
    name, rule = "index_add", "d/dx = 1; d/dsrc = alpha * the cotangent read at the indexed positions"

    def write(self, out: np.ndarray, key: tuple, src: np.ndarray) -> None:
        np.add.at(out, key, src)

    @staticmethod
    def x_cotangent(g: np.ndarray, k: int, axis: int, index: np.ndarray) -> np.ndarray:
        return g


class IndexCopy(_IndexPut):
    name, rule = "index_copy", "d/dx = 1 where nothing was copied, else 0; d/dsrc = the cotangent at the positions"

    def write(self, out: np.ndarray, key: tuple, src: np.ndarray) -> None:
        out[key] = src

    @staticmethod
    def x_cotangent(g: np.ndarray, k: int, axis: int, index: np.ndarray) -> np.ndarray:
        gx = g.copy()
        gx[_along(axis, index, k)] = 0
        return gx


INDEXADD, INDEXCOPY = IndexAdd(), IndexCopy()


def _kind(i: Any) -> tuple:
    """(kind, axes used) of one index entry: "int" (also a 0-d integer array or Tensor), "array"
    (an integer or boolean array, Tensor or list), "basic" (slice, None, ...), or "other"."""
    if isinstance(i, (bool, np.bool_)):
        return "other", 0  # (a 0-d mask: a new axis; left to numpy)
    if isinstance(i, (int, np.integer)):
        return "int", 1
    a = i._data if isinstance(i, base.Tensor) else i
    if isinstance(a, list):
        try:
            a = np.asarray(a)
        except (TypeError, ValueError):
            return "other", 0
    if isinstance(a, np.ndarray):
        if a.dtype == bool:
            return ("array", a.ndim) if a.ndim else ("other", 0)
        if np.issubdtype(a.dtype, np.integer):
            return ("array", 1) if a.ndim else ("int", 1)
        return "other", 0
    return ("basic", 1) if i is None or i is Ellipsis or isinstance(i, slice) else ("other", 0)


_PLAIN = frozenset((int, slice, type(None), type(Ellipsis)))


def torch_order(idx: Any) -> Any:
    """``(first, rest)`` with ``x[idx]`` (torch's) equal to ``x[first][rest]`` (numpy's), when
    ``idx`` holds an integer and an index array that numpy would not see as adjacent (it then
    moves the arrays' axes to the front, torch applies the integers first and keeps the arrays'
    axes in place unless the arrays themselves are apart); else None (numpy's order is torch's).
    ``first`` holds the integers, slices, None and ``...`` (a view), ``rest`` the arrays."""
    if type(idx) is not tuple:
        return None
    for i in idx:
        if type(i) not in _PLAIN:
            break
    else:
        return None  # (ints, slices, None and ... only: the usual index, decided at once)
    kinds = [_kind(i) for i in idx]
    names = [k for k, _ in kinds]
    if "other" in names or "int" not in names or "array" not in names:
        return None
    adv = [k for k, name in enumerate(names) if name != "basic"]
    if adv[-1] - adv[0] == len(adv) - 1:
        return None  # the integers and arrays are adjacent: numpy keeps them where torch does
    first: list = []
    rest: list = []
    for i, (name, used) in zip(idx, kinds):
        if name == "int":
            first.append(int(i._data) if isinstance(i, base.Tensor) else int(i))
        elif name == "array":
            first += [slice(None)] * used
            rest.append(i)
        else:
            first.append(i)
            rest.append(i if i is Ellipsis else slice(None))
    return tuple(first), tuple(rest)


def getitem(x: Any, idx: Any) -> Any:
    """``x[idx]`` with torch's order of axes (``torch_order``): one ``getitem`` node, or two."""
    parts = torch_order(idx)
    return GETITEM(x, idx) if parts is None else GETITEM(GETITEM(x, parts[0]), parts[1])
