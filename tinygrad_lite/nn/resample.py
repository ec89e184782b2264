"""Resizing along the spatial axes: ``F.interpolate`` and ``nn.Upsample`` for (B, C, L),
(B, C, H, W) and (B, C, D, H, W) inputs, with torch's signatures, output sizes and
source-index rules, built from integer-array ``getitem`` and weighted sums so the gradient
is exact and each sample is resized on its own (per-sample gradients pass through).

Each spatial axis of input length ``n`` and output length ``m`` is resized in turn. The
scale ``r`` is ``1 / scale_factor`` when a scale factor is given (and not recomputed), else
``n / m``. Output position ``i`` reads:

* ``"nearest"``: ``x[min(floor(i r), n - 1)]`` (computed in float32, as torch does; with two
  spatial axes, as torch, ``x[i]`` when ``m = n`` and ``x[i // 2]`` when ``m = 2n``, whatever
  the scale);
* ``"nearest-exact"``: ``x[min(floor((i + 1/2) r), n - 1)]``;
* ``"linear"`` / ``"bilinear"`` / ``"trilinear"`` (1, 2, 3 spatial axes): with the source
  coordinate ``u = max((i + 1/2) r - 1/2, 0)`` (``align_corners=False``) or
  ``u = i (n - 1) / (m - 1)`` (``align_corners=True``; 0 when ``m = 1``),
  ``j = min(floor(u), n - 1)``, ``t = min(u - j, 1)``:
  ``y[i] = (1 - t) x[j] + t x[min(j + 1, n - 1)]``; an axis with ``m = n`` is copied
  (``align_corners=False``), whatever the scale, as torch;
* ``"bicubic"`` (2 spatial axes): ``u`` as for linear but not clipped at 0, ``j = floor(u)``,
  ``t = u - j``, and Keys' cubic convolution with ``A = -0.75``:
  ``y[i] = sum_k w_k(t) x[clip(j - 1 + k, 0, n - 1)]``, k = 0..3, with
  ``w_1 = W(t)``, ``w_2 = W(1 - t)``, ``w_0 = W(1 + t)``, ``w_3 = W(2 - t)``, where
  ``W(s) = (A + 2) s^3 - (A + 3) s^2 + 1`` for ``s <= 1`` and
  ``W(s) = A s^3 - 5 A s^2 + 8 A s - 4 A`` for ``1 < s < 2``;
* ``"area"``: the mean of the input cells that output cell ``i`` covers,
  ``x[floor(i n / m) : ceil((i + 1) n / m)]`` (``adaptive_avg_pool``).

The gradient of a gather is a scatter-add, so ``dL/dx[j]`` sums the weights of every
output that read ``x[j]``.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, Optional

import numpy as np

from ..ops.alloc import allocating
from ..tensor import Tensor
from . import functional as F
from .grid import cubic_weights
from .module import Module

__all__ = ["interpolate", "Upsample", "upsample", "upsample_nearest", "upsample_bilinear"]

# the interpolating modes and the number of spatial axes each takes
_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3, "bicubic": 2}
_NEAREST = ("nearest", "nearest-exact", "area")


def _check_mode(mode: Any, align_corners: Any, who: str) -> None:
    if mode not in _NEAREST and mode not in _LINEAR:
        raise NotImplementedError(f"{who}: mode {mode!r} is not supported (supported: 'nearest', 'nearest-exact', "
                                  "'linear', 'bilinear', 'bicubic', 'trilinear', 'area')")
    if align_corners is not None and not isinstance(align_corners, (bool, np.bool_)):
        raise TypeError(f"{who}: align_corners must be a bool or None, got {align_corners!r}")
    if mode in _NEAREST and align_corners is not None:
        raise ValueError(f"{who}: align_corners only applies to the modes 'linear', 'bilinear', 'bicubic' and "
                         f"'trilinear', not {mode!r}")


def _check_given(size: Any, scale_factor: Any, who: str) -> None:
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{who}: give exactly one of size and scale_factor, got size={size!r} and "
                         f"scale_factor={scale_factor!r}")


def _per_axis(v: Any, nd: int, what: str, who: str, ok: Any) -> tuple:
    """``v`` (one value or a tuple of ``nd``) as a tuple of ``nd`` values passing ``ok``."""
    vals = tuple(v) if isinstance(v, (tuple, list)) else (v,) * nd
    if len(vals) != nd or not all(ok(a) for a in vals):
        raise ValueError(f"{who}: {what} must be one positive number or a tuple of {nd}, got {v!r}")
    return vals


def _sizes(S: tuple, size: Any, scale_factor: Any, recompute: Optional[bool], who: str) -> tuple:
    """(output sizes, the scales ``r`` used by the index rules, None where r = n / m)."""
    nd = len(S)
    if size is not None:
        out = _per_axis(size, nd, "size", who, lambda a: isinstance(a, numbers.Integral) and not isinstance(
            a, (bool, np.bool_)) and a >= 1)
        return tuple(int(a) for a in out), (None,) * nd
    sf = _per_axis(scale_factor, nd, "scale_factor", who, lambda a: isinstance(a, numbers.Real) and not isinstance(
        a, (bool, np.bool_)) and 0 < a < math.inf)
    out = tuple(int(math.floor(n * float(f))) for n, f in zip(S, sf))
    if any(o < 1 for o in out):
        raise ValueError(f"{who}: scale_factor {scale_factor!r} gives the output size {out} from the spatial size "
                         f"{S}; each must be at least 1")
    return out, ((None,) * nd if recompute else tuple(1.0 / float(f) for f in sf))


def _nearest(n: int, m: int, r: Optional[float], exact: bool, shortcut: bool = True, wide: bool = False) -> np.ndarray:
    """Source index of each of the m outputs (float32 arithmetic, as torch's; ``wide``: the
    position computed in float64 and rounded to float32, torch's 1-d and 3-d rule for float64
    inputs); ``shortcut``: ``m = n`` copies and ``m = 2n`` halves the index whatever the scale
    (torch's 2-d rule)."""
    i = np.arange(m)
    if not exact and shortcut and m == n:
        return i
    if not exact and shortcut and m == 2 * n:
        return i // 2
    if wide:
        rr64 = float(r) if r is not None else n / m
        pos = (((i + 0.5) * rr64) if exact else i * rr64).astype(np.float32)
        return np.minimum(np.floor(pos).astype(np.int64), n - 1)
    rr = np.float32(r) if r is not None else np.float32(n) / np.float32(m)
    pos = (i.astype(np.float32) + np.float32(0.5)) * rr if exact else i.astype(np.float32) * rr
    return np.minimum(np.floor(pos).astype(np.int64), n - 1)


def _source(n: int, m: int, r: Optional[float], align: bool, dtype: Any, cubic: bool = False) -> np.ndarray:
    """The source coordinate ``u`` of each of the m outputs (clipped at 0 unless ``cubic``)."""
    i = np.arange(m).astype(dtype)
    if align:
        return i * dtype((n - 1) / (m - 1)) if m > 1 else np.zeros(m, dtype)
    rr = dtype(r) if r is not None else dtype(n) / dtype(m)
    u = rr * (i + dtype(0.5)) - dtype(0.5)
    return u if cubic else np.maximum(u, dtype(0))


def _linear(n: int, m: int, r: Optional[float], align: bool, dtype: Any) -> tuple:
    """(j0, j1, t): output i = (1 - t[i]) x[j0[i]] + t[i] x[j1[i]]."""
    if m == n and not align:
        i = np.arange(m)
        return i, i, np.zeros(m, dtype)
    u = _source(n, m, r, align, dtype)
    j0 = np.minimum(np.floor(u).astype(np.int64), n - 1)
    t = np.clip(u - j0, 0, 1).astype(dtype)
    return j0, np.where(j0 < n - 1, j0 + 1, j0), t


def _cubic(n: int, m: int, r: Optional[float], align: bool, dtype: Any) -> list:
    """[(index, weight)] of the four taps: output i = sum_k weight_k[i] x[index_k[i]]."""
    u = _source(n, m, r, align, dtype, cubic=True)
    j = np.floor(u)
    t = (u - j).astype(dtype)
    j = j.astype(np.int64)
    weights = cubic_weights(t)
    return [(np.clip(j - 1 + k, 0, n - 1), w.astype(dtype)) for k, w in enumerate(weights)]


def _take(x: Tensor, axis: int, idx: np.ndarray) -> Tensor:
    return x[(slice(None),) * axis + (idx,)]


@allocating("interpolate")
def interpolate(input: Any, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                align_corners: Optional[bool] = None, recompute_scale_factor: Optional[bool] = None,
                antialias: bool = False, *, who: str = "interpolate") -> Tensor:
    """Resize the spatial axes of (B, C, L), (B, C, H, W) or (B, C, D, H, W) to ``size`` or
    by ``scale_factor`` (output size ``floor(n * scale_factor)``) with the rules of the
    module docstring."""
    _check_mode(mode, align_corners, who)
    _check_given(size, scale_factor, who)
    if antialias:
        raise NotImplementedError(f"{who}: antialias=True is not supported")
    x = F._t(input)
    shape = tuple(x.data.shape)
    nd = x.data.ndim - 2
    if nd not in (1, 2, 3):
        raise ValueError(f"{who}: expected an input of shape (B, C, L), (B, C, H, W) or (B, C, D, H, W), got shape "
                         f"{shape}")
    if mode in _LINEAR and _LINEAR[mode] != nd:
        raise ValueError(f"{who}: mode {mode!r} needs a {_LINEAR[mode] + 2}-d input, got shape {shape}")
    if (mode in _LINEAR or mode == "area") and x.data.dtype.kind != "f":
        raise TypeError(f"{who}: mode {mode!r} needs a floating input, got dtype {x.data.dtype}")
    out, scales = _sizes(shape[2:], size, scale_factor, recompute_scale_factor, who)
    if mode == "area":
        from .pooling import adaptive_avg_pool
        return adaptive_avg_pool(x, out, nd)
    dt = x.data.dtype.type if x.data.dtype.kind == "f" else np.float64
    for a, (n, m, r) in enumerate(zip(shape[2:], out, scales)):
        axis = 2 + a
        if mode in _NEAREST:
            short = nd == 2 or r is None  # torch's 1-d and 3-d nearest apply a given scale even when m = n
            if m != n or mode != "nearest" or not short:
                x = _take(x, axis, _nearest(n, m, r, mode == "nearest-exact", short,
                                            nd != 2 and x.data.dtype == np.float64))
            continue
        bshape = (m,) + (1,) * (nd - 1 - a)
        if mode == "bicubic":
            if m == n and not align_corners and r in (None, 1.0):
                continue  # (t = 0: the taps' weights are 0, 1, 0, 0)
            y = None
            for idx, w in _cubic(n, m, r, bool(align_corners), dt):
                term = _take(x, axis, idx) * w.reshape(bshape)
                y = term if y is None else y + term
            x = y
            continue
        j0, j1, t = _linear(n, m, r, bool(align_corners), dt)
        if m == n and not t.any() and (j0 == np.arange(n)).all():
            continue
        x = _take(x, axis, j0) * (1 - t).reshape(bshape) + _take(x, axis, j1) * t.reshape(bshape)
    return x


def _deprecated(name: str) -> None:
    warnings.warn(f"nn.functional.{name} is deprecated; use nn.functional.interpolate", UserWarning, stacklevel=3)


def upsample(input: Any, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
             align_corners: Optional[bool] = None) -> Tensor:
    """``interpolate(input, size, scale_factor, mode, align_corners)`` under its older name
    (warns that the name is deprecated, as torch)."""
    _deprecated("upsample")
    return interpolate(input, size, scale_factor, mode, align_corners, who="upsample")


def upsample_nearest(input: Any, size: Any = None, scale_factor: Any = None) -> Tensor:
    """``interpolate(input, size, scale_factor, mode="nearest")``: output index i reads input
    index ``floor(i * n_in / n_out)`` (deprecated name, as torch)."""
    _deprecated("upsample_nearest")
    return interpolate(input, size, scale_factor, "nearest", who="upsample_nearest")


def upsample_bilinear(input: Any, size: Any = None, scale_factor: Any = None) -> Tensor:
    """``interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)`` for a
    (B, C, H, W) input: the corner pixels of input and output coincide and each output pixel
    is the bilinear blend of its four neighbours (deprecated name, as torch)."""
    _deprecated("upsample_bilinear")
    return interpolate(input, size, scale_factor, "bilinear", True, who="upsample_bilinear")


class Upsample(Module):
    """``F.interpolate(x, size, scale_factor, mode, align_corners)`` as a module (no
    parameters; every sample is resized on its own)."""

    def __init__(self, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                 align_corners: Optional[bool] = None, recompute_scale_factor: Optional[bool] = None) -> None:
        _check_mode(mode, align_corners, "Upsample")
        _check_given(size, scale_factor, "Upsample")
        self.size = tuple(size) if isinstance(size, list) else size
        if isinstance(scale_factor, (tuple, list)):
            self.scale_factor = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = None if scale_factor is None else float(scale_factor)
        self.mode, self.align_corners, self.recompute_scale_factor = mode, align_corners, recompute_scale_factor

    def forward(self, input: Any) -> Tensor:
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           self.recompute_scale_factor, who=f"Upsample({self.extra_repr()})")

    def extra_repr(self) -> str:
        what = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return f"{what}, mode={self.mode!r}"
