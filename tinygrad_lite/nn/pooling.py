"""The pools beyond ``max_pool2d`` / ``avg_pool2d``: 1-d pools over ``(B, C, L)`` and the
adaptive pools (the output size is given, the windows follow), as functions and modules
with torch's names and signatures.

A 1-d pool is the 2-d pool over ``(B, C, 1, L)``. An adaptive pool takes, for output cell
``i`` of ``o`` over an axis of ``n``, the window ``[floor(i n / o), ceil((i + 1) n / o))``:
when ``o`` divides ``n`` every window has ``n / o`` entries and it is the plain pool with
that kernel and stride; otherwise each cell is the mean (or maximum) of its own slice,
joined along the axis. Every window lies inside one sample, so per-sample gradients pass.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..conventions import check_bool
from ..ops.layout import cat
from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["max_pool1d", "avg_pool1d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d",
           "adaptive_max_pool2d", "MaxPool1d", "AvgPool1d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
           "AdaptiveMaxPool1d", "AdaptiveMaxPool2d"]


def _one(v: Any, name: str, who: str, lo: int = 1) -> int:
    return F._tuple(v, 1, name, who, lo=lo)[0]


def _as_1d(x: Any, who: str) -> Tensor:
    x = F._t(x)
    if x.data.ndim not in (2, 3):
        raise ValueError(f"{who}: expected an input of shape (B, C, L) or (C, L), got {x.data.shape}")
    return x


def _pool1d(pool: Any, x: Any, kernel_size: Any, stride: Any, padding: Any, dilation: int, who: str,
            **kw: Any) -> Tensor:
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
    return out.squeeze(-2)


def max_pool1d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    """The maximum of each window of ``(B, C, L)`` (implicit -inf padding); the gradient goes to
    each window's maximum."""
    if ceil_mode or return_indices:
        raise NotImplementedError("max_pool1d: ceil_mode=True and return_indices=True are not supported")
    return _pool1d(F.max_pool2d, input, kernel_size, stride, padding, dilation, "max_pool1d")


def avg_pool1d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """The mean of each window of ``(B, C, L)`` (zero padding counted unless
    ``count_include_pad=False``)."""
    if ceil_mode:
        raise NotImplementedError("avg_pool1d: ceil_mode=True is not supported")
    check_bool("avg_pool1d", "count_include_pad", count_include_pad)
    return _pool1d(F.avg_pool2d, input, kernel_size, stride, padding, 1, "avg_pool1d",
                   count_include_pad=bool(count_include_pad))


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
    return _adaptive(x, (oh, ow), reduce)


def adaptive_avg_pool2d(input: Any, output_size: Any) -> Tensor:
    """Mean over adaptive windows: (B, C, H, W) -> (B, C, *output_size); ``(1, 1)`` is the
    global average pool."""
    return _adaptive2d(input, output_size, "mean", "adaptive_avg_pool2d")


def adaptive_max_pool2d(input: Any, output_size: Any, return_indices: bool = False) -> Tensor:
    """Maximum over adaptive windows: (B, C, H, W) -> (B, C, *output_size)."""
    if return_indices:
        raise NotImplementedError("adaptive_max_pool2d: return_indices=True is not supported")
    return _adaptive2d(input, output_size, "max", "adaptive_max_pool2d")


def adaptive_avg_pool1d(input: Any, output_size: Any) -> Tensor:
    """Mean over adaptive windows: (B, C, L) -> (B, C, output_size)."""
    x = _as_1d(input, "adaptive_avg_pool1d")
    (o,) = _sizes(output_size, x.data.shape[-1:], "adaptive_avg_pool1d")
    return _adaptive2d(x.unsqueeze(-2), (1, o), "mean", "adaptive_avg_pool1d").squeeze(-2)


def adaptive_max_pool1d(input: Any, output_size: Any, return_indices: bool = False) -> Tensor:
    """Maximum over adaptive windows: (B, C, L) -> (B, C, output_size)."""
    if return_indices:
        raise NotImplementedError("adaptive_max_pool1d: return_indices=True is not supported")
    x = _as_1d(input, "adaptive_max_pool1d")
    (o,) = _sizes(output_size, x.data.shape[-1:], "adaptive_max_pool1d")
    return _adaptive2d(x.unsqueeze(-2), (1, o), "max", "adaptive_max_pool1d").squeeze(-2)


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
    """The maximum of each kernel_size window of (B, C, L) (stride defaults to kernel_size)."""

    _fn = staticmethod(max_pool1d)

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 ceil_mode: bool = False) -> None:
        if ceil_mode:
            raise NotImplementedError("MaxPool1d: ceil_mode=True is not supported")
        _one(dilation, "dilation", "MaxPool1d")
        super().__init__(kernel_size, stride, padding, dilation=dilation)
        self.dilation = dilation

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, dilation={self.dilation}, ceil_mode=False"


class AvgPool1d(_Pool1d):
    """The mean of each kernel_size window of (B, C, L) (stride defaults to kernel_size)."""

    _fn = staticmethod(avg_pool1d)

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        if ceil_mode:
            raise NotImplementedError("AvgPool1d: ceil_mode=True is not supported")
        super().__init__(kernel_size, stride, padding,
                         count_include_pad=check_bool("AvgPool1d", "count_include_pad", count_include_pad))

    def extra_repr(self) -> str:  # (torch keeps AvgPool1d's sizes as 1-tuples)
        one = [v if isinstance(v, tuple) else tuple(v) if isinstance(v, list) else (v,)
               for v in (self.kernel_size, self.stride, self.padding)]
        return f"kernel_size={one[0]}, stride={one[1]}, padding={one[2]}"


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


class AdaptiveMaxPool2d(_Adaptive):
    """Maximum over adaptive windows to ``output_size``."""

    _fn = staticmethod(adaptive_max_pool2d)


class AdaptiveAvgPool1d(_Adaptive):
    """Mean over adaptive windows of (B, C, L) to ``output_size``."""

    _fn, _nd = staticmethod(adaptive_avg_pool1d), 1


class AdaptiveMaxPool1d(_Adaptive):
    """Maximum over adaptive windows of (B, C, L) to ``output_size``."""

    _fn, _nd = staticmethod(adaptive_max_pool1d), 1
