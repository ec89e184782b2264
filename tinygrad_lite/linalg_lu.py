"""The LU factorization (re-exported as ``tl.linalg.*``): ``lu_factor``, ``lu_factor_ex``,
``lu``, ``lu_solve``, and the tensor forms of inv / solve, ``tensorinv`` and ``tensorsolve``;
``lu_unpack`` and the older ``lu`` / ``lu_solve`` spellings are ``tl.*`` (module
``torchlu``). torch's signatures, result fields and errors.

A (*, m, n) factors as A = P L U with partial pivoting (k = min(m, n); P (m, m) a
permutation, L (m, k) unit lower trapezoidal, U (k, n) upper trapezoidal), stored compactly
as LU (*, m, n) with 1-based int32 ``pivots`` (*, k) (op ``lu_factor`` of ``ops.linalg_lu``,
which states the gradient). ``lu`` unpacks it with differentiable ``tril`` / ``triu``, so
the gradient of P, L, U reaches A through that op. ``lu_solve`` is X = U^{-1} L^{-1} P^T B
(A^T X = B with ``adjoint``: X = P L^{-T} U^{-T} B; X A = B with ``left=False``, by
transposing), two triangular solves that read LU's strictly lower part (unit diagonal) and
its upper part, so its gradient reaches both LU and B.

``tensorinv(A, ind)``: inv of A reshaped to (prod(A.shape[:ind]), prod(A.shape[ind:])),
shaped A.shape[ind:] + A.shape[:ind]; ``tensorsolve(A, B)``: X of shape A.shape[B.ndim:] with
tensordot(A, X, X.ndim) = B, a solve of the same reshaping.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, NamedTuple, Optional

import numpy as np

from .batchstate import derived
from .conventions import ArgumentError, DtypeError, ShapeMismatchError
from .linalg_more import _flag, _floats, _t
from .ops import linalg_more as M
from .ops.base import make
from .ops.linalg_lu import LU_FACTOR, perm_matrix
from .ops.linalg_more import LinAlgError
from .tensor import Tensor

__all__ = ["lu_factor", "lu_factor_ex", "lu", "lu_solve", "tensorinv", "tensorsolve"]


class LUFactorResult(NamedTuple):
    LU: Tensor
    pivots: Tensor


class LUFactorExResult(NamedTuple):
    LU: Tensor
    pivots: Tensor
    info: Tensor


class LUResult(NamedTuple):
    P: Tensor
    L: Tensor
    U: Tensor


def _factor(who: str, A: Any, pivot: Any) -> tuple:
    """(LU node, pivots array, info array) of A after torch's checks."""
    A = _t(who, A, "A")
    pivot = _flag(who, "pivot", pivot)
    if A.data.ndim < 2:
        raise ShapeMismatchError(f"{who}: A must have at least 2 axes (matrices), got shape {A.data.shape}")
    _floats(who, A)
    if not pivot:
        raise NotImplementedError(f"{who}: LU without pivoting (pivot=False) is not implemented on the CPU")
    return LU_FACTOR(A, who=who)


def _int(who: str, arr: np.ndarray, A: Tensor) -> Tensor:
    """An integer result (pivots, info) computed from A without a gradient."""
    return make(arr, None, (), None, False, *derived(who, None, A))


def _raise_zero_pivot(who: str, info: np.ndarray, shape: tuple) -> None:
    bad = info != 0
    if not bad.any():
        return
    at = tuple(int(i) for i in np.argwhere(bad)[0])
    j = int(info[at])
    where = f" (batch index {at})" if at else ""
    raise LinAlgError(f"{who}: U[{j},{j}] of the input of shape {shape}{where} is zero, so solving with this "
                      "factorization would divide by zero; linalg.lu or linalg.lu_factor_ex factor such a matrix")


def lu_factor(A: Any, *, pivot: bool = True) -> LUFactorResult:
    """(LU, pivots) with P^T A = L U (partial pivoting: the pivot of column j is the first
    row holding the largest |value|): LU holds U on and above the diagonal and L's
    multipliers below it; pivots (int32, 1-based, (*, min(m, n))) are the row swaps.
    A zero pivot (A rank-deficient) raises LinAlgError (``lu_factor_ex`` reports it)."""
    who = "linalg.lu_factor"
    node, piv, info = _factor(who, A, pivot)
    _raise_zero_pivot(who, info, A.data.shape)
    return LUFactorResult(node, _int(who, piv, A))


def lu_factor_ex(A: Any, *, pivot: bool = True, check_errors: bool = False) -> LUFactorExResult:
    """(LU, pivots, info) as ``lu_factor``, info (int32, (*)) 0 or the 1-based index of the
    first zero pivot U[i, i]; raises on a zero pivot only with ``check_errors``."""
    who = "linalg.lu_factor_ex"
    check = _flag(who, "check_errors", check_errors)
    node, piv, info = _factor(who, A, pivot)
    if check:
        _raise_zero_pivot(who, info, A.data.shape)
    return LUFactorExResult(node, _int(who, piv, A), _int(who, info, A))


def _unpacked(LU: Tensor) -> tuple:
    """(L, U) of a compact LU Tensor as differentiable slices (L with its unit diagonal)."""
    m, n = LU.data.shape[-2:]
    k = min(m, n)
    eye = Tensor(np.eye(m, k, dtype=LU.data.dtype))
    return LU[..., :, :k].tril(-1) + eye, LU[..., :k, :].triu()


def lu(A: Any, *, pivot: bool = True) -> LUResult:
    """(P, L, U) with A = P L U (P (m, m) a permutation, L (m, k) unit lower trapezoidal,
    U (k, n) upper trapezoidal, k = min(m, n)); no error for a singular A. Differentiable
    in A where A's leading k x k block of P^T A is invertible."""
    who = "linalg.lu"
    node, piv, _ = _factor(who, A, pivot)
    L, U = _unpacked(node)
    return LUResult(Tensor(perm_matrix(piv, node.data.shape[-2], node.data.dtype)), L, U)


def _pivots(who: str, piv: Any, name: str = "pivots") -> Tensor:
    piv = _t(who, piv, name)
    if piv.data.dtype != np.int32:
        raise DtypeError(f"{who}: {name} must be an int32 tensor (as lu_factor returns), got {piv.data.dtype}")
    return piv


def _check_range(who: str, piv: np.ndarray, m: int) -> None:
    if piv.size and (piv.min() < 1 or piv.max() > m):
        raise ArgumentError(f"{who}: the pivots must lie between 1 and {m} (the rows of LU), got values from "
                            f"{int(piv.min())} to {int(piv.max())}; pass what lu_factor returns")


def lu_solve(LU: Any, pivots: Any, B: Any, *, left: bool = True, adjoint: bool = False) -> Tensor:
    """X with A X = B (A^T X = B with ``adjoint``; X A = B, X A^T = B with ``left=False``)
    for A = P L U given as ``lu_factor``'s (LU, pivots); the batch axes of LU and B
    broadcast. Differentiable in LU (its two triangles) and B."""
    return _lu_solve("linalg.lu_solve", LU, pivots, B, left, adjoint)


def _lu_solve(who: str, LU: Any, pivots: Any, B: Any, left: Any, adjoint: Any) -> Tensor:
    LU, B = _t(who, LU, "LU"), _t(who, B, "B")
    left, adjoint = _flag(who, "left", left), _flag(who, "adjoint", adjoint)
    _floats(who, LU, "LU")
    if LU.data.ndim < 2 or LU.data.shape[-1] != LU.data.shape[-2]:
        raise ShapeMismatchError(f"{who}: LU must be a (batch of) square matrices (*, n, n), got shape "
                                 f"{LU.data.shape}")
    if B.data.ndim < 2:
        raise ShapeMismatchError(f"{who}: B must have at least 2 axes, got shape {B.data.shape}")
    piv = _pivots(who, pivots)
    if piv.data.shape != LU.data.shape[:-1]:
        raise ShapeMismatchError(f"{who}: pivots must have shape LU.shape[:-1] = {LU.data.shape[:-1]}, got "
                                 f"{piv.data.shape}")
    if B.data.dtype != LU.data.dtype:
        raise DtypeError(f"{who}: LU and B must have the same dtype, got {LU.data.dtype} and {B.data.dtype}")
    n = LU.data.shape[-1]
    if (B.data.shape[-2] if left else B.data.shape[-1]) != n:
        eq = "AX = B" if left else "XA = B"
        raise ShapeMismatchError(f"{who}: LU of shape {LU.data.shape} and B of shape {B.data.shape} do not fit the "
                                 f"equation {eq}")
    try:
        np.broadcast_shapes(LU.data.shape[:-2], B.data.shape[:-2])
    except ValueError:
        raise ShapeMismatchError(f"{who}: the batch axes of LU {LU.data.shape} and B {B.data.shape} do not "
                                 "broadcast") from None
    _check_range(who, piv.data, n)
    P = Tensor(perm_matrix(piv.data, n, LU.data.dtype))
    if not left:  # X A = B is A^T X^T = B^T; X A^T = B is A X^T = B^T
        return _lu_solve(who, LU, pivots, B.mT, True, not adjoint).mT
    if adjoint:  # A^T = U^T L^T P^T: X = P L^{-T} U^{-T} B
        Y = M.SOLVE(LU.mT, B, tri="L", who=who)
        return P @ M.SOLVE(LU.mT, Y, tri="U", unit=True, who=who)
    Y = M.SOLVE(LU, P.mT @ B, tri="L", unit=True, who=who)
    return M.SOLVE(LU, Y, tri="U", who=who)


# ------------------------------------------------------------------ tensor inverse / solve ---------
def tensorinv(A: Any, ind: int = 2) -> Tensor:
    """X of shape A.shape[ind:] + A.shape[:ind] with tensordot(A, X, ind) the identity: the
    inverse of A reshaped to a square (prod(A.shape[:ind]), prod(A.shape[ind:])) matrix."""
    who = "linalg.tensorinv"
    A = _t(who, A, "A")
    if isinstance(ind, (bool, np.bool_)) or not isinstance(ind, numbers.Integral):
        raise TypeError(f"{who}: ind must be an int, got {ind!r}")
    ind = int(ind)
    if ind <= 0:
        raise ArgumentError(f"{who}: ind must be a strictly positive int, got {ind}")
    shape = A.data.shape
    if ind > len(shape):
        raise ShapeMismatchError(f"{who}: ind={ind} is larger than the number of axes of A (shape {shape})")
    _floats(who, A)
    m, n = math.prod(shape[:ind]), math.prod(shape[ind:])
    if m != n:
        raise ShapeMismatchError(f"{who}: A of shape {shape} with ind={ind} is not square once reshaped: "
                                 f"prod(A.shape[:ind]) = {m} but prod(A.shape[ind:]) = {n}")
    return M.INV(A.reshape(m, m), who=who).reshape(shape[ind:] + shape[:ind])


def tensorsolve(A: Any, B: Any, dims: Optional[Any] = None) -> Tensor:
    """X of shape A.shape[B.ndim:] with tensordot(A, X, X.ndim) = B, by a solve of A reshaped
    to a square (B.numel(), B.numel()) matrix; ``dims`` (axes of A) are first moved to the end."""
    who = "linalg.tensorsolve"
    A, B = _t(who, A, "A"), _t(who, B, "B")
    if dims is not None:
        if not isinstance(dims, (tuple, list)) or any(
                isinstance(d, (bool, np.bool_)) or not isinstance(d, numbers.Integral) for d in dims):
            raise TypeError(f"{who}: dims must be a tuple of ints or None, got {dims!r}")
        nd = A.data.ndim
        A = A.movedim(tuple(int(d) for d in dims), tuple(range(nd - len(dims), nd)))
    _floats(who, A)
    _floats(who, B, "B")
    if A.data.dtype != B.data.dtype:
        raise DtypeError(f"{who}: A and B must have the same dtype, got {A.data.dtype} and {B.data.dtype}")
    shape, k = A.data.shape, B.data.ndim
    m = B.data.size
    if k > len(shape) or math.prod(shape[k:]) != m or math.prod(shape[:k]) != m:
        raise ShapeMismatchError(f"{who}: A of shape {shape} and B of shape {B.data.shape} do not fit: "
                                 f"prod(A.shape[B.ndim:]) and prod(A.shape[:B.ndim]) must both equal B.numel() = {m}")
    X = M.SOLVE(A.reshape(m, m), B.reshape(m, 1), who=who)
    return X.reshape(shape[k:])
