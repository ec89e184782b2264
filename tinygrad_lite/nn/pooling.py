"""The pools as functions with torch's names and signatures, over 1, 2 or 3 spatial axes
(one N-d code path, ``ops.pool``): ``max_pool1d/2d/3d`` and ``avg_pool1d/2d/3d`` (with
``ceil_mode``, ``return_indices``, ``count_include_pad`` and ``divisor_override``), their
inverse ``max_unpool1d/2d/3d`` and the adaptive pools (the output size is given, the windows
follow). The modules are in ``pool_layers``.

``ceil_mode=True`` rounds the output length up (``ceil_extra``: an extra pad after the axis
completes the last window, never counted in an average's divisor). An adaptive pool takes,
for output cell ``i`` of ``o`` over an axis of ``n``, the window ``[floor(i n / o),
ceil((i + 1) n / o))``: when ``o`` divides ``n`` on every axis each window has ``n / o``
entries and it is the plain pool with that kernel and stride; otherwise each cell is the
mean (or maximum) of its own slice, joined along the axis. Every window lies inside one
sample, so per-sample gradients pass.
"""

from __future__ import annotations

import itertools
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

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d", "max_unpool1d",
           "max_unpool2d", "max_unpool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
           "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d"]


def _input(x: Any, nd: int, who: str) -> Tensor:
    """``x`` as a Tensor of ``nd`` spatial axes after a channel axis and an optional batch axis."""
    x = F._t(x)
    if x.data.ndim not in (nd + 1, nd + 2):
        want = F.batched_shape(nd)
        raise ValueError(f"{who}: expected an input of shape {want} or {want.replace('B, ', '')}, got "
                         f"{x.data.shape}")
    return x


def check_half(p: tuple, k: tuple, who: str, fn: str = "") -> None:
    """torch's rule for the pools: the padding at most half of the kernel size on every axis
    (a layer names its function ``fn`` too)."""
    if any(2 * pp > kk for pp, kk in zip(p, k)):
        raise ValueError(f"{who}: padding {p} must be at most half of the kernel size {k}"
                         + (f" (as {fn} requires of its padding)" if fn else ""))


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
          who: str, extra: Any, nd: int) -> Any:
    """The checked sizes of an ``nd``-d pool, and the pool ``op`` over the last ``nd`` axes."""
    check_bool(who, "ceil_mode", ceil_mode)
    x = _input(x, nd, who)
    k = F._tuple(kernel_size, nd, "kernel_size", who)
    empty = stride is None or (isinstance(stride, (tuple, list)) and not stride)  # torch's default: the kernel
    s = k if empty else F._tuple(stride, nd, "stride", who)
    d = F._tuple(dilation, nd, "dilation", who)
    p = F._tuple(padding, nd, "padding", who, lo=0)
    check_half(p, k, who)
    S = x.data.shape[-nd:]
    pads = tuple((pp, pp + (ceil_extra(n, kk, ss, pp, dd) if ceil_mode else 0))
                 for n, kk, ss, pp, dd in zip(S, k, s, p, d))
    # (ceil_mode's extra padding completes a last window, also one wider than the input, as torch)
    if any(dd * (kk - 1) + 1 > n + a + b for n, kk, (a, b), dd in zip(S, k, pads, d)):
        padded = tuple(a + 2 * b for a, b in zip(S, p))
        raise ValueError(f"{who}: kernel of size {k[0] if nd == 1 else k} is larger than the padded input "
                         f"{f'length {padded[0]}' if nd == 1 else padded} (input shape {x.data.shape})")
    if isinstance(extra, list):  # average pooling: (count_include_pad, the declared padding, divisor_override)
        extra = (extra[0], tuple((a, a) for a in p), extra[1])
    return op(x, k, s, pads, d, extra)


def max_pool(input: Any, kernel_size: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool,
             return_indices: bool, nd: int) -> Any:
    """``max_pool{nd}d``: out[i] = max_j xp[i*stride + j*dilation] (implicit -inf padding)."""
    who = f"max_pool{nd}d"
    check_bool(who, "return_indices", return_indices)
    return _pool(MAXPOOL, input, kernel_size, stride, padding, dilation, ceil_mode, who, bool(return_indices), nd)


def avg_pool(input: Any, kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool, count_include_pad: bool,
             divisor_override: Any, nd: int) -> Tensor:
    """``avg_pool{nd}d``: out[i] = sum_j xp[i*stride + j] / divisor."""
    who = f"avg_pool{nd}d"
    check_bool(who, "count_include_pad", count_include_pad)
    if divisor_override is not None and (isinstance(divisor_override, (bool, np.bool_)) or not isinstance(
            divisor_override, (int, np.integer)) or divisor_override == 0):
        raise ValueError(f"{who}: divisor_override must be None or a non-zero int, got {divisor_override!r}")
    return _pool(AVGPOOL, input, kernel_size, stride, padding, 1, ceil_mode, who,
                 [bool(count_include_pad), None if divisor_override is None else int(divisor_override)], nd)


def max_pool1d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """The maximum of each window of ``(B, C, L)`` (implicit -inf padding); the gradient goes to
    each window's maximum. ``ceil_mode`` and ``return_indices`` (the position along L) as torch."""
    return max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1)


def max_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """The maximum of each window (implicit -inf padding); the gradient goes to each window's
    (first) maximum. ``ceil_mode``: the output length rounds up (a last, partial window);
    ``return_indices``: ``(output, indices)`` with each maximum's flat index ``h * W + w`` in
    its channel plane (int64), as torch (``max_unpool2d`` takes them)."""
    return max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2)


def max_pool3d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """``max_pool2d`` over ``(B, C, D, H, W)``; an index is ``(d * H + h) * W + w``."""
    return max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 3)


def avg_pool1d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """The mean of each window of ``(B, C, L)`` (zero padding counted unless
    ``count_include_pad=False``; ``ceil_mode`` as ``avg_pool2d``)."""
    return avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1)


def avg_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: Any = None) -> Tensor:
    """The sum of each window over its divisor: the window size counting the zero padding (but
    not the extra ``ceil_mode`` padding), the number of input elements in it with
    ``count_include_pad=False``, or ``divisor_override`` (a non-zero int), as torch."""
    return avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 2)


def avg_pool3d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: Any = None) -> Tensor:
    """``avg_pool2d`` over ``(B, C, D, H, W)`` (the same divisor rules)."""
    return avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 3)


def _unpool(input: Any, indices: Any, kernel_size: Any, stride: Any, padding: Any, output_size: Any, nd: int,
            who: str) -> Tensor:
    x = _input(input, nd, who)
    idx = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
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


def max_unpool1d(input: Any, indices: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 output_size: Any = None) -> Tensor:
    """The inverse of ``max_pool1d(..., return_indices=True)`` over ``(B, C, L)``."""
    return _unpool(input, indices, kernel_size, stride, padding, output_size, 1, "max_unpool1d")


def max_unpool2d(input: Any, indices: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 output_size: Any = None) -> Tensor:
    """The inverse of ``max_pool2d(..., return_indices=True)``: each value at its flat index
    in a zero plane of ``(H_in - 1) s - 2p + k`` per axis (or ``output_size``); the gradient
    is the cotangent read at the indices."""
    return _unpool(input, indices, kernel_size, stride, padding, output_size, 2, "max_unpool2d")


def max_unpool3d(input: Any, indices: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 output_size: Any = None) -> Tensor:
    """The inverse of ``max_pool3d(..., return_indices=True)`` over ``(B, C, D, H, W)``."""
    return _unpool(input, indices, kernel_size, stride, padding, output_size, 3, "max_unpool3d")


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
        elif isinstance(o, (bool, np.bool_)) or not isinstance(o, (int, np.integer)) or o < 0:
            raise ValueError(f"{who}: output_size entries must be ints >= 0 or None, got {output_size!r}")
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
            lo, hi = _cell(i, n, o)
            part = x[(slice(None),) * axis + (slice(lo, hi),)]
            cells.append(part.mean(axis=axis, keepdims=True) if reduce == "mean"
                         else part.max(axis=axis, keepdims=True))
        x = cat(cells, axis=axis) if len(cells) > 1 else cells[0]
    return x


def _cell(i: int, n: int, o: int) -> tuple:
    """The window ``[floor(i n / o), ceil((i + 1) n / o))`` of output cell ``i``."""
    return (i * n) // o, -(-(i + 1) * n // o)


def _adaptive_nd(input: Any, output_size: Any, reduce: str, who: str, nd: int) -> Tensor:
    x = _input(input, nd, who)
    S = x.data.shape[-nd:]
    sizes = _sizes(output_size, S, who)
    if 0 in sizes:  # an empty output, as torch's (still a result of the input)
        return x.reshape(-1)[:0].reshape(x.data.shape[:-nd] + sizes)
    if 0 in S:
        raise ValueError(f"{who}: the input's spatial size {S} is empty")
    if all(n % o == 0 for n, o in zip(S, sizes)):  # equal windows: the plain pool
        k = tuple(n // o for n, o in zip(S, sizes))
        op, extra = (AVGPOOL, [True, None]) if reduce == "mean" else (MAXPOOL, False)
        return _pool(op, x, k, k, 0, 1, False, who, extra, nd)
    if reduce == "max":  # each cell's first maximum, read at its index (the gradient goes there, as torch)
        idx = _adaptive_indices(x, sizes)
        lead = x.data.shape[:-nd]
        return x.reshape(lead + (math.prod(S),)).gather(-1, idx.reshape(lead + (math.prod(sizes),))).reshape(
            lead + sizes)
    return _adaptive(x, sizes, reduce)


def _adaptive_indices(x: Tensor, sizes: tuple) -> Tensor:
    """torch's indices of an adaptive max pool: each cell's (first) maximum as its flat index
    in the channel plane, ``h * W + w`` in 2-d (int64, no gradient)."""
    xd = x.data
    nd = len(sizes)
    S, lead = xd.shape[-nd:], xd.shape[:-nd]
    idx = np.empty(lead + tuple(sizes), dtype=np.int64)
    for cell in itertools.product(*(range(o) for o in sizes)):
        box = [_cell(i, n, o) for i, n, o in zip(cell, S, sizes)]
        win = xd[(Ellipsis,) + tuple(slice(lo, hi) for lo, hi in box)]
        at = np.argmax(win.reshape(lead + (math.prod(win.shape[-nd:]),)), axis=-1)  # the first maximum (or a nan)
        coords = np.unravel_index(at, win.shape[-nd:])
        idx[(Ellipsis,) + cell] = np.ravel_multi_index(tuple(c + lo for c, (lo, _) in zip(coords, box)), S)
    return make(idx, None, (), None, False, *derived("adaptive_max_pool", idx.shape, x))


def adaptive_avg_pool(input: Any, output_size: Any, nd: int) -> Tensor:
    """``adaptive_avg_pool{nd}d``: each output cell the mean of its window."""
    return _adaptive_nd(input, output_size, "mean", f"adaptive_avg_pool{nd}d", nd)


def adaptive_max_pool(input: Any, output_size: Any, return_indices: bool, nd: int) -> Any:
    """``adaptive_max_pool{nd}d``, with torch's indices when ``return_indices``."""
    who = f"adaptive_max_pool{nd}d"
    check_bool(who, "return_indices", return_indices)
    out = _adaptive_nd(input, output_size, "max", who, nd)
    return (out, _adaptive_indices(F._t(input), out.shape[-nd:])) if return_indices else out


def adaptive_avg_pool1d(input: Any, output_size: Any) -> Tensor:
    """Mean over adaptive windows: (B, C, L) -> (B, C, output_size)."""
    return adaptive_avg_pool(input, output_size, 1)


def adaptive_avg_pool2d(input: Any, output_size: Any) -> Tensor:
    """Mean over adaptive windows: (B, C, H, W) -> (B, C, *output_size); ``(1, 1)`` is the
    global average pool."""
    return adaptive_avg_pool(input, output_size, 2)


def adaptive_avg_pool3d(input: Any, output_size: Any) -> Tensor:
    """Mean over adaptive windows: (B, C, D, H, W) -> (B, C, *output_size)."""
    return adaptive_avg_pool(input, output_size, 3)


def adaptive_max_pool1d(input: Any, output_size: Any, return_indices: bool = False) -> Any:
    """Maximum over adaptive windows: (B, C, L) -> (B, C, output_size); with
    ``return_indices=True`` also the position of each maximum along L."""
    return adaptive_max_pool(input, output_size, return_indices, 1)


def adaptive_max_pool2d(input: Any, output_size: Any, return_indices: bool = False) -> Any:
    """Maximum over adaptive windows: (B, C, H, W) -> (B, C, *output_size); with
    ``return_indices=True`` also torch's flat indices in each channel plane."""
    return adaptive_max_pool(input, output_size, return_indices, 2)


def adaptive_max_pool3d(input: Any, output_size: Any, return_indices: bool = False) -> Any:
    """Maximum over adaptive windows: (B, C, D, H, W) -> (B, C, *output_size) (indices as
    ``max_pool3d``'s)."""
    return adaptive_max_pool(input, output_size, return_indices, 3)
