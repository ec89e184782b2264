"""The bilinear layer: ``F.bilinear`` and ``nn.Bilinear`` with torch's names, shapes and
initialisation.

    y[..., o] = sum_ij x1[..., i] W[o, i, j] x2[..., j] + b[o]

for inputs (*, in1) and (*, in2) with the same leading axes, weight (out, in1, in2) and bias
(out,). It is computed as a ``linear`` of the outer product: with z = x1 (x) x2 flattened to
(*, in1 in2), y = z W'^T + b where W' is W reshaped to (out, in1 in2). So gradients are those
of linear, and with a batched input the weight's per-sample gradients stay factored (each
sample's cotangent rows and outer products): ``grad_sample_norm`` builds no
(B, out, in1, in2) array.
"""

from __future__ import annotations

from typing import Any, Union

import numpy as np

from ..conventions import check_bool
from ..factories import param_dtype
from ..random import as_generator
from ..tensor import Tensor
from . import functional as F
from .layers import _pos_int
from .module import Module

__all__ = ["bilinear", "Bilinear"]


def bilinear(input1: Any, input2: Any, weight: Any, bias: Any = None) -> Tensor:
    """``y = x1^T W x2 + b`` per output feature: inputs (*, in1) and (*, in2) with the same
    leading axes, weight (out, in1, in2), bias (out,) or None; output (*, out)."""
    x1, x2, W = F._t(input1), F._t(input2), F._t(weight)
    s1, s2, ws = x1.data.shape, x2.data.shape, W.data.shape
    if len(ws) != 3:
        raise ValueError(f"bilinear: weight must have shape (out_features, in1_features, in2_features), got {ws}")
    if len(s1) != len(s2) or not s1 or s1[:-1] != s2[:-1]:
        raise ValueError(f"bilinear: inputs of shapes {s1} and {s2} must have the same leading axes (and at least "
                         "one axis each)")
    if (s1[-1], s2[-1]) != ws[1:]:
        raise ValueError(f"bilinear: inputs of shapes {s1} and {s2} do not match weight of shape {ws} (expected "
                         f"last axes {ws[1]} and {ws[2]})")
    if bias is not None and F._t(bias).data.shape != ws[:1]:
        raise ValueError(f"bilinear: bias must have shape {ws[:1]}, got {F._t(bias).data.shape}")
    z = (x1.unsqueeze(-1) * x2.unsqueeze(-2)).reshape(s1[:-1] + (ws[1] * ws[2],))
    return F.linear(z, W.reshape(ws[0], ws[1] * ws[2]), bias)


class Bilinear(Module):
    """``F.bilinear`` with ``weight`` (out_features, in1_features, in2_features) and ``bias``
    (out_features,), both uniform in +-1/sqrt(in1_features) as torch initialises them."""

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True,
                 rng: Union[None, int, np.random.Generator] = None, dtype: Any = np.float64, *,
                 device: Any = None) -> None:
        self.in1_features = _pos_int(in1_features, "in1_features", "Bilinear")
        self.in2_features = _pos_int(in2_features, "in2_features", "Bilinear")
        self.out_features = _pos_int(out_features, "out_features", "Bilinear")
        check_bool("Bilinear", "bias", bias)
        dt = param_dtype("Bilinear", dtype, device)
        r = as_generator(rng)
        k = 1.0 / np.sqrt(self.in1_features)
        shape = (self.out_features, self.in1_features, self.in2_features)
        self.weight = Tensor(r.uniform(-k, k, shape).astype(dt), requires_grad=True)
        self.register_parameter("bias", Tensor(r.uniform(-k, k, (self.out_features,)).astype(dt), requires_grad=True)
                                if bias else None)

    def reset_parameters(self) -> None:
        """Weight and bias drawn again, uniform in +-1/sqrt(in1_features) (``nn.reset``)."""
        from .reset import bilinear
        bilinear(self)

    def forward(self, input1: Any, input2: Any) -> Tensor:
        return bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
