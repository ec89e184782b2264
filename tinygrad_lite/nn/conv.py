"""Convolutions as functions (``conv1d`` / ``conv2d`` / ``conv3d``) and layers (PyTorch's shapes,
argument names and parameter names), one N-d code path (``ops.conv``) for N = 1, 2, 3.

``Conv1d`` / ``Conv2d`` / ``Conv3d`` hold ``weight`` (out_channels, in_channels/groups, *kernel_size)
and ``bias`` (out_channels,), initialised uniform in +-1/sqrt(fan_in) (fan_in =
in_channels/groups * prod(kernel_size)), as PyTorch's default. Per sample, the weight's
gradient is kept as the output cotangent and the input patches (see ``ops.conv``).
"""

from __future__ import annotations

import numbers
from typing import Any, Optional, Union

import numpy as np

from ..conventions import check_bool
from ..factories import param_dtype
from ..ops.base import too_big
from ..ops.conv import CONV
from ..random import as_generator
from ..tensor import Tensor
from . import functional as F
from .module import Module
from .padding import pad

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")

__all__ = ["Conv1d", "Conv2d", "Conv3d", "conv1d", "conv2d", "conv3d"]


def conv_operands(x: Any, weight: Any, groups: Any, nd: int, who: str, axes: str) -> tuple:
    """A convolution's operands, checked: (the input with a batch axis, its shape as given,
    whether the batch axis was added, the weight (nd + 2 axes: ``axes``, then the kernel's),
    groups as an int >= 1)."""
    x = F._t(x)
    given = tuple(x.data.shape)  # (errors show the input as given, also unbatched)
    x, added = F._spatial(x, nd, who)
    W = F._t(weight)
    if W.data.ndim != nd + 2:
        raise ValueError(f"{who}: weight must have {nd + 2} axes ({axes}, *kernel), got {W.data.shape}")
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or groups < 1:
        raise ValueError(f"{who}: groups must be an int >= 1, got {groups!r}")
    return x, given, added, W, int(groups)


def _conv(x: Any, weight: Tensor, bias: Optional[Tensor], stride: Any, padding: Any, dilation: Any, groups: int,
          nd: int, who: str) -> Tensor:
    x, given, added, W, groups = conv_operands(x, weight, groups, nd, who, "out, in/groups")
    k = W.data.shape[2:]
    s = F._tuple(stride, nd, "stride", who)
    d = F._tuple(dilation, nd, "dilation", who)
    pads = F._pads(padding, nd, k, d, s, who)
    O, Cg = W.data.shape[:2]
    C, S = x.data.shape[1], x.data.shape[2:]
    if C != Cg * groups:
        raise ValueError(f"{who}: expected an input with {Cg * groups} channels (weight {W.data.shape}, groups="
                         f"{groups}), got input of shape {given} with {C} channels")
    if O % groups:
        raise ValueError(f"{who}: {O} output channels are not divisible by groups={groups}")
    for n, kk, (lo, hi), dd in zip(S, k, pads, d):
        if dd * (kk - 1) + 1 > n + lo + hi:
            raise ValueError(f"{who}: kernel of size {tuple(k)} (dilation {d}) is larger than the padded input "
                             f"{tuple(a + p0 + p1 for a, (p0, p1) in zip(S, pads))} (input shape {given})")
    b = None if bias is None else F._t(bias)
    if b is not None and b.data.shape != (O,):
        raise ValueError(f"{who}: bias must have shape ({O},), got {b.data.shape}")
    y = CONV(x, W, b, s, pads, d, int(groups))
    return y.squeeze(0) if added else y


def conv1d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
           groups: int = 1) -> Tensor:
    """1-d convolution (cross-correlation) of (B, C, L) with weight (O, C/groups, k)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
           groups: int = 1) -> Tensor:
    """2-d convolution (cross-correlation) of (B, C, H, W) with weight (O, C/groups, kh, kw)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def conv3d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
           groups: int = 1) -> Tensor:
    """3-d convolution (cross-correlation) of (B, C, D, H, W) with weight (O, C/groups, kd, kh, kw):
    ``out[b, o, i] = bias[o] + sum_{c in group(o), j} W[o, c, j] xp[b, c, i*stride + j*dilation]``."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 3, "conv3d")


def check_channels(m: Module, who: str, in_channels: Any, out_channels: Any, groups: Any, bias: Any) -> None:
    """The channel counts and groups (ints >= 1, groups dividing both) and the bias flag,
    kept on ``m`` as ints."""
    for name, v in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or not 1 <= v < 2**63:
            raise ValueError(f"{who}: {name} must be an int >= 1 (an int64), got {v!r}")
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
    try:
        m.weight = Tensor(r.uniform(-bound, bound, shape).astype(dtype), requires_grad=True)
    except (MemoryError, ValueError) as e:  # (numpy's refusal of a size past memory names nothing)
        raise too_big(type(m).__name__, e, shape) or e from None
    m.register_parameter("bias", Tensor(r.uniform(-bound, bound, (m.out_channels,)).astype(dtype), requires_grad=True)
                         if bias else None)


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
        self.transposed, self.output_padding = False, (0,) * self.nd  # (torch's attributes of a convolution)
        self.padding = padding if isinstance(padding, str) else F._tuple(padding, self.nd, "padding", who, lo=0)
        F._pads(self.padding, self.nd, self.kernel_size, self.dilation, self.stride, who)  # checks 'same'
        init_params(self, (out_channels, in_channels // groups) + self.kernel_size, in_channels // groups, bias, rng,
                    dtype)

    def reset_parameters(self) -> None:
        """Weight and bias drawn again, uniform in +-1/sqrt(fan_in) (``nn.reset``)."""
        from .reset import fan_in
        fan_in(self)

    def forward(self, input: Any) -> Tensor:
        who = f"{type(self).__name__}({self.extra_repr()})"
        if self.padding_mode == "zeros":
            return _conv(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups, self.nd,
                           who)
        # the other modes pad first (torch's order: last axis first), then convolve without padding
        pads = F._pads(self.padding, self.nd, self.kernel_size, self.dilation, self.stride, who)
        input = pad(input, tuple(v for lo_hi in reversed(pads) for v in lo_hi), self.padding_mode)
        return _conv(input, self.weight, self.bias, self.stride, 0, self.dilation, self.groups, self.nd, who)

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


def sized_layers(base: type, name: str, what: str) -> tuple:
    """The layers ``{name}1d``, ``{name}2d`` and ``{name}3d``: subclasses of ``base`` with
    ``nd`` = 1, 2, 3 spatial axes, each documented as ``what`` over its input shape."""
    out = []
    for nd in (1, 2, 3):
        shape = F.batched_shape(nd)
        doc = f"{what} over {shape} inputs (or {shape.replace('B, ', '')} unbatched)."
        out.append(type(f"{name}{nd}d", (base,), {"nd": nd, "__doc__": doc, "__module__": base.__module__,
                                                  "__qualname__": f"{name}{nd}d"}))
    return tuple(out)


Conv1d, Conv2d, Conv3d = sized_layers(_ConvNd, "Conv", "Convolution (cross-correlation)")
