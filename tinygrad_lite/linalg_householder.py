"""``tl.linalg.householder_product`` (torch's ``orgqr``): the product of Householder
reflectors stored below the diagonal of a matrix, as LAPACK's QR keeps them.

For A (*, m, n) with m >= n and tau (*, k), k <= n, let b_i be column i of A with its first
i entries replaced by 0 and entry i by 1 (the unit diagonal is implicit). The result is the
first n columns of

    H_0 H_1 ... H_{k-1},   H_i = I_m - tau_i b_i b_i^T,

computed from the right: X = I_{m x n}, then X <- X - tau_i b_i (b_i^T X) for i = k-1 .. 0.
Each step is a composition of existing differentiable ops (``tril``, slicing, ``matmul``,
products and sums), so gradients in A and tau, and per-sample gradients of a batched A
(the sample axis first), come from them. The module keeps no state and touches nothing
else; ``tl.linalg`` re-exports the function and the top level names it ``tl.orgqr``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .conventions import _tensor_arg
from .ops.base import ArgumentError, DtypeError, ShapeMismatchError
from .tensor import Tensor

__all__ = ["householder_product"]

_WHO = "householder_product"


def _check(A: Any, tau: Any) -> None:
    _tensor_arg(_WHO, A, "A"), _tensor_arg(_WHO, tau, "tau")
    a, t = A.data, tau.data
    if a.ndim < 2:
        raise ArgumentError(f"{_WHO}: A must have at least 2 dimensions (*, m, n), got shape {a.shape}")
    if a.dtype.kind != "f":
        raise DtypeError(f"{_WHO}: A must be a float tensor, got dtype {a.dtype}")
    if t.dtype != a.dtype:
        raise DtypeError(f"{_WHO}: tau's dtype {t.dtype} does not match A's dtype {a.dtype}")
    m, n = a.shape[-2:]
    if m < n:
        raise ShapeMismatchError(f"{_WHO}: A must have at least as many rows as columns (m >= n), got shape "
                                 f"{a.shape}")
    if t.ndim != a.ndim - 1:
        raise ShapeMismatchError(f"{_WHO}: tau must have one dimension less than A, got tau of shape {t.shape} "
                                 f"and A of shape {a.shape}")
    if t.shape[:-1] != a.shape[:-2]:
        raise ShapeMismatchError(f"{_WHO}: tau's batch dimensions {t.shape[:-1]} must equal A's {a.shape[:-2]}")
    if t.shape[-1] > n:
        raise ShapeMismatchError(f"{_WHO}: tau has {t.shape[-1]} entries but A has only {n} columns (k <= n)")


def householder_product(A: Tensor, tau: Tensor) -> Tensor:
    """The first n columns of H_0 ... H_{k-1} with H_i = I - tau_i b_i b_i^T, b_i the i-th
    column of A below the diagonal with a unit diagonal entry (see the module docstring).
    A: (*, m, n), m >= n; tau: (*, k), k <= n; the result has A's shape and dtype."""
    _check(A, tau)
    m, n = A.data.shape[-2:]
    k = tau.data.shape[-1]
    eye = np.eye(m, n, dtype=A.data.dtype)
    if k == 0:  # no reflector: the identity's first n columns, whatever A holds
        return Tensor(np.broadcast_to(eye, A.data.shape).copy())
    B = A.tril(-1) + eye  # the reflectors' vectors b_i, unit diagonal
    X: Any = None
    for i in range(k - 1, -1, -1):
        b = B[..., :, i:i + 1]  # (*, m, 1)
        t = tau[..., i:i + 1].unsqueeze(-1)  # (*, 1, 1)
        if X is None:  # X = I: b (b^T I) is b times the first n entries of b^T
            X = eye - t * (b @ b[..., :n, :].mT)
        else:
            X = X - t * (b @ (b.mT @ X))
    return X
