"""More activations with PyTorch's signatures, as functions (re-exported by
``tl.nn.functional``) and modules (re-exported by ``tl.nn``): leaky_relu / LeakyReLU, elu /
ELU, softplus / Softplus, hardtanh / Hardtanh, relu6 / ReLU6, logsigmoid / LogSigmoid,
mish / Mish, softsign / Softsign; and ``one_hot`` (integer output, no gradient).

Each function checks its constants (a bad type raises ``TypeError``, a bad value
``ValueError``, naming the function) and calls one elementwise op of
``tinygrad_lite.ops.activations``. These bodies compute out of place; ``F``'s public
functions take ``inplace=True`` through ``inplace_fns`` (the input takes the result), and so
does a module built with ``inplace=True`` (``nn.LeakyReLU(inplace=True)``), as torch's.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any, Optional

import numpy as np

from .. import batchstate
from ..conventions import ArgumentError, DtypeError, check_bool
from ..ops import activations as act
from ..ops.alloc import allocating
from ..tensor import Tensor
from ..torchkw import one_of
from .functional import _inplace, _t
from .inplace_fns import forward as in_place_forward
from .module import Module

__all__ = ["leaky_relu", "elu", "softplus", "hardtanh", "relu6", "logsigmoid", "mish", "softsign", "one_hot",
           "LeakyReLU", "ELU", "Softplus", "Hardtanh", "ReLU6", "LogSigmoid", "Mish", "Softsign"]


def _real(v: Any, who: str, name: str) -> float:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real) or v != v:
        raise TypeError(f"{who}: {name} must be a real number, got {v!r}")
    return float(v)


def _float(input: Any, who: str) -> Tensor:
    return _t(input)._floating(who)


def _int_bounds(input: Any, lo: float, hi: float) -> Optional[Tensor]:
    """An integer input clipped to [lo, hi] in its own dtype, the bounds cut to integers as torch
    does (no gradient: integers have none); None for any other input."""
    x = _t(input)
    if x.data.dtype.kind not in "iu":
        return None
    if x.data.dtype.kind == "u" and lo < 0:
        raise ValueError(f"hardtanh: an unsigned integer tensor ({x.data.dtype}) cannot be clipped to a negative "
                         f"limit {lo} (as torch)")
    info = np.iinfo(x.data.dtype)
    return x.clamp(min(max(int(lo), info.min), info.max), max(min(int(hi), info.max), info.min))


def leaky_relu(input: Any, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x where x > 0, else negative_slope * x."""
    _inplace(inplace, "leaky_relu")
    return act.LEAKYRELU(_float(input, "leaky_relu"), _real(negative_slope, "leaky_relu", "negative_slope"))


def elu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0, else alpha (e^x - 1)."""
    _inplace(inplace, "elu")
    return act.ELU(_float(input, "elu"), _real(alpha, "elu", "alpha"))


def softplus(input: Any, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta x)) / beta, reverting to x where beta x > threshold (as torch)."""
    b = _real(beta, "softplus", "beta")
    if b == 0:
        raise ValueError("softplus: beta must not be 0")
    return act.SOFTPLUS(_float(input, "softplus"), b, _real(threshold, "softplus", "threshold"))


def hardtanh(input: Any, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clipped to [min_val, max_val]; the gradient is 1 strictly inside, 0 at the bounds."""
    _inplace(inplace, "hardtanh")
    lo, hi = _real(min_val, "hardtanh", "min_val"), _real(max_val, "hardtanh", "max_val")
    if lo > hi:
        raise ValueError(f"hardtanh: min_val ({lo}) must not be greater than max_val ({hi})")
    out = _int_bounds(input, lo, hi)
    return act.HARDTANH(_float(input, "hardtanh"), lo, hi) if out is None else out


def relu6(input: Any, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6) (``hardtanh(x, 0, 6)``)."""
    _inplace(inplace, "relu6")
    out = _int_bounds(input, 0, 6)
    return act.HARDTANH(_float(input, "relu6"), 0.0, 6.0) if out is None else out


def logsigmoid(input: Any) -> Tensor:
    """log(1 / (1 + e^-x)), computed as -log(1 + e^-x) without overflow."""
    return act.LOGSIGMOID(_float(input, "logsigmoid"))


def mish(input: Any, inplace: bool = False) -> Tensor:
    """x tanh(log(1 + e^x))."""
    _inplace(inplace, "mish")
    return act.MISH(_float(input, "mish"))


def softsign(input: Any) -> Tensor:
    """x / (1 + |x|)."""
    return act.SOFTSIGN(_float(input, "softsign"))


@allocating("one_hot")
def one_hot(tensor: Any = None, num_classes: int = -1, *, input: Any = None) -> Tensor:
    """Integer class indices of any shape to an int64 Tensor of shape (*shape, num_classes)
    with a 1 at each index; ``num_classes=-1`` takes the largest index + 1. No gradient; a
    batched input gives a batched output. ``input=`` is torch's keyword for ``tensor``."""
    tensor = one_of("one_hot", tensor=tensor, input=input)
    idx = tensor.data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if not np.issubdtype(idx.dtype, np.integer):
        raise DtypeError(f"one_hot: indices must be integers, got dtype {idx.dtype}")
    if isinstance(num_classes, (bool, np.bool_)) or not isinstance(num_classes, numbers.Integral):
        raise TypeError(f"one_hot: num_classes must be an int, got {num_classes!r}")
    if idx.size and idx.min() < 0:
        raise ArgumentError(f"one_hot: index {int(idx.min())} is negative; indices must be >= 0")
    if num_classes == -1:
        if not idx.size:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor; give num_classes")
        num_classes = int(idx.max()) + 1
    elif num_classes < 1 and not (num_classes == 0 and not idx.size):
        raise ValueError(f"one_hot: num_classes must be -1 or a positive int, got {num_classes}")
    if idx.size and idx.max() >= num_classes:
        raise ArgumentError(f"one_hot: index {int(idx.max())} is out of range for num_classes={num_classes}")
    out = (idx[..., None] == np.arange(int(num_classes))).astype(np.int64)
    batched = isinstance(tensor, Tensor) and tensor.batched and out.ndim > 0
    t = Tensor(out, batched=batched)
    if batched:
        t._origin = batchstate.origin((tensor,))  # (of its labels' batch)
    return t


class _Activation(Module):
    """An activation function as a module; subclasses set ``fn`` and keep their constants."""

    _names: tuple = ()
    inplace = False
    _inplace_arg = True  # torch's constructor takes ``inplace``

    def __init__(self, inplace: bool = False) -> None:
        if not self._inplace_arg and inplace is not False:
            raise TypeError(f"{type(self).__name__}: takes no inplace argument, got inplace={inplace!r}")
        self._keep(inplace)

    def _keep(self, inplace: Any, **constants: Any) -> None:
        """Check ``inplace`` and keep each constant (a real number) under its name."""
        who = type(self).__name__
        self.inplace = check_bool(who, "inplace", inplace)
        self._hold(**{k: _real(v, who, k) for k, v in constants.items()})

    def _hold(self, **values: Any) -> None:
        """Keep each (already checked) value under its name; ``forward`` passes them on."""
        for k, v in values.items():
            setattr(self, k, v)
        self._names = self._names + tuple(values)

    def forward(self, input: Any) -> Tensor:
        kept = {k: getattr(self, k) for k in self._names}
        return in_place_forward(self, input, lambda x: type(self).fn(x, **kept))

    def extra_repr(self) -> str:
        return ", ".join([f"{k}={getattr(self, k)}" for k in self._names] + (["inplace=True"] if self.inplace else []))


class LeakyReLU(_Activation):
    """``F.leaky_relu`` as a module."""

    fn = staticmethod(leaky_relu)

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        self._keep(inplace, negative_slope=negative_slope)


class ELU(_Activation):
    """``F.elu`` as a module."""

    fn = staticmethod(elu)

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        self._keep(inplace, alpha=alpha)


class Softplus(_Activation):
    """``F.softplus`` as a module."""

    fn = staticmethod(softplus)

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        self._keep(False, beta=beta, threshold=threshold)
        if self.beta == 0:
            raise ValueError("Softplus: beta must not be 0")


class Hardtanh(_Activation):
    """``F.hardtanh`` as a module."""

    fn = staticmethod(hardtanh)

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False,
                 min_value: Optional[float] = None, max_value: Optional[float] = None) -> None:
        """``min_value`` / ``max_value``: torch's deprecated spellings of ``min_val`` / ``max_val``
        (a FutureWarning, as torch, and they take the place of those)."""
        for old, new in (("min_value", min_value), ("max_value", max_value)):
            if new is not None:
                warnings.warn(f"Hardtanh: keyword argument `{old}` is deprecated and renamed to `{old[:7]}`",
                              FutureWarning, stacklevel=2)
        min_val = min_val if min_value is None else min_value
        max_val = max_val if max_value is None else max_value
        self._keep(inplace, min_val=min_val, max_val=max_val)
        if self.min_val > self.max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) must not be greater than max_val ({max_val})")


class ReLU6(_Activation):
    """``F.relu6`` as a module: min(max(x, 0), 6), a ReLU capped at 6 (gradient 0 at both
    ends, as torch)."""

    fn = staticmethod(relu6)


class LogSigmoid(_Activation):
    """``F.logsigmoid`` as a module: log sigmoid(x) = -log(1 + e^-x), finite for every x
    (the log of a sigmoid that underflows to 0 would be -inf)."""

    fn = staticmethod(logsigmoid)
    _inplace_arg = False


class Mish(_Activation):
    """``F.mish`` as a module: x tanh(softplus(x))."""

    fn = staticmethod(mish)


class Softsign(_Activation):
    """``F.softsign`` as a module: x / (1 + |x|)."""

    fn = staticmethod(softsign)
    _inplace_arg = False
