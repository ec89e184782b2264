"""torch.linalg's dense linear algebra (re-exported as ``tl.linalg.*``), with torch's
signatures, result tuples and gradients, batched over the leading axes of ``(*, m, n)``.

Each function here is one op of ``ops.linalg_more`` / ``ops.linalg_decomp`` (inv, det,
slogdet, solve, solve_triangular, cholesky, matrix_exp, qr, svd, eigh, pinv, whose vjps
those modules state), called with torch's argument conventions; ``linalg_extra`` holds the
ones that are compositions of differentiable ops (lstsq, matrix_power, cond, multi_dot,
cross, vecdot, vander, ...), re-exported here.

Singular input to inv / solve, and non-positive-definite input to cholesky, raise
``LinAlgError`` (a ``RuntimeError``) naming the function and the
shape; the ``*_ex`` forms return an ``info`` tensor instead.
"""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple

import numpy as np

from .conventions import ArgumentError, DtypeError, ShapeMismatchError
from .conventions import _tensor_arg as _t
from .conventions import check_bool as _flag
from .ops import linalg_decomp as D
from .ops import linalg_more as M
from .ops.linalg_more import LinAlgError
from .tensor import Tensor

__all__ = ["det", "slogdet", "inv", "inv_ex", "solve", "solve_ex", "cholesky", "cholesky_ex", "qr", "svd", "eigh",
           "eigvalsh", "pinv", "matrix_rank", "matrix_exp", "solve_triangular", "LinAlgError"]


class SlogdetResult(NamedTuple):
    sign: Tensor
    logabsdet: Tensor


class QRResult(NamedTuple):
    Q: Tensor
    R: Tensor


class SVDResult(NamedTuple):
    U: Tensor
    S: Tensor
    Vh: Tensor


class EighResult(NamedTuple):
    eigenvalues: Tensor
    eigenvectors: Tensor


class InvExResult(NamedTuple):
    inverse: Tensor
    info: Tensor


class CholeskyExResult(NamedTuple):
    L: Tensor
    info: Tensor


class SolveExResult(NamedTuple):
    result: Tensor
    info: Tensor


def _floats(who: str, x: Tensor, name: str = "A") -> None:
    """Refuse a tensor that is not float32 / float64 (the dtypes the decompositions take), as torch does."""
    if x.data.dtype not in (np.float32, np.float64):
        raise DtypeError(f"{who}: {name} must be a float32 or float64 tensor, got {x.data.dtype}")


def _mat(who: str, x: Any, square: bool = False, floats: bool = True) -> Tensor:
    x = _t(who, x)
    if floats:
        _floats(who, x)
    if square:
        M.square(who, x.data)
    elif x.data.ndim < 2:
        raise ShapeMismatchError(f"{who}: A must have at least 2 axes (matrices), got shape {x.data.shape}")
    return x


def _unpack(packed: Tensor, shapes: list) -> list:
    """The factors of a packed decomposition output, as differentiable slices."""
    batch = packed.data.shape[:-1]
    out, at = [], 0
    for s in shapes:
        n = int(np.prod(s, dtype=np.int64))
        out.append(packed[..., at:at + n].reshape(batch + tuple(s)))
        at += n
    return out


# ------------------------------------------------------------------ determinants ---------
def det(A: Any) -> Tensor:
    """det(A) of each square matrix; d det/dA = the cofactor matrix (also at singular A)."""
    return M.DET(_mat("linalg.det", A, True), who="linalg.det")


def slogdet(A: Any) -> SlogdetResult:
    """(sign, log|det A|) of each square matrix (sign 0 and logabsdet -inf when singular);
    d log|det A| / dA = A^{-T}."""
    A = _mat("linalg.slogdet", A, True)
    out = M.LOGABSDET(A, who="linalg.slogdet")
    sign = np.asarray(M.slogdet_of(A.data)[0], out.data.dtype)
    if not out.requires_grad:
        return SlogdetResult(Tensor(sign), out)
    from .factories import where  # (sign in the graph with a zero gradient, so it requires grad, as torch's)
    return SlogdetResult(where(np.ones(sign.shape, bool), sign, A.sum((-2, -1))), out)


# ------------------------------------------------------------------ inverses, solves ---------
def inv(A: Any) -> Tensor:
    """A^{-1} of each square matrix (LinAlgError when one is singular); dA = -X^T G X^T."""
    return M.INV(_mat("linalg.inv", A, True), who="linalg.inv")


def _vector_rhs(A: Tensor, B: Tensor) -> bool:
    """torch's rule: B is a (batch of) vector(s) when 1-D or of shape A.shape[:-1]."""
    return B.data.ndim == 1 or (B.data.ndim == A.data.ndim - 1 and B.data.shape == A.data.shape[:-1])


def solve(A: Any, B: Any, *, left: bool = True) -> Tensor:
    """X with A X = B (X A = B when ``left=False``), batched and broadcast; B may be a vector
    (1-D or of shape A.shape[:-1]). dB = A^{-T} G, dA = -dB X^T."""
    return _solve("linalg.solve", A, B, left)


def _solve(who: str, A: Any, B: Any, left: bool, tri: Any = None, unit: bool = False) -> Tensor:
    A, B = _mat(who, A, True), _t(who, B, "B")
    if B.data.dtype != A.data.dtype:
        raise DtypeError(f"{who}: A and B must have the same dtype, got A {A.data.dtype} and B {B.data.dtype}")
    left = _flag(who, "left", left)
    if not left:
        if B.data.ndim < 2:
            raise ShapeMismatchError(f"{who}: with left=False B must be (*, k, n), got shape {B.data.shape}")
        flip = {"L": "U", "U": "L"}.get(tri) if tri else None
        return M.SOLVE(A.mT, B.mT, tri=flip, unit=unit, who=who).mT
    if tri is None and _vector_rhs(A, B):
        return M.SOLVE(A, B.unsqueeze(-1), who=who).squeeze(-1)
    return M.SOLVE(A, B, tri=tri, unit=unit, who=who)


def solve_triangular(A: Any, B: Any, *, upper: bool, left: bool = True, unitriangular: bool = False) -> Tensor:
    """X with A X = B (X A = B when ``left=False``) for triangular A: only its upper (or
    lower) triangle is read, its diagonal taken as ones with ``unitriangular``; a zero on
    the diagonal gives inf/nan, as torch. dA is kept on that triangle."""
    who = "linalg.solve_triangular"
    upper, unit = _flag(who, "upper", upper), _flag(who, "unitriangular", unitriangular)
    if _t(who, B).data.ndim < 2:
        raise ShapeMismatchError(f"{who}: B must have at least 2 axes, got shape {B.data.shape}")
    return _solve(who, A, B, left, "U" if upper else "L", unit)


def _info(A: np.ndarray, pd: bool) -> np.ndarray:
    """torch's info per matrix: 0, or the (1-based) order of the first leading minor that is
    not positive-definite (``pd``) / the first zero pivot of a partial-pivoting LU."""
    flat = M.floats(A).reshape((-1,) + A.shape[-2:])
    info = np.zeros(flat.shape[0], np.int32)
    for b, a in enumerate(flat):
        n = a.shape[-1]
        if pd:
            for k in range(1, n + 1):
                try:
                    failed = bool(M.nan_pivot(np.linalg.cholesky(a[:k, :k])))  # a NaN pivot fails too
                except np.linalg.LinAlgError:
                    failed = True
                if failed:
                    info[b] = k
                    break
            continue
        u = a.copy()
        for j in range(n):
            p = j + int(np.argmax(np.abs(u[j:, j])))
            u[[j, p]] = u[[p, j]]
            if u[j, j] != 0:
                u[j + 1:] -= np.outer(u[j + 1:, j] / u[j, j], u[j])
            elif not info[b]:
                info[b] = j + 1
        if not info[b]:  # (rounding may leave the factorization's own zero pivot unseen here)
            try:
                np.linalg.inv(a)
            except np.linalg.LinAlgError:
                info[b] = n
    return info.reshape(A.shape[:-2])


def _ex(who: str, A: Tensor, run: Any, pd: bool, check_errors: bool) -> tuple:
    check_errors = _flag(who, "check_errors", check_errors)
    try:
        out = run(A)
        return out, Tensor(np.zeros(A.data.shape[:-2], np.int32))
    except LinAlgError:
        if check_errors:
            raise
    info = _info(A.data, pd)
    bad = Tensor((info != 0)[..., None, None])
    eye = Tensor(np.eye(A.data.shape[-1], dtype=M.floats(A.data).dtype))
    from .factories import where
    out = run(where(bad, eye, A))  # a failed matrix's result is not meaningful: nan
    return where(bad, float("nan"), out), Tensor(info)


def inv_ex(A: Any, *, check_errors: bool = False) -> InvExResult:
    """(inv(A), info): info 0 per invertible matrix, else the LU's first zero pivot (1-based);
    the inverse of a singular matrix is nan."""
    A = _mat("linalg.inv_ex", A, True)
    return InvExResult(*_ex("linalg.inv_ex", A, lambda a: M.INV(a, who="linalg.inv_ex"), False, check_errors))


def cholesky_ex(A: Any, *, upper: bool = False, check_errors: bool = False) -> CholeskyExResult:
    """(cholesky(A), info): info 0 per positive-definite matrix, else the order of its first
    leading minor that is not; the factor of a failed matrix is nan."""
    A = _mat("linalg.cholesky_ex", A, True)
    return CholeskyExResult(*_ex("linalg.cholesky_ex", A, lambda a: _chol("linalg.cholesky_ex", a, upper), True,
                                 check_errors))


def solve_ex(A: Any, B: Any, *, left: bool = True, check_errors: bool = False) -> SolveExResult:
    """(solve(A, B), info) with inv_ex's info; the solution for a singular A is nan."""
    A = _mat("linalg.solve_ex", A, True)
    return SolveExResult(*_ex("linalg.solve_ex", A, lambda a: _solve("linalg.solve_ex", a, B, left), False,
                              check_errors))


def _chol(who: str, A: Tensor, upper: bool) -> Tensor:
    upper = _flag(who, "upper", upper)
    if upper:  # U = chol(A^T)^T reads A's upper triangle
        return M.CHOLESKY(A.mT, who=who).mT
    return M.CHOLESKY(A, who=who)


def cholesky(A: Any, *, upper: bool = False) -> Tensor:
    """L (lower, A = L L^T) of each symmetric positive-definite matrix, reading A's lower
    triangle; U = L^T (A = U^T U, reading the upper triangle) with ``upper``.
    dA = sym(L^{-T} Phi(L^T G) L^{-1}) (Phi: the lower triangle, diagonal halved)."""
    return _chol("linalg.cholesky", _mat("linalg.cholesky", A, True), upper)


# ------------------------------------------------------------------ decompositions ---------
def qr(A: Any, mode: str = "reduced") -> QRResult:
    """A = Q R (Q orthonormal columns, R upper triangular): ``mode`` 'reduced' (Q (m, k),
    R (k, n), k = min(m, n)), 'complete' (Q (m, m), R (m, n)) or 'r' (R only, Q empty; no
    gradient). Complete mode with m > n has no gradient (Q's last columns are not unique)."""
    return _qr("linalg.qr", A, mode)


def _qr(who: str, A: Any, mode: str) -> QRResult:
    A = _mat(who, A)
    if mode not in ("reduced", "complete", "r"):
        raise ArgumentError(f"{who}: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    out = D.QR_(A, mode=mode, who=who)
    Q, R = _unpack(out, _qr_shapes(A.data.shape, mode))
    return QRResult(Tensor(np.zeros((0,), out.data.dtype)) if mode == "r" else Q, R)


def _qr_shapes(shape: tuple, mode: str) -> list:
    m, n = shape[-2:]
    k = m if mode == "complete" else min(m, n)
    return [(0,) if mode == "r" else (m, k), (k, n)]


def svd(A: Any, full_matrices: bool = True) -> SVDResult:
    """A = U diag(S) Vh, S descending. Gradients (see ops.linalg_decomp): exact for distinct
    non-zero singular values; with repeated ones the U / Vh terms are inf/nan (as torch),
    while a loss of S alone stays finite. U and Vh are unique up to the sign of each
    singular pair, so only sign-invariant losses have a well-defined gradient."""
    return _svd("linalg.svd", A, full_matrices)


def _svd(who: str, A: Any, full_matrices: bool) -> SVDResult:
    A = _mat(who, A)
    full = _flag(who, "full_matrices", full_matrices)
    m, n = A.data.shape[-2:]
    k = min(m, n)
    out = D.SVD_(A, full_matrices=full, who=who)
    U, S, Vh = _unpack(out, [(m, m if full else k), (1, k), (n if full else k, n)])
    return SVDResult(U, S.squeeze(-2), Vh)


def _uplo(who: str, UPLO: Any) -> str:
    if UPLO not in ("L", "U"):
        raise ArgumentError(f"{who}: UPLO must be 'L' or 'U', got {UPLO!r}")
    return UPLO


def eigh(A: Any, UPLO: str = "L") -> EighResult:
    """A = V diag(w) V^T for symmetric A (only its ``UPLO`` triangle read), w ascending.
    The eigenvector term of the gradient is exact for distinct eigenvalues and inf/nan
    for repeated ones (as torch); a loss of the eigenvalues alone gives V diag(G_w) V^T."""
    A = _mat("linalg.eigh", A, True)
    n = A.data.shape[-1]
    out = D.EIGH(A, UPLO=_uplo("linalg.eigh", UPLO), who="linalg.eigh")
    w, V = _unpack(out, [(1, n), (n, n)])
    return EighResult(w.squeeze(-2), V)


def eigvalsh(A: Any, UPLO: str = "L") -> Tensor:
    """The eigenvalues of symmetric A, ascending; dA = V diag(G) V^T."""
    A = _mat("linalg.eigvalsh", A, True)
    n = A.data.shape[-1]
    out = D.EIGH(A, UPLO=_uplo("linalg.eigvalsh", UPLO), who="linalg.eigvalsh")
    return _unpack(out, [(1, n), (n, n)])[0].squeeze(-2)


def _tols(who: str, atol: Any, rtol: Any) -> tuple:
    def val(name: str, v: Any) -> Any:
        if v is None:
            return None
        if isinstance(v, Tensor):
            return v.data
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"{who}: {name} must be a number, a Tensor or None, got {v!r}")
        return float(v)
    return val("atol", atol), val("rtol", rtol)


def pinv(A: Any, rcond: Any = None, hermitian: bool = False, *, atol: Any = None, rtol: Any = None) -> Tensor:
    """The pseudo-inverse V diag(1/s_i) U^T over the singular values s_i > max(atol, rtol *
    s_max) (rtol defaults to eps * max(m, n) when atol is not given; ``rcond`` is torch's
    older name of ``rtol``); its gradient is the derivative at constant rank."""
    if rcond is not None:
        if atol is not None or rtol is not None:
            raise TypeError("linalg.pinv: give rcond, or atol / rtol, not both")
        rtol = rcond
    return _pinv("linalg.pinv", A, atol, rtol, hermitian)


def _pinv(who: str, A: Any, atol: Any, rtol: Any, hermitian: bool) -> Tensor:
    atol, rtol = _tols(who, atol, rtol)
    return D.PINV(_mat(who, A), atol=atol, rtol=rtol, hermitian=_flag(who, "hermitian", hermitian), who=who)


def matrix_rank(A: Any, *, atol: Any = None, rtol: Any = None, hermitian: bool = False,
                tol: Any = None) -> Tensor:
    """The number of singular values > max(atol, rtol * s_max) (an int64 Tensor, no gradient;
    ``tol`` is the older name of ``atol``)."""
    who = "linalg.matrix_rank"
    A = _mat(who, A)
    atol, rtol = _tols(who, atol if tol is None else tol, rtol)
    a = M.floats(A.data)
    if _flag(who, "hermitian", hermitian):
        s = np.abs(M.converged(who, np.linalg.eigvalsh, a))
    else:
        s = M.converged(who, np.linalg.svd, a, compute_uv=False)
    m, n = a.shape[-2:]
    if rtol is None:
        rtol = np.finfo(a.dtype).eps * max(m, n) if (atol is None or np.all(np.asarray(atol) <= 0)) else 0.0
    smax = s.max(-1, keepdims=True) if s.shape[-1] else np.zeros(s.shape[:-1] + (1,))
    cut = np.maximum(np.asarray(0.0 if atol is None else atol)[..., None], np.asarray(rtol)[..., None] * smax)
    return Tensor((s > cut).sum(-1).astype(np.int64))


def matrix_exp(A: Any) -> Tensor:
    """exp(A) = sum_k A^k / k! of each square matrix; dA[G] = the upper right block of
    exp([[A^T, G], [0, A^T]])."""
    return M.MATRIX_EXP(_mat("linalg.matrix_exp", A, True), who="linalg.matrix_exp")


from .linalg_extra import *  # noqa: E402,F403  (lstsq, matrix_rank, matrix_power, cond, multi_dot, ...)
from .linalg_extra import __all__ as _extra  # noqa: E402
from .linalg_extra import _cross, _matrix_power  # noqa: E402,F401

__all__ += _extra
