"""Higher-order gradients (``create_graph=True``) of the ops added to the differentiable
backward: each op's first gradient and the gradient of a non-linear function of it against
torch in float64, the first gradient as a function against finite differences, Hessians of
composite models, and the refusals that remain."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import close

import tinygrad_lite as tl
from tinygrad_lite.tensor import Tensor

torch = pytest.importorskip("torch")

TOL = 1e-9


def _np(t: object) -> np.ndarray:
    return t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t.data)


def _twice(m: object, fn: object, arrays: list, W: np.ndarray, Vs: list) -> tuple:
    """First gradients g_i of <fn(xs), W> with create_graph, and the gradients of
    S = sum_i <g_i, V_i> + |g_i|^2 / 2 + sum sin(g_i) (a non-linear function of them)."""
    xs = [m.tensor(a, requires_grad=True) for a in arrays]
    out = fn(m, *xs)
    first = m.autograd.grad((out * m.tensor(W)).sum(), xs, create_graph=True)
    S = None
    for g, V in zip(first, Vs):
        term = (g * m.tensor(V)).sum() + (g * g).sum() * 0.5 + g.sin().sum()
        S = term if S is None else S + term
    if not S.requires_grad:
        return [_np(g) for g in first], [np.zeros(a.shape) for a in arrays], _np(out)
    second = m.autograd.grad(S, xs, allow_unused=True)
    return ([_np(g) for g in first], [np.zeros(a.shape) if s is None else _np(s) for a, s in zip(arrays, second)],
            _np(out))


def _compare(name: str, fn: object, arrays: list, tol: float = TOL) -> None:
    r = np.random.default_rng(1)
    out = fn(torch, *[torch.tensor(a) for a in arrays])
    W = r.standard_normal(tuple(out.shape))
    Vs = [r.standard_normal(a.shape) for a in arrays]
    f1, s1, o1 = _twice(tl, fn, arrays, W, Vs)
    f2, s2, o2 = _twice(torch, fn, arrays, W, Vs)
    close(o1, o2, f"{name}: value", tol)
    for i, (a, b) in enumerate(zip(f1, f2)):
        close(a, b, f"{name}: first gradient of input {i}", tol)
    for i, (a, b) in enumerate(zip(s1, s2)):
        close(a, b, f"{name}: second-order gradient of input {i}", tol)


R = np.random.default_rng(0)
X34, X234 = R.standard_normal((3, 4)), R.standard_normal((2, 3, 4))
Y4, P34, U34 = R.standard_normal(4), R.uniform(0.5, 3.0, (3, 4)), R.uniform(-0.8, 0.8, (3, 4))
XZ = X34.copy()
XZ[0, 1] = XZ[1, 2] = XZ[1, 3] = XZ[2, 0] = 0.0  # one zero in rows 0 and 2, two in row 1
A3 = R.standard_normal((3, 3)) + 3 * np.eye(3)
AB = R.standard_normal((2, 3, 3)) + 3 * np.eye(3)
B32 = R.standard_normal((3, 2))
I32 = np.array([[0, 2], [1, 1], [3, 0]])
J3 = np.array([2, 0, 2])


def _t(m: object, a: np.ndarray) -> object:
    return m.tensor(a)


def _unpool(m: object, a: object) -> object:
    y, i = m.nn.functional.max_pool2d(a * a, 2, return_indices=True)
    return m.nn.functional.max_unpool2d(y.tanh(), i, 2).sin()


def _svd_f(m: object, a: object) -> object:
    U, s, Vh = m.linalg.svd(a, full_matrices=False)
    return (U[:, :2] ** 2).sum() * s + (Vh[:2] ** 4).sum()


def _svd_rebuilt(m: object, a: object) -> object:
    U, s, Vh = m.linalg.svd(a, full_matrices=False)
    return U @ m.diag_embed(s.exp()) @ Vh


def _eigh_f(m: object, a: object) -> object:
    w, V = m.linalg.eigh(a + a.mT)
    return w * (V ** 4).sum() + (V @ m.diag_embed(w.tanh()) @ V.mT).sum(-1)


def _qr_f(m: object, a: object) -> object:
    Q, R_ = m.linalg.qr(a)
    return Q @ R_.exp()


# (id, fn(m, *tensors) for m in (tl, torch), input arrays)
OPS = [
    # products and scans (zeros in the input too, as torch)
    ("prod_dim", lambda m, a: a.prod(1), [X34]),
    ("prod_dim_zeros", lambda m, a: a.prod(1), [XZ]),
    ("prod_keepdim_zeros", lambda m, a: a.prod(0, keepdim=True) * a, [XZ]),
    ("prod_all", lambda m, a: a.prod(), [X34]),
    ("prod_3d", lambda m, a: a.prod(-2) ** 2, [X234]),
    ("cumprod", lambda m, a: a.cumprod(1), [X34]),
    ("cumprod_dim0_zeros", lambda m, a: a.cumprod(0) * a, [XZ]),
    ("cumprod_zeros", lambda m, a: a.cumprod(-1), [XZ]),
    ("logcumsumexp", lambda m, a: m.logcumsumexp(a, 1) ** 2, [X34]),
    ("logcumsumexp_3d", lambda m, a: a.logcumsumexp(0).tanh(), [X234]),
    # selections along an axis
    ("sort", lambda m, a: a.sort(1, descending=True)[0] * a, [X34]),
    ("sort_dim0", lambda m, a: m.sort(a * a, 0)[0].exp(), [X234]),
    ("topk", lambda m, a: a.topk(2, 0)[0] ** 2, [X34]),
    ("topk_smallest", lambda m, a: m.topk(a.tanh(), 3, dim=-1, largest=False)[0] ** 3, [X234]),
    ("max_min_dim", lambda m, a: a.max(dim=1)[0] * a.min(dim=0, keepdim=True)[0].sum() + a.amax(1) ** 2
     * a.amin(-1).sum(), [X234]),
    ("median_kthvalue", lambda m, a: a.median(1)[0] ** 2 + a.kthvalue(2, 0)[0].sum() * a[0, 0], [X34]),
    # matrix-shaped ops
    ("tril_triu", lambda m, a: m.tril(a * a, -1) + m.triu(a, 1) * a, [X34]),
    ("tril_3d", lambda m, a: a.tril(1).exp() * a.triu(), [X234]),
    ("diagonal", lambda m, a: m.diagonal(a * a, 1) * a.diagonal(), [X34]),
    ("diagonal_dims", lambda m, a: (a * a).diagonal(0, 0, 2) ** 2 + (a * a).diagonal(-1, 2, 1).sum(), [X234]),
    ("diag_vector", lambda m, a: m.diag(a * a, 1) ** 2, [Y4]),
    ("diag_matrix_trace", lambda m, a: m.diag(a * a) ** 2 + m.trace(a * a) * a[0, :3], [X34]),
    ("diag_embed", lambda m, a: m.diag_embed(a * a, -1) ** 2, [X34]),
    ("einsum_mm", lambda m, a, b: m.einsum("ij,jk->ik", a, b) ** 2, [X34, R.standard_normal((4, 2))]),
    ("einsum_batch", lambda m, a, b: m.einsum("bij,jk->bk", a, b) ** 2, [X234, R.standard_normal((4, 2))]),
    ("einsum_ellipsis", lambda m, a, b: m.einsum("...j,...j->...", a, b) ** 2, [X234, X34]),
    ("einsum_outer3", lambda m, a, b, c: m.einsum("i,j,k->ijk", a, b, c).tanh(), [Y4, Y4[:3], Y4[:2]]),
    ("einsum_permute_sum", lambda m, a, b: m.einsum("ij->ji", a) ** 3 + m.einsum("ij,kj->", a, b) ** 2,
     [X34, R.standard_normal((2, 4))]),
    ("einsum_broadcast", lambda m, a, b: m.einsum("bij,bj->bi", a, b).sin(), [X234, R.standard_normal((1, 4))]),
    # binary elementwise (broadcasting)
    ("atan2", lambda m, a, b: m.atan2(a, b) * a, [X34, Y4]),
    ("hypot", lambda m, a, b: m.hypot(a, b) ** 2 + m.hypot(a, b).log(), [X34, Y4]),
    ("xlogy", lambda m, a, b: m.xlogy(a, b) * a, [X34, P34[0]]),
    ("logaddexp", lambda m, a, b: m.logaddexp(a, b) ** 2 + m.logaddexp2(b, a), [X34, Y4]),
    ("copysign", lambda m, a, b: m.copysign(a, b) * a, [X34, Y4]),
    ("fmod_remainder", lambda m, a, b: m.fmod(a, b) * a + m.remainder(a, b) ** 2, [X34, P34]),
    ("fmax_fmin", lambda m, a, b: m.fmax(a, b) ** 2 * m.fmin(a, b), [X34, Y4]),
    # special functions
    ("erf_erfc", lambda m, a: m.erf(a) * m.erfc(a) + m.erfc(a * a), [X34]),
    ("erfinv", lambda m, a: m.erfinv(a) ** 2, [U34]),
    ("i0_i1", lambda m, a: m.i0(a) * m.special.i1(a), [X34]),
    ("i0e_i1e", lambda m, a: m.special.i0e(a) + m.special.i1e(a) ** 2, [X34]),
    ("sinc", lambda m, a: m.sinc(a) * a, [X34]),
    ("entr_log_ndtr", lambda m, a: m.special.entr(a) * m.special.log_ndtr(a - 1.5), [P34]),
    ("ndtri", lambda m, a: m.special.ndtri(a * 0.5 + 0.5) ** 2, [U34]),
    # normalisation and attention
    ("group_norm", lambda m, x, w, b: m.nn.functional.group_norm(x * x, 2, w, b, eps=1e-3).tanh(),
     [R.standard_normal((2, 4, 3)), R.standard_normal(4), R.standard_normal(4)]),
    ("group_norm_2d", lambda m, x: m.nn.functional.group_norm(x, 1) ** 3, [R.standard_normal((2, 3, 2, 2))]),
    ("instance_norm", lambda m, x: m.nn.functional.instance_norm(x * x).tanh(), [R.standard_normal((2, 3, 4))]),
    ("sdpa", lambda m, q, k, v: m.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True).tanh(),
     [X234, R.standard_normal((2, 3, 4)), R.standard_normal((2, 3, 4))]),
    # convolutions, fold / unfold, unpooling
    ("conv_transpose2d", lambda m, x, w, b: m.nn.functional.conv_transpose2d(
        x * x, w, b, stride=2, padding=1, output_padding=1).tanh(),
     [R.standard_normal((2, 3, 3, 4)), R.standard_normal((3, 2, 3, 3)), R.standard_normal(2)]),
    ("conv_transpose1d", lambda m, x, w: m.nn.functional.conv_transpose1d(x * x, w, groups=2, dilation=2) ** 2,
     [R.standard_normal((2, 4, 5)), R.standard_normal((4, 1, 3))]),
    ("unfold", lambda m, a: m.nn.functional.unfold(a * a, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)).tanh(),
     [R.standard_normal((2, 2, 5, 6))]),
    ("fold", lambda m, a: m.nn.functional.fold(a * a, (4, 5), 2, padding=1).tanh(), [R.standard_normal((2, 8, 30))]),
    ("max_unpool", _unpool, [R.standard_normal((2, 2, 4, 4))]),
    # linear algebra
    ("inv", lambda m, a: m.linalg.inv(a), [A3]),
    ("inv_batched", lambda m, a: m.linalg.inv(a) ** 2, [AB]),
    ("det", lambda m, a: m.linalg.det(a), [A3]),
    ("det_batched", lambda m, a: m.linalg.det(a * a), [AB]),
    ("det_singular", lambda m, a: m.linalg.det(a) * a, [R.standard_normal((3, 2)) @ R.standard_normal((2, 3))]),
    ("slogdet_logdet", lambda m, a: m.linalg.slogdet(a)[1] + m.logdet(a @ a.mT) ** 2, [A3]),
    ("solve", lambda m, a, b: m.linalg.solve(a, b), [A3, B32]),
    ("solve_broadcast", lambda m, a, b: m.linalg.solve(a, b) ** 2, [AB, B32]),
    ("solve_triangular", lambda m, a, b: m.linalg.solve_triangular(a, b, upper=False) + m.linalg.solve_triangular(
        a, b, upper=True, unitriangular=True), [A3, B32]),
    ("cholesky", lambda m, a: m.linalg.cholesky(a @ a.mT), [A3]),
    ("cholesky_solve", lambda m, b, a: m.cholesky_solve(b, m.linalg.cholesky(a @ a.mT)), [B32, A3]),
    ("matrix_exp", lambda m, a: m.linalg.matrix_exp(a * 0.3), [A3]),
    ("pinv_wide", lambda m, a: m.linalg.pinv(a), [X34]),
    ("pinv_tall", lambda m, a: m.linalg.pinv(a), [R.standard_normal((2, 4, 3))]),
    ("lstsq", lambda m, a, b: m.linalg.lstsq(a, b).solution, [R.standard_normal((4, 3)), R.standard_normal((4, 2))]),
    ("norms", lambda m, a: m.linalg.vector_norm(a, 3, dim=1) * m.linalg.matrix_norm(a) + m.linalg.norm(a, dim=0).sum(),
     [X34]),
    # decompositions (functions of the factors that do not depend on their signs)
    ("svdvals", lambda m, a: m.linalg.svdvals(a) ** 2, [R.standard_normal((2, 4, 3))]),
    ("nuclear_spectral_cond", lambda m, a: m.linalg.matrix_norm(a, "nuc") * m.linalg.matrix_norm(a, 2)
     + m.linalg.cond(a[:, :3]), [X34]),
    ("svd_wide", lambda m, a: _svd_f(m, a), [X34]),
    ("svd_tall", lambda m, a: _svd_f(m, a), [R.standard_normal((4, 3))]),
    ("svd_rebuilt", lambda m, a: _svd_rebuilt(m, a), [R.standard_normal((2, 3, 3))]),
    ("eigh", lambda m, a: _eigh_f(m, a), [R.standard_normal((2, 3, 3))]),
    ("eigvalsh", lambda m, a: m.linalg.eigvalsh(a + a.mT) ** 3, [A3]),
    ("qr_tall", lambda m, a: _qr_f(m, a), [R.standard_normal((2, 4, 3))]),
    ("qr_square", lambda m, a: _qr_f(m, a), [A3]),
    ("qr_wide", lambda m, a: (m.linalg.qr(a)[1] ** 2).sum() * m.linalg.qr(a)[0].sum(1) ** 2,
     [R.standard_normal((3, 5))]),
    ("einsum_repeated_letters", lambda m, a, b: m.einsum("iij,jk->ik", a, b) ** 2 + m.einsum("ii->", a[..., 0]) * b[:3],
     [R.standard_normal((3, 3, 4)), R.standard_normal((4, 2))]),
    ("einsum_diagonal_batch", lambda m, a, b: m.einsum("bii,bi->b", a, b).sin() + m.einsum("bjj->bj", a * a).sum(-1),
     [R.standard_normal((2, 3, 3)), R.standard_normal((2, 3))]),
    ("einsum_two_diagonals", lambda m, a, b: m.einsum("ijij,ij->", a, b * b) * b,
     [R.standard_normal((2, 3, 2, 3)), R.standard_normal((2, 3))]),
    # scatter and index ops
    ("scatter", lambda m, a, b: m.scatter(a * a, 1, _t(m, np.array([[0, 2], [1, 3], [3, 0]])), b * b).tanh(),
     [X34, B32]),
    ("scatter_add", lambda m, a, b: m.scatter_add(a * a, 1, _t(m, I32), b * b).tanh(), [X34, B32]),
    ("scatter_reduce_sum", lambda m, a, b: (a * a).scatter_reduce(1, _t(m, I32), b * b, "sum",
                                                                  include_self=False).tanh(), [X34, B32]),
    ("scatter_reduce_mean", lambda m, a, b: (a * a).scatter_reduce(1, _t(m, I32), b * b, "mean").tanh(), [X34, B32]),
    ("scatter_reduce_mean_ex", lambda m, a, b: (a * a).scatter_reduce(1, _t(m, I32), b * b, "mean",
                                                                      include_self=False).tanh(), [X34, B32]),
    ("scatter_reduce_amax", lambda m, a, b: (a * a).scatter_reduce(1, _t(m, I32), b * b, "amax").tanh(), [X34, B32]),
    ("scatter_reduce_amin_ex", lambda m, a, b: a.scatter_reduce(1, _t(m, I32), b, "amin", include_self=False) ** 2,
     [X34, B32]),
    ("index_add", lambda m, a, b: (a * a).index_add(0, _t(m, J3), b * b, alpha=0.5).tanh(), [X34, X34 + 1]),
    ("index_copy", lambda m, a, b: (a * a).index_copy(1, _t(m, np.array([3, 0])), b * b).tanh(), [X34, B32]),
    ("index_put", lambda m, a, b: (a * a).index_put((_t(m, np.array([0, 2, 0])),), b * b, accumulate=True).tanh(),
     [X34, Y4]),
    ("index_put_broadcast", lambda m, a, b: (a * a).index_put((_t(m, np.array([0, 2])), _t(m, np.array([1, 3]))),
                                                              b * b).tanh(), [X34, Y4[:1]]),
    ("index_select_masked", lambda m, a: m.index_select(a * a, 1, _t(m, J3)).exp() + m.masked_fill(
        a, _t(m, np.array([True, False, True, False])), 0.5)[:, :3] ** 2, [X34]),
    ("masked_select_scatter", lambda m, a, b: m.masked_select(a * a, _t(m, X34 > 0)).sum() * (a * a).masked_scatter(
        _t(m, X34 > 0), b * b).tanh(), [X34, R.standard_normal(12)]),
    ("where_broadcast", lambda m, a, b: m.where(_t(m, np.array([True, False, True, False])), a * b, b * b).sin(),
     [X34[:, :1], Y4]),
    ("take_along_dim", lambda m, a: m.take_along_dim(a * a, _t(m, I32), 1).tanh() * m.take(a, _t(m, J3))[:, None],
     [X34]),
]


@pytest.mark.parametrize("name,fn,arrays", OPS, ids=[o[0] for o in OPS])
def test_op_double_backward(name: str, fn: object, arrays: list) -> None:
    _compare(name, fn, arrays)


def test_det_of_a_batch_with_a_singular_matrix_double_backward_exact() -> None:
    """det(a)**2 over a batch holding a rank-2 3x3 matrix: the value and first gradients against
    torch; the second-order gradients against central differences of the exact S (``_twice``)
    at 50 digits (mpmath), since torch's own lose up to ~1e-7 there on some CPUs."""
    mpmath = pytest.importorskip("mpmath")
    arr = np.stack([X34[:, :2] @ X34[:2, :3], A3])
    fn = lambda m, a: m.linalg.det(a) ** 2  # noqa: E731
    r = np.random.default_rng(1)
    W, V = r.standard_normal(2), r.standard_normal(arr.shape)
    f1, s1, o1 = _twice(tl, fn, [arr], W, [V])
    f2, _, o2 = _twice(torch, fn, [arr], W, [V])
    close(o1, o2, "value", TOL)
    close(f1[0], f2[0], "first gradient", TOL)
    mpmath.mp.dps = 50

    def S(a: list) -> object:  # sum_b <g_b, V_b> + |g_b|^2 / 2 + sum sin(g_b), g_b = 2 W_b det(a_b) cof(a_b)
        tot = mpmath.mpf(0)
        for b in range(2):
            d = mpmath.det(mpmath.matrix(a[b]))
            for i in range(3):
                for j in range(3):
                    minor = [[a[b][k][c] for c in range(3) if c != j] for k in range(3) if k != i]
                    g = 2 * W[b] * d * (-1) ** (i + j) * mpmath.det(mpmath.matrix(minor))
                    tot += g * V[b, i, j] + g * g / 2 + mpmath.sin(g)
        return tot

    h = mpmath.mpf(10) ** -20
    exact = np.zeros(arr.shape)
    base = [[[mpmath.mpf(float(v)) for v in row] for row in mat] for mat in arr]
    for idx in np.ndindex(*arr.shape):
        up = [[row[:] for row in mat] for mat in base]
        down = [[row[:] for row in mat] for mat in base]
        b, i, j = idx
        up[b][i][j] += h
        down[b][i][j] -= h
        exact[idx] = float((S(up) - S(down)) / (2 * h))
    close(s1[0], exact, "second-order gradient", 1e-12)


def test_prod_all_with_one_zero_and_with_two() -> None:
    for zeros in ([5], [2, 7]):
        a = R.uniform(0.5, 1.5, (3, 4)) * np.where(R.uniform(size=(3, 4)) < 0.5, -1, 1)
        a.reshape(-1)[zeros] = 0.0
        _compare(f"prod of all with zeros at {zeros}", lambda m, x: x.prod() * x, [a])


# The gamma family: torch's trigamma / polygamma lose ~1e-9 (see test_stats_special), so the
# second-order results are checked against the closed form with mpmath's polygamma.
GAMMA = [("lgamma", lambda m, a: m.lgamma(a), 0), ("digamma", lambda m, a: m.digamma(a), 1),
         ("polygamma2", lambda m, a: m.polygamma(2, a), 3)]  # (k: the first derivative is polygamma(k, x))


@pytest.mark.parametrize("name,fn,n", GAMMA, ids=[g[0] for g in GAMMA])
def test_gamma_family_double_backward_exact(name: str, fn: object, n: int) -> None:
    mpmath = pytest.importorskip("mpmath")
    x0 = P34
    W, V = R.standard_normal(x0.shape), R.standard_normal(x0.shape)
    x = tl.tensor(x0, requires_grad=True)
    (g,) = tl.autograd.grad((fn(tl, x) * tl.tensor(W)).sum(), [x], create_graph=True)
    (s,) = tl.autograd.grad((g * tl.tensor(V)).sum() + (g * g).sum() * 0.5, [x])
    k = n
    d1 = np.vectorize(lambda v: float(mpmath.polygamma(k, v)))(x0)
    d2 = np.vectorize(lambda v: float(mpmath.polygamma(k + 1, v)))(x0)
    close(g.data, W * d1, f"{name}: first gradient", 1e-12)
    close(s.data, (V + W * d1) * W * d2, f"{name}: second-order gradient", 1e-12)
    _compare(name, fn, [x0], 1e-7)  # and torch, within its own accuracy


# ------------------------------------------------------------------ finite differences ------
FD = [
    ("prod_zeros", lambda x: x.prod(1).sum() + x.prod()),
    ("cumprod_zeros", lambda x: (x.cumprod(1) * x).sum()),
    ("logcumsumexp", lambda x: x.logcumsumexp(0).sin().sum()),
    ("det_inv", lambda x: tl.linalg.det(x[:, :3] + 3 * tl.eye(3, dtype=tl.float64)) * tl.linalg.inv(
        x[:, 1:] + 3 * tl.eye(3, dtype=tl.float64)).sum()),
    ("einsum_sort", lambda x: tl.einsum("ij,kj->ik", x, x.sort(1)[0]).tanh().sum()),
    ("group_norm", lambda x: tl.nn.functional.group_norm(x.reshape(1, 4, 3), 2).exp().sum()),
]


@pytest.mark.parametrize("name,f", FD, ids=[c[0] for c in FD])
def test_first_gradient_as_a_function_by_finite_differences(name: str, f: object) -> None:
    r = np.random.default_rng(2)
    v = tl.tensor(r.standard_normal((3, 4)))

    def first(x: Tensor) -> Tensor:
        with tl.enable_grad():
            (g,) = tl.autograd.grad(f(x), [x], create_graph=True)
            return (g * v).sum() + (g * g).sum()

    x0 = r.standard_normal((3, 4))
    if "zeros" in name:
        x0[0, 1] = x0[2, 2] = 0.0
    x = tl.tensor(x0, requires_grad=True)
    assert tl.gradcheck(first, [x], eps=1e-6, atol=1e-6, rtol=1e-5)


# ------------------------------------------------------------------ Hessians of models -----
def _gn_cnn(m: object, x: object, P: list) -> object:
    F = m.nn.functional
    h = F.conv2d(x, P[0], P[1], padding=1)
    h = F.silu(F.group_norm(h, 2, P[2], P[3]))
    h = F.conv_transpose2d(h, P[4], stride=2)
    return F.unfold(h, 2, stride=2).logsumexp(1).sum() + h.amax(dim=(2, 3)).prod()


def test_hessian_of_groupnorm_cnn_input_against_torch_functional_hessian() -> None:
    r = np.random.default_rng(3)
    shapes = [(4, 2, 3, 3), (4,), (4,), (4,), (4, 2, 2, 2)]
    P = [r.standard_normal(s) * 0.5 for s in shapes]
    x0 = r.standard_normal((1, 2, 3, 3))
    Pt = [torch.tensor(p) for p in P]
    want = torch.autograd.functional.hessian(lambda x: _gn_cnn(torch, x, Pt), torch.tensor(x0)).numpy()
    want = want.reshape(x0.size, x0.size)
    Pl = [tl.tensor(p) for p in P]
    x = tl.tensor(x0, requires_grad=True)
    (g,) = tl.autograd.grad(_gn_cnn(tl, x, Pl), [x], create_graph=True)
    rows = [tl.autograd.grad(g.reshape(-1)[i], [x], retain_graph=True)[0].data.reshape(-1) for i in range(x0.size)]
    H = np.array(rows)
    close(H, want, "Hessian of the GroupNorm CNN", TOL)
    close(H, H.T, "symmetric", 1e-12)


def test_hessian_vector_product_of_transformer_block_parameters() -> None:
    """A pre-norm transformer block (causal self-attention, cross-attention to a memory
    through the packed in-projection, LayerNorm, a GELU MLP): H v for all parameters,
    against torch's double grad."""
    r = np.random.default_rng(4)
    E, H_, T_ = 4, 2, 3
    x0, y0, mem0 = r.standard_normal((2, T_, E)), r.standard_normal((2, T_, E)), r.standard_normal((2, 5, E))
    mask = np.triu(np.full((T_, T_), -np.inf), 1)
    torch.manual_seed(0)
    tm = {"attn": torch.nn.MultiheadAttention(E, H_, batch_first=True).double(),
          "ln1": torch.nn.LayerNorm(E).double(), "ln2": torch.nn.LayerNorm(E).double(),
          "fc1": torch.nn.Linear(E, 8).double(), "fc2": torch.nn.Linear(8, E).double()}
    res = []
    for m in (tl, torch):
        if m is torch:
            mods = tm
        else:
            mods = {"attn": tl.nn.MultiheadAttention(E, H_, batch_first=True).double(),
                    "ln1": tl.nn.LayerNorm(E).double(), "ln2": tl.nn.LayerNorm(E).double(),
                    "fc1": tl.nn.Linear(E, 8).double(), "fc2": tl.nn.Linear(8, E).double()}
            for k, mod in mods.items():
                mod.load_state_dict({n: v.detach().numpy() for n, v in tm[k].state_dict().items()})
        params = [p for k in sorted(mods) for p in mods[k].parameters()]
        x = m.tensor(x0)
        h = mods["ln1"](x)
        a = mods["attn"](h, h, h, attn_mask=m.tensor(mask))[0]  # (torch's fused kernel has no double backward)
        x = x + a
        mem = m.tensor(mem0)
        x = x + mods["attn"](mods["ln1"](x), mem, mem)[0]
        x = x + mods["fc2"](m.nn.functional.gelu(mods["fc1"](mods["ln2"](x))))
        loss = ((x - m.tensor(y0)) ** 2).mean()
        gs = m.autograd.grad(loss, params, create_graph=True)
        V = [np.random.default_rng(5 + i).standard_normal(tuple(p.shape)) for i, p in enumerate(params)]
        hv = m.autograd.grad(gs, params, grad_outputs=[m.tensor(v) for v in V])
        res.append(([_np(g) for g in gs], [_np(h) for h in hv]))
    for i, (a, b) in enumerate(zip(res[0][0], res[1][0])):
        close(a, b, f"gradient of parameter {i}", TOL)
    for i, (a, b) in enumerate(zip(res[0][1], res[1][1])):
        close(a, b, f"Hv of parameter {i}", TOL)


TWICE = [
    ("layer_norm", lambda m, x, w, b: m.nn.functional.layer_norm(x, (4,), w, b)),
    ("group_norm", lambda m, x, w, b: m.nn.functional.group_norm(x, 2, w, b)),
    ("batch_norm", lambda m, x, w, b: m.nn.functional.batch_norm(x, None, None, w, b, training=True)),
    ("conv1d", lambda m, x, w, b: m.nn.functional.conv1d(x, w.reshape(4, 1, 1).expand(4, 4, 1) * 0.5, b)),
]


@pytest.mark.parametrize("name,layer", TWICE, ids=[t[0] for t in TWICE])
def test_layer_applied_twice_in_series(name: str, layer: object) -> None:
    """A layer whose differentiable backward recomputes its forward, applied to its own
    output: the gradients of its parameters (and the second-order ones) count each use once."""
    r = np.random.default_rng(7)
    arrays = [r.standard_normal((3, 4, 4)), r.uniform(0.5, 1.5, 4), r.standard_normal(4)]

    def fn(m, x, w, b):  # noqa: ANN001, ANN202
        return layer(m, layer(m, x, w, b).tanh() * 2.0, w, b)

    _compare(name, fn, arrays)


def test_gradient_penalty_through_sorted_and_prod_pooling() -> None:
    """WGAN-GP on a critic that pools with topk and prod, against torch."""
    r = np.random.default_rng(6)
    W1, W2 = r.standard_normal((5, 3)) * 0.5, r.standard_normal((1, 2)) * 0.5
    xi0 = r.standard_normal((4, 3))
    grads = []
    for m in (tl, torch):
        w1, w2 = m.tensor(W1, requires_grad=True), m.tensor(W2, requires_grad=True)
        xi = m.tensor(xi0, requires_grad=True)
        h = (xi @ w1.T).tanh()
        feats = m.stack([h.topk(2, 1)[0].sum(1), (h * 0.5 + 1).prod(1)], 1)
        critic = (feats @ w2.T).sum()
        (gx,) = m.autograd.grad(critic, [xi], create_graph=True)
        gp = ((gx.norm(dim=1) - 1) ** 2).mean()
        gp.backward()
        grads.append([_np(w1.grad), _np(w2.grad)])
    for i, (a, b) in enumerate(zip(*grads)):
        close(a, b, f"parameter {i}", TOL)


# ------------------------------------------------------------------ refusals ---------------
def _refused(loss: Tensor, x: Tensor, op: str, *words: str) -> None:
    with pytest.raises(NotImplementedError, match=f"'{op}'") as e:
        tl.autograd.grad(loss, [x], create_graph=True)
    for w in words:
        assert w in str(e.value)
    with pytest.raises(NotImplementedError, match=f"'{op}'"):
        loss.backward(create_graph=True)
    assert x.grad is None  # nothing written
    loss.backward()  # the plain sweep still works
    assert x.grad is not None


def test_refusals_name_the_op_and_change_nothing() -> None:
    x = tl.tensor(np.outer([1.0, 2.0, -1.0], [0.5, 1.0, 2.0]), requires_grad=True)  # rank 1: two zero singular values
    _refused(tl.linalg.det(x) * 2, x, "det", "repeated singular values", "(3, 3)")
    x = tl.tensor(np.array([[1.0, 2.0], [2.0, 4.0]]), requires_grad=True)
    _refused(tl.linalg.slogdet(x * 2)[1] + x.sum(), x, "logabsdet", "singular")
    x = tl.tensor(X34, requires_grad=True)
    _refused((x * x).scatter_reduce(1, tl.tensor(I32), x[:, :2], "prod").sum(), x, "scatter_reduce")
    x = tl.tensor(R.standard_normal((4, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match="mode='complete'"):  # (no gradient at all, as the plain sweep)
        tl.autograd.grad(tl.linalg.qr(x, mode="complete")[0].sum(), [x], create_graph=True)


def test_plain_sweep_unchanged() -> None:
    """create_graph=False still runs the numpy vjps: the same numbers as the graphed sweep
    (up to rounding), and gradients that are plain arrays."""
    for name, fn, arrays in OPS[::7]:
        xs = [tl.tensor(a, requires_grad=True) for a in arrays]
        out = fn(tl, *xs)
        plain = tl.autograd.grad(out.sum(), xs, retain_graph=True)
        graphed = tl.autograd.grad(out.sum(), xs, create_graph=True)
        for p, g in zip(plain, graphed):
            assert not p.requires_grad
            close(p.data, g.data, name, 1e-12)
    assert math.isfinite(float(tl.tensor(1.0).data))


# ------------------------------------------------------------------ per-sample gradients ---
def _ps_model(x: Tensor, mem: Tensor, P: list) -> Tensor:
    h = tl.nn.functional.group_norm(x, 2, P[0], P[1])  # (B, 4, 3): each sample on its own
    mha = tl.nn.MultiheadAttention(4, 2, batch_first=True).double()
    mha.in_proj_weight, mha.in_proj_bias, mha.out_proj.weight, mha.out_proj.bias = P[2:]
    a = mha(h.transpose(0, 2, 1), mem, mem)[0]  # the packed in-projection (query is not key)
    return (a.tanh() + 1.5).prod(-1).sum(-1) + a.topk(2, dim=1)[0].sum((1, 2)) + tl.logcumsumexp(a, 1).sum((1, 2))


def test_per_sample_gradients_through_the_ops_stay_right() -> None:
    """The ops' batch rules are untouched: grad_sample from one plain backward equals each
    sample's own gradient; a create_graph backward of the same loss keeps none, gives the sum."""
    r = np.random.default_rng(8)
    shapes = [(4,), (4,), (12, 4), (12,), (4, 4), (4,)]
    P0 = [r.standard_normal(s) * 0.5 for s in shapes]
    X, M = r.standard_normal((3, 4, 3)), r.standard_normal((3, 5, 4))

    def params() -> list:
        return [tl.nn.Parameter(tl.tensor(p)) for p in P0]

    P = params()
    _ps_model(tl.tensor(X, batched=True), tl.tensor(M, batched=True), P).sum().backward()
    for b in range(3):
        Q = params()
        _ps_model(tl.tensor(X[b:b + 1]), tl.tensor(M[b:b + 1]), Q).sum().backward()
        for i, (p, q) in enumerate(zip(P, Q)):
            close(p.grad_sample[b], q.grad, f"grad_sample of parameter {i}, sample {b}", 1e-12)
    Q = params()
    _ps_model(tl.tensor(X, batched=True), tl.tensor(M, batched=True), Q).sum().backward(create_graph=True)
    for i, (p, q) in enumerate(zip(P, Q)):
        assert q.grad_sample is None
        close(q.grad, p.grad, f"create_graph gradient of parameter {i}", 1e-12)


def test_an_op_mixing_samples_still_refuses_grad_sample() -> None:
    w = tl.tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    x = tl.tensor(np.random.default_rng(9).standard_normal((4, 3)), batched=True)
    (x * w).cumprod(0).sum().backward()  # the scan runs over the sample axis
    with pytest.raises(RuntimeError, match="cumprod"):
        _ = w.grad_sample
