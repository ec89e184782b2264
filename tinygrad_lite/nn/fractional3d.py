"""Fractional max pooling in 3-D: ``F.fractional_max_pool3d``,
``F.fractional_max_pool3d_with_indices`` and ``nn.FractionalMaxPool3d``, as torch's.

Keeps no state; reuses the window placement of the 2-D version (``functional_extra``):
along each of the axes T, H, W window ``i < out - 1`` starts at
``floor((i + u) alpha) - floor(u alpha)`` with ``alpha = (n - k) / (out - 1)``, the last at
``n - k``, for a sample ``u`` in [0, 1) per (sample, channel, axis). ``_random_samples``
(N, C, 3) fixes the draw as torch reads it: [..., 0] for T, [..., 1] for H, [..., 2] for W;
otherwise it comes from the project's generator. Each output is its window's first maximum
(or its last NaN), found on the arrays; the output is then one differentiable ``gather``,
so the gradient goes to that element (per-sample gradients too).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..batchstate import BATCHED
from ..conventions import ShapeMismatchError, check_bool
from ..tensor import Tensor
from . import functional as F
from .functional_extra import _FractionalMaxPoolNd, _intervals, _ntuple, _samples

__all__ = ["fractional_max_pool3d", "fractional_max_pool3d_with_indices", "FractionalMaxPool3d"]


def _triple(v: Any, who: str, name: str, kind: type) -> tuple:
    return _ntuple(v, 3, who, name, kind)


def _sizes(who: str, shape: tuple, kernel_size: Any, output_size: Any, output_ratio: Any) -> tuple:
    """(kernel, output size) after torch's checks, for an input (N, C, T, H, W)."""
    k = tuple(int(a) for a in _triple(kernel_size, who, "kernel_size", int))
    if min(k) < 1:
        raise ValueError(f"{who}: kernel_size must be positive, got {kernel_size!r}")
    if (output_size is None) == (output_ratio is None):
        raise ValueError(f"{who}: give exactly one of output_size and output_ratio")
    if output_size is None:
        r = tuple(float(a) for a in _triple(output_ratio, who, "output_ratio", float))
        if not all(0 < a < 1 for a in r):
            raise ValueError(f"{who}: output_ratio must be in (0, 1), got {output_ratio!r}")
        out = tuple(int(n * a) for n, a in zip(shape[2:], r))
    else:
        out = tuple(int(a) for a in _triple(output_size, who, "output_size", int))
    if min(out) < 1 or any(o + kk - 1 >= n for o, kk, n in zip(out, k, shape[2:])):  # (strict, as torch's 3-D)
        raise ShapeMismatchError(f"{who}: an output of {out} with kernel {k} does not fit an input of shape "
                                 f"{shape[1:]} (per sample): output + kernel - 1 must be below the input size")
    return k, out


def fractional_max_pool3d_with_indices(input: Any, kernel_size: Any, output_size: Any = None,
                                       output_ratio: Any = None, return_indices: bool = False,
                                       _random_samples: Any = None) -> tuple:
    """``(output, indices)`` of ``fractional_max_pool3d`` (indices ``(t * H + h) * W + w`` per
    volume, int64)."""
    who = "fractional_max_pool3d"
    check_bool(who, "return_indices", return_indices)
    x = F._t(input)
    if x.data.ndim not in (4, 5) or (x._bs & BATCHED and x.data.ndim != 5):
        raise ValueError(f"{who}: expected an input of shape (N, C, T, H, W) or (C, T, H, W), got shape "
                         f"{x.data.shape}")
    unbatched = x.data.ndim == 4
    xb = x.unsqueeze(0) if unbatched else x
    N, C, T, H, W = xb.data.shape
    if min(C, T, H, W) == 0:
        raise ShapeMismatchError(f"{who}: expected an input with non-zero size for the non-batch dimensions, got "
                                 f"shape {tuple(x.data.shape)}")
    (kt, kh, kw), (ot, oh, ow) = _sizes(who, xb.data.shape, kernel_size, output_size, output_ratio)
    u = _samples(who, _random_samples, (N, C, 3))
    xd = xb.data
    K = kt * kh * kw
    idx = np.empty((N, C, ot, oh, ow), np.int64)
    for n in range(N):
        for c in range(C):
            ts, hs, ws = (_intervals(u[n, c, a], size, o, kk) for a, size, o, kk in
                          ((0, T, ot, kt), (1, H, oh, kh), (2, W, ow, kw)))
            tt = (ts[:, None] + np.arange(kt))[:, None, None, :, None, None]
            hh = (hs[:, None] + np.arange(kh))[None, :, None, None, :, None]
            ww = (ws[:, None] + np.arange(kw))[None, None, :, None, None, :]
            win = xd[n, c][tt, hh, ww].reshape(ot, oh, ow, K)
            nan = np.isnan(win)  # (the last NaN of a window wins, else its first maximum)
            best = np.where(nan.any(axis=3), K - 1 - nan[..., ::-1].argmax(axis=3), win.argmax(axis=3))
            bt, bh, bw = best // (kh * kw), best // kw % kh, best % kw
            idx[n, c] = ((ts[:, None, None] + bt) * H + hs[None, :, None] + bh) * W + ws[None, None, :] + bw
    out = xb.reshape(N, C, T * H * W).gather(2, idx.reshape(N, C, ot * oh * ow)).reshape(N, C, ot, oh, ow)
    if unbatched:
        return out.reshape(C, ot, oh, ow), Tensor(idx[0])
    return out, Tensor(idx)


def fractional_max_pool3d(input: Any, kernel_size: Any, output_size: Any = None, output_ratio: Any = None,
                          return_indices: bool = False, _random_samples: Any = None) -> Any:
    """Fractional max pooling of (N, C, T, H, W) or (C, T, H, W) (see the module docstring) to
    ``output_size`` or ``floor(output_ratio * (T, H, W))``; ``return_indices``: also the
    positions ``(t * H + h) * W + w`` (int64 Tensor) of the maxima."""
    check_bool("fractional_max_pool3d", "return_indices", return_indices)
    out, idx = fractional_max_pool3d_with_indices(input, kernel_size, output_size, output_ratio, False,
                                                  _random_samples)
    return (out, idx) if return_indices else out


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """``fractional_max_pool3d`` as a layer (a fresh draw per call unless
    ``_random_samples`` is given)."""

    nd, _pool = 3, staticmethod(fractional_max_pool3d)
