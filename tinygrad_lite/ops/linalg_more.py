"""Dense linear algebra on the last two axes (batched over the leading ones): ``inv``,
``det``, ``logabsdet`` (slogdet's second half), ``solve`` (general or triangular),
``cholesky``, ``cholesky_solve`` and ``matrix_exp``.

With X = A^{-1} and a cotangent G of the output, the vjps are

* inv:        dA = -X^T G X^T;
* det:        dA = G cof(A), cof(A) = det(A) A^{-T} (from an SVD, so exact at singular A too);
* logabsdet:  dA = G A^{-T} (cof(A) / det(A), infinite, at a singular A, as torch);
* solve:      X = A^{-1} B,  dB = A^{-T} G,  dA = -dB X^T (kept on A's triangle when A is
  triangular, as only that triangle is read);
* cholesky:   A = L L^T,  dA = sym(L^{-T} Phi(L^T G) L^{-1}), Phi = lower triangle with its
  diagonal halved, sym(M) = (M + M^T)/2;
* cholesky_solve: X = (L L^T)^{-1} B, dB = (L L^T)^{-1} G, dL = -(dB X^T + X dB^T) L (torch's
  gradient: the derivative of (L L^T)^{-1} B in the whole of L, though the forward reads
  only L's triangle; through ``L.tril()`` it is the exact gradient of what is computed);
* matrix_exp: dA = the upper right block of exp([[A^T, G], [0, A^T]]).

The input of each is a stack of matrices, so a batched input (sample axis 0) must have a
batch axis before its two matrix axes; a 2-D batched matrix (its rows are the samples)
mixes the samples. Singular or non-positive-definite input raises ``LinAlgError`` (a
``RuntimeError``) naming the function and the shape.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..batchstate import BATCHED, MIXED, STAT, mixed, union
from .base import Op, ReadsOutput, const
from .layout import RESHAPE
from .linalg import TRIL, TRIU

_LinAlg = np.linalg.LinAlgError


class LinAlgError(RuntimeError):
    """A matrix function met a singular or non-positive-definite matrix."""


def shape_error(msg: str) -> Exception:
    """A shape error (``conventions.ShapeMismatchError``: a ValueError, and a RuntimeError as
    torch raises) with ``msg``."""
    from ..conventions import ShapeMismatchError
    return ShapeMismatchError(msg)


def T(a: np.ndarray) -> np.ndarray:
    """The transpose of the last two axes."""
    return np.swapaxes(a, -1, -2)


def floats(a: np.ndarray) -> np.ndarray:
    """``a`` in a floating dtype (integers and bools as float64)."""
    return a if a.dtype.kind == "f" else a.astype(np.float64)


def square(who: str, a: np.ndarray) -> None:
    """Refuse (ShapeMismatchError: a ValueError and a RuntimeError) an input that is not a stack of square matrices."""
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise shape_error(f"{who}: A must be a (batch of) square matrices (*, n, n), got shape {a.shape}")


def where_bad(ok: np.ndarray) -> str:
    """Text naming the first failing batch index of a boolean batch array (empty for 2-D)."""
    if ok.ndim == 0:
        return ""
    return f" (batch index {tuple(int(i) for i in np.argwhere(~ok)[0])})"


def singular(who: str, a: np.ndarray, what: str = "singular") -> LinAlgError:
    """The error for a singular (or not positive-definite) input of ``who``."""
    flat = a.reshape((-1,) + a.shape[-2:])
    bad = np.ones(flat.shape[0], bool)
    for i, m in enumerate(flat):
        try:
            np.linalg.cholesky(m) if what != "singular" else np.linalg.inv(m)
            bad[i] = False
        except _LinAlg:
            pass
    ok = ~bad.reshape(a.shape[:-2])
    return LinAlgError(f"{who}: the input of shape {a.shape} is {what}{where_bad(ok) if not ok.all() else ''}")


def converged(who: str, fn: Any, a: np.ndarray, **kw: Any) -> Any:
    """``fn(a, **kw)``, an SVD or eigendecomposition of ``a``; when it fails to converge (NaN
    or infinite entries) a ``LinAlgError`` names ``who`` and the shape, as torch raises."""
    try:
        return fn(a, **kw)
    except _LinAlg:
        raise LinAlgError(f"{who}: the algorithm failed to converge for the input of shape {a.shape} (it holds "
                          "NaN or infinite values, or is too ill-conditioned)") from None


def nan_pivot(L: np.ndarray) -> np.ndarray:
    """Per matrix of a Cholesky factor (*, n, n): the 1-based order of its first NaN diagonal
    entry (0 where none): a pivot that was NaN, where the factorization failed."""
    bad = np.isnan(np.diagonal(L, axis1=-2, axis2=-1))
    if not bad.size:
        return np.zeros(bad.shape[:-1], np.int64)
    return np.where(bad.any(-1), bad.argmax(-1) + 1, 0)


def inv(who: str, a: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(a)
    except _LinAlg:
        raise singular(who, a) from None


def trisolve(a: np.ndarray, b: np.ndarray, lower: bool, unit: bool = False) -> np.ndarray:
    """X with A X = B for triangular A (only its ``lower`` or upper triangle read; a unit
    diagonal assumed with ``unit``), by substitution; a zero on the diagonal gives inf/nan."""
    n = a.shape[-1]
    shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + b.shape[-2:]
    x = np.zeros(shape, np.result_type(a, b))
    order = range(n) if lower else range(n - 1, -1, -1)
    with np.errstate(all="ignore"):
        for i in order:
            part = slice(0, i) if lower else slice(i + 1, n)
            r = b[..., i, :] - np.einsum("...j,...jk->...k", a[..., i, part], x[..., part, :])
            x[..., i, :] = r if unit else r / a[..., i, i, None]
    return x


def mask(g: np.ndarray, tri: Any, unit: bool) -> np.ndarray:
    """``g`` on the triangle that a triangular solve reads (strict with ``unit``)."""
    if tri == "L":
        return np.tril(g, -1 if unit else 0)
    return np.triu(g, 1 if unit else 0)


def matrix_batch(op: str, inputs: tuple, out_batch: int) -> tuple:
    """Batch state of a matrix function: each batched input must carry the sample axis as
    its first batch axis (before its two matrix axes), aligned with the output's."""
    s = union(inputs)
    if s & MIXED:
        return mixed(op, *inputs)
    if s & STAT:
        return mixed(f"op '{op}' applies a matrix function to a batch statistic", *inputs)
    for t in inputs:
        if t._bs & BATCHED and (t._data.ndim - 2 != out_batch or out_batch == 0):
            return mixed(f"op '{op}' of a batched tensor of shape {t._data.shape}: the sample axis is a row of "
                         "the matrix or is broadcast against other batch axes", *inputs)
    return BATCHED, None


class _Matrix(Op):
    """A function of stacks of matrices whose output keeps ``core`` trailing non-batch axes."""

    core = 2

    def batch(self, inputs: tuple, out: np.ndarray, ctx: Any) -> tuple:
        return matrix_batch(self.name, inputs, out.ndim - self.core)


class Inv(ReadsOutput, _Matrix):
    name, rule = "inv", "d inv(A) = -inv(A) dA inv(A); dA = -X^T G X^T"

    def forward(self, a: np.ndarray, who: str = "linalg.inv") -> tuple:
        square(who, a)
        return inv(who, floats(a)), None

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        X = T(node._data)
        return (-(X @ g @ X),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        X = node.mT
        return (-(X @ g @ X),)


def _inv_t(node: Any) -> Any:
    """A^{-T} of the node's input as a Tensor (refused for a singular A: its cofactor matrix
    has no differentiable form here)."""
    a = node._parents[0]
    if not np.all(np.linalg.det(floats(a._data))):
        raise NotImplementedError(f"create_graph=True: op '{node._op.name}' has no differentiable backward at a "
                                  f"singular matrix (input of shape {a._data.shape})")
    return INV(a).mT


def cofactor(a: np.ndarray) -> np.ndarray:
    """d det(A)/dA = the cofactor matrix, det(U) det(V) U diag(prod_{j!=i} s_j) V^T from
    A = U diag(s) V^T: exact for every A (singular ones too)."""
    U, s, Vh = np.linalg.svd(a)
    n = s.shape[-1]
    ones = np.ones(s.shape[:-1] + (1,), s.dtype)
    left = np.cumprod(np.concatenate([ones, s[..., :-1]], -1), -1)  # prod_{j<i} s_j
    right = np.cumprod(np.concatenate([ones, s[..., :0:-1]], -1), -1)[..., ::-1]  # prod_{j>i} s_j
    others = left * right if n else s
    sign = np.linalg.det(U) * np.linalg.det(Vh)
    return sign[..., None, None] * ((U * others[..., None, :]) @ Vh)


def slogdet_of(a: np.ndarray) -> tuple:
    """numpy's (sign, log|det|) of each matrix, quietly: a matrix with a NaN entry has
    log|det| NaN and sign 0, as torch (numpy warns and says sign 1, or finds a zero pivot
    first and says -inf)."""
    a = floats(a)
    with np.errstate(invalid="ignore"):
        sign, logabs = np.linalg.slogdet(a)
    bad = np.isnan(logabs) | np.isnan(a).any((-2, -1))
    return np.where(bad, 0.0, sign), np.where(bad, np.nan, logabs)


class Det(_Matrix):
    name, rule, core = "det", "d det(A)/dA = cof(A) = det(A) A^{-T}", 0

    def forward(self, a: np.ndarray, who: str = "linalg.det") -> tuple:
        square(who, a)
        a = floats(a)
        with np.errstate(invalid="ignore"):  # (a NaN entry: NaN, without numpy's warning)
            d = np.linalg.det(a)
        return np.asarray(np.where(np.isnan(a).any((-2, -1)), np.nan, d), d.dtype), None

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        a = floats(node._parents[0]._data)
        return (np.asarray(g)[..., None, None] * cofactor(a),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        """g det(A) A^{-T} for a well-conditioned A; else (singular or nearly) g cof(A) from
        the svd op, the sign det(U) det(V) a constant (the singular values must be distinct:
        at most one of them 0, rank n - 1)."""
        a = node._parents[0]
        ad = floats(a._data)
        sv = np.linalg.svd(ad, compute_uv=False)
        if sv.size == 0 or np.all(sv[..., -1] > sv[..., 0] * np.sqrt(np.finfo(ad.dtype).eps)):
            return (RESHAPE(g * node, node.shape + (1, 1)) * _inv_t(node),)
        if np.any(sv[..., :-1] - sv[..., 1:] <= sv[..., :1] * np.sqrt(np.finfo(ad.dtype).eps)):
            raise NotImplementedError(f"create_graph=True: op 'det' has no differentiable backward at a matrix with "
                                      f"repeated singular values (rank below n - 1; input of shape {ad.shape})")
        from .linalg_decomp import SVD_, unpack
        from .reduce import others_product
        n = a.shape[-1]
        U, s, Vh = unpack(SVD_(a, full_matrices=False), [(n, n), (1, n), (n, n)])
        sign = np.linalg.det(U._data) * np.linalg.det(Vh._data)
        cof = (U * others_product(s, (s.ndim - 1,))) @ Vh * sign[..., None, None]
        return (RESHAPE(g, node.shape + (1, 1)) * cof,)


class LogAbsDet(_Matrix):
    name, rule, core = "logabsdet", "d log|det(A)|/dA = A^{-T}", 0

    def forward(self, a: np.ndarray, who: str = "linalg.slogdet") -> tuple:
        square(who, a)
        sign, logabs = slogdet_of(a)
        return np.asarray(logabs), (np.asarray(sign), who)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        a = floats(node._parents[0]._data)
        try:
            inv_t = T(np.linalg.inv(a))
        except _LinAlg:  # a singular matrix (log|det| = -inf): cof(A) / det(A), infinite as in torch
            with np.errstate(all="ignore"):
                inv_t = cofactor(a) / np.linalg.det(a)[..., None, None]
        return (np.asarray(g)[..., None, None] * inv_t,)

    def tvjp(self, node: Any, g: Any) -> tuple:
        return (RESHAPE(g, node.shape + (1, 1)) * _inv_t(node),)


class Solve(ReadsOutput, _Matrix):
    """X = A^{-1} B for A (*, n, n) and B (*, n, k), their batch axes broadcast; with ``tri``
    ('L' or 'U') A is triangular (only that triangle read, a unit diagonal with ``unit``)."""

    name, rule = "solve", "X = A^{-1} B: dB = A^{-T} G, dA = -dB X^T"

    def forward(self, a: np.ndarray, b: np.ndarray, tri: Any = None, unit: bool = False,
                who: str = "linalg.solve") -> tuple:
        square(who, a)
        if b.ndim < 2 or b.shape[-2] != a.shape[-1]:
            raise shape_error(f"{who}: A of shape {a.shape} and B of shape {b.shape} do not fit (B must be "
                             f"(*, {a.shape[-1]}, k))")
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise shape_error(f"{who}: the batch axes of A {a.shape} and B {b.shape} do not broadcast") from None
        a, b = floats(a), floats(b)
        if tri is not None:
            return trisolve(a, b, tri == "L", unit), (tri, unit, who)
        try:
            x = np.linalg.solve(np.broadcast_to(a, np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + a.shape[-2:]),
                                b)
        except _LinAlg:
            raise singular(who, a) from None
        return x, (tri, unit, who)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        tri, unit, who = node._ctx
        pa, pb = node._parents
        a = floats(pa._data)
        if tri is None:
            gb = np.linalg.solve(np.broadcast_to(T(a), g.shape[:-2] + a.shape[-2:]), g)
        else:
            gb = trisolve(T(a), g, tri != "L", unit)
        ga = None
        if pa._rg:
            ga = -(gb @ T(node._data))
            if tri is not None:
                ga = mask(ga, tri, unit)
        return ga, gb

    def tvjp(self, node: Any, g: Any) -> tuple:
        tri, unit, who = node._ctx
        pa, pb = node._parents
        flip = None if tri is None else ("U" if tri == "L" else "L")
        gb = self(pa.mT, g, tri=flip, unit=unit, who=who)
        ga = None
        if pa._rg:
            ga = -(gb @ node.mT)
            if tri is not None:
                ga = (TRIL if tri == "L" else TRIU)(ga, diagonal=(-1 if tri == "L" else 1) if unit else 0)
        return ga, gb


class Cholesky(ReadsOutput, _Matrix):
    name, rule = "cholesky", "A = L L^T: dA = sym(L^{-T} Phi(L^T G) L^{-1})"

    def forward(self, a: np.ndarray, who: str = "linalg.cholesky") -> tuple:
        square(who, a)
        a = floats(a)
        try:
            L = np.linalg.cholesky(a)
        except _LinAlg:
            raise singular(who, a, "not positive-definite") from None
        bad = nan_pivot(L)
        if bad.any():  # a NaN pivot fails the factorization, as in torch
            raise LinAlgError(f"{who}: the input of shape {a.shape} is not positive-definite (its leading minor of "
                              f"order {int(bad[bad > 0].flat[0])} is NaN){where_bad(bad == 0)}")
        return L, None

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        L = node._data
        P = np.tril(T(L) @ np.tril(g))
        d = np.einsum("...ii->...i", P)
        d *= 0.5
        M = trisolve(T(L), P, False)  # L^{-T} P
        M = T(trisolve(T(L), T(M), False))  # (L^{-T} M^T)^T = M L^{-1}
        return (0.5 * (M + T(M)),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        Lt = node.mT
        n = node.shape[-1]
        P = TRIL(Lt @ TRIL(g, diagonal=0), diagonal=0) * (1.0 - 0.5 * np.eye(n, dtype=node._data.dtype))
        M = SOLVE(Lt, P, tri="U")
        M = SOLVE(Lt, M.mT, tri="U").mT
        return ((M + M.mT) * 0.5,)


class CholeskySolve(ReadsOutput, _Matrix):
    """X = (L L^T)^{-1} B from a Cholesky factor (L lower, or U upper with A = U^T U); the
    factor's other triangle is not read by the forward."""

    name, rule = "cholesky_solve", "X = (L L^T)^{-1} B: dB = (L L^T)^{-1} G, dL = -(dB X^T + X dB^T) L"

    @staticmethod
    def _solve(L: np.ndarray, b: np.ndarray, upper: bool) -> np.ndarray:
        if upper:
            return trisolve(L, trisolve(T(L), b, True), False)
        return trisolve(T(L), trisolve(L, b, True), False)

    def forward(self, b: np.ndarray, L: np.ndarray, upper: bool = False, who: str = "cholesky_solve") -> tuple:
        square(who, L)
        if b.ndim < 2 or b.shape[-2] != L.shape[-1]:
            raise shape_error(f"{who}: B of shape {b.shape} does not fit the factor of shape {L.shape}")
        try:
            np.broadcast_shapes(L.shape[:-2], b.shape[:-2])
        except ValueError:
            raise shape_error(f"{who}: the batch axes of B {b.shape} and the factor {L.shape} do not "
                                     "broadcast") from None
        return self._solve(floats(L), floats(b), upper), upper

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        upper = node._ctx
        pb, pL = node._parents
        L = floats(pL._data)
        gb = self._solve(L, g, upper)
        gL = None
        if pL._rg:
            C = gb @ T(node._data)
            C = C + T(C)
            gL = -(L @ C) if upper else -(C @ L)
        return gb, gL

    def tvjp(self, node: Any, g: Any) -> tuple:
        upper = node._ctx
        pb, pL = node._parents
        gb = self(g, pL, upper=upper)
        gL = None
        if pL._rg:
            C = gb @ node.mT
            C = C + C.mT
            gL = -(pL @ C) if upper else -(C @ pL)
        return gb, gL


_PADE = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0, 129060195264000.0,
         10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0, 40840800.0, 960960.0, 16380.0, 182.0, 1.0)


def expm(a: np.ndarray) -> np.ndarray:
    """exp(A) of each matrix by scaling and squaring with the [13/13] Pade approximant
    (accurate to working precision when ||A / 2^s||_1 <= 5.37)."""
    b = _PADE
    norm = np.abs(a).sum(-2).max(-1) if a.shape[-1] else np.zeros(a.shape[:-2])
    with np.errstate(all="ignore"):
        s = np.ceil(np.log2(np.maximum(norm, 1e-300) / 5.371920351148152))
    s = np.where(np.isfinite(s) & (s > 0), s, 0).astype(int)  # (nan / inf entries give nan, unscaled)
    A = a / (2.0 ** s)[..., None, None]
    eye = np.eye(a.shape[-1], dtype=a.dtype)
    with np.errstate(all="ignore"):
        A2 = A @ A
        A4 = A2 @ A2
        A6 = A4 @ A2
        U = A @ (A6 @ (b[13] * A6 + b[11] * A4 + b[9] * A2) + b[7] * A6 + b[5] * A4 + b[3] * A2 + b[1] * eye)
        V = A6 @ (b[12] * A6 + b[10] * A4 + b[8] * A2) + b[6] * A6 + b[4] * A4 + b[2] * A2 + b[0] * eye
        try:
            R = np.linalg.solve(V - U, V + U)
        except _LinAlg:  # (only for non-finite input)
            R = np.full(A.shape, np.nan, A.dtype)
        for i in range(int(s.max()) if s.size else 0):
            R = np.where((s > i)[..., None, None], R @ R, R)
    return R.astype(a.dtype, copy=False)


class MatrixExp(_Matrix):
    name, rule = "matrix_exp", "d exp(A)[G] = the upper right block of exp([[A^T, G], [0, A^T]])"

    def forward(self, a: np.ndarray, who: str = "linalg.matrix_exp") -> tuple:
        square(who, a)
        return expm(floats(a)), None

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        a = T(floats(node._parents[0]._data))
        n = a.shape[-1]
        a = np.broadcast_to(a, g.shape[:-2] + (n, n))
        big = np.zeros(g.shape[:-2] + (2 * n, 2 * n), np.result_type(a, g))
        big[..., :n, :n] = a
        big[..., n:, n:] = a
        big[..., :n, n:] = g
        return (expm(big)[..., :n, n:],)

    def tvjp(self, node: Any, g: Any) -> tuple:
        """The same block matrix built with differentiable ops, its exponential by this op."""
        from .layout import CONCAT, EXPAND
        a = node._parents[0].mT
        n = a.shape[-1]
        a = EXPAND(a, g.shape[:-2] + (n, n)) if a.shape != g.shape else a
        zero = const(np.zeros(g.shape, node._data.dtype))
        big = CONCAT([CONCAT([a, g], -1), CONCAT([zero, a], -1)], -2)
        return (self(big)[..., :n, n:],)


INV, DET, LOGABSDET, SOLVE, CHOLESKY, CHOLESKY_SOLVE, MATRIX_EXP = (Inv(), Det(), LogAbsDet(), Solve(), Cholesky(),
                                                                   CholeskySolve(), MatrixExp())
ALL = (INV, DET, LOGABSDET, SOLVE, CHOLESKY, CHOLESKY_SOLVE, MATRIX_EXP)
