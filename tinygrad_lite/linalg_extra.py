"""The rest of torch.linalg (re-exported through ``linalg_more`` as ``tl.linalg.*``): least
squares, rank, powers, condition numbers, chained products and vector functions, each a
composition of differentiable ops (so gradients, per-sample gradients and the mixing
errors come from those ops):

* ``lstsq``: X = pinv(A) B (torch's gradient for it), with torch's result fields;
* ``matrix_power(A, n)``: A^n by repeated squaring (n < 0: inv(A)^|n|);
* ``cond``: s_max / s_min (p = None or 2) or ||A||_p ||A^{-1}||_p; ``multi_dot``: a chain of
  matmuls; ``cross``: (a_1 b_2 - a_2 b_1, a_2 b_0 - a_0 b_2, a_0 b_1 - a_1 b_0); ``vecdot``:
  sum x_i y_i; ``vander``: the columns x^0, ..., x^(N-1) (a running product).
"""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple, Optional

import numpy as np

from .conventions import ArgumentError, ShapeMismatchError
from .linalg_more import LinAlgError, M, _floats, _info, _mat, _t, _vector_rhs, matrix_rank, pinv
from .ops.base import _AxisError, allocating
from .tensor import Tensor, stack

__all__ = ["lstsq", "matrix_power", "cond", "multi_dot", "cross", "vecdot", "diagonal", "matmul",
           "vander"]


class LstsqResult(NamedTuple):
    solution: Tensor
    residuals: Tensor
    rank: Tensor
    singular_values: Tensor



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
        raise ShapeMismatchError(f"{who}: A of shape {A.data.shape} and B of shape {B.data.shape} do not fit (B "
                                 f"must be (*, {A.data.shape[-2]}, k) or (*, {A.data.shape[-2]}))")
    X = pinv(A, rtol=rcond) @ Bm
    m, n = A.data.shape[-2:]
    rank = matrix_rank(A, rtol=rcond)
    empty = Tensor(np.zeros((0,), M.floats(A.data).dtype))
    res = empty
    if drv != "gelsy" and m > n and bool(np.all(rank.data == n)):
        res = ((A @ X - Bm) ** 2).sum(-2)  # (*, k); a vector B keeps k = 1, as torch
    sv = empty
    if drv in ("gelsd", "gelss"):
        sv = Tensor(M.converged(who, np.linalg.svd, M.floats(A.data), compute_uv=False))
    return LstsqResult(X.squeeze(-1) if vec else X, res, rank if drv != "gels" else Tensor(np.zeros((0,), np.int64)),
                       sv)


# ------------------------------------------------------------------ matrix functions ---------
def matrix_power(A: Any, n: int) -> Tensor:
    """A^n (n an int) by repeated squaring; A^0 = I (zero gradient), A^{-n} = inv(A)^n."""
    return _matrix_power("linalg.matrix_power", A, n)


def _matrix_power(who: str, A: Any, n: int) -> Tensor:
    A = _mat(who, A, True, floats=False)
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{who}: n must be an int, got {n!r}")
    n = int(n)
    if n < 0:
        _floats(who, A)
    if n == 0:
        from .factories import where  # the identity, linked to A with a zero gradient (A's inf/nan ignored)
        eye = np.broadcast_to(np.eye(A.data.shape[-1], dtype=A.data.dtype), A.data.shape).copy()
        return where(Tensor(np.zeros(A.data.shape, bool)), A, Tensor(eye))
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


def cond(A: Any, p: Any = None) -> Tensor:
    """The condition number: s_max / s_min for p None or 2 (s_min / s_max for -2), else
    ||A||_p ||A^{-1}||_p ('fro', 'nuc', inf, -inf, 1, -1; square A, inf where singular)."""
    from .linalg import matrix_norm, svdvals
    A = _mat("linalg.cond", A)
    if p not in (None, 2, -2, "fro", "nuc", 1, -1, np.inf, -np.inf) or isinstance(p, bool):
        raise ArgumentError(f"linalg.cond: p must be None, 2, -2, 'fro', 'nuc', inf, -inf, 1 or -1, got {p!r}")
    if p in ("fro", "nuc"):
        M.square("linalg.cond", A.data)
    if 0 in A.data.shape[-2:]:  # empty matrices: 0, as torch
        return A.sum(axis=(-2, -1)) * 0.0
    if p is None or p in (2, -2):
        s = _svdvals_of("linalg.cond", svdvals, A)
        with np.errstate(divide="ignore"):
            return s[..., 0] / s[..., -1] if p != -2 else s[..., -1] / s[..., 0]
    M.square("linalg.cond", A.data)
    if p == "nuc":  # the singular values of A^{-1} are 1/s_i: sum(s) sum(1/s) (finite but huge when singular)
        s = _svdvals_of("linalg.cond", svdvals, A)
        with np.errstate(divide="ignore"):
            return s.sum(-1) * (1.0 / s).sum(-1)
    from .factories import where
    with np.errstate(invalid="ignore"):
        try:
            out = matrix_norm(A, p) * matrix_norm(M.INV(A, who="linalg.cond"), p)
        except LinAlgError:  # a singular matrix's condition number is inf (the others are computed)
            bad = _info(A.data, False) != 0
            eye = Tensor(np.eye(A.data.shape[-1], dtype=M.floats(A.data).dtype))
            B = where(Tensor(bad[..., None, None]), eye, A)
            out = where(Tensor(bad), float("inf"), matrix_norm(B, p) * matrix_norm(M.INV(B, who="linalg.cond"), p))
    # a NaN (a NaN or infinite entry makes the inverse NaN) is inf, as torch
    return where(Tensor(np.isnan(out.data)), float("inf"), out) if np.isnan(out.data).any() else out


def _svdvals_of(who: str, svdvals: Any, A: Tensor) -> Tensor:
    """``svdvals(A)``; a failure to converge is reported as ``who``'s."""
    try:
        return svdvals(A)
    except LinAlgError as e:
        raise LinAlgError(f"{who}: {str(e).partition(': ')[2]}") from None


def multi_dot(tensors: Any) -> Tensor:
    """A_1 A_2 ... A_k of 2-D matrices (the first may be a 1-D row vector, the last a 1-D
    column vector; the result drops their axes)."""
    who = "linalg.multi_dot"
    if not isinstance(tensors, (list, tuple)) or len(tensors) < 2:
        got = f"{len(tensors)}" if isinstance(tensors, (list, tuple)) else f"a {type(tensors).__name__}"
        raise ArgumentError(f"{who}: expected a list of at least 2 tensors, got {got}")
    ts = [_t(who, x) for x in tensors]
    first, last = ts[0].data.ndim == 1, ts[-1].data.ndim == 1
    ts[0] = ts[0].unsqueeze(0) if first else ts[0]
    ts[-1] = ts[-1].unsqueeze(-1) if last else ts[-1]
    for i, x in enumerate(ts):
        if x.data.ndim != 2:
            raise ShapeMismatchError(f"{who}: tensor {i} must be 2-D (the first and last may be 1-D), got shape "
                             f"{tensors[i].data.shape}")
    for i in range(len(ts) - 1):
        if ts[i].data.shape[1] != ts[i + 1].data.shape[0]:
            raise ShapeMismatchError(f"{who}: tensors {i} and {i + 1} of shapes {tensors[i].data.shape} and "
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
        raise ShapeMismatchError(f"{who}: shapes {a.data.shape} and {b.data.shape} do not broadcast") from None
    if dim is None:
        dims = [i for i, s in enumerate(shape) if s == 3]
        if not dims:
            raise ShapeMismatchError(f"{who}: no dimension of size 3 in shapes {a.data.shape} and {b.data.shape}")
        dim = dims[0]
    d = _dim(who, dim, len(shape))
    if a.data.shape[d - len(shape) + a.data.ndim] != 3 or b.data.shape[d - len(shape) + b.data.ndim] != 3:
        raise ShapeMismatchError(f"{who}: dimension {dim} must have size 3 in both inputs, got shapes "
                                 f"{a.data.shape} and {b.data.shape}")
    a, b = a.expand(*shape).movedim(d, -1), b.expand(*shape).movedim(d, -1)
    x0, x1, x2 = a[..., 0], a[..., 1], a[..., 2]
    y0, y1, y2 = b[..., 0], b[..., 1], b[..., 2]
    return stack([x1 * y2 - x2 * y1, x2 * y0 - x0 * y2, x0 * y1 - x1 * y0], -1).movedim(-1, d)


def _dim(who: str, dim: Any, ndim: int) -> int:
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"{who}: dim must be an int, got {dim!r}")
    if not -ndim <= dim < ndim:
        raise _AxisError(f"{who}: dim {dim} is out of range [{-ndim}, {ndim - 1}]")
    return int(dim) % ndim


def vecdot(x: Any, y: Any, *, dim: int = -1) -> Tensor:
    """sum_i x_i y_i along ``dim`` (the two broadcast together)."""
    x, y = _t("linalg.vecdot", x), _t("linalg.vecdot", y)
    try:
        shape = np.broadcast_shapes(x.data.shape, y.data.shape)
    except ValueError:
        raise ShapeMismatchError(f"linalg.vecdot: shapes {x.data.shape} and {y.data.shape} do not broadcast") from None
    if not shape:  # 0-d inputs: dim 0 or -1 of a single number, as torch
        _dim("linalg.vecdot", dim, 1)
        return x * y
    return (x * y).sum(_dim("linalg.vecdot", dim, len(shape)))


def diagonal(A: Any, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The diagonal ``offset`` of the matrices over ``dim1``, ``dim2`` (last axis of the result)."""
    return _t("linalg.diagonal", A).diagonal(offset, dim1, dim2)


def matmul(input: Any, other: Any) -> Tensor:
    """input @ other (torch.matmul's broadcasting rules)."""
    return _t("linalg.matmul", input) @ other


@allocating("linalg.vander")
def vander(x: Any, *, N: Optional[int] = None) -> Tensor:
    """The Vandermonde matrices (*, n, N) of x (*, n): columns x^0, x^1, ..., x^(N-1)."""
    x = _t("linalg.vander", x)
    if x.data.ndim < 1:
        raise ShapeMismatchError(f"linalg.vander: x must have at least 1 axis, got shape {x.data.shape}")
    N = x.data.shape[-1] if N is None else N
    if isinstance(N, bool) or not isinstance(N, numbers.Integral) or N <= 1:
        raise ArgumentError(f"linalg.vander: N must be an int greater than 1, got {N!r}")
    cols = x.unsqueeze(-1).expand(*x.data.shape, int(N) - 1)
    ones = Tensor(np.ones(x.data.shape + (1,), M.floats(x.data).dtype if x.data.dtype.kind == "b" else x.data.dtype))
    from .tensor import cat
    return cat([ones, cols], -1).cumprod(-1)
