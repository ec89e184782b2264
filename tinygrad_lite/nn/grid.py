"""Sampling an image at arbitrary points: ``F.affine_grid`` and ``F.grid_sample`` with
PyTorch's conventions (normalised coordinates in [-1, 1], x indexing the last spatial axis).

Both are compositions of differentiable ops, so gradients reach the input, the grid (and
through it ``theta``) and, since every op acts on each sample on its own, per-sample
gradients of the parameters upstream are exact.

A normalised coordinate ``g`` on an axis of ``n`` pixels is the pixel position
``x = (g + 1) (n - 1) / 2`` (``align_corners=True``: -1 and 1 are the centres of the corner
pixels) or ``x = ((g + 1) n - 1) / 2`` (False: -1 and 1 are their outer edges). Padding:
``zeros`` reads 0 outside; ``border`` clamps ``x`` to ``[0, n - 1]``; ``reflection``
reflects ``x`` about the borders (the pixel centres with ``align_corners=True``, the
edges otherwise), then clamps. Such a piecewise-linear map is applied as
``x' = s x + (x'(x) - s x)`` with the local slope ``s`` in {-1, 0, 1} held constant, which is
its exact value and derivative away from the kinks.
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any, Optional, Sequence

import numpy as np

from ..conventions import ShapeMismatchError
from ..ops.base import AllocationError, allocating
from ..ops.base import const as _const
from ..tensor import Tensor

__all__ = ["affine_grid", "grid_sample"]

_MODES = ("bilinear", "nearest", "bicubic")
_A = -0.75  # the cubic convolution's parameter (torch's, and Keys')
_PADDINGS = ("zeros", "border", "reflection")


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else _const(x)


def _align(align_corners: Optional[bool], who: str) -> bool:
    if align_corners is None:
        warnings.warn(f"{who}: align_corners is not given; using align_corners=False (the default since "
                      "torch 1.3.0)", UserWarning, stacklevel=3)
        return False
    if not isinstance(align_corners, (bool, np.bool_)):
        raise TypeError(f"{who}: align_corners must be a bool or None, got {align_corners!r}")
    return bool(align_corners)


def _base(n: int, align: bool) -> np.ndarray:
    """The n normalised pixel coordinates along one axis (0 for a single pixel)."""
    if n <= 1:
        return np.zeros(max(n, 0))
    line = np.linspace(-1.0, 1.0, n)
    return line if align else line * (n - 1) / n


@allocating("affine_grid")
def affine_grid(theta: Any, size: Sequence[int], align_corners: Optional[bool] = None) -> Tensor:
    """The sampling grid of an affine map: for a 2-D ``size = (N, C, H, W)`` and ``theta`` of
    shape (N, 2, 3), ``grid[n, h, w] = theta[n] @ (x_w, y_h, 1)`` with ``x_w``, ``y_h`` the
    normalised pixel coordinates (``_base``); shape (N, H, W, 2). For a 3-D ``size = (N, C,
    D, H, W)``, ``theta`` is (N, 3, 4) and the grid (N, D, H, W, 3) with points
    ``(x_w, y_h, z_d, 1)``."""
    who = "affine_grid"
    align = _align(align_corners, who)
    th = _t(theta)
    if th.data.dtype.kind != "f":
        raise TypeError(f"{who}: theta must be a floating-point tensor, got dtype {th.data.dtype}")
    try:
        size = tuple(int(s) for s in size)
    except (TypeError, ValueError):
        raise TypeError(f"{who}: size must be a sequence of ints, got {size!r}") from None
    if len(size) not in (4, 5):
        raise NotImplementedError(f"{who}: only 4-D (2-d) and 5-D (3-d) sizes are supported, got size {size}")
    nd = len(size) - 2
    if th.data.shape != (size[0], nd, nd + 1):
        raise ShapeMismatchError(f"{who}: expected theta of shape {(size[0], nd, nd + 1)} for size {size}, got shape "
                                 f"{th.data.shape}")
    if min(size) <= 0:
        raise ValueError(f"{who}: expected a positive output size, got size {size}")
    spatial = size[2:]
    if size[0] * math.prod(spatial) * nd * th.data.dtype.itemsize >= 2 ** 63:  # before any (large) base grid
        raise AllocationError(f"{who}: the result of shape {(size[0], *spatial, nd)} is too large to allocate")
    if align and min(spatial) == 1:
        warnings.warn(f"{who}: with align_corners=True a unit-size axis has its one point at 0 (as since torch "
                      "1.3.0), not at -1", UserWarning, stacklevel=2)
    axes = [_base(n, align) for n in spatial]  # (D,) H, W
    mesh = np.meshgrid(*axes, indexing="ij")
    pts = [m.reshape(-1) for m in reversed(mesh)]  # x (W), y (H), z (D)
    base = np.stack(pts + [np.ones(math.prod(spatial))], axis=1).astype(th.data.dtype)  # (P, nd + 1)
    grid = _const(base) @ th.permute(0, 2, 1)  # (N, P, nd)
    return grid.reshape(size[0], *spatial, nd)


def _unnormalize(g: Tensor, n: int, align: bool) -> Tensor:
    return (g + 1.0) * ((n - 1) / 2.0) if align else ((g + 1.0) * n - 1.0) / 2.0


def _piecewise(x: Tensor, value: np.ndarray, slope: np.ndarray) -> Tensor:
    """``value`` with derivative ``slope`` w.r.t. ``x`` (a local-linear re-expression)."""
    s = slope.astype(x.data.dtype)
    return x * _const(s) + _const(value - s * x.data)


def _clip(x: Tensor, n: int) -> Tensor:
    d = x.data
    return _piecewise(x, np.clip(d, 0.0, n - 1.0), ((d > 0) & (d < n - 1)).astype(float))


def _reflect(x: Tensor, twice_low: int, twice_high: int) -> Tensor:
    d = x.data
    if twice_low == twice_high:
        return _piecewise(x, np.zeros_like(d), np.zeros_like(d))
    lo = twice_low / 2.0
    span = (twice_high - twice_low) / 2.0
    shifted = d - lo
    sign = np.where(shifted < 0, -1.0, 1.0)
    a = np.abs(shifted)
    extra = np.fmod(a, span)
    even = np.floor(a / span) % 2 == 0
    value = np.where(even, extra + lo, span - extra + lo)
    return _piecewise(x, value, np.where(even, sign, -sign))


def _source(g: Tensor, n: int, align: bool, padding: str) -> Tensor:
    x = _unnormalize(g, n, align)
    if padding == "border":
        x = _clip(x, n)
    elif padding == "reflection":
        x = _clip(_reflect(x, 0, 2 * (n - 1)) if align else _reflect(x, -1, 2 * n - 1), n)
    return x


def cubic_weights(t: Any) -> list:
    """The four taps' weights ``W(t + 1), W(t), W(1 - t), W(2 - t)`` at fraction ``t`` (a
    Tensor, or a numpy array: ``interpolate``'s bicubic uses them too), with Keys' cubic
    convolution ``W(s) = (A + 2) s^3 - (A + 3) s^2 + 1`` for ``s <= 1`` and
    ``A s^3 - 5 A s^2 + 8 A s - 4 A`` for ``1 < s < 2``."""
    a = _A

    def near(u: Any) -> Any:  # |u| <= 1
        return ((a + 2) * u - (a + 3)) * u * u + 1

    def far(u: Any) -> Any:  # 1 < |u| < 2
        return ((a * u - 5 * a) * u + 8 * a) * u - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _padded_index(i: np.ndarray, n: int, align: bool, padding: str) -> np.ndarray:
    """A pixel index moved inside the image by ``border`` (clamped) or ``reflection``
    (reflected about the borders, then clamped) padding."""
    d = i.astype(np.float64)
    if padding == "reflection":
        lo, hi = (0, 2 * (n - 1)) if align else (-1, 2 * n - 1)
        d = _reflect(_const(d), lo, hi).data
    return np.clip(np.rint(d), 0, n - 1).astype(np.int64)


def grid_sample(input: Any, grid: Any, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: Optional[bool] = None) -> Tensor:
    """Sample ``input`` (N, C, H, W) at the points ``grid`` (N, Ho, Wo, 2), or a volume
    (N, C, D, H, W) at (N, Do, Ho, Wo, 3); the output is (N, C, *grid's spatial shape).

    ``grid[..., 0]`` is the normalised x (width), ``[..., 1]`` y, ``[..., 2]`` z. ``bilinear``
    (trilinear for volumes): ``out = sum_corners prod_k w_k v[corner]`` with
    ``w_k = 1 - |x_k - corner_k|`` over the 2^d pixels around the point, a pixel outside the
    image reading 0; ``nearest``: the pixel at ``round(x)`` (ties to even), whose gradient
    w.r.t. the grid is 0; ``bicubic`` (images only): ``out = sum_{i,j} W(t_x + 1 - i)
    W(t_y + 1 - j) v[y0 - 1 + j, x0 - 1 + i]`` over the 4 x 4 pixels around the point,
    ``x0 = floor(x)``, ``t_x = x - x0`` (``x`` unpadded), with Keys' cubic convolution ``W``
    (``A = -0.75``, as ``interpolate``'s bicubic) and the padding applied to each pixel's
    index (a pixel outside the image reads 0 with ``zeros``)."""
    who = "grid_sample"
    if mode not in _MODES:
        raise ValueError(f"{who}: mode must be one of {_MODES}, got {mode!r}")
    if padding_mode not in _PADDINGS:
        raise ValueError(f"{who}: padding_mode must be one of {_PADDINGS}, got {padding_mode!r}")
    align = _align(align_corners, who)
    x, gr = _t(input), _t(grid)
    xs, gs = x.data.shape, gr.data.shape
    if x.data.ndim not in (4, 5):
        raise ShapeMismatchError(f"{who}: expected a 4-D or 5-D input, got shape {xs}")
    nd = x.data.ndim - 2
    if gr.data.ndim != nd + 2 or gs[0] != xs[0] or gs[-1] != nd:
        raise ShapeMismatchError(f"{who}: for an input of shape {xs} the grid must have shape (N={xs[0]}, "
                                 f"{', '.join(['*'] * nd)}, {nd}), got shape {gs}")
    if x.data.dtype.kind != "f" or gr.data.dtype.kind != "f":
        raise TypeError(f"{who}: input and grid must be floating-point, got dtypes {x.data.dtype} and "
                        f"{gr.data.dtype}")
    if any(s == 0 for s in xs[2:]):
        raise ShapeMismatchError(f"{who}: the input's spatial size must be non-zero, got shape {xs}")
    N, C = xs[0], xs[1]
    spatial = xs[2:][::-1]  # sizes along x, y(, z)
    out_sp = gs[1:-1]
    Q = math.prod(out_sp)
    g = gr.reshape(N, Q, nd)
    if mode == "bicubic" and nd != 2:
        raise ValueError(f"{who}: mode 'bicubic' needs a 4-D input, got shape {xs}")
    coords = [_source(g[:, :, k], spatial[k], align, "zeros" if mode == "bicubic" else padding_mode)
              for k in range(nd)]  # each (N, Q)
    flat = x.reshape(N, C, math.prod(xs[2:]))
    strides = [math.prod(spatial[:k]) for k in range(nd)]  # x: 1, y: W, z: H * W

    def read(idx: list) -> Tensor:
        inside = np.ones((N, Q), bool)
        lin = np.zeros((N, Q), np.int64)
        if mode == "bicubic" and padding_mode != "zeros":  # the padding moves each pixel's index
            idx = [_padded_index(i, spatial[k], align, padding_mode) for k, i in enumerate(idx)]
        for k, i in enumerate(idx):
            inside &= (i >= 0) & (i < spatial[k])
            lin += np.clip(i, 0, spatial[k] - 1) * strides[k]
        vals = flat.gather(2, np.broadcast_to(lin[:, None, :], (N, C, Q)))
        return vals * _const(inside[:, None, :].astype(x.data.dtype))

    if mode == "nearest":
        out = read([np.rint(c.data).astype(np.int64) for c in coords])
        if gr.requires_grad:  # the grid's gradient is 0 (as a tensor, not None)
            out = out + (g.sum(axis=(1, 2)) * 0.0).reshape(N, 1, 1)
    elif mode == "bicubic":
        lo = [np.floor(c.data) for c in coords]
        taps = [cubic_weights(c - _const(f.astype(x.data.dtype))) for c, f in zip(coords, lo)]
        out = None
        for i, j in itertools.product(range(4), repeat=2):
            term = read([lo[0].astype(np.int64) - 1 + i, lo[1].astype(np.int64) - 1 + j])
            term = term * (taps[0][i] * taps[1][j]).reshape(N, 1, Q)
            out = term if out is None else out + term
    else:
        lo = [np.floor(c.data).astype(np.int64) for c in coords]
        out = None
        for corner in itertools.product((0, 1), repeat=nd):
            w = None
            for k, up in enumerate(corner):
                f = lo[k].astype(x.data.dtype)
                wk = coords[k] - _const(f) if up else _const(f + 1.0) - coords[k]
                w = wk if w is None else w * wk
            term = read([lo[k] + corner[k] for k in range(nd)]) * w.reshape(N, 1, Q)
            out = term if out is None else out + term
    return out.reshape(N, C, *out_sp)
