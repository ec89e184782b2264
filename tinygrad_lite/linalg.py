"""torch.linalg's norms and singular values: ``tl.linalg.norm``, ``vector_norm``,
``matrix_norm`` and ``svdvals``, with torch's signatures and rules.

For a matrix A (two axes ``dim``, the last two by default), with singular values s_i:

* ``'fro'``: sqrt(sum A_ij^2); ``'nuc'``: sum_i s_i (gradient U V^T);
* ``2`` / ``-2``: the largest / smallest s_i (gradient u_1 v_1^T for a distinct one);
* ``1`` / ``-1``: the largest / smallest column sum of |A_ij|; ``inf`` / ``-inf`` the row sums.

A vector norm is ``Tensor.norm``'s p-norm. Each is a composition of ops (``svdvals``, the
p-norm, ``abs``, ``sum``, ``amax`` / ``amin``, ``movedim``), so gradients, per-sample
gradients and the mixing errors come from them: a matrix whose rows are the samples mixes
them.

The rest of torch.linalg (det, slogdet, inv, solve, cholesky, qr, svd, eigh, pinv, lstsq,
matrix_exp, ...) lives in ``linalg_more`` / ``linalg_extra`` and is re-exported here.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from . import ops
from .tensor import Tensor

__all__ = ["norm", "vector_norm", "matrix_norm", "svdvals"]


def _t(who: str, x: Any) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{who}: input must be a Tensor, got {type(x).__name__}")
    return x


def svdvals(A: Any) -> Tensor:
    """The singular values of each matrix of ``A`` (the last two axes), descending."""
    return ops.SVDVALS(_t("svdvals", A))


def vector_norm(x: Any, ord: Any = 2, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """(sum |x_i|^ord)^(1/ord) over ``dim`` (every element when None); inf / -inf: max / min |x_i|."""
    if isinstance(ord, str) or isinstance(ord, bool) or not isinstance(ord, numbers.Real):
        raise TypeError(f"vector_norm: ord must be a real number or inf, got {ord!r}")
    return _t("vector_norm", x).norm(float(ord), dim, keepdim, dtype)


def _two_dims(who: str, A: Tensor, dim: Any) -> tuple:
    n = A.data.ndim
    if not isinstance(dim, (tuple, list)) or len(dim) != 2 or any(
            isinstance(d, bool) or not isinstance(d, numbers.Integral) for d in dim):
        raise ValueError(f"{who}: dim must be a tuple of 2 ints, got {dim!r}")
    if n < 2:
        raise ValueError(f"{who}: the input must have at least 2 axes, got shape {A.data.shape}")
    if not all(-n <= d < n for d in dim) or dim[0] % n == dim[1] % n:
        raise ValueError(f"{who}: dim {tuple(dim)} must name two different axes of a tensor of shape {A.data.shape}")
    return dim[0] % n, dim[1] % n


def matrix_norm(A: Any, ord: Any = "fro", dim: Any = (-2, -1), keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    """The matrix norm ``ord`` of the matrices over the two axes ``dim`` (see the module docstring)."""
    A = _t("matrix_norm", A)
    r, c = _two_dims("matrix_norm", A, dim)
    if dtype is not None:
        A = A._in_dtype("matrix_norm", dtype, floats=True)
    elif A.data.dtype.kind != "f":
        A = A.astype(np.float64)
    if ord == "fro":
        return A.norm(2.0, (r, c), keepdim)
    if 0 in (A.data.shape[r], A.data.shape[c]) and ord in ("nuc", 2, 1, math.inf):  # empty matrices: 0, as torch
        return A.abs().sum(dim=(r, c), keepdim=keepdim)
    if ord in ("nuc", 2, -2):
        s = ops.SVDVALS(A.movedim((r, c), (-2, -1)))
        out = s.sum(-1) if ord == "nuc" else (s.amax(-1) if ord == 2 else s.amin(-1))
        if keepdim:
            for d in sorted((r, c)):
                out = out.unsqueeze(d)
        return out
    if isinstance(ord, numbers.Real) and not isinstance(ord, bool) and abs(ord) in (1, math.inf):
        inner, outer = (r, c) if abs(ord) == 1 else (c, r)  # column sums for 1, row sums for inf
        sums = A.abs().sum(dim=inner, keepdim=True)
        out = sums.amax(outer, keepdim=True) if ord > 0 else sums.amin(outer, keepdim=True)
        return out if keepdim else out.squeeze((r, c))
    raise ValueError(f"matrix_norm: ord must be 'fro', 'nuc', 1, -1, 2, -2, inf or -inf, got {ord!r}")


def norm(A: Any, ord: Any = None, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """torch.linalg.norm: with ``dim`` an int (or ``A`` 1-D) the vector norm ``ord`` (2 when
    None); with ``dim`` two ints (or ``A`` 2-D) the matrix norm ``ord`` ('fro' when None);
    with neither ``ord`` nor ``dim`` the 2-norm of all elements."""
    A = _t("norm", A)
    if isinstance(dim, numbers.Integral) and not isinstance(dim, bool):
        dim = (int(dim),)
    if dim is None:
        if ord is None:
            return vector_norm(A, 2, None, keepdim, dtype=dtype)
        if A.data.ndim not in (1, 2):
            raise ValueError(f"norm: with ord={ord!r} and no dim the input must be 1-D or 2-D, got shape "
                             f"{A.data.shape}")
        dim = tuple(range(A.data.ndim))
    if len(dim) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
    if isinstance(ord, str):
        raise ValueError(f"norm: ord={ord!r} is a matrix norm; give dim two axes (or a 2-D input)")
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


from .linalg_more import *  # noqa: E402,F403  (det, inv, solve, cholesky, qr, svd, eigh, ...)
from .linalg_more import __all__ as _more  # noqa: E402

__all__ += _more
from .linalg_lu import *  # noqa: E402,F403  (lu, lu_factor, lu_factor_ex, lu_solve, tensorinv, tensorsolve)
from .linalg_lu import __all__ as _lu  # noqa: E402

__all__ += _lu
from .linalg_householder import householder_product  # noqa: E402  (torch's orgqr)

__all__ += ["householder_product"]
