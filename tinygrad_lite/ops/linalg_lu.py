"""The LU factorization with partial pivoting, P^T A = L U, as one op (``lu_factor``).

For A of shape (*, m, n) and k = min(m, n): P is an m x m permutation, L (m, k) unit lower
trapezoidal, U (k, n) upper trapezoidal. The op's output is the compact matrix LU (*, m, n):
U on and above the diagonal, L's multipliers below it (its unit diagonal implied). The
pivots (1-based, int32, (*, k)) are the row swaps: at step j row j was exchanged with row
``pivots[j] - 1``; ``info`` (int32, (*)) is 0, or the 1-based index of the first exactly
zero U[j, j].

``getrf`` runs the right-looking elimination column by column, vectorised over the batch:
the pivot of column j is the first row (from j on) holding the largest |value| (a NaN is
never chosen unless it is the first candidate), the rows are swapped across the whole
matrix, the multipliers below the pivot are scaled by its reciprocal (divided by it when
it is tiny), and the trailing block takes the rank-one update. A zero pivot leaves its
column unscaled.

The vjp, with A' = P^T A, the cotangents G_L = tril(G, -1)[:, :k], G_U = triu(G)[:k, :]
of the two factors stored in LU, and dA = P dA':

* m <= n (square or wide, U = [U_1 | U_2], U_1 k x k):
  dA' = L^{-T} ([tril(L^T G_L - G_U U^T, -1) U_1^{-T} | 0] + G_U);
* m > n (tall, L = [L_1; L_2], L_1 k x k):
  dA' = ([L_1^{-T} triu(G_U U^T - L^T G_L); 0] + G_L) U^{-T}.

Both follow from L^{-1} dA'_1 U_1^{-1} = L^{-1} dL + dU U^{-1} (strictly lower / upper
parts) on the leading k x k block, the rest of the rows (columns) solved for directly. At
a rank-deficient A the triangular solves divide by zero (inf / nan), as torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import ReadsOutput, failed, make
from .linalg import TRIL, TRIU
from .linalg_more import SOLVE, T, _Matrix, trisolve


def getrf(a: np.ndarray) -> tuple:
    """(LU, pivots, info) of each matrix of ``a`` (*, m, n), a floating array (see the module
    docstring); ``a`` itself is not changed."""
    m, n = a.shape[-2:]
    k = min(m, n)
    batch = a.shape[:-2]
    nb = int(np.prod(batch, dtype=np.int64))
    w = a.reshape((nb, m, n)).copy()
    piv = np.zeros((nb, k), np.int32)
    info = np.zeros(nb, np.int32)
    rows = np.arange(nb)
    tiny = np.finfo(a.dtype).tiny
    with np.errstate(all="ignore"):
        for j in range(k):
            col = np.abs(w[:, j:, j])
            nan = np.isnan(col)
            p = np.where(nan[:, 0], 0, np.argmax(np.where(nan, -1.0, col), -1)) + j
            piv[:, j] = p + 1
            swap = p != j
            if swap.any():
                r, q = rows[swap], p[swap]
                top = w[r, j].copy()
                w[r, j] = w[r, q]
                w[r, q] = top
            d = w[:, j, j]
            zero = d == 0
            info[zero & (info == 0)] = j + 1
            if j + 1 < m:
                below = w[:, j + 1:, j]
                big = (np.abs(d) >= tiny)[:, None]
                scaled = np.where(big, below * (1.0 / d)[:, None], below / d[:, None])
                w[:, j + 1:, j] = np.where(zero[:, None], below, scaled)
                if j + 1 < n:
                    w[:, j + 1:, j + 1:] -= w[:, j + 1:, j, None] * w[:, j, None, j + 1:]
    return w.reshape(a.shape), piv.reshape(batch + (k,)), info.reshape(batch)


def permutation(piv: np.ndarray, m: int) -> np.ndarray:
    """The row order ``perm`` (*, m) of the swaps ``piv`` (1-based, (*, k)): row i of P^T A is
    row perm[i] of A."""
    batch = piv.shape[:-1]
    flat = piv.reshape((int(np.prod(batch, dtype=np.int64)), piv.shape[-1])).astype(np.int64) - 1
    perm = np.broadcast_to(np.arange(m), (flat.shape[0], m)).copy()
    rows = np.arange(flat.shape[0])
    for i in range(flat.shape[1]):
        q = flat[:, i]
        top = perm[:, i].copy()
        perm[:, i] = perm[rows, q]
        perm[rows, q] = top
    return perm.reshape(batch + (m,))


def perm_matrix(piv: np.ndarray, m: int, dtype: Any) -> np.ndarray:
    """P (*, m, m) with A = P L U: P[perm[i], i] = 1."""
    perm = permutation(piv, m)
    P = np.zeros(perm.shape + (m,), dtype)
    np.put_along_axis(P, perm[..., None, :], 1, -2)
    return P


def factors(LU: np.ndarray) -> tuple:
    """(L, U) of a compact LU (*, m, n): L (*, m, k) with a unit diagonal, U (*, k, n)."""
    m, n = LU.shape[-2:]
    k = min(m, n)
    return np.tril(LU[..., :, :k], -1) + np.eye(m, k, dtype=LU.dtype), np.triu(LU[..., :k, :])


def lu_grad(LU: np.ndarray, P: np.ndarray, g: np.ndarray) -> np.ndarray:
    """dA of the compact factorization (see the module docstring), ``g`` the cotangent of LU
    (it may carry extra leading axes)."""
    m, n = LU.shape[-2:]
    k = min(m, n)
    L, U = factors(LU)
    gL, gU = np.tril(g[..., :, :k], -1), np.triu(g[..., :k, :])
    with np.errstate(all="ignore"):
        if m <= n:
            X = np.tril(T(L) @ gL - gU @ T(U), -1)
            X = T(trisolve(U[..., :, :k], T(X), False))  # X U_1^{-T}
            if n > k:
                X = np.concatenate([X, np.zeros(X.shape[:-1] + (n - k,), X.dtype)], -1)
            gA = trisolve(T(L), X + gU, False, True)
        else:
            Y = trisolve(T(L[..., :k, :]), np.triu(gU @ T(U) - T(L) @ gL), False, True)
            Y = np.concatenate([Y, np.zeros(Y.shape[:-2] + (m - k, k), Y.dtype)], -2)
            gA = T(trisolve(U, T(Y + gL), False))  # (...) U^{-T}
    return P @ gA


class LUFactor(ReadsOutput, _Matrix):
    """The compact LU of each matrix (see the module docstring); called as
    ``LU_FACTOR(A, who)`` it returns (LU node, pivots, info)."""

    name = "lu_factor"
    rule = ("d LU(A): P^T A = L U, dA = P L^{-T} (tril(L^T G_L - G_U U^T, -1) U^{-T} + G_U) (square / wide; "
            "tall: P (L_1^{-T} triu(G_U U^T - L^T G_L) + G_L) U^{-T})")

    def forward(self, a: np.ndarray, who: str = "linalg.lu_factor") -> tuple:
        LU, piv, info = getrf(a)
        return LU, (piv, info)

    def __call__(self, A: Any, who: str = "linalg.lu_factor") -> Any:  # type: ignore[override]
        try:
            LU, (piv, info) = self.forward(A._data, who)
        except Exception as e:
            raise failed(self, e, (A,)) from None
        bs, mix = self.batch((A,), LU, None) if A._bs else (0, None)
        P = perm_matrix(piv, LU.shape[-2], LU.dtype)
        return make(LU, self, (A,), P, A._rg, bs, mix), piv, info

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        return (lu_grad(node._data, node._ctx, g).astype(node._data.dtype, copy=False),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        """The same formulas with Tensor ops (L, U sliced from this node: differentiable again)."""
        from .base import const
        from .layout import CONCAT
        m, n = node.shape[-2:]
        k = min(m, n)
        dt = node._data.dtype
        L = TRIL(node[..., :, :k], diagonal=-1) + const(np.eye(m, k, dtype=dt))
        U = TRIU(node[..., :k, :], diagonal=0)
        gL, gU = TRIL(g[..., :, :k], diagonal=-1), TRIU(g[..., :k, :], diagonal=0)
        if m <= n:
            X = TRIL(L.mT @ gL - gU @ U.mT, diagonal=-1)
            X = SOLVE(U[..., :, :k], X.mT, tri="U").mT
            if n > k:
                X = CONCAT([X, const(np.zeros(X.shape[:-1] + (n - k,), dt))], -1)
            gA = SOLVE(L.mT, X + gU, tri="U", unit=True)
        else:
            Y = SOLVE(L[..., :k, :].mT, TRIU(gU @ U.mT - L.mT @ gL, diagonal=0), tri="U", unit=True)
            Y = CONCAT([Y, const(np.zeros(Y.shape[:-2] + (m - k, k), dt))], -2)
            gA = SOLVE(U, (Y + gL).mT, tri="U").mT
        return (const(node._ctx) @ gA,)


LU_FACTOR = LUFactor()
ALL = (LU_FACTOR,)
