"""tl.special's Bessel-type functions (ops.special_bessel, ops.bessel_kernels): values against
torch and against 40-digit mpmath, edge values, dtypes, refusals and gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")
mp = pytest.importorskip("mpmath")
mp.mp.dps = 40

NAMES = ("bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0", "modified_bessel_i1",
         "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
         "spherical_bessel_j0", "airy_ai")
POSITIVE = {"bessel_y0", "bessel_y1", "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0",
            "scaled_modified_bessel_k1"}
EXACT = {  # the functions in 40-digit arithmetic
    "bessel_j0": lambda x: mp.besselj(0, x), "bessel_j1": lambda x: mp.besselj(1, x),
    "bessel_y0": lambda x: mp.bessely(0, x), "bessel_y1": lambda x: mp.bessely(1, x),
    "modified_bessel_i0": lambda x: mp.besseli(0, x), "modified_bessel_i1": lambda x: mp.besseli(1, x),
    "modified_bessel_k0": lambda x: mp.besselk(0, x), "modified_bessel_k1": lambda x: mp.besselk(1, x),
    "scaled_modified_bessel_k0": lambda x: mp.besselk(0, x) * mp.exp(x),
    "scaled_modified_bessel_k1": lambda x: mp.besselk(1, x) * mp.exp(x),
    "spherical_bessel_j0": lambda x: mp.sin(x) / x if x else mp.mpf(1), "airy_ai": lambda x: mp.airyai(x),
}
RTOL = 1e-13


def ours(name: str, x: np.ndarray) -> np.ndarray:
    return getattr(tl.special, name)(tl.tensor(x)).data


def theirs(name: str, x: np.ndarray) -> np.ndarray:
    return getattr(torch.special, name)(torch.tensor(x)).numpy()


def exact(name: str, x: np.ndarray) -> np.ndarray:
    return np.array([float(EXACT[name](mp.mpf(float(v)))) for v in x])


def scale(name: str, x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """What an error is measured against: |f(x)|, but for the oscillating functions at least
    their envelope (near a zero the size of f is no measure: there every method, torch's too,
    has an absolute error of a few ulps of the envelope)."""
    a = np.maximum(np.abs(x), 1e-300)
    env = np.zeros_like(a)
    if name.startswith("bessel"):
        env = np.minimum(1.0, np.sqrt(2 / (np.pi * a)))
    elif name == "airy_ai":
        env = np.where(x < 0, a ** -0.25 / math.sqrt(math.pi), 0.0)
    elif name == "spherical_bessel_j0":
        env = np.minimum(1.0, 1 / a)
    # (results below the smallest normal float are subnormal: their precision is absolute, 5e-324)
    return np.maximum(np.maximum(np.abs(ref), env), np.finfo(np.float64).tiny)


def err(name: str, x: np.ndarray, got: np.ndarray, ref: np.ndarray) -> float:
    return float(np.max(np.abs(got - ref) / scale(name, x, ref)))


def grid(name: str, n: int) -> np.ndarray:
    """Points from 1e-300 to 1e300 (both signs unless the function is for x > 0), dense in
    [-30, 30] and across every switch between the kernels' methods (2, 8, 10, 25)."""
    switch = np.array([2.0, 8.0, 10.0, 25.0])
    pos = np.concatenate([np.linspace(1e-3, 30, n), np.geomspace(1e-300, 1e-3, 25), np.geomspace(30, 1e300, 40),
                          switch * (1 - 1e-15), switch, switch * (1 + 1e-15)])
    if name in POSITIVE:
        return pos
    if name == "airy_ai":  # (Ai underflows beyond x = 105)
        pos = np.concatenate([pos[pos < 104], -pos[pos <= 1e12]])  # (beyond: test_airy_phase_beyond_1e12)
        return pos
    return np.concatenate([pos, -pos])


# ------------------------------------------------------------------- values ---------------
@pytest.mark.parametrize("name", NAMES)
def test_values_match_40_digit_arithmetic(name: str) -> None:
    x = grid(name, 500)
    got = ours(name, x)
    ref = exact(name, x)
    finite = np.isfinite(ref)  # (I0, I1 overflow beyond |x| = 713 as the float64 result must)
    assert np.array_equal(np.isinf(got), np.isinf(ref))
    assert err(name, x[finite], got[finite], ref[finite]) <= RTOL


def test_zeros_of_j0_and_j1_keep_relative_accuracy() -> None:
    # J0 and J1 near their first two zeros: accurate relative to their own (tiny) size
    for name, n in (("bessel_j0", 0), ("bessel_j1", 1)):
        for k in (1, 2):
            z = float(mp.besseljzero(n, k))
            x = z * (1 + np.arange(-30, 31) * 1e-15)
            ref = exact(name, x)
            assert np.max(np.abs(ours(name, x) - ref) / np.abs(ref)) <= RTOL
            # (torch's are accurate there only relative to the envelope: 0.57 of J0 near 2.405, measured)


# Where torch's float64 values are accurate (measured against mpmath on 2e5 points: below 6e-14
# of the scale above, but for J1 at x = 20, its switch point, where torch is off by 1.2e-13 and
# ours by 0), ours and torch's agree to RTOL. The oscillating functions stop at |x| = 1000:
# beyond, torch rounds its phase x - pi/4 to a float, an error of up to ulp(x)/2, and its value
# is off by up to 3e-11 of the envelope at x = 1e6 (and by 100% at 1e20); ours is checked there
# against mpmath (above). Ai stops at x = 60, beyond which torch's e^-zeta carries zeta's
# rounding (1.5e-8 relative by x = 104).
TORCH_GOOD = {"bessel_j0": [(-2, 2, RTOL), (20, 1e3, RTOL), (-1e3, -20, RTOL)],
              "bessel_j1": [(-2, 2, RTOL), (20, 1e3, 1.3e-13), (-1e3, -20, 1.3e-13)],
              "bessel_y0": [(0, 2, RTOL), (20, 1e3, RTOL)], "bessel_y1": [(0, 2, RTOL), (20, 1e3, RTOL)],
              "modified_bessel_i0": [(-713, 713, RTOL)], "modified_bessel_i1": [(-713, 713, RTOL)],
              "modified_bessel_k0": [(0, 745, RTOL)], "modified_bessel_k1": [(0, 745, RTOL)],
              "scaled_modified_bessel_k0": [(0, 1e300, RTOL)], "scaled_modified_bessel_k1": [(0, 1e300, RTOL)],
              "spherical_bessel_j0": [(-1e300, 1e300, RTOL)], "airy_ai": [(-2, 60, RTOL)]}

# Where torch's own float64 error is larger (measured against mpmath): its J0, J1, Y0, Y1 on
# 2 <= x < 20 come from approximations good to ~1e-6 only (1.04e-6, 1.32e-6, 5.5e-7 and 2.4e-6
# of the envelope, worst just above x = 5), its Ai on -5 <= x < -2 to 6.4e-6 (worst at -2.09)
# and on -10 <= x < -5 to 1.1e-13. There ours is compared with torch to torch's measured
# error, and the test checks that torch's error is of that size (ours stays within RTOL).
TORCH_POOR = {"bessel_j0": [(2, 20, 1.1e-6), (-20, -2, 1.1e-6)], "bessel_j1": [(2, 20, 1.4e-6), (-20, -2, 1.4e-6)],
              "bessel_y0": [(2, 20, 6e-7)], "bessel_y1": [(2, 20, 2.5e-6)],
              "airy_ai": [(-5, -2, 7e-6), (-10, -5, 1.2e-13)]}


@pytest.mark.parametrize("name", NAMES)
def test_values_match_torch_where_torch_is_accurate(name: str) -> None:
    for lo, hi, tol in TORCH_GOOD[name]:
        if hi - lo < 2000:
            x = np.linspace(lo, hi, 20001)
            x = x[(x > 0) | (lo < 0)]
        else:
            x = np.geomspace(1e-300, hi, 3000)
            x = np.concatenate([x, -x]) if lo < 0 else x
        got, ref = ours(name, x), theirs(name, x)
        assert np.array_equal(np.isnan(got), np.isnan(ref)) and np.array_equal(np.isinf(got), np.isinf(ref))
        ok = np.isfinite(ref)
        assert err(name, x[ok], got[ok], ref[ok]) <= tol, (lo, hi)


@pytest.mark.parametrize("name", sorted(TORCH_POOR))
def test_values_where_torch_is_less_accurate(name: str) -> None:
    for lo, hi, bound in TORCH_POOR[name]:
        x = np.linspace(lo, hi, 20001)
        got, ref = ours(name, x), theirs(name, x)
        assert err(name, x, got, ref) <= bound
        few = x[::100]
        truth = exact(name, few)
        assert err(name, few, ours(name, few), truth) <= RTOL
        assert err(name, few, theirs(name, few), truth) > bound / 4  # (the bound is torch's error)


def test_airy_phase_beyond_1e12() -> None:
    # For x < 0, Ai's phase zeta - pi/4 (zeta = (2/3)|x|^(3/2)) is held in two floats, to about
    # 2^-106 zeta: below RTOL of the envelope up to |x| = 1e12 (test above); beyond, the error
    # grows as |x|^1.5, measured up to 1.5e-32 |x|^1.5 (1.5e-8 at |x| = 1e16). Torch's phase is
    # one float, off by ~1e-16 zeta: already above 1e-6 of the envelope at |x| = 1e9 (measured).
    x = -np.geomspace(1e12, 1e16, 30)
    e = np.abs(ours("airy_ai", x) - exact("airy_ai", x)) / scale("airy_ai", x, exact("airy_ai", x))
    assert np.all(e <= RTOL + 2e-32 * np.abs(x) ** 1.5)
    x = -np.geomspace(1e9, 1e10, 5)
    assert err("airy_ai", x, theirs("airy_ai", x), exact("airy_ai", x)) > 1e-6


def test_scipy_agrees_where_it_imports() -> None:
    sc = pytest.importorskip("scipy.special")
    x = np.linspace(1e-3, 60, 30001)
    pairs = {"bessel_j0": sc.j0, "bessel_j1": sc.j1, "bessel_y0": sc.y0, "bessel_y1": sc.y1,
             "modified_bessel_k0": sc.k0, "modified_bessel_k1": sc.k1, "scaled_modified_bessel_k0": sc.k0e,
             "scaled_modified_bessel_k1": sc.k1e,
             "spherical_bessel_j0": lambda v: sc.spherical_jn(0, v), "airy_ai": lambda v: sc.airy(v)[0]}
    for name, f in pairs.items():
        for pts in (x, -x):
            if name in POSITIVE and pts[0] < 0:
                continue
            assert err(name, pts, ours(name, pts), f(pts)) <= RTOL, name


EDGES = np.array([0.0, -0.0, 1.0, -1.0, -3.5, 5e-324, 1e-310, 1e-300, -1e-300, 700.0, 710.0, 750.0, 1e300, -1e300,
                  np.inf, -np.inf, np.nan])


# Where the results differ from torch's in kind: K0(5e-324) is 744.56 (torch: inf), and
# K1(5e-324) = e^x K1(5e-324) = +inf, 1/x overflowing (torch: nan, from inf - inf).
EDGE_DIFFERS = {"modified_bessel_k0": (5e-324,), "scaled_modified_bessel_k0": (5e-324,),
                "modified_bessel_k1": (5e-324,), "scaled_modified_bessel_k1": (5e-324,)}


@pytest.mark.parametrize("name", NAMES)
def test_edge_values_as_torch(name: str) -> None:
    x = EDGES
    got, ref = ours(name, x), theirs(name, x)
    same = ~np.isin(x, EDGE_DIFFERS.get(name, ()))
    assert np.array_equal(np.isnan(got[same]), np.isnan(ref[same]))
    assert np.array_equal(np.where(np.isinf(got), got, 0)[same], np.where(np.isinf(ref), ref, 0)[same])
    signed = same & ~np.isnan(got) & (np.abs(x) != 1e300)  # (torch's values at +-1e300 are its rounded phase's)
    assert np.array_equal(np.signbit(got[signed]), np.signbit(ref[signed]))  # (the -0 of j1 and i1 at -0)
    # the finite values are mpmath's (torch's are not at +-1e300 for J, Y: see TORCH_GOOD)
    fin = np.isfinite(got) & np.isfinite(x)
    assert err(name, x[fin], got[fin], exact(name, x[fin])) <= RTOL
    if name in EDGE_DIFFERS:
        k = list(x).index(5e-324)
        assert got[k] == (744.5560034370396 if name.endswith("k0") else np.inf)
        assert ref[k] == np.inf if name.endswith("k0") else np.isnan(ref[k])


# torch's float32 kernels are off by up to 9.4e-7 (J0), 1.3e-6 (J1), 1.1e-6 (Y0), 2.4e-6 (Y1),
# 3.5e-7 (I0), 1.0e-6 (I1), 5.6e-7 (K0), 4e-7 (K1), 6.2e-7 (e^x K0), 4e-7 (e^x K1), 8e-8 (j0)
# and 5.9e-6 (Ai) of the scale on -10 <= x <= 10 (measured against the float64 values); ours
# are the float64 values rounded (the test below). Hence the float32 comparisons' 7e-6.
F32 = 7e-6


@pytest.mark.parametrize("name", NAMES)
def test_dtypes_and_shapes_as_torch(name: str) -> None:
    for arr in (np.array([[0, 1, 2], [3, 4, 5]]), np.array([True, False]), np.array(3.0, np.float32),
                np.zeros((0, 2)), np.array(2.5)):
        got = getattr(tl.special, name)(tl.tensor(arr))
        ref = getattr(torch.special, name)(torch.tensor(arr))
        assert str(got.dtype) == str(ref.dtype).replace("torch.", "") and tuple(got.shape) == tuple(ref.shape)
        g, r = np.ravel(got.data).astype(np.float64), np.ravel(ref.numpy()).astype(np.float64)
        assert np.array_equal(np.isinf(g), np.isinf(r)) and np.array_equal(np.isnan(g), np.isnan(r))
        ok = np.isfinite(r)
        if ok.any():
            assert err(name, np.ravel(arr).astype(np.float64)[ok], g[ok], r[ok]) <= F32


@pytest.mark.parametrize("name", NAMES)
def test_float32_is_the_float64_value_rounded(name: str) -> None:
    x = grid(name, 400).astype(np.float32)
    x = x[np.isfinite(x)]
    got = getattr(tl.special, name)(tl.tensor(x)).data
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, ours(name, x.astype(np.float64)).astype(np.float32))
    lo, hi = (0, 10) if name in POSITIVE else (-10, 10)
    x = np.linspace(lo, hi, 2001).astype(np.float32)[1:]
    got, ref = getattr(tl.special, name)(tl.tensor(x)).data, getattr(torch.special, name)(torch.tensor(x)).numpy()
    assert err(name, x.astype(np.float64), got.astype(np.float64), ref.astype(np.float64)) <= F32


@pytest.mark.parametrize("name", NAMES)
def test_refusals_as_torch(name: str) -> None:
    f, tf = getattr(tl.special, name), getattr(torch.special, name)
    for bad in (1.0, 2, [1.0]):
        with pytest.raises(TypeError):
            tf(bad)
        with pytest.raises(TypeError, match=name):
            f(bad)
    with pytest.raises(RuntimeError):  # (torch: not implemented for 'Half')
        tf(torch.tensor([1.0], dtype=torch.float16))
    with pytest.raises(RuntimeError, match=f"{name}.*float16"):
        f(tl.tensor(np.array([1.0], np.float16)))


# ------------------------------------------------------------------- gradients ------------
# torch records no gradient for these functions (their outputs do not require grad); here each
# has its exact derivative. Checked against torch's values of the closed forms, and against
# float64 central differences.
DERIV = {
    "bessel_j0": lambda x: -torch.special.bessel_j1(x),
    "bessel_j1": lambda x: torch.special.bessel_j0(x) - torch.special.bessel_j1(x) / x,
    "bessel_y0": lambda x: -torch.special.bessel_y1(x),
    "bessel_y1": lambda x: torch.special.bessel_y0(x) - torch.special.bessel_y1(x) / x,
    "modified_bessel_i0": lambda x: torch.special.modified_bessel_i1(x),
    "modified_bessel_i1": lambda x: torch.special.modified_bessel_i0(x) - torch.special.modified_bessel_i1(x) / x,
    "modified_bessel_k0": lambda x: -torch.special.modified_bessel_k1(x),
    "modified_bessel_k1": lambda x: -torch.special.modified_bessel_k0(x) - torch.special.modified_bessel_k1(x) / x,
    "scaled_modified_bessel_k0": lambda x: torch.special.scaled_modified_bessel_k0(x)
    - torch.special.scaled_modified_bessel_k1(x),
    "scaled_modified_bessel_k1": lambda x: torch.special.scaled_modified_bessel_k1(x) * (1 - 1 / x)
    - torch.special.scaled_modified_bessel_k0(x),
    "spherical_bessel_j0": lambda x: (x * torch.cos(x) - torch.sin(x)) / (x * x),
    "airy_ai": None,
}


def grad_of(name: str, x: np.ndarray) -> np.ndarray:
    t = tl.tensor(x, requires_grad=True)
    getattr(tl.special, name)(t).sum().backward()
    return t.grad


@pytest.mark.parametrize("name", NAMES)
def test_gradients(name: str) -> None:
    tx = torch.tensor([0.5, 1.5], dtype=torch.float64, requires_grad=True)
    assert not getattr(torch.special, name)(tx).requires_grad  # (torch: no gradient)
    x = np.concatenate([np.linspace(0.05, 1.95, 39), np.linspace(20.5, 40, 40)])
    if name not in POSITIVE:
        x = np.concatenate([x, -x])
    g = grad_of(name, x)
    if DERIV[name] is not None:  # torch's values of the closed form, where they are accurate
        np.testing.assert_allclose(g, DERIV[name](torch.tensor(x)).numpy(), rtol=1e-11, atol=1e-13)
    else:  # Ai'(x) in 40-digit arithmetic
        ref = np.array([float(mp.airyai(mp.mpf(float(v)), derivative=1)) for v in x])
        np.testing.assert_allclose(g, ref, rtol=1e-13, atol=1e-15)
    xs = np.linspace(0.3, 12, 60) * (1 if name in POSITIVE else np.sign(np.sin(np.arange(60)) + 0.1))
    h = 1e-5
    fd = (ours(name, xs + h) - ours(name, xs - h)) / (2 * h)
    np.testing.assert_allclose(grad_of(name, xs), fd, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_second_derivatives_by_create_graph(name: str) -> None:
    xs = np.linspace(0.3, 12, 25)
    if name not in POSITIVE:
        xs = np.concatenate([xs, -xs[::3]])

    def first(v: np.ndarray) -> np.ndarray:
        return grad_of(name, v)

    t = tl.tensor(xs, requires_grad=True)
    (g,) = tl.autograd.grad(getattr(tl.special, name)(t).sum(), [t], create_graph=True)
    (g2,) = tl.autograd.grad(g.sum(), [t])
    np.testing.assert_allclose(g.data, first(xs), rtol=1e-14, atol=1e-300)
    h = 1e-5
    np.testing.assert_allclose(g2.data, (first(xs + h) - first(xs - h)) / (2 * h), rtol=1e-7, atol=1e-8)


def test_gradient_limits_at_zero() -> None:
    z = np.array([0.0])
    assert grad_of("bessel_j1", z)[0] == 0.5  # J1'(0)
    assert grad_of("modified_bessel_i1", z)[0] == 0.5
    assert grad_of("spherical_bessel_j0", z)[0] == 0.0
    assert grad_of("bessel_j0", z)[0] == 0.0
    assert grad_of("bessel_y1", z)[0] == np.inf and grad_of("modified_bessel_k1", z)[0] == -np.inf
    t = tl.tensor(z, requires_grad=True)
    (g,) = tl.autograd.grad(tl.special.spherical_bessel_j0(t).sum(), [t], create_graph=True)
    (g2,) = tl.autograd.grad(g.sum(), [t])
    assert abs(g2.data[0] + 1 / 3) < 1e-16  # j0''(0) = -1/3
    t = tl.tensor(z, requires_grad=True)
    (g,) = tl.autograd.grad(tl.special.airy_ai(t).sum(), [t], create_graph=True)
    (g2,) = tl.autograd.grad(g.sum(), [t])
    assert g2.data[0] == 0.0 and abs(g.data[0] - float(mp.airyai(0, derivative=1))) < 1e-16  # Ai'' = x Ai


def test_i0_i1_are_the_existing_ops() -> None:
    x = tl.tensor(np.array([0.5, -2.0]), requires_grad=True)
    assert tl.special.modified_bessel_i0(x)._op is tl.special.i0(x)._op
    assert tl.special.modified_bessel_i1(x)._op is tl.special.i1(x)._op
    assert set(NAMES) <= set(tl.special.__all__)
