"""The pooling layers (torch's names, arguments and printed form), over 1, 2 or 3 spatial
axes: ``MaxPool1d/2d/3d``, ``AvgPool1d/2d/3d``, ``MaxUnpool1d/2d/3d``,
``AdaptiveAvgPool1d/2d/3d`` and ``AdaptiveMaxPool1d/2d/3d``. Each checks its sizes when it is
built and calls its function of ``pooling`` (one N-d code path) in ``forward``; a layer keeps
its arguments as given (``stride`` defaults to ``kernel_size``), as torch does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..conventions import check_bool
from ..tensor import Tensor
from . import functional as F
from .conv import sized_layers
from .module import Module
from .pooling import _sizes, _unpool, adaptive_avg_pool, adaptive_max_pool, avg_pool, check_half, max_pool

__all__ = ["MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d", "MaxUnpool1d",
           "MaxUnpool2d", "MaxUnpool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d",
           "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d"]


class _Window(Module):
    """A pool of ``nd`` spatial axes: kernel_size, stride (None: the kernel size), padding."""

    nd, fn = 2, "max_pool"

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1) -> None:
        who = type(self).__name__
        k = F._tuple(kernel_size, self.nd, "kernel_size", who)
        if stride is not None:
            F._tuple(stride, self.nd, "stride", who)
        F._tuple(dilation, self.nd, "dilation", who)
        check_half(F._tuple(padding, self.nd, "padding", who, lo=0), k, who, f"{self.fn}{self.nd}d")
        self.kernel_size, self.stride, self.padding = kernel_size, kernel_size if stride is None else stride, padding

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _MaxPoolNd(_Window):
    """The maximum of each kernel_size window (stride defaults to kernel_size; implicit -inf
    padding of at most half the kernel); ``return_indices=True`` makes the forward return
    ``(output, indices)``."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__(kernel_size, stride, padding, dilation)
        self.dilation = dilation
        self.return_indices = check_bool(type(self).__name__, "return_indices", return_indices)
        self.ceil_mode = check_bool(type(self).__name__, "ceil_mode", ceil_mode)

    def forward(self, input: Any) -> Any:
        return max_pool(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                        self.return_indices, self.nd)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, dilation={self.dilation}, ceil_mode={self.ceil_mode}"


MaxPool1d, MaxPool2d, MaxPool3d = sized_layers(_MaxPoolNd, "MaxPool", "Max pooling")


class _AvgPoolNd(_Window):
    """The mean of each kernel_size window (stride defaults to kernel_size; zero padding counted
    in the divisor unless count_include_pad=False; ``divisor_override`` replaces the divisor)."""

    fn = "avg_pool"

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: Any = None) -> None:
        super().__init__(kernel_size, stride, padding)
        who = type(self).__name__
        self.ceil_mode = check_bool(who, "ceil_mode", ceil_mode)
        self.count_include_pad = check_bool(who, "count_include_pad", count_include_pad)
        if divisor_override is not None and (isinstance(divisor_override, (bool, np.bool_)) or not isinstance(
                divisor_override, (int, np.integer)) or divisor_override == 0):
            raise ValueError(f"{who}: divisor_override must be None or a non-zero int, got {divisor_override!r}")
        self.divisor_override = divisor_override

    def forward(self, input: Any) -> Tensor:
        return avg_pool(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                        self.divisor_override, self.nd)


class AvgPool1d(_AvgPoolNd):
    """Average pooling over (B, C, L) (or (C, L)); torch's AvgPool1d has no divisor_override."""

    nd = 1

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)

    def extra_repr(self) -> str:  # (torch keeps AvgPool1d's sizes as 1-tuples)
        one = [v if isinstance(v, tuple) else tuple(v) if isinstance(v, list) else (v,)
               for v in (self.kernel_size, self.stride, self.padding)]
        return f"kernel_size={one[0]}, stride={one[1]}, padding={one[2]}"


_, AvgPool2d, AvgPool3d = sized_layers(_AvgPoolNd, "AvgPool", "Average pooling")


class _MaxUnpool(Module):
    """``max_unpool{nd}d`` as a module: ``forward(input, indices, output_size=None)``; the sizes
    are kept as tuples (stride: the kernel size by default), as torch keeps them."""

    nd = 2

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        who, nd = type(self).__name__, self.nd
        self.kernel_size = F._tuple(kernel_size, nd, "kernel_size", who)  # kept as tuples, as torch
        self.stride = self.kernel_size if stride is None else F._tuple(stride, nd, "stride", who)
        self.padding = F._tuple(padding, nd, "padding", who, lo=0)

    def forward(self, input: Any, indices: Any, output_size: Any = None) -> Tensor:
        return _unpool(input, indices, self.kernel_size, self.stride, self.padding, output_size, self.nd,
                       f"max_unpool{self.nd}d")

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


MaxUnpool1d, MaxUnpool2d, MaxUnpool3d = sized_layers(_MaxUnpool, "MaxUnpool", "The inverse of max pooling")


class _Adaptive(Module):
    """Mean over adaptive windows of the last ``nd`` axes to ``output_size``."""

    nd = 2

    def __init__(self, output_size: Any) -> None:
        _sizes(output_size, (1,) * self.nd, type(self).__name__)  # checked now, resolved per input
        self.output_size = output_size

    def forward(self, input: Any) -> Tensor:
        return adaptive_avg_pool(input, self.output_size, self.nd)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class _AdaptiveMax(_Adaptive):
    """Maximum over adaptive windows to ``output_size`` (``return_indices``: also the indices)."""

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__(output_size)
        self.return_indices = check_bool(type(self).__name__, "return_indices", return_indices)

    def forward(self, input: Any) -> Any:
        return adaptive_max_pool(input, self.output_size, self.return_indices, self.nd)


AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveAvgPool3d = sized_layers(_Adaptive, "AdaptiveAvgPool",
                                                                      "Adaptive average pooling")
AdaptiveMaxPool1d, AdaptiveMaxPool2d, AdaptiveMaxPool3d = sized_layers(_AdaptiveMax, "AdaptiveMaxPool",
                                                                      "Adaptive max pooling")
