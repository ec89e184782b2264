"""Dense linear algebra (``tl.linalg.det / inv / solve / cholesky / qr / svd / eigh / pinv /
lstsq / matrix_exp ...`` and torch's top-level spellings ``tl.det``, ``tl.svd``, ...): values
and gradients against torch in float64, finite differences, batch axes, per-sample
gradients and the mixing error, and bad input."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from test_tensor_api import check_each_sample_alone, check_mixing

import tinygrad_lite as tl
from tinygrad_lite import Tensor

torch = pytest.importorskip("torch")
RNG = np.random.default_rng


def spd(rng: np.random.Generator, *shape: int) -> np.ndarray:
    a = rng.standard_normal(shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def rnd(seed: int, *shape: int) -> np.ndarray:
    return RNG(seed).standard_normal(shape)


def tri(seed: int, *shape: int, upper: bool = False) -> np.ndarray:
    a = rnd(seed, *shape) + 3 * np.eye(shape[-1])
    return np.triu(a) if upper else np.tril(a)


def _outs(r: Any) -> list:
    return list(r) if isinstance(r, (tuple, list)) else [r]


def compare(fn: Callable, tfn: Callable, arrays: list, post: Callable = _outs, rtol: float = 1e-9,
            atol: float = 1e-11, seed: int = 0) -> None:
    """fn(*tl tensors) and tfn(*torch tensors) give the same values (through ``post``, which
    keeps what is well defined) and the same gradients of a random weighting of them."""
    xs = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    ts = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    got, want = post(fn(*xs)), post(tfn(*ts))
    assert len(got) == len(want)
    rng = RNG(seed + 100)
    ws = [rng.standard_normal(w.shape) for w in want]
    for g, w in zip(got, want):
        assert g.shape == tuple(w.shape), (g.shape, w.shape)
        np.testing.assert_allclose(g.numpy(), w.detach().numpy(), rtol=rtol, atol=atol)
    live = [i for i, w in enumerate(want) if w.requires_grad]
    assert live
    sum((got[i] * Tensor(ws[i])).sum() for i in live).backward()
    sum((want[i] * torch.tensor(ws[i])).sum() for i in live).backward()
    for x, t in zip(xs, ts):
        if t.grad is None:
            assert x.grad is None or not np.any(x.grad)
        else:
            np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=rtol, atol=atol)


def svd_post(r: Any) -> list:
    """What the SVD fixes: S, and U, V up to each singular pair's sign (u_i v_i^T, u_i^2)."""
    U, S, Vh = r
    k = S.shape[-1]
    U, Vh = U[..., :k], Vh[..., :k, :]
    return [S, U @ Vh, U ** 2, Vh ** 2, (U * S[..., None, :]) @ Vh]


def eigh_post(r: Any) -> list:
    w, V = r
    return [w, V ** 2, V[..., :2] @ V[..., :2].mT]


def qr_post(r: Any) -> list:
    Q, R = r
    return [Q, R]


L = tl.linalg
T = torch.linalg
CASES = [  # name, tl function, torch function, inputs, post
    ("det", L.det, T.det, [rnd(1, 2, 3, 3)], _outs),
    ("det of a singular matrix", L.det, T.det, [np.array([[1.0, 2, 3], [4, 5, 6], [5, 7, 9]])], _outs),
    ("det 1x1 and 0-batch", L.det, T.det, [rnd(2, 4, 1, 1)], _outs),
    ("slogdet", L.slogdet, T.slogdet, [rnd(3, 3, 4, 4)], _outs),
    ("inv", L.inv, T.inv, [rnd(4, 2, 3, 3)], _outs),
    ("solve", L.solve, T.solve, [rnd(5, 2, 3, 3), rnd(6, 2, 3, 2)], _outs),
    ("solve broadcast", L.solve, T.solve, [rnd(5, 1, 3, 3), rnd(6, 4, 3, 2)], _outs),
    ("solve broadcast B", L.solve, T.solve, [rnd(5, 2, 3, 3), rnd(6, 3, 2)], _outs),
    ("solve vector", L.solve, T.solve, [rnd(7, 2, 3, 3), rnd(8, 2, 3)], _outs),
    ("solve 1-D vector", L.solve, T.solve, [rnd(7, 3, 3), rnd(8, 3)], _outs),
    ("solve left=False", lambda a, b: L.solve(a, b, left=False), lambda a, b: T.solve(a, b, left=False),
     [rnd(9, 2, 3, 3), rnd(10, 2, 4, 3)], _outs),
    ("cholesky", L.cholesky, T.cholesky, [spd(RNG(11), 2, 4, 4)], _outs),
    ("cholesky of a non-symmetric input", L.cholesky, T.cholesky, [spd(RNG(11), 4, 4) + np.triu(rnd(1, 4, 4), 1)],
     _outs),
    ("cholesky upper", lambda a: L.cholesky(a, upper=True), lambda a: T.cholesky(a, upper=True),
     [spd(RNG(12), 3, 3) + np.tril(rnd(2, 3, 3), -1)], _outs),
    ("qr tall", L.qr, T.qr, [rnd(13, 2, 5, 3)], qr_post),
    ("qr wide", L.qr, T.qr, [rnd(14, 2, 3, 5)], qr_post),
    ("qr square complete", lambda a: L.qr(a, "complete"), lambda a: T.qr(a, "complete"), [rnd(15, 4, 4)], qr_post),
    ("qr wide complete", lambda a: L.qr(a, "complete"), lambda a: T.qr(a, "complete"), [rnd(15, 3, 4)], qr_post),
    ("svd reduced tall", lambda a: L.svd(a, full_matrices=False), lambda a: T.svd(a, full_matrices=False),
     [rnd(16, 2, 5, 3)], svd_post),
    ("svd reduced wide", lambda a: L.svd(a, full_matrices=False), lambda a: T.svd(a, full_matrices=False),
     [rnd(17, 2, 3, 5)], svd_post),
    ("svd full", L.svd, T.svd, [rnd(18, 4, 3)], svd_post),
    ("svd square", L.svd, T.svd, [rnd(18, 2, 3, 3)], svd_post),
    ("svd S only", lambda a: L.svd(a)[1], lambda a: T.svd(a)[1], [rnd(19, 3, 4)], _outs),
    ("eigh", L.eigh, T.eigh, [spd(RNG(20), 2, 4, 4) - 5 * np.eye(4)], eigh_post),
    ("eigh UPLO=U", lambda a: L.eigh(a, "U"), lambda a: T.eigh(a, "U"), [rnd(21, 4, 4)], eigh_post),
    ("eigvalsh", L.eigvalsh, T.eigvalsh, [rnd(22, 2, 3, 3)], _outs),
    ("pinv tall", L.pinv, T.pinv, [rnd(23, 2, 5, 3)], _outs),
    ("pinv wide", L.pinv, T.pinv, [rnd(24, 3, 5)], _outs),
    ("pinv hermitian", lambda a: L.pinv(a, hermitian=True), lambda a: T.pinv(a, hermitian=True),
     [spd(RNG(25), 4, 4) - 6 * np.eye(4)], _outs),
    ("lstsq", lambda a, b: L.lstsq(a, b).solution, lambda a, b: T.lstsq(a, b).solution,
     [rnd(26, 2, 5, 3), rnd(27, 2, 5, 2)], _outs),
    ("lstsq vector", lambda a, b: L.lstsq(a, b)[0], lambda a, b: T.lstsq(a, b)[0], [rnd(26, 5, 3), rnd(27, 5)],
     _outs),
    ("lstsq gelsd", lambda a, b: L.lstsq(a, b, driver="gelsd")[:2] + (L.lstsq(a, b, driver="gelsd")[3],),
     lambda a, b: T.lstsq(a, b, driver="gelsd")[:2] + (T.lstsq(a, b, driver="gelsd")[3],),
     [rnd(26, 5, 3), rnd(27, 5, 2)], _outs),
    ("matrix_power 3", lambda a: L.matrix_power(a, 3), lambda a: T.matrix_power(a, 3), [rnd(28, 2, 3, 3)], _outs),
    ("matrix_power 6", lambda a: L.matrix_power(a, 6), lambda a: T.matrix_power(a, 6), [rnd(28, 3, 3)], _outs),
    ("matrix_power -2", lambda a: L.matrix_power(a, -2), lambda a: T.matrix_power(a, -2), [rnd(29, 3, 3)], _outs),
    ("matrix_exp", L.matrix_exp, T.matrix_exp, [rnd(30, 2, 3, 3)], _outs),
    ("matrix_exp large norm", L.matrix_exp, T.matrix_exp, [3 * rnd(31, 4, 4)], _outs),
    ("matrix_exp small", L.matrix_exp, T.matrix_exp, [1e-3 * rnd(31, 4, 4)], _outs),
    ("multi_dot", lambda a, b, c: L.multi_dot([a, b, c]), lambda a, b, c: T.multi_dot([a, b, c]),
     [rnd(32, 3), rnd(33, 3, 4), rnd(34, 4)], _outs),
    ("multi_dot matrices", lambda a, b, c: L.multi_dot((a, b, c)), lambda a, b, c: T.multi_dot((a, b, c)),
     [rnd(32, 2, 3), rnd(33, 3, 4), rnd(34, 4, 5)], _outs),
    ("cross", L.cross, T.cross, [rnd(35, 4, 3), rnd(36, 1, 3)], _outs),
    ("cross dim", lambda a, b: L.cross(a, b, dim=0), lambda a, b: T.cross(a, b, dim=0),
     [rnd(35, 3, 2), rnd(36, 3, 2)], _outs),
    ("vecdot", L.vecdot, T.vecdot, [rnd(37, 2, 4), rnd(38, 4)], _outs),
    ("solve_triangular lower", lambda a, b: L.solve_triangular(a, b, upper=False),
     lambda a, b: T.solve_triangular(a, b, upper=False), [rnd(39, 2, 3, 3) + 3 * np.eye(3), rnd(40, 2, 3, 2)],
     _outs),
    ("solve_triangular upper right", lambda a, b: L.solve_triangular(a, b, upper=True, left=False),
     lambda a, b: T.solve_triangular(a, b, upper=True, left=False), [rnd(41, 3, 3) + 3 * np.eye(3), rnd(42, 4, 3)],
     _outs),
    ("solve_triangular unit", lambda a, b: L.solve_triangular(a, b, upper=True, unitriangular=True),
     lambda a, b: T.solve_triangular(a, b, upper=True, unitriangular=True), [rnd(43, 3, 3), rnd(44, 3, 2)], _outs),
    ("cond", L.cond, T.cond, [rnd(45, 2, 3, 3)], _outs),
    ("cond -2", lambda a: L.cond(a, -2), lambda a: T.cond(a, -2), [rnd(45, 3, 4)], _outs),
    # (torch's own cond backward fails for these p: its values are compared, the gradient with its formula)
    ("cond fro", lambda a: L.cond(a, "fro"), lambda a: T.matrix_norm(a, "fro") * T.matrix_norm(T.inv(a), "fro"),
     [rnd(46, 3, 3)], _outs),
    ("cond 1", lambda a: L.cond(a, 1), lambda a: T.matrix_norm(a, 1) * T.matrix_norm(T.inv(a), 1), [rnd(47, 2, 3, 3)],
     _outs),
    ("diagonal", lambda a: L.diagonal(a, offset=1), lambda a: T.diagonal(a, offset=1), [rnd(48, 2, 3, 4)], _outs),
    ("matmul", L.matmul, T.matmul, [rnd(49, 2, 3, 4), rnd(50, 4)], _outs),
    ("vander", L.vander, T.vander, [rnd(51, 2, 4)], _outs),
    ("vander N", lambda x: L.vander(x, N=3), lambda x: T.vander(x, N=3), [np.array([0.0, 1.5, -2.0])], _outs),
    ("inv_ex", lambda a: L.inv_ex(a)[0], lambda a: T.inv_ex(a)[0], [rnd(52, 2, 3, 3)], _outs),
    ("cholesky_ex", lambda a: L.cholesky_ex(a)[0], lambda a: T.cholesky_ex(a)[0], [spd(RNG(53), 2, 3, 3)], _outs),
    ("solve_ex", lambda a, b: L.solve_ex(a, b)[0], lambda a, b: T.solve_ex(a, b)[0], [rnd(54, 3, 3), rnd(55, 3, 2)],
     _outs),
]


@pytest.mark.parametrize("name,fn,tfn,arrays,post", CASES, ids=[c[0] for c in CASES])
def test_linalg_values_and_gradients_as_torch(name: str, fn: Callable, tfn: Callable, arrays: list,
                                              post: Callable) -> None:
    compare(fn, tfn, arrays, post)


@pytest.mark.parametrize("p", ["fro", "nuc", 1, -1, float("inf"), -float("inf"), 2, -2, None])
def test_cond_values_as_torch(p: Any) -> None:
    a = rnd(56, 2, 3, 3)
    np.testing.assert_allclose(L.cond(Tensor(a), p).numpy(), T.cond(torch.tensor(a), p).numpy(), rtol=1e-10)
