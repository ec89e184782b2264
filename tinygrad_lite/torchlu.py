"""torch's top-level LU spellings (``tl.lu``, ``tl.lu_solve``, ``tl.lu_unpack``), over
``tl.linalg``'s LU (module ``linalg_lu``, imported on first use: this module is loaded
while the Tensor class is being built).

* ``lu(A, pivot, get_infos)``: ``linalg.lu_factor_ex`` without its error check: (LU,
  pivots), or (LU, pivots, info) with ``get_infos``;
* ``lu_solve(b, LU_data, LU_pivots)``: X with A X = b, ``linalg.lu_solve(LU, pivots, b)``;
* ``lu_unpack(LU_data, LU_pivots)``: (P, L, U) with A = P L U from the compact form, L =
  tril(LU, -1) + I (m, k), U = triu(LU) (k, n): differentiable in LU_data.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .conventions import ShapeMismatchError


class LUWithInfoResult(NamedTuple):
    LU: Any
    pivots: Any
    info: Any


class LUUnpackResult(NamedTuple):
    P: Any
    L: Any
    U: Any


def _lu() -> Any:
    from . import linalg_lu
    return linalg_lu


def lu(A: Any, pivot: bool = True, get_infos: bool = False) -> Any:
    """(LU, pivots) of A = P L U with partial pivoting (see ``linalg.lu_factor``), never raising
    for a singular A; with ``get_infos`` also ``info`` (0, or the first zero pivot's 1-based
    index)."""
    K = _lu()
    who = "lu"
    infos = K._flag(who, "get_infos", get_infos)
    node, piv, info = K._factor(who, A, pivot)
    if infos:
        return LUWithInfoResult(node, K._int(who, piv, A), K._int(who, info, A))
    return node, K._int(who, piv, A)


def lu_solve(b: Any, LU_data: Any, LU_pivots: Any) -> Any:
    """X with A X = b for A = P L U given as ``lu``'s (LU_data, LU_pivots)."""
    return _lu()._lu_solve("lu_solve", LU_data, LU_pivots, b, True, False)


def lu_unpack(LU_data: Any, LU_pivots: Any, unpack_data: bool = True, unpack_pivots: bool = True) -> LUUnpackResult:
    """(P, L, U) with A = P L U from ``lu_factor``'s (LU, pivots): P (*, m, m) from the row
    swaps, L = tril(LU, -1) + I (*, m, k), U = triu(LU) (*, k, n), k = min(m, n). Without
    ``unpack_data`` L and U are empty, without ``unpack_pivots`` P is; the pivots' batch
    axes broadcast to LU's."""
    K = _lu()
    who = "lu_unpack"
    LU = K._t(who, LU_data, "LU_data")
    data, pivs = K._flag(who, "unpack_data", unpack_data), K._flag(who, "unpack_pivots", unpack_pivots)
    piv = K._pivots(who, LU_pivots, "LU_pivots")
    shape = LU.data.shape
    if len(shape) < 2:
        raise ShapeMismatchError(f"{who}: LU_data must have at least 2 axes (matrices), got shape {shape}")
    m, n = shape[-2:]
    k = min(m, n)
    ok = piv.data.ndim >= 1 and piv.data.shape[-1] == k
    if ok:
        try:
            ok = np.broadcast_shapes(piv.data.shape[:-1], shape[:-2]) == shape[:-2]
        except ValueError:
            ok = False
    if not ok:
        raise ShapeMismatchError(f"{who}: LU_pivots of shape {piv.data.shape} do not fit LU_data of shape {shape} "
                                 f"(expected (*, {k}), * broadcasting to {shape[:-2]})")
    empty = K.Tensor(np.zeros((0,), LU.data.dtype))
    P = empty
    if pivs:
        K._check_range(who, piv.data, m)
        full = np.broadcast_to(piv.data, shape[:-2] + (k,))
        P = K.Tensor(K.perm_matrix(full, m, LU.data.dtype))
    if not data:
        return LUUnpackResult(P, empty, K.Tensor(np.zeros((0,), LU.data.dtype)))
    L, U = K._unpacked(LU)
    return LUUnpackResult(P, L, U)


__all__ = ["lu", "lu_solve", "lu_unpack"]
