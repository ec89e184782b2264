"""The LU factorization (``tl.linalg.lu_factor / lu_factor_ex / lu / lu_solve``, ``tl.lu``,
``tl.lu_solve``, ``tl.lu_unpack``) and ``tl.linalg.tensorinv / tensorsolve``: values,
pivots and result fields against torch (float64 and float32, batched, rectangular,
singular), gradients against torch and finite differences (and a second order against
torch), and the refusals of bad input."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import Tensor

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.filterwarnings("ignore:torch.lu is deprecated"),
              pytest.mark.filterwarnings("ignore:torch.lu_solve is deprecated")]

SHAPES = [(4, 4), (3, 5), (5, 3), (2, 3, 4, 4), (2, 6, 3), (2, 3, 6), (1, 1), (0, 0), (0, 3), (3, 0), (2, 0, 3)]
SINGULAR = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 1.0, 1.0]])


def rnd(seed: int, *shape: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def close(got: Any, want: Any, rtol: float = 1e-12, atol: float = 1e-12) -> None:
    w = want.detach().numpy()
    assert got.shape == tuple(want.shape), (got.shape, tuple(want.shape))
    assert got.numpy().dtype == w.dtype, (got.numpy().dtype, w.dtype)
    np.testing.assert_allclose(got.numpy(), w, rtol=rtol, atol=atol)


def grads_match(fn: Callable, tfn: Callable, arrays: list, rtol: float = 1e-9, atol: float = 1e-9,
                create_graph: bool = False) -> None:
    """The gradients of a random weighting of fn's outputs (tl) and tfn's (torch) agree; with
    ``create_graph`` so do the gradients of a weighting of those gradients."""
    xs = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    ts = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    got, want = fn(*xs), tfn(*ts)
    got, want = (list(got), list(want)) if isinstance(got, tuple) else ([got], [want])
    rng = np.random.default_rng(7)
    ws = [rng.standard_normal(tuple(w.shape)) for w in want]
    live = [i for i, w in enumerate(want) if w.requires_grad]
    assert live
    loss = sum((got[i] * Tensor(ws[i])).sum() for i in live)
    tloss = sum((want[i] * torch.tensor(ws[i])).sum() for i in live)
    gs = tl.autograd.grad(loss, xs, create_graph=create_graph)
    tgs = torch.autograd.grad(tloss, ts, create_graph=create_graph)
    for g, t in zip(gs, tgs):
        np.testing.assert_allclose(np.asarray(g.numpy() if isinstance(g, Tensor) else g), t.detach().numpy(),
                                   rtol=rtol, atol=atol)
    if create_graph:
        vs = [rng.standard_normal(x.shape) for x in xs]
        g2 = tl.autograd.grad(sum((g * Tensor(v)).sum() for g, v in zip(gs, vs)), xs)
        t2 = torch.autograd.grad(sum((g * torch.tensor(v)).sum() for g, v in zip(tgs, vs)), ts)
        for g, t in zip(g2, t2):
            np.testing.assert_allclose(np.asarray(g.numpy() if isinstance(g, Tensor) else g), t.numpy(),
                                       rtol=rtol, atol=atol)


# ------------------------------------------------------------------ values ---------
@pytest.mark.parametrize("shape", SHAPES)
def test_lu_factor_and_lu_match_torch(shape: tuple) -> None:
    a = rnd(sum(shape) + len(shape), *shape)
    LU, piv = tl.linalg.lu_factor(Tensor(a))
    tLU, tpiv = torch.linalg.lu_factor(torch.tensor(a))
    close(LU, tLU)
    assert piv.numpy().dtype == np.int32 and np.array_equal(piv.numpy(), tpiv.numpy())
    for got, want in zip(tl.linalg.lu(Tensor(a)), torch.linalg.lu(torch.tensor(a))):
        close(got, want)
    P, L, U = tl.linalg.lu(Tensor(a))
    np.testing.assert_allclose((P @ L @ U).numpy(), a, atol=1e-12)


def test_result_fields_match_torch() -> None:
    a = rnd(0, 3, 3)
    A, tA = Tensor(a), torch.tensor(a)
    assert tl.linalg.lu_factor(A)._fields == ("LU", "pivots")
    assert [f for f in ("LU", "pivots", "info") if hasattr(torch.linalg.lu_factor_ex(tA), f)] == \
        list(tl.linalg.lu_factor_ex(A)._fields)
    for mine, theirs in ((tl.linalg.lu(A), torch.linalg.lu(tA)),
                         (tl.lu_unpack(*tl.linalg.lu_factor(A)), torch.lu_unpack(*torch.linalg.lu_factor(tA)))):
        assert mine._fields == ("P", "L", "U")
        for f in mine._fields:
            close(getattr(mine, f), getattr(theirs, f))
    r, tr = tl.lu(A, get_infos=True), torch.lu(tA, get_infos=True)
    assert r._fields == ("LU", "pivots", "info") and int(r.info.item()) == int(tr.info) == 0
    plain = tl.lu(A)
    assert type(plain) is tuple and type(torch.lu(tA)) is tuple and len(plain) == 2


def test_float32_matches_torch() -> None:
    a = rnd(3, 2, 5, 5).astype(np.float32)
    LU, piv = tl.linalg.lu_factor(Tensor(a))
    tLU, tpiv = torch.linalg.lu_factor(torch.tensor(a))
    close(LU, tLU, rtol=1e-5, atol=1e-5)
    assert np.array_equal(piv.numpy(), tpiv.numpy())
    b = rnd(4, 2, 5, 2).astype(np.float32)
    close(tl.linalg.lu_solve(LU, piv, Tensor(b)), torch.linalg.lu_solve(tLU, tpiv, torch.tensor(b)), 1e-4, 1e-4)


def test_singular_info_and_old_lu_match_torch() -> None:
    zero_col = np.array([[2.0, 0.0, 1.0], [4.0, 0.0, 3.0], [1.0, 0.0, 5.0]])  # info 2, later columns factored
    a = np.stack([SINGULAR, np.zeros((3, 3)), rnd(5, 3, 3), zero_col])
    got, want = tl.linalg.lu_factor_ex(Tensor(a)), torch.linalg.lu_factor_ex(torch.tensor(a))
    close(got.LU, want.LU)
    assert np.array_equal(got.pivots.numpy(), want.pivots.numpy())
    assert got.info.numpy().dtype == np.int32 and np.array_equal(got.info.numpy(), want.info.numpy())
    assert np.any(got.info.numpy() != 0)
    old, told = tl.lu(Tensor(a), get_infos=True), torch.lu(torch.tensor(a), get_infos=True)
    assert np.array_equal(old.info.numpy(), told.info.numpy())
    LU, piv = tl.lu(Tensor(a))  # no error for singular input, as torch
    close(LU, told[0])
    wide = np.zeros((3, 5))
    wide[:, 0], wide[0, 1] = 1.0, 1.0
    got, want = tl.linalg.lu_factor_ex(Tensor(wide)), torch.linalg.lu_factor_ex(torch.tensor(wide))
    close(got.LU, want.LU)
    assert int(got.info.item()) == int(want.info) and np.array_equal(got.pivots.numpy(), want.pivots.numpy())
    for g, w in zip(tl.linalg.lu(Tensor(a)), torch.linalg.lu(torch.tensor(a))):
        close(g, w)


def test_nan_is_not_taken_as_pivot_like_torch() -> None:
    a = rnd(6, 3, 3)
    a[1, 0] = np.nan
    got, want = tl.linalg.lu_factor_ex(Tensor(a)), torch.linalg.lu_factor_ex(torch.tensor(a))
    assert np.array_equal(got.pivots.numpy(), want.pivots.numpy())
    np.testing.assert_allclose(got.LU.numpy(), want.LU.numpy(), rtol=1e-12, atol=1e-12)  # (nan where torch's is)
    assert int(got.info.item()) == int(want.info)


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("adjoint", [False, True])
def test_lu_solve_matches_torch(left: bool, adjoint: bool) -> None:
    a = rnd(7, 2, 4, 4)
    b = rnd(8, 3, 1, 4, 2) if left else rnd(8, 3, 1, 2, 4)
    LU, piv = tl.linalg.lu_factor(Tensor(a))
    tLU, tpiv = torch.linalg.lu_factor(torch.tensor(a))
    got = tl.linalg.lu_solve(LU, piv, Tensor(b), left=left, adjoint=adjoint)
    close(got, torch.linalg.lu_solve(tLU, tpiv, torch.tensor(b), left=left, adjoint=adjoint), 1e-10, 1e-10)
    A = a.swapaxes(-1, -2) if adjoint else a
    np.testing.assert_allclose(A @ got.numpy() if left else got.numpy() @ A, np.broadcast_to(b, got.shape),
                               atol=1e-10)


def test_old_lu_solve_matches_torch() -> None:
    a, b = rnd(9, 3, 3), rnd(10, 4, 3, 2)
    LU, piv = tl.lu(Tensor(a))
    tLU, tpiv = torch.lu(torch.tensor(a))
    close(tl.lu_solve(Tensor(b), LU, piv), torch.lu_solve(torch.tensor(b), tLU, tpiv), 1e-10, 1e-10)


@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 3), (2, 3, 3)])
def test_lu_unpack_matches_torch(shape: tuple) -> None:
    a = rnd(11, *shape)
    LU, piv = tl.linalg.lu_factor(Tensor(a))
    tLU, tpiv = torch.linalg.lu_factor(torch.tensor(a))
    for data in (True, False):
        for pivs in (True, False):
            got = tl.lu_unpack(LU, piv, data, pivs)
            want = torch.lu_unpack(tLU, tpiv, unpack_data=data, unpack_pivots=pivs)
            for g, w in zip(got, want):
                close(g, w)
    swaps = np.array([2, 1, 3], np.int32)  # any valid swaps, not only lu_factor's
    close(tl.lu_unpack(Tensor(a[..., :3, :3].copy()), Tensor(swaps)).P,
          torch.lu_unpack(torch.tensor(a[..., :3, :3].copy()), torch.tensor(swaps)).P)


def test_tensorinv_and_tensorsolve_match_torch() -> None:
    a = rnd(12, 4, 6, 8, 3)
    close(tl.linalg.tensorinv(Tensor(a), ind=2), torch.linalg.tensorinv(torch.tensor(a), ind=2), 1e-9, 1e-9)
    sq = rnd(13, 4, 4)
    close(tl.linalg.tensorinv(Tensor(sq), 1), torch.linalg.inv(torch.tensor(sq)), 1e-10, 1e-10)
    A, B = rnd(14, 6, 4, 2, 3, 4), rnd(15, 6, 4)
    close(tl.linalg.tensorsolve(Tensor(A), Tensor(B)), torch.linalg.tensorsolve(torch.tensor(A), torch.tensor(B)),
          1e-9, 1e-9)
    A, B = rnd(16, 6, 4, 4, 3, 2), rnd(17, 4, 3, 2)
    for dims in ((0, 2), [0, -3]):
        close(tl.linalg.tensorsolve(Tensor(A), Tensor(B), dims=dims),
              torch.linalg.tensorsolve(torch.tensor(A), torch.tensor(B), dims=tuple(dims)), 1e-9, 1e-9)
    close(tl.linalg.tensorsolve(Tensor(A), Tensor(B.reshape(3, 8))),  # only B's size matters, as torch
          torch.linalg.tensorsolve(torch.tensor(A), torch.tensor(B.reshape(3, 8))), 1e-9, 1e-9)


# ------------------------------------------------------------------ gradients ---------
@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 3), (3, 5), (5, 3), (2, 2, 4), (2, 4, 2)])
def test_lu_gradients_match_torch(shape: tuple) -> None:
    a = rnd(20 + sum(shape), *shape)
    grads_match(lambda A: tl.linalg.lu(A)[1:], lambda A: torch.linalg.lu(A)[1:], [a])
    grads_match(lambda A: tl.linalg.lu(A).L, lambda A: torch.linalg.lu(A).L, [a])
    grads_match(lambda A: tl.linalg.lu(A).U, lambda A: torch.linalg.lu(A).U, [a])
    grads_match(lambda A: tl.linalg.lu_factor(A).LU, lambda A: torch.linalg.lu_factor(A).LU, [a])
    grads_match(lambda A: tl.linalg.lu_factor_ex(A).LU, lambda A: torch.linalg.lu_factor_ex(A).LU, [a])
    grads_match(lambda A: tl.lu_unpack(*tl.linalg.lu_factor(A))[1:],
                lambda A: torch.lu_unpack(*torch.linalg.lu_factor(A))[1:], [a])


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("adjoint", [False, True])
def test_lu_solve_gradients_match_torch(left: bool, adjoint: bool) -> None:
    a = rnd(30, 2, 4, 4)
    LU, piv = (x.detach().numpy() for x in torch.linalg.lu_factor(torch.tensor(a)))
    b = rnd(31, 2, 4, 3) if left else rnd(31, 2, 3, 4)
    grads_match(lambda L, B: tl.linalg.lu_solve(L, Tensor(piv), B, left=left, adjoint=adjoint),
                lambda L, B: torch.linalg.lu_solve(L, torch.tensor(piv), B, left=left, adjoint=adjoint), [LU, b])
    grads_match(lambda A, B: tl.linalg.lu_solve(*tl.linalg.lu_factor(A), B, left=left, adjoint=adjoint),
                lambda A, B: torch.linalg.lu_solve(*torch.linalg.lu_factor(A), B, left=left, adjoint=adjoint), [a, b])


def test_tensorinv_tensorsolve_gradients_match_torch() -> None:
    grads_match(lambda A: tl.linalg.tensorinv(A, ind=2), lambda A: torch.linalg.tensorinv(A, ind=2),
                [rnd(40, 2, 3, 6)])
    grads_match(lambda A, B: tl.linalg.tensorsolve(A, B, dims=(0,)), lambda A, B: torch.linalg.tensorsolve(A, B, (0,)),
                [rnd(41, 6, 2, 3), rnd(42, 2, 3)])


@pytest.mark.parametrize("shape", [(3, 3), (3, 4), (4, 3)])
def test_second_order_gradients_match_torch(shape: tuple) -> None:
    a = rnd(50 + sum(shape), *shape)
    grads_match(lambda A: tl.linalg.lu(A)[1:], lambda A: torch.linalg.lu(A)[1:], [a], create_graph=True)
    if shape[0] == shape[1]:
        b = rnd(51, 3, 2)
        grads_match(lambda A, B: tl.linalg.lu_solve(*tl.linalg.lu_factor(A), B, adjoint=True),
                    lambda A, B: torch.linalg.lu_solve(*torch.linalg.lu_factor(A), B, adjoint=True), [a, b],
                    create_graph=True)


@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 5), (5, 3)])
def test_gradients_match_finite_differences(shape: tuple) -> None:
    a = rnd(60 + sum(shape), *shape)
    w = [Tensor(rnd(61 + i, *s)) for i, s in enumerate((a.shape[:-2] + (shape[-2], min(shape[-2:])),
                                                         a.shape[:-2] + (min(shape[-2:]), shape[-1])))]
    A = Tensor(a, requires_grad=True)
    assert tl.gradcheck(lambda X: sum((f * v).sum() for f, v in zip(tl.linalg.lu(X)[1:], w)), [A], eps=1e-6,
                        atol=1e-7, rtol=1e-5)
    wl = Tensor(rnd(63, *shape))
    assert tl.gradcheck(lambda X: (tl.linalg.lu_factor(X).LU * wl).sum(), [A], eps=1e-6, atol=1e-7, rtol=1e-5)
    if shape[-1] == shape[-2]:
        LU, piv = tl.linalg.lu_factor(Tensor(a))
        L0, B = Tensor(LU.numpy().copy(), requires_grad=True), Tensor(rnd(64, *shape[:-1], 2), requires_grad=True)
        wx = Tensor(rnd(65, *shape[:-1], 2))
        assert tl.gradcheck(lambda X, Y: (tl.linalg.lu_solve(X, piv, Y) * wx).sum(), [L0, B], eps=1e-6,
                            atol=1e-7, rtol=1e-5)


# ------------------------------------------------------------------ refusals ---------
def _torch_raises(fn: Callable, exc: Any = (RuntimeError, TypeError, IndexError)) -> None:
    with pytest.raises(exc):
        fn()


@pytest.mark.parametrize("name", ["lu_factor", "lu_factor_ex", "lu"])
def test_pivot_false_is_refused_as_on_torchs_cpu(name: str) -> None:
    a = rnd(70, 3, 3)
    with pytest.raises(RuntimeError, match=rf"linalg\.{name}: LU without pivoting \(pivot=False\) is not "
                                           "implemented on the CPU"):
        getattr(tl.linalg, name)(Tensor(a), pivot=False)
    _torch_raises(lambda: getattr(torch.linalg, name)(torch.tensor(a), pivot=False))
    with pytest.raises(RuntimeError, match=r"^lu: LU without pivoting"):
        tl.lu(Tensor(a), pivot=False)
    with pytest.raises(TypeError, match=rf"linalg\.{name}: pivot must be a bool, got 1"):
        getattr(tl.linalg, name)(Tensor(a), pivot=1)
    _torch_raises(lambda: getattr(torch.linalg, name)(torch.tensor(a), pivot=1))


def test_singular_lu_factor_raises_like_torch() -> None:
    a = np.stack([rnd(71, 3, 3), SINGULAR])
    with pytest.raises(RuntimeError, match=r"linalg\.lu_factor: U\[3,3\] of the input of shape \(2, 3, 3\) "
                                           r"\(batch index \(1,\)\) is zero"):
        tl.linalg.lu_factor(Tensor(a))
    _torch_raises(lambda: torch.linalg.lu_factor(torch.tensor(a)))
    with pytest.raises(RuntimeError, match=r"linalg\.lu_factor_ex: U\[3,3\]"):
        tl.linalg.lu_factor_ex(Tensor(a), check_errors=True)
    _torch_raises(lambda: torch.linalg.lu_factor_ex(torch.tensor(a), check_errors=True))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_, np.float16])
def test_non_float_input_is_refused(dtype: Any) -> None:
    a = np.ones((3, 3), dtype)
    for name in ("lu_factor", "lu_factor_ex", "lu"):
        with pytest.raises(RuntimeError, match=rf"linalg\.{name}: A must be a float32 or float64 tensor, got"):
            getattr(tl.linalg, name)(Tensor(a))
        with pytest.raises(RuntimeError):
            getattr(torch.linalg, name)(torch.tensor(a))
    with pytest.raises(TypeError, match=r"linalg\.tensorinv: A must be a float32 or float64"):
        tl.linalg.tensorinv(Tensor(np.ones((2, 2, 4), dtype)), ind=2)
    with pytest.raises(TypeError, match=r"linalg\.lu_solve: LU must be a float32 or float64"):
        tl.linalg.lu_solve(Tensor(a), Tensor(np.ones(3, np.int32)), Tensor(a))


def test_too_few_axes_are_refused() -> None:
    for fn, who in ((tl.linalg.lu_factor, "linalg.lu_factor"), (tl.linalg.lu, "linalg.lu"), (tl.lu, "lu")):
        with pytest.raises(RuntimeError, match=rf"^{who}: A must have at least 2 axes \(matrices\), got shape \(3,\)"):
            fn(Tensor(np.ones(3)))
    _torch_raises(lambda: torch.linalg.lu(torch.ones(3)))
    with pytest.raises(RuntimeError, match=r"lu_unpack: LU_data must have at least 2 axes"):
        tl.lu_unpack(Tensor(np.ones(3)), Tensor(np.ones(3, np.int32)))


def test_lu_solve_refusals_match_torchs() -> None:
    a, b = rnd(72, 3, 3), rnd(73, 3, 2)
    LU, piv = tl.linalg.lu_factor(Tensor(a))
    tLU, tpiv = torch.linalg.lu_factor(torch.tensor(a))
    B, tB = Tensor(b), torch.tensor(b)
    cases = [
        (lambda: tl.linalg.lu_solve(LU, Tensor(piv.numpy().astype(np.int64)), B),
         lambda: torch.linalg.lu_solve(tLU, tpiv.long(), tB), r"pivots must be an int32 tensor .* got int64"),
        (lambda: tl.linalg.lu_solve(LU, piv[:2], B), lambda: torch.linalg.lu_solve(tLU, tpiv[:2], tB),
         r"pivots must have shape LU.shape\[:-1\] = \(3,\), got \(2,\)"),
        (lambda: tl.linalg.lu_solve(LU, piv.unsqueeze(0).expand(2, 3), B),
         lambda: torch.linalg.lu_solve(tLU, tpiv.expand(2, 3), tB), r"pivots must have shape .* got \(2, 3\)"),
        (lambda: tl.linalg.lu_solve(LU, Tensor(np.array([4, 3, 3], np.int32)), B),
         lambda: torch.linalg.lu_solve(tLU, torch.tensor([4, 3, 3], dtype=torch.int32), tB),
         r"the pivots must lie between 1 and 3 .* from 3 to 4"),
        (lambda: tl.linalg.lu_solve(LU, Tensor(np.array([0, 3, 3], np.int32)), B),
         lambda: torch.linalg.lu_solve(tLU, torch.tensor([0, 3, 3], dtype=torch.int32), tB),
         r"the pivots must lie between 1 and 3 .* from 0 to 3"),
        (lambda: tl.linalg.lu_solve(LU, piv, B[:, 0]), lambda: torch.linalg.lu_solve(tLU, tpiv, tB[:, 0]),
         r"B must have at least 2 axes, got shape \(3,\)"),
        (lambda: tl.linalg.lu_solve(LU, piv, B.mT), lambda: torch.linalg.lu_solve(tLU, tpiv, tB.mT),
         r"LU of shape \(3, 3\) and B of shape \(2, 3\) do not fit the equation AX = B"),
        (lambda: tl.linalg.lu_solve(LU, piv, B, left=False), lambda: torch.linalg.lu_solve(tLU, tpiv, tB, left=False),
         r"LU of shape \(3, 3\) and B of shape \(3, 2\) do not fit the equation XA = B"),
        (lambda: tl.linalg.lu_solve(LU, piv, B.float()), lambda: torch.linalg.lu_solve(tLU, tpiv, tB.float()),
         r"LU and B must have the same dtype, got float64 and float32"),
        (lambda: tl.linalg.lu_solve(LU[:, :2], piv[:2], B), lambda: torch.linalg.lu_solve(tLU[:, :2], tpiv[:2], tB),
         r"LU must be a \(batch of\) square matrices \(\*, n, n\), got shape \(3, 2\)"),
        (lambda: tl.linalg.lu_solve(LU.unsqueeze(0).expand(2, 3, 3), piv.unsqueeze(0).expand(2, 3),
                                    Tensor(rnd(74, 3, 3, 2))),
         lambda: torch.linalg.lu_solve(tLU.expand(2, 3, 3), tpiv.expand(2, 3), torch.tensor(rnd(74, 3, 3, 2))),
         r"the batch axes of LU \(2, 3, 3\) and B \(3, 3, 2\) do not broadcast"),
    ]
    for mine, theirs, msg in cases:
        with pytest.raises(RuntimeError, match=r"^linalg\.lu_solve: " + msg):
            mine()
        _torch_raises(theirs)
    with pytest.raises(TypeError, match=r"linalg\.lu_solve: left must be a bool, got 1"):
        tl.linalg.lu_solve(LU, piv, B, left=1)
    with pytest.raises(RuntimeError, match=r"^lu_solve: pivots must be an int32 tensor"):
        tl.lu_solve(B, LU, Tensor(piv.numpy().astype(np.int64)))
    _torch_raises(lambda: torch.lu_solve(tB, tLU, tpiv.long()))


def test_lu_unpack_refusals() -> None:
    a = rnd(75, 3, 3)
    LU, piv = tl.linalg.lu_factor(Tensor(a))
    tLU, tpiv = torch.linalg.lu_factor(torch.tensor(a))
    with pytest.raises(RuntimeError, match=r"^lu_unpack: LU_pivots must be an int32 tensor .* got float64"):
        tl.lu_unpack(LU, Tensor(piv.numpy().astype(np.float64)))
    _torch_raises(lambda: torch.lu_unpack(tLU, tpiv.double()))
    with pytest.raises(RuntimeError, match=r"^lu_unpack: the pivots must lie between 1 and 3"):
        tl.lu_unpack(LU, Tensor(np.array([1, 4, 3], np.int32)))
    _torch_raises(lambda: torch.lu_unpack(tLU, torch.tensor([1, 4, 3], dtype=torch.int32)))
    with pytest.raises(RuntimeError, match=r"^lu_unpack: LU_pivots of shape \(2, 3\) do not fit LU_data of shape "
                                           r"\(3, 3\) \(expected \(\*, 3\)"):
        tl.lu_unpack(LU, Tensor(np.ones((2, 3), np.int32)))
    with pytest.raises(TypeError, match=r"^lu_unpack: unpack_data must be a bool, got 1"):
        tl.lu_unpack(LU, piv, 1)


def test_tensorinv_tensorsolve_refusals_match_torchs() -> None:
    a = Tensor(rnd(76, 4, 6, 8, 3))
    ta = torch.tensor(a.numpy())
    cases = [
        (lambda: tl.linalg.tensorinv(a, ind=0), lambda: torch.linalg.tensorinv(ta, ind=0),
         r"linalg\.tensorinv: ind must be a strictly positive int, got 0"),
        (lambda: tl.linalg.tensorinv(a, ind=1), lambda: torch.linalg.tensorinv(ta, ind=1),
         r"linalg\.tensorinv: A of shape \(4, 6, 8, 3\) with ind=1 is not square once reshaped: "
         r"prod\(A.shape\[:ind\]\) = 4 but prod\(A.shape\[ind:\]\) = 144"),
        (lambda: tl.linalg.tensorinv(a, ind=5), lambda: torch.linalg.tensorinv(ta, ind=5),
         r"linalg\.tensorinv: ind=5 is larger than the number of axes of A"),
        (lambda: tl.linalg.tensorinv(Tensor(np.zeros((2, 2, 4))), ind=2),
         lambda: torch.linalg.tensorinv(torch.zeros(2, 2, 4, dtype=torch.float64), ind=2),
         r"linalg\.tensorinv: the input of shape \(4, 4\) is singular"),
        (lambda: tl.linalg.tensorsolve(Tensor(rnd(77, 6, 4, 2, 3, 4)), Tensor(rnd(78, 6, 5))),
         lambda: torch.linalg.tensorsolve(torch.tensor(rnd(77, 6, 4, 2, 3, 4)), torch.tensor(rnd(78, 6, 5))),
         r"linalg\.tensorsolve: A of shape \(6, 4, 2, 3, 4\) and B of shape \(6, 5\) do not fit"),
        (lambda: tl.linalg.tensorsolve(Tensor(rnd(77, 4, 6)), Tensor(rnd(78, 6))),
         lambda: torch.linalg.tensorsolve(torch.tensor(rnd(77, 4, 6)), torch.tensor(rnd(78, 6))),
         r"linalg\.tensorsolve: A of shape \(4, 6\) and B of shape \(6,\) do not fit"),
        (lambda: tl.linalg.tensorsolve(Tensor(rnd(77, 2, 3, 6)), Tensor(rnd(78, 2, 3).astype(np.float32))),
         lambda: torch.linalg.tensorsolve(torch.tensor(rnd(77, 2, 3, 6)), torch.tensor(rnd(78, 2, 3)).float()),
         r"linalg\.tensorsolve: A and B must have the same dtype, got float64 and float32"),
    ]
    for mine, theirs, msg in cases:
        with pytest.raises(RuntimeError, match="^" + msg):
            mine()
        _torch_raises(theirs)
    with pytest.raises(TypeError, match=r"linalg\.tensorinv: ind must be an int, got True"):
        tl.linalg.tensorinv(a, ind=True)
    with pytest.raises(TypeError, match=r"linalg\.tensorsolve: dims must be a tuple of ints or None, got 2"):
        tl.linalg.tensorsolve(a, Tensor(rnd(79, 4, 6)), dims=2)


def test_decompositions_refuse_integer_and_half_input_and_mixed_solve_dtypes_as_torch() -> None:
    ints = np.array([[2, 1], [1, 3]])
    cases = [
        (lambda: tl.linalg.inv(Tensor(ints)), lambda: torch.linalg.inv(torch.tensor(ints)),
         r"linalg\.inv: A must be a float32 or float64 tensor, got int64"),
        (lambda: tl.linalg.det(Tensor(ints)), lambda: torch.linalg.det(torch.tensor(ints)),
         r"linalg\.det: A must be a float32 or float64 tensor, got int64"),
        (lambda: tl.linalg.cholesky(Tensor(ints)), lambda: torch.linalg.cholesky(torch.tensor(ints)),
         r"linalg\.cholesky: A must be a float32 or float64 tensor, got int64"),
        (lambda: tl.linalg.inv(Tensor(ints.astype(np.float16))),
         lambda: torch.linalg.inv(torch.tensor(ints, dtype=torch.float16)),
         r"linalg\.inv: A must be a float32 or float64 tensor, got float16"),
        (lambda: tl.linalg.solve(Tensor(ints.astype(np.float32)), Tensor(np.ones(2))),
         lambda: torch.linalg.solve(torch.tensor(ints, dtype=torch.float32), torch.ones(2, dtype=torch.float64)),
         r"linalg\.solve: A and B must have the same dtype, got A float32 and B float64"),
        (lambda: tl.linalg.solve(Tensor(ints.astype(np.float64)), Tensor(np.array([1, 2]))),
         lambda: torch.linalg.solve(torch.tensor(ints, dtype=torch.float64), torch.tensor([1, 2])),
         r"linalg\.solve: A and B must have the same dtype, got A float64 and B int64"),
        (lambda: tl.linalg.matrix_power(Tensor(ints), -1), lambda: torch.linalg.matrix_power(torch.tensor(ints), -1),
         r"linalg\.matrix_power: A must be a float32 or float64 tensor, got int64"),
    ]
    for mine, theirs, msg in cases:
        with pytest.raises(RuntimeError, match="^" + msg):
            mine()
        _torch_raises(theirs)
    # a non-negative power of an integer matrix stays an integer matrix, as in torch
    got = tl.linalg.matrix_power(Tensor(ints), 3)
    want = torch.linalg.matrix_power(torch.tensor(ints), 3)
    assert got.dtype == tl.int64 and np.array_equal(got.numpy(), want.numpy())
