"""The older weight and spectral norm of ``torch.nn.utils`` (``weight_norm`` /
``remove_weight_norm``, ``spectral_norm`` / ``remove_spectral_norm``): the module keeps its
originals as parameters (``weight_g``, ``weight_v``; ``weight_orig`` with buffers
``weight_u``, ``weight_v``) and a forward pre-hook recomputes ``module.weight`` from them
before each call (the maths as in ``parametrizations``; this spectral norm's power step
updates ``v`` first: ``v <- normalize(M^T u)``, ``u <- normalize(M v)``, and only in
training mode).
"""

from __future__ import annotations

import warnings
from typing import Any, Optional

import numpy as np

from ...graph import no_grad
from ...hooks import drop_module_hook
from ...random import as_generator
from ...tensor import Tensor
from ..containers import Parameter
from ..module import Module
from .parametrizations import _dim, norm_except_dim, transposed_conv

__all__ = ["weight_norm", "remove_weight_norm", "spectral_norm", "remove_spectral_norm"]


def _hooks(module: Module) -> dict:
    return module.__dict__.setdefault("_norm_hooks", {})


def _param(module: Module, name: str, who: str) -> Tensor:
    w = module.__dict__.get(name) if isinstance(module, Module) else None
    if isinstance(module, Module) and ((name, "weight_norm") in _hooks(module)
                                       or (name, "spectral_norm") in _hooks(module)):
        raise RuntimeError(f"{who}: {name!r} of {type(module).__name__} already has a weight or spectral norm hook")
    if not isinstance(w, Tensor) or w._op is not None:
        raise ValueError(f"{who}: module {type(module).__name__} has no parameter named {name!r}")
    return w


class _WeightNormHook:
    def __init__(self, name: str, dim: int) -> None:
        self.name, self.dim = name, dim

    def compute(self, module: Module) -> Tensor:
        g, v = getattr(module, self.name + "_g"), getattr(module, self.name + "_v")
        return v * (g / norm_except_dim(v, self.dim))

    def __call__(self, module: Module, args: Any) -> None:
        setattr(module, self.name, self.compute(module))


def weight_norm(module: Module, name: str = "weight", dim: Optional[int] = 0) -> Module:
    """``module.<name> = g * v / ||v||`` recomputed before each forward from the parameters
    ``<name>_g`` and ``<name>_v`` (deprecated in torch in favour of
    ``parametrizations.weight_norm``; a FutureWarning says so)."""
    warnings.warn("tl.nn.utils.weight_norm is deprecated in favor of tl.nn.utils.parametrizations.weight_norm.",
                  FutureWarning, stacklevel=2)
    w = _param(module, name, "weight_norm")
    fn = _WeightNormHook(name, -1 if dim is None or dim == -1 else _dim(dim, w.data.ndim, "weight_norm"))
    with no_grad():
        g = norm_except_dim(w, fn.dim)
    delattr(module, name)
    module.register_parameter(name + "_g", Parameter(np.array(g.data)))
    module.register_parameter(name + "_v", Parameter(np.array(w.data)))
    setattr(module, name, fn.compute(module))
    module.register_forward_pre_hook(fn)
    _hooks(module)[(name, "weight_norm")] = fn
    return module


def _remove(module: Module, name: str, kind: str) -> Any:
    fn = _hooks(module).pop((name, kind), None) if isinstance(module, Module) else None
    if fn is None:
        raise ValueError(f"remove_{kind}: {kind} of {name!r} not found in {type(module).__name__}")
    drop_module_hook(module, "pre", fn)  # (the hook object itself: also in a deep copy, it is its copy)
    return fn


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    """Undo ``weight_norm``: ``<name>`` becomes a parameter holding ``g * v / ||v||``."""
    fn = _remove(module, name, "weight_norm")
    with no_grad():
        w = fn.compute(module)
    for suffix in ("", "_g", "_v"):
        delattr(module, name + suffix)
    module.register_parameter(name, Parameter(np.array(w.data)))
    return module


class _SpectralNormHook:
    def __init__(self, name: str, n: int, dim: int, eps: float) -> None:
        self.name, self.n, self.dim, self.eps = name, n, dim, eps

    def matrix(self, w: Any) -> Any:
        if self.dim != 0:
            order = (self.dim,) + tuple(a for a in range(w.ndim) if a != self.dim)
            w = w.transpose(order) if isinstance(w, np.ndarray) else w.permute(*order)
        return w.reshape(w.shape[0], -1)

    def unit(self, a: np.ndarray) -> np.ndarray:
        return a / max(float(np.linalg.norm(a)), self.eps)

    def compute(self, module: Module, power: bool) -> Tensor:
        w = getattr(module, self.name + "_orig")
        ub, vb = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        if power:
            M, u, v = self.matrix(w.data), ub.data, vb.data
            for _ in range(self.n):
                v = self.unit(M.T @ u)
                u = self.unit(M @ v)
            ub.data, vb.data = u, v
        sigma = (Tensor(ub.data.copy()) * (self.matrix(w) @ Tensor(vb.data.copy()))).sum()
        return w / sigma

    def __call__(self, module: Module, args: Any) -> None:
        setattr(module, self.name, self.compute(module, module.training))


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: Optional[int] = None) -> Module:
    """``module.<name> = W / sigma(W)`` recomputed before each forward from the parameter
    ``<name>_orig`` and the buffers ``<name>_u``, ``<name>_v`` (random unit vectors at first);
    ``dim`` defaults to 1 for transposed convolutions and 0 otherwise."""
    w = _param(module, name, "spectral_norm")
    if isinstance(n_power_iterations, bool) or not isinstance(n_power_iterations, int) or n_power_iterations < 1:
        raise ValueError(f"spectral_norm: n_power_iterations must be a positive int, got {n_power_iterations!r}")
    if dim is None:
        dim = 1 if transposed_conv(module) else 0
    fn = _SpectralNormHook(name, n_power_iterations, _dim(dim, w.data.ndim, "spectral_norm"), float(eps))
    M = fn.matrix(w.data)
    r = as_generator(None)
    u = fn.unit(r.standard_normal(M.shape[0]).astype(M.dtype))
    v = fn.unit(r.standard_normal(M.shape[1]).astype(M.dtype))
    delattr(module, name)
    module.register_parameter(name + "_orig", w)
    setattr(module, name, Tensor(w.data))
    module.register_buffer(name + "_u", u)
    module.register_buffer(name + "_v", v)
    module.register_forward_pre_hook(fn)
    _hooks(module)[(name, "spectral_norm")] = fn
    return module


def remove_spectral_norm(module: Module, name: str = "weight") -> Module:
    """Undo ``spectral_norm``: ``<name>`` becomes a parameter holding ``W / sigma`` (no
    power step)."""
    fn = _remove(module, name, "spectral_norm")
    with no_grad():
        w = fn.compute(module, False)
    for suffix in ("", "_u", "_v", "_orig"):
        delattr(module, name + suffix)
    module.register_parameter(name, Parameter(np.array(w.data)))
    return module
