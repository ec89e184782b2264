"""``tl.nn.utils.parametrizations.orthogonal``: a matrix (or a batch of them) kept with
orthonormal columns or rows by a parametrization, as in PyTorch.

For ``W`` of shape (..., n, k) (taken transposed when n < k, so n >= k below) the original
``X`` of the same shape maps to ``Q`` with ``Q^T Q = I_k``:

* ``"matrix_exp"``: ``A = L - L^T`` with ``L`` the lower triangle of ``X`` padded with zero
  columns to n x n; ``Q = exp(A)[:, :k]``;
* ``"cayley"``: the same ``A``; ``Q = ((I - A/2)^{-1} (I + A/2))[:, :k]``;
* ``"householder"``: ``Q = H_1 ... H_k I[:, :k] * trunc(diag X)`` with ``H_i = I - tau_i v_i
  v_i^T``, ``v_i = e_i +`` (column i of X below the diagonal), ``tau_i = 2 / |v_i|^2``.

With ``use_trivialization=True`` (the default) the module also keeps the buffer ``base`` (an
orthogonal n x n matrix) and the value is ``base @ Q``: registering (or assigning) a matrix
stores its orthonormalised columns (QR with a positive diagonal of R; a non-square one is
first completed with normal draws from the default generator) in ``base`` and sets the
original to ``-I``, where every map gives ``I[:, :k]``. This file keeps the parametrization
module and touches only the parametrized module (through ``register_parametrization``).
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Optional

import numpy as np

from ...graph import no_grad
from ...linalg import matrix_exp, solve
from ...ops.layout import cat
from ...random import as_generator
from ...tensor import Tensor
from ..module import Module
from .parametrize import register_parametrization

__all__ = ["orthogonal"]

_MAPS = ("matrix_exp", "cayley", "householder")


class _OrthMaps(Enum):
    matrix_exp = 1
    cayley = 2
    householder = 3


def _t(x: Any) -> Any:
    """The last two axes swapped (an array or a Tensor)."""
    return x.swapaxes(-2, -1)


def _make_orthogonal(a: np.ndarray) -> np.ndarray:
    """The Q of ``a = QR`` with R's diagonal made nonnegative (Q's columns times the signs)."""
    q, r = np.linalg.qr(a)
    return q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]


def _is_orthogonal(q: np.ndarray) -> bool:
    n, k = q.shape[-2:]
    eps = 10.0 * n * np.finfo(q.dtype).eps
    return bool(np.allclose(_t(q) @ q, np.eye(k, dtype=q.dtype), rtol=1e-5, atol=eps))


def _householder_product(A: Tensor, tau: Tensor) -> Tensor:
    """``H_1 H_2 ... H_k`` applied to ``I[:, :k]``: ``H_i = I - tau_i v_i v_i^T`` with ``v_i``
    the column i of the strictly lower triangular ``A`` plus ``e_i``; differentiable."""
    n, k = A.data.shape[-2:]
    dt = A.data.dtype
    E = np.eye(n, k, dtype=dt)
    Q = Tensor(np.broadcast_to(E, A.data.shape).copy())
    for i in reversed(range(k)):
        e = np.zeros((k, 1), dtype=dt)
        e[i] = 1.0
        v = A @ Tensor(e) + Tensor(E[:, i:i + 1])
        t = tau @ Tensor(e)  # (..., 1, 1)
        Q = Q - (v * t) @ (_t(v) @ Q)
    return Q


class _Orthogonal(Module):
    """``forward(X)`` = the orthogonal matrix the map makes of ``X`` (times ``base`` when
    trivialized); ``right_inverse(Q)`` the original giving ``Q`` (see the module docstring)."""

    def __init__(self, weight: Tensor, orthogonal_map: _OrthMaps, *, use_trivialization: bool = True) -> None:
        self.shape = tuple(weight.data.shape)
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:
        n, k = X.data.shape[-2:]
        transposed = n < k
        if transposed:
            X, n, k = _t(X), k, n
        dt = X.data.dtype
        if self.orthogonal_map in (_OrthMaps.matrix_exp, _OrthMaps.cayley):
            L = X.tril()
            if n != k:
                L = cat([L, Tensor(np.zeros(L.data.shape[:-1] + (n - k,), dtype=dt))], -1)
            A = L - _t(L)
            if self.orthogonal_map is _OrthMaps.matrix_exp:
                Q = matrix_exp(A)
            else:
                eye = Tensor(np.eye(n, dtype=dt))
                Q = solve(eye - A * 0.5, eye + A * 0.5)
            if n != k:
                Q = Q @ Tensor(np.eye(n, k, dtype=dt))
        else:
            A = X.tril(-1)
            tau = 2.0 / (1.0 + (A * A).sum(axis=-2, keepdims=True))
            Q = _householder_product(A, tau)
            Q = Q * Tensor(np.trunc(np.diagonal(X.data, axis1=-2, axis2=-1))[..., None, :].astype(dt))
        if "base" in self.__dict__:
            Q = Tensor(self.base.data) @ Q
        return _t(Q) if transposed else Q

    def right_inverse(self, Q: Any) -> Tensor:
        """The original giving ``Q`` (with a base: ``-I`` and ``base`` from ``Q``'s columns;
        without one, householder only: the QR reflectors of ``Q`` with R's signs on the
        diagonal)."""
        q = np.array(Q.data if isinstance(Q, Tensor) else Q)
        if q.dtype.kind != "f":
            q = q.astype(np.float64)
        if q.shape != self.shape:
            raise ValueError(f"orthogonal: expected a matrix or batch of matrices of shape {self.shape}, got a "
                             f"tensor of shape {q.shape}")
        with no_grad():
            n, k = q.shape[-2:]
            transpose = n < k
            if transpose:
                q, n, k = _t(q), k, n
            if "base" not in self.__dict__:
                if self.orthogonal_map is not _OrthMaps.householder:
                    raise NotImplementedError("orthogonal: it is not possible to assign to the matrix exponential or "
                                              "the Cayley parametrizations when use_trivialization=False")
                return Tensor(self._reflectors(q, transpose))
            if n == k:
                base = q.copy() if _is_orthogonal(q) else _make_orthogonal(q)
            else:
                noise = as_generator(None).standard_normal(q.shape[:-2] + (n, n - k)).astype(q.dtype)
                base = _make_orthogonal(np.concatenate([q, noise], axis=-1))
            self.register_buffer("base", Tensor(base))
            neg_id = np.zeros(self.shape, dtype=q.dtype)
            idx = np.arange(min(self.shape[-2:]))
            neg_id[..., idx, idx] = -1.0
            return Tensor(neg_id)

    @staticmethod
    def _reflectors(q: np.ndarray, transpose: bool) -> np.ndarray:
        """LAPACK's geqrf of each (n, k) matrix (reflectors below the diagonal), with the
        diagonal replaced by the signs of R's (negated where a reflector is the identity)."""
        flat = q.reshape((-1,) + q.shape[-2:])
        out = np.empty_like(flat)
        k = q.shape[-1]
        for b, m in enumerate(flat):
            h, tau = np.linalg.qr(m, mode="raw")
            a = h.T.copy()
            d = np.sign(np.diagonal(a)[:k])
            d[tau[:k] == 0.0] *= -1
            a[np.arange(k), np.arange(k)] = d
            out[b] = a
        out = out.reshape(q.shape)
        return _t(out) if transpose else out


def orthogonal(module: Module, name: str = "weight", orthogonal_map: Optional[str] = None, *,
               use_trivialization: bool = True) -> Module:
    """Keep ``module.<name>`` (a matrix, or a batch of them) with orthonormal columns (rows
    when it is wide) through ``register_parametrization``; ``orthogonal_map`` is
    "matrix_exp", "cayley" or "householder" (default: matrix_exp for a square matrix,
    householder otherwise). The state dict holds ``parametrizations.<name>.original`` and,
    trivialized, ``parametrizations.<name>.0.base``. Returns the module."""
    if not isinstance(module, Module):
        raise TypeError(f"orthogonal: module must be a Module, got {type(module).__name__}")
    if not isinstance(name, str):
        raise TypeError(f"orthogonal: name must be a string, got {name!r}")
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"orthogonal: module {type(module).__name__} has no parameter or buffer named {name!r}")
    if weight.data.ndim < 2:
        raise ValueError(f"orthogonal: expected a matrix or batch of matrices, got a tensor of {weight.data.ndim} "
                         f"dimensions (shape {weight.data.shape})")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.data.shape[-2] == weight.data.shape[-1] else "householder"
    if orthogonal_map not in _MAPS:
        raise ValueError(f'orthogonal: orthogonal_map has to be one of "matrix_exp", "cayley", "householder", got '
                         f"{orthogonal_map!r}")
    if not isinstance(use_trivialization, (bool, np.bool_)):
        raise TypeError(f"orthogonal: use_trivialization must be a bool, got {use_trivialization!r}")
    orth = _Orthogonal(weight, _OrthMaps[orthogonal_map], use_trivialization=bool(use_trivialization))
    return register_parametrization(module, name, orth, unsafe=True)
