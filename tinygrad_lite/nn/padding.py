"""``F.pad`` and the padding layers, with PyTorch's signatures and pad order.

``pad`` lists (before, after) pairs from the LAST axis backwards: ``(1, 2)`` pads the last
axis with 1 value before and 2 after; ``(1, 2, 3, 4)`` also pads the second-to-last axis
with 3 before and 4 after. Modes:

* ``"constant"``: ``value`` (default 0) outside the input; any number of axes; a negative
  pad crops that side;
* ``"reflect"``: the input mirrored about its edge values (``[a b c]`` padded by 2 before is
  ``[c b | a b c]``; each pad < the axis size);
* ``"replicate"``: the edge value repeated;
* ``"circular"``: the input wrapped around (the values before come from its end).

The non-constant modes pad the last 1, 2 or 3 axes of a 2-3, 3-4 or 4-5 axis input, as
torch. The result is built from slicing, gathering along the padded axes and joining, so
the gradient of each input element is the sum of the cotangents of every output position
that copies it, and a batched input keeps its per-sample gradients (unless the sample
axis itself is padded).
"""

from __future__ import annotations

import numbers
from typing import Any, Optional

import numpy as np

from .. import ops
from ..conventions import ShapeMismatchError
from ..ops.alloc import allocating
from ..tensor import Tensor
from .functional import _t
from .module import Module

__all__ = ["pad", "ConstantPad1d", "ConstantPad2d", "ZeroPad1d", "ZeroPad2d", "ReflectionPad1d", "ReflectionPad2d",
           "ReplicationPad1d", "ReplicationPad2d", "CircularPad1d", "CircularPad2d", "ConstantPad3d", "ZeroPad3d",
           "ReflectionPad3d", "ReplicationPad3d", "CircularPad3d"]

MODES = ("constant", "reflect", "replicate", "circular")


def _check_pad(pad: Any, ndim: int, who: str) -> list:
    """``pad`` as a list of (axis, before, after), the last axis first."""
    if isinstance(pad, Tensor) or not isinstance(pad, (tuple, list)) or any(
            isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral) for v in pad):
        raise TypeError(f"{who}: pad must be a tuple of ints, got {pad!r}")
    if len(pad) % 2:
        raise ShapeMismatchError(f"{who}: the padding length must be divisible by 2, got {len(pad)} ({tuple(pad)})")
    if len(pad) // 2 > ndim:
        raise ShapeMismatchError(f"{who}: the padding length should be at most twice the number of input axes, "
                                 f"got padding length {len(pad)} for an input of {ndim} axes")
    return [(ndim - 1 - i, int(pad[2 * i]), int(pad[2 * i + 1])) for i in range(len(pad) // 2)]


def _source_index(mode: str, n: int, lo: int, hi: int, axis: int, shape: tuple, who: str, least: int
                  ) -> np.ndarray:
    """For each output position along the axis, the input position it copies (``least``: the
    smallest output size allowed: 1 when one axis is padded, else 0, as torch)."""
    size = n + lo + hi
    if mode == "circular":
        c0, m = max(-lo, 0), n - max(-lo, 0) - max(-hi, 0)
        if max(lo, 0) > m or max(hi, 0) > m or size < 0:
            raise ShapeMismatchError(f"{who}: circular padding ({lo}, {hi}) of axis {axis} of the input of shape "
                                     f"{shape} wraps around the (cropped) input of size {max(m, 0)} more than once")
        return c0 + (np.arange(size) - max(lo, 0)) % max(m, 1)
    if n == 0 or size < least:
        raise ShapeMismatchError(f"{who}: {mode} padding ({lo}, {hi}) of axis {axis} of the input of shape {shape} "
                                 f"leaves an output of size {size}; it needs at least {least} (and a non-empty input)")
    j = np.arange(size) - lo
    if mode == "replicate":
        return np.clip(j, 0, n - 1)
    if lo >= n or hi >= n:
        raise ShapeMismatchError(f"{who}: reflect padding ({lo}, {hi}) of axis {axis} must be less than the axis "
                                 f"size {n} (input of shape {shape})")
    j = np.abs(j)
    return np.where(j >= n, 2 * (n - 1) - j, j)


@allocating("pad")
def pad(input: Any, pad: Any, mode: str = "constant", value: Optional[float] = None) -> Tensor:
    """The input padded (or, for negative pads, cropped) along its last ``len(pad) // 2`` axes.

    ``pad = (before_last, after_last, before_2nd_last, after_2nd_last, ...)``. Output size of a
    padded axis: ``n + before + after``. ``value`` (constant mode only; None means 0) is cast
    to the input's dtype. Gradient: each input element receives the sum of the cotangents of
    the output positions holding its value (0 for cropped elements).
    """
    x = _t(input)
    shape = x.data.shape
    if not isinstance(mode, str) or mode not in MODES:
        raise NotImplementedError(f"pad: unrecognised padding mode {mode!r}; use one of {MODES}")
    axes = _check_pad(pad, x.data.ndim, "pad")
    if mode != "constant":
        if value is not None and value != 0:
            raise ValueError(f"pad: padding mode {mode!r} does not take a value argument, got value={value!r}")
        k, nd = len(axes), x.data.ndim
        if not (1 <= k <= 3 and nd in (k + 1, k + 2)):
            raise NotImplementedError(
                f"pad: padding length {2 * k} is not supported for an input of {nd} axes (shape {shape}) in mode "
                f"{mode!r}; the non-constant modes pad the last 1, 2 or 3 axes of an input of 2-3, 3-4 or 4-5 axes")
        for axis, lo, hi in axes:
            idx = _source_index(mode, shape[axis], lo, hi, axis, shape, "pad", int(k == 1))
            if lo or hi:
                x = x[(slice(None),) * axis + (idx,)]
        return x
    if value is not None and (isinstance(value, Tensor) or not isinstance(value, (numbers.Number, np.bool_))):
        raise TypeError(f"pad: value must be a number or None, got {value!r}")
    fill = 0 if value is None else value
    for axis, lo, hi in axes:
        n = x.data.shape[axis]
        if n - max(-lo, 0) - max(-hi, 0) < 0:
            raise ShapeMismatchError(f"pad: padding ({lo}, {hi}) of axis {axis} of the input of shape {shape} "
                                     f"crops more than the axis holds ({n})")
        if lo < 0 or hi < 0:
            x = x[(slice(None),) * axis + (slice(max(-lo, 0), n - max(-hi, 0)),)]
        parts = []
        for p in (max(lo, 0), None, max(hi, 0)):
            if p is None:
                parts.append(x)
            elif p:
                s = list(x.data.shape)
                s[axis] = p
                parts.append(np.full(s, fill, dtype=x.data.dtype))
        if len(parts) > 1:
            x = ops.CONCAT(parts, axis)
    return x


def _sizes(padding: Any, n: int, who: str) -> tuple:
    """An int (the same pad on every side) or a tuple of 2n ints, as a tuple of 2n ints."""
    p = (padding,) * (2 * n) if isinstance(padding, numbers.Integral) and not isinstance(padding, bool) else padding
    if (not isinstance(p, (tuple, list)) or len(p) != 2 * n
            or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in p)):
        raise TypeError(f"{who}: padding must be an int or a tuple of {2 * n} ints, got {padding!r}")
    return tuple(int(v) for v in p)


class _PadNd(Module):
    """``F.pad(x, self.padding, mode, value)`` as a layer."""

    mode, n = "constant", 1

    def __init__(self, padding: Any) -> None:
        self.padding = _sizes(padding, self.n, type(self).__name__)

    def forward(self, input: Any) -> Tensor:
        return pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{type(self).__name__}: value must be a real number, got {value!r}")
        self.value = float(value)

    def forward(self, input: Any) -> Tensor:
        return pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pads the last axis with ``value``: ``padding`` an int or (left, right)."""


class ConstantPad2d(_ConstantPadNd):
    """Pads the last two axes with ``value``: an int or (left, right, top, bottom)."""

    n = 2


class ConstantPad3d(_ConstantPadNd):
    """Pads the last three axes with ``value``: an int or (left, right, top, bottom, front, back)."""

    n = 3


class _ZeroPadNd(_ConstantPadNd):
    """``ConstantPad{n}d(padding, 0.0)``."""

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd, ConstantPad1d):
    """``ConstantPad1d(padding, 0.0)``."""


class ZeroPad2d(_ZeroPadNd, ConstantPad2d):
    """``ConstantPad2d(padding, 0.0)``."""


class ZeroPad3d(_ZeroPadNd, ConstantPad3d):
    """``ConstantPad3d(padding, 0.0)``."""


class ReflectionPad1d(_PadNd):
    """Mirror padding of the last axis of (C, L) / (B, C, L) inputs."""

    mode = "reflect"


class ReflectionPad2d(_PadNd):
    """Mirror padding of the last two axes of (C, H, W) / (B, C, H, W) inputs."""

    mode, n = "reflect", 2


class ReplicationPad1d(_PadNd):
    """Edge-value padding of the last axis."""

    mode = "replicate"


class ReplicationPad2d(_PadNd):
    """Edge-value padding of the last two axes."""

    mode, n = "replicate", 2


class CircularPad1d(_PadNd):
    """Wrap-around padding of the last axis."""

    mode = "circular"


class CircularPad2d(_PadNd):
    """Wrap-around padding of the last two axes."""

    mode, n = "circular", 2


class ReflectionPad3d(_PadNd):
    """Mirror padding of the last three axes of (C, D, H, W) / (B, C, D, H, W) inputs."""

    mode, n = "reflect", 3


class ReplicationPad3d(_PadNd):
    """Edge-value padding of the last three axes."""

    mode, n = "replicate", 3


class CircularPad3d(_PadNd):
    """Wrap-around padding of the last three axes."""

    mode, n = "circular", 3
