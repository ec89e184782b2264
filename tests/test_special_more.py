"""tl.special's gammainc / gammaincc (and tl.igamma / igammac, Tensor.igamma[_] / igammac[_]),
zeta, erfcx and the orthogonal polynomials against torch.special, finite differences and
high-precision references."""

import math

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")

_POLYS = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
          "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
          "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l",
          "legendre_polynomial_p"]
_EDGE = np.array([-1.0, -0.0, 0.0, 1e-300, 1e-10, 0.5, 1.0, 2.0, 30.0, np.inf, np.nan])


def _t(a):
    return torch.tensor(np.asarray(a))


def _same(ours, theirs, rtol, atol=0.0):
    """Equal nan pattern, equal infinities, finite values within rtol (relative) / atol."""
    o, t = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    assert o.shape == t.shape
    np.testing.assert_array_equal(np.isnan(o), np.isnan(t))
    inf = np.isinf(t)
    np.testing.assert_array_equal(o[inf], t[inf])
    fin = np.isfinite(t)
    assert np.isfinite(o[fin]).all()
    np.testing.assert_allclose(o[fin], t[fin], rtol=rtol, atol=atol)


def _grid(a, x):
    A, X = np.meshgrid(np.asarray(a, dtype=np.float64), np.asarray(x, dtype=np.float64), indexing="ij")
    return A, X


def _fd(f, x, h=1e-6):
    """Central finite difference of the sum of f at float64 x."""
    return (f(x + h) - f(x - h)) / (2 * h)


# ---------------------------------------------------------------- incomplete gamma ---------
@pytest.mark.parametrize("name", ["gammainc", "gammaincc"])
def test_incomplete_gamma_matches_torch_where_torch_sums_its_series(name):
    # torch sums its series / continued fraction for 1e-3 <= a <= 20 (exact to rounding there),
    # so the two agree to 1e-12 relative
    a = np.concatenate([np.geomspace(1e-3, 20, 40), [0.5, 1, 1.5, 2, 3, 10, 20]])
    x = np.concatenate([np.geomspace(1e-8, 200, 50), [0.5, 1, 2, 2.5, 3, 4, 11, 21]])
    A, X = _grid(a, x)
    ours = getattr(tl.special, name)(tl.tensor(A), tl.tensor(X))
    theirs = getattr(torch.special, name)(_t(A), _t(X))
    assert ours.dtype == np.float64 and ours.shape == tuple(theirs.shape)
    _same(ours.data, theirs.numpy(), rtol=1e-12, atol=1e-300)
    # for a < 1e-3 torch's Q near x = 1 is accurate to ~2e-8 relative only (measured against
    # 40-digit values), hence the looser tolerance; the high-precision test below holds this
    # library to 5e-13 there
    A, X = _grid(np.geomspace(1e-8, 1e-3, 20), x)
    ours = getattr(tl.special, name)(tl.tensor(A), tl.tensor(X)).data
    _same(ours, getattr(torch.special, name)(_t(A), _t(X)).numpy(), rtol=5e-8, atol=1e-300)


@pytest.mark.parametrize("name", ["gammainc", "gammaincc"])
def test_incomplete_gamma_for_large_a_against_torch(name):
    # for a > 20 near x torch switches to an asymptotic expansion accurate to ~2e-9 relative
    # only (measured against 40-digit values), hence the looser tolerance here; the
    # high-precision test below holds this library to 5e-13
    a = np.array([25.0, 60.0, 150.0, 1e3, 1e4, 1e5, 1e6, 1e8, 1e12])
    ratio = np.array([0.3, 0.7, 0.95, 1.0, 1.05, 1.3, 2.0])
    A = np.repeat(a, ratio.size)
    X = A * np.tile(ratio, a.size) + np.tile(np.array([0, 0, 0.5, 0, -0.5, 0, 0]), a.size) * np.sqrt(A)
    ours = getattr(tl.special, name)(tl.tensor(A), tl.tensor(X)).data
    theirs = getattr(torch.special, name)(_t(A), _t(X)).numpy()
    _same(ours, theirs, rtol=5e-9, atol=1e-300)


def test_incomplete_gamma_against_high_precision_values():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 60
    rng = np.random.default_rng(0)
    a = np.concatenate([10 ** rng.uniform(-8, 4, 120), rng.uniform(0, 30, 60), [1e5, 1e6, 1e7, 3e7, 1e9]])
    x = np.concatenate([a[:120] * 10 ** rng.uniform(-1, 1, 120), rng.uniform(0, 40, 60),
                        [1e5 + 300, 1e6 - 2000, 1e7 + 3000, 3e7 - 1e4, 1e9 + 5e4]])
    p = tl.special.gammainc(tl.tensor(a), tl.tensor(x)).data
    q = tl.special.gammaincc(tl.tensor(a), tl.tensor(x)).data
    for ai, xi, pi, qi in zip(a, x, p, q):
        rq = mpmath.gammainc(ai, xi, mpmath.inf, regularized=True)
        rp = 1 - rq if rq < 1 - 1e-30 else mpmath.gammainc(ai, 0, xi, regularized=True)
        assert abs(pi - float(rp)) <= 5e-13 * float(rp), (ai, xi)
        assert abs(qi - float(rq)) <= 5e-13 * float(rq), (ai, xi)
    # small a: Q stays accurate relative to its (tiny) value
    for ai, xi in [(1e-300, 1e-300), (1e-300, 0.5), (1e-300, 30.0), (1e-10, 1e-10), (1e-10, 2.0), (1e-3, 2.0),
                   (0.3, 1.2)]:
        qi = tl.special.gammaincc(tl.tensor([ai]), tl.tensor([xi])).data[0]
        rq = float(mpmath.gammainc(ai, xi, mpmath.inf, regularized=True))
        assert abs(qi - rq) <= 5e-13 * rq


@pytest.mark.parametrize("name", ["gammainc", "gammaincc"])
def test_incomplete_gamma_edge_values_match_torch(name):
    # (a = 1e-300 and 1e-10 are left to the high-precision test: torch's Q there is off, e.g.
    # Q(1e-300, 0.5) = 1.1e-300 where a E1(0.5) = 5.6e-301; so is a = 30 near x = 30, where
    # torch's asymptotic expansion is accurate to ~1e-9 only: see the large-a test)
    A, X = _grid(_EDGE[(_EDGE != 1e-300) & (_EDGE != 1e-10) & (_EDGE != 30.0)], _EDGE)
    ours = getattr(tl.special, name)(tl.tensor(A), tl.tensor(X)).data
    theirs = getattr(torch.special, name)(_t(A), _t(X)).numpy()
    _same(ours, theirs, rtol=1e-12)


def test_incomplete_gamma_sums_to_one_and_top_level_names():
    a = tl.tensor([0.2, 1.0, 3.5, 15.0])
    x = tl.tensor([0.1, 2.0, 3.0, 50.0])
    np.testing.assert_allclose((tl.igamma(a, x) + tl.igammac(a, x)).data, 1.0, rtol=1e-15)
    np.testing.assert_array_equal(tl.igamma(a, x).data, tl.special.gammainc(a, x).data)
    np.testing.assert_array_equal(a.igammac(x).data, tl.special.gammaincc(a, x).data)
    np.testing.assert_allclose(a.igamma(x).data, torch.igamma(_t(a.data), _t(x.data)).numpy(), rtol=1e-12)
    namespace = {}
    exec("from tinygrad_lite import *", namespace)
    assert namespace["igamma"] is tl.igamma and namespace["igammac"] is tl.igammac
    assert "igamma" in tl.__all__ and "gammainc" in tl.special.__all__ and "zeta" in tl.special.__all__


@pytest.mark.parametrize("method", ["igamma_", "igammac_"])
def test_in_place_incomplete_gamma(method):
    a = np.array([0.5, 2.0, 7.0])
    x = np.array([1.0, 1.5, 9.0])
    ours = tl.tensor(a.copy())
    out = getattr(ours, method)(tl.tensor(x))
    theirs = getattr(_t(a.copy()), method)(_t(x))
    assert out is ours
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12)
    f32 = tl.tensor(a.astype(np.float32))
    getattr(f32, method)(tl.tensor(x))
    assert f32.dtype == np.float32  # (stored in the tensor's own dtype, as torch)
    ints = tl.tensor(np.array([1, 2, 3]))
    with pytest.raises(RuntimeError):
        getattr(_t(np.array([1, 2, 3])), method)(_t(x))
    with pytest.raises(RuntimeError):
        getattr(ints, method)(tl.tensor(x))
    np.testing.assert_array_equal(ints.data, [1, 2, 3])  # (a refused call changes nothing)


@pytest.mark.parametrize("name", ["gammainc", "gammaincc"])
def test_incomplete_gamma_dtypes_match_torch(name):
    f, g = getattr(tl.special, name), getattr(torch.special, name)
    a32, x32 = np.array([0.5, 2.0], np.float32), np.array([1.0, 3.0], np.float32)
    cases = [(a32, x32), (a32, np.array(2.0)), (np.array([1, 2]), x32), (a32, np.array([2.0, 1.0])),
             (np.array([True, False]), x32), (np.array([1, 2]), np.array([0.5, 1.0]))]
    for a, x in cases:
        ours, theirs = f(tl.tensor(a), tl.tensor(x)), g(_t(a), _t(x))
        assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", ""))
        tol = 1e-6 if ours.dtype == np.float32 else 1e-12  # (torch computes float32 in float32)
        _same(ours.data, theirs.numpy(), rtol=tol)


@pytest.mark.parametrize("name", ["gammainc", "gammaincc"])
def test_incomplete_gamma_refusals_match_torch(name):
    f, g = getattr(tl.special, name), getattr(torch.special, name)
    for a, b in [(np.array([1, 2]), np.array([1, 2])), (np.array([True]), np.array([False]))]:
        with pytest.raises(NotImplementedError):
            g(_t(a), _t(b))
        with pytest.raises(NotImplementedError, match=name):
            f(tl.tensor(a), tl.tensor(b))
    x = np.array([1.0, 2.0])
    for args, targs in [((tl.tensor(x), 2.0), (_t(x), 2.0)), ((2.0, tl.tensor(x)), (2.0, _t(x)))]:
        with pytest.raises(TypeError):
            g(*targs)
        with pytest.raises(TypeError, match=name):
            f(*args)
    with pytest.raises(TypeError):
        _t(x).igamma(2.0)
    with pytest.raises(TypeError):
        tl.tensor(x).igamma(2.0)
    with pytest.raises(RuntimeError):
        g(torch.ones(2), torch.ones(3))
    with pytest.raises(RuntimeError, match=r"\(2,\) and \(3,\)"):
        f(tl.ones(2), tl.ones(3))


@pytest.mark.parametrize("name,sign", [("gammainc", 1.0), ("gammaincc", -1.0)])
def test_incomplete_gamma_gradient_in_x(name, sign):
    a = np.array([[0.3], [1.0], [2.5], [30.0]])
    x = np.array([0.2, 1.0, 2.7, 35.0])  # (broadcast: the gradient of a (4, 1) x (4,) result)
    xt = tl.tensor(x, requires_grad=True)
    y = getattr(tl.special, name)(tl.tensor(a), xt)
    (y * tl.tensor(np.arange(1.0, 17.0).reshape(4, 4))).sum().backward()
    xr = torch.tensor(x, requires_grad=True)
    yr = getattr(torch.special, name)(_t(a), xr)
    (yr * torch.arange(1.0, 17.0, dtype=torch.float64).reshape(4, 4)).sum().backward()
    np.testing.assert_allclose(xt.grad, xr.grad.numpy(), rtol=1e-12)
    f = getattr(tl.special, name)
    fd = _fd(lambda v: (f(tl.tensor(a), tl.tensor(v)).data * np.arange(1.0, 17.0).reshape(4, 4)).sum(0), x)
    np.testing.assert_allclose(xt.grad, fd, rtol=1e-7)
    # the closed form, and create_graph (the second derivative) against torch
    np.testing.assert_allclose(sign * np.exp((2.5 - 1) * np.log(x) - x - math.lgamma(2.5)),
                               tl.autograd.grad(f(tl.tensor(2.5), xt).sum(), xt)[0].data, rtol=1e-13)
    g1 = tl.autograd.grad(f(tl.tensor(a), xt).sum(), xt, create_graph=True)[0]
    g2 = tl.autograd.grad(g1.sum(), xt)[0]
    r1 = torch.autograd.grad(getattr(torch.special, name)(_t(a), xr).sum(), xr, create_graph=True)[0]
    np.testing.assert_allclose(g2.data, torch.autograd.grad(r1.sum(), xr)[0].numpy(), rtol=1e-11)


@pytest.mark.parametrize("name", ["gammainc", "gammaincc"])
def test_incomplete_gamma_gradient_in_a_is_refused_as_in_torch(name):
    a, x = np.array([1.5, 2.0]), np.array([0.5, 3.0])
    ar = torch.tensor(a, requires_grad=True)
    with pytest.raises(NotImplementedError):
        getattr(torch.special, name)(ar, _t(x)).sum().backward()
    at, xt = tl.tensor(a, requires_grad=True), tl.tensor(x, requires_grad=True)
    y = getattr(tl.special, name)(at, xt)
    assert y.requires_grad  # (the forward works, as torch's)
    with pytest.raises(NotImplementedError, match=r"input \(a\)"):
        y.sum().backward()
    assert at.grad is None and xt.grad is None


# ---------------------------------------------------------------- zeta --------------------
def test_zeta_matches_torch_on_a_grid_with_edges():
    s = np.array([-2, -1, -0.5, 0, 0.5, 1, 1 + 1e-9, 1.0001, 1.5, 2, 2.5, 3, 4.5, 10, 30, 60, 100, 300, 1000,
                  1e4, np.inf, -np.inf, np.nan])
    q = np.array([-20.5, -3, -2.5, -1, -0.5, -0.0, 0, 1e-300, 1e-5, 0.3, 0.5, 1, 1.5, 2, 7.3, 19.9, 20, 25, 100,
                  1e3, 1e8, np.inf, -np.inf, np.nan])
    S, Q = _grid(s, q)
    ours = tl.special.zeta(tl.tensor(S), tl.tensor(Q)).data
    _same(ours, torch.special.zeta(_t(S), _t(Q)).numpy(), rtol=1e-12)


def test_zeta_where_torch_underflows_early():
    # torch returns 0 once q^-x underflows (q = 1e200, x = 2) although the sum is q^(1-x)/(x-1)
    # = 1e-200; this library gives the value
    ours = tl.special.zeta(tl.tensor([2.0, 3.0]), tl.tensor([1e200, 1e150])).data
    np.testing.assert_allclose(ours, [1e-200, 0.5e-300], rtol=1e-13)
    assert (torch.special.zeta(_t([2.0, 3.0]), _t([1e200, 1e150])).numpy() == 0).all()


def test_zeta_known_values():
    ours = tl.special.zeta(tl.tensor([2.0, 4.0, 3.0, 1.5]), tl.tensor([1.0, 1.0, 0.5, 1.0])).data
    want = [math.pi ** 2 / 6, math.pi ** 4 / 90, 7 * 1.2020569031595942, 2.612375348685488]
    np.testing.assert_allclose(ours, want, rtol=1e-14)
    # the polygamma it serves is unchanged: psi'(x) = zeta(2, x)
    x = np.array([0.3, 2.0, 17.5])
    np.testing.assert_allclose(tl.special.zeta(2.0, tl.tensor(x)).data, tl.special.polygamma(1, tl.tensor(x)).data,
                               rtol=1e-14)


def test_zeta_numbers_and_dtypes_match_torch():
    f32 = np.array([2.0, 3.5], np.float32)
    cases = [(f32, 2.0), (2.5, f32), (np.array([2, 3]), 2.0), (np.array([2, 3]), np.array([1, 2])),
             (f32, np.array(2.0)), (f32, True), (True, f32), (np.array([True]), np.array([1.0])), (3, f32)]
    for x, q in cases:
        xo = tl.tensor(x) if isinstance(x, np.ndarray) else x
        qo = tl.tensor(q) if isinstance(q, np.ndarray) else q
        xt = _t(x) if isinstance(x, np.ndarray) else x
        qt = _t(q) if isinstance(q, np.ndarray) else q
        ours, theirs = tl.special.zeta(xo, qo), torch.special.zeta(xt, qt)
        want = str(theirs.dtype).replace("torch.", "")
        if want == "float32" and not any(np.asarray(v).dtype == np.float32 for v in (x, q)):
            want = "float64"  # (integer operands: this library's default float is float64, torch's float32)
        assert ours.dtype == np.dtype(want), (x, q)
        _same(ours.data, theirs.numpy(), rtol=1e-6 if theirs.dtype == torch.float32 else 1e-12)
    with pytest.raises(TypeError):
        torch.special.zeta(2.0, 3.0)
    with pytest.raises(TypeError, match="zeta"):
        tl.special.zeta(2.0, 3.0)
    with pytest.raises(TypeError, match="zeta"):
        tl.special.zeta(tl.ones(2), "a")
    with pytest.raises(RuntimeError):
        torch.special.zeta(torch.ones(2), torch.ones(3))
    with pytest.raises(RuntimeError, match="zeta"):
        tl.special.zeta(tl.ones(2), tl.ones(3))


def test_zeta_gradient_in_q_and_refusal_in_x():
    x, q = np.array([1.5, 2.0, 3.5]), np.array([0.5, 3.0, 1.25])
    qt = tl.tensor(q, requires_grad=True)
    qr = torch.tensor(q, requires_grad=True)
    g = tl.autograd.grad(tl.special.zeta(tl.tensor(x), qt).sum(), qt, create_graph=True)[0]
    gr = torch.autograd.grad(torch.special.zeta(_t(x), qr).sum(), qr, create_graph=True)[0]
    np.testing.assert_allclose(g.data, gr.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(g.data, -x * tl.special.zeta(tl.tensor(x + 1), tl.tensor(q)).data, rtol=1e-15)
    np.testing.assert_allclose(g.data, _fd(lambda v: tl.special.zeta(tl.tensor(x), tl.tensor(v)).data, q),
                               rtol=1e-7)
    np.testing.assert_allclose(tl.autograd.grad(g.sum(), qt)[0].data, torch.autograd.grad(gr.sum(), qr)[0].numpy(),
                               rtol=1e-12)
    xr = torch.tensor(x, requires_grad=True)
    with pytest.raises(NotImplementedError):
        torch.special.zeta(xr, _t(q)).sum().backward()
    xt = tl.tensor(x, requires_grad=True)
    with pytest.raises(NotImplementedError, match=r"zeta.*input \(x\)"):
        tl.special.zeta(xt, tl.tensor(q)).sum().backward()


# ---------------------------------------------------------------- erfcx -------------------
def test_erfcx_matches_torch_and_high_precision_values():
    x = np.concatenate([np.linspace(-27, 30, 400), np.geomspace(1e-300, 1e300, 60), -np.geomspace(1e-300, 25, 30),
                        [0.0, -0.0, 9.999999, 10.0, 10.000001, -26.6, -26.7, 1e154, 1e155, 1e308,
                         np.inf, -np.inf, np.nan]])
    ours = tl.special.erfcx(tl.tensor(x)).data
    # both are within ~6e-14 of the true values (checked below), so they agree to 2e-13
    _same(ours, torch.special.erfcx(_t(x)).numpy(), rtol=2e-13)
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    for v, o in zip(x[:490], ours[:490]):
        if not np.isfinite(o) or v > 1e8:
            continue
        want = float(mpmath.exp(mpmath.mpf(v) ** 2) * mpmath.erfc(mpmath.mpf(v)))
        assert abs(o - want) <= 1e-13 * want, v
    np.testing.assert_allclose(tl.special.erfcx(tl.tensor([1e200])).data, 1 / (1e200 * math.sqrt(math.pi)),
                               rtol=1e-15)


def test_erfcx_dtypes_gradient_and_refusals():
    for a in [np.array([1, 2]), np.array([True, False]), np.array([0.5, 4.0], np.float32), np.array([0.5, 4.0])]:
        ours, theirs = tl.special.erfcx(tl.tensor(a)), torch.special.erfcx(_t(a))
        want = str(theirs.dtype).replace("torch.", "")
        assert ours.dtype == np.dtype("float64" if a.dtype.kind in "biu" else want)
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6 if theirs.dtype == torch.float32 else 1e-12)
    x = np.array([-3.0, -0.5, 0.0, 0.7, 5.0, 40.0])
    xt, xr = tl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    g = tl.autograd.grad(tl.special.erfcx(xt).sum(), xt, create_graph=True)[0]
    gr = torch.autograd.grad(torch.special.erfcx(xr).sum(), xr, create_graph=True)[0]
    np.testing.assert_allclose(g.data, gr.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(g.data, _fd(lambda v: tl.special.erfcx(tl.tensor(v)).data, x, 1e-5), rtol=1e-7,
                               atol=1e-9)
    np.testing.assert_allclose(tl.autograd.grad(g.sum(), xt)[0].data, torch.autograd.grad(gr.sum(), xr)[0].numpy(),
                               rtol=1e-11, atol=1e-15)
    for bad in (2.0, [1.0]):
        with pytest.raises(TypeError):
            torch.special.erfcx(bad)
        with pytest.raises(TypeError, match="erfcx"):
            tl.special.erfcx(bad)


# ---------------------------------------------------------------- polynomials -------------
def _scale(values, x):
    """Per element, the largest |value| of its degree at points no farther from 0: the size of
    the terms whose cancellation makes the rounding near a zero of the polynomial."""
    order = np.argsort(np.abs(x), axis=0, kind="stable")
    v = np.take_along_axis(np.abs(np.where(np.isfinite(values), values, 0.0)), order, axis=0)
    out = np.empty_like(v)
    np.put_along_axis(out, order, np.maximum.accumulate(v, axis=0), axis=0)
    return out


@pytest.mark.parametrize("name", _POLYS)
def test_polynomials_match_torch_on_a_grid(name):
    x = np.concatenate([np.linspace(-3, 3, 61), [-1, 1, 0, -0.0, 0.5, 1e-3, -1 + 1e-12, 1 - 1e-12, 1.0000001, 5,
                                                   -5, 20, np.inf, -np.inf]])
    n = np.concatenate([np.arange(-2, 21), [2.5, -0.5, 0.9, 6.99, 7.5, 30, 50, 100, 101, np.nan, np.inf, -np.inf,
                                            1e19, -1e19, 1e30]])
    X, N = _grid(x, n)
    ours = getattr(tl.special, name)(tl.tensor(X), tl.tensor(N))
    theirs = getattr(torch.special, name)(_t(X), _t(N)).numpy()
    assert ours.dtype == np.float64 and not ours.requires_grad
    o = ours.data
    np.testing.assert_array_equal(np.isnan(o), np.isnan(theirs))
    inf = np.isinf(theirs)
    np.testing.assert_array_equal(o[inf], theirs[inf])
    fin = np.isfinite(theirs)
    # rounding of the recurrence (torch's compiled one may fuse multiply-adds) near a zero of the
    # polynomial is relative to the size of its terms, not of the value
    tol = 1e-12 * np.maximum(np.abs(theirs), _scale(theirs, X))
    with np.errstate(invalid="ignore"):  # (inf - inf outside ``fin``)
        assert (np.abs(o - theirs)[fin] <= tol[fin]).all()


@pytest.mark.parametrize("name", _POLYS)
def test_polynomials_at_a_nan_x_and_known_values(name):
    n = np.arange(-2, 40.0)  # (torch gives nan for n >= 1, 1 for n = 0, 0 for n < 0)
    ours = getattr(tl.special, name)(tl.tensor(np.full(n.size, np.nan)), tl.tensor(n)).data
    theirs = getattr(torch.special, name)(_t(np.full(n.size, np.nan)), _t(n)).numpy()
    _same(ours, theirs, rtol=0)
    x = np.linspace(-0.9, 0.9, 7)
    y = 2 * x - 1
    closed = {"chebyshev_polynomial_t": 4 * x ** 3 - 3 * x, "chebyshev_polynomial_u": 8 * x ** 3 - 4 * x,
              "chebyshev_polynomial_v": 8 * x ** 3 - 4 * x ** 2 - 4 * x + 1,
              "chebyshev_polynomial_w": 8 * x ** 3 + 4 * x ** 2 - 4 * x - 1,
              "shifted_chebyshev_polynomial_t": 4 * y ** 3 - 3 * y,
              "shifted_chebyshev_polynomial_u": 8 * y ** 3 - 4 * y,
              "shifted_chebyshev_polynomial_v": 8 * y ** 3 - 4 * y ** 2 - 4 * y + 1,
              "shifted_chebyshev_polynomial_w": 8 * y ** 3 + 4 * y ** 2 - 4 * y - 1,
              "hermite_polynomial_h": 8 * x ** 3 - 12 * x, "hermite_polynomial_he": x ** 3 - 3 * x,
              "laguerre_polynomial_l": (-x ** 3 + 9 * x ** 2 - 18 * x + 6) / 6,
              "legendre_polynomial_p": (5 * x ** 3 - 3 * x) / 2}[name]
    np.testing.assert_allclose(getattr(tl.special, name)(tl.tensor(x), 3).data, closed, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("name", _POLYS)
def test_polynomial_numbers_dtypes_and_refusals_match_torch(name):
    f, g = getattr(tl.special, name), getattr(torch.special, name)
    f32 = np.array([0.25, 2.0], np.float32)
    cases = [(f32, 3), (f32, 3.5), (0.5, np.array([1, 2, 3])), (np.array([1, 2]), 3), (f32, np.array([3.0])),
             (f32, np.array(3.0)), (np.array([True]), 2), (np.array([0.3, 0.6]), np.array([4], np.int32)),
             (np.array([0.3]), np.array([[2.0], [3.0]], np.float32))]
    for x, n in cases:
        xo = tl.tensor(x) if isinstance(x, np.ndarray) else x
        no = tl.tensor(n) if isinstance(n, np.ndarray) else n
        xt = _t(x) if isinstance(x, np.ndarray) else x
        nt = _t(n) if isinstance(n, np.ndarray) else n
        ours, theirs = f(xo, no), g(xt, nt)
        want = str(theirs.dtype).replace("torch.", "")
        if want == "float32" and not any(np.asarray(v).dtype == np.float32 for v in (x, n)):
            want = "float64"  # (integer operands: this library's default float is float64, torch's float32)
        assert ours.dtype == np.dtype(want) and ours.shape == tuple(theirs.shape), (x, n)
        _same(ours.data, theirs.numpy(), rtol=1e-6 if theirs.dtype == torch.float32 else 1e-12)
    x = tl.tensor(np.array([0.3, 0.7]), requires_grad=True)
    assert not f(x, 3).requires_grad  # (as torch: no gradient at all)
    assert not g(torch.tensor([0.3, 0.7], requires_grad=True), 3).requires_grad
    with pytest.raises(TypeError):
        g(0.5, 2)
    with pytest.raises(TypeError, match=name):
        f(0.5, 2)
    with pytest.raises(TypeError, match=name):
        f(tl.ones(2), "2")
    with pytest.raises(RuntimeError):
        g(torch.ones(2), torch.ones(3))
    with pytest.raises(RuntimeError, match=name):
        f(tl.ones(2), tl.ones(3))


def test_polynomials_of_large_degree_match_torch():
    x = np.linspace(-1.2, 1.2, 49)
    n = np.array([100.0, 101.0, 500.0])
    X, N = _grid(x, n)
    for name in _POLYS:
        ours = getattr(tl.special, name)(tl.tensor(X), tl.tensor(N)).data
        theirs = getattr(torch.special, name)(_t(X), _t(N)).numpy()
        fin = np.isfinite(theirs)
        np.testing.assert_array_equal(ours[~fin], theirs[~fin])
        # n theta for n = 500 magnifies the rounding of theta: 1e-10 of the terms' size
        tol = 1e-10 * np.maximum(np.abs(theirs), _scale(theirs, X))
        with np.errstate(invalid="ignore"):  # (inf - inf outside ``fin``)
            assert (np.abs(ours - theirs)[fin] <= tol[fin]).all(), name


def test_polynomial_degree_beyond_the_recurrence_limit_is_refused():
    # torch loops n times; here a degree that needs more than a million recurrence steps is
    # refused at once, while the closed forms take any degree
    with pytest.raises(ValueError, match=r"hermite_polynomial_h: degree n = 100000000"):
        tl.special.hermite_polynomial_h(tl.tensor([0.5]), 1e8)
    x = np.array([0.3, -0.7])
    np.testing.assert_allclose(tl.special.chebyshev_polynomial_t(tl.tensor(x), 1e8).data,
                               torch.special.chebyshev_polynomial_t(_t(x), 1e8).numpy(), rtol=1e-6)
    np.testing.assert_array_equal(tl.special.legendre_polynomial_p(tl.tensor([1.0, -1.0]), 10 ** 8 + 1).data,
                                  [1.0, -1.0])


def test_gradients_at_edge_values_match_torch():
    a = np.array([0.5, 1.0, 2.0, 0.5, 1.0, 2.0, 3.0])
    x = np.array([0.0, 0.0, 0.0, np.inf, np.inf, 1e-300, 800.0])
    for name in ("gammainc", "gammaincc"):
        xt = tl.tensor(x, requires_grad=True)
        getattr(tl.special, name)(tl.tensor(a), xt).sum().backward()
        xr = torch.tensor(x, requires_grad=True)
        getattr(torch.special, name)(_t(a), xr).sum().backward()
        _same(xt.grad, xr.grad.numpy(), rtol=1e-12)
    e = np.array([-30.0, 30.0, 1e200, np.inf, -np.inf, np.nan])
    xt, xr = tl.tensor(e, requires_grad=True), torch.tensor(e, requires_grad=True)
    tl.special.erfcx(xt).sum().backward()
    torch.special.erfcx(xr).sum().backward()
    _same(xt.grad, xr.grad.numpy(), rtol=1e-12)
