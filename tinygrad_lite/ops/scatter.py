"""Ops that write values of a source into a copy of a tensor at given positions.

**Scatter along an axis** (torch's ``scatter``, ``scatter_add``, ``scatter_reduce``): with
``index`` of the tensor's rank and axis ``d``, source element ``src[i]`` (i a multi-index of
``index``'s shape) goes to ``out[i with i_d replaced by index[i]]``. Write ``P(j)`` for the
set of source positions sent to position ``j`` and ``s`` for the source.

* ``scatter``:        ``out_j = s_i`` for i in P(j) (else ``x_j``); d/dx = 1 off the written
  positions, 0 on them; d/ds_i = g at i's target;
* ``scatter_reduce``: ``out_j = R({x_j} + {s_i : i in P(j)})`` (``x_j`` left out of the
  written positions without ``include_self``), R = sum, prod, mean, amax or amin:

  - sum:  d/dx = 1, d/ds_i = g_j;
  - mean: d/dx_j = 1 / N_j, d/ds_i = 1 / N_j (N_j the number of terms);
  - prod: d/dx_j = prod of the other terms, d/ds_i likewise, computed without dividing by a
    zero (one zero term: the product of the others; two or more: 0);
  - amax / amin: the cotangent shared evenly among the terms equal to the result (ties).

  Without ``include_self`` the written positions give ``x`` no gradient. These are torch's
  formulas (including counting ``x_j`` among the ties even when it is left out).

**Writes at an index** (``IndexPut``; torch's ``index_put``, and through it the
``*_scatter`` family): ``out = x``, then ``out[key] = v`` (or ``+= v`` with ``accumulate``),
``v`` broadcast to ``out[key]``'s shape; d/dx = 1 (accumulate) or 0 at the written positions;
d/dv = the cotangent read at ``key``, summed over broadcast copies.

Per-sample rules: samples stay apart when the write keeps axis 0 (scatter along another
axis; a key taking axis 0 whole); writing along the sample axis mixes them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import batchstate
from ..batchstate import BATCHED, MIXED, STAT
from .base import Op, ReadsOutput, failed, lead, make, no_tvjp, no_values
from .layout import GETITEM

_UFUNC = {"sum": np.add, "prod": np.multiply, "mean": np.add, "amax": np.maximum, "amin": np.minimum}


def positions(idx: np.ndarray, axis: int) -> tuple:
    """The full index tuple of a scatter: ``idx`` on ``axis``, each other axis its own
    position (aranges broadcasting to ``idx``'s shape)."""
    return tuple(idx if i == axis else np.arange(m).reshape((-1,) + (1,) * (idx.ndim - i - 1))
                 for i, m in enumerate(idx.shape))


def _identity(reduce: str, dtype: Any) -> Any:
    """The value a term-free position starts from (``include_self=False``)."""
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dtype.kind == "f":
        return -np.inf if reduce == "amax" else np.inf
    info = np.iinfo(dtype) if dtype.kind in "iu" else None
    if info is None:  # bool
        return reduce == "amin"
    return info.min if reduce == "amax" else info.max


def reduced(x: np.ndarray, src: np.ndarray, full: tuple, reduce: str, include_self: bool) -> np.ndarray:
    """``scatter_reduce``'s forward: ``x`` with the terms of ``src`` reduced in at ``full``."""
    out = x.copy()
    if not include_self:
        out[full] = _identity(reduce, x.dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        _UFUNC[reduce].at(out, full, src)
    if reduce == "mean":
        n = np.full(x.shape, 1 if include_self else 0, np.int64)
        np.add.at(n, full, 1)
        n[n == 0] = 1
        out = out // n.astype(x.dtype) if x.dtype.kind in "iu" else (out / n).astype(x.dtype, copy=False)
    return out


def _cut(src: np.ndarray, shape: tuple) -> np.ndarray:
    """The part of ``src`` an index of ``shape`` reads (index is no larger than src)."""
    return src if src.shape == shape else src[tuple(slice(0, m) for m in shape)]


def _padded(gs: np.ndarray, k: int, shape: tuple) -> np.ndarray:
    """A source cotangent ``gs`` (index-shaped, ``k`` leading axes) in the source's ``shape``."""
    if gs.shape[k:] == shape:
        return gs
    z = np.zeros(gs.shape[:k] + shape, gs.dtype)
    z[(slice(None),) * k + tuple(slice(0, m) for m in gs.shape[k:])] = gs
    return z


class _Scatter(Op):
    """Shared call, batch rule and source padding of the scatter ops (inputs: x, src)."""

    def __call__(self, x: Any, src: Any, index: Any, axis: int, idx: np.ndarray, **params: Any) -> Any:
        try:
            out, ctx = self.forward(x._data, src._data, axis=axis, idx=idx, **params)
        except Exception as e:
            failed(self, e, (x, src))
            raise
        ib = getattr(index, "_bs", 0)
        bs, mix = self.state(x, src, index, axis, out) if x._bs | src._bs | ib else (0, None)
        return make(out, self, (x, src), ctx, x._rg or src._rg, bs, mix)

    def state(self, x: Any, src: Any, index: Any, axis: int, out: np.ndarray) -> tuple:
        """Row b of the result depends on rows b of x, src and index only when the axis is not
        the sample axis and every operand's rows line up with the result's."""
        s = x._bs | src._bs | getattr(index, "_bs", 0)
        if s & MIXED:
            return batchstate.mixed(f"op '{self.name}'", x, src, index)
        if s & STAT:
            return batchstate.mixed(f"op '{self.name}' writes a batch statistic or writes by an index computed "
                                    "from one", x, src, index)
        if axis == 0:
            return batchstate.mixed(f"op '{self.name}' writes along the sample axis (axis 0)", x, src, index)
        for t in (x, src) + ((index,) if getattr(index, "_bs", 0) & BATCHED else ()):
            if t._data.shape[0] != out.shape[0]:
                return batchstate.mixed(f"op '{self.name}' takes an operand of shape {t._data.shape} whose rows do "
                                        f"not line up with the result's samples (shape {out.shape})", x, src, index)
        return BATCHED, None


def _unwritten(x: Any, g: np.ndarray, at: tuple) -> Any:
    """The cotangent of the tensor written into (None unless it requires grad): ``g`` with
    the positions ``at``, which the write replaced, set to 0."""
    if not x._rg:
        return None
    gx = np.array(g)  # a copy, and an array also when a 0-d cotangent arrives as a numpy scalar
    gx[at] = 0
    return gx


def _t_unwritten(x: Any, g: Any, at: tuple) -> Any:
    """``_unwritten`` on Tensors: ``g`` times a constant mask that is 0 at ``at``."""
    if not x._rg:
        return None
    keep = np.ones(g.shape, g._data.dtype)
    keep[at] = 0
    return g * keep


def _t_padded(gs: Any, shape: tuple) -> Any:
    """``_padded`` on Tensors: an index-shaped cotangent put in the corner of a zero source."""
    if gs.shape == tuple(shape):
        return gs
    from .layout import SCATTERBACK
    return SCATTERBACK(gs, (tuple(shape), tuple(slice(0, m) for m in gs.shape), False))


class Scatter(_Scatter):
    name, rule = "scatter", "d/dx = 1 off the written positions, 0 on them; d/dsrc = the cotangent at the target"

    def forward(self, x: np.ndarray, src: np.ndarray, axis: int = 0, idx: Any = None) -> tuple:
        full = positions(idx, axis)
        out = x.copy()
        out[full] = _cut(src, idx.shape)
        return out, (full, src.shape)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        x, src = node._parents
        full, sshape = node._ctx
        k = lead(node, g)
        at = (slice(None),) * k + full
        return _unwritten(x, g, at), _padded(g[at], k, sshape) if src._rg else None

    def tvjp(self, node: Any, g: Any) -> tuple:
        x, src = node._parents
        full, sshape = node._ctx
        return _t_unwritten(x, g, full), _t_padded(GETITEM(g, full), sshape) if src._rg else None


class ScatterReduce(ReadsOutput, _Scatter):
    name = "scatter_reduce"
    rule = ("sum: d/dx = 1, d/dsrc = g at the target; mean: 1/N; prod: the product of the other terms; amax/amin: "
            "g shared evenly among the terms equal to the result")

    def forward(self, x: np.ndarray, src: np.ndarray, axis: int = 0, idx: Any = None, reduce: str = "sum",
                include_self: bool = True) -> tuple:
        full = positions(idx, axis)
        s = _cut(src, idx.shape)
        return reduced(x, s, full, reduce, include_self), (full, s, x, src.shape, reduce, include_self)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        x, src = node._parents
        full, s, xd, sshape, reduce, include_self = node._ctx
        res = node._data
        k = lead(node, g)
        at = (slice(None),) * k + full
        with np.errstate(divide="ignore", invalid="ignore"):
            if reduce == "sum":
                gx, gs = g, g[at]
            elif reduce == "mean":
                n = np.full(xd.shape, 1.0 if include_self else 0.0)
                np.add.at(n, full, 1.0)
                n[n == 0] = 1.0
                gx, gs = g / n, g[at] / n[full]
            elif reduce == "prod":
                gx, gs = self._prod(g, at, full, xd, s, res, include_self)
            else:  # amax / amin: ties share the cotangent (x_j counted when equal, as torch)
                self_is = (xd == res).astype(res.dtype)
                src_is = (s == res[full]).astype(res.dtype)
                n = self_is.copy()
                np.add.at(n, full, src_is)
                share = g / n
                gx, gs = self_is * share, src_is * share[at]
        if x._rg and not include_self:
            gx = np.array(gx)
            gx[at] = 0
        return (gx if x._rg else None), (_padded(np.asarray(gs), k, sshape) if src._rg else None)

    def tvjp(self, node: Any, g: Any) -> tuple:
        """sum, mean, amax and amin: ``g`` times constant weights (the counts, the ties), read
        at the target for the source; prod has no differentiable backward."""
        x, src = node._parents
        full, s, xd, sshape, reduce, include_self = node._ctx
        if reduce == "prod":
            raise no_tvjp(self)
        dt = node._data.dtype
        ones = np.ones(node._data.shape, dt)
        wx, ws = self.vjp(node, ones) if reduce != "sum" else (ones, ones[full])
        if x._rg and reduce == "sum" and not include_self:
            wx = np.array(wx)
            wx[full] = 0
        gx = g * wx if x._rg else None
        gs = None
        if src._rg:
            gs = _t_padded(GETITEM(g, full) * _cut(np.asarray(ws), s.shape), sshape)
        return gx, gs

    @staticmethod
    def _prod(g: np.ndarray, at: tuple, full: tuple, xd: np.ndarray, s: np.ndarray, res: np.ndarray,
              include_self: bool) -> tuple:
        """Products of the other terms without dividing by a zero term (torch's formulas)."""
        mx = np.where(xd == 0, 1, xd)
        gx = g * reduced(mx, s, full, "prod", include_self) / mx
        zero = s == 0
        nz = np.zeros(xd.shape)
        np.add.at(nz, full, zero)
        single = zero & (nz[full] == 1)
        others = reduced(xd, np.where(single, 1, s), full, "prod", include_self)
        gs = np.where(single, (g * others)[at], (g * res)[at] / np.where(zero, 1, s))
        return gx, gs


class ScatterAdd(ScatterReduce):
    name, rule = "scatter_add", "d/dx = 1; d/dsrc = the cotangent at the target"


class IndexPut(Op):
    name = "index_put"
    rule = "d/dx = 1 (accumulate) or 0 at the written positions, else 1; d/dvalues = the cotangent read at the index"

    def __call__(self, x: Any, v: Any, key: tuple, accumulate: bool, keeps_rows: bool, index: tuple = (),
                 values: bool = True) -> Any:
        """``key``: a normalised numpy index; ``keeps_rows``: whether ``x[key]`` keeps axis 0
        whole as its own axis 0; ``index``: the index Tensors (for their batch state).
        ``values=False`` (a store that writes ``v`` into ``x``'s own memory itself, ``torchwrite``):
        every check runs, but the output's values are a stand-in of zeros in no memory, so a
        store costs the size of its region, not of ``x``."""
        try:
            xd = x._data
            out = xd.copy() if values else no_values(xd)
            target = xd[key]
            vd = np.broadcast_to(v._data, np.shape(target))
            if values and accumulate:
                np.add.at(out, key, vd)
            elif values:
                out[key] = vd
        except Exception as e:
            failed(self, e, (x, v))
            raise
        s = x._bs | v._bs
        for t in index:
            s |= t._bs
        bs, mix = self.state(x, v, index, keeps_rows, np.shape(target), out.shape) if s else (0, None)
        return make(out, self, (x, v), (key, accumulate), x._rg or v._rg, bs, mix)

    def state(self, x: Any, v: Any, index: tuple, keeps_rows: bool, tshape: tuple, oshape: tuple) -> tuple:
        s = x._bs | v._bs
        for t in index:
            s |= t._bs
        if s & MIXED:
            return batchstate.mixed(f"op '{self.name}'", x, v, *index)
        if s & STAT:
            return batchstate.mixed(f"op '{self.name}' writes a batch statistic or writes by an index computed "
                                    "from one", x, v, *index)
        if not keeps_rows or any(t._bs & BATCHED for t in index):
            return batchstate.mixed(f"op '{self.name}' writes across the sample axis (axis 0)", x, v, *index)
        if v._data.ndim == len(tshape) and v._data.shape[:1] != tshape[:1]:
            return batchstate.mixed(f"op '{self.name}' broadcasts values of shape {v._data.shape} over the "
                                    f"samples (written part of shape {tshape})", x, v)
        if v._bs & BATCHED and v._data.ndim != len(tshape):
            return batchstate.mixed(f"op '{self.name}' broadcasts batched values of shape {v._data.shape} to "
                                    f"{tshape}, moving the sample axis", x, v)
        if x._data.shape[:1] != oshape[:1]:
            return batchstate.mixed(f"op '{self.name}'", x, v)
        return BATCHED, None

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        x, v = node._parents
        key, accumulate = node._ctx
        k = lead(node, g)
        gx = (g if x._rg else None) if accumulate else _unwritten(x, g, (slice(None),) * k + key)
        gv = None
        if v._rg:  # (one stack entry at a time: separated index arrays move their axes to the front)
            gv = np.array(g[key]) if not k else np.stack([gl[key] for gl in g.reshape((-1,) + g.shape[k:])]).reshape(
                g.shape[:k] + np.shape(node._data[key]))
        return gx, gv

    def tvjp(self, node: Any, g: Any) -> tuple:
        x, v = node._parents
        key, accumulate = node._ctx
        gx = (g if x._rg else None) if accumulate else _t_unwritten(x, g, key)
        return gx, GETITEM(g, key) if v._rg else None


SCATTER, SCATTERREDUCE, SCATTERADD, INDEXPUT = Scatter(), ScatterReduce(), ScatterAdd(), IndexPut()
ALL = (SCATTER, SCATTERREDUCE, SCATTERADD, INDEXPUT)
