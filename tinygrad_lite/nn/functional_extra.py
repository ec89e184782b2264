"""More of ``torch.nn.functional``: ``gumbel_softmax``, ``pdist``, the ``*_with_indices``
pooling names, ``dropout3d`` (and ``Dropout3d``) and fractional max pooling
(``fractional_max_pool2d``, ``FractionalMaxPool2d``).

Fractional max pooling (Graham, 2014) pools ``(kh, kw)`` windows whose starts are spread
pseudo-randomly over the input: with ``alpha = (n - k) / (out - 1)`` and a sample
``u`` in [0, 1) per (sample, channel, axis), window ``i < out - 1`` starts at
``floor((i + u) alpha) - floor(u alpha)`` and the last at ``n - k``. ``_random_samples``
(shape (N, C, 2): [..., 0] for the width, [..., 1] for the height) fixes the draw, as in
torch; otherwise it comes from the project's generator. Each output is its window's first
maximum (or its last NaN); the gradient goes to it.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Union

import numpy as np

from ..batchstate import BATCHED
from ..conventions import ShapeMismatchError, check_bool
from ..random import as_generator
from ..tensor import Tensor
from . import functional as F
from .dropout import _channel_dropout
from .inplace_fns import forward as in_place_forward
from .layers import Dropout
from .module import Module
from .pooling import adaptive_max_pool, max_pool

__all__ = ["gumbel_softmax", "pdist", "max_pool1d_with_indices", "max_pool2d_with_indices",
           "max_pool3d_with_indices", "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
           "adaptive_max_pool3d_with_indices", "dropout3d", "Dropout3d", "fractional_max_pool2d",
           "fractional_max_pool2d_with_indices", "FractionalMaxPool2d"]

Rng = Union[None, int, np.random.Generator]


def gumbel_softmax(logits: Any, tau: float = 1.0, hard: bool = False, eps: float = 1e-10, dim: int = -1,
                   rng: Rng = None) -> Tensor:
    """A sample of the Gumbel-softmax (Concrete) distribution:
    ``y = softmax((logits + g) / tau)`` along ``dim`` with ``g = -log(E)``, ``E ~ Exp(1)``
    drawn from ``rng`` (else the project's generator). ``hard=True``: the one-hot of
    ``argmax y`` in the forward, with ``y``'s gradient (``onehot - y.detach() + y``).
    ``eps`` is unused, as in torch."""
    x = F._t(logits)._floating("gumbel_softmax")
    if isinstance(tau, (bool, np.bool_)) or not isinstance(tau, (int, float, np.number)):
        raise TypeError(f"gumbel_softmax: tau must be a positive number, got {tau!r}")
    tau_f = float(tau)
    if not tau_f > 0:
        raise ValueError(f"gumbel_softmax: tau must be > 0, got {tau!r}")
    check_bool("gumbel_softmax", "hard", hard)
    nd = max(x.data.ndim, 1)
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or not -nd <= dim < nd:
        raise IndexError(f"gumbel_softmax: dim {dim!r} is out of range for logits of shape {x.data.shape}")
    g = -np.log(as_generator(rng).exponential(1.0, x.data.shape)).astype(x.data.dtype)
    y = ((x + g) / tau_f).softmax(int(dim))
    if not hard:
        return y
    axis = int(dim) % nd
    idx = np.expand_dims(np.argmax(y.data.reshape(x.data.shape or (1,)), axis=axis), axis)
    onehot = np.zeros(x.data.shape or (1,), x.data.dtype)
    np.put_along_axis(onehot, idx, 1.0, axis=axis)
    return y + (onehot.reshape(x.data.shape) - y.data)


def pdist(input: Any, p: float = 2.0) -> Tensor:
    """The p-norm distances ``||x_i - x_j||_p`` between the rows of an (N, M) input, for
    ``i < j`` in row-major order (length N (N - 1) / 2); the gradient at a zero distance is 0.
    Rows are compared with each other, so a batched input mixes its samples."""
    x = F._t(input)._floating("pdist")
    if x.data.ndim != 2:
        raise RuntimeError(f"pdist: only supports 2D tensors, got shape {x.data.shape}")
    if isinstance(p, bool) or not isinstance(p, (int, float, np.number)) or not p >= 0:
        raise RuntimeError(f"pdist: only supports non-negative p values, got {p!r}")
    i, j = np.triu_indices(x.data.shape[0], 1)
    return (x[i] - x[j]).norm(float(p), 1)


def max_pool1d_with_indices(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                            ceil_mode: bool = False, return_indices: bool = False) -> tuple:
    """``max_pool1d(..., return_indices=True)``: ``(output, indices)`` whatever
    ``return_indices`` says, as torch."""
    return max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, True, 1)


def max_pool2d_with_indices(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                            ceil_mode: bool = False, return_indices: bool = False) -> tuple:
    """``max_pool2d(..., return_indices=True)``: ``(output, indices)``."""
    return max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, True, 2)


def max_pool3d_with_indices(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                            ceil_mode: bool = False, return_indices: bool = False) -> tuple:
    """``max_pool3d(..., return_indices=True)``: ``(output, indices)``."""
    return max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, True, 3)


def adaptive_max_pool1d_with_indices(input: Any, output_size: Any, return_indices: bool = False) -> tuple:
    """``adaptive_max_pool1d(..., return_indices=True)``: ``(output, indices)``."""
    return adaptive_max_pool(input, output_size, True, 1)


def adaptive_max_pool2d_with_indices(input: Any, output_size: Any, return_indices: bool = False) -> tuple:
    """``adaptive_max_pool2d(..., return_indices=True)``: ``(output, indices)``."""
    return adaptive_max_pool(input, output_size, True, 2)


def adaptive_max_pool3d_with_indices(input: Any, output_size: Any, return_indices: bool = False) -> tuple:
    """``adaptive_max_pool3d(..., return_indices=True)``: ``(output, indices)``."""
    return adaptive_max_pool(input, output_size, True, 3)


def dropout3d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False, rng: Rng = None) -> Tensor:
    """Channel dropout of (B, C, D, H, W) or unbatched (C, D, H, W) inputs: each (sample,
    channel) volume is zeroed with probability p, the rest scaled by 1 / (1 - p)."""
    x = F._t(input)
    if x.data.ndim not in (4, 5) or (x._bs & BATCHED and x.data.ndim != 5):
        raise ValueError(f"dropout3d: expected an input of shape (B, C, D, H, W) or (C, D, H, W), got shape "
                         f"{tuple(x.data.shape)}")
    F._inplace(inplace, "dropout3d")
    return _channel_dropout(x, p, training, rng, 3, "dropout3d")


class Dropout3d(Dropout):
    """``dropout3d`` as a layer (in training mode)."""

    def forward(self, input: Any) -> Tensor:
        p, training, rng = self.p, self.training, self.rng
        return in_place_forward(self, input, lambda x: dropout3d(x, p, training, rng=rng))


def _intervals(u: float, n: int, out: int, k: int) -> np.ndarray:
    """The window starts along one axis (see the module docstring)."""
    starts = np.empty(out, np.int64)
    if out > 1:
        alpha = (n - k) / (out - 1)
        i = np.arange(out - 1)
        starts[:-1] = np.floor((i + u) * alpha).astype(np.int64) - int(math.floor(u * alpha))
    starts[-1] = n - k
    return starts


def _ntuple(v: Any, n: int, who: str, name: str, kind: type) -> tuple:
    """``v`` (a number of type ``kind``, or n of them) as a tuple of n."""
    vals = (v,) * n if isinstance(v, (int, float, np.number)) and not isinstance(v, bool) else v
    if not isinstance(vals, (tuple, list)) or len(vals) != n or any(
            isinstance(a, (bool, np.bool_)) or not isinstance(a, (kind, np.number)) for a in vals):
        many = "a pair of them" if n == 2 else f"a tuple of {'three' if n == 3 else n}"
        raise ValueError(f"{who}: {name} must be a {kind.__name__} or {many}, got {v!r}")
    return tuple(vals)


def _pair(v: Any, who: str, name: str, kind: type) -> tuple:
    return _ntuple(v, 2, who, name, kind)


def _samples(who: str, given: Any, shape: tuple) -> np.ndarray:
    """The pooling regions' uniform draws u in [0, 1) of ``shape`` (N, C, nd): ``given`` (torch's
    ``_random_samples``), or fresh ones from the global generator when it is None."""
    if given is None:
        return as_generator(None).random(shape)
    u = np.asarray(given.data if isinstance(given, Tensor) else given, float)
    if u.shape != shape:
        raise ValueError(f"{who}: _random_samples must have shape {shape}, got {u.shape}")
    return u


def fractional_max_pool2d_with_indices(input: Any, kernel_size: Any, output_size: Any = None,
                                       output_ratio: Any = None, return_indices: bool = False,
                                       _random_samples: Any = None) -> tuple:
    """``(output, indices)`` of ``fractional_max_pool2d`` (indices ``h * W + w`` per plane)."""
    who = "fractional_max_pool2d"
    x = F._t(input)
    if x.data.ndim not in (3, 4) or (x._bs & BATCHED and x.data.ndim != 4):
        raise ValueError(f"{who}: expected an input of shape (N, C, H, W) or (C, H, W), got shape {x.data.shape}")
    unbatched = x.data.ndim == 3
    xb = x.unsqueeze(0) if unbatched else x
    N, C, H, W = xb.data.shape
    if min(C, H, W) == 0:  # (only the batch may be empty, as torch)
        raise ShapeMismatchError(f"{who}: expected an input with non-zero size for the non-batch dimensions, got "
                                 f"shape {tuple(x.data.shape)}")
    kh, kw = (int(a) for a in _pair(kernel_size, who, "kernel_size", int))
    if min(kh, kw) < 1:
        raise ValueError(f"{who}: kernel_size must be positive, got {kernel_size!r}")
    if (output_size is None) == (output_ratio is None):
        raise ValueError(f"{who}: give exactly one of output_size and output_ratio")
    if output_size is None:
        rh, rw = (float(a) for a in _pair(output_ratio, who, "output_ratio", float))
        if not (0 < rh < 1 and 0 < rw < 1):
            raise ValueError(f"{who}: output_ratio must be in (0, 1), got {output_ratio!r}")
        oh, ow = int(H * rh), int(W * rw)
    else:
        oh, ow = (int(a) for a in _pair(output_size, who, "output_size", int))
    if oh < 1 or ow < 1 or oh + kh - 1 > H or ow + kw - 1 > W:
        raise ShapeMismatchError(f"{who}: an output of {(oh, ow)} with kernel {(kh, kw)} does not fit an input of "
                                 f"shape {tuple(x.data.shape)}")
    u = _samples(who, _random_samples, (N, C, 2))
    xd = xb.data
    idx = np.empty((N, C, oh, ow), np.int64)
    for n in range(N):
        for c in range(C):
            hs, ws = _intervals(u[n, c, 1], H, oh, kh), _intervals(u[n, c, 0], W, ow, kw)
            rows = hs[:, None] + np.arange(kh)  # (oh, kh)
            cols = ws[:, None] + np.arange(kw)  # (ow, kw)
            win = xd[n, c][rows[:, None, :, None], cols[None, :, None, :]].reshape(oh, ow, kh * kw)
            nan = np.isnan(win)  # (the last NaN of a window wins, else its first maximum)
            best = np.where(nan.any(axis=2), kh * kw - 1 - nan[:, :, ::-1].argmax(axis=2), win.argmax(axis=2))
            idx[n, c] = (hs[:, None] + best // kw) * W + ws[None, :] + best % kw
    out = xb.reshape(N, C, H * W).gather(2, idx.reshape(N, C, oh * ow)).reshape(N, C, oh, ow)
    if unbatched:
        return out.reshape(C, oh, ow), Tensor(idx[0])
    return out, Tensor(idx)


def fractional_max_pool2d(input: Any, kernel_size: Any, output_size: Any = None, output_ratio: Any = None,
                          return_indices: bool = False, _random_samples: Any = None) -> Any:
    """Fractional max pooling of (N, C, H, W) or (C, H, W) (see the module docstring) to
    ``output_size`` or ``floor(output_ratio * (H, W))``; ``return_indices``: also the
    positions ``h * W + w`` (int64 Tensor) of the maxima."""
    check_bool("fractional_max_pool2d", "return_indices", return_indices)
    out, idx = fractional_max_pool2d_with_indices(input, kernel_size, output_size, output_ratio, False,
                                                  _random_samples)
    return (out, idx) if return_indices else out


class _FractionalMaxPoolNd(Module):
    """The layer of ``_pool`` (``fractional_max_poolNd``) over ``nd`` spatial dimensions (a fresh
    draw per call unless ``_random_samples`` is given)."""

    nd, _pool = 2, None

    def __init__(self, kernel_size: Any, output_size: Any = None, output_ratio: Any = None,
                 return_indices: bool = False, _random_samples: Any = None) -> None:
        who = f"FractionalMaxPool{self.nd}d"
        if (output_size is None) == (output_ratio is None):
            raise ValueError(f"{who}: give exactly one of output_size and output_ratio")
        if output_ratio is not None:
            r = _ntuple(output_ratio, self.nd, who, "output_ratio", float)
            if not all(0 < float(a) < 1 for a in r):
                raise ValueError(f"{who}: output_ratio must be in (0, 1), got {output_ratio!r}")
        check_bool(who, "return_indices", return_indices)
        self.kernel_size, self.output_size, self.output_ratio = kernel_size, output_size, output_ratio
        self.return_indices = return_indices
        self._random_samples: Optional[Any] = _random_samples

    def forward(self, input: Any) -> Any:
        return type(self)._pool(input, self.kernel_size, self.output_size, self.output_ratio, self.return_indices,
                                self._random_samples)


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """``fractional_max_pool2d`` as a layer (a fresh draw per call unless
    ``_random_samples`` is given)."""

    nd, _pool = 2, staticmethod(fractional_max_pool2d)
