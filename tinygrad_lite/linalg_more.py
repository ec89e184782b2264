"""torch.linalg's dense linear algebra (re-exported as ``tl.linalg.*``), with torch's
signatures, result tuples and gradients, batched over the leading axes of ``(*, m, n)``.

Each function is either one op of ``ops.linalg_more`` / ``ops.linalg_decomp`` (inv, det,
slogdet, solve, solve_triangular, cholesky, matrix_exp, qr, svd, eigh, pinv, whose vjps
those modules state) or a composition of differentiable ops:

* ``matrix_power(A, n)``: A^n by repeated squaring (n < 0: inv(A)^|n|);
* ``lstsq``: X = pinv(A) B (torch's gradient for it); ``cond``: s_max / s_min (p = None or
  2) or ||A||_p ||A^{-1}||_p; ``multi_dot``: a chain of matmuls;
* ``cross``: (a_1 b_2 - a_2 b_1, a_2 b_0 - a_0 b_2, a_0 b_1 - a_1 b_0); ``vecdot``: sum x_i y_i;
* ``vander``: the columns x^0, x^1, ..., x^(N-1) (a running product).

Singular input to inv / solve / det's backward-free callers, and non-positive-definite
input to cholesky, raise ``LinAlgError`` (a ``RuntimeError``) naming the function and the
shape; the ``*_ex`` forms return an ``info`` tensor instead.
"""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple, Optional

import numpy as np

from . import ops
from .ops import linalg_decomp as D
from .ops import linalg_more as M
from .ops.linalg_more import LinAlgError
from .tensor import Tensor, stack

__all__ = ["det", "slogdet", "inv", "inv_ex", "solve", "solve_ex", "cholesky", "cholesky_ex", "qr", "svd", "eigh",
           "eigvalsh", "pinv", "lstsq", "matrix_rank", "matrix_power", "matrix_exp", "multi_dot", "cross", "vecdot",
           "solve_triangular", "cond", "diagonal", "matmul", "vander", "LinAlgError"]


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


class LstsqResult(NamedTuple):
    solution: Tensor
    residuals: Tensor
    rank: Tensor
    singular_values: Tensor


class InvExResult(NamedTuple):
    inverse: Tensor
    info: Tensor


class CholeskyExResult(NamedTuple):
    L: Tensor
    info: Tensor


class SolveExResult(NamedTuple):
    result: Tensor
    info: Tensor


def _t(who: str, x: Any) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{who}: input must be a Tensor, got {type(x).__name__}")
    return x


def _mat(who: str, x: Any, square: bool = False) -> Tensor:
    x = _t(who, x)
    if square:
        M.square(who, x.data)
    elif x.data.ndim < 2:
        raise ValueError(f"{who}: A must have at least 2 axes (matrices), got shape {x.data.shape}")
    return x


def _flag(who: str, name: str, v: Any) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{who}: {name} must be a bool, got {v!r}")
    return bool(v)


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
    sign = np.asarray(np.linalg.slogdet(M.floats(A.data))[0], out.data.dtype)
    return SlogdetResult(Tensor(sign), out)


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
    A, B = _mat(who, A, True), _t(who, B)
    left = _flag(who, "left", left)
    if not left:
        if B.data.ndim < 2:
            raise ValueError(f"{who}: with left=False B must be (*, k, n), got shape {B.data.shape}")
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
        raise ValueError(f"{who}: B must have at least 2 axes, got shape {B.data.shape}")
    return _solve(who, A, B, left, "U" if upper else "L", unit)


def _info(who: str, A: np.ndarray, pd: bool) -> np.ndarray:
    """torch's info per matrix: 0, or the (1-based) order of the first leading minor that is
    not positive-definite (``pd``) / the first zero pivot of a partial-pivoting LU."""
    flat = M.floats(A).reshape((-1,) + A.shape[-2:])
    info = np.zeros(flat.shape[0], np.int32)
    for b, a in enumerate(flat):
        n = a.shape[-1]
        if pd:
            for k in range(1, n + 1):
                try:
                    np.linalg.cholesky(a[:k, :k])
                except np.linalg.LinAlgError:
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
    return info.reshape(A.shape[:-2])


def _ex(who: str, A: Tensor, run: Any, pd: bool, check_errors: bool) -> tuple:
    check_errors = _flag(who, "check_errors", check_errors)
    try:
        out = run(A)
        return out, Tensor(np.zeros(A.data.shape[:-2], np.int32))
    except LinAlgError:
        if check_errors:
            raise
    info = _info(who, A.data, pd)
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
        raise ValueError(f"{who}: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
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
        raise ValueError(f"{who}: UPLO must be 'L' or 'U', got {UPLO!r}")
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


def pinv(A: Any, *, atol: Any = None, rtol: Any = None, hermitian: bool = False) -> Tensor:
    """The pseudo-inverse V diag(1/s_i) U^T over the singular values s_i > max(atol, rtol *
    s_max) (rtol defaults to eps * max(m, n) when atol is not given); its gradient is the
    derivative at constant rank."""
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
    s = np.abs(np.linalg.eigvalsh(a)) if _flag(who, "hermitian", hermitian) else np.linalg.svd(a, compute_uv=False)
    m, n = a.shape[-2:]
    if rtol is None:
        rtol = np.finfo(a.dtype).eps * max(m, n) if (atol is None or np.all(np.asarray(atol) <= 0)) else 0.0
    smax = s.max(-1, keepdims=True) if s.shape[-1] else np.zeros(s.shape[:-1] + (1,))
    cut = np.maximum(np.asarray(0.0 if atol is None else atol)[..., None], np.asarray(rtol)[..., None] * smax)
    return Tensor((s > cut).sum(-1).astype(np.int64))


def lstsq(A: Any, B: Any, rcond: Optional[float] = None, *, driver: Optional[str] = None) -> LstsqResult:
    """The least-squares solution X = pinv(A) B of min ||A X - B|| (B may be a vector), with
    torch's (solution, residuals, rank, singular_values): residuals ||A X - B||^2 per column
    for m > n full-rank A with drivers other than 'gelsy' (empty otherwise), rank for every
    driver but 'gels', singular values for 'gelsd' / 'gelss'. Gradient: pinv's."""
    who = "linalg.lstsq"
    A, B = _mat(who, A), _t(who, B)
    drv = "gelsy" if driver is None else driver
    if drv not in ("gels", "gelsy", "gelsd", "gelss"):
        raise ValueError(f"{who}: driver must be one of 'gels', 'gelsy', 'gelsd', 'gelss' or None, got {driver!r}")
    vec = _vector_rhs(A, B)
    Bm = B.unsqueeze(-1) if vec else B
    if Bm.data.ndim < 2 or Bm.data.shape[-2] != A.data.shape[-2]:
        raise ValueError(f"{who}: A of shape {A.data.shape} and B of shape {B.data.shape} do not fit (B must be "
                         f"(*, {A.data.shape[-2]}, k) or (*, {A.data.shape[-2]}))")
    X = pinv(A, rtol=rcond) @ Bm
    m, n = A.data.shape[-2:]
    rank = matrix_rank(A, rtol=rcond)
    empty = Tensor(np.zeros((0,), M.floats(A.data).dtype))
    res = empty
    if drv != "gelsy" and m > n and bool(np.all(rank.data == n)):
        res = ((A @ X - Bm) ** 2).sum(-2)
        res = res.squeeze(-1) if vec else res
    sv = Tensor(np.linalg.svd(M.floats(A.data), compute_uv=False)) if drv in ("gelsd", "gelss") else empty
    return LstsqResult(X.squeeze(-1) if vec else X, res, rank if drv != "gels" else Tensor(np.zeros((0,), np.int64)),
                       sv)


# ------------------------------------------------------------------ matrix functions ---------
def matrix_power(A: Any, n: int) -> Tensor:
    """A^n (n an int) by repeated squaring; A^0 = I (zero gradient), A^{-n} = inv(A)^n."""
    return _matrix_power("linalg.matrix_power", A, n)


def _matrix_power(who: str, A: Any, n: int) -> Tensor:
    A = _mat(who, A, True)
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{who}: n must be an int, got {n!r}")
    n = int(n)
    if n == 0:
        eye = np.broadcast_to(np.eye(A.data.shape[-1], dtype=M.floats(A.data).dtype), A.data.shape)
        return ops.MULC(A.astype(eye.dtype), 0.0) + Tensor(eye.copy())
    if n < 0:
        A, n = M.INV(A, who=who), -n
    out, sq = None, A
    while True:
        if n & 1:
            out = sq if out is None else out @ sq
        n >>= 1
        if not n:
            return out
        sq = sq @ sq


def matrix_exp(A: Any) -> Tensor:
    """exp(A) = sum_k A^k / k! of each square matrix; dA[G] = the upper right block of
    exp([[A^T, G], [0, A^T]])."""
    return M.MATRIX_EXP(_mat("linalg.matrix_exp", A, True), who="linalg.matrix_exp")


def cond(A: Any, p: Any = None) -> Tensor:
    """The condition number: s_max / s_min for p None or 2 (s_min / s_max for -2), else
    ||A||_p ||A^{-1}||_p ('fro', 'nuc', inf, -inf, 1, -1; square invertible A)."""
    from .linalg import matrix_norm, svdvals
    A = _mat("linalg.cond", A)
    if p is None or p in (2, -2) and not isinstance(p, bool):
        s = svdvals(A)
        with np.errstate(divide="ignore"):
            return s[..., 0] / s[..., -1] if p != -2 else s[..., -1] / s[..., 0]
    if p not in ("fro", "nuc", 1, -1, np.inf, -np.inf) or isinstance(p, bool):
        raise ValueError(f"linalg.cond: p must be None, 2, -2, 'fro', 'nuc', inf, -inf, 1 or -1, got {p!r}")
    M.square("linalg.cond", A.data)
    return matrix_norm(A, p) * matrix_norm(M.INV(A, who="linalg.cond"), p)


def multi_dot(tensors: Any) -> Tensor:
    """A_1 A_2 ... A_k of 2-D matrices (the first may be a 1-D row vector, the last a 1-D
    column vector; the result drops their axes)."""
    who = "linalg.multi_dot"
    if not isinstance(tensors, (list, tuple)) or len(tensors) < 2:
        raise ValueError(f"{who}: expected a list of at least 2 tensors, got {tensors!r}")
    ts = [_t(who, x) for x in tensors]
    first, last = ts[0].data.ndim == 1, ts[-1].data.ndim == 1
    ts[0] = ts[0].unsqueeze(0) if first else ts[0]
    ts[-1] = ts[-1].unsqueeze(-1) if last else ts[-1]
    for i, x in enumerate(ts):
        if x.data.ndim != 2:
            raise ValueError(f"{who}: tensor {i} must be 2-D (the first and last may be 1-D), got shape "
                             f"{tensors[i].data.shape}")
    for i in range(len(ts) - 1):
        if ts[i].data.shape[1] != ts[i + 1].data.shape[0]:
            raise ValueError(f"{who}: tensors {i} and {i + 1} of shapes {tensors[i].data.shape} and "
                             f"{tensors[i + 1].data.shape} cannot be multiplied")
    out = ts[0]
    for x in ts[1:]:
        out = out @ x
    if first:
        out = out.squeeze(0)
    return out.squeeze(-1) if last else out


def cross(input: Any, other: Any, *, dim: int = -1) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (the two broadcast together)."""
    return _cross("linalg.cross", input, other, dim)


def _cross(who: str, a: Any, b: Any, dim: Any) -> Tensor:
    a, b = _t(who, a), _t(who, b)
    try:
        shape = np.broadcast_shapes(a.data.shape, b.data.shape)
    except ValueError:
        raise ValueError(f"{who}: shapes {a.data.shape} and {b.data.shape} do not broadcast") from None
    if dim is None:
        dims = [i for i, s in enumerate(shape) if s == 3]
        if not dims:
            raise ValueError(f"{who}: no dimension of size 3 in shapes {a.data.shape} and {b.data.shape}")
        dim = dims[0]
    d = _dim(who, dim, len(shape))
    if a.data.shape[d - len(shape) + a.data.ndim] != 3 or b.data.shape[d - len(shape) + b.data.ndim] != 3:
        raise ValueError(f"{who}: dimension {dim} must have size 3 in both inputs, got shapes {a.data.shape} and "
                         f"{b.data.shape}")
    a, b = a.expand(*shape).movedim(d, -1), b.expand(*shape).movedim(d, -1)
    x0, x1, x2 = a[..., 0], a[..., 1], a[..., 2]
    y0, y1, y2 = b[..., 0], b[..., 1], b[..., 2]
    return stack([x1 * y2 - x2 * y1, x2 * y0 - x0 * y2, x0 * y1 - x1 * y0], -1).movedim(-1, d)


def _dim(who: str, dim: Any, ndim: int) -> int:
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral) or not -ndim <= dim < ndim:
        raise ValueError(f"{who}: dim must be an int in [{-ndim}, {ndim - 1}], got {dim!r}")
    return int(dim) % ndim


def vecdot(x: Any, y: Any, *, dim: int = -1) -> Tensor:
    """sum_i x_i y_i along ``dim`` (the two broadcast together)."""
    x, y = _t("linalg.vecdot", x), _t("linalg.vecdot", y)
    try:
        shape = np.broadcast_shapes(x.data.shape, y.data.shape)
    except ValueError:
        raise ValueError(f"linalg.vecdot: shapes {x.data.shape} and {y.data.shape} do not broadcast") from None
    return (x * y).sum(_dim("linalg.vecdot", dim, len(shape)))


def diagonal(A: Any, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The diagonal ``offset`` of the matrices over ``dim1``, ``dim2`` (last axis of the result)."""
    return _t("linalg.diagonal", A).diagonal(offset, dim1, dim2)


def matmul(input: Any, other: Any) -> Tensor:
    """input @ other (torch.matmul's broadcasting rules)."""
    return _t("linalg.matmul", input) @ other


def vander(x: Any, *, N: Optional[int] = None) -> Tensor:
    """The Vandermonde matrices (*, n, N) of x (*, n): columns x^0, x^1, ..., x^(N-1)."""
    x = _t("linalg.vander", x)
    if x.data.ndim < 1:
        raise ValueError(f"linalg.vander: x must have at least 1 axis, got shape {x.data.shape}")
    N = x.data.shape[-1] if N is None else N
    if isinstance(N, bool) or not isinstance(N, numbers.Integral) or N <= 1:
        raise ValueError(f"linalg.vander: N must be an int greater than 1, got {N!r}")
    cols = x.unsqueeze(-1).expand(*x.data.shape, int(N) - 1)
    ones = Tensor(np.ones(x.data.shape + (1,), M.floats(x.data).dtype if x.data.dtype.kind == "b" else x.data.dtype))
    from .tensor import cat
    return cat([ones, cols], -1).cumprod(-1)
