"""InstanceNorm1d/2d/3d, as torch: each (sample, channel) is normalised over its own
positions, ``y = (x - mean_{b,c}) / sqrt(var_{b,c} + eps) * weight[c] + bias[c]`` (biased
variance; weight and bias only with ``affine=True``, no bias with ``bias=False``). Each
sample uses its own statistics, so per-sample gradients are defined; the computation is GroupNorm with one channel per
group. With ``track_running_stats=True`` the training forward also updates running
estimates (the batch's mean of the instance means and of the unbiased instance variances,
with ``momentum``), and the eval forward normalises with them, as BatchNorm's eval does.
"""

from __future__ import annotations

import warnings
from typing import Any, Optional

import numpy as np

from ..tensor import Tensor
from . import functional as F
from .layers import _BatchNorm

__all__ = ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"]


class _InstanceNorm(_BatchNorm):
    """BatchNorm's parameters and buffers (torch's names), torch's InstanceNorm defaults and
    forward."""

    spatial = 1  # positions axes after (C,)

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1, affine: bool = False,
                 track_running_stats: bool = False, dtype: Any = np.float64, *, bias: bool = True,
                 device: Any = None) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype, bias=bias, device=device)

    def forward(self, input: Any) -> Tensor:
        who = type(self).__name__
        input = input if isinstance(input, Tensor) else Tensor(np.asarray(input))
        shape = input.data.shape
        batched = len(shape) == self.spatial + 2
        if len(shape) not in (self.spatial + 1, self.spatial + 2):
            dims = ", ...".join([""] * (self.spatial + 1))
            raise ValueError(f"{who}({self.num_features}): expected an input of shape (B, C{dims}) or (C{dims}), "
                             f"got {shape}")
        C = shape[1 if batched else 0]
        if C != self.num_features:
            if self.affine or self.track_running_stats:
                raise ValueError(f"{who}({self.num_features}): the input has {C} channels (shape {shape}), expected "
                                 f"{self.num_features}")
            warnings.warn(f"{who}({self.num_features}): the input has {C} channels (shape {shape}); num_features is "
                          "not used without affine or running statistics", UserWarning, stacklevel=2)
        xb = input if batched else input.reshape((1,) + shape)
        if self.track_running_stats and not self.training:
            out = F.batch_norm(xb, self.running_mean, self.running_var, self.weight, self.bias, False,
                               self.momentum, self.eps, who=who)
        else:
            one_position(who, xb.data.shape)
            out = F.group_norm(xb, C, self.weight, self.bias, self.eps, who=who)
            if self.track_running_stats and self.momentum is not None:
                self._update(xb.data)
        return out if batched else out.reshape(shape)

    def _update(self, xd: np.ndarray) -> None:
        """running <- (1 - momentum) running + momentum * (batch mean of each instance's
        mean, and of its unbiased variance), in the buffers' dtype."""
        mean, var = instance_stats(xd)
        m = float(self.momentum)
        rm, rv = self.running_mean, self.running_var
        with np.errstate(invalid="ignore"):
            rm.data = ((1 - m) * rm.data + m * mean).astype(rm.data.dtype)
            rv.data = ((1 - m) * rv.data + m * var).astype(rv.data.dtype)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self._bias}, track_running_stats={self.track_running_stats}")


def one_position(who: str, shape: tuple) -> None:
    """Refuse normalising each (sample, channel) over a single position (its variance is 0,
    its output the bias; running statistics would turn nan), as torch does."""
    if int(np.prod(shape[2:])) <= 1:
        raise ValueError(f"{who}: expected more than 1 spatial element when normalising by the input's own "
                         f"statistics, got input of shape {shape}")


def instance_stats(xd: np.ndarray) -> tuple:
    """(the batch mean of each (sample, channel)'s mean over its positions, the batch mean of
    its unbiased variance), per channel, in float64: what running estimates move towards."""
    axes = tuple(range(2, xd.ndim))
    n = int(np.prod(xd.shape[2:]))
    x64 = xd.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = x64.var(axis=axes) * (n / (n - 1) if n > 1 else np.nan)
    return x64.mean(axis=axes).mean(axis=0), var.mean(axis=0)


class InstanceNorm1d(_InstanceNorm):
    """InstanceNorm over (B, C, L) or unbatched (C, L) inputs."""

    spatial = 1


class InstanceNorm2d(_InstanceNorm):
    """InstanceNorm over (B, C, H, W) or unbatched (C, H, W) inputs."""

    spatial = 2


class InstanceNorm3d(_InstanceNorm):
    """InstanceNorm over (B, C, D, H, W) or unbatched (C, D, H, W) inputs."""

    spatial = 3
