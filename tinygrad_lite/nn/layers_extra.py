"""More layers with PyTorch's names: power-average pooling (``lp_pool1d/2d/3d``, ``LPPool1d/2d/3d``),
``local_response_norm`` / ``LocalResponseNorm``, the randomized leaky ReLU (``rrelu`` / ``RReLU``),
``Softmax2d``, ``channel_shuffle`` / ``ChannelShuffle`` and the fixed-mode resizers
``UpsamplingNearest2d`` / ``UpsamplingBilinear2d``.

None has parameters. Each is composed from existing differentiable ops (powers, average
pooling, padding, slicing, reshapes, softmax, interpolation), so its gradient is exact and a
batched input keeps its per-sample gradients (every op acts on each sample alone).
"""

from __future__ import annotations

import math
from typing import Any, Optional, Union

import numpy as np

from ..conventions import ShapeMismatchError, check_bool
from ..random import as_generator
from ..tensor import Tensor
from . import functional as F
from .functional_more import _real
from .inplace_fns import forward as in_place_forward
from .layers import _pos_int
from .layers_more import _FixedInt
from .module import Module
from .padding import pad
from .pooling import avg_pool
from .resample import Upsample

__all__ = ["lp_pool1d", "lp_pool2d", "lp_pool3d", "local_response_norm", "rrelu", "channel_shuffle", "LPPool1d",
           "LPPool2d", "LPPool3d", "LocalResponseNorm", "RReLU", "Softmax2d", "ChannelShuffle", "UpsamplingNearest2d",
           "UpsamplingBilinear2d"]


# --------------------------------------------------------------------------- power pooling --
def _lp_pool(input: Any, norm_type: float, kernel_size: Any, stride: Any, ceil_mode: bool, nd: int) -> Tensor:
    """``(sum over each window of x^p)^(1/p)``: the average pool of ``x^p`` times the window
    size, then the 1/p-th power (``sign(s) relu(|s|)`` of the sum, as torch)."""
    who = f"lp_pool{nd}d"
    p = _real(norm_type, who, "norm_type")
    k = F._tuple(kernel_size, nd, "kernel_size", who)
    x = F._t(input)._floating(who)
    if math.isinf(p):  # the largest (or smallest) |x| of each window, as torch
        pool = getattr(F, f"max_pool{nd}d")
        a = x.abs() if p > 0 else -x.abs()
        out = pool(a, k, k if stride is None else stride, 0, 1, ceil_mode)
        return out if p > 0 else -out
    try:
        s = avg_pool(x ** p, k, k if stride is None else stride, 0, ceil_mode, True, None, nd)
    except (ValueError, TypeError) as e:  # (named as the function called)
        raise type(e)(str(e).replace(f"avg_pool{nd}d", who)) from None
    return (s.sign() * s.abs().relu() * float(math.prod(k))) ** (1.0 / p)


def lp_pool1d(input: Any, norm_type: Union[int, float], kernel_size: int, stride: Any = None,
              ceil_mode: bool = False) -> Tensor:
    """The p-norm of each window of ``(B, C, L)`` (or ``(C, L)``): ``(sum x^p)^(1/p)``."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1)


def lp_pool2d(input: Any, norm_type: Union[int, float], kernel_size: Any, stride: Any = None,
              ceil_mode: bool = False) -> Tensor:
    """The p-norm of each window of ``(B, C, H, W)`` (or ``(C, H, W)``): ``(sum x^p)^(1/p)``."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2)


def lp_pool3d(input: Any, norm_type: Union[int, float], kernel_size: Any, stride: Any = None,
              ceil_mode: bool = False) -> Tensor:
    """The p-norm of each window of ``(B, C, D, H, W)``: ``(sum x^p)^(1/p)``."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 3)


class _LPPoolNd(Module):
    nd = 1

    def __init__(self, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False) -> None:
        who = type(self).__name__
        self.norm_type = norm_type if isinstance(norm_type, int) else _real(norm_type, who, "norm_type")
        F._tuple(kernel_size, self.nd, "kernel_size", who)
        if stride is not None:
            F._tuple(stride, self.nd, "stride", who)
        self.kernel_size, self.stride = kernel_size, stride
        self.ceil_mode = check_bool(who, "ceil_mode", ceil_mode)

    def forward(self, input: Any) -> Tensor:
        return _lp_pool(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode, self.nd)

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPoolNd):
    """``F.lp_pool1d`` as a module."""


class LPPool2d(_LPPoolNd):
    """``F.lp_pool2d`` as a module."""

    nd = 2


class LPPool3d(_LPPoolNd):
    """``F.lp_pool3d`` as a module."""

    nd = 3


# --------------------------------------------------------------------------- normalisation --
def local_response_norm(input: Any, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """Each value over its neighbours across channels (axis 1):
    ``x_c / (k + alpha / size * sum_{c'} x_{c'}^2)^beta``, the sum over the ``size`` channels
    ``c - size // 2 .. c + (size - 1) // 2`` (zeros beyond the edges)."""
    who = "local_response_norm"
    _pos_int(size, "size", who)
    alpha, beta, k = _real(alpha, who, "alpha"), _real(beta, who, "beta"), _real(k, who, "k")
    x = F._t(input)._floating(who)
    if x.data.ndim < 3:
        raise ShapeMismatchError(f"{who}: expected an input of 3 or more axes (B, C, *), got shape {x.data.shape}")
    if x.data.size == 0:
        return x
    C, lo = x.data.shape[1], size // 2
    sq = (x * x).movedim(1, -1)
    sq = pad(sq, (lo, (size - 1) // 2))
    win = sq[..., 0:C]
    for j in range(1, size):
        win = win + sq[..., j:j + C]
    return x / (win.movedim(-1, 1) * (alpha / size) + k) ** beta


class LocalResponseNorm(Module):
    """``F.local_response_norm`` as a module."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        who = "LocalResponseNorm"
        self.size = _pos_int(size, "size", who)
        self.alpha, self.beta, self.k = _real(alpha, who, "alpha"), _real(beta, who, "beta"), _real(k, who, "k")

    def forward(self, input: Any) -> Tensor:
        return local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


# --------------------------------------------------------------------------- activations --
def rrelu(input: Any, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False, rng: Union[None, int, np.random.Generator] = None) -> Tensor:
    """x where x > 0, else a x: in training a ~ U(lower, upper) drawn per element (each sample of
    a batch its own), in evaluation the fixed a = (lower + upper) / 2. The gradient is the
    slope used."""
    who = "rrelu"
    F._inplace(inplace, who)
    lo, hi = _real(lower, who, "lower"), _real(upper, who, "upper")
    if lo > hi:
        raise ValueError(f"{who}: lower must be at most upper, got lower={lower!r}, upper={upper!r}")
    check_bool(who, "training", training)
    x = F._t(input)._floating(who)
    d = x.data
    if training:
        a = as_generator(rng).uniform(lo, hi, d.shape)
    else:
        a = np.full(d.shape, (lo + hi) / 2)
    return x * np.where(d > 0, 1.0, a).astype(d.dtype)


class RReLU(Module):
    """``F.rrelu`` as a module: random slopes in training mode, the mean slope in ``.eval()``."""

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False,
                 rng: Union[None, int, np.random.Generator] = None) -> None:
        who = "RReLU"
        self.lower, self.upper = _real(lower, who, "lower"), _real(upper, who, "upper")
        if self.lower > self.upper:
            raise ValueError(f"{who}: lower must be at most upper, got lower={lower!r}, upper={upper!r}")
        self.inplace = check_bool(who, "inplace", inplace)
        self.rng = None if rng is None else as_generator(rng)

    def forward(self, input: Any) -> Tensor:
        return in_place_forward(self, input, lambda x: rrelu(x, self.lower, self.upper, self.training, rng=self.rng))

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True" if self.inplace else "")


class Softmax2d(Module):
    """softmax over the channels (axis -3) of (C, H, W) or (B, C, H, W) inputs."""

    def forward(self, input: Any) -> Tensor:
        x = F._t(input)
        if x.data.ndim not in (3, 4):
            raise ShapeMismatchError(f"Softmax2d: expected an input of 3 or 4 axes, got shape {x.data.shape}")
        return F.softmax(x, -3)


# --------------------------------------------------------------------------- layout ----------
def channel_shuffle(input: Any, groups: int) -> Tensor:
    """Channels (axis 1) reordered from ``groups`` blocks to interleaved: the input viewed as
    (B, g, C/g, *), axes 1 and 2 swapped, flattened back."""
    who = "channel_shuffle"
    g = _pos_int(groups, "groups", who)
    x = F._t(input)
    s = x.data.shape
    if len(s) < 3:
        raise ShapeMismatchError(f"{who}: expected an input of 3 or more axes (B, C, *), got shape {s}")
    if s[1] % g:
        raise ShapeMismatchError(f"{who}: {s[1]} channels (input of shape {s}) do not split into {g} groups")
    return x.reshape(s[0], g, s[1] // g, *s[2:]).swapaxes(1, 2).reshape(*s)


class ChannelShuffle(_FixedInt, fn=channel_shuffle, arg="groups"):
    """``F.channel_shuffle`` as a module."""

    def __init__(self, groups: int) -> None:
        super().__init__(groups)


# --------------------------------------------------------------------------- resizing -------
class UpsamplingNearest2d(Upsample):
    """``Upsample(size, scale_factor, mode="nearest")``."""

    def __init__(self, size: Any = None, scale_factor: Optional[Any] = None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(size, scale_factor, mode="bilinear", align_corners=True)``."""

    def __init__(self, size: Any = None, scale_factor: Optional[Any] = None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
