"""``tl.nn.grad``, as ``torch.nn.grad``: the gradients of a convolution with respect to its
input and to its weight, given the gradient of its output.

Keeps no state and touches nothing: each function runs the package's own convolution
(``F.conv1d/2d/3d``) on a zero tensor of the requested shape and asks ``tl.autograd.grad``
for the vector-Jacobian product, so it is the very backward a convolution uses. For
``y = conv(x, W)`` (stride s, padding p, dilation d, groups g) and an output gradient G:

    convNd_input(x.shape, W, G)  = dL/dx = sum_{b,o,i} G[b,o,i] dy[b,o,i]/dx
                                 (a transposed convolution of G with W),
    convNd_weight(x, W.shape, G) = dL/dW[o,c,j] = sum_{b,i} G[b,o,i] xp[b, c', i*s + j*d],

both linear in G, so the zero tensor's values never matter. When the given weight (or
input) or ``grad_output`` requires grad, the result is built with differentiable ops
(``create_graph``) and can be differentiated again, as torch's.
"""

from __future__ import annotations

import numbers
from typing import Any, Callable

import numpy as np

from ..autograd import grad as _autograd_grad
from ..conventions import ArgumentError, DtypeError, ShapeMismatchError
from ..tensor import Tensor
from .conv import conv1d, conv2d, conv3d

__all__ = ["conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight", "conv3d_input", "conv3d_weight"]

_CONV: dict = {1: conv1d, 2: conv2d, 3: conv3d}


def _size(who: str, name: str, size: Any, rank: int) -> tuple:
    """A shape given as a tuple, list or Size of ``rank`` ints >= 0."""
    dims = tuple(size) if isinstance(size, (tuple, list)) else None
    if dims is None or any(isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral) for n in dims):
        raise TypeError(f"{who}: {name} must be a tuple of ints (a shape), got {size!r}")
    if len(dims) != rank:
        raise ShapeMismatchError(f"{who}: {name} must have {rank} entries (N, C, ...), got {dims}")
    if any(n < 0 for n in dims):
        raise ShapeMismatchError(f"{who}: {name} has a negative entry: {dims}")
    return tuple(int(n) for n in dims)


def _tensor(who: str, name: str, v: Any, rank: int) -> Tensor:
    t = v if isinstance(v, Tensor) else Tensor(v)
    if t.data.dtype.kind != "f":
        raise DtypeError(f"{who}: {name} must be a floating-point tensor, got dtype {t.data.dtype}")
    if t.data.ndim != rank:
        raise ShapeMismatchError(f"{who}: {name} must be {rank}-D (N, C, ...), got shape {t.data.shape}")
    return t


def _vjp(nd: int, wrt: str, input: Any, weight: Any, grad_output: Any, stride: Any, padding: Any,
         dilation: Any, groups: Any) -> Tensor:
    """The gradient for ``wrt`` ('input' or 'weight'); the other one is given as a tensor."""
    who = f"conv{nd}d_{wrt}"
    if isinstance(padding, str):
        raise ArgumentError(f"{who}: padding must be an int or a tuple of {nd} ints, got {padding!r} (torch's "
                            "nn.grad takes no padding strings)")
    go = _tensor(who, "grad_output", grad_output, nd + 2)
    if wrt == "input":
        known = _tensor(who, "weight", weight, nd + 2)
        shape = _size(who, "input_size", input, nd + 2)
    else:
        known = _tensor(who, "input", input, nd + 2)
        shape = _size(who, "weight_size", weight, nd + 2)
    if known.data.dtype != go.data.dtype:
        other = "weight" if wrt == "input" else "input"
        raise DtypeError(f"{who}: grad_output has dtype {go.data.dtype} but the {other} has {known.data.dtype}; give "
                         "both the same dtype")
    free = Tensor(np.zeros(shape, known.data.dtype), requires_grad=True)
    conv: Callable = _CONV[nd]
    y = conv(free, known, None, stride, padding, dilation, groups) if wrt == "input" else conv(
        known, free, None, stride, padding, dilation, groups)
    if y.data.shape != go.data.shape:
        raise ShapeMismatchError(f"{who}: grad_output has shape {go.data.shape}, but the convolution of "
                                 f"{'input_size' if wrt == 'input' else 'weight_size'} {shape} gives an output of "
                                 f"shape {y.data.shape}")
    graphed = bool(known.requires_grad or go.requires_grad)
    return _autograd_grad(y, free, go, create_graph=graphed)[0]


def _pair(nd: int, input_layout: str, weight_layout: str) -> tuple:
    """``conv{nd}d_input`` and ``conv{nd}d_weight``, with torch's signatures."""
    def conv_input(input_size: Any, weight: Any, grad_output: Any, stride: Any = 1, padding: Any = 0,
                   dilation: Any = 1, groups: int = 1) -> Tensor:
        return _vjp(nd, "input", input_size, weight, grad_output, stride, padding, dilation, groups)

    def conv_weight(input: Any, weight_size: Any, grad_output: Any, stride: Any = 1, padding: Any = 0,
                    dilation: Any = 1, groups: int = 1) -> Tensor:
        return _vjp(nd, "weight", input, weight_size, grad_output, stride, padding, dilation, groups)

    for f, wrt, layout in ((conv_input, "input", input_layout), (conv_weight, "weight", weight_layout)):
        f.__name__ = f.__qualname__ = f"conv{nd}d_{wrt}"
        f.__doc__ = f"The gradient of ``conv{nd}d`` with respect to its {wrt} of shape ``{wrt}_size`` {layout}."
    return conv_input, conv_weight


conv1d_input, conv1d_weight = _pair(1, "(N, C, L)", "(O, C/g, k)")
conv2d_input, conv2d_weight = _pair(2, "(N, C, H, W)", "(O, C/g, kh, kw)")
conv3d_input, conv3d_weight = _pair(3, "(N, C, D, H, W)", "(O, C/g, kd, kh, kw)")
