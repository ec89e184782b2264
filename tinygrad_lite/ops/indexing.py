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
from .base import Op, lead
from .layout import GETITEM, _separated, normalise_index


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
        if src._rg:
            gs = g[_along(axis, index, k)]
            gs = gs * alpha if alpha != 1 else gs
        return self.x_cotangent(g, k, axis, index) if x._rg else None, gs

    def tvjp(self, node: Any, g: Any) -> tuple:
        """The same maps on Tensors: x's cotangent is ``g`` times a constant mask."""
        x, src = node._parents
        axis, index, alpha = node._ctx
        gs = None
        if src._rg:
            gs = GETITEM(g, _along(axis, index))
            gs = gs * alpha if alpha != 1 else gs
        gx = None
        if x._rg:
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


_PLAIN = frozenset((int, slice, type(None), type(Ellipsis)))


def torch_order(idx: Any, shape: tuple) -> Any:
    """``(first, rest)`` with ``x[idx]`` (torch's) equal to ``x[first][rest]`` (numpy's) for a
    tensor of ``shape``, when ``idx`` holds an integer and an index array that numpy does not
    see as adjacent (``_separated``: it then moves the arrays' axes to the front, torch applies
    the integers first and keeps the arrays' axes in place unless the arrays themselves are
    apart); else None (numpy's order is torch's, or the index is wrong and the op says so).
    ``first`` holds the integers, slices, None and ``...`` (a view), ``rest`` the arrays."""
    if type(idx) is not tuple:
        return None
    for i in idx:
        if type(i) not in _PLAIN:
            break
    else:
        return None  # (ints, slices, None and ... only: the usual index, decided at once)
    if any(isinstance(i, (bool, np.bool_)) for i in idx):
        return None  # (a 0-d mask, a new axis: left to numpy)
    try:
        norm, advanced = normalise_index(idx, shape)
    except Exception:
        return None
    if not advanced or not _separated(norm):
        return None
    first: list = []
    rest: list = []
    for i in norm:
        if isinstance(i, np.ndarray) and i.ndim == 0:
            if i.dtype == bool:
                return None
            i = int(i)  # (a 0-d integer array or Tensor is an integer to torch)
        if isinstance(i, np.ndarray):  # (an index array, or one axis of a boolean mask)
            first.append(slice(None))
            rest.append(i)
        elif isinstance(i, (int, np.integer)):
            first.append(int(i))
        else:
            first.append(i)
            rest.append(i if i is Ellipsis else slice(None))
    arrays = any(isinstance(i, np.ndarray) for i in rest)
    return (tuple(first), tuple(rest)) if arrays and any(type(i) is int for i in first) else None


def getitem(x: Any, idx: Any) -> Any:
    """``x[idx]`` with torch's order of axes (``torch_order``): one ``getitem`` node, or two."""
    parts = torch_order(idx, x._data.shape)
    return GETITEM(x, idx) if parts is None else GETITEM(GETITEM(x, parts[0]), parts[1])
