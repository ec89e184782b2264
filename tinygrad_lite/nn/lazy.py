"""Lazy layers, as torch's: ``LazyLinear``, ``LazyConv1d/2d/3d``,
``LazyConvTranspose1d/2d/3d``, ``LazyBatchNorm1d/2d/3d`` and ``LazyInstanceNorm1d/2d/3d``
take every argument of their layer but the input size (``in_features``, ``in_channels``,
``num_features``), which the first call reads from its input (the last axis for Linear, the
channel axis otherwise). That call creates the parameters and buffers (initialised as the
layer initialises them), turns the module into the plain layer (its class becomes
``Linear``, ``Conv2d`` ...) and runs it.

Before the first call the parameters exist as empty placeholder tensors (the input size
shows as 0 in the repr); they are the very objects that then receive the values, so an
optimizer built before the first call updates them (its state is created at its first step).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..factories import param_dtype
from ..tensor import Tensor
from .conv import Conv1d, Conv2d, Conv3d
from .convtranspose import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .instancenorm import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d
from .layers import BatchNorm1d, BatchNorm2d, BatchNorm3d
from .module import Linear, Module, _is_param

__all__ = ["LazyLinear", "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d",
           "LazyConvTranspose3d", "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d",
           "LazyInstanceNorm2d", "LazyInstanceNorm3d"]

class _Lazy(Module):
    """The shared machinery: ``_setup`` builds a probe of the layer (which checks the other
    arguments) and keeps its settings with empty placeholders; ``initialize_parameters``
    builds the real layer for the input and moves it into this object."""

    cls_to_become: type = Module
    _spatial = 0  # spatial axes of a conv input (0: Linear; norms read axis 1, as torch)
    _in = "in_channels"  # the layer's input-size argument

    def _setup(self, args: tuple, kwargs: dict, dtype: Any, device: Any, probe_in: int = 1,
               rng: Any = None) -> None:
        dt = param_dtype(type(self).__name__, dtype, device)
        kwargs = dict(kwargs, dtype=dt)
        seeded = {"rng": 0} if self._in != "num_features" else {}  # (the probe's draw leaves the generator be)
        probe = self.cls_to_become(probe_in, *args, **kwargs, **seeded)
        if seeded:
            kwargs["rng"] = rng
        params = [n for n, _ in probe.named_parameters(recurse=False)]
        buffers = set(probe.__dict__.get("_buffer_names", ()))
        for name, v in list(probe.__dict__.items()):
            if name in params:
                probe.__dict__[name] = Tensor(np.empty((0,), dt), requires_grad=True)
            elif name in buffers and isinstance(v, Tensor) and v.data.ndim:
                probe.__dict__[name] = Tensor(np.empty((0,), v.data.dtype))
        probe.__dict__[self._in] = 0
        self.__dict__.update(probe.__dict__)
        self.__dict__["_lazy_args"] = (args, kwargs)

    def reset_parameters(self) -> None:
        """Nothing before the first call (there are no values yet); after it the module is the
        plain layer, whose own ``reset_parameters`` runs."""

    def has_uninitialized_params(self) -> bool:
        """True until the first call."""
        return "_lazy_args" in self.__dict__

    def _input_size(self, x: Any) -> int:
        shape = np.shape(x.data if isinstance(x, Tensor) else x)
        who = type(self).__name__
        if self._in == "in_features":
            if not shape:
                raise ValueError(f"{who}: cannot infer in_features from a 0-d input")
            return int(shape[-1])
        if self._in == "num_features":
            if len(shape) < 2:
                raise ValueError(f"{who}: cannot infer num_features from an input of shape {tuple(shape)}")
            return int(shape[1])
        nb = self._spatial + 1
        if len(shape) not in (nb, nb + 1):
            raise ValueError(f"{who}: expected a {nb}-D (unbatched) or {nb + 1}-D (batched) input, got shape "
                             f"{tuple(shape)}")
        return int(shape[1] if len(shape) == nb + 1 else shape[0])

    def initialize_parameters(self, x: Any) -> None:
        """Build the layer for ``x``'s size; the placeholders take its parameter values."""
        if not self.has_uninitialized_params():
            return
        self._install(self._build(self._input_size(x)))

    def _build(self, size: int) -> Module:
        args, kwargs = self.__dict__["_lazy_args"]
        return self.cls_to_become(size, *args, **kwargs)

    def _for_state(self, state: Any, prefix: str) -> Optional[Module]:
        """The layer ``load_state_dict`` would fill: built for the input size that the state's
        weight (or running mean) implies, or None when the state does not say."""
        w = state.get(prefix + "weight") if hasattr(state, "get") else None
        if w is None and self._in == "num_features":
            w = state.get(prefix + "running_mean")
        shape = np.shape(w.data if isinstance(w, Tensor) else w) if w is not None else ()
        if not shape:
            return None
        if self._in == "in_features":
            size = shape[-1]
        elif self._in == "num_features":
            size = shape[0]
        elif "Transpose" in self.cls_to_become.__name__:
            size = shape[0]
        else:
            size = shape[1] * self.__dict__.get("groups", 1) if len(shape) > 1 else 0
        try:
            return self._build(int(size))
        except (TypeError, ValueError):
            return None  # (load_state_dict then names the key whose shape does not fit)

    def _install(self, real: Module) -> None:
        """Become ``real``: its settings and buffers, its parameter values in the placeholders."""
        for name, v in list(real.__dict__.items()):
            ph = self.__dict__.get(name)
            if isinstance(v, Tensor) and _is_param(v) and isinstance(ph, Tensor):
                ph.data = v.data
                ph.requires_grad = v.requires_grad
                real.__dict__[name] = ph
        training = self.training
        kept = {k: v for k, v in self.__dict__.items() if k == "_module_hooks"}  # (its hooks stay)
        self.__dict__.clear()
        self.__dict__.update(real.__dict__, **kept)
        self.training = training
        self.__class__ = self.cls_to_become

    def __call__(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        """Initialise from ``x`` first (before any forward pre-hook, as torch's lazy modules do),
        then call the layer it became."""
        self.initialize_parameters(x)
        return Module.__call__(self, x, *args, **kwargs)

    def forward(self, input: Any, *args: Any, **kwargs: Any) -> Any:
        self.initialize_parameters(input)
        return self.forward(input, *args, **kwargs)

    def extra_repr(self) -> str:
        return self.cls_to_become.extra_repr(self)


class LazyLinear(_Lazy):
    """``Linear`` with ``in_features`` read from the first input's last axis."""

    cls_to_become = Linear
    _in = "in_features"

    def __init__(self, out_features: int, bias: bool = True, device: Any = None, dtype: Any = None, *,
                 rng: Any = None) -> None:
        self._setup((out_features, bias), {}, dtype, device, rng=rng)


def _conv(name: str, base: type, nd: int, transposed: bool) -> type:
    def __init__(self: Any, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 *rest: Any, device: Any = None, dtype: Any = None, rng: Any = None, **kw: Any) -> None:
        keys = (["output_padding", "groups", "bias", "dilation", "padding_mode"] if transposed
                else ["dilation", "groups", "bias", "padding_mode"])
        if len(rest) > len(keys):
            raise TypeError(f"{name}: too many positional arguments")
        kw.update(zip(keys, rest))
        if transposed and kw.pop("padding_mode", "zeros") != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported for transposed convolutions")
        groups = kw.get("groups", 1)
        self._setup((out_channels, kernel_size, stride, padding), kw, dtype, device,
                    groups if isinstance(groups, int) and groups > 0 else 1, rng)

    doc = (f"``{base.__name__}`` with ``in_channels`` read from the first input's channel axis "
           f"(axis 1 of a batched input, 0 of an unbatched one).")
    return type(name, (_Lazy,), {"cls_to_become": base, "_spatial": nd, "nd": nd, "__init__": __init__, "__doc__": doc,
                                 "__module__": __name__})


def _norm(name: str, base: type, nd: int) -> type:
    def __init__(self: Any, eps: float = 1e-5, momentum: Optional[float] = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: Any = None, *,
                 bias: bool = True) -> None:
        self._setup((eps, momentum, affine, track_running_stats), {"bias": bias}, dtype, device)

    doc = (f"``{base.__name__}`` with ``num_features`` read from the first input's channel axis (affine and "
           f"tracking running statistics by default, as torch's lazy norms).")
    return type(name, (_Lazy,), {"cls_to_become": base, "_spatial": nd, "_in": "num_features", "__init__": __init__,
                                 "__doc__": doc, "__module__": __name__})


LazyConv1d = _conv("LazyConv1d", Conv1d, 1, False)
LazyConv2d = _conv("LazyConv2d", Conv2d, 2, False)
LazyConv3d = _conv("LazyConv3d", Conv3d, 3, False)
LazyConvTranspose1d = _conv("LazyConvTranspose1d", ConvTranspose1d, 1, True)
LazyConvTranspose2d = _conv("LazyConvTranspose2d", ConvTranspose2d, 2, True)
LazyConvTranspose3d = _conv("LazyConvTranspose3d", ConvTranspose3d, 3, True)
LazyBatchNorm1d = _norm("LazyBatchNorm1d", BatchNorm1d, 1)
LazyBatchNorm2d = _norm("LazyBatchNorm2d", BatchNorm2d, 2)
LazyBatchNorm3d = _norm("LazyBatchNorm3d", BatchNorm3d, 3)
LazyInstanceNorm1d = _norm("LazyInstanceNorm1d", InstanceNorm1d, 1)
LazyInstanceNorm2d = _norm("LazyInstanceNorm2d", InstanceNorm2d, 2)
LazyInstanceNorm3d = _norm("LazyInstanceNorm3d", InstanceNorm3d, 3)
