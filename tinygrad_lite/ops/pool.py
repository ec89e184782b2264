"""Max and average pooling, max unpooling, and im2col / col2im (unfold / fold), on strided
windows over the last one, two or three axes.

A pool pads the input (with -inf for max, 0 for average; ``pads`` gives (lo, hi) per axis,
so torch's ``ceil_mode`` is an extra ``hi`` pad that completes the last window), copies its
windows once (``as_strided``) and reduces them:

    max_pool[i] = max_{k} xp[i*s + k*d],        avg_pool[i] = sum_{k} xp[i*s + k] / div[i]

with ``div[i]`` the window size, or the number of its elements inside the counted region
(the input with its declared padding, or the input alone with ``count_include_pad=False``),
or ``divisor_override``. The backward scatters the cotangent back with ``np.bincount``
(windows may overlap): max pooling sends it to each window's first maximum (torch's rule),
average pooling spreads ``g / div`` over the window. ``max_pool(..., with_indices)`` also
returns torch's indices: each maximum's flat position in its (unpadded) channel plane.

``max_unpool`` puts each value at its index in a zero plane of the requested size; its vjp
gathers the cotangent at the indices (for every element, also a duplicate index, as torch).
``unfold`` copies the windows out as columns (im2col); ``fold`` adds columns back at their
window positions (col2im); each is the other's vjp.
Every window and index stays inside one sample, so per-sample gradients pass through.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import batchstate
from .base import Op, failed, lead, make, owned
from .conv import out_size


def _pool_index(shape: tuple, out: tuple, k: tuple, s: tuple, d: tuple) -> np.ndarray:
    """Flat index, within one padded plane of ``shape``, of every window element: (P, K)."""
    nd = len(k)
    pos = np.zeros(out + k, dtype=np.int64)
    mult = 1
    for i in reversed(range(nd)):
        o = np.arange(out[i]).reshape((1,) * i + (-1,) + (1,) * (2 * nd - i - 1)) * s[i]
        kk = np.arange(k[i]).reshape((1,) * (nd + i) + (-1,) + (1,) * (nd - i - 1)) * d[i]
        pos = pos + (o + kk) * mult
        mult *= shape[i]
    return pos.reshape(math.prod(out), math.prod(k))


def _scatter(w: np.ndarray, flat: np.ndarray, planes: int, size: int, shape: tuple, dtype: Any, Sp: tuple,
             pads: tuple) -> np.ndarray:
    """The cotangents ``w`` (weights of the flat padded positions ``flat``) added up per position,
    the padding cut off: an array of ``shape`` (leading axes, then the unpadded plane)."""
    nd = len(pads)
    dxp = np.bincount(flat.reshape(-1), weights=w.reshape(-1), minlength=planes * size)
    dxp = dxp.astype(dtype, copy=False).reshape(shape[:-nd] + Sp)
    return dxp[(Ellipsis,) + tuple(slice(lo, lo + m) for m, (lo, _) in zip(shape[-nd:], pads))]


def _scatter_windows(w: np.ndarray, shape: tuple, dtype: Any, k: tuple, stride: tuple, pads: tuple,
                     dilation: tuple) -> np.ndarray:
    """col2im: ``w`` (planes, P, K), one weight per window element, added up at the element's
    position in its padded plane; the padding cut off: an array of ``shape`` (planes =
    prod(shape[:-nd]))."""
    nd = len(k)
    S = shape[-nd:]
    Sp = tuple(n + lo + hi for n, (lo, hi) in zip(S, pads))
    out = tuple(out_size(n, kk, s, lo, hi, d) for n, kk, s, (lo, hi), d in zip(S, k, stride, pads, dilation))
    pos = _pool_index(Sp, out, k, stride, dilation)  # (P, K)
    planes, size = w.shape[0], math.prod(Sp)
    flat = pos[None] + (np.arange(planes, dtype=np.int64) * size)[:, None, None]
    return _scatter(np.broadcast_to(w, flat.shape), flat, planes, size, shape, dtype, Sp, pads)


def _tscatter(g: Any, at: np.ndarray, shape: tuple, Sp: tuple, pads: tuple) -> Any:
    """``_scatter`` with differentiable ops: the cotangents ``g`` (planes, n, ...) added up at
    the flat positions ``at`` (planes, n) of their padded planes; those in the padding dropped;
    an array of ``shape`` (the unpadded planes)."""
    from .layout import GETITEM, RESHAPE, SCATTERBACK
    nd = len(pads)
    S = shape[-nd:]
    planes = at.shape[0]
    c = [ci.reshape(-1) - lo for ci, (lo, _) in zip(np.unravel_index(at, Sp), pads)]
    ok = np.logical_and.reduce([(ci >= 0) & (ci < n) for ci, n in zip(c, S)])
    plane = np.repeat(np.arange(planes), at.shape[1])
    picked = GETITEM(RESHAPE(g, (-1,)), (np.nonzero(ok)[0],))
    z = SCATTERBACK(picked, ((planes,) + S, (plane[ok],) + tuple(ci[ok] for ci in c), True))
    return RESHAPE(z, shape)


class _Pool(Op):
    """Shared window machinery of max and average pooling over the last ``nd`` axes."""

    linear = False

    def __call__(self, x: Any, k: tuple, stride: tuple, pads: tuple, dilation: tuple, extra: Any = None) -> Any:
        try:
            out, ctx = self.forward(x._data, k, stride, pads, dilation, extra)
        except Exception as e:
            failed(self, e, (x,))
            raise
        bs, mix = batchstate.unary(self.name, x, self.linear) if x._bs else (0, None)
        return make(owned(out), self, (x,), ctx, x._rg, bs, mix)

    @staticmethod
    def windows(x: np.ndarray, k: tuple, stride: tuple, pads: tuple, dilation: tuple, fill: float) -> tuple:
        nd = len(k)
        S = x.shape[-nd:]
        N = x.shape[:-nd]
        out = tuple(out_size(n, kk, s, lo, hi, d) for n, kk, s, (lo, hi), d in zip(S, k, stride, pads, dilation))
        if any(lo or hi for lo, hi in pads):
            Sp = tuple(n + lo + hi for n, (lo, hi) in zip(S, pads))
            xp = np.full(N + Sp, fill, dtype=x.dtype)
            xp[(Ellipsis,) + tuple(slice(lo, lo + n) for n, (lo, _) in zip(S, pads))] = x
        else:
            xp, Sp = x, S
        st = xp.strides
        view = as_strided(xp, N + out + k, st[:-nd] + tuple(st[-nd + i] * stride[i] for i in range(nd))
                          + tuple(st[-nd + i] * dilation[i] for i in range(nd)), writeable=False)
        win = np.ascontiguousarray(view).reshape(N + out + (math.prod(k),))
        return win, out, Sp


class MaxPool(_Pool):
    """out = max over each window; the cotangent goes to the (first) maximum of each window,
    as in PyTorch. ``extra=True``: ``(out, indices)``, torch's flat index of each maximum
    in its unpadded plane (int64, no gradient)."""

    name, rule = "max_pool", "d max_pool/dx = 1 at each window's (first) maximum"
    tvjp_reads = 0  # (create_graph: its cotangent stays a function of the input, derivative 0: higher)

    def __call__(self, x: Any, k: tuple, stride: tuple, pads: tuple, dilation: tuple, extra: Any = None) -> Any:
        out = _Pool.__call__(self, x, k, stride, pads, dilation)
        if not extra:
            return out
        S = x._data.shape[-len(k):]
        Sp = tuple(n + lo + hi for n, (lo, hi) in zip(S, pads))
        am = self._argmax(x._data, k, stride, pads, dilation) if out._ctx is None else out._ctx[3]
        pos = _pool_index(Sp, out._data.shape[-len(k):], k, stride, dilation)
        at = pos[np.arange(pos.shape[0]), am.reshape(-1, pos.shape[0])]  # flat positions in the padded plane
        coords = np.unravel_index(at, Sp)
        idx = np.ravel_multi_index(tuple(np.clip(c - lo, 0, n - 1) for c, (lo, _), n in zip(coords, pads, S)), S)
        idx = np.asarray(idx, dtype=np.int64).reshape(out._data.shape)
        return out, make(idx, None, (), None, False, *batchstate.derived(self.name, idx.shape, x))

    def _argmax(self, x: np.ndarray, k: tuple, stride: tuple, pads: tuple, dilation: tuple) -> np.ndarray:
        return self.forward(x, k, stride, pads, dilation, None)[1][3]

    def forward(self, x: np.ndarray, k: tuple, stride: tuple, pads: tuple, dilation: tuple, extra: Any) -> tuple:
        fill = -np.inf if np.issubdtype(x.dtype, np.floating) else np.iinfo(x.dtype).min
        win, out, Sp = self.windows(x, k, stride, pads, dilation, fill)
        am = win.argmax(axis=-1)
        if any(lo or hi for lo, hi in pads):  # a window whose inputs are all -inf (the fill): its first input
            inside = self.windows(np.ones(x.shape[-len(k):], bool), k, stride, pads, dilation, False)[0]
            first = np.broadcast_to(inside.argmax(axis=-1), am.shape)  # (as torch: padding is never picked)
            am = np.where(np.take_along_axis(np.broadcast_to(inside, win.shape), am[..., None], -1)[..., 0], am, first)
        y = np.take_along_axis(win, am[..., None], axis=-1)[..., 0]
        return y, (k, pads, Sp, am, out, stride, dilation)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        k, pads, Sp, am, out, stride, dilation = node._ctx
        pos = _pool_index(Sp, out, k, stride, dilation)  # (P, K)
        P = pos.shape[0]
        at = pos[np.arange(P), am.reshape(-1, P)]  # (planes, P)
        n = lead(node, g)
        if n:
            at = np.broadcast_to(at, g.shape[:n] + at.shape).reshape(-1, P)
        planes = at.shape[0]
        size = math.prod(Sp)
        flat = at + (np.arange(planes, dtype=np.int64) * size)[:, None]
        x = node._parents[0]._data
        return (_scatter(g, flat, planes, size, g.shape[:n] + x.shape, x.dtype, Sp, pads),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        k, pads, Sp, am, out, stride, dilation = node._ctx
        pos = _pool_index(Sp, out, k, stride, dilation)
        P = pos.shape[0]
        return (_tscatter(g, pos[np.arange(P), am.reshape(-1, P)], node._parents[0]._data.shape, Sp, pads),)


class AvgPool(_Pool):
    """out = the sum of each window divided by ``div``: the window size (``count_include_pad``,
    padding counted, the extra ``ceil_mode`` padding not), the number of the window's input
    elements (``count_include_pad=False``), or ``divisor_override``; each window element gets
    g / div. ``extra``: ``count_include_pad`` (a bool), or ``(count_include_pad, counted
    pads, divisor_override)``."""

    name, rule, linear = "avg_pool", "d avg_pool/dx = 1/divisor for each window containing x", True

    def forward(self, x: np.ndarray, k: tuple, stride: tuple, pads: tuple, dilation: tuple, extra: Any) -> tuple:
        include, counted, override = extra if isinstance(extra, tuple) else (extra, pads, None)
        win, out, Sp = self.windows(x, k, stride, pads, dilation, 0.0)
        K = win.shape[-1]
        if override is not None:
            div = np.asarray(float(override), dtype=x.dtype)
        elif include and counted == pads or not any(lo or hi for lo, hi in pads):
            div = np.asarray(float(K), dtype=x.dtype)
        else:  # count the window's elements inside the counted region of the padded plane
            mask = np.ones((), dtype=x.dtype)
            for n, (lo, hi), (clo, chi) in zip(x.shape[-len(k):], pads, counted):
                axis = np.zeros(n + lo + hi, dtype=x.dtype)
                axis[lo - clo if include else lo:lo + n + chi if include else lo + n] = 1
                mask = np.multiply.outer(mask, axis)
            div = self.windows(mask, k, stride, ((0, 0),) * len(k), dilation, 0.0)[0].sum(axis=-1)
        y = (win.sum(axis=-1) / div).astype(x.dtype, copy=False)
        return y, (k, pads, Sp, div, out, stride, dilation)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        k, pads, Sp, div, out, stride, dilation = node._ctx
        gd = (g / div).reshape(-1, math.prod(out), 1)
        x = node._parents[0]._data
        return (_scatter_windows(gd, g.shape[:lead(node, g)] + x.shape, x.dtype, k, stride, pads, dilation),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        from .layout import EXPAND, RESHAPE
        k, pads, Sp, div, out, stride, dilation = node._ctx
        pos = _pool_index(Sp, out, k, stride, dilation)  # (P, K)
        planes = node._data.size // pos.shape[0]
        gd = RESHAPE(g / (div if np.ndim(div) == 0 else div.reshape(out)), (planes, pos.shape[0], 1))
        at = np.broadcast_to(pos, (planes,) + pos.shape).reshape(planes, pos.size)
        return (_tscatter(EXPAND(gd, (planes,) + pos.shape), at, node._parents[0]._data.shape, Sp, pads),)


class Unfold(_Pool):
    """im2col: ``x`` (..., C, *S) -> (..., C*K, P), column t holding window t's elements,
    rows ordered (channel, kernel offset) as torch: ``out[..., c*K + j, t] = xp[..., c,
    t*s + j*d]`` (``xp`` zero-padded by ``pads``). Its vjp is col2im of the cotangent (``Fold``'s
    forward): each element's cotangent added back at its position."""

    name, rule, linear = "unfold", "d unfold/dx = 1 at each window element's position (col2im of g)", True

    def forward(self, x: np.ndarray, k: tuple, stride: tuple, pads: tuple, dilation: tuple, extra: Any) -> tuple:
        return self.im2col(x, k, stride, pads, dilation), (k, stride, pads, dilation)

    @staticmethod
    def im2col(x: np.ndarray, k: tuple, stride: tuple, pads: tuple, dilation: tuple) -> np.ndarray:
        """The windows of the last ``len(k)`` axes as columns: (..., C*K, P)."""
        nd = len(k)
        win = _Pool.windows(x, k, stride, pads, dilation, 0.0)[0]  # (..., C, *out, K)
        lead_, C, K = x.shape[:-nd - 1], x.shape[-nd - 1], win.shape[-1]
        P = math.prod(win.shape[len(lead_) + 1:-1])  # (sizes, not -1: an empty batch reshapes too)
        win = win.reshape(lead_ + (C, P, K))  # (..., C, P, K)
        return np.ascontiguousarray(np.swapaxes(win, -1, -2)).reshape(lead_ + (C * K, P))

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        k, stride, pads, dilation = node._ctx
        x = node._parents[0]._data
        return (Fold.col2im(g, g.shape[:lead(node, g)] + x.shape, x.dtype, k, stride, pads, dilation),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        """col2im of the cotangent by the (linear, differentiable) fold op."""
        k = node._ctx[0]
        return (FOLD(g, *node._ctx, node._parents[0]._data.shape[-len(k):]),)


class Fold(_Pool):
    """col2im: ``x`` (..., C*K, P) -> (..., C, *S) (``extra``: S), each column's entries added
    at their window positions (overlaps add up; the padding is cut off), the adjoint of
    ``Unfold``; its vjp is im2col of the cotangent."""

    name, rule, linear = "fold", "d fold/dx = the cotangent at each window element's position (im2col of g)", True

    def forward(self, x: np.ndarray, k: tuple, stride: tuple, pads: tuple, dilation: tuple, extra: Any) -> tuple:
        C = x.shape[-2] // math.prod(k)
        y = self.col2im(x, x.shape[:-2] + (C,) + tuple(extra), x.dtype, k, stride, pads, dilation)
        return y, (k, stride, pads, dilation)

    @staticmethod
    def col2im(c: np.ndarray, shape: tuple, dtype: Any, k: tuple, stride: tuple, pads: tuple,
               dilation: tuple) -> np.ndarray:
        """``c`` (..., C*K, P) added up into an array of ``shape`` (..., C, *S)."""
        K = math.prod(k)
        w = np.swapaxes(c.reshape((-1, K, c.shape[-1])), 1, 2)  # (planes, P, K)
        return _scatter_windows(w, shape, dtype, k, stride, pads, dilation)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        return (Unfold.im2col(g, *node._ctx),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        """im2col of the cotangent by the (linear, differentiable) unfold op."""
        return (UNFOLD(g, *node._ctx),)


class MaxUnpool(Op):
    """out[..., idx[..., j]] = x[..., j] in a zero plane of ``out_shape`` per leading index; the
    vjp reads the cotangent at the indices. A position written twice (overlapping pooling
    windows with the same maximum: equal values) keeps the later one, and, as in torch, both
    elements read its cotangent (torch's convention at this tie, not a derivative)."""

    name, rule, linear = "max_unpool", "d max_unpool/dx_j = 1 at out position idx_j", True

    def __call__(self, x: Any, idx: np.ndarray, out_shape: tuple) -> Any:
        try:
            out, ctx = self.forward(x._data, idx, out_shape)
        except Exception as e:
            failed(self, e, (x,))
            raise
        bs, mix = batchstate.unary(self.name, x, True) if x._bs else (0, None)
        return make(out, self, (x,), ctx, x._rg, bs, mix)

    def forward(self, x: np.ndarray, idx: np.ndarray, out_shape: tuple) -> tuple:
        nd = len(out_shape)
        lead_shape = x.shape[:-nd]
        planes, size = math.prod(lead_shape), math.prod(out_shape)
        flat_idx = idx.reshape(planes, math.prod(idx.shape[len(lead_shape):]))  # (explicit: planes may be 0)
        y = np.zeros((planes, size), dtype=x.dtype)
        y[np.arange(planes)[:, None], flat_idx] = x.reshape(planes, math.prod(x.shape[-nd:]))
        return y.reshape(lead_shape + tuple(out_shape)), (flat_idx, nd)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        flat_idx, nd = node._ctx
        x = node._parents[0]._data
        n = lead(node, g)
        gf = g.reshape(g.shape[:n] + flat_idx.shape[:1] + (math.prod(node._data.shape[-nd:]),))
        dx = np.take_along_axis(gf, np.broadcast_to(flat_idx, g.shape[:n] + flat_idx.shape), axis=-1)
        return (dx.reshape(g.shape[:n] + x.shape).astype(x.dtype, copy=False),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        """The cotangent read at the indices by the (differentiable) gather op."""
        from .select import GATHER
        flat_idx, nd = node._ctx
        return (GATHER(g.reshape(flat_idx.shape[0], math.prod(node._data.shape[-nd:])), 1,
                       flat_idx).reshape(node._parents[0]._data.shape),)


MAXPOOL, AVGPOOL, MAXUNPOOL, UNFOLD, FOLD = MaxPool(), AvgPool(), MaxUnpool(), Unfold(), Fold()
