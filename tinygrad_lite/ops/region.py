"""Writing through a view inside a graph: the two ops that record it.

A view ``v`` of a tensor ``y`` (a slice, transpose, reshape or diagonal sharing ``y``'s
memory) is a strided region of ``y``'s array: ``layout`` = (offset in elements, shape,
strides in bytes, the strides of ``y``'s array). An in-place change of ``v`` inside a graph
(``torchwrite``) makes ``y`` the node ``region_write(y as it was, new values of v)`` and ``v``
(with every view between them) the node ``region(y)``, as torch's view replay does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import batchstate
from ..batchstate import BATCHED, MIXED, STAT
from .base import Op, const, lead, make, no_values


def layout_of(view: np.ndarray, root: np.ndarray) -> tuple:
    """The layout of ``view`` (an array whose memory lies in ``root``'s) relative to ``root``."""
    off = view.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    return off // root.itemsize, view.shape, view.strides, root.strides


def region(arr: np.ndarray, layout: tuple) -> np.ndarray:
    """The region ``layout`` of ``arr``: a writable view when ``arr`` is laid out as the root,
    else a view of a copy that is."""
    off, shape, strides, root_strides = layout
    if not _same_layout(arr.strides, root_strides, arr.shape):
        arr = laid_out(layout, arr.shape, arr.dtype, arr)
    flat = np.ravel(arr, order="K")  # (a view: arr is dense in its own memory order)
    return np.lib.stride_tricks.as_strided(flat[off:], shape, strides)


def _overlaps(shape: tuple, strides: tuple, itemsize: int) -> bool:
    """Whether a region may map two of its elements to one memory place (a stride 0, as an
    expanded view's): False when each stride, smallest first, clears the span of the smaller ones."""
    span = itemsize
    for s, n in sorted((abs(s), n) for s, n in zip(strides, shape) if n > 1):
        if s < span:
            return True
        span += s * (n - 1)
    return False


def dense_order(root: np.ndarray) -> Any:
    """The axes of ``root`` from the slowest to the fastest in memory when its elements fill
    its memory without gaps at positive strides (C, Fortran or any permuted order), else None."""
    order = sorted(range(root.ndim), key=lambda i: -root.strides[i])
    step = root.itemsize
    for i in reversed(order):
        if root.shape[i] != 1 and root.strides[i] != step:
            return None
        step *= root.shape[i]
    return order


def laid_out(layout: tuple, shape: tuple, dtype: Any, values: Any) -> np.ndarray:
    """A new array of ``shape`` and ``dtype`` in the root's memory order, holding ``values``."""
    order = sorted(range(len(shape)), key=lambda i: -layout[3][i])
    out = np.empty([shape[i] for i in order], dtype).transpose(np.argsort(order))
    if not _same_layout(out.strides, layout[3], shape):
        raise ValueError(f"region: no dense layout of shape {shape} and dtype {np.dtype(dtype)} has the strides "
                         f"{layout[3]}")
    out[...] = values
    return out


def _same_layout(a: tuple, b: tuple, shape: tuple) -> bool:
    """Whether strides ``a`` and ``b`` address the same elements (an axis of length 1 has any)."""
    return all(s == t for s, t, n in zip(a, b, shape) if n != 1)


def keeps_rows(layout: tuple, root: np.ndarray) -> bool:
    """Whether the region's row b lies in the root's row b (axis 0 kept whole, in order)."""
    off, shape, strides, _ = layout
    if root.ndim == 0 or not shape or shape[0] != root.shape[0] or strides[0] != root.strides[0] \
            or root.strides[0] <= 0:
        return False
    lo = off * root.itemsize + sum(min(0, (n - 1) * s) for n, s in zip(shape[1:], strides[1:]))
    hi = off * root.itemsize + sum(max(0, (n - 1) * s) for n, s in zip(shape[1:], strides[1:])) + root.itemsize
    return 0 <= lo and hi <= root.strides[0]


def _each(g: np.ndarray, k: int, fn: Any) -> np.ndarray:
    """``fn`` applied to each entry of the ``k`` leading (per-sample stack) axes of ``g``."""
    if not k:
        return fn(g)
    parts = [fn(gl) for gl in g.reshape((-1,) + g.shape[k:])]
    return np.stack(parts).reshape(g.shape[:k] + parts[0].shape)


class Region(Op):
    """out = the strided region ``layout`` of x (a view). dx = zeros with g in the region."""

    name, rule = "region", "d/dx = the cotangent placed in the region, 0 elsewhere"

    def __call__(self, x: Any, layout: tuple) -> Any:
        out = region(x._data, layout)
        bs, mix = batchstate.same_rows(self.name, x, out, keeps_rows(layout, x._data)) if x._bs else (0, None)
        return make(out, self, (x,), layout, x._rg, bs, mix)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        x = node._parents[0]._data

        def one(gl: np.ndarray) -> np.ndarray:
            out = laid_out(node._ctx, x.shape, x.dtype, 0)
            off, shape, strides, _ = node._ctx
            if _overlaps(shape, strides, out.itemsize):  # (a broadcast view: its copies add up)
                flat = np.ravel(out, order="K")  # (a view: out is laid out densely)
                ids = np.arange(flat.size)
                at = np.lib.stride_tricks.as_strided(ids[off:], shape, tuple(s // out.itemsize * ids.itemsize
                                                                             for s in strides))
                np.add.at(flat, at.reshape(-1), np.broadcast_to(gl, shape).reshape(-1))
            else:
                region(out, node._ctx)[...] = gl
            return out

        return (_each(g, lead(node, g), one),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        x = node._parents[0]._data
        return (REGIONWRITE(const(laid_out(node._ctx, x.shape, x.dtype, 0)), g, node._ctx),)


class RegionWrite(Op):
    """out = x with the region ``layout`` replaced by v. dx = g with 0 in the region,
    dv = g's region."""

    name, rule = "region_write", "d/dx = the cotangent, 0 in the written region; d/dv = the cotangent's region"

    def __call__(self, x: Any, v: Any, layout: tuple, values: bool = True) -> Any:
        """``values=False``: the output's values are a stand-in of zeros in no memory (for a
        write through a view, which writes ``v`` into ``x``'s memory itself: ``torchwrite``)."""
        if values:
            out = laid_out(layout, x._data.shape, x._data.dtype, x._data)
            region(out, layout)[...] = v._data
        else:
            out = no_values(x._data)
        s = x._bs | v._bs
        bs, mix = self.state(x, v, layout) if s else (0, None)
        return make(out, self, (x, v), layout, x._rg or v._rg, bs, mix)

    def state(self, x: Any, v: Any, layout: tuple) -> tuple:
        s = x._bs | v._bs
        if s & (MIXED | STAT):
            return batchstate.mixed(f"op '{self.name}' writes a batch statistic", x, v)
        if not keeps_rows(layout, x._data) or (v._bs & BATCHED and v._data.shape[:1] != layout[1][:1]):
            return batchstate.mixed(f"op '{self.name}' writes through a view across the sample axis (axis 0)", x, v)
        return BATCHED, None

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        x, v = node._parents
        layout = node._ctx
        k = lead(node, g)

        def rest(gl: np.ndarray) -> np.ndarray:
            out = laid_out(layout, gl.shape, gl.dtype, gl)
            region(out, layout)[...] = 0
            return out

        gx = _each(g, k, rest) if x._rg else None
        gv = _each(g, k, lambda gl: np.array(region(gl, layout))) if v._rg else None
        return gx, gv

    def tvjp(self, node: Any, g: Any) -> tuple:
        x, v = node._parents
        layout = node._ctx
        zeros = const(np.zeros(layout[1], x._data.dtype))
        return (REGIONWRITE(g, zeros, layout) if x._rg else None,
                REGION(g, layout) if v._rg else None)


REGION, REGIONWRITE = Region(), RegionWrite()
ALL = (REGION, REGIONWRITE)
