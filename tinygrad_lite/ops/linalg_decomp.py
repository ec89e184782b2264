"""Matrix decompositions with several outputs (``qr``, ``svd``, ``eigh``) and ``pinv``.

An op has one output, so a decomposition's op returns its factors packed side by side in
the last axis of one array (``(*, size_1 + size_2 + ...)``, each factor flattened); the
functions in ``linalg_more`` slice and reshape them back into Tensors, and the vjp unpacks
the cotangent the same way (a factor that no loss used gets a zero cotangent). The vjps,
for real matrices, are

* qr (m >= n):  M = R G_R^T - G_Q^T Q,  dA = (G_Q + Q copyltu(M)) R^{-T}, copyltu(M) the
  symmetric matrix with M's lower triangle; for m < n, A = [X | Y] splits into the square
  case for X (with G_Q + Y G_{R_Y}^T) and dY = Q G_{R_Y};
* svd:  A = U diag(s) V^T, E_ij = s_j^2 - s_i^2,
  dA = U [(skew(U^T G_U) s_j + s_i skew(V^T G_V)) / E + diag(G_s)] V^T
  + (I - U U^T) G_U diag(1/s) V^T + U diag(1/s) G_V^T (I - V V^T), skew(M) = M - M^T
  (only the first min(m, n) singular vectors take part: extra columns of a full U or V get
  no gradient);
* eigh: A = V diag(w) V^T, E_ij = w_j - w_i, dA = V [(skew(V^T G_V) / 2) / E + diag(G_w)] V^T;
* pinv:  the derivative of the pseudo-inverse at constant rank (Golub and Pereyra).

The singular-vector and eigenvector terms divide by E: for repeated singular values /
eigenvalues they are inf or nan (the vectors are not unique there), as in torch; when the
loss reads only ``S`` / the eigenvalues those terms are skipped and the gradient is finite.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import ReadsOutput
from .linalg_more import T, _Matrix, converged, floats, shape_error, square, trisolve


def pack(parts: list, batch: tuple) -> np.ndarray:
    """The factors (each ``(*batch, ...)``) flattened and joined along a last axis."""
    return np.concatenate([p.reshape(batch + (int(np.prod(p.shape[len(batch):], dtype=np.int64)),))
                           for p in parts], -1)


def unpack(flat: Any, shapes: list) -> list:
    """The factors of ``shapes`` (their trailing axes) from a packed array (or cotangent); on
    a Tensor (a ``create_graph`` backward) the slices are differentiable."""
    out, at = [], 0
    for s in shapes:
        n = int(np.prod(s, dtype=np.int64))
        out.append(flat[..., at:at + n].reshape(flat.shape[:-1] + tuple(s)))
        at += n
    return out


class _Packed(_Matrix):
    core = 1


def _live(t: Any) -> bool:
    """Whether a cotangent block can contribute: non-zero, or a function of something."""
    return bool(t._rg or np.any(t._data))


def copyltu(M: np.ndarray) -> np.ndarray:
    return np.tril(M) + T(np.tril(M, -1))


def qr_square_grad(Q: np.ndarray, R: np.ndarray, gQ: np.ndarray, gR: np.ndarray) -> np.ndarray:
    """dA for A = Q R with R square (m >= n): (G_Q + Q copyltu(R G_R^T - G_Q^T Q)) R^{-T}."""
    M = R @ T(gR) - T(gQ) @ Q
    rhs = gQ + Q @ copyltu(M)
    return T(trisolve(R, T(rhs), False))  # rhs R^{-T} = (R^{-1} rhs^T)^T


class QR(ReadsOutput, _Packed):
    name, rule = "qr", "A = Q R: dA = (G_Q + Q copyltu(R G_R^T - G_Q^T Q)) R^{-T}"

    def forward(self, a: np.ndarray, mode: str = "reduced", who: str = "linalg.qr") -> tuple:
        if a.ndim < 2:
            raise shape_error(f"{who}: A must have at least 2 axes (matrices), got shape {a.shape}")
        a = floats(a)
        m, n = a.shape[-2:]
        Q, R = np.linalg.qr(a, mode="complete" if mode == "complete" else "reduced")
        if mode == "r":
            Q = np.zeros(a.shape[:-2] + (0,), a.dtype)
            return pack([Q, R], a.shape[:-2]), ([(0,), R.shape[-2:]], mode, who)
        return pack([Q, R], a.shape[:-2]), ([Q.shape[-2:], R.shape[-2:]], mode, who)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        shapes, mode, who = node._ctx
        if mode == "r":
            raise RuntimeError(f"{who}: the gradient of mode='r' is not defined (Q is not computed); use "
                               "mode='reduced'")
        Q, R = unpack(node._data, shapes)
        gQ, gR = unpack(g, shapes)
        m, n = Q.shape[-2], R.shape[-1]
        if mode == "complete" and m > n:
            raise RuntimeError(f"{who}: the gradient of mode='complete' is not defined when A has more rows than "
                               f"columns (A of {m} x {n}); use mode='reduced'")
        if m >= n:
            return (qr_square_grad(Q, R, gQ, gR),)
        gX = qr_square_grad(Q, R[..., :m], gQ + node._parents[0]._data[..., m:] @ T(gR[..., m:]), gR[..., :m])
        gY = Q @ gR[..., m:]
        return (np.concatenate([gX, np.broadcast_to(gY, gX.shape[:-1] + gY.shape[-1:])], -1),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        """The same formulas with Tensor ops (after the same refusals as the vjp)."""
        from .layout import CONCAT, EXPAND
        self.vjp(node, np.zeros(node._data.shape, node._data.dtype))  # (mode='r' / 'complete' refusals)
        shapes = node._ctx[0]
        Q, R = unpack(node, shapes)
        gQ, gR = unpack(g, shapes)
        m, n = Q.shape[-2], R.shape[-1]
        if m >= n:
            return (tqr_square_grad(Q, R, gQ, gR),)
        a = node._parents[0]
        gX = tqr_square_grad(Q, R[..., :m], gQ + a[..., m:] @ gR[..., m:].mT, gR[..., :m])
        gY = Q @ gR[..., m:]
        if gY.shape[:-1] != gX.shape[:-1]:
            gY = EXPAND(gY, gX.shape[:-1] + gY.shape[-1:])
        return (CONCAT([gX, gY], -1),)


def tqr_square_grad(Q: Any, R: Any, gQ: Any, gR: Any) -> Any:
    """``qr_square_grad`` with Tensor ops: (G_Q + Q copyltu(M)) R^{-T} by a triangular solve."""
    from .linalg import TRIL
    from .linalg_more import SOLVE
    M = R @ gR.mT - gQ.mT @ Q
    rhs = gQ + Q @ (TRIL(M, diagonal=0) + TRIL(M, diagonal=-1).mT)
    return SOLVE(R, rhs.mT, tri="U").mT


def svd_grad(U: np.ndarray, s: np.ndarray, Vh: np.ndarray, gU: np.ndarray, gs: np.ndarray,
             gVh: np.ndarray) -> np.ndarray:
    """dA of the reduced SVD A = U diag(s) Vh (see the module docstring)."""
    m, n = U.shape[-2], Vh.shape[-1]
    useU, useV = bool(np.any(gU)), bool(np.any(gVh))
    if not useU and not useV:
        return (U * gs[..., None, :]) @ Vh
    S2 = s * s
    with np.errstate(all="ignore"):
        E = S2[..., None, :] - S2[..., :, None]
        k = s.shape[-1]
        E[..., np.arange(k), np.arange(k)] = 1.0
        inner = 0.0
        if useU:
            UgU = T(U) @ gU
            inner = inner + (UgU - T(UgU)) * s[..., None, :]
        if useV:
            VgV = Vh @ T(gVh)
            inner = inner + s[..., :, None] * (VgV - T(VgV))
        gA = inner / E + gs[..., :, None] * np.eye(k)
        if m > n and useU:
            gA = U @ gA
            gUs = gU / s[..., None, :]
            gA = (gA + gUs - U @ (T(U) @ gUs)) @ Vh
        elif m < n and useV:
            gA = gA @ Vh
            sgV = gVh / s[..., :, None]
            gA = U @ (gA + sgV - (sgV @ T(Vh)) @ Vh)
        else:
            gA = U @ gA @ Vh
    return gA


class SVD(ReadsOutput, _Packed):
    name, rule = "svd", "A = U diag(s) V^T: dA = U [(skew(U^T G_U) s + s skew(V^T G_V)) / E + diag(G_s)] V^T + ..."

    def forward(self, a: np.ndarray, full_matrices: bool = True, who: str = "linalg.svd") -> tuple:
        if a.ndim < 2:
            raise shape_error(f"{who}: A must have at least 2 axes (matrices), got shape {a.shape}")
        a = floats(a)
        U, s, Vh = converged(who, np.linalg.svd, a, full_matrices=full_matrices)
        return pack([U, s[..., None, :], Vh], a.shape[:-2]), [U.shape[-2:], (1, s.shape[-1]), Vh.shape[-2:]]

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        shapes = node._ctx
        U, s, Vh = unpack(node._data, shapes)
        gU, gs, gVh = unpack(g, shapes)
        k = s.shape[-1]
        s, gs = s[..., 0, :], gs[..., 0, :]
        return (svd_grad(U[..., :k], s, Vh[..., :k, :], gU[..., :k], gs, gVh[..., :k, :]),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        shapes = node._ctx
        U, s, Vh = unpack(node, shapes)
        gU, gs, gVh = unpack(g, shapes)
        k = s.shape[-1]
        return (tsvd_grad(U[..., :k], s[..., 0, :], Vh[..., :k, :], gU[..., :k], gs[..., 0, :], gVh[..., :k, :]),)


def tsvd_grad(U: Any, s: Any, Vh: Any, gU: Any, gs: Any, gVh: Any) -> Any:
    """``svd_grad`` with Tensor ops (the factors are slices of the op's output, so the result
    is differentiable again)."""
    m, n, k = U.shape[-2], Vh.shape[-1], s.shape[-1]
    useU, useV = _live(gU), _live(gVh)
    if not useU and not useV:
        return (U * gs.unsqueeze(-2)) @ Vh
    eye = np.eye(k, dtype=s._data.dtype)
    S2 = s * s
    E = S2.unsqueeze(-2) - S2.unsqueeze(-1) + eye  # (1 on the diagonal, where the numerators are 0)
    inner = None
    if useU:
        UgU = U.mT @ gU
        inner = (UgU - UgU.mT) * s.unsqueeze(-2)
    if useV:
        VgV = Vh @ gVh.mT
        term = s.unsqueeze(-1) * (VgV - VgV.mT)
        inner = term if inner is None else inner + term
    gA = inner / E + gs.unsqueeze(-1) * eye
    if m > n and useU:
        gUs = gU / s.unsqueeze(-2)
        return (U @ gA + gUs - U @ (U.mT @ gUs)) @ Vh
    if m < n and useV:
        sgV = gVh / s.unsqueeze(-1)
        return U @ (gA @ Vh + sgV - (sgV @ Vh.mT) @ Vh)
    return U @ gA @ Vh


class Eigh(ReadsOutput, _Packed):
    name, rule = "eigh", "A = V diag(w) V^T: dA = V [(skew(V^T G_V) / 2) / E + diag(G_w)] V^T"

    def forward(self, a: np.ndarray, UPLO: str = "L", who: str = "linalg.eigh") -> tuple:
        square(who, a)
        w, V = converged(who, np.linalg.eigh, floats(a), UPLO=UPLO)
        return pack([w[..., None, :], V], a.shape[:-2]), [(1, w.shape[-1]), V.shape[-2:]]

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        w, V = unpack(node._data, node._ctx)
        gw, gV = unpack(g, node._ctx)
        w, gw = w[..., 0, :], gw[..., 0, :]
        n = w.shape[-1]
        inner = gw[..., :, None] * np.eye(n)
        if np.any(gV):
            with np.errstate(all="ignore"):
                VgV = T(V) @ gV
                E = w[..., None, :] - w[..., :, None]
                E[..., np.arange(n), np.arange(n)] = 1.0
                off = 0.5 * (VgV - T(VgV)) / E
                off[..., np.arange(n), np.arange(n)] = 0.0
                inner = inner + off
        return (V @ inner @ T(V),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        w, V = unpack(node, node._ctx)
        gw, gV = unpack(g, node._ctx)
        w, gw = w[..., 0, :], gw[..., 0, :]
        n = w.shape[-1]
        eye = np.eye(n, dtype=w._data.dtype)
        inner = gw.unsqueeze(-1) * eye
        if _live(gV):
            VgV = V.mT @ gV
            E = w.unsqueeze(-2) - w.unsqueeze(-1) + eye
            inner = inner + (VgV - VgV.mT) * 0.5 / E * (1.0 - eye)
        return (V @ inner @ V.mT,)


def pinv_of(a: np.ndarray, atol: Any, rtol: Any, hermitian: bool, who: str = "linalg.pinv") -> np.ndarray:
    """The pseudo-inverse V diag(1/s_i) U^T over the s_i > max(atol, rtol * s_max)."""
    m, n = a.shape[-2:]
    if rtol is None:
        rtol = np.finfo(a.dtype).eps * max(m, n) if (atol is None or np.all(np.asarray(atol) <= 0)) else 0.0
    atol = 0.0 if atol is None else atol
    if hermitian:
        w, V = converged(who, np.linalg.eigh, a)
        s, U, Vh = np.abs(w), V * np.sign(w)[..., None, :], T(V)
        order = np.argsort(-s, -1)
        s = np.take_along_axis(s, order, -1)
        U = np.take_along_axis(U, order[..., None, :], -1)
        Vh = np.take_along_axis(Vh, order[..., :, None], -2)
    else:
        U, s, Vh = converged(who, np.linalg.svd, a, full_matrices=False)
    smax = s[..., :1] if s.shape[-1] else np.zeros(s.shape[:-1] + (1,), s.dtype)
    cut = np.maximum(np.asarray(atol)[..., None], np.asarray(rtol)[..., None] * smax)
    keep = s > cut
    with np.errstate(divide="ignore"):
        inv_s = np.where(keep, 1.0 / np.where(keep, s, 1.0), 0.0)
    return (T(Vh) * inv_s[..., None, :]) @ T(U)


class Pinv(ReadsOutput, _Matrix):
    name, rule = "pinv", "d pinv(A): the constant-rank derivative of the pseudo-inverse (Golub-Pereyra)"

    def forward(self, a: np.ndarray, atol: Any = None, rtol: Any = None, hermitian: bool = False,
                who: str = "linalg.pinv") -> tuple:
        if a.ndim < 2:
            raise shape_error(f"{who}: A must have at least 2 axes (matrices), got shape {a.shape}")
        return pinv_of(floats(a), atol, rtol, hermitian, who).astype(floats(a).dtype, copy=False), None

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        P = node._data  # (n, m)
        A = floats(node._parents[0]._data)
        m, n = A.shape[-2:]
        Gt = T(g)
        if m <= n:
            K = Gt @ P
            KPh = K @ T(P)
            gA = -T(P @ K) + KPh - (A @ P) @ KPh + (T(P) @ P) @ (Gt - K @ A)
        else:
            K = P @ Gt
            PhK = T(P) @ K
            gA = -T(K @ P) + PhK - PhK @ (P @ A) + (Gt - A @ K) @ (P @ T(P))
        return (gA,)

    def tvjp(self, node: Any, g: Any) -> tuple:
        """The same formula on Tensors (P = this node, itself differentiable again)."""
        P, A, Gt = node, node._parents[0], g.mT
        m, n = A.shape[-2:]
        if m <= n:
            K = Gt @ P
            KPh = K @ P.mT
            return (-(P @ K).mT + KPh - (A @ P) @ KPh + (P.mT @ P) @ (Gt - K @ A),)
        K = P @ Gt
        PhK = P.mT @ K
        return (-(K @ P).mT + PhK - PhK @ (P @ A) + (Gt - A @ K) @ (P @ P.mT),)


QR_, SVD_, EIGH, PINV = QR(), SVD(), Eigh(), Pinv()
ALL = (QR_, SVD_, EIGH, PINV)
