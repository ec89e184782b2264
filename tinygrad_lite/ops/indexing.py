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
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import batchstate
from .base import Op, lead


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
        from .layout import GETITEM
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
