"""torch's ``nn.DataParallel`` (as torch behaves without GPUs), the public recurrent base
classes ``nn.RNNBase`` / ``nn.RNNCellBase``, and ``nn.CrossMapLRN2d``.

Keeps no state; touches nothing outside its own classes: ``RNNBase`` and ``RNNCellBase``
subclass the layers of ``recurrent.py`` (``_RNNBase``, ``_CellBase``) and answer
``isinstance`` / ``issubclass`` for every RNN, LSTM, GRU (and cell) there, as torch's do.

``CrossMapLRN2d`` computes what torch's does for a 4-D input (N, C, H, W): with
``pre = floor((size - 1) / 2 + 1)`` and ``s_c = sum_{c' in W(c)} x_{c'}^2``,

    y_c = x_c (k + alpha / size * s_c)^(-beta),
    W(c) = [max(0, c - pre + 1), min(C - 1, c + pre - 1)]  plus channel 0 when c >= pre,

(torch's running-sum window never drops channel 0, so it differs from ``LocalResponseNorm``
unless the window spans every channel). It is built from differentiable ops, so its
gradient is the exact derivative of that map.
"""

from __future__ import annotations

import numbers
from typing import Any, Optional

import numpy as np

from ..conventions import ShapeMismatchError
from ..factories import check_device, is_device
from ..tensor import Tensor
from . import functional as F
from .functional_more import _real
from .layers import _pos_int
from .module import Module
from .padding import pad
from .recurrent import _STEPS, _CellBase, _RNNBase, _size

__all__ = ["DataParallel", "RNNBase", "RNNCellBase", "CrossMapLRN2d"]


# ------------------------------------------------------------------ DataParallel ----------
def _cpu_only(device: Any, what: str) -> None:
    """A device id naming the CPU passes; a GPU index or device is a RuntimeError."""
    if isinstance(device, (numbers.Integral, np.integer)) and not isinstance(device, (bool, np.bool_)):
        raise RuntimeError(f"DataParallel: {what} {int(device)} names a GPU; tinygrad_lite computes on the CPU "
                           "only (leave device_ids and output_device as None)")
    if isinstance(device, str) or is_device(device):
        check_device("DataParallel", device)
        return
    raise TypeError(f"DataParallel: {what} must be a device index or a device, got {type(device).__name__}")


class DataParallel(Module):
    """``DataParallel(module, device_ids=None, output_device=None, dim=0)`` as torch's without
    GPUs: the wrapped ``module`` is called directly with the same arguments (nothing is split
    along ``dim``); ``device_ids`` is ``[]``; parameter and state-dict names gain the prefix
    ``module.``. ``device_ids`` / ``output_device`` naming a GPU (an index, ``"cuda"``)
    raise RuntimeError: there is none here."""

    def __init__(self, module: Any, device_ids: Optional[Any] = None, output_device: Any = None,
                 dim: int = 0) -> None:
        if device_ids is not None:
            if isinstance(device_ids, (str, bytes)) or not hasattr(device_ids, "__iter__"):
                raise TypeError(f"DataParallel: device_ids must be a sequence of devices or None, got {device_ids!r}")
            for d in device_ids:
                _cpu_only(d, "device id")
        if output_device is not None:
            _cpu_only(output_device, "output_device")
        self.module = module
        self.device_ids: list = []

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        """``module(*inputs, **kwargs)``."""
        return self.module(*inputs, **kwargs)


# ------------------------------------------------------------------ recurrent bases -------
class _PublicBase(type):
    """``isinstance`` / ``issubclass`` against the public base answer for its private layer."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, cls.__mro__[1]) if cls.__dict__.get("_public") else type.__instancecheck__(cls, obj)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, cls.__mro__[1]) if cls.__dict__.get("_public") else type.__subclasscheck__(cls, sub)


_MODES = ("LSTM", "GRU", "RNN_TANH", "RNN_RELU")


class RNNBase(_RNNBase, metaclass=_PublicBase):
    """torch's ``RNNBase(mode, input_size, hidden_size, num_layers=1, bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, proj_size=0, device=None,
    dtype=None)``: the stacked recurrent layer's weights for ``mode`` ('LSTM', 'GRU',
    'RNN_TANH' or 'RNN_RELU'), without a forward (as torch's); ``nn.RNN``, ``nn.LSTM`` and
    ``nn.GRU`` are instances. ``dtype`` defaults to float64; ``rng`` (keyword) seeds the
    initialisation."""

    _public = True

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device: Any = None, dtype: Any = None, *, rng: Any = None) -> None:
        if mode not in _MODES:
            raise ValueError(f"RNNBase: unrecognized RNN mode {mode!r} (one of {', '.join(_MODES)})")
        check_device("RNNBase", device)
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         rng, dtype, proj_size)

    def extra_repr(self) -> str:
        # (torch's base prints no nonlinearity: that is RNN's own attribute)
        return super().extra_repr().replace(", nonlinearity='relu'", "")


class RNNCellBase(_CellBase, metaclass=_PublicBase):
    """torch's ``RNNCellBase(input_size, hidden_size, bias, num_chunks, device=None,
    dtype=None)``: one step's weights ``weight_ih`` (num_chunks*H, in), ``weight_hh``
    (num_chunks*H, H) and the biases, uniform in +-1/sqrt(H), without a forward (as
    torch's); ``nn.RNNCell``, ``nn.LSTMCell`` and ``nn.GRUCell`` are instances."""

    _public = True

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device: Any = None,
                 dtype: Any = None, *, rng: Any = None) -> None:
        G = _size("RNNCellBase", "num_chunks", num_chunks)
        mode = {1: "RNN_TANH", 3: "GRU", 4: "LSTM"}.get(G, "RNN_TANH")
        check_device("RNNCellBase", device)
        super().__init__(mode, input_size, hidden_size, bias, rng, dtype, G)
        if G != _STEPS[mode][0]:  # (other chunk counts: the weights only, as torch's)
            self.mode = None

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


# ------------------------------------------------------------------ CrossMapLRN2d ---------
def _cross_map_lrn2d(input: Any, size: int, alpha: float, beta: float, k: float) -> Tensor:
    """torch's CrossMapLRN2d map (see the module docstring) of a 4-D input."""
    x = F._t(input)._floating("CrossMapLRN2d")
    if x.data.ndim != 4:
        raise ShapeMismatchError(f"CrossMapLRN2d: expected a 4-D input (N, C, H, W), got shape {x.data.shape}")
    C, pre = x.data.shape[1], int((size - 1) / 2 + 1)
    if x.data.size == 0:
        return x
    sq = (x * x).movedim(1, -1)  # (N, H, W, C)
    padded = pad(sq, (pre - 1, pre - 1))
    win = padded[..., 0:C]
    for j in range(1, 2 * pre - 1):
        win = win + padded[..., j:j + C]
    if C > pre:  # channel 0 stays in the window of channels c >= pre
        win = win + sq[..., 0:1] * (np.arange(C) >= pre).astype(sq.data.dtype)
    return x * (win.movedim(-1, 1) * (alpha / size) + k) ** (-beta)


class CrossMapLRN2d(Module):
    """``CrossMapLRN2d(size, alpha=1e-4, beta=0.75, k=1)``: torch's cross-channel response
    normalisation of a 4-D input (N, C, H, W) (formula in the module docstring)."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1) -> None:
        who = "CrossMapLRN2d"
        self.size = _pos_int(size, "size", who)
        _real(alpha, who, "alpha"), _real(beta, who, "beta"), _real(k, who, "k")
        self.alpha, self.beta, self.k = alpha, beta, k

    def forward(self, input: Any) -> Tensor:
        return _cross_map_lrn2d(input, self.size, float(self.alpha), float(self.beta), float(self.k))

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
