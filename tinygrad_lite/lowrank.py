"""Randomized low-rank factorisations with torch's signatures: ``tl.svd_lowrank`` and
``tl.pca_lowrank``.

``svd_lowrank(A, q, niter, M)`` approximates the SVD of A - M (A: (*, m, n); M broadcasts to
it) by a randomized range finder with power iterations (Halko, Martinsson and Tropp 2009,
Algorithm 5.1 built on their subspace iteration). Working on the tall one of A and A^T:

    R ~ N(0, 1) of shape (n, q);   Q = qr((A - M) R).Q
    niter times:  Q = qr((A - M)^T Q).Q;  Q = qr((A - M) Q).Q
    B = Q^T (A - M) = U_B diag(S) V^T;     U = Q U_B

so ``A - M ~ U diag(S) V^T`` with U (*, m, k), S (*, k), V (*, n, k), k = min(q, m, n); it is
exact (to rounding) when rank(A - M) <= q. R is drawn once, from the library's generator
(``tl.manual_seed`` makes the result repeatable), and shared by a batch. ``pca_lowrank``
centres A's columns (subtracts the mean over the rows) when ``center`` and calls
``svd_lowrank``; its ``q`` defaults to min(6, m, n).

Everything is a composition of ``matmul``, ``tl.linalg.qr`` and ``tl.linalg.svd``, which are
differentiable, so gradients reach A and M (they are defined where the singular values are
distinct). The module keeps no state; it draws from the library's random generator.
"""

from __future__ import annotations

import numbers
from typing import Any, Optional

import numpy as np

from . import factories
from .conventions import _int, _tensor_arg
from .linalg_more import qr, svd
from .ops.base import ArgumentError, DtypeError, ShapeMismatchError
from .tensor import Tensor

__all__ = ["svd_lowrank", "pca_lowrank"]


def _matrix(who: str, A: Any) -> Tensor:
    _tensor_arg(who, A, "A")
    if A.data.ndim < 2:
        raise ShapeMismatchError(f"{who}: A must have at least 2 dimensions (*, m, n), got shape {A.data.shape}")
    if A.data.dtype.kind != "f":
        raise DtypeError(f"{who}: A must be a float tensor, got dtype {A.data.dtype}")
    return A


def _basis(A: Tensor, q: int, niter: int, M: Optional[Tensor]) -> Tensor:
    """Q with orthonormal columns whose span approximates the range of A - M."""
    def times(X: Tensor) -> Tensor:  # (A - M) X without forming A - M
        return A @ X if M is None else A @ X - M @ X

    def times_t(X: Tensor) -> Tensor:  # (A - M)^T X
        return A.mT @ X if M is None else A.mT @ X - M.mT @ X

    R = factories.randn(A.data.shape[-1], q, dtype=A.data.dtype)
    Q = qr(times(R)).Q
    for _ in range(niter):
        Q = qr(times_t(Q)).Q
        Q = qr(times(Q)).Q
    return Q


def svd_lowrank(A: Tensor, q: Optional[int] = 6, niter: Optional[int] = 2, M: Optional[Tensor] = None) -> tuple:
    """(U, S, V) with A - M ~ U diag(S) V^T, U (*, m, k), S (*, k), V (*, n, k), k = min(q, m, n),
    by the randomized range finder of the module docstring (``q`` None: 6; ``niter`` None: 2;
    a negative ``niter`` runs no power iteration, as torch)."""
    who = "svd_lowrank"
    A = _matrix(who, A)
    q = 6 if q is None else _int(who, "q", q)
    niter = 2 if niter is None else _int(who, "niter", niter)
    if q < 0:
        raise ArgumentError(f"{who}: q must be a non-negative int, got {q}")
    if M is not None:
        if not isinstance(M, Tensor):
            raise TypeError(f"{who}: M must be a Tensor or None, got {type(M).__name__}")
        try:
            np.broadcast_shapes(M.data.shape, A.data.shape)
        except ValueError:
            raise ShapeMismatchError(f"{who}: M of shape {M.data.shape} does not broadcast to A's shape "
                                     f"{A.data.shape}") from None
        if np.broadcast_shapes(M.data.shape, A.data.shape) != A.data.shape:
            raise ShapeMismatchError(f"{who}: M of shape {M.data.shape} does not broadcast to A's shape "
                                     f"{A.data.shape}")
        if M.data.dtype != A.data.dtype:
            raise DtypeError(f"{who}: M's dtype {M.data.dtype} does not match A's dtype {A.data.dtype}")
        M = M.broadcast_to(A.data.shape)
    m, n = A.data.shape[-2:]
    wide = m < n
    if wide:  # work on the tall matrix A^T and swap U and V at the end
        A = A.mT
        M = None if M is None else M.mT
    Q = _basis(A, q, max(niter, 0), M)
    B = Q.mT @ A if M is None else Q.mT @ A - Q.mT @ M
    Ub, S, Vh = svd(B, full_matrices=False)
    U, V = Q @ Ub, Vh.mT
    return (V, S, U) if wide else (U, S, V)


def pca_lowrank(A: Tensor, q: Optional[int] = None, center: bool = True, niter: int = 2) -> tuple:
    """(U, S, V) of ``svd_lowrank`` for A with its column means subtracted (``center``) or as
    given: the principal directions are V's columns, the variances S^2 / (m - 1).
    ``q`` (default min(6, m, n)) must lie in [0, min(m, n)] and ``niter`` be >= 0."""
    who = "pca_lowrank"
    A = _matrix(who, A)
    m, n = A.data.shape[-2:]
    q = min(6, m, n) if q is None else _int(who, "q", q)
    if not 0 <= q <= min(m, n):
        raise ValueError(f"{who}: q(={q}) must be a non-negative int not greater than min(m, n)={min(m, n)}")
    niter = _int(who, "niter", niter)
    if niter < 0:
        raise ValueError(f"{who}: niter(={niter}) must be a non-negative int")
    if not isinstance(center, (bool, np.bool_, numbers.Integral)):
        raise TypeError(f"{who}: center must be a bool, got {center!r}")
    if center:
        A = A - A.mean(-2, keepdim=True)
    return svd_lowrank(A, q, niter)
