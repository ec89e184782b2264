"""More of torch's layers, as functions (re-exported by ``tl.nn.functional``) and modules
(re-exported by ``tl.nn``), each a composition of differentiable ops (so gradients,
per-sample gradients and errors are those ops'):

* ``rms_norm`` / ``RMSNorm``: ``y = x / sqrt(mean(x^2 over the last axes) + eps) * weight``
  (``eps`` None: the machine epsilon of x's dtype, as torch);
* ``hardshrink`` / ``Hardshrink``: x where |x| > lambd, else 0;
* ``softshrink`` / ``Softshrink``: x - lambd where x > lambd, x + lambd where x < -lambd, else 0;
* ``pixel_shuffle`` / ``PixelShuffle`` and ``pixel_unshuffle`` / ``PixelUnshuffle``: (C r^2, H, W)
  <-> (C, H r, W r), torch's channel order;
* ``instance_norm``: each (sample, channel) normalised over its own positions (GroupNorm with
  one channel per group).
"""

from __future__ import annotations

import numbers
from typing import Any, Callable, Optional

import numpy as np

from ..factories import param_dtype, where
from ..tensor import Tensor
from .activations import _Activation, _float, _real
from .layers import _pos_int
from .module import Module

__all__ = ["rms_norm", "hardshrink", "softshrink", "pixel_shuffle", "pixel_unshuffle", "instance_norm", "RMSNorm",
           "Hardshrink", "Softshrink", "PixelShuffle", "PixelUnshuffle"]


def _shape(normalized_shape: Any, who: str) -> tuple:
    ns = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else normalized_shape
    if not isinstance(ns, (tuple, list)) or not ns:
        raise TypeError(f"{who}: normalized_shape must be an int >= 1 or a non-empty tuple of them, got "
                        f"{normalized_shape!r}")
    return tuple(_pos_int(n, "normalized_shape", who) for n in ns)


def rms_norm(input: Any, normalized_shape: Any, weight: Any = None, eps: Optional[float] = None) -> Tensor:
    """``x / sqrt(mean(x^2) + eps) * weight``, the mean over the last ``len(normalized_shape)``
    axes (which must equal ``normalized_shape``); ``eps`` None is ``np.finfo(x.dtype).eps``."""
    x = _float(input, "rms_norm")
    ns = _shape(normalized_shape, "rms_norm")
    shape = x.data.shape
    if shape[len(shape) - len(ns):] != ns or len(shape) < len(ns):
        raise ValueError(f"rms_norm: normalized_shape {ns} does not match the last axes of the input of shape "
                         f"{shape}")
    e = float(np.finfo(x.data.dtype).eps) if eps is None else _real(eps, "rms_norm", "eps")
    if e < 0:
        raise ValueError(f"rms_norm: eps must be >= 0, got {eps!r}")
    axes = tuple(range(len(shape) - len(ns), len(shape)))
    y = x * ((x * x).mean(axis=axes, keepdims=True) + e) ** -0.5
    if weight is None:
        return y
    w = weight if isinstance(weight, Tensor) else Tensor(np.asarray(weight, dtype=x.data.dtype))
    if w.data.shape != ns:
        raise ValueError(f"rms_norm: weight of shape {w.data.shape} does not match normalized_shape {ns}")
    return y * w


class RMSNorm(Module):
    """``F.rms_norm`` as a module: ``weight`` (ones at start) with ``elementwise_affine=True``."""

    def __init__(self, normalized_shape: Any, eps: Optional[float] = None, elementwise_affine: bool = True,
                 dtype: Any = np.float64, *, device: Any = None) -> None:
        dtype = param_dtype("RMSNorm", dtype, device)
        self.normalized_shape = _shape(normalized_shape, "RMSNorm")
        if eps is not None and (_real(eps, "RMSNorm", "eps") < 0):
            raise ValueError(f"RMSNorm: eps must be >= 0, got {eps!r}")
        self.eps = None if eps is None else float(eps)
        if not isinstance(elementwise_affine, (bool, np.bool_)):
            raise TypeError(f"RMSNorm: elementwise_affine must be a bool, got {elementwise_affine!r}")
        self.elementwise_affine = bool(elementwise_affine)
        self.register_parameter("weight", Tensor(np.ones(self.normalized_shape, dtype), requires_grad=True)
                                if elementwise_affine else None)

    def reset_parameters(self) -> None:
        """Weight 1 (``nn.reset``)."""
        from .reset import affine
        affine(self)

    def forward(self, input: Any) -> Tensor:
        return rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


def _lambd(lambd: Any, who: str) -> float:
    v = _real(lambd, who, "lambd")
    if v < 0:
        raise ValueError(f"{who}: lambd must be >= 0, got {lambd!r}")
    return v


def hardshrink(input: Any, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0 (gradient 1 where |x| > lambd, else 0)."""
    x = _float(input, "hardshrink")
    lam = _real(lambd, "hardshrink", "lambd")
    return where(~(np.abs(x.data) <= lam), x, np.zeros((), x.data.dtype))  # (nan passes, as torch)


def softshrink(input: Any, lambd: float = 0.5) -> Tensor:
    """x - lambd where x > lambd, x + lambd where x < -lambd, else 0 (gradient 1 outside
    [-lambd, lambd], else 0)."""
    x = _float(input, "softshrink")
    lam = _lambd(lambd, "softshrink")
    d = x.data
    shift = np.where(d > lam, -lam, np.where(d < -lam, lam, 0.0)).astype(d.dtype)
    return where(~(np.abs(d) <= lam), x + shift, np.zeros((), d.dtype))  # (nan passes, as torch)


class Hardshrink(_Activation):
    """``F.hardshrink`` as a module."""

    fn = staticmethod(hardshrink)
    _inplace_arg = False

    def __init__(self, lambd: float = 0.5) -> None:
        self._keep(False, lambd=lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(_Activation):
    """``F.softshrink`` as a module."""

    fn = staticmethod(softshrink)
    _inplace_arg = False

    def __init__(self, lambd: float = 0.5) -> None:
        self._keep(False, lambd=_lambd(lambd, "Softshrink"))

    def extra_repr(self) -> str:
        return f"{self.lambd}"


def pixel_shuffle(input: Any, upscale_factor: int) -> Tensor:
    """(*, C r^2, H, W) -> (*, C, H r, W r): ``out[c, h r + i, w r + j] = in[c r^2 + i r + j, h, w]``."""
    x = input if isinstance(input, Tensor) else Tensor(np.asarray(input))
    r = _pos_int(upscale_factor, "upscale_factor", "pixel_shuffle")
    s = x.data.shape
    if len(s) < 3 or s[-3] % (r * r):
        raise ValueError(f"pixel_shuffle: the input of shape {s} needs at least 3 axes and channels (axis -3) "
                         f"divisible by upscale_factor^2 = {r * r}")
    lead, C, H, W = s[:-3], s[-3] // (r * r), s[-2], s[-1]
    n = len(lead)
    y = x.reshape(lead + (C, r, r, H, W)).permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return y.reshape(lead + (C, H * r, W * r))


def pixel_unshuffle(input: Any, downscale_factor: int) -> Tensor:
    """(*, C, H r, W r) -> (*, C r^2, H, W), the inverse of ``pixel_shuffle``."""
    x = input if isinstance(input, Tensor) else Tensor(np.asarray(input))
    r = _pos_int(downscale_factor, "downscale_factor", "pixel_unshuffle")
    s = x.data.shape
    if len(s) < 3 or s[-2] % r or s[-1] % r:
        raise ValueError(f"pixel_unshuffle: the input of shape {s} needs at least 3 axes and height and width "
                         f"divisible by downscale_factor = {r}")
    lead, C, H, W = s[:-3], s[-3], s[-2] // r, s[-1] // r
    n = len(lead)
    y = x.reshape(lead + (C, H, r, W, r)).permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return y.reshape(lead + (C * r * r, H, W))


class _FixedInt(Module):
    """``fn(input, n)`` as a module, ``n`` a positive int fixed at construction and kept as
    the attribute named ``arg`` (also what ``extra_repr`` shows); a subclass names both in its
    class line: ``class PixelShuffle(_FixedInt, fn=pixel_shuffle, arg="upscale_factor")``."""

    _arg: str
    fn: Callable[[Any, int], Tensor]

    def __init_subclass__(cls, fn: Optional[Callable[[Any, int], Tensor]] = None, arg: Optional[str] = None,
                          **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)  # (a user's subclass of PixelShuffle names neither: it inherits both)
        if fn is not None:
            cls.fn = staticmethod(fn)  # type: ignore[assignment]
        if arg is not None:
            cls._arg = arg

    def __init__(self, n: int) -> None:
        setattr(self, self._arg, _pos_int(n, self._arg, type(self).__name__))

    def forward(self, input: Any) -> Tensor:
        return self.fn(input, getattr(self, self._arg))

    def extra_repr(self) -> str:
        return f"{self._arg}={getattr(self, self._arg)}"


class PixelShuffle(_FixedInt, fn=pixel_shuffle, arg="upscale_factor"):
    """``F.pixel_shuffle`` as a module."""

    def __init__(self, upscale_factor: int) -> None:
        super().__init__(upscale_factor)


class PixelUnshuffle(_FixedInt, fn=pixel_unshuffle, arg="downscale_factor"):
    """``F.pixel_unshuffle`` as a module."""

    def __init__(self, downscale_factor: int) -> None:
        super().__init__(downscale_factor)


def instance_norm(input: Any, running_mean: Any = None, running_var: Any = None, weight: Any = None, bias: Any = None,
                  use_input_stats: bool = True, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Each (sample, channel) of (B, C, *S) normalised over its positions (biased variance),
    then ``* weight[c] + bias[c]``. With ``use_input_stats=False`` the running estimates
    normalise instead (as BatchNorm's eval). Running estimates given with
    ``use_input_stats=True`` are updated in place (the batch mean of the instance means and
    unbiased instance variances, with ``momentum``)."""
    from . import functional as F
    x = _float(input, "instance_norm")
    s = x.data.shape
    if len(s) < 3:
        raise ValueError(f"instance_norm: expected an input of shape (B, C, ...) with at least one position axis, "
                         f"got {s}")
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError("instance_norm: use_input_stats=False needs running_mean and running_var")
        return F.batch_norm(x, running_mean, running_var, weight, bias, False, momentum, eps)
    from .instancenorm import instance_stats, one_position
    one_position("instance_norm", s)
    out = F.group_norm(x, s[1], weight, bias, eps)
    if running_mean is not None or running_var is not None:
        if running_mean is None or running_var is None:
            raise ValueError("instance_norm: give both running_mean and running_var, or neither")
        m = _real(momentum, "instance_norm", "momentum")
        for t, v in zip((running_mean, running_var), instance_stats(x.data)):
            arr = t.data if isinstance(t, Tensor) else t
            arr[...] = ((1 - m) * arr + m * v).astype(arr.dtype)
    return out
