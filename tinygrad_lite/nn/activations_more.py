"""Activations built from other ops, with PyTorch's signatures, as functions (re-exported by
``tl.nn.functional``) and modules (re-exported by ``tl.nn``): selu / SELU, celu / CELU,
hardsigmoid / Hardsigmoid, hardswish / Hardswish, softmin / Softmin, glu / GLU, threshold /
Threshold, prelu / PReLU (a learned slope per channel), tanhshrink / Tanhshrink; and
``F.softmax`` / ``F.log_softmax``, which with softmin take torch's implicit axis (with its
warning) when no ``dim`` is given.

Each is a composition of differentiable ops (elu, hardtanh, softmax, sigmoid, where, ...), so
its gradient, its per-sample gradients and its errors are those ops'. Modules accept torch's
``inplace`` flag where torch has one (the input takes the result, as torch's: ``inplace_fns``).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ..factories import param_dtype, where
from ..tensor import Tensor
from .activations import _Activation, _float, _inplace, _real, elu, hardtanh
from .functional import _t
from .module import Module

__all__ = ["selu", "celu", "hardsigmoid", "hardswish", "softmin", "glu", "threshold", "prelu", "tanhshrink", "SELU",
           "CELU", "Hardsigmoid", "Hardswish", "Softmin", "GLU", "Threshold", "PReLU", "Tanhshrink"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Any, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with torch's constants (alpha = 1.6733, scale = 1.0507), the
    self-normalising activation."""
    _inplace(inplace, "selu")
    return elu(_float(input, "selu"), _SELU_ALPHA) * _SELU_SCALE


def celu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0, else alpha (e^(x / alpha) - 1), as torch (for alpha > 0 that is
    max(0, x) + min(0, alpha (e^(x / alpha) - 1)); a negative alpha is taken as it is)."""
    _inplace(inplace, "celu")
    a = _real(alpha, "celu", "alpha")
    if a == 0:
        raise ValueError("celu: alpha must not be 0")
    x = _float(input, "celu")
    if a > 0:
        return elu(x / a, 1.0) * a
    negative = ((x.clamp_max(0.0) / a).exp() - 1.0) * a  # (the exponential sees only x <= 0)
    return where(x.data > 0, x, negative)


# torch's hardsigmoid backward multiplies by the float32 constant 1/6 in every dtype
_SIXTH_F32 = float(np.float32(1.0) / np.float32(6.0))


def hardsigmoid(input: Any, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, linear between. The gradient strictly inside
    is torch's: float32's 1/6 (0.1666666716...), also in float64."""
    _inplace(inplace, "hardsigmoid")
    x = _float(input, "hardsigmoid")
    if np.isnan(x.data).any():  # nan is not strictly inside: a 0 slope there, as torch (the value stays nan)
        x = where(np.isnan(x.data), x.data, x)
    h = hardtanh(x + 3.0, 0.0, 6.0)
    sloped = h * _SIXTH_F32
    # a constant correction: h / 6 - h * c is exact (the two are within a factor 2), so the
    # sum is exactly h / 6, while the gradient is c's
    return sloped + Tensor((h.data / 6.0) - sloped.data)


def hardswish(input: Any, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6 (MobileNetV3's activation)."""
    _inplace(inplace, "hardswish")
    x = _float(input, "hardswish")
    return x * (hardtanh(x + 3.0, 0.0, 6.0) / 6.0)


def implicit_dim(who: str, ndim: int, stacklevel: int) -> int:
    """torch's axis for a softmax called without ``dim`` (deprecated there, and warned about):
    0 for inputs of 0, 1 or 3 axes, else 1."""
    warnings.warn(f"{who}: implicit dimension choice (axis {0 if ndim in (0, 1, 3) else 1} for {ndim} axes, as "
                  "torch); give dim= explicitly", UserWarning, stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Any, dim: Any = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """exp(x) / sum exp(x) along ``dim`` (None: torch's implicit axis, with its warning);
    ``dtype``: the input is cast to it first, as torch."""
    x = _t(input)
    return x.softmax(implicit_dim("softmax", x.data.ndim, _stacklevel) if dim is None else dim, dtype=dtype)


def log_softmax(input: Any, dim: Any = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """x - log sum exp(x) along ``dim`` (None: torch's implicit axis, with its warning);
    ``dtype``: the input is cast to it first, as torch."""
    x = _t(input)
    return x.log_softmax(implicit_dim("log_softmax", x.data.ndim, _stacklevel) if dim is None else dim, dtype=dtype)


def softmin(input: Any, dim: Any = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """softmax(-x) along ``dim`` (None: torch's implicit axis, with its warning), in ``dtype``
    when given (cast first)."""
    x = _float(input, "softmin")
    return (-x).softmax(implicit_dim("softmin", x.data.ndim, _stacklevel) if dim is None else dim, dtype=dtype)


def glu(input: Any, dim: int = -1) -> Tensor:
    """Gated linear unit: the input split in two halves a, b along ``dim``; a * sigmoid(b)."""
    x = _float(input, "glu")
    if x.data.ndim == 0:
        raise ValueError("glu: a 0-d input cannot be split")
    n = x.data.ndim
    if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer)) or not -n <= dim < n:
        raise IndexError(f"glu: dim {dim!r} is out of range for an input of shape {x.data.shape}")
    d = int(dim) % n
    size = x.data.shape[d]
    if size % 2:
        raise ValueError(f"glu: the size of dim {d} ({size}, input shape {x.data.shape}) must be even")
    a, b = x.split(size // 2, d)
    return a * b.sigmoid()


def threshold(input: Any, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else value (gradient 1 where x > threshold, else 0)."""
    _inplace(inplace, "threshold")
    t, v = _real(threshold, "threshold", "threshold"), _real(value, "threshold", "value")
    x = _t(input)
    if x.data.dtype.kind in "iu":  # integers stay integers; the constants are cut to integers, as torch
        t, v = int(t), int(v)
    else:
        x = _float(input, "threshold")
    return where(~(x.data <= t), x, np.asarray(v, dtype=x.data.dtype))  # (nan passes, as torch)


def prelu(input: Any, weight: Any) -> Tensor:
    """max(0, x) + weight * min(0, x), ``weight`` of one value or one per channel (axis 1 of an
    input of 2 or more dimensions, as torch)."""
    x = _float(input, "prelu")
    if not isinstance(weight, Tensor):
        arr = np.asarray(weight) if isinstance(weight, (list, tuple, np.ndarray, int, float)) else None
        if arr is None or arr.dtype.kind not in "biuf" or isinstance(weight, bool):
            raise TypeError(f"prelu: weight must be a Tensor, got {type(weight).__name__}")
    w = weight if isinstance(weight, Tensor) else Tensor(np.asarray(weight, dtype=x.data.dtype))
    if w.data.ndim == 0:  # (one slope given as a 0-d tensor, as torch takes it)
        w = w.reshape((1,))
    if w.data.ndim != 1:
        raise ValueError(f"prelu: weight must be 1-d, got shape {w.data.shape}")
    k = w.data.shape[0]
    if k != 1:
        channels = x.data.shape[1] if x.data.ndim >= 2 else 1  # (below 2 axes: one channel, as torch)
        if k != channels:
            raise ValueError(f"prelu: weight of {k} values does not match the {channels} channels of an input of "
                             f"shape {x.data.shape}")
        if x.data.ndim >= 2:
            w = w.reshape((k,) + (1,) * (x.data.ndim - 2))
    elif x.data.ndim == 0:  # (a 0-d input stays 0-d)
        w = w.reshape(())
    return where(x.data > 0, x, w * x)  # at x == 0 the gradient is the slope, as torch's


def tanhshrink(input: Any) -> Tensor:
    """x - tanh(x)."""
    x = _float(input, "tanhshrink")
    return x - x.tanh()


class SELU(_Activation):
    """``F.selu`` as a module."""

    fn = staticmethod(selu)


class CELU(_Activation):
    """``F.celu`` as a module."""

    fn = staticmethod(celu)

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        self._keep(inplace, alpha=alpha)
        if self.alpha == 0:
            raise ValueError("CELU: alpha must not be 0")


class Hardsigmoid(_Activation):
    """``F.hardsigmoid`` as a module."""

    fn = staticmethod(hardsigmoid)


class Hardswish(_Activation):
    """``F.hardswish`` as a module."""

    fn = staticmethod(hardswish)


class Tanhshrink(_Activation):
    """``F.tanhshrink`` as a module."""

    fn = staticmethod(tanhshrink)
    _inplace_arg = False


class Threshold(_Activation):
    """``F.threshold`` as a module: x where x > threshold, else value."""

    fn = staticmethod(threshold)

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        self._keep(inplace, threshold=threshold, value=value)


def _dim(dim: Any, who: str) -> Any:
    if dim is not None and (isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer))):
        raise TypeError(f"{who}: dim must be an int or None, got {dim!r}")
    return dim


class Softmin(_Activation):
    """``F.softmin`` as a module (``dim=None``: torch's implicit axis, as ``F.softmin``)."""

    fn = staticmethod(softmin)

    def __init__(self, dim: Any = None) -> None:
        self._hold(dim=_dim(dim, "Softmin"))


class GLU(_Activation):
    """``F.glu`` as a module (``dim=-1`` by default)."""

    fn = staticmethod(glu)

    def __init__(self, dim: int = -1) -> None:
        self._hold(dim=_dim(dim, "GLU"))


class PReLU(Module):
    """max(0, x) + a * min(0, x) with a learned slope ``weight`` of ``num_parameters`` values
    (1, or one per channel), initialised to ``init``; torch's parameter name ``weight``."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, dtype: Any = np.float64, *,
                 device: Any = None) -> None:
        dtype = param_dtype("PReLU", dtype, device)
        if isinstance(num_parameters, (bool, np.bool_)) or not isinstance(num_parameters, (int, np.integer)) \
                or num_parameters < 1:
            raise ValueError(f"PReLU: num_parameters must be a positive int, got {num_parameters!r}")
        a = _real(init, "PReLU", "init")
        if not math.isfinite(a):
            raise ValueError(f"PReLU: init must be finite, got {init!r}")
        self.num_parameters = int(num_parameters)
        self.init = a
        self.weight = Tensor(np.full(self.num_parameters, a, dtype=dtype), requires_grad=True)

    def reset_parameters(self) -> None:
        """Every slope back to ``init`` (``nn.reset``)."""
        from .reset import prelu
        prelu(self)

    def forward(self, input: Any) -> Tensor:
        return prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"

