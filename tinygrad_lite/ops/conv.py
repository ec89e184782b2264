"""Convolution on strided windows: one copy of the windows and one matmul per layer.

Convolution (cross-correlation, as in PyTorch) of ``x`` (B, C, *S) with ``W`` (O, C/G, *K),
``G`` groups, stride ``s``, padding ``p`` and dilation ``d``, for one, two or three spatial axes:

    out[b, o, i] = bias[o] + sum_{c in group(o), k} W[o, c, k] * xp[b, c, i*s + k*d]

where ``xp`` is ``x`` zero-padded. The padded input is laid out channels-last, its windows
are copied once into the "patches" ``X`` (rows: sample and output position ``t``, columns:
kernel offset and channel), and the layer is one matmul ``X @ Wm^T`` (a batched matmul
over the groups). Backward:

* ``dW = sum_{b,t} g[b,t] (x) X[b,t]`` (one matmul), ``db = sum_{b,t} g[b,t]``;
* ``dx``: a full correlation of the output cotangent, spread to stride ``s`` and padded by
  ``(k-1) d``, with the spatially flipped kernel -- again windows and one matmul;
* per sample: ``dW_b = sum_t g[b,t] (x) X[b,t]`` kept as those two factors (``ConvRows``,
  an ``OuterRows`` whose columns are reordered to PyTorch's (c, k) layout when built;
  ``GroupedConvRows`` for G > 1), so norms and weighted sums never form (B, *W.shape).

The pools, on the same strided windows, are in ``ops.pool``.

The padded input and the input gradient's spread cotangent and windows are per-thread
scratch arrays; the patches, the output and the channels-last cotangent come from the
pool of ``memory.pooled`` (a training loop reuses their memory every step).
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import batchstate
from ..batchstate import BATCHED, MIXED, STAT
from ..persample import DenseRows, OuterRows, Rows
from .base import Op, const, failed, lead, make
from .memory import pooled, scratch


def out_size(n: int, k: int, s: int, lo: int, hi: int, d: int) -> int:
    """Output length of a window of ``k`` taps (dilation d) sliding with stride s over n + lo + hi."""
    return (n + lo + hi - d * (k - 1) - 1) // s + 1


def _padded(key: str, shape: tuple, dtype: Any, box: tuple) -> np.ndarray:
    """A scratch array of ``shape`` that is zero outside ``box`` (a (start, stop) per leading
    axis after the first); the caller fills the box."""
    a = scratch(key, shape, dtype)
    for i, (lo, hi) in enumerate(box, start=1):
        pre = (slice(None),) * i
        a[pre + (slice(0, lo),)] = 0
        a[pre + (slice(hi, None),)] = 0
    return a


def _pad_last(x: np.ndarray, pads: tuple, G: int) -> np.ndarray:
    """``x`` (B, C, *S) zero-padded and channels-last, (B, *(S + lo + hi), G, C/G), in a
    scratch array (only the windows copied from it leave the layer)."""
    B, C = x.shape[:2]
    S = x.shape[2:]
    box = tuple((lo, lo + n) for n, (lo, _) in zip(S, pads))
    xp = _padded("conv.xp", (B,) + tuple(n + lo + hi for n, (lo, hi) in zip(S, pads)) + (G, C // G), x.dtype, box)
    inner = (slice(None),) + tuple(slice(a, b) for a, b in box)
    xp[inner] = np.moveaxis(x, 1, -1).reshape(x.shape[:1] + S + (G, C // G))
    return xp


def _windows(xp: np.ndarray, out: tuple, k: tuple, s: tuple, d: tuple) -> np.ndarray:
    """Read-only view (B, *out, *k, G, Cg) of the windows of channels-last ``xp`` (B, *S, G, Cg)."""
    st = xp.strides
    nd = len(k)
    shape = (xp.shape[0],) + tuple(out) + tuple(k) + xp.shape[-2:]
    strides = ((st[0],) + tuple(st[1 + i] * s[i] for i in range(nd)) + tuple(st[1 + i] * d[i] for i in range(nd))
               + st[-2:])
    return as_strided(xp, shape, strides, writeable=False)


def _patches(xp: np.ndarray, out: tuple, k: tuple, s: tuple, d: tuple, alloc: Any = np.empty) -> np.ndarray:
    """The windows copied to (G, B*P, prod(k)*Cg): one row per sample and output position,
    columns ordered (kernel offset, channel), into ``alloc(shape, dtype)``."""
    v = _windows(xp, out, k, s, d)
    nd = len(k)
    G = xp.shape[-2]
    perm = (1 + 2 * nd,) + tuple(range(1 + 2 * nd)) + (2 + 2 * nd,)  # group axis first
    v = v.transpose(perm)
    cols = alloc(v.shape, v.dtype)
    np.copyto(cols, v)
    return cols.reshape(G, -1, math.prod(k) * xp.shape[-1])


class ConvRows(OuterRows):
    """Per-sample conv weight gradient, groups = 1: ``S[b] = scale sum_t L[b,t] (x) R[b,t]`` with
    ``L`` (B, P, O) the output cotangent and ``R`` (B, P, prod(k)*Cg) the patches; the columns
    come in (kernel offset, channel) order and are moved to PyTorch's (channel, kernel) order
    when ``S`` is built (norms do not depend on the order)."""

    __slots__ = ("kernel", "cg")

    def __init__(self, L: np.ndarray, R: np.ndarray, kernel: tuple, cg: int, shape: tuple, dtype: Any,
                 scale: float) -> None:
        super().__init__(L, R, shape, dtype, scale)
        self.kernel, self.cg = tuple(kernel), int(cg)

    def _order(self, a: np.ndarray) -> np.ndarray:
        """(..., O, prod(k)*Cg) in (k, c) column order -> (..., O, Cg, *k) (a view)."""
        lead_ = a.shape[:-2]
        a = a.reshape(lead_ + (a.shape[-2],) + self.kernel + (self.cg,))
        return np.moveaxis(a, -1, len(lead_) + 1)

    def _raw(self) -> np.ndarray:
        raw = np.matmul(np.swapaxes(self.L, 1, 2), self.R)
        if self.scale != 1.0:
            raw *= self.scale
        return raw

    def dense(self, out: Optional[np.ndarray] = None) -> np.ndarray:
        if self.cg == 1:  # (k, c) order is (c, k) order
            return OuterRows.dense(self, out)
        raw = self._raw()
        full = (self.B,) + self.shape
        if out is None or out.shape != full or out.dtype != self.dtype:
            out = np.empty(full, self.dtype)
        np.copyto(out, self._order(raw), casting="unsafe")
        return out

    def sq_norms(self) -> np.ndarray:
        B, T, m = self.L.shape
        n = self.R.shape[2]
        if T == 1 or T * T * (m + n) < T * m * n:
            return OuterRows.sq_norms(self)
        S = self._raw().reshape(B, m * n)
        return np.einsum("bk,bk->b", S, S)

    def weighted_sum(self, w: np.ndarray) -> np.ndarray:
        L, R = self.L, self.R
        wl = L * (w * self.scale).astype(L.dtype, copy=False)[:, None, None]
        M = wl.reshape(-1, L.shape[2]).T @ R.reshape(-1, R.shape[2])
        return np.ascontiguousarray(self._order(M)).astype(self.dtype, copy=False)

    def sq_sum(self) -> np.ndarray:
        return Rows.sq_sum(self)


class GroupedConvRows(Rows):
    """Per-sample conv weight gradient with G groups: for group g,
    ``S[b, g] = scale sum_t L[g,b,t] (x) R[g,b,t]`` (``L`` (G, B, P, O/G), ``R`` (G, B, P,
    prod(k)*Cg)); ``S[b]`` stacks the groups along the output channels."""

    __slots__ = ("L", "R", "kernel", "cg")

    def __init__(self, L: np.ndarray, R: np.ndarray, kernel: tuple, cg: int, shape: tuple, dtype: Any,
                 scale: float) -> None:
        self.L, self.R, self.kernel, self.cg = L, R, tuple(kernel), int(cg)
        self.shape, self.dtype, self.scale, self.B = tuple(shape), dtype, scale, L.shape[1]

    def _order(self, a: np.ndarray) -> np.ndarray:
        """(G, ..., Og, K) raw -> (..., O, Cg, *k)."""
        G, Og = a.shape[0], a.shape[-2]
        a = np.moveaxis(a, 0, -3)  # (..., G, Og, K)
        lead_ = a.shape[:-3]
        a = a.reshape(lead_ + (G, Og) + self.kernel + (self.cg,))
        a = np.moveaxis(a, -1, len(lead_) + 2)
        return a.reshape(lead_ + (G * Og, self.cg) + self.kernel)

    def _raw(self) -> np.ndarray:
        raw = np.matmul(np.swapaxes(self.L, 2, 3), self.R)  # (G, B, Og, K)
        if self.scale != 1.0:
            raw *= self.scale
        return raw

    def dense(self, out: Optional[np.ndarray] = None) -> np.ndarray:
        return np.ascontiguousarray(self._order(self._raw())).astype(self.dtype, copy=False)

    def sq_norms(self) -> np.ndarray:
        L, R = self.L, self.R
        T, m, n = L.shape[2], L.shape[3], R.shape[3]
        s2 = self.scale * self.scale
        if T * T * (m + n) < T * m * n:  # Gram form per group
            GL = L @ np.swapaxes(L, 2, 3)
            GR = R @ np.swapaxes(R, 2, 3)
            return np.einsum("gbts,gbts->b", GL, GR) * s2
        raw = self._raw()
        return np.einsum("gbmn,gbmn->b", raw, raw)

    def weighted_sum(self, w: np.ndarray) -> np.ndarray:
        L, R = self.L, self.R
        G, B, T, m = L.shape
        wl = L * (w * self.scale).astype(L.dtype, copy=False)[None, :, None, None]
        M = np.swapaxes(wl.reshape(G, B * T, m), 1, 2) @ R.reshape(G, B * T, -1)
        return np.ascontiguousarray(self._order(M)).astype(self.dtype, copy=False)


def layer_batch(name: str, x: Any, params: tuple) -> tuple:
    """Batch state of a layer applying parameters to each sample of ``x`` independently."""
    ps = tuple(p for p in params if p is not None)
    if any(p._bs & (BATCHED | MIXED | STAT) for p in ps):
        return batchstate.mixed(f"op '{name}' with batched or batch-statistic weights", x, *ps)
    s = x._bs
    if s & MIXED:
        return MIXED, x._mix
    if s & BATCHED:
        return BATCHED, None
    if any(p._rg for p in ps):
        return batchstate.mixed(f"op '{name}' applies parameters to a batch statistic", x)
    return STAT, x._mix


class Conv(Op):
    """N-d convolution (N = 1, 2, 3) with groups, stride, padding (lo, hi per axis), dilation."""

    name, rule = "conv", "d conv/dW = sum g (x) patches, d conv/dx = full correlation of g with the flipped W"

    def __call__(self, x: Any, W: Any, b: Any, stride: tuple, pads: tuple, dilation: tuple, groups: int) -> Any:
        parents = (x, W) if b is None else (x, W, b)
        try:
            out, ctx = self.forward(x._data, W._data, None if b is None else b._data, stride, pads, dilation, groups)
        except Exception as e:
            failed(self, e, parents)
            raise
        s = x._bs | W._bs | (0 if b is None else b._bs)
        bs, mix = layer_batch(self.name, x, parents[1:]) if s else (0, None)
        rg = any(p._rg for p in parents)
        return make(out, self, parents, ctx, rg, bs, mix)

    def forward(self, x: np.ndarray, W: np.ndarray, b: Optional[np.ndarray], stride: tuple, pads: tuple,
                dilation: tuple, groups: int) -> tuple:
        G = groups
        O, Cg = W.shape[:2]
        k = W.shape[2:]
        B, S = x.shape[0], x.shape[2:]
        out = tuple(out_size(n, kk, s, lo, hi, d) for n, kk, s, (lo, hi), d in zip(S, k, stride, pads, dilation))
        xp = _pad_last(x, pads, G)
        cols = _patches(xp, out, k, stride, dilation, pooled)  # (G, B*P, K*Cg)
        Og = O // G
        Wm = np.moveaxis(W.reshape((G, Og, Cg) + k), 2, -1).reshape(G, Og, -1)
        if G == 1:
            y = np.matmul(cols[0], Wm[0].T, out=scratch("conv.y", (cols.shape[1], O), np.result_type(cols, Wm)))
        else:
            y = np.moveaxis(np.matmul(cols, np.swapaxes(Wm, 1, 2)), 0, -2).reshape(-1, O)  # (B*P, G*Og)
        if b is not None:
            y += b
        nchw = np.moveaxis(y.reshape((B,) + out + (O,)), -1, 1)  # NCHW, as torch
        y = pooled(nchw.shape, y.dtype)
        np.copyto(y, nchw)
        return y, [cols, (S, out, k, stride, pads, dilation, G), None]

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        cols, (S, out, k, stride, pads, dilation, G), _ = node._ctx
        parents = node._parents
        W = parents[1].data
        O, Cg = W.shape[:2]
        Og = O // G
        n = lead(node, g)
        ld = g.shape[:n]
        L = math.prod(ld)
        B = node._data.shape[0]
        # cotangent channels-last, groups first: (L, G, B*P, Og)
        P = math.prod(out)
        v = np.moveaxis(g.reshape((L, B, G, Og) + out), 2, 1).reshape((L, G, B, Og, P)).swapaxes(3, 4)
        gm = pooled(v.shape, W.dtype)  # in the weight's dtype
        np.copyto(gm, v, casting="unsafe")
        gm = gm.reshape(L, G, B * P, Og)
        if n == 0:
            node._ctx[2] = (g, gm[0])
        gx = gW = gb = None
        if parents[1]._rg:
            raw = np.matmul(np.swapaxes(gm, 2, 3), cols)  # (L, G, Og, K*Cg)
            raw = raw.reshape((L, G, Og) + k + (Cg,))
            gW = np.ascontiguousarray(np.moveaxis(raw, -1, 3)).reshape(ld + W.shape)
        if len(parents) == 3 and parents[2]._rg:  # a product with ones: several times np.sum's speed
            gb = np.matmul(np.ones(gm.shape[2], gm.dtype), gm).reshape(ld + (O,))
        if parents[0]._rg:
            gx = self._dx(gm, W, S, out, k, stride, pads, dilation, G, L * B).reshape(ld + parents[0].data.shape)
        return (gx, gW) if len(parents) == 2 else (gx, gW, gb)

    def tvjp(self, node: Any, g: Any) -> tuple:
        """By differentiating the convolution rebuilt from differentiable ops (``_composed``)."""
        from ..higher import recompute
        return recompute(node, g, lambda *ps: _composed(node._ctx[1], *ps))

    @staticmethod
    def _dx(gm: np.ndarray, W: np.ndarray, S: tuple, out: tuple, k: tuple, stride: tuple, pads: tuple,
            dilation: tuple, G: int, LB: int) -> np.ndarray:
        """dxp[i] = sum_k' Wflip[k'] gup[i + k' d]: the cotangent spread to stride s (zeros between),
        padded by (k-1) d, correlated with the flipped kernel, at the positions i of the input
        (the padding's own positions are never computed)."""
        O, Cg = W.shape[:2]
        Og = O // G
        Sp = tuple(n + lo + hi for n, (lo, hi) in zip(S, pads))
        kd = tuple((kk - 1) * d for kk, d in zip(k, dilation))
        shape = (LB,) + tuple(a + e for a, e in zip(Sp, kd)) + (G, Og)
        if all(s == 1 for s in stride):  # the cotangent fills a box; zeros around it
            gup = _padded("conv.gup", shape, gm.dtype, tuple((e, e + o) for e, o in zip(kd, out)))
        else:  # zeros between the spread entries too
            gup = scratch("conv.gup", shape, gm.dtype)
            gup.fill(0)
        where = (slice(None),) + tuple(slice(e, e + (o - 1) * s + 1, s) for e, o, s in zip(kd, out, stride))
        gup[where] = np.moveaxis(gm.reshape((G, LB) + out + (Og,)), 0, -2)
        inner = (slice(None),) + tuple(slice(lo, None) for lo, _ in pads)
        # (G, LB*prod(S), K*Og): interior only
        cols = _patches(gup[inner], S, k, (1,) * len(k), dilation, lambda sh, dt: scratch("conv.dxcols", sh, dt))
        flip = (slice(None),) * 3 + (slice(None, None, -1),) * len(k)
        Wf = W.reshape((G, Og, Cg) + k)[flip]
        Wf = np.moveaxis(Wf, (1, 2), (-2, -1)).reshape(G, -1, Cg)  # rows (k', o), columns c
        if G == 1:
            dx = np.matmul(cols[0], Wf[0], out=pooled((cols.shape[1], Cg), np.result_type(cols, Wf)))
            dx = dx.reshape((LB,) + S + (Cg,))
        else:
            dx = np.moveaxis(np.matmul(cols, Wf).reshape((G, LB) + S + (Cg,)), 0, -2).reshape((LB,) + S + (G * Cg,))
        return np.moveaxis(dx, -1, 1)

    @staticmethod
    def sample_rows(node: Any, g: np.ndarray, i: int, scale: float) -> Any:
        cols, (S, out, k, stride, pads, dilation, G), cache = node._ctx
        p = node._parents[i]
        B = node._data.shape[0]
        P = math.prod(out)
        if cache is not None and cache[0] is g:
            gm = cache[1]
        else:
            Og = node._data.shape[1] // G
            gm = np.ascontiguousarray(np.moveaxis(g.reshape((B, G, Og, P)), 3, 2).swapaxes(0, 1)).reshape(G, B * P, Og)
        if i == 2:
            node._ctx[2] = None
            S = np.matmul(np.ones(P, gm.dtype), gm.reshape(G, B, P, gm.shape[-1]))
            return DenseRows(S.swapaxes(0, 1).reshape(B, p._data.shape[0]), p._data.shape, p._data.dtype, scale)
        if i != 1:
            return None
        if len(node._parents) == 2:
            node._ctx[2] = None
        Cg = p._data.shape[1]
        if G == 1:
            return ConvRows(gm[0].reshape(B, P, gm.shape[-1]), cols[0].reshape(B, P, cols.shape[-1]), k, Cg,
                            p._data.shape, p._data.dtype, scale)
        return GroupedConvRows(gm.reshape(G, B, P, gm.shape[-1]), cols.reshape(G, B, P, cols.shape[-1]), k, Cg,
                               p._data.shape, p._data.dtype, scale)


CONV = Conv()


def _composed(shape: tuple, x: Any, W: Any, b: Any = None) -> Any:
    """The convolution as getitem, cat, matmul and add: zero padding joined on, then for each
    kernel offset and group, the strided window of the input times that offset's weights."""
    from .layout import CONCAT, GETITEM, RESHAPE
    S, out, k, stride, pads, dilation, G = shape
    B, C = x._data.shape[:2]
    O, Cg, P = W._data.shape[0], C // G, math.prod(out)
    for i, (lo, hi) in enumerate(pads):
        if lo or hi:
            side = [const(np.zeros(x._data.shape[:2 + i] + (n,) + x._data.shape[3 + i:], x._data.dtype))
                    for n in (lo, hi)]
            x = CONCAT([side[0], x, side[1]], 2 + i)
    y = []
    for j in range(G):
        acc = None
        for kk in np.ndindex(*k):
            win = tuple(slice(a * d, a * d + (o - 1) * s + 1, s) for a, d, o, s in zip(kk, dilation, out, stride))
            xs = RESHAPE(GETITEM(x, (slice(None), slice(j * Cg, (j + 1) * Cg)) + win), (B, Cg, P))
            term = GETITEM(W, (slice(j * (O // G), (j + 1) * (O // G)), slice(None)) + kk) @ xs
            acc = term if acc is None else acc + term
        y.append(acc)
    out_t = RESHAPE(y[0] if G == 1 else CONCAT(y, 1), (B, O) + out)
    return out_t if b is None else out_t + RESHAPE(b, (O,) + (1,) * len(out))
