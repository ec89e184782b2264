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
    ("lstsq wide", lambda a, b: L.lstsq(a, b).solution, lambda a, b: T.lstsq(a, b).solution,
     [rnd(26, 2, 3, 5), rnd(27, 2, 3, 2)], _outs),
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
    ("cond nuc", lambda a: L.cond(a, "nuc"), lambda a: T.cond(a, "nuc"), [rnd(47, 2, 3, 3)], _outs),
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


def test_det_of_a_singular_matrix_has_the_cofactor_gradient() -> None:
    """A rank-2 3x3 matrix (row 3 = row 1 + row 2): det = 0 and d det / dA = the cofactor
    matrix, which is not zero at rank n-1 (worked out by 2x2 minors, exactly). torch's
    gradient here depends on its LU's rounding (zeros on some CPUs), so it is not the oracle."""
    a = np.array([[1.0, 2, 3], [4, 5, 6], [5, 7, 9]])
    x = Tensor(a.copy(), requires_grad=True)
    d = L.det(x)
    assert abs(float(d.item())) < 1e-12
    (d * 1.5).backward()
    cof = np.array([[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(a, i, 0), j, 1)) for j in range(3)]
                    for i in range(3)])
    np.testing.assert_allclose(cof, [[3, -6, 3], [3, -6, 3], [-3, 6, -3]], atol=1e-12)  # (the 2x2 minors)
    np.testing.assert_allclose(x.grad, 1.5 * cof, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("p", ["fro", "nuc", 1, -1, float("inf"), -float("inf"), 2, -2, None])
def test_cond_values_as_torch(p: Any) -> None:
    a = rnd(56, 2, 3, 3)
    np.testing.assert_allclose(L.cond(Tensor(a), p).numpy(), T.cond(torch.tensor(a), p).numpy(), rtol=1e-10)


def torch_svd_post(r: Any) -> list:
    U, S, V = r
    k = S.shape[-1]
    return svd_post((U, S, V[..., :k].mT))


TORCH_LEVEL = [  # torch's top-level spellings and the Tensor methods
    ("det", tl.det, torch.det, [rnd(60, 2, 3, 3)], _outs),
    ("logdet", tl.logdet, torch.logdet, [spd(RNG(61), 2, 3, 3)], _outs),
    ("logdet negative", tl.logdet, torch.logdet, [np.diag([1.0, -2.0, 3.0])], lambda r: [r.isnan()]),
    ("slogdet", tl.slogdet, torch.slogdet, [rnd(62, 3, 3)], _outs),
    ("inverse", tl.inverse, torch.inverse, [rnd(63, 2, 3, 3)], _outs),
    ("cholesky", tl.cholesky, torch.cholesky, [spd(RNG(64), 3, 3)], _outs),
    ("cholesky upper", lambda a: tl.cholesky(a, upper=True), lambda a: torch.cholesky(a, upper=True),
     [spd(RNG(65), 2, 3, 3)], _outs),
    ("cholesky_solve", tl.cholesky_solve, torch.cholesky_solve,
     [rnd(66, 2, 3, 2), np.linalg.cholesky(spd(RNG(67), 2, 3, 3))], _outs),
    ("cholesky_solve upper, broadcast", lambda b, u: tl.cholesky_solve(b, u, upper=True),
     lambda b, u: torch.cholesky_solve(b, u, upper=True),
     [rnd(68, 2, 3, 2), np.swapaxes(np.linalg.cholesky(spd(RNG(69), 3, 3)), -1, -2)], _outs),
    ("cholesky_inverse", tl.cholesky_inverse, torch.cholesky_inverse, [np.linalg.cholesky(spd(RNG(70), 3, 3))],
     _outs),
    ("cholesky_inverse upper", lambda u: tl.cholesky_inverse(u, upper=True),
     lambda u: torch.cholesky_inverse(u, upper=True), [np.linalg.cholesky(spd(RNG(71), 3, 3)).T], _outs),
    ("qr", tl.qr, torch.qr, [rnd(72, 2, 4, 3)], qr_post),
    ("qr some=False", lambda a: tl.qr(a, some=False), lambda a: torch.qr(a, some=False), [rnd(73, 3, 3)], qr_post),
    ("svd", tl.svd, torch.svd, [rnd(74, 2, 4, 3)], torch_svd_post),
    ("svd wide", tl.svd, torch.svd, [rnd(74, 3, 5)], torch_svd_post),
    ("svd some=False", lambda a: tl.svd(a, some=False), lambda a: torch.svd(a, some=False), [rnd(75, 4, 3)],
     torch_svd_post),
    ("svd compute_uv=False", lambda a: tl.svd(a, compute_uv=False), lambda a: torch.svd(a, compute_uv=False),
     [rnd(76, 2, 4, 3)], _outs),
    ("pinverse", tl.pinverse, torch.pinverse, [rnd(77, 4, 3)], _outs),
    ("matrix_power", lambda a: tl.matrix_power(a, 5), lambda a: torch.matrix_power(a, 5), [rnd(78, 2, 3, 3)], _outs),
    ("matrix_power 0", lambda a: tl.matrix_power(a, 0), lambda a: torch.matrix_power(a, 0), [rnd(78, 3, 3)], _outs),
    ("matrix_exp", tl.matrix_exp, torch.matrix_exp, [rnd(79, 3, 3)], _outs),
    ("cross", tl.cross, torch.cross, [rnd(80, 3, 4), rnd(81, 3, 4)], _outs),
    ("cross dim", lambda a, b: tl.cross(a, b, dim=1), lambda a, b: torch.cross(a, b, dim=1),
     [rnd(80, 2, 3), rnd(81, 1, 3)], _outs),
    ("inner", tl.inner, torch.inner, [rnd(82, 2, 4), rnd(83, 3, 4)], _outs),
    ("inner 0-d", tl.inner, torch.inner, [rnd(82, 2, 4), np.array(1.5)], _outs),
    ("vdot", tl.vdot, torch.vdot, [rnd(84, 4), rnd(85, 4)], _outs),
    ("ger", tl.ger, torch.ger, [rnd(86, 4), rnd(87, 3)], _outs),
    ("chain_matmul", lambda a, b, c: tl.chain_matmul(a, b, c), lambda a, b, c: torch.chain_matmul(a, b, c),
     [rnd(88, 2, 3), rnd(89, 3, 4), rnd(90, 4, 2)], _outs),
    ("triangular_solve", tl.triangular_solve, torch.triangular_solve, [rnd(91, 2, 3, 2), rnd(92, 2, 3, 3)], _outs),
    ("triangular_solve lower transposed unit", lambda b, a: tl.triangular_solve(b, a, False, True, True),
     lambda b, a: torch.triangular_solve(b, a, False, True, True), [rnd(93, 3, 2), rnd(94, 3, 3)], _outs),
]


@pytest.mark.parametrize("name,fn,tfn,arrays,post", TORCH_LEVEL, ids=[c[0] for c in TORCH_LEVEL])
def test_torch_spellings_as_torch(name: str, fn: Callable, tfn: Callable, arrays: list, post: Callable) -> None:
    if name == "logdet negative":
        a = arrays[0]
        assert np.isnan(tl.logdet(Tensor(a)).item()) and np.isnan(torch.logdet(torch.tensor(a)).item())
        return
    compare(fn, tfn, arrays, post)


METHODS = [("det", ()), ("logdet", ()), ("slogdet", ()), ("inverse", ()), ("cholesky", ()), ("qr", ()), ("svd", ()),
           ("pinverse", ()), ("matrix_power", (3,)), ("matrix_exp", ()), ("cholesky_inverse", ())]


@pytest.mark.parametrize("name,args", METHODS, ids=[m[0] for m in METHODS])
def test_tensor_methods_as_torch(name: str, args: tuple) -> None:
    a = spd(RNG(95), 2, 3, 3)
    if name == "cholesky_inverse":
        a = np.linalg.cholesky(a)
    post = {"svd": torch_svd_post}.get(name, _outs)
    compare(lambda x: getattr(x, name)(*args), lambda t: getattr(t, name)(*args), [a], post)


@pytest.mark.parametrize("name", ["cross", "inner", "vdot", "ger", "cholesky_solve", "triangular_solve"])
def test_binary_tensor_methods_as_torch(name: str) -> None:
    a, b = {"cross": (rnd(96, 2, 3), rnd(97, 2, 3)), "inner": (rnd(96, 2, 3), rnd(97, 4, 3)),
            "vdot": (rnd(96, 3), rnd(97, 3)), "ger": (rnd(96, 3), rnd(97, 2)),
            "cholesky_solve": (rnd(96, 3, 2), np.linalg.cholesky(spd(RNG(97), 3, 3))),
            "triangular_solve": (rnd(96, 3, 2), rnd(97, 3, 3))}[name]
    compare(lambda x, y: getattr(x, name)(y), lambda x, y: getattr(x, name)(y), [a, b])


# ------------------------------------------------------------------ finite differences ---------
def _sym(x: Tensor) -> Tensor:
    return x + x.mT


FD = [  # fn of the inputs giving a Tensor, inputs (float64)
    ("det", lambda a: L.det(a), [rnd(100, 2, 3, 3)]),
    ("det singular", lambda a: L.det(a), [np.array([[1.0, 2, 3], [4, 5, 6], [5, 7, 9]])]),
    ("slogdet", lambda a: L.slogdet(a).logabsdet, [rnd(101, 3, 3)]),
    ("inv", lambda a: L.inv(a), [rnd(102, 2, 3, 3)]),
    ("solve", lambda a, b: L.solve(a, b), [rnd(103, 2, 3, 3), rnd(104, 3, 2)]),
    ("solve_triangular", lambda a, b: L.solve_triangular(a, b, upper=False, unitriangular=True),
     [rnd(105, 3, 3), rnd(106, 3, 2)]),
    ("cholesky", lambda a: L.cholesky(_sym(a)), [spd(RNG(107), 3, 3)]),
    ("cholesky upper", lambda a: L.cholesky(_sym(a), upper=True), [spd(RNG(107), 3, 3)]),
    ("cholesky_solve", lambda b, f: tl.cholesky_solve(b, f.tril()), [rnd(108, 3, 2),
                                                                     np.linalg.cholesky(spd(RNG(109), 3, 3))]),
    ("qr tall", lambda a: L.qr(a).Q * L.qr(a).R.sum(), [rnd(110, 4, 3)]),
    ("qr wide", lambda a: L.qr(a).R + L.qr(a).Q.sum(), [rnd(111, 2, 3, 4)]),
    ("svd", lambda a: svd_post(L.svd(a, full_matrices=False))[1] + L.svd(a).S.sum(), [rnd(112, 4, 3)]),
    ("svd wide", lambda a: svd_post(L.svd(a))[2].sum() + svd_post(L.svd(a))[3], [rnd(113, 2, 3)]),
    ("eigh", lambda a: eigh_post(L.eigh(_sym(a)))[1] * L.eigh(_sym(a))[0].sum(), [rnd(114, 3, 3)]),
    ("eigvalsh", lambda a: L.eigvalsh(_sym(a)), [rnd(115, 2, 3, 3)]),
    ("pinv", lambda a: L.pinv(a), [rnd(116, 4, 3)]),
    ("pinv wide", lambda a: L.pinv(a), [rnd(117, 2, 4)]),
    ("lstsq", lambda a, b: L.lstsq(a, b).solution, [rnd(118, 4, 2), rnd(119, 4, 3)]),
    ("matrix_exp", lambda a: L.matrix_exp(a), [2 * rnd(120, 3, 3)]),
    ("matrix_power -3", lambda a: L.matrix_power(a, -3), [rnd(121, 3, 3) + 2 * np.eye(3)]),
    ("cross", lambda a, b: L.cross(a, b), [rnd(122, 2, 3), rnd(123, 3)]),
    ("cond", lambda a: L.cond(a), [rnd(124, 3, 3)]),
    ("vander", lambda x: L.vander(x), [rnd(125, 3)]),
    ("multi_dot", lambda a, b, c: L.multi_dot([a, b, c]), [rnd(126, 2), rnd(127, 2, 3), rnd(128, 3, 2)]),
    ("triangular_solve", lambda b, a: tl.triangular_solve(b, a, transpose=True)[0], [rnd(129, 3, 1),
                                                                                     rnd(130, 3, 3) + 2 * np.eye(3)]),
]


@pytest.mark.parametrize("name,fn,arrays", FD, ids=[c[0] for c in FD])
def test_gradients_match_finite_differences(name: str, fn: Callable, arrays: list) -> None:
    xs = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    w = Tensor(RNG(7).standard_normal(fn(*xs).shape))
    assert tl.gradcheck(lambda *v: (fn(*v) * w).sum(), xs, eps=1e-6, atol=1e-7, rtol=1e-5)


# ------------------------------------------------------------------ per-sample gradients ---------
def _m(x: Tensor, W: Tensor) -> Tensor:
    """A 3x3 matrix per sample, from the sample's x and the parameter W: (B, 3, 3)."""
    return x[:, None, :3] * W[:, :3] + 3 * Tensor(np.eye(3))


def _spd(x: Tensor, W: Tensor) -> Tensor:
    m = _m(x, W)
    return m @ m.mT + Tensor(np.eye(3))


PER_SAMPLE = [  # fn(x, W) over x (B, 4), W (3, 4): each sample's output depends on that sample alone
    ("det", lambda x, W: L.det(_m(x, W))),
    ("slogdet", lambda x, W: L.slogdet(_spd(x, W)).logabsdet),
    ("inv", lambda x, W: L.inv(_m(x, W))),
    ("solve batched A", lambda x, W: L.solve(_m(x, W), x[:, 1:])),
    ("solve of the parameter", lambda x, W: L.solve(W[:, 1:] + 3 * Tensor(np.eye(3)), x[:, :3, None])),
    ("solve for a parameter", lambda x, W: L.solve(_m(x, W), W[:, :2])),
    ("solve_triangular", lambda x, W: L.solve_triangular(W[:, :3] + 3 * Tensor(np.eye(3)), _m(x, W), upper=True)),
    ("cholesky", lambda x, W: L.cholesky(_spd(x, W))),
    ("cholesky_solve", lambda x, W: tl.cholesky_solve(x[:, :3, None], L.cholesky(_spd(x, W)))),
    ("qr", lambda x, W: L.qr(_m(x, W)).R + L.qr(_m(x, W)).Q),
    ("svd", lambda x, W: L.svd(_m(x, W)).S + (L.svd(_m(x, W)).U ** 2).sum(-1)),
    ("eigh", lambda x, W: L.eigh(_spd(x, W))[0] + (L.eigh(_spd(x, W))[1] ** 2).sum(-1)),
    ("pinv", lambda x, W: L.pinv(_m(x, W)[:, :2])),
    ("matrix_exp", lambda x, W: L.matrix_exp(0.2 * _m(x, W))),
    ("matrix_power", lambda x, W: L.matrix_power(_m(x, W), -2)),
    ("cross", lambda x, W: L.cross(x[:, :3], W[0, :3])),
    ("lstsq", lambda x, W: L.lstsq(_m(x, W)[:, :, :2], x[:, :3]).solution),
]


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("name,fn", PER_SAMPLE, ids=[c[0] for c in PER_SAMPLE])
def test_per_sample_gradients_equal_each_sample_alone(name: str, fn: Callable, reduction: str) -> None:
    check_each_sample_alone(name, fn, reduction, RNG(43), 3)


MIXING = [  # fn(x, W) over a batched x (4, 4): a matrix whose rows are the samples
    ("det of the batch", "det", lambda x, W: L.det(x @ W.T @ W)),
    ("inv of the batch", "inv", lambda x, W: L.inv(x @ W.T @ W).sum()),
    ("svd of the batch", "svd", lambda x, W: L.svd(x @ W.T).S.sum()),
    ("qr of the batch", "qr", lambda x, W: L.qr(x @ W.T).R.sum()),
    ("cholesky of the batch", "cholesky", lambda x, W: L.cholesky(x @ W.T @ W + 9 * Tensor(np.eye(4))).sum()),
    ("solve for the batch", "solve", lambda x, W: L.solve(x @ W.T @ W + 9 * Tensor(np.eye(4)), x).sum()),
    ("pinv of the batch", "pinv", lambda x, W: L.pinv(x @ W.T).sum()),
    ("matrix_exp of the batch", "matrix_exp", lambda x, W: L.matrix_exp(0.1 * x @ W.T @ W).sum()),
]


@pytest.mark.parametrize("name,op,fn", MIXING, ids=[m[0] for m in MIXING])
def test_a_matrix_of_the_samples_raises_the_mixing_error_naming_the_op(name: str, op: str, fn: Callable) -> None:
    check_mixing(op, fn, RNG(44))


# ------------------------------------------------------------------ errors and edge cases ---------
SINGULAR = np.stack([np.eye(3), np.array([[1.0, 2, 3], [2, 4, 6], [1, 0, 1]])])
NOT_PD = np.stack([np.eye(3), np.diag([1.0, -1, 2])])


@pytest.mark.parametrize("call,tcall,words", [
    (lambda a: L.inv(a), lambda t: T.inv(t), ["linalg.inv", "(2, 3, 3)", "singular", "batch index (1,)"]),
    (lambda a: tl.inverse(a), lambda t: torch.inverse(t), ["inverse", "(2, 3, 3)", "singular"]),
    (lambda a: a.inverse(), lambda t: t.inverse(), ["inverse", "(2, 3, 3)", "singular"]),
    (lambda a: L.solve(a, Tensor(np.ones((3, 1)))), lambda t: T.solve(t, torch.ones(3, 1, dtype=t.dtype)),
     ["linalg.solve", "(2, 3, 3)", "singular"]),
    (lambda a: L.inv_ex(a, check_errors=True), lambda t: T.inv_ex(t, check_errors=True), ["linalg.inv_ex"]),
    (lambda a: L.cholesky(a @ a.mT), lambda t: T.cholesky(t @ t.mT), ["linalg.cholesky", "positive-definite"]),
])
def test_singular_input_raises_linalg_error_naming_the_function(call: Callable, tcall: Callable,
                                                                 words: list) -> None:
    a = Tensor(SINGULAR.copy(), requires_grad=True)
    with pytest.raises(torch.linalg.LinAlgError):
        tcall(torch.tensor(SINGULAR))
    with pytest.raises(tl.linalg.LinAlgError) as info:
        call(a)
    assert isinstance(info.value, RuntimeError)
    for w in words:
        assert w in str(info.value), (w, str(info.value))
    np.testing.assert_array_equal(a.data, SINGULAR)
    assert a.grad is None


def test_cholesky_of_a_non_positive_definite_matrix_raises_naming_the_batch_index() -> None:
    for up in (False, True):
        with pytest.raises(tl.linalg.LinAlgError, match=r"linalg.cholesky: .*\(2, 3, 3\).*positive-definite.*\(1,\)"):
            L.cholesky(Tensor(NOT_PD), upper=up)
        with pytest.raises(torch.linalg.LinAlgError):
            T.cholesky(torch.tensor(NOT_PD), upper=up)


def test_ex_forms_report_torchs_info_without_raising() -> None:
    bad = np.stack([np.eye(3), SINGULAR[1], np.diag([1.0, 0, 2])])
    got, want = L.inv_ex(Tensor(bad)), T.inv_ex(torch.tensor(bad))
    np.testing.assert_array_equal(got.info.numpy(), want.info.numpy())
    assert got.info.dtype == np.int32
    np.testing.assert_allclose(got.inverse.numpy()[0], np.eye(3))
    assert np.isnan(got.inverse.numpy()[1:]).all()
    notpd = np.stack([np.eye(3), np.diag([1.0, -1, 2]), np.array([[1.0, 2, 0], [2, 1, 0], [0, 0, 1]])])
    got, want = L.cholesky_ex(Tensor(notpd)), T.cholesky_ex(torch.tensor(notpd))
    np.testing.assert_array_equal(got.info.numpy(), want.info.numpy())
    got = L.solve_ex(Tensor(bad), Tensor(np.ones((3, 1))))
    want = T.solve_ex(torch.tensor(bad), torch.ones(3, 1).double())
    np.testing.assert_array_equal(got.info.numpy(), want.info.numpy())
    np.testing.assert_allclose(got.result.numpy()[0], want.result.numpy()[0])
    with pytest.raises(tl.linalg.LinAlgError, match="linalg.cholesky_ex"):
        L.cholesky_ex(Tensor(notpd), check_errors=True)


BAD = [  # (call, exception, words in the message); torch raises RuntimeError for the shape errors
    (lambda: L.det(Tensor(np.ones((2, 3)))), RuntimeError, ["linalg.det", "(2, 3)", "square"]),
    (lambda: tl.det(Tensor(np.ones(3))), RuntimeError, ["det", "(3,)"]),
    (lambda: L.inv(Tensor(np.ones((4, 2, 3)))), ValueError, ["linalg.inv", "(4, 2, 3)"]),
    (lambda: L.solve(Tensor(np.eye(3)), Tensor(np.ones((2, 1)))), RuntimeError, ["linalg.solve", "(3, 3)", "(2, 1)"]),
    (lambda: L.solve(Tensor(np.ones((2, 3, 3))), Tensor(np.ones((4, 3, 1)))), ValueError,
     ["linalg.solve", "(2, 3, 3)", "(4, 3, 1)", "broadcast"]),
    (lambda: L.cholesky(Tensor(np.ones((3, 2)))), ValueError, ["linalg.cholesky", "(3, 2)"]),
    (lambda: L.qr(Tensor(np.ones(3))), ValueError, ["linalg.qr", "(3,)"]),
    (lambda: L.qr(Tensor(np.ones((3, 3))), mode="full"), ValueError, ["linalg.qr", "'full'"]),
    (lambda: L.svd(Tensor(np.ones(3))), ValueError, ["linalg.svd", "(3,)"]),
    (lambda: L.eigh(Tensor(np.ones((3, 3))), UPLO="X"), ValueError, ["linalg.eigh", "UPLO"]),
    (lambda: L.eigh(Tensor(np.ones((2, 3)))), ValueError, ["linalg.eigh", "(2, 3)"]),
    (lambda: L.matrix_power(Tensor(np.eye(3)), 1.5), TypeError, ["linalg.matrix_power", "1.5"]),
    (lambda: L.matrix_exp(Tensor(np.ones((2, 3)))), ValueError, ["linalg.matrix_exp", "(2, 3)"]),
    (lambda: L.lstsq(Tensor(np.ones((4, 3))), Tensor(np.ones((3, 2)))), ValueError, ["linalg.lstsq", "(4, 3)"]),
    (lambda: L.lstsq(Tensor(np.ones((4, 3))), Tensor(np.ones((4, 2))), driver="x"), ValueError, ["driver"]),
    (lambda: L.multi_dot([Tensor(np.ones((2, 3))), Tensor(np.ones((2, 3)))]), ValueError,
     ["linalg.multi_dot", "(2, 3)"]),
    (lambda: L.multi_dot([Tensor(np.ones((2, 3)))]), ValueError, ["linalg.multi_dot", "at least 2"]),
    (lambda: L.cross(Tensor(np.ones((2, 4))), Tensor(np.ones((2, 4)))), ValueError, ["linalg.cross", "(2, 4)"]),
    (lambda: tl.cross(Tensor(np.ones((2, 4))), Tensor(np.ones((2, 4)))), ValueError, ["cross", "size 3"]),
    (lambda: L.vander(Tensor(np.ones(3)), N=1), ValueError, ["linalg.vander", "N"]),
    (lambda: L.cond(Tensor(np.eye(3)), "bad"), ValueError, ["linalg.cond", "'bad'"]),
    (lambda: L.solve_triangular(Tensor(np.eye(3)), Tensor(np.ones(3)), upper=True), ValueError,
     ["linalg.solve_triangular", "(3,)"]),
    (lambda: tl.vdot(Tensor(np.ones(3)), Tensor(np.ones(4))), ValueError, ["vdot", "(3,)", "(4,)"]),
    (lambda: tl.inner(Tensor(np.ones((2, 3))), Tensor(np.ones(4))), ValueError, ["inner", "(2, 3)", "(4,)"]),
    (lambda: tl.chain_matmul(Tensor(np.ones(3)), Tensor(np.ones((3, 2)))), ValueError, ["chain_matmul", "(3,)"]),
    (lambda: tl.cholesky_solve(Tensor(np.ones((2, 1))), Tensor(np.eye(3))), ValueError,
     ["cholesky_solve", "(2, 1)", "(3, 3)"]),
    (lambda: L.det(np.eye(3)), TypeError, ["linalg.det", "ndarray"]),
    (lambda: L.svd(Tensor(np.eye(3)), full_matrices=1), TypeError, ["linalg.svd", "full_matrices"]),
]


@pytest.mark.parametrize("call,exc,words", BAD)
def test_bad_input_raises_naming_the_function_and_the_shapes(call: Callable, exc: type, words: list) -> None:
    with pytest.raises(exc) as info:
        call()
    for w in words:
        assert w in str(info.value), (w, str(info.value))


def test_shape_errors_are_value_and_runtime_errors_as_torch_raises() -> None:
    with pytest.raises(RuntimeError):
        T.inv(torch.ones(2, 3))
    with pytest.raises(ValueError) as info:
        L.inv(Tensor(np.ones((2, 3))))
    assert isinstance(info.value, RuntimeError)


def test_gradients_torch_does_not_define_raise_naming_the_function() -> None:
    a = Tensor(rnd(140, 4, 3), requires_grad=True)
    with pytest.raises(RuntimeError, match="linalg.qr.*mode='complete'"):
        L.qr(a, mode="complete").Q.sum().backward()
    with pytest.raises(RuntimeError, match="linalg.qr.*mode='r'"):
        L.qr(a, mode="r").R.sum().backward()
    Q, R = L.qr(a, mode="r")
    assert Q.shape == (0,) and R.shape == (3, 3)


def test_repeated_singular_values_and_eigenvalues_behave_as_torch() -> None:
    # the vectors are not unique: their gradient is nan in both; a loss of the values alone stays exact
    for fn, tfn in [(lambda a: L.svd(a).U.sum(), lambda t: T.svd(t).U.sum()),
                    (lambda a: L.eigh(a)[1].sum(), lambda t: T.eigh(t)[1].sum())]:
        a, t = Tensor(np.eye(3), requires_grad=True), torch.eye(3, dtype=torch.float64, requires_grad=True)
        fn(a).backward()
        tfn(t).backward()
        assert np.isnan(a.grad).all() and torch.isnan(t.grad).all()
    compare(lambda a: L.svd(a).S, lambda t: T.svd(t).S, [np.diag([2.0, 2.0, 1.0])])
    compare(lambda a: L.eigh(a)[0], lambda t: T.eigh(t)[0], [np.diag([2.0, 2.0, 1.0])])
    compare(L.eigvalsh, T.eigvalsh, [np.eye(3)])


def test_float32_stays_float32_and_empty_batches_work_as_torch() -> None:
    a = Tensor(spd(RNG(141), 2, 3, 3).astype(np.float32), requires_grad=True)
    for out in (L.det(a), L.inv(a), L.cholesky(a), L.svd(a).U, L.eigh(a)[1], L.matrix_exp(a), L.pinv(a),
                L.qr(a).R, L.solve(a, a)):
        assert out.dtype == np.float32, out
        out.sum().backward()
        assert a.grad.dtype == np.float32
    for shape in [(0, 3, 3), (2, 0, 0)]:
        for fn, tfn in [(L.det, T.det), (L.inv, T.inv), (lambda x: L.svd(x).S, lambda x: T.svd(x).S),
                        (L.matrix_exp, T.matrix_exp), (L.cholesky, T.cholesky)]:
            np.testing.assert_allclose(fn(tl.zeros(*shape)).numpy(), tfn(torch.zeros(shape)).numpy())


def test_named_results_have_torchs_fields() -> None:
    a = Tensor(spd(RNG(142), 3, 3))
    t = torch.tensor(a.data)
    pairs = [(L.slogdet(a), T.slogdet(t)), (L.qr(a), T.qr(t)), (L.svd(a), T.svd(t)), (L.eigh(a), T.eigh(t)),
             (L.lstsq(a, a), T.lstsq(t, t)), (L.inv_ex(a), T.inv_ex(t)), (L.cholesky_ex(a), T.cholesky_ex(t)),
             (L.solve_ex(a, a), T.solve_ex(t, t)), (tl.svd(a), torch.svd(t)), (tl.slogdet(a), torch.slogdet(t)),
             (tl.qr(a), torch.qr(t)), (tl.triangular_solve(a, a), torch.triangular_solve(t, t))]
    for ours, theirs in pairs:
        assert len(ours) == len(theirs)
        for name in ours._fields:
            got, want = getattr(ours, name), getattr(theirs, name)
            assert got.shape == tuple(want.shape), name
    r, t = L.lstsq(a, a), T.lstsq(torch.tensor(a.data), torch.tensor(a.data))
    assert r.rank.item() == t.rank.item() and r.residuals.shape == tuple(t.residuals.shape)


def test_matrix_rank_as_torch() -> None:
    a = rnd(143, 3, 4, 2) @ rnd(144, 3, 2, 5)
    for kw in ({}, {"atol": 1.0}, {"rtol": 0.5}, {"hermitian": True}):
        x = a[..., :4] @ np.swapaxes(a[..., :4], -1, -2) if kw.get("hermitian") else a
        np.testing.assert_array_equal(L.matrix_rank(Tensor(x), **kw).numpy(),
                                      T.matrix_rank(torch.tensor(x), **kw).numpy())


def test_slogdet_of_a_singular_matrix_has_an_infinite_gradient_as_torch() -> None:
    a = np.array([[1.0, 2], [2, 4]])
    x, t = Tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    L.slogdet(x).logabsdet.backward()
    T.slogdet(t).logabsdet.backward()
    assert L.slogdet(x).logabsdet.item() == -np.inf and L.slogdet(x).sign.item() == 0
    np.testing.assert_array_equal(np.isinf(x.grad), torch.isinf(t.grad).numpy())


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_matrix_exp_of_non_finite_input_is_nan_as_torch(value: float) -> None:
    a = np.full((2, 3, 3), value)
    np.testing.assert_array_equal(np.isnan(L.matrix_exp(Tensor(a)).numpy()),
                                  torch.isnan(T.matrix_exp(torch.tensor(a))).numpy())


def test_matrix_power_keeps_integers_and_gives_a_zero_gradient_at_zero_as_torch() -> None:
    a = np.array([[1, 2], [3, 4]])
    for n in (0, 1, 3):
        got, want = L.matrix_power(Tensor(a), n), T.matrix_power(torch.tensor(a), n)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        assert got.dtype == np.int64
    x = Tensor(np.array([[1.0, np.inf], [3, 4]]), requires_grad=True)
    out = L.matrix_power(x, 0)
    np.testing.assert_array_equal(out.numpy(), np.eye(2))
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, np.zeros((2, 2)))


# ------------------------------------------------------------------ random batch shapes ---------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_batch = st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(ba=_batch, bb=_batch, n=st.integers(1, 4), k=st.integers(1, 3), ones=st.lists(st.booleans(), max_size=2),
       seed=st.integers(0, 10 ** 6))
def test_solve_broadcasts_batch_axes_as_torch(ba: tuple, bb: tuple, n: int, k: int, ones: list, seed: int) -> None:
    bb = tuple(1 if o else b for b, o in zip(bb, ones)) + bb[len(ones):]
    try:
        np.broadcast_shapes(ba, bb)
    except ValueError:
        return
    rng = RNG(seed)
    a = rng.standard_normal(ba + (n, n)) + 3 * np.eye(n)
    b = rng.standard_normal(bb + (n, k))
    compare(L.solve, T.solve, [a, b], rtol=1e-8, atol=1e-10, seed=seed)
    compare(lambda x, y: tl.cholesky_solve(y, L.cholesky(x @ x.mT)), lambda x, y: torch.cholesky_solve(
        y, T.cholesky(x @ x.mT)), [a, b], rtol=1e-7, atol=1e-9, seed=seed)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(batch=_batch, m=st.integers(1, 4), n=st.integers(1, 4), seed=st.integers(0, 10 ** 6))
def test_matrix_functions_over_random_batch_shapes_as_torch(batch: tuple, m: int, n: int, seed: int) -> None:
    rng = RNG(seed)
    a = rng.standard_normal(batch + (m, n))
    sq = rng.standard_normal(batch + (n, n)) + 2 * np.eye(n)
    compare(L.det, T.det, [sq], rtol=1e-8, atol=1e-10, seed=seed)
    compare(L.inv, T.inv, [sq], rtol=1e-8, atol=1e-10, seed=seed)
    compare(L.matrix_exp, T.matrix_exp, [0.5 * sq], rtol=1e-8, atol=1e-10, seed=seed)
    compare(L.pinv, T.pinv, [a], rtol=1e-7, atol=1e-9, seed=seed)
    compare(L.qr, T.qr, [a], qr_post, rtol=1e-7, atol=1e-9, seed=seed)
    compare(lambda x: L.svd(x, full_matrices=False), lambda t: T.svd(t, full_matrices=False), [a], svd_post,
            rtol=1e-6, atol=1e-8, seed=seed)


@pytest.mark.parametrize("p", [None, "fro", "nuc", 1, -1, float("inf"), 2, -2])
def test_cond_of_a_singular_matrix_as_torch(p: Any) -> None:
    a = np.stack([np.array([[1.0, 2], [2, 4]]), np.array([[2.0, 1], [0, 3]])])
    ours, theirs = L.cond(Tensor(a), p).numpy(), T.cond(torch.tensor(a), p).numpy()
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-10)
    # the singular matrix: a singular value of rounding size (its value depends on the LAPACK
    # build and the processor) makes both huge or infinite for the norms that need the inverse
    # (p = -2 gives the reciprocal: a value of rounding size)
    if p == -2:
        assert 0 <= ours[0] < 1e-12 and 0 <= theirs[0] < 1e-12
    elif np.isfinite(theirs[0]) and theirs[0] < 1e12:
        np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-10)
    else:
        assert ours[0] > 1e12


@pytest.mark.parametrize("driver", ["gels", "gelsd", "gelss"])
@pytest.mark.parametrize("bshape", [(5,), (5, 1), (5, 2), (2, 5, 2), (2, 5)])
def test_lstsq_residuals_have_torchs_shape_and_values(driver: str, bshape: tuple) -> None:
    a = rnd(145, *((2, 5, 3) if len(bshape) == 3 or bshape == (2, 5) else (5, 3)))
    b = rnd(146, *bshape)
    ours = L.lstsq(Tensor(a), Tensor(b), driver=driver)
    theirs = T.lstsq(torch.tensor(a), torch.tensor(b), driver=driver)
    assert ours.residuals.shape == tuple(theirs.residuals.shape)
    np.testing.assert_allclose(ours.residuals.numpy(), theirs.residuals.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.solution.numpy(), theirs.solution.numpy(), rtol=1e-10)


def test_slogdet_sign_requires_grad_as_torch_and_sends_no_gradient() -> None:
    a = rnd(147, 2, 3, 3)
    x, t = Tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    ours, theirs = L.slogdet(x), T.slogdet(t)
    assert ours.sign.requires_grad and theirs.sign.requires_grad
    (ours.sign * 5.0 + ours.logabsdet).sum().backward()
    (theirs.sign * 5.0 + theirs.logabsdet).sum().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-10)
    singular = Tensor(np.array([[1.0, 2.0], [2.0, 4.0]]), requires_grad=True)
    L.slogdet(singular).sign.backward()  # (a zero gradient, not the nan of the infinite inverse)
    np.testing.assert_array_equal(singular.grad, np.zeros((2, 2)))
    assert not L.slogdet(Tensor(a)).sign.requires_grad
