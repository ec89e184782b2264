"""Order statistics, sample statistics, special functions and the new factories against
torch in float64 (values and gradients), exact maths (mpmath) where torch itself is
inexact, finite differences, per-sample gradients and bad input."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import Tensor

torch = pytest.importorskip("torch")

RTOL, ATOL = 1e-12, 1e-14


def _close(ours, want, rtol=RTOL, atol=ATOL, what=""):
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    ours = ours.numpy() if isinstance(ours, Tensor) else np.asarray(ours)
    assert ours.shape == want.shape, (what, ours.shape, want.shape)
    np.testing.assert_allclose(ours, want, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


def _both(*arrays, grad=True):
    return ([tl.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays],
            [torch.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays])


def _compare(f_tl, f_torch, arrays, rtol=RTOL, atol=ATOL, grad_rtol=None, seed=0):
    """Values of f on both libraries, then the gradients of sum(out * g) for a random g."""
    ours_in, torch_in = _both(*arrays)
    got, want = f_tl(*ours_in), f_torch(*torch_in)
    got, want = (list(got), list(want)) if isinstance(want, (tuple, list)) else ([got], [want])
    rng = np.random.default_rng(seed)
    gs = []
    for r, w in zip(got, want):
        _close(r, w, rtol, atol, "value")
        gs.append(rng.normal(size=w.shape) if w.dtype.is_floating_point else None)
    pairs = [(r, w, g) for r, w, g in zip(got, want, gs) if g is not None and w.requires_grad]
    if not pairs:
        return
    sum((r * tl.tensor(g)).sum() for r, _, g in pairs).backward()
    sum((w * torch.tensor(g)).sum() for _, w, g in pairs).backward()
    for a, b in zip(ours_in, torch_in):
        if b.requires_grad:
            want_g = np.zeros(b.shape) if b.grad is None else b.grad.numpy(force=True)
            got_g = np.zeros(b.shape) if a.grad is None else a.grad
            _close(got_g, want_g, grad_rtol or rtol, atol, "gradient")


# ------------------------------------------------------------------ special functions -----
_X = np.concatenate([np.linspace(-7.3, 9.1, 41), [0.5, 1.0, 2.0, 25.0, 33.3, -25.7]])
_POS = np.concatenate([np.linspace(0.05, 9.1, 31), [20.0, 35.5, 150.0]])


@pytest.mark.parametrize("name,ours,theirs,x,grad_rtol", [
    ("lgamma", lambda x: x.lgamma(), torch.lgamma, _X, 1e-12),
    ("digamma", lambda x: x.digamma(), torch.digamma, _X, 2e-9),  # torch's trigamma is good to ~1e-10
    ("i0", lambda x: x.i0(), torch.i0, _X, 1e-12),
    ("erfc", lambda x: x.erfc(), torch.erfc, _X, 1e-12),
    ("sinc", lambda x: x.sinc(), torch.sinc, np.append(_X, [0.0, 1e-9]), 1e-12),
    ("i0e", tl.special.i0e, torch.special.i0e, _X, 1e-12),
    ("i1", tl.special.i1, torch.special.i1, np.append(_X, 0.0), 1e-12),
    ("i1e", tl.special.i1e, torch.special.i1e, np.append(_X, 0.0), 1e-12),
    ("entr", tl.special.entr, torch.special.entr, _POS, 1e-12),
    ("ndtr", tl.special.ndtr, torch.special.ndtr, np.append(_X, [-30.0, 8.0]), 1e-12),
    ("log_ndtr", tl.special.log_ndtr, torch.special.log_ndtr, np.append(_X, [-30.0, -45.5, 12.0]), 1e-12),
    ("ndtri", tl.special.ndtri, torch.special.ndtri, np.array([1e-300, 1e-30, 1e-6, 0.01, 0.3, 0.5, 0.7, 0.999]),
     1e-12),
    ("expit", tl.special.expit, torch.special.expit, _X, 1e-12),
    ("gammaln", tl.special.gammaln, torch.special.gammaln, _X, 1e-12),
    ("psi", tl.special.psi, torch.special.psi, _POS, 2e-9),
    ("polygamma2", lambda x: x.polygamma(2), lambda x: x.polygamma(2), _X, 1e-11),
    ("polygamma3", lambda x: tl.polygamma(3, x), lambda x: torch.polygamma(3, x), _POS, 1e-11),
    ("mvlgamma", lambda x: x.mvlgamma(3), lambda x: x.mvlgamma(3), _POS + 1.0, 1e-12),
    ("multigammaln", lambda x: tl.special.multigammaln(x, 2), lambda x: torch.special.multigammaln(x, 2), _POS + 1,
     1e-12),
    ("sgn", lambda x: x.sgn(), torch.sgn, np.append(_X, 0.0), 1e-12),
    ("deg2rad", tl.deg2rad, torch.deg2rad, _X, 1e-12),
    ("rad2deg", tl.rad2deg, torch.rad2deg, _X, 1e-12),
    ("negative", tl.negative, torch.negative, _X, 1e-12),
    ("absolute", tl.absolute, torch.absolute, _X, 1e-12),
    ("special_round", lambda x: tl.special.round(x, decimals=1), lambda x: torch.special.round(x, decimals=1), _X,
     1e-12),
    ("special_log1p", tl.special.log1p, torch.special.log1p, _POS, 1e-12),
])
def test_elementwise_special_functions_match_torch(name, ours, theirs, x, grad_rtol) -> None:
    _compare(ours, theirs, [x], grad_rtol=grad_rtol)


@pytest.mark.parametrize("name,args", [
    ("erf", ()), ("erfc", ()), ("erfinv", ()), ("logit", ()), ("exp2", ()), ("expm1", ()), ("logsumexp", (1,)),
    ("softmax", (1,)), ("log_softmax", (0,)), ("digamma", ()), ("i0", ()), ("sinc", ()), ("entr", ()),
])
def test_the_special_namespace_matches_torch_special(name, args) -> None:
    a = np.random.default_rng(4).uniform(0.05, 0.95, size=(3, 4))
    _compare(lambda x: getattr(tl.special, name)(x, *args), lambda x: getattr(torch.special, name)(x, *args), [a],
             grad_rtol=1e-9)
    wanted = ("erf erfc erfinv expit logit xlogy xlog1py log1p expm1 exp2 logsumexp softmax log_softmax gammaln "
              "digamma psi polygamma i0 i0e i1 i1e ndtr ndtri log_ndtr sinc entr round multigammaln").split()
    wanted += ("airy_ai bessel_j0 bessel_j1 bessel_y0 bessel_y1 modified_bessel_i0 modified_bessel_i1 "
               "modified_bessel_k0 modified_bessel_k1 scaled_modified_bessel_k0 scaled_modified_bessel_k1 "
               "spherical_bessel_j0 erfcx gammainc gammaincc zeta chebyshev_polynomial_t chebyshev_polynomial_u "
               "chebyshev_polynomial_v chebyshev_polynomial_w shifted_chebyshev_polynomial_t "
               "shifted_chebyshev_polynomial_u shifted_chebyshev_polynomial_v shifted_chebyshev_polynomial_w "
               "hermite_polynomial_h hermite_polynomial_he laguerre_polynomial_l legendre_polynomial_p").split()
    assert sorted(wanted) == sorted(tl.special.__all__)
    assert all(callable(getattr(tl.special, n)) and hasattr(torch.special, n) for n in wanted)
    torch_functions = {n for n in dir(torch.special) if not n.startswith("_") and callable(getattr(torch.special, n))}
    assert torch_functions - set(wanted) <= {"Tensor"}  # every function torch.special has, tl.special has
    _compare(lambda x, y: tl.special.xlogy(x, y), lambda x, y: torch.special.xlogy(x, y), [a, a[::-1].copy()])
    _compare(lambda x: tl.special.polygamma(1, x), lambda x: torch.special.polygamma(1, x), [a], rtol=1e-9,
             grad_rtol=1e-11)


def test_digamma_and_polygamma_are_exact_where_torch_is_not() -> None:
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    x = np.array([-20.999, -3.7105, -1.5, -0.3, 0.01, 0.7, 2.5, 13.25, 101.0])
    for n in (0, 1, 2, 4):
        want = [float(mpmath.polygamma(n, mpmath.mpf(v))) for v in x]
        np.testing.assert_allclose(tl.tensor(x).polygamma(n).numpy(), want, rtol=1e-12)
    t = tl.tensor(x, requires_grad=True)  # d digamma / dx = trigamma
    t.digamma().sum().backward()
    np.testing.assert_allclose(t.grad, [float(mpmath.polygamma(1, mpmath.mpf(v))) for v in x], rtol=2e-14)
    big = np.array([30.0, 100.0, 700.0])
    np.testing.assert_allclose(tl.tensor(big).i0().numpy(), [float(mpmath.besseli(0, v)) for v in big], rtol=1e-14)


def test_special_values_at_poles_and_infinities_match_torch() -> None:
    x = np.array([0.0, -1.0, -2.0, np.inf, -np.inf, np.nan, 1e-300])
    for ours, theirs in ((lambda t: t.lgamma(), torch.lgamma), (lambda t: t.digamma(), torch.digamma),
                         (lambda t: t.i0(), torch.i0), (lambda t: t.sinc(), torch.sinc)):
        _close(ours(tl.tensor(x)), theirs(torch.tensor(x)), what=str(theirs))
    p = np.array([0.0, 1.0, -0.5, 1.5, np.nan])
    _close(tl.special.ndtri(tl.tensor(p)), torch.special.ndtri(torch.tensor(p)))


def test_sinc_value_and_gradient_at_zero() -> None:
    x = tl.tensor([0.0, 0.5], requires_grad=True)
    y = x.sinc()
    y.sum().backward()
    assert y.numpy()[0] == 1.0 and x.grad[0] == 0.0
    assert x.grad[1] == pytest.approx((math.pi * 0.5 * math.cos(math.pi * 0.5) - 1.0) / (math.pi * 0.25))


_A = np.array([[0.3, -1.2, 2.0, 0.0], [5.0, 1.0, -3.0, 0.7], [np.inf, -np.inf, 1.5, 1.5]])
_B = np.array([1.5, -1.2, np.nan, -0.0])


@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2", "copysign", "fmax", "fmin", "float_power", "ldexp",
                                  "xlogy", "xlog1py", "multiply", "true_divide", "subtract"])
def test_binary_functions_match_torch_with_broadcasting(name: str) -> None:
    a, b = _A[:2], np.array([1.5, -1.2, 0.25, 2.0])
    if name in ("fmax", "fmin"):  # nan handling and ties
        a, b = _A, _B
    if name == "copysign":
        b = np.array([1.5, -1.2, -0.0, 0.0])
    if name in ("xlogy", "xlog1py"):
        a, b = np.array([[0.0, 2.0, -1.0, 0.0], [3.0, 0.0, 0.5, 1.0]]), np.array([0.5, 3.0, 2.0, 0.0])
    fn = getattr(tl.special if name == "xlog1py" else tl, name)
    tfn = getattr(torch.special if name == "xlog1py" else torch, name)
    _compare(fn, tfn, [a, b])
    _compare(lambda u, v: getattr(u, name)(v) if hasattr(u, name) else fn(u, v),
             lambda u, v: getattr(u, name)(v) if hasattr(u, name) else tfn(u, v), [b.copy(), a.copy()])


def test_float_power_and_ldexp_of_integers_give_torch_dtypes() -> None:
    x = np.array([1, 2, 3])
    assert tl.float_power(tl.tensor(x), 2).dtype == np.float64
    _close(tl.float_power(tl.tensor(x), 0.5), torch.float_power(torch.tensor(x), 0.5))
    _close(tl.ldexp(tl.tensor([1.0, -2.5]), tl.tensor([3, -1])), torch.ldexp(torch.tensor([1.0, -2.5],
                                                                              dtype=torch.float64),
                                                                 torch.tensor([3, -1])))


def test_functions_without_a_gradient_match_torch() -> None:
    a, b = tl.tensor(_A), torch.tensor(_A)
    c, d = tl.tensor(_B), torch.tensor(_B)
    v = np.array([0.5, 0.25, 2.0, 1.0])
    _close(tl.heaviside(a, tl.tensor(v)), torch.heaviside(b, torch.tensor(v)))
    _close(tl.nextafter(a, c), torch.nextafter(b, d))
    m, e = tl.frexp(a[:2])
    tm, te = torch.frexp(b[:2])
    _close(m, tm)
    _close(e, te)
    assert e.dtype == np.int32
    for name in ("isneginf", "isposinf", "isreal", "signbit", "isnan"):
        _close(getattr(tl, name)(a), getattr(torch, name)(b), what=name)
    _close(tl.signbit(c), torch.signbit(d))
    _close(tl.isclose(a, a + 1e-9), torch.isclose(b, b + 1e-9))
    _close(tl.isclose(c, c, equal_nan=True), torch.isclose(d, d, equal_nan=True))
    for name in ("greater", "less", "greater_equal", "less_equal", "not_equal"):
        _close(getattr(tl, name)(a, c), getattr(torch, name)(b, d), what=name)
    i, j = np.array([[12, -18, 7], [0, 5, 100]]), np.array([8, 4, 0])
    for name in ("gcd", "lcm", "bitwise_left_shift", "bitwise_right_shift", "bitwise_and", "bitwise_or",
                 "bitwise_xor"):
        jj = np.abs(j) if "shift" in name else j
        _close(getattr(tl, name)(tl.tensor(i), tl.tensor(jj)), getattr(torch, name)(torch.tensor(i),
                                                                                    torch.tensor(jj)), what=name)
    _close(tl.tensor(i) << 2, torch.tensor(i) << 2)
    _close(tl.tensor(i) >> 1, torch.tensor(i) >> 1)
    _close(tl.bitwise_not(tl.tensor(i)), torch.bitwise_not(torch.tensor(i)))
    x = tl.tensor([1.0, -2.0], requires_grad=True)
    assert tl.positive(x) is x
    _close(tl.rsub(x, 5.0, alpha=2), torch.rsub(torch.tensor([1.0, -2.0], dtype=torch.float64), 5.0, alpha=2))
    _close(tl.clamp_min(x, 0.0), torch.clamp_min(torch.tensor([1.0, -2.0], dtype=torch.float64), 0.0))
    _close(tl.clamp_max(x, 0.0), torch.clamp_max(torch.tensor([1.0, -2.0], dtype=torch.float64), 0.0))


def test_float32_inputs_keep_float32_as_in_torch() -> None:
    a = np.array([[1.5, 2.5, 0.3], [0.7, 3.0, 1.1]], dtype=np.float32)
    for name, args in (("lgamma", ()), ("digamma", ()), ("i0", ()), ("sinc", ()), ("logaddexp", (0.5,)),
                       ("quantile", (0.3,)), ("nanquantile", (0.6, 1)), ("median", ()), ("nanmean", ()),
                       ("cov", ()), ("polygamma", (2,)), ("fmax", (1.0,)), ("copysign", (-1.0,))):
        x, tx = tl.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        if name == "polygamma":
            y, ty = x.polygamma(2), tx.polygamma(2)
        elif args and name in ("logaddexp", "fmax", "copysign"):
            y, ty = getattr(x, name)(tl.full((3,), args[0], dtype=tl.float32)), getattr(tx, name)(
                torch.full((3,), args[0]))
        else:
            y, ty = getattr(x, name)(*args), getattr(tx, name)(*args)
        y.sum().backward()
        assert str(ty.dtype) == "torch.float32" and y.dtype == np.float32 and x.grad.dtype == np.float32, name


# ------------------------------------------------------------------ order statistics -----
_M = np.random.default_rng(3).normal(size=(4, 7))  # no ties
_MN = _M.copy()  # at most one nan in each row and column (which of several nans torch picks is unspecified)
_MN[1, 2] = _MN[3, 0] = _MN[0, 5] = np.nan
_NANROW = np.array([[np.nan, 1.0, np.nan], [np.nan, np.nan, np.nan], [2.0, np.nan, -1.0]])


@pytest.mark.parametrize("data", [_M, _MN], ids=["plain", "nan"])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_median_nanmedian_kthvalue_with_a_dim_give_torch_values_indices_and_gradients(data, dim, keepdim) -> None:
    for name, args in (("median", ()), ("nanmedian", ()), ("kthvalue", (3,))):
        f = lambda x, n=name, a=args: getattr(x, n)(*a, dim=dim, keepdim=keepdim)  # noqa: E731
        _compare(f, f, [data])


def test_nan_only_lines_give_torch_values() -> None:
    for name in ("median", "nanmedian", "nanquantile", "nanmean", "nansum"):
        args = (0.3, 1) if name == "nanquantile" else (1,)
        got, want = getattr(tl.tensor(_NANROW), name)(*args), getattr(torch.tensor(_NANROW), name)(*args)
        _close(got[0] if name.endswith("median") else got, want[0] if name.endswith("median") else want, what=name)


@pytest.mark.parametrize("data", [_M, _MN, _M[:, :4], _NANROW, np.array([[1.0, 2, 2, 3], [2, 2, 0, 5]])],
                         ids=["odd", "nan", "even", "nans", "ties"])
def test_median_of_all_values_is_the_lower_median_with_its_gradient_shared_by_ties(data) -> None:
    _compare(lambda x: x.median(), lambda x: x.median(), [data])
    _compare(lambda x: tl.nanmedian(x), lambda x: torch.nanmedian(x), [data])
    assert tl.tensor([[3, 1], [2, 5]]).median().dtype == np.int64
    assert np.isnan(tl.zeros(0).median().item()) and np.isnan(torch.zeros(0).median().item())


def test_mode_and_ties_of_median_follow_torch() -> None:
    a = np.array([[1.0, 3, 3, 1, 2, 2, 5], [4, 4, 4, 1, 1, 1, 0], [2, 2, 2, 2, 1, 7, 1]])
    _compare(lambda x: x.mode(1), lambda x: x.mode(1), [a])
    _compare(lambda x: tl.mode(x, 0, keepdim=True), lambda x: torch.mode(x, 0, keepdim=True), [a])
    _compare(lambda x: x.median(1), lambda x: x.median(1), [a])
    _compare(lambda x: x.median(), lambda x: x.median(), [np.array(2.5)])
    _compare(lambda x: x.median(0), lambda x: x.median(0), [np.array(2.5)])


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
def test_quantile_in_every_mode_matches_torch(interpolation, name) -> None:
    qs = np.array([0.0, 0.1, 0.25, 0.5, 0.62, 0.75, 1.0])
    one_nan = _M.copy()
    one_nan[2, 3] = np.nan
    for data, dims in ((_M, (None, 0, 1, -1)), (_MN, (0, 1, -1)), (one_nan, (None,))):
        for dim, keepdim in ((d, k) for d in dims for k in (False, True)):
            kw = {"dim": dim, "keepdim": keepdim, "interpolation": interpolation}
            _compare(lambda x, kw=kw: getattr(x, name)(tl.tensor(qs), **kw),
                     lambda x, kw=kw: getattr(x, name)(torch.tensor(qs), **kw), [data])
            _compare(lambda x, kw=kw: getattr(tl, name)(x, 0.3, **kw),
                     lambda x, kw=kw: getattr(torch, name)(x, 0.3, **kw), [data])
    _compare(lambda x: x.quantile(tl.tensor(0.5), 0), lambda x: x.quantile(torch.tensor(0.5, dtype=torch.float64),
                                                                           0), [np.array(1.5)])


def test_sample_statistics_match_torch() -> None:
    a, w = _M, np.array([1, 3, 2, 1, 1, 4, 2])
    aw = np.abs(np.random.default_rng(5).normal(size=7)) + 0.1
    _compare(lambda x: x.aminmax(dim=1), lambda x: x.aminmax(dim=1), [a])
    _compare(lambda x: tl.aminmax(x), lambda x: torch.aminmax(x), [np.array([[1.0, 5.0, 5.0], [-1.0, 0, -1]])])
    for name in ("std_mean", "var_mean"):
        _compare(lambda x, n=name: getattr(tl, n)(x, 1, correction=0, keepdim=True),
                 lambda x, n=name: getattr(torch, n)(x, 1, correction=0, keepdim=True), [a])
        _compare(lambda x, n=name: getattr(tl, n)(x), lambda x, n=name: getattr(torch, n)(x), [a])
    for name in ("nanmean", "nansum"):
        f = lambda x, n=name: getattr(x, n)(1)  # noqa: E731
        _compare(f, f, [_MN])
        _compare(lambda x, n=name: getattr(tl, n)(x), lambda x, n=name: getattr(torch, n)(x), [_MN])
        f = lambda x, n=name: getattr(x, n)(0, keepdim=True)  # noqa: E731
        _compare(f, f, [_MN])
    _compare(lambda x: x.cov(), lambda x: x.cov(), [a])
    _compare(lambda x: x.cov(), lambda x: x.cov(), [a[0]])
    _compare(lambda x: tl.cov(x, correction=0, fweights=tl.tensor(w)),
             lambda x: torch.cov(x, correction=0, fweights=torch.tensor(w)), [a])
    _compare(lambda x, v: tl.cov(x, fweights=tl.tensor(w), aweights=v),
             lambda x, v: torch.cov(x, fweights=torch.tensor(w), aweights=v), [a, aw])
    _compare(lambda x, v: x.cov(correction=2, aweights=v), lambda x, v: x.cov(correction=2, aweights=v), [a, aw])
    _compare(lambda x: x.corrcoef(), lambda x: x.corrcoef(), [a])
    _compare(lambda x: tl.corrcoef(x), lambda x: torch.corrcoef(x), [a[:2, :3]])


def test_histogram_matches_torch() -> None:
    x = np.random.default_rng(6).normal(size=50)
    wt = np.abs(x) + 0.5
    for kw in ({}, {"bins": 7}, {"bins": 5, "range": (-1.0, 1.5)}, {"bins": 4, "density": True}):
        h, e = tl.histogram(tl.tensor(x), **kw)
        th, te = torch.histogram(torch.tensor(x), **kw)
        _close(h, th)
        _close(e, te)
    edges = np.array([-2.0, -0.5, 0.0, 0.1, 3.0])
    h, e = tl.tensor(x).histogram(tl.tensor(edges), weight=tl.tensor(wt), density=True)
    th, te = torch.tensor(x).histogram(torch.tensor(edges), weight=torch.tensor(wt), density=True)
    _close(h, th)
    _close(e, te)
    _close(tl.histogram(tl.ones(3), bins=4).bin_edges, torch.histogram(torch.ones(3, dtype=torch.float64),
                                                                       bins=4).bin_edges)


def test_trapezoid_rules_match_torch() -> None:
    y = np.random.default_rng(7).normal(size=(3, 5))
    x1 = np.cumsum(np.abs(np.random.default_rng(8).normal(size=5)))
    x2 = np.cumsum(np.abs(np.random.default_rng(9).normal(size=(3, 5))), axis=1)
    for name in ("trapezoid", "trapz", "cumulative_trapezoid"):
        f, g = getattr(tl, name), getattr(torch, name)
        _compare(f, g, [y])
        _compare(functools.partial(f, dx=0.3, dim=0), functools.partial(g, dx=0.3, dim=0), [y])
        _compare(f, g, [y, x1])
        _compare(functools.partial(f, dim=1), functools.partial(g, dim=1), [y, x2])
        _compare(functools.partial(f, dim=0), functools.partial(g, dim=0), [y[:1]])


# ------------------------------------------------------------------ factories ------------
def test_factories_match_torch() -> None:
    f64 = {"dtype": tl.float64}
    t64 = {"dtype": torch.float64}
    _close(tl.logspace(-2, 3, 11, **f64), torch.logspace(-2, 3, 11, **t64))
    _close(tl.logspace(0, 5, 6, base=2.0, **f64), torch.logspace(0, 5, 6, base=2.0, **t64))
    for L in (0, 1, 2, 7, 8):
        for periodic in (True, False):
            for name, kw in (("hann_window", {}), ("hamming_window", {}), ("blackman_window", {}),
                             ("bartlett_window", {}), ("kaiser_window", {}), ("kaiser_window", {"beta": 3.5})):
                _close(getattr(tl, name)(L, periodic, **kw, **f64), getattr(torch, name)(L, periodic, **kw, **t64),
                       what=f"{name}({L}, {periodic}, {kw})")
    _close(tl.hamming_window(9, False, 0.6, 0.3, **f64), torch.hamming_window(9, False, 0.6, 0.3, **t64))
    with pytest.warns(UserWarning):
        want = torch.range(0, 1, 0.25, **t64)
    _close(tl.range(0, 1, 0.25), want)
    assert tl.range(1, 4).dtype == tl.get_default_dtype() and tl.range(1, 4).shape == (4,)
    s = tl.scalar_tensor(3)
    assert s.shape == () and s.dtype == tl.get_default_dtype() and s.item() == 3.0
    v = np.array([0.5, -2.0, 0.0, 3.0])
    for N, increasing in ((None, False), (3, True), (1, False), (0, False), (6, False)):
        x = tl.tensor(v, requires_grad=True)
        out = tl.vander(x, N, increasing=increasing)
        _close(out, torch.vander(torch.tensor(v), N, increasing=increasing))
        g = np.random.default_rng(2).normal(size=out.shape)
        if out.requires_grad:
            (out * tl.tensor(g)).sum().backward()
        p = np.arange(out.shape[1]) if increasing else np.arange(out.shape[1])[::-1]
        exact = (g * p * np.where(p > 0, v[:, None] ** np.maximum(p - 1, 0), 0.0)).sum(1)  # d x^p/dx = p x^(p-1)
        _close(x.grad if x.grad is not None else np.zeros(4), exact)
    _close(tl.vander(tl.tensor([2, 3]), 4), torch.vander(torch.tensor([2, 3]), 4))


def test_asarray_and_frombuffer_share_memory_as_torch() -> None:
    a = np.arange(4.0)
    t = tl.asarray(a)
    a[0] = 9.0
    assert t.numpy()[0] == 9.0
    assert tl.asarray(t) is t
    c = tl.asarray(a, copy=True)
    a[1] = 7.0
    assert c.numpy()[1] == 1.0
    assert tl.asarray([1.5, 2.0]).dtype == tl.get_default_dtype()
    assert tl.asarray(a, dtype=tl.float32).dtype == np.float32
    with pytest.raises(ValueError, match="asarray"):
        tl.asarray(a, dtype=tl.float32, copy=False)
    assert tl.asarray([1.0], requires_grad=True).requires_grad
    buf = bytearray(np.arange(6, dtype=np.int32).tobytes())
    f = tl.frombuffer(buf, dtype=tl.int32, count=3, offset=4)
    np.testing.assert_array_equal(f.numpy(), torch.frombuffer(bytearray(buf), dtype=torch.int32, count=3,
                                                              offset=4).numpy())
    buf[4] = 42
    assert f.numpy()[0] == 42


# ------------------------------------------------------------------ finite differences ---
@pytest.mark.parametrize("fn", [
    lambda x: x.lgamma().sum(), lambda x: x.digamma().sum(), lambda x: x.polygamma(2).sum(),
    lambda x: x.i0().sum(), lambda x: tl.special.i1e(x).sum(), lambda x: tl.special.log_ndtr(x).sum(),
    lambda x: x.sinc().sum(), lambda x: x.quantile(tl.tensor([0.3, 0.8]), 1).sum(),
    lambda x: x.median(0).values.sum(), lambda x: x.cov().sum(), lambda x: x.corrcoef().sum(),
    lambda x: tl.trapezoid(x, dim=0).sum(), lambda x: tl.logaddexp(x, x.flip(0)).sum(),
    lambda x: tl.special.ndtri(x.sigmoid()).sum(),
])
def test_gradients_pass_finite_differences(fn) -> None:
    x = tl.tensor(np.random.default_rng(11).uniform(0.2, 3.0, size=(3, 4)), requires_grad=True)
    assert tl.gradcheck(fn, [x], eps=1e-6, atol=1e-6, rtol=1e-5)


# ------------------------------------------------------------------ per-sample -----------
@pytest.mark.parametrize("f", [lambda y: y.lgamma(), lambda y: y.i0(), lambda y: tl.logaddexp(y, y * 2),
                               lambda y: y.median(1).values, lambda y: y.quantile(0.3, 1),
                               lambda y: y.nanquantile(0.9, 1, interpolation="midpoint"),
                               lambda y: y.kthvalue(2, 1, keepdim=True).values, lambda y: y.fmax(y.flip(1)),
                               lambda y: tl.cumulative_trapezoid(y, dx=0.5), lambda y: tl.special.ndtr(y)])
def test_per_sample_gradients_through_the_new_ops_equal_each_sample_alone(f) -> None:
    rng = np.random.default_rng(16)
    X, W0 = rng.normal(size=(4, 3)), rng.normal(size=(3, 5))
    W = Tensor(W0, requires_grad=True)
    (f((Tensor(X, batched=True) @ W).abs() + 0.5) ** 2).sum().backward()
    want = []
    for b in range(4):
        Wb = Tensor(W0, requires_grad=True)
        (f((Tensor(X[b:b + 1]) @ Wb).abs() + 0.5) ** 2).sum().backward()
        want.append(Wb.grad)
    np.testing.assert_allclose(W.grad_sample, np.stack(want), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(W.grad, np.sum(want, axis=0), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("f", [lambda y: y.median(0).values, lambda y: y.median(), lambda y: y.quantile(0.4, 0),
                               lambda y: y.nanmedian(), lambda y: y.cov(), lambda y: y.mean().lgamma(),
                               lambda y: y.mode(0).values, lambda y: tl.trapezoid(y, dim=0)])
def test_per_sample_gradients_refuse_ops_that_mix_the_samples(f) -> None:
    X = np.random.default_rng(17).normal(size=(4, 3))
    W = Tensor(np.ones((3, 2)) + np.arange(6).reshape(3, 2), requires_grad=True)
    f(Tensor(X, batched=True) @ W).sum().backward()
    assert W.grad is not None
    with pytest.raises(RuntimeError, match="per-sample gradients .* undefined"):
        _ = W.grad_sample


# ------------------------------------------------------------------ bad input ------------
@pytest.mark.parametrize("call,exc,match", [
    (lambda x: x.quantile(1.5), ValueError, r"quantile: q values must lie in \[0, 1\]"),
    (lambda x: x.quantile(tl.tensor([[0.5]])), ValueError, r"quantile: q must be .* got shape \(1, 1\)"),
    (lambda x: x.nanquantile(0.5, interpolation="cubic"), ValueError, "nanquantile: interpolation"),
    (lambda x: x.quantile(tl.tensor([0.5], dtype=tl.float32)), TypeError, "quantile: q .*float32"),
    (lambda x: x.quantile(0.5, dim=2), IndexError, "quantile: axis 2 is out of bounds"),
    (lambda x: x.kthvalue(5, 1), IndexError, r"kthvalue: k = 5 is out of range for dim 1 of size 4 \(shape \(3, 4\)"),
    (lambda x: x.median(3), IndexError, "median: axis 3"),
    (lambda x: x.cov(fweights=tl.tensor([1, 2])), ValueError, r"cov: fweights must be .* 4 values .* shape \(2,\)"),
    (lambda x: x.cov(fweights=tl.tensor([1.0, 2, 1, 1])), TypeError, "cov: fweights must be integers"),
    (lambda x: x.reshape(3, 2, 2).cov(), ValueError, r"cov: expected a 1-d or 2-d input, got shape \(3, 2, 2\)"),
    (lambda x: x.mvlgamma(4), ValueError, r"mvlgamma: all elements must be greater than \(p-1\)/2"),
    (lambda x: x.polygamma(-1), ValueError, "polygamma: n must be"),
    (lambda x: tl.trapezoid(x, tl.ones(3)), ValueError, r"trapezoid: x of shape \(3,\) must have 4 values"),
    (lambda x: tl.trapezoid(x, tl.ones(4), dx=1.0), TypeError, "trapezoid: give either x or dx"),
    (lambda x: x.heaviside(tl.tensor([1], dtype=tl.int64)), TypeError, "heaviside: .*must have one dtype"),
    (lambda x: x.gcd(x), TypeError, "gcd: expected integer tensors"),
    (lambda x: tl.logaddexp(x, tl.ones(5)), ValueError, r"logaddexp: shapes \(3, 4\) and \(5,\)"),
    (lambda x: x.histogram(0), ValueError, "histogram: bins must be > 0"),
    (lambda x: x.histogram(5, weight=tl.ones(3)), ValueError, r"histogram: weight of shape \(3,\)"),
    (lambda x: tl.vander(x), ValueError, r"vander: x must be a 1-d tensor, got shape \(3, 4\)"),
    (lambda x: tl.hann_window(-1), ValueError, "hann_window: window_length must be an int >= 0"),
    (lambda x: tl.range(0, 1, 0), ValueError, "range: the range 0 -> 1"),
])
def test_bad_input_names_the_function_and_changes_nothing(call, exc, match) -> None:
    a = np.random.default_rng(20).uniform(0.2, 1.0, size=(3, 4))
    x = tl.tensor(a, requires_grad=True)
    with pytest.raises(exc, match=match):
        call(x)
    np.testing.assert_array_equal(x.numpy(), a)
    assert x.grad is None
