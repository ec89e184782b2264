"""Convolution and pooling layers (PyTorch's shapes, argument names and parameter names).

``Conv1d`` / ``Conv2d`` hold ``weight`` (out_channels, in_channels/groups, *kernel_size)
and ``bias`` (out_channels,), initialised uniform in +-1/sqrt(fan_in) (fan_in =
in_channels/groups * prod(kernel_size)), as PyTorch's default. Per sample, the weight's
gradient is kept as the output cotangent and the input patches (see ``ops.conv``).
"""

from __future__ import annotations

import numbers
from typing import Any, Union

import numpy as np

from ..conventions import check_bool
from ..factories import param_dtype
from ..random import as_generator
from ..tensor import Tensor
from . import functional as F
from .module import Module
from .padding import pad

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")

__all__ = ["Conv1d", "Conv2d", "MaxPool2d", "AvgPool2d"]


def check_channels(m: Module, who: str, in_channels: Any, out_channels: Any, groups: Any, bias: Any) -> None:
    """The channel counts and groups (ints >= 1, groups dividing both) and the bias flag,
    kept on ``m`` as ints."""
    for name, v in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"{who}: {name} must be an int >= 1, got {v!r}")
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"{who}: groups={groups} must divide in_channels={in_channels} and "
                         f"out_channels={out_channels}")
    check_bool(who, "bias", bias)
    m.in_channels, m.out_channels, m.groups = int(in_channels), int(out_channels), int(groups)


def init_params(m: Module, shape: tuple, per_tap: int, bias: bool, rng: Any, dtype: Any) -> None:
    """``m.weight`` of ``shape`` and ``m.bias`` (m.out_channels,) (or None), uniform in
    +-1/sqrt(fan_in) with fan_in = per_tap * prod(kernel) (the kernel: shape[2:])."""
    r = as_generator(rng)
    bound = 1.0 / np.sqrt(per_tap * int(np.prod(shape[2:])))
    m.weight = Tensor(r.uniform(-bound, bound, shape).astype(dtype), requires_grad=True)
    m.bias = Tensor(r.uniform(-bound, bound, (m.out_channels,)).astype(dtype), requires_grad=True) if bias else None


class _ConvNd(Module):
    nd = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 rng: Union[None, int, np.random.Generator] = None, dtype: Any = np.float64, *,
                 device: Any = None) -> None:
        who = type(self).__name__
        dtype = param_dtype(who, dtype, device)
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"{who}: padding_mode must be one of {list(PADDING_MODES)}, got {padding_mode!r}")
        self.padding_mode = padding_mode
        check_channels(self, who, in_channels, out_channels, groups, bias)
        self.kernel_size = F._tuple(kernel_size, self.nd, "kernel_size", who)
        self.stride = F._tuple(stride, self.nd, "stride", who)
        self.dilation = F._tuple(dilation, self.nd, "dilation", who)
        self.padding = padding if isinstance(padding, str) else F._tuple(padding, self.nd, "padding", who, lo=0)
        F._pads(self.padding, self.nd, self.kernel_size, self.dilation, self.stride, who)  # checks 'same'
        init_params(self, (out_channels, in_channels // groups) + self.kernel_size, in_channels // groups, bias, rng,
                    dtype)

    def forward(self, x: Any) -> Tensor:
        who = f"{type(self).__name__}({self.extra_repr()})"
        if self.padding_mode == "zeros":
            return F._conv(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups, self.nd,
                           who)
        # the other modes pad first (torch's order: last axis first), then convolve without padding
        pads = F._pads(self.padding, self.nd, self.kernel_size, self.dilation, self.stride, who)
        x = pad(x, tuple(v for lo_hi in reversed(pads) for v in lo_hi), self.padding_mode)
        return F._conv(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups, self.nd, who)

    def extra_repr(self) -> str:
        """The sizes, then each setting that differs from its default (as torch prints them)."""
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        zero, one = (0,) * self.nd, (1,) * self.nd
        for name, default in (("padding", zero), ("dilation", one), ("output_padding", zero), ("groups", 1)):
            v = getattr(self, name, default)
            if v != default:
                s += f", {name}={v}"
        s += "" if self.bias is not None else ", bias=False"
        mode = getattr(self, "padding_mode", "zeros")
        return s + ("" if mode == "zeros" else f", padding_mode={mode}")


class Conv1d(_ConvNd):
    """1-d convolution over (B, C, L) inputs (or (C, L) unbatched)."""

    nd = 1


class Conv2d(_ConvNd):
    """2-d convolution over (B, C, H, W) inputs (or (C, H, W) unbatched)."""

    nd = 2


def _check_pool(kernel_size: Any, stride: Any, padding: Any, who: str, dilation: Any = 1) -> None:
    """The pooling sizes, checked when the layer is built (the same rules as ``F.max_pool2d``)."""
    k = F._tuple(kernel_size, 2, "kernel_size", who)
    if stride is not None:
        F._tuple(stride, 2, "stride", who)
    F._tuple(dilation, 2, "dilation", who)
    p = F._tuple(padding, 2, "padding", who, lo=0)
    if any(2 * pp > kk for pp, kk in zip(p, k)):
        raise ValueError(f"{who}: the {'max' if who[0] == 'M' else 'avg'}_pool2d padding {p} must be at most half "
                         f"of the kernel size {k}")


class MaxPool2d(Module):
    """The maximum of each kernel_size window (stride defaults to kernel_size; implicit -inf
    padding of at most half the kernel); torch's arguments, ``return_indices=True`` makes the
    forward return ``(output, indices)``."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        _check_pool(kernel_size, stride, padding, "MaxPool2d", dilation)
        stride = kernel_size if stride is None else stride  # (as torch keeps it)
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride, padding, dilation
        self.return_indices = check_bool("MaxPool2d", "return_indices", return_indices)
        self.ceil_mode = check_bool("MaxPool2d", "ceil_mode", ceil_mode)

    def forward(self, x: Any) -> Any:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """The mean of each kernel_size window (stride defaults to kernel_size; zero padding counted
    in the divisor unless count_include_pad=False; ``divisor_override`` replaces the divisor)."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: Any = None) -> None:
        _check_pool(kernel_size, stride, padding, "AvgPool2d")
        stride = kernel_size if stride is None else stride  # (as torch keeps it)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode = check_bool("AvgPool2d", "ceil_mode", ceil_mode)
        self.count_include_pad = check_bool("AvgPool2d", "count_include_pad", count_include_pad)
        if divisor_override is not None and (isinstance(divisor_override, bool) or not isinstance(
                divisor_override, int) or divisor_override == 0):
            raise ValueError(f"AvgPool2d: divisor_override must be None or a non-zero int, got {divisor_override!r}")
        self.divisor_override = divisor_override

    def forward(self, x: Any) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                            self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
