"""``F.unfold`` / ``F.fold`` and the ``Unfold`` / ``Fold`` layers: torch's im2col and col2im
over two spatial axes, with torch's argument names and order.

``unfold`` turns ``x`` (N, C, H, W) into columns (N, C*K, L), K = kh*kw, L the number of
window positions, row ``c*K + j`` (channel-major, kernel offsets row by row):

    out[n, c*K + j, t] = xp[n, c, t*stride + j*dilation]      (xp: x zero-padded by padding)

``fold`` is its adjoint: columns (N, C*K, L) are added back at their window positions of an
(N, C, *output_size) array (overlapping windows add up, the padding is cut off), so
``fold(unfold(x))`` multiplies each element by the number of windows holding it. Both are
one op each (``ops.pool``: ``UNFOLD``, ``FOLD``), each the other's vjp; every window lies
inside one sample, so per-sample gradients pass through.
"""

from __future__ import annotations

import math
from typing import Any

from ..batchstate import BATCHED
from ..ops.conv import out_size
from ..ops.pool import FOLD, UNFOLD
from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["unfold", "fold", "Unfold", "Fold"]


def _sizes(kernel_size: Any, dilation: Any, padding: Any, stride: Any, who: str) -> tuple:
    """(kernel, dilation, (lo, hi) pads, stride), each per spatial axis, checked."""
    k = F._tuple(kernel_size, 2, "kernel_size", who)
    d = F._tuple(dilation, 2, "dilation", who)
    p = F._tuple(padding, 2, "padding", who, lo=0)
    s = F._tuple(stride, 2, "stride", who)
    return k, d, tuple((a, a) for a in p), s


def _blocks(S: tuple, k: tuple, d: tuple, pads: tuple, s: tuple, who: str) -> tuple:
    """The number of window positions per axis (each at least 1)."""
    blocks = tuple(out_size(n, kk, ss, lo, hi, dd) for n, kk, ss, (lo, hi), dd in zip(S, k, s, pads, d))
    if any(b < 1 for b in blocks):
        raise ValueError(f"{who}: kernel_size {k} (dilation {d}) does not fit the spatial size {S} padded by "
                         f"{tuple(lo for lo, _ in pads)}: {blocks} window positions")
    return blocks


def unfold(input: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> Tensor:
    """im2col: (N, C, H, W) (or (C, H, W)) -> (N, C*kh*kw, L), each column one window,
    ``out[n, c*K + j, t] = xp[n, c, t*stride + j*dilation]``."""
    x, added = F._spatial(F._t(input), 2, "unfold")
    k, d, pads, s = _sizes(kernel_size, dilation, padding, stride, "unfold")
    _blocks(tuple(x.data.shape[2:]), k, d, pads, s, f"unfold (input shape {x.data.shape})")
    y = UNFOLD(x, k, s, pads, d)
    return y.squeeze(0) if added else y


def fold(input: Any, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
         stride: Any = 1) -> Tensor:
    """col2im: (N, C*kh*kw, L) (or (C*kh*kw, L)) -> (N, C, *output_size), each column's entries
    added at its window's positions (the adjoint of ``unfold``)."""
    x = F._t(input)
    added = x.data.ndim == 2 and not x._bs & BATCHED
    if x.data.ndim != 3 and not added:
        raise ValueError(f"fold: expected an input of shape (N, C*kh*kw, L) or (C*kh*kw, L), got {x.data.shape}")
    x = x.unsqueeze(0) if added else x
    S = F._tuple(output_size, 2, "output_size", "fold")
    k, d, pads, s = _sizes(kernel_size, dilation, padding, stride, "fold")
    K = math.prod(k)
    if x.data.shape[1] % K:
        raise ValueError(f"fold: the input's axis 1 ({x.data.shape[1]}, input shape {x.data.shape}) is not "
                         f"divisible by the kernel size {k} (product {K})")
    blocks = _blocks(S, k, d, pads, s, f"fold (output_size {S})")
    if x.data.shape[2] != math.prod(blocks):
        raise ValueError(f"fold: input of shape {x.data.shape} has {x.data.shape[2]} columns; output_size {S}, "
                         f"kernel_size {k}, dilation {d}, padding {tuple(lo for lo, _ in pads)} and stride {s} "
                         f"give {blocks[0]} * {blocks[1]} = {math.prod(blocks)} window positions")
    y = FOLD(x, k, s, pads, d, S)
    return y.squeeze(0) if added else y


class Unfold(Module):
    """``unfold`` as a layer: (N, C, H, W) -> (N, C*kh*kw, L)."""

    def __init__(self, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> None:
        _sizes(kernel_size, dilation, padding, stride, "Unfold")
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, input: Any) -> Tensor:
        return unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, stride={self.stride}"


class Fold(Module):
    """``fold`` as a layer: (N, C*kh*kw, L) -> (N, C, *output_size)."""

    def __init__(self, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
                 stride: Any = 1) -> None:
        F._tuple(output_size, 2, "output_size", "Fold")
        _sizes(kernel_size, dilation, padding, stride, "Fold")
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input: Any) -> Tensor:
        return fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")
