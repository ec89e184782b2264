"""``tl.nn.utils.parametrizations``: ``weight_norm`` and ``spectral_norm`` as
parametrizations (``parametrize.register_parametrization``), as in PyTorch; ``orthogonal``
comes from ``orthogonal.py``.

Weight norm: ``w = g * v / ||v||`` with the norm over every axis but ``dim`` (over all of
them when ``dim`` is None); the originals are ``original0 = g`` and ``original1 = v``.

Spectral norm: ``w = W / sigma`` with ``sigma = u^T M v`` where ``M`` is ``W`` with axis
``dim`` moved first and the rest flattened, and ``u``, ``v`` (buffers ``_u``, ``_v``)
approximate its leading singular vectors: in training mode each access first runs
``n_power_iterations`` steps ``u <- normalize(M v)``, ``v <- normalize(M^T u)`` (no
gradient flows through them). A 1-D ``W`` is just normalised.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ...graph import no_grad
from ...random import as_generator
from ...tensor import Tensor
from ..functional_more import normalize
from ..module import Module
from .orthogonal import orthogonal
from .parametrize import is_parametrized, register_parametrization

__all__ = ["weight_norm", "spectral_norm", "orthogonal"]


def norm_except_dim(v: Tensor, dim: int) -> Tensor:
    """The 2-norm of ``v`` over every axis but ``dim`` (keeping them as size 1); over all
    axes (a 0-d tensor) when ``dim == -1``."""
    if dim == -1:
        return (v * v).sum().sqrt()
    axes = tuple(a for a in range(v.data.ndim) if a != dim)
    return (v * v).sum(axis=axes, keepdims=True).sqrt() if axes else v.abs()


def transposed_conv(module: Any) -> bool:
    """Whether ``module`` is a transposed convolution (a subclass, or one with parametrized
    tensors, too): its weight's output channels are axis 1."""
    from ..convtranspose import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
    return isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d))


def _dim(dim: Any, ndim: int, who: str) -> int:
    if dim is None:
        return -1
    if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer)) or not -ndim <= dim < max(ndim, 1):
        raise IndexError(f"{who}: dim {dim!r} is out of range for a tensor with {ndim} dimensions")
    return int(dim) % max(ndim, 1)


class _WeightNorm(Module):
    """``forward(g, v) = g * v / norm_except_dim(v, dim)``; ``right_inverse(w) = (norm(w), w)``."""

    def __init__(self, dim: Optional[int] = 0) -> None:
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_v * (weight_g / norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight: Tensor) -> tuple:
        return norm_except_dim(weight, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: Optional[int] = 0) -> Module:
    """Reparametrize ``module.<name>`` as ``g * v / ||v||`` (see the module docstring); the
    state dict holds ``parametrizations.<name>.original0`` (g) and ``.original1`` (v)."""
    w = _weight(module, name, "weight_norm")
    if is_parametrized(module, name):  # (its right_inverse gives two tensors: it can only come first, as torch)
        raise ValueError(f"weight_norm: {name!r} of {type(module).__name__} is already parametrized; weight_norm "
                         "must be its first parametrization")
    d = -1 if dim is None or dim == -1 else _dim(dim, w.data.ndim, "weight_norm")  # (-1: all axes, as torch)
    register_parametrization(module, name, _WeightNorm(None if d == -1 else d), unsafe=True)

    def older_keys(m: Module, state: dict, prefix: str, *_: Any) -> None:
        """A state dict of the older ``nn.utils.weight_norm`` (``<name>_g``, ``<name>_v``) loads, as torch."""
        g, v = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g in state and v in state:
            state[f"{prefix}parametrizations.{name}.original0"] = state.pop(g)
            state[f"{prefix}parametrizations.{name}.original1"] = state.pop(v)

    module.register_load_state_dict_pre_hook(older_keys)
    return module


def _weight(module: Any, name: str, who: str) -> Tensor:
    """``module.<name>``: a parameter, or a tensor already parametrized (the new parametrization
    is appended to its chain, as torch)."""
    w = (module.__dict__.get(name) if not is_parametrized(module, name) else getattr(module, name)) \
        if isinstance(module, Module) else None
    if not isinstance(w, Tensor):
        raise ValueError(f"{who}: module {type(module).__name__} has no parameter named {name!r}")
    return w


class _SpectralNorm(Module):
    """``forward(W) = W / sigma`` (see the module docstring); ``right_inverse(W) = W``."""

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12) -> None:
        ndim = weight.data.ndim
        if not -ndim <= dim < max(ndim, 1):
            raise IndexError(f"spectral_norm: dim {dim} is out of range for a weight of shape {weight.data.shape}")
        if isinstance(n_power_iterations, bool) or not isinstance(n_power_iterations, int) or n_power_iterations < 1:
            raise ValueError(f"spectral_norm: n_power_iterations must be a positive int, got {n_power_iterations!r}")
        self.dim = dim % max(ndim, 1)
        self.eps = float(eps)
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            M = self._matrix(weight.data)
            r = as_generator(None)
            u = r.standard_normal(M.shape[0]).astype(M.dtype)
            v = r.standard_normal(M.shape[1]).astype(M.dtype)
            self.register_buffer("_u", self._unit(u))
            self.register_buffer("_v", self._unit(v))
            self._power_method(M, 15)

    def _unit(self, a: np.ndarray) -> np.ndarray:
        return a / max(float(np.linalg.norm(a)), self.eps)

    def _matrix(self, w: Any) -> Any:
        """W with axis ``dim`` first, flattened to (rows, rest) (an array or a Tensor)."""
        if self.dim != 0:
            order = (self.dim,) + tuple(a for a in range(w.ndim) if a != self.dim)
            w = w.transpose(order) if isinstance(w, np.ndarray) else w.permute(*order)
        return w.reshape(w.shape[0], -1)

    def _power_method(self, M: np.ndarray, n: int) -> None:
        u, v = self._u.data, self._v.data
        for _ in range(n):
            u = self._unit(M @ v)
            v = self._unit(M.T @ u)
        self._u.data, self._v.data = u, v

    def forward(self, weight: Tensor) -> Tensor:
        if weight.data.ndim == 1:
            return normalize(weight, dim=0, eps=self.eps)
        if self.training:
            self._power_method(self._matrix(weight.data), self.n_power_iterations)
        u, v = Tensor(self._u.data.copy()), Tensor(self._v.data.copy())
        sigma = (u * (self._matrix(weight) @ v)).sum()
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: Optional[int] = None) -> Module:
    """Reparametrize ``module.<name>`` as ``W / sigma(W)`` (see the module docstring); ``dim``
    defaults to 1 for transposed convolutions and 0 otherwise. The state dict holds
    ``parametrizations.<name>.original`` and the vectors ``parametrizations.<name>.0._u``,
    ``._v``."""
    w = _weight(module, name, "spectral_norm")
    if dim is None:
        dim = 1 if transposed_conv(module) else 0
    with no_grad():
        sn = _SpectralNorm(w, n_power_iterations, dim, eps)
    return register_parametrization(module, name, sn)
