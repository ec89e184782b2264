"""torch's top-level spellings of linear algebra (``tl.det``, ``tl.logdet``, ``tl.slogdet``,
``tl.inverse``, ``tl.cholesky``, ``tl.cholesky_solve``, ``tl.cholesky_inverse``, ``tl.qr``,
``tl.svd``, ``tl.pinverse``, ``tl.matrix_power``, ``tl.matrix_exp``, ``tl.cross``,
``tl.inner``, ``tl.vdot``, ``tl.dist``, ``tl.ger``, ``tl.chain_matmul``, ``tl.triangular_solve``) and the
Tensor methods of the same names (``LinalgMethods``, mixed into Tensor).

They call ``tl.linalg`` (module ``linalg_more``, whose ops state the gradients) with
torch's older conventions: ``svd`` returns V (not V^T) and takes ``some`` /
``compute_uv``; ``qr`` takes ``some``; ``cholesky_solve(B, L)`` solves (L L^T) X = B;
``cholesky_inverse(L)`` = (L L^T)^{-1}; ``logdet`` = log(det A) (nan for det < 0);
``triangular_solve(b, A)`` returns (A^{-1} b, a copy of A); ``inner(a, b)`` sums over the
last axes; ``cross`` without ``dim`` uses the first axis of size 3.
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .conventions import ShapeMismatchError
from .ops import base

if TYPE_CHECKING:  # pragma: no cover
    from .tensor import Tensor


def _L() -> Any:
    """The ``linalg_more`` module (imported on first use: it needs the finished Tensor)."""
    mod = sys.modules.get("tinygrad_lite.linalg_more")
    if mod is None:
        from . import linalg_more as mod  # type: ignore[no-redef]
    return mod


class SVDResult(NamedTuple):
    U: Any
    S: Any
    V: Any


class TriangularSolveResult(NamedTuple):
    solution: Any
    cloned_coefficient: Any


def _tensor(who: str, x: Any) -> Any:
    if not isinstance(x, base.Tensor):
        raise TypeError(f"{who}: input must be a Tensor, got {type(x).__name__}")
    return x


class LinalgMethods:
    """Tensor methods for matrices (torch's names; each one call of ``tl.linalg``)."""

    __slots__ = ()

    def det(self) -> "Tensor":
        """det(A) of each square matrix (the last two axes); d det/dA = the cofactor matrix."""
        L = _L()
        return L.M.DET(L._mat("det", self, True), who="det")

    def logdet(self) -> "Tensor":
        """log(det A) of each square matrix: -inf when singular, nan when det A < 0;
        d logdet/dA = A^{-T}."""
        L = _L()
        A = L._mat("logdet", self, True)
        out = L.M.LOGABSDET(A, who="logdet")
        sign = L.M.slogdet_of(A.data)[0]
        with np.errstate(invalid="ignore", divide="ignore"):
            res = out + base.Tensor(np.log(np.asarray(sign, out.data.dtype)))
        neg = np.asarray(sign) < 0  # (nan there, with a zero gradient, as torch's)
        return res.where(base.Tensor(~neg), float("nan")) if neg.any() else res

    def slogdet(self) -> Any:
        """(sign, log|det A|) of each square matrix; d log|det A|/dA = A^{-T}."""
        L = _L()
        A = L._mat("slogdet", self, True)
        out = L.M.LOGABSDET(A, who="slogdet")
        sign = np.asarray(L.M.slogdet_of(A.data)[0], out.data.dtype)
        return L.SlogdetResult(base.Tensor(sign), out)

    def inverse(self) -> "Tensor":
        """A^{-1} of each square matrix (LinAlgError when singular); dA = -X^T G X^T."""
        L = _L()
        return L.M.INV(L._mat("inverse", self, True), who="inverse")

    def cholesky(self, upper: bool = False) -> "Tensor":
        """The Cholesky factor L (A = L L^T), or U = L^T with ``upper``."""
        L = _L()
        return L._chol("cholesky", L._mat("cholesky", self, True), upper)

    def cholesky_solve(self, input2: Any, upper: bool = False) -> "Tensor":
        """X = (L L^T)^{-1} B of B = self and the factor L = ``input2`` (U with A = U^T U when
        ``upper``); dB = (L L^T)^{-1} G, dL = -(dB X^T + X dB^T) L."""
        L = _L()
        B, F = _tensor("cholesky_solve", self), L._mat("cholesky_solve", _tensor("cholesky_solve", input2), True)
        return L.M.CHOLESKY_SOLVE(B, F, upper=L._flag("cholesky_solve", "upper", upper), who="cholesky_solve")

    def cholesky_inverse(self, upper: bool = False) -> "Tensor":
        """(L L^T)^{-1} from the factor L = self (U^T U with ``upper``)."""
        L = _L()
        F = L._mat("cholesky_inverse", self, True)
        eye = base.Tensor(np.broadcast_to(np.eye(F.data.shape[-1], dtype=L.M.floats(F.data).dtype),
                                          F.data.shape).copy())
        return L.M.CHOLESKY_SOLVE(eye, F, upper=L._flag("cholesky_inverse", "upper", upper), who="cholesky_inverse")

    def qr(self, some: bool = True) -> Any:
        """(Q, R) with A = Q R: reduced with ``some`` (Q (m, k)), else complete (Q (m, m))."""
        L = _L()
        return L._qr("qr", self, "reduced" if L._flag("qr", "some", some) else "complete")

    def svd(self, some: bool = True, compute_uv: bool = True) -> SVDResult:
        """(U, S, V) with A = U diag(S) V^T (V, not V^T): reduced with ``some``; with
        ``compute_uv=False`` only S is computed and U, V are zero matrices (m, m), (n, n)."""
        L = _L()
        A = L._mat("svd", self)
        if not L._flag("svd", "compute_uv", compute_uv):
            m, n = A.data.shape[-2:]
            dt = L.M.floats(A.data).dtype
            b = A.data.shape[:-2]
            return SVDResult(base.Tensor(np.zeros(b + (m, m), dt)), _svdvals(A),
                             base.Tensor(np.zeros(b + (n, n), dt)))
        U, S, Vh = L._svd("svd", A, not L._flag("svd", "some", some))
        return SVDResult(U, S, Vh.mT)

    def pinverse(self, rcond: float = 1e-15) -> "Tensor":
        """The pseudo-inverse, singular values below rcond * s_max dropped."""
        return _L()._pinv("pinverse", self, None, rcond, False)

    def matrix_power(self, n: int) -> "Tensor":
        """A^n for an int n (A^0 = I, negative n through the inverse)."""
        return _L()._matrix_power("matrix_power", self, n)

    def matrix_exp(self) -> "Tensor":
        """exp(A) = sum_k A^k / k! of each square matrix."""
        L = _L()
        return L.M.MATRIX_EXP(L._mat("matrix_exp", self, True), who="matrix_exp")

    def cross(self, other: Any, dim: Any = None) -> "Tensor":
        """The cross product of 3-vectors along ``dim`` (default: the first axis of size 3)."""
        return _L()._cross("cross", self, _tensor("cross", other), dim)

    def inner(self, other: Any) -> "Tensor":
        """sum_k a[..., k] b[..., k] over the last axes: shape a.shape[:-1] + b.shape[:-1]
        (a product when either is 0-d)."""
        o = _tensor("inner", other)
        a, b = self.data.shape, o.data.shape  # type: ignore[attr-defined]
        if not a or not b:
            return self * o  # type: ignore[operator]
        if a[-1] != b[-1]:
            raise ShapeMismatchError(f"inner: the last axes of shapes {a} and {b} differ")
        rows = self.reshape(math.prod(a[:-1]), a[-1])  # type: ignore[attr-defined]  # (not -1: a may be empty)
        out = rows @ o.reshape(math.prod(b[:-1]), b[-1]).mT  # type: ignore[attr-defined]
        return out.reshape(a[:-1] + b[:-1])

    def dist(self, other: Any, p: float = 2) -> "Tensor":
        """The p-norm of ``self - other`` (broadcast together) over all its elements:
        (sum |d_i|**p)**(1/p); p = 0 counts the non-zero differences, inf / -inf is the
        largest / smallest |d_i|."""
        if isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, float, np.integer, np.floating)):
            raise TypeError(f"dist: p must be a number, got {p!r}")
        return (self - _tensor("dist", other)).reshape(-1).norm(float(p))  # type: ignore[operator]

    def vdot(self, other: Any) -> "Tensor":
        """sum_i x_i y_i of two 1-D tensors of one length."""
        o = _tensor("vdot", other)
        if self.data.ndim != 1 or o.data.ndim != 1 or self.data.shape != o.data.shape:  # type: ignore[attr-defined]
            raise ShapeMismatchError(f"vdot: expected two 1-D tensors of the same length, got shapes "
                             f"{self.data.shape} and {o.data.shape}")  # type: ignore[attr-defined]
        return self.dot(o)  # type: ignore[attr-defined]

    def triangular_solve(self, A: Any, upper: bool = True, transpose: bool = False,
                         unitriangular: bool = False) -> TriangularSolveResult:
        """(X, a copy of A) with A X = b (A^T X = b when ``transpose``) for b = self and
        triangular A (only its upper / lower triangle read); dA on that triangle."""
        L = _L()
        who = "triangular_solve"
        A = L._mat(who, _tensor(who, A), True)
        up, tr = L._flag(who, "upper", upper), L._flag(who, "transpose", transpose)
        unit = L._flag(who, "unitriangular", unitriangular)
        coef = A.clone()  # type: ignore[attr-defined]
        M = coef.mT if tr else coef
        X = L._solve(who, M, _tensor(who, self), True, "U" if up != tr else "L", unit)
        return TriangularSolveResult(X, coef)

    def lu(self, pivot: bool = True, get_infos: bool = False) -> Any:
        """``tl.lu(self, pivot, get_infos)``: (LU, pivots[, infos]) with A = P L U."""
        return lu(self, pivot, get_infos)

    def lu_solve(self, LU_data: Any, LU_pivots: Any) -> "Tensor":
        """``tl.lu_solve(self, LU_data, LU_pivots)``: X with A X = self for A given by ``lu``."""
        return lu_solve(self, LU_data, LU_pivots)


def _svdvals(A: Any) -> Any:
    from .linalg import svdvals
    return svdvals(A)


def _method(name: str) -> Any:
    def f(input: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(LinalgMethods, name)(_tensor(name, input), *args, **kwargs)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = getattr(LinalgMethods, name).__doc__
    return f


det, logdet, slogdet, inverse, cholesky = (_method(n) for n in ("det", "logdet", "slogdet", "inverse", "cholesky"))
cholesky_solve, cholesky_inverse, qr, svd = (_method(n) for n in ("cholesky_solve", "cholesky_inverse", "qr", "svd"))
pinverse, matrix_power, matrix_exp, cross = (_method(n) for n in ("pinverse", "matrix_power", "matrix_exp", "cross"))
inner, vdot, triangular_solve, dist = (_method(n) for n in ("inner", "vdot", "triangular_solve", "dist"))


def ger(input: Any, vec2: Any) -> "Tensor":
    """The outer product out[i, j] = x_i y_j of two 1-D tensors."""
    return _tensor("ger", input).outer(vec2)


def chain_matmul(*matrices: Any) -> "Tensor":
    """A_1 A_2 ... A_k of 2-D matrices (linalg.multi_dot of them; one matrix is returned as is)."""
    if len(matrices) == 1:
        m = _tensor("chain_matmul", matrices[0])
        if m.data.ndim != 2:
            raise ShapeMismatchError(f"chain_matmul: the matrices must be 2-D, got shape {m.data.shape}")
        return m
    for i, m in enumerate(matrices):
        if _tensor("chain_matmul", m).data.ndim != 2:
            raise ShapeMismatchError(f"chain_matmul: the matrices must be 2-D, got shape {m.data.shape} for matrix {i}")
    return _L().multi_dot(list(matrices))


__all__ = ["det", "logdet", "slogdet", "inverse", "cholesky", "cholesky_solve", "cholesky_inverse", "qr", "svd",
           "pinverse", "matrix_power", "matrix_exp", "cross", "inner", "vdot", "ger", "chain_matmul",
           "triangular_solve", "dist", "lu", "lu_solve", "lu_unpack"]

from .torchlu import lu, lu_solve, lu_unpack  # noqa: E402  (torch's older LU spellings)
