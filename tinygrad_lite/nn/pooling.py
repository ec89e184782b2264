"""The pools as functions with torch's names and signatures: ``max_pool2d`` / ``avg_pool2d``
(with ``ceil_mode``, ``return_indices``, ``count_include_pad`` and ``divisor_override``),
their inverse ``max_unpool1d/2d``, 1-d pools over ``(B, C, L)`` and the adaptive pools (the
output size is given, the windows follow); the 1-d, unpooling and adaptive modules.

``ceil_mode=True`` rounds the output length up (``ceil_extra``: an extra pad after the axis
completes the last window, never counted in an average's divisor). A 1-d pool is the 2-d
pool over ``(B, C, 1, L)``. An adaptive pool takes, for output cell
``i`` of ``o`` over an axis of ``n``, the window ``[floor(i n / o), ceil((i + 1) n / o))``:
when ``o`` divides ``n`` every window has ``n / o`` entries and it is the plain pool with
that kernel and stride; otherwise each cell is the mean (or maximum) of its own slice,
joined along the axis. Every window lies inside one sample, so per-sample gradients pass.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..batchstate import derived
from ..conventions import check_bool
from ..ops.base import make
from ..ops.layout import cat
from ..ops.pool import AVGPOOL, MAXPOOL, MAXUNPOOL
from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["max_pool2d", "avg_pool2d", "max_unpool1d", "max_unpool2d", "MaxUnpool1d", "MaxUnpool2d",
           "max_pool1d", "avg_pool1d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d",
           "adaptive_max_pool2d", "MaxPool1d", "AvgPool1d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
           "AdaptiveMaxPool1d", "AdaptiveMaxPool2d"]


def _one(v: Any, name: str, who: str, lo: int = 1) -> int:
    return F._tuple(v, 1, name, who, lo=lo)[0]


def ceil_extra(n: int, k: int, s: int, p: int, d: int) -> int:
    """The padding ``ceil_mode=True`` adds after an axis of ``n`` (kernel k, stride s, padding
    p, dilation d): torch's output length is ``ceil((n + 2p - d(k-1) - 1) / s) + 1``, less one
    when the last window would start beyond the input and its left padding; the extra pad
    completes that last window."""
    span = n + 2 * p - d * (k - 1) - 1
    out = -(-span // s) + 1
    if (out - 1) * s >= n + p:
        out -= 1
    return max(0, (out - 1) * s + d * (k - 1) + 1 - (n + 2 * p))


def _pool(op: Any, x: Any, kernel_size: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool,
          who: str, extra: Any = None) -> Any:
    check_bool(who, "ceil_mode", ceil_mode)
    x = F._t(x)
    if x.data.ndim not in (3, 4):
        raise ValueError(f"{who}: expected an input of shape (B, C, H, W) or (C, H, W), got {x.data.shape}")
    k = F._tuple(kernel_size, 2, "kernel_size", who)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) else F._tuple(stride, 2, "stride",
                                                                                                  who)
    d = F._tuple(dilation, 2, "dilation", who)
    p = F._tuple(padding, 2, "padding", who, lo=0)
    if any(2 * pp > kk for pp, kk in zip(p, k)):
        raise ValueError(f"{who}: padding {p} must be at most half of the kernel size {k}")
    S = x.data.shape[-2:]
    for n, kk, pp, dd in zip(S, k, p, d):
        if dd * (kk - 1) + 1 > n + 2 * pp:
            raise ValueError(f"{who}: kernel of size {k} is larger than the padded input "
                             f"{tuple(a + 2 * b for a, b in zip(S, p))} (input shape {x.data.shape})")
    pads = tuple((pp, pp + (ceil_extra(n, kk, ss, pp, dd) if ceil_mode else 0))
                 for n, kk, ss, pp, dd in zip(S, k, s, p, d))
    if isinstance(extra, list):  # average pooling: (count_include_pad, the declared padding, divisor_override)
        extra = (extra[0], tuple((a, a) for a in p), extra[1])
    return op(x, k, s, pads, d, extra)


def max_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """The maximum of each window (implicit -inf padding); the gradient goes to each window's
    (first) maximum. ``ceil_mode``: the output length rounds up (a last, partial window);
    ``return_indices``: ``(output, indices)`` with each maximum's flat index ``h * W + w`` in
    its channel plane (int64), as torch (``max_unpool2d`` takes them)."""
    check_bool("max_pool2d", "return_indices", return_indices)
    return _pool(MAXPOOL, input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d",
                 bool(return_indices))


def avg_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: Any = None) -> Tensor:
    """The sum of each window over its divisor: the window size counting the zero padding (but
    not the extra ``ceil_mode`` padding), the number of input elements in it with
    ``count_include_pad=False``, or ``divisor_override`` (a non-zero int), as torch."""
    check_bool("avg_pool2d", "count_include_pad", count_include_pad)
    if divisor_override is not None and (isinstance(divisor_override, (bool, np.bool_)) or not isinstance(
            divisor_override, (int, np.integer)) or divisor_override == 0):
        raise ValueError(f"avg_pool2d: divisor_override must be None or a non-zero int, got {divisor_override!r}")
    return _pool(AVGPOOL, input, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d",
                 [bool(count_include_pad), None if divisor_override is None else int(divisor_override)])


def _as_1d(x: Any, who: str) -> Tensor:
    x = F._t(x)
    if x.data.ndim not in (2, 3):
        raise ValueError(f"{who}: expected an input of shape (B, C, L) or (C, L), got {x.data.shape}")
    return x


def _pool1d(pool: Any, x: Any, kernel_size: Any, stride: Any, padding: Any, dilation: int, who: str,
            **kw: Any) -> Any:
    x = _as_1d(x, who)
    k = _one(kernel_size, "kernel_size", who)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) else _one(stride, "stride", who)
    p = _one(padding, "padding", who, lo=0)
    d = _one(dilation, "dilation", who)
    n = x.data.shape[-1]
    if 2 * p > k:
        raise ValueError(f"{who}: padding {p} must be at most half of the kernel size {k}")
    if d * (k - 1) + 1 > n + 2 * p:
        raise ValueError(f"{who}: kernel of size {k} is larger than the padded input length {n + 2 * p} "
                         f"(input shape {x.data.shape})")
    out = pool(x.unsqueeze(-2), (1, k), (1, s), (0, p), **({"dilation": (1, d)} if d != 1 else {}), **kw)
    if isinstance(out, tuple):  # (values, indices): an index in the plane (1, L) is the position itself
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def max_pool1d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """The maximum of each window of ``(B, C, L)`` (implicit -inf padding); the gradient goes to
    each window's maximum. ``ceil_mode`` and ``return_indices`` (the position along L) as torch."""
    check_bool("max_pool1d", "ceil_mode", ceil_mode)
    check_bool("max_pool1d", "return_indices", return_indices)
    return _pool1d(max_pool2d, input, kernel_size, stride, padding, dilation, "max_pool1d",
                   ceil_mode=bool(ceil_mode), return_indices=bool(return_indices))


def avg_pool1d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """The mean of each window of ``(B, C, L)`` (zero padding counted unless
    ``count_include_pad=False``; ``ceil_mode`` as ``avg_pool2d``)."""
    check_bool("avg_pool1d", "ceil_mode", ceil_mode)
    check_bool("avg_pool1d", "count_include_pad", count_include_pad)
    return _pool1d(avg_pool2d, input, kernel_size, stride, padding, 1, "avg_pool1d", ceil_mode=bool(ceil_mode),
                   count_include_pad=bool(count_include_pad))


def _unpool(input: Any, indices: Any, kernel_size: Any, stride: Any, padding: Any, output_size: Any, nd: int,
            who: str) -> Tensor:
    x = F._t(input)
    idx = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    if x.data.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"{who}: expected an input of {nd + 1} or {nd + 2} axes, got shape {x.data.shape}")
    if idx.shape != x.data.shape or idx.dtype.kind not in "iu":
        raise ValueError(f"{who}: indices must be integers of the input's shape {x.data.shape}, got {idx.dtype} "
                         f"{idx.shape}")
    k = F._tuple(kernel_size, nd, "kernel_size", who)
    s = k if stride is None else F._tuple(stride, nd, "stride", who)
    p = F._tuple(padding, nd, "padding", who, lo=0)
    S = x.data.shape[-nd:]
    default = tuple((n - 1) * ss - 2 * pp + kk for n, kk, ss, pp in zip(S, k, s, p))
    out = default
    if output_size is not None:
        out = tuple(int(v) for v in tuple(output_size)[-nd:])
        if len(tuple(output_size)) not in (nd, nd + 2) or any(
                not d - ss < o < d + ss for o, d, ss in zip(out, default, s)):
            raise ValueError(f"{who}: output_size {tuple(output_size)} must give the last {nd} sizes, each within "
                             f"stride {s} of the default {default}")
    size = math.prod(out)
    if idx.size and (idx.min() < 0 or idx.max() >= size):
        raise ValueError(f"{who}: indices must lie in [0, {size}) for an output plane of {out}, got values in "
                         f"[{idx.min()}, {idx.max()}]")
    return MAXUNPOOL(x, idx.astype(np.int64, copy=False), out)


def max_unpool2d(input: Any, indices: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 output_size: Any = None) -> Tensor:
    """The inverse of ``max_pool2d(..., return_indices=True)``: each value at its flat index
    in a zero plane of ``(H_in - 1) s - 2p + k`` per axis (or ``output_size``); the gradient
    is the cotangent read at the indices."""
    return _unpool(input, indices, kernel_size, stride, padding, output_size, 2, "max_unpool2d")


def max_unpool1d(input: Any, indices: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 output_size: Any = None) -> Tensor:
    """The inverse of ``max_pool1d(..., return_indices=True)`` over ``(B, C, L)``."""
    return _unpool(input, indices, kernel_size, stride, padding, output_size, 1, "max_unpool1d")


def _sizes(output_size: Any, spatial: tuple, who: str) -> tuple:
    """``output_size`` (an int, or a tuple with None for "keep the input's size") per axis."""
    nd = len(spatial)
    raw = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,) * nd
    if len(raw) != nd:
        raise ValueError(f"{who}: output_size must be an int or a tuple of {nd}, got {output_size!r}")
    out = []
    for o, n in zip(raw, spatial):
        if o is None:
            out.append(n)
        elif isinstance(o, (bool, np.bool_)) or not isinstance(o, (int, np.integer)) or o < 1:
            raise ValueError(f"{who}: output_size entries must be positive ints or None, got {output_size!r}")
        else:
            out.append(int(o))
    return tuple(out)


def _adaptive(x: Tensor, sizes: tuple, reduce: str) -> Tensor:
    """Pool the last ``len(sizes)`` axes of ``x`` to ``sizes`` cell by cell (axis by axis)."""
    for j, o in enumerate(sizes):
        axis = x.data.ndim - len(sizes) + j
        n = x.data.shape[axis]
        if o == n:
            continue
        cells = []
        for i in range(o):
            lo, hi = (i * n) // o, math.ceil((i + 1) * n / o)
            part = x[(slice(None),) * axis + (slice(lo, hi),)]
            cells.append(part.mean(axis=axis, keepdims=True) if reduce == "mean"
                         else part.max(axis=axis, keepdims=True))
        x = cat(cells, axis=axis) if len(cells) > 1 else cells[0]
    return x


def _adaptive2d(input: Any, output_size: Any, reduce: str, who: str) -> Tensor:
    x = F._t(input)
    if x.data.ndim not in (3, 4):
        raise ValueError(f"{who}: expected an input of shape (B, C, H, W) or (C, H, W), got {x.data.shape}")
    H, W = x.data.shape[-2:]
    oh, ow = _sizes(output_size, (H, W), who)
    if H == 0 or W == 0:
        raise ValueError(f"{who}: the input's spatial size {(H, W)} is empty")
    if H % oh == 0 and W % ow == 0:  # equal windows: the plain pool
        k = (H // oh, W // ow)
        return F.avg_pool2d(x, k, k) if reduce == "mean" else F.max_pool2d(x, k, k)
    if reduce == "max":  # each cell's first maximum, read at its index (the gradient goes there, as torch)
        idx = _adaptive_indices(x, (oh, ow))
        lead = x.data.shape[:-2]
        return x.reshape(lead + (H * W,)).gather(-1, idx.reshape(lead + (oh * ow,))).reshape(lead + (oh, ow))
    return _adaptive(x, (oh, ow), reduce)


def adaptive_avg_pool2d(input: Any, output_size: Any) -> Tensor:
    """Mean over adaptive windows: (B, C, H, W) -> (B, C, *output_size); ``(1, 1)`` is the
    global average pool."""
    return _adaptive2d(input, output_size, "mean", "adaptive_avg_pool2d")


def _adaptive_indices(x: Tensor, sizes: tuple) -> Tensor:
    """torch's indices of ``adaptive_max_pool2d``: each cell's (first) maximum as its flat
    index ``h * W + w`` in the channel plane (int64, no gradient)."""
    xd = x.data
    H, W = xd.shape[-2:]
    oh, ow = sizes
    idx = np.empty(xd.shape[:-2] + (oh, ow), dtype=np.int64)
    for i in range(oh):
        h0, h1 = (i * H) // oh, math.ceil((i + 1) * H / oh)
        for j in range(ow):
            w0, w1 = (j * W) // ow, math.ceil((j + 1) * W / ow)
            win = xd[..., h0:h1, w0:w1].reshape(xd.shape[:-2] + (-1,))
            at = np.argmax(win, axis=-1)  # the first maximum (or a nan)
            idx[..., i, j] = (h0 + at // (w1 - w0)) * W + w0 + at % (w1 - w0)
    return make(idx, None, (), None, False, *derived("adaptive_max_pool", idx.shape, x))


def adaptive_max_pool2d(input: Any, output_size: Any, return_indices: bool = False) -> Any:
    """Maximum over adaptive windows: (B, C, H, W) -> (B, C, *output_size); with
    ``return_indices=True`` also torch's flat indices in each channel plane."""
    check_bool("adaptive_max_pool2d", "return_indices", return_indices)
    out = _adaptive2d(input, output_size, "max", "adaptive_max_pool2d")
    return (out, _adaptive_indices(F._t(input), out.shape[-2:])) if return_indices else out


def adaptive_avg_pool1d(input: Any, output_size: Any) -> Tensor:
    """Mean over adaptive windows: (B, C, L) -> (B, C, output_size)."""
    x = _as_1d(input, "adaptive_avg_pool1d")
    (o,) = _sizes(output_size, x.data.shape[-1:], "adaptive_avg_pool1d")
    return _adaptive2d(x.unsqueeze(-2), (1, o), "mean", "adaptive_avg_pool1d").squeeze(-2)


def adaptive_max_pool1d(input: Any, output_size: Any, return_indices: bool = False) -> Any:
    """Maximum over adaptive windows: (B, C, L) -> (B, C, output_size); with
    ``return_indices=True`` also the position of each maximum along L."""
    check_bool("adaptive_max_pool1d", "return_indices", return_indices)
    x = _as_1d(input, "adaptive_max_pool1d")
    (o,) = _sizes(output_size, x.data.shape[-1:], "adaptive_max_pool1d")
    out = _adaptive2d(x.unsqueeze(-2), (1, o), "max", "adaptive_max_pool1d").squeeze(-2)
    return (out, _adaptive_indices(x.unsqueeze(-2), (1, o)).squeeze(-2)) if return_indices else out


class _Pool1d(Module):
    _fn: Any = None

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, **kw: Any) -> None:
        who = type(self).__name__
        k = _one(kernel_size, "kernel_size", who)
        if stride is not None:
            _one(stride, "stride", who)
        if 2 * _one(padding, "padding", who, lo=0) > k:
            raise ValueError(f"{who}: padding {padding} must be at most half of the kernel size {k}")
        stride = kernel_size if stride is None else stride  # (as torch keeps it)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self._kw = kw

    def forward(self, x: Any) -> Tensor:
        return type(self)._fn(x, self.kernel_size, self.stride, self.padding, **self._kw)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool1d(_Pool1d):
    """The maximum of each kernel_size window of (B, C, L) (stride defaults to kernel_size);
    with ``return_indices=True`` the forward returns ``(output, indices)``."""

    _fn = staticmethod(max_pool1d)

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        _one(dilation, "dilation", "MaxPool1d")
        super().__init__(kernel_size, stride, padding, dilation=dilation,
                         return_indices=check_bool("MaxPool1d", "return_indices", return_indices),
                         ceil_mode=check_bool("MaxPool1d", "ceil_mode", ceil_mode))
        self.dilation, self.return_indices, self.ceil_mode = dilation, self._kw["return_indices"], self._kw["ceil_mode"]

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, dilation={self.dilation}, ceil_mode={self.ceil_mode}"


class AvgPool1d(_Pool1d):
    """The mean of each kernel_size window of (B, C, L) (stride defaults to kernel_size)."""

    _fn = staticmethod(avg_pool1d)

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode=check_bool("AvgPool1d", "ceil_mode", ceil_mode),
                         count_include_pad=check_bool("AvgPool1d", "count_include_pad", count_include_pad))

    def extra_repr(self) -> str:  # (torch keeps AvgPool1d's sizes as 1-tuples)
        one = [v if isinstance(v, tuple) else tuple(v) if isinstance(v, list) else (v,)
               for v in (self.kernel_size, self.stride, self.padding)]
        return f"kernel_size={one[0]}, stride={one[1]}, padding={one[2]}"


class _MaxUnpool(Module):
    _fn: Any = None

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        who, nd = type(self).__name__, 2 if type(self).__name__.endswith("2d") else 1
        F._tuple(kernel_size, nd, "kernel_size", who)
        if stride is not None:
            F._tuple(stride, nd, "stride", who)
        F._tuple(padding, nd, "padding", who, lo=0)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, input: Any, indices: Any, output_size: Any = None) -> Tensor:
        return type(self)._fn(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpool):
    """``max_unpool1d`` as a module: ``forward(input, indices, output_size=None)``."""

    _fn = staticmethod(max_unpool1d)


class MaxUnpool2d(_MaxUnpool):
    """``max_unpool2d`` as a module: ``forward(input, indices, output_size=None)``."""

    _fn = staticmethod(max_unpool2d)


class _Adaptive(Module):
    _fn: Any = None
    _nd = 2

    def __init__(self, output_size: Any) -> None:
        _sizes(output_size, (1,) * self._nd, type(self).__name__)  # checked now, resolved per input
        self.output_size = output_size

    def forward(self, x: Any) -> Tensor:
        return type(self)._fn(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(_Adaptive):
    """Mean over adaptive windows to ``output_size`` (``AdaptiveAvgPool2d(1)``: global average)."""

    _fn = staticmethod(adaptive_avg_pool2d)


class _AdaptiveMax(_Adaptive):
    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__(output_size)
        self.return_indices = check_bool(type(self).__name__, "return_indices", return_indices)

    def forward(self, x: Any) -> Any:
        return type(self)._fn(x, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_AdaptiveMax):
    """Maximum over adaptive windows to ``output_size`` (``return_indices``: also the indices)."""

    _fn = staticmethod(adaptive_max_pool2d)


class AdaptiveAvgPool1d(_Adaptive):
    """Mean over adaptive windows of (B, C, L) to ``output_size``."""

    _fn, _nd = staticmethod(adaptive_avg_pool1d), 1


class AdaptiveMaxPool1d(_AdaptiveMax):
    """Maximum over adaptive windows of (B, C, L) to ``output_size``."""

    _fn, _nd = staticmethod(adaptive_max_pool1d), 1
