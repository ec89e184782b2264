"""Transposed convolutions (``conv_transpose1d/2d/3d`` and the modules
``ConvTranspose1d/2d/3d``) with torch's names, signatures, parameter shapes
and initialisation, built from existing ops so that gradients and per-sample gradients are
those of the ops they are made of.

A transposed convolution is the gradient of a convolution with respect to its input. With
input ``x`` (B, C_in, *S), weight ``W`` (C_in, C_out/G, *k), stride ``s``, padding ``p``,
output padding ``q`` and dilation ``d`` (per spatial axis) it scatters every input element:

    y[b, o, i*s + j*d - p] += x[b, c, i] W[c, o', j]      (o = group(c) * C_out/G + o')

so the output length is ``(n - 1) s - 2 p + d (k - 1) + q + 1``. The same numbers come from
an ordinary stride-1 convolution (``ops.conv``) of

* ``x`` with ``s - 1`` zeros inserted between neighbouring elements of each spatial axis
  (length ``(n - 1) s + 1``), padded by ``d (k - 1) - p`` before and ``d (k - 1) - p + q``
  after (a negative amount crops instead),
* with the kernel ``V[g, o', c', j] = W[g, c', o', k - 1 - j]``: each group's in/out axes
  swapped and every spatial axis flipped, dilation ``d``, ``G`` groups.

The zero insertion is a ``cat`` with zeros and a ``reshape``; the kernel a ``reshape``,
``transpose`` and a negative-step ``getitem`` of the parameter. The per-sample gradient of
``W`` is the convolution's (factored: cotangent and patches) pushed back through those
parameter-side ops, so ``grad_sample`` equals running each sample alone.

The defaults are torch's: ``weight`` and ``bias`` uniform in ``+-1/sqrt(fan_in)`` with
``fan_in = C_out/G * prod(k)`` (torch computes fan_in from the weight's axis 1).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np

from ..factories import param_dtype
from ..ops.conv import CONV
from ..ops.layout import cat
from ..tensor import Tensor
from . import functional as F
from .conv import _ConvNd, check_channels, conv_operands, init_params, sized_layers
from .module import Module

__all__ = ["conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "ConvTranspose1d", "ConvTranspose2d",
           "ConvTranspose3d"]


def _spread(x: Tensor, s: int, axis: int) -> Tensor:
    """``x`` with ``s - 1`` zeros between neighbouring entries along ``axis``: length (n-1)s+1."""
    if s == 1:
        return x
    shape = tuple(x.data.shape)
    n = shape[axis]
    zeros = F._t(np.zeros(shape[:axis + 1] + (s - 1,) + shape[axis + 1:], dtype=x.data.dtype))
    y = cat([x.unsqueeze(axis + 1), zeros], axis=axis + 1)  # (..., n, s, ...)
    y = y.reshape(*shape[:axis], n * s, *shape[axis + 1:])
    return y[(slice(None),) * axis + (slice(0, (n - 1) * s + 1),)]


def _kernel(W: Tensor, groups: int) -> Tensor:
    """The equivalent convolution's kernel (C_out, C_in/G, *k): per group, in/out swapped,
    every spatial axis reversed."""
    Cin, Og = W.data.shape[:2]
    k = tuple(W.data.shape[2:])
    nd = len(k)
    V = W.reshape(groups, Cin // groups, Og, *k).transpose(0, 2, 1, *range(3, 3 + nd))
    V = V.reshape(groups * Og, Cin // groups, *k)
    return V[(slice(None), slice(None)) + (slice(None, None, -1),) * nd]


def out_lengths(S: Sequence[int], k: Sequence[int], s: tuple, p: tuple, q: tuple, d: tuple) -> tuple:
    """Output length per axis: ``(n - 1) s - 2 p + d (k - 1) + q + 1``."""
    return tuple((n - 1) * ss - 2 * pp + dd * (kk - 1) + qq + 1 for n, kk, ss, pp, qq, dd in zip(S, k, s, p, q, d))


def _conv_transpose(x: Any, weight: Any, bias: Any, stride: Any, padding: Any, output_padding: Any, groups: Any,
                    dilation: Any, nd: int, who: str) -> Tensor:
    x, given, added, W, G = conv_operands(x, weight, groups, nd, who, "in, out/groups")
    s = F._tuple(stride, nd, "stride", who)
    d = F._tuple(dilation, nd, "dilation", who)
    p = F._tuple(padding, nd, "padding", who, lo=0)
    q = F._tuple(output_padding, nd, "output_padding", who, lo=0)
    if any(qq >= ss and qq >= dd for qq, ss, dd in zip(q, s, d)):
        raise ValueError(f"{who}: output_padding {q} must be smaller than the stride {s} or the dilation {d} "
                         "on every axis")
    Cin, Og = W.data.shape[:2]
    k = tuple(W.data.shape[2:])
    C, S = x.data.shape[1], tuple(x.data.shape[2:])
    if Cin % G:
        raise ValueError(f"{who}: groups={G} does not divide the weight's {Cin} input channels (weight "
                         f"{W.data.shape})")
    if C != Cin:
        raise ValueError(f"{who}: expected an input with {Cin} channels (weight {W.data.shape}), got input of "
                         f"shape {given} with {C} channels")
    out = out_lengths(S, k, s, p, q, d)
    if any(o < 1 for o in out):
        raise ValueError(f"{who}: the output size {out} is not positive (input shape {given}, kernel {k}, "
                         f"stride {s}, padding {p}, output_padding {q}, dilation {d})")
    b = None if bias is None else F._t(bias)
    if b is not None and b.data.shape != (G * Og,):
        raise ValueError(f"{who}: bias must have shape ({G * Og},), got {b.data.shape}")
    for a in range(nd):
        x = _spread(x, s[a], 2 + a)
    pads = []
    for a in range(nd):  # a negative pad crops the spread input
        lo = d[a] * (k[a] - 1) - p[a]
        hi = lo + q[a]
        n = x.data.shape[2 + a]
        if lo < 0 or hi < 0:
            x = x[(slice(None),) * (2 + a) + (slice(max(-lo, 0), n - max(-hi, 0)),)]
        pads.append((max(lo, 0), max(hi, 0)))
    y = CONV(x, _kernel(W, G), b, (1,) * nd, tuple(pads), d, G)
    return y.squeeze(0) if added else y


def conv_transpose1d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    """1-d transposed convolution of (B, C_in, L) (or (C_in, L)) with weight (C_in, C_out/groups, k):
    output length (L-1) stride - 2 padding + dilation (k-1) + output_padding + 1."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 1,
                           "conv_transpose1d")


def conv_transpose2d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    """2-d transposed convolution of (B, C_in, H, W) (or (C_in, H, W)) with weight
    (C_in, C_out/groups, kh, kw); each output size as in ``conv_transpose1d``."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 2,
                           "conv_transpose2d")


def conv_transpose3d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    """3-d transposed convolution of (B, C_in, D, H, W) (or (C_in, D, H, W)) with weight
    (C_in, C_out/groups, kd, kh, kw); each output size as in ``conv_transpose1d``."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 3,
                           "conv_transpose3d")


class _ConvTransposeNd(Module):
    nd = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 rng: Union[None, int, np.random.Generator] = None, dtype: Any = np.float64, *,
                 device: Any = None, padding_mode: str = "zeros") -> None:
        """``padding_mode``: only ``"zeros"``, as torch (which takes the keyword and refuses the rest)."""
        who = type(self).__name__
        if not isinstance(padding_mode, str) or padding_mode != "zeros":
            raise ValueError(f'{who}: only "zeros" padding mode is supported for {who}, got {padding_mode!r}')
        self.padding_mode = padding_mode
        dtype = param_dtype(who, dtype, device)
        check_channels(self, who, in_channels, out_channels, groups, bias)
        self.kernel_size = F._tuple(kernel_size, self.nd, "kernel_size", who)
        self.stride = F._tuple(stride, self.nd, "stride", who)
        self.padding = F._tuple(padding, self.nd, "padding", who, lo=0)
        self.dilation = F._tuple(dilation, self.nd, "dilation", who)
        self.output_padding = F._tuple(output_padding, self.nd, "output_padding", who, lo=0)
        self.transposed = True  # (torch's attribute)
        if any(q >= s and q >= d for q, s, d in zip(self.output_padding, self.stride, self.dilation)):
            raise ValueError(f"{who}: output_padding {self.output_padding} must be smaller than the stride "
                             f"{self.stride} or the dilation {self.dilation} on every axis")
        init_params(self, (in_channels, out_channels // groups) + self.kernel_size, out_channels // groups, bias, rng,
                    dtype)

    def reset_parameters(self) -> None:
        """Weight and bias drawn again, uniform in +-1/sqrt(fan_in) (``nn.reset``)."""
        from .reset import fan_in
        fan_in(self)

    def _padding_for(self, x: Any, output_size: Optional[Sequence[int]]) -> tuple:
        """The output padding giving ``output_size`` (torch's ``forward(input, output_size)``):
        each size must lie within ``[smallest, smallest + stride - 1]``; ``output_size`` gives
        the spatial sizes, optionally after the batch and channel sizes."""
        if output_size is None:
            return self.output_padding
        who = type(self).__name__
        want = tuple(int(v) for v in output_size)[-self.nd:] if len(output_size) in (self.nd, self.nd + 2) else None
        S = np.shape(x.data if isinstance(x, Tensor) else x)[-self.nd:]
        if want is None:
            raise ValueError(f"{who}: output_size must give the last {self.nd} sizes, got {output_size!r}")
        least = out_lengths(S, self.kernel_size, self.stride, self.padding, (0,) * self.nd, self.dilation)
        most = tuple(lo + s - 1 for lo, s in zip(least, self.stride))
        if any(not lo <= w <= hi for w, lo, hi in zip(want, least, most)):
            raise ValueError(f"{who}: output_size {want} is not reachable from an input of spatial size "
                             f"{tuple(S)}: each size must lie between {least} and {most}")
        return tuple(w - lo for w, lo in zip(want, least))

    def forward(self, input: Any, output_size: Optional[Sequence[int]] = None) -> Tensor:
        return _conv_transpose(input, self.weight, self.bias, self.stride, self.padding,
                               self._padding_for(input, output_size), self.groups, self.dilation, self.nd,
                               f"{type(self).__name__}({self.extra_repr()})")

    extra_repr = _ConvNd.extra_repr


ConvTranspose1d, ConvTranspose2d, ConvTranspose3d = sized_layers(
    _ConvTransposeNd, "ConvTranspose", "Transposed convolution (weight (in_channels, out_channels/groups, *kernel))")
