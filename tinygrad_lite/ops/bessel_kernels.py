"""Numpy kernels of the Bessel-type functions of ``tl.special``: the Bessel functions J0, J1,
Y0, Y1, the modified Bessel functions K0, K1 and their scaled forms e^x K0, e^x K1, the
spherical Bessel functions j0, j1 and the Airy function Ai with its derivative Ai'. Kernels
only: it reads the coefficient tables of ``ops.bessel_tables`` and reuses ``ops.special``'s
i0 / i1 (near 0, K_n is a logarithm times I_n plus an entire function); it changes nothing.

Every kernel computes in float64 and returns the input's float dtype. The methods:

* J0, J1, Y0, Y1 for 0 <= x <= 8: Chebyshev series in x^2 of J_n(x) with its first two zeros
  divided out (so J is accurate relative to its size near those zeros too, the zeros being
  held as hi + lo pairs), and of Y_n(x) with its logarithmic part (2/pi) log(x) J_n(x)
  (- 2/(pi x) for n = 1) taken out. For x > 8 the Hankel form
  J_n = sqrt(2/(pi x)) (P_n cos chi - Q_n sin chi), Y_n = sqrt(2/(pi x)) (P_n sin chi + Q_n cos chi),
  chi = x - (2n+1) pi/4, with P_n, Q_n Chebyshev series in 64/x^2 up to x = 25 and beyond
  that their asymptotic series P = sum_k (-1)^k a_2k / x^2k, Q = sum_k (-1)^k a_(2k+1) / x^(2k+1),
  a_k(n) = prod_(j<=k) (4n^2 - (2j-1)^2) / (k! 8^k) (40 terms; the smallest term, near
  k = 2x, is below 1e-21 there). cos chi and sin chi come from cos x and sin x, whose
  argument reduction is exact, so the phase carries no rounding error even at x = 1e300.
* K0, K1 for 0 < x <= 2: K0 = E(x^2) - log(x) I0(x), K1 = 1/x + log(x) I1(x) + x G(x^2) with E,
  G Chebyshev series; for x > 2, K_n(x) = e^-x / sqrt(x) F_n(x) with F_n a Chebyshev series
  in 2/x up to x = 25 and beyond it sqrt(pi/2) sum_k a_k(n) / x^k. The scaled forms skip e^-x.
* j0(x) = sin(x)/x; j1(x) = (sin(x)/x - cos x)/x, its power series
  sum_k (-1)^k (2k+2) x^(2k+1) / (2k+3)! below |x| = 1/2 (where the difference cancels).
* Ai, Ai' on [-10, 2]: Chebyshev series in x on four intervals. For x > 2,
  Ai(x) = e^-zeta / (2 sqrt(pi) x^(1/4)) F(zeta), Ai'(x) = -x^(1/4) e^-zeta / (2 sqrt(pi)) F'(zeta),
  zeta = (2/3) x^(3/2), with F, F' Chebyshev series in 1/zeta up to x = 10 and beyond it
  sum_k (-1)^k u_k / zeta^k (and v_k), u_k = u_(k-1) (6k-5)(6k-3)(6k-1) / ((2k-1) 216 k),
  v_k = -u_k (6k+1)/(6k-1). For x < -10, with theta = zeta - pi/4,
  Ai(x) = |x|^(-1/4) / sqrt(pi) (cos(theta) P + sin(theta) Q) and
  Ai'(x) = |x|^(1/4) / sqrt(pi) (sin(theta) P' - cos(theta) Q'), P, Q (P', Q') the even and odd
  parts of the same series. zeta is formed as an unevaluated sum hi + lo of two floats
  (Dekker's exact products), so e^-zeta and the phase keep full accuracy at large |x|.

Edge values follow torch: J and Ai give nan at +-inf, K and the scaled K give 0 at +inf,
nan below 0 and +inf at 0, Y gives -inf at 0 and nan below 0, j0 gives 0 at +-inf.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import bessel_tables as tab
from .special import _back, _f64
from .special import i0 as _i0
from .special import i1 as _i1

_RT2 = math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_SQRT_PI = math.sqrt(math.pi)
_TERMS = 40


def _out(v: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``v`` in ``x``'s float dtype (a float32 result beyond its range is +-inf, silently)."""
    with np.errstate(over="ignore"):
        return _back(v, x)


def _cheb(c: tuple, u: np.ndarray) -> np.ndarray:
    """sum_k c[k] T_k(u) by Clenshaw's recurrence."""
    b1 = np.zeros_like(u)
    b2 = np.zeros_like(u)
    u2 = 2.0 * u
    for ck in c[:0:-1]:
        b1, b2 = u2 * b1 - b2 + ck, b1
    return u * b1 - b2 + c[0]


def _horner(c: list, y: np.ndarray) -> np.ndarray:
    """sum_k c[k] y^k."""
    out = np.full_like(y, c[-1])
    for ck in c[-2::-1]:
        out = out * y + ck
    return out


def _hankel(nu: int) -> list:
    """a_k(nu) = prod_(j<=k) (4 nu^2 - (2j-1)^2) / (k! 8^k), k < 40."""
    a = [1.0]
    for k in range(1, _TERMS):
        a.append(a[-1] * (4 * nu * nu - (2 * k - 1) ** 2) / (8.0 * k))
    return a


def _airy_series() -> tuple:
    """The coefficients u_k and v_k of the Airy asymptotic series, k < 40."""
    u, v = [1.0], [1.0]
    for k in range(1, _TERMS):
        u.append(u[-1] * (6 * k - 5) * (6 * k - 3) * (6 * k - 1) / ((2 * k - 1) * 216.0 * k))
        v.append(-u[-1] * (6 * k + 1) / (6 * k - 1))
    return u, v


_A = (_hankel(0), _hankel(1))
_U, _V = _airy_series()


def _alternate(c: list, start: int) -> list:
    """(-1)^k c[2k + start]: the even (start 0) or odd (1) half of an asymptotic series."""
    return [(-1) ** k * c[2 * k + start] for k in range((len(c) - start + 1) // 2)]


_PQ_ASYM = tuple((_alternate(a, 0), _alternate(a, 1)) for a in _A)
_PQ_MID = ((tab.P0_MID, tab.Q0_MID), (tab.P1_MID, tab.Q1_MID))
_AI_ASYM = tuple((_alternate(c, 0), _alternate(c, 1)) for c in (_U, _V))
_AI_POS = tuple([(-1) ** k * c for k, c in enumerate(ser)] for ser in (_U, _V))


def _small_u(a: np.ndarray, top: float) -> np.ndarray:
    """u = 2 a^2 / top^2 - 1: [0, top] onto [-1, 1] in the square."""
    return 2.0 * (a * a) / (top * top) - 1.0


def _without_zeros(a: np.ndarray, zeros: tuple) -> np.ndarray:
    """prod over the zeros r = hi + lo of (a - r)(a + r), each difference formed exactly."""
    out = np.ones_like(a)
    for hi, lo in zeros:
        out = out * ((a - hi) - lo) * (a + hi)
    return out


def _hankel_pq(nu: int, x: np.ndarray) -> tuple:
    """P_nu(x), Q_nu(x) for x >= 8."""
    s = 64.0 / (x * x)
    s0 = 64.0 / 625.0
    u = np.clip(2.0 * (s - s0) / (1.0 - s0) - 1.0, -1.0, 1.0)
    pc, qc = _PQ_MID[nu]
    pa, qa = _PQ_ASYM[nu]
    y = 1.0 / (x * x)
    mid = x <= 25
    p = np.where(mid, _cheb(pc, u), _horner(pa, y))
    q = np.where(mid, _cheb(qc, u), _horner(qa, y)) / x
    return p, q


def _hankel_jy(nu: int, x: np.ndarray) -> tuple:
    """J_nu(x), Y_nu(x) for x >= 8 by the Hankel form."""
    p, q = _hankel_pq(nu, x)
    c, s = np.cos(x), np.sin(x)
    if nu == 0:
        cchi, schi = (c + s) / _RT2, (s - c) / _RT2
    else:
        cchi, schi = (s - c) / _RT2, -(s + c) / _RT2
    amp = _SQRT_2_OVER_PI / np.sqrt(x)
    return amp * (p * cchi - q * schi), amp * (p * schi + q * cchi)


def _bessel(nu: int, x: np.ndarray, second: bool) -> np.ndarray:
    """J_nu(|x|) (``second``: Y_nu(x)) in float64."""
    t = _f64(x)
    with np.errstate(all="ignore"):
        a = np.abs(t)
        small = a <= 8
        s = np.where(small, a, 1.0)
        u = _small_u(s, 8.0)
        j = _without_zeros(s, tab.ZEROS[f"j{nu}"]) * _cheb((tab.J0_SMALL, tab.J1_SMALL)[nu], u)
        if nu:
            j = j * s
        b = np.where(small, 8.0, a)
        jb, yb = _hankel_jy(nu, b)
        if not second:
            return np.where(small, j, jb)
        if nu == 0:
            ys = 2.0 / math.pi * np.log(s) * j + _cheb(tab.Y0_SMALL, u)
        else:
            ys = 2.0 / math.pi * (np.log(s) * j - 1.0 / s) + s * _cheb(tab.Y1_SMALL, u)
        out = np.where(small, ys, yb)
        out = np.where(t == 0, -np.inf, out)
        return np.where(t < 0, np.nan, out)


def bessel_j0(x: np.ndarray) -> np.ndarray:
    """J0(x), the Bessel function of the first kind of order 0 (even)."""
    return _out(_bessel(0, x, False), x)


def bessel_j1(x: np.ndarray) -> np.ndarray:
    """J1(x), the Bessel function of the first kind of order 1 (odd, -0 at -0)."""
    v = _bessel(1, x, False)
    return _out(np.where(np.signbit(_f64(x)), -v, v), x)


def bessel_y0(x: np.ndarray) -> np.ndarray:
    """Y0(x), the Bessel function of the second kind of order 0 (x >= 0)."""
    return _out(_bessel(0, x, True), x)


def bessel_y1(x: np.ndarray) -> np.ndarray:
    """Y1(x), the Bessel function of the second kind of order 1 (x >= 0)."""
    return _out(_bessel(1, x, True), x)


def _modified_k(nu: int, x: np.ndarray, scaled: bool) -> np.ndarray:
    """K_nu(x), times e^x when ``scaled``, for nu in (0, 1)."""
    t = _f64(x)
    with np.errstate(all="ignore"):
        small = t <= 2
        s = np.where(small & (t > 0), t, 1.0)
        u = _small_u(s, 2.0)
        ls = np.log(s)
        if nu == 0:
            near = _cheb(tab.K0_SMALL, u) - ls * _i0(s)
        else:
            near = s * _cheb(tab.K1_SMALL, u) + ls * _i1(s) + 1.0 / s
        if scaled:
            near = near * np.exp(s)
        b = np.where(small, 2.0, t)
        w = 2.0 / b
        w0 = 2.0 / 25.0
        uf = np.clip(2.0 * (w - w0) / (1.0 - w0) - 1.0, -1.0, 1.0)
        f = np.where(b <= 25, _cheb((tab.K0_MID, tab.K1_MID)[nu], uf), _SQRT_PI / _RT2 * _horner(_A[nu], 1.0 / b))
        far = f / np.sqrt(b)
        if not scaled:
            far = far * np.exp(-b)
        out = np.where(small, near, far)
        out = np.where(t == 0, np.inf, out)
        return np.where((t < 0) | np.isneginf(t), np.nan, out)


def modified_bessel_k0(x: np.ndarray) -> np.ndarray:
    """K0(x), the modified Bessel function of the second kind of order 0 (x >= 0)."""
    return _out(_modified_k(0, x, False), x)


def modified_bessel_k1(x: np.ndarray) -> np.ndarray:
    """K1(x), the modified Bessel function of the second kind of order 1 (x >= 0)."""
    return _out(_modified_k(1, x, False), x)


def scaled_modified_bessel_k0(x: np.ndarray) -> np.ndarray:
    """e^x K0(x) (x >= 0)."""
    return _out(_modified_k(0, x, True), x)


def scaled_modified_bessel_k1(x: np.ndarray) -> np.ndarray:
    """e^x K1(x) (x >= 0)."""
    return _out(_modified_k(1, x, True), x)


def spherical_bessel_j0(x: np.ndarray) -> np.ndarray:
    """j0(x) = sin(x)/x (1 at 0, 0 at +-inf)."""
    t = _f64(x)
    with np.errstate(all="ignore"):
        out = np.where(t == 0, 1.0, np.sin(t) / np.where(t == 0, 1.0, t))
        return _out(np.where(np.isinf(t), 0.0, out), x)


def spherical_bessel_j1(x: np.ndarray) -> np.ndarray:
    """j1(x) = (sin(x)/x - cos x)/x = -j0'(x) (odd; 0 at 0 and at +-inf)."""
    t = _f64(x)
    with np.errstate(all="ignore"):
        tiny = np.abs(t) < 0.5
        s = np.where(tiny, 1.0, t)
        far = (np.sin(s) / s - np.cos(s)) / s
        n = np.where(tiny, t, 0.0)
        series = _horner([(-1) ** k * (2 * k + 2) / math.factorial(2 * k + 3) for k in range(9)], n * n) * n
        out = np.where(tiny, series, far)
        return _out(np.where(np.isinf(t), 0.0, out), x)


def _split(a: np.ndarray) -> tuple:
    """a = hi + lo with hi holding the upper 26 bits (Veltkamp)."""
    c = 134217729.0 * a
    hi = c - (c - a)
    return hi, a - hi


def _two_prod(a: np.ndarray, b: Any) -> tuple:
    """a b = p + e exactly (Dekker)."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(np.asarray(b, dtype=np.float64))
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _zeta(z: np.ndarray) -> tuple:
    """(2/3) z^(3/2) as hi + lo, z > 0: sqrt(z) corrected by its exact residual, then
    (8/3) (z/4) sqrt(z) with exact products (the z/4 keeps the products finite as long as
    zeta is)."""
    s = np.sqrt(z)
    p, e = _two_prod(s, s)
    sl = ((z - p) - e) / (2.0 * s)
    w = 0.25 * z
    m, me = _two_prod(w, s)
    q = m / 3.0
    t = 2.0 * q
    p3 = t + q  # 3q = p3 + e3 exactly (Knuth's two-sum: no product that could overflow)
    b = p3 - t
    e3 = (t - (p3 - b)) + (q - b)
    r = (((m - p3) - e3) + me + w * sl) / 3.0
    return 8.0 * q, 8.0 * r


_AI_MID = ((-10.0, -7.0, tab.AI_M10, tab.AIP_M10), (-7.0, -4.0, tab.AI_M7, tab.AIP_M7),
           (-4.0, -1.0, tab.AI_M4, tab.AIP_M4), (-1.0, 2.0, tab.AI_M1, tab.AIP_M1))
_ZETA2, _ZETA10 = 2.0 / 3.0 * 2.0 ** 1.5, 2.0 / 3.0 * 10.0 ** 1.5


def _airy(x: np.ndarray, prime: bool) -> np.ndarray:
    """Ai(x) (``prime``: Ai'(x)) in float64."""
    t = _f64(x)
    with np.errstate(all="ignore"):
        out = np.full_like(t, np.nan)
        for lo, hi, c, cp in _AI_MID:
            inside = (t >= lo) & (t <= hi)
            u = np.clip((2.0 * t - lo - hi) / (hi - lo), -1.0, 1.0)
            out = np.where(inside, _cheb(cp if prime else c, u), out)
        # x > 2 (0 once e^-zeta underflows, well before x = 200)
        z = np.where(t > 2, np.minimum(t, 200.0), 3.0)
        zh, zl = _zeta(z)
        w = _ZETA2 / zh
        w0 = _ZETA2 / _ZETA10
        u = np.clip(2.0 * (w - w0) / (1.0 - w0) - 1.0, -1.0, 1.0)
        f = np.where(z <= 10, _cheb(tab.AIP_POS if prime else tab.AI_POS, u), _horner(_AI_POS[prime], 1.0 / zh))
        decay = np.exp(-zh) * np.exp(-zl) / (2.0 * _SQRT_PI)
        q4 = np.sqrt(np.sqrt(z))
        pos = -q4 * decay * f if prime else decay * f / q4
        out = np.where(t > 2, np.where(t > 200, 0.0, pos), out)
        # x < -10 (nan once zeta overflows, as torch)
        z = np.where(t < -10, -t, 11.0)
        zh, zl = _zeta(z)
        y = 1.0 / zh
        even, odd = _AI_ASYM[1 if prime else 0]
        pe, qo = _horner(even, y * y), y * _horner(odd, y * y)
        c, s = np.cos(zh), np.sin(zh)
        cth, sth = (c + s) / _RT2, (s - c) / _RT2
        c, s = np.cos(zl), np.sin(zl)  # (lo reaches ulp(hi)/2, no longer small once |x| > 1e5: rotate exactly)
        cth, sth = cth * c - sth * s, sth * c + cth * s
        q4 = np.sqrt(np.sqrt(z))
        neg = q4 / _SQRT_PI * (sth * pe - cth * qo) if prime else (cth * pe + sth * qo) / (q4 * _SQRT_PI)
        out = np.where(t < -10, neg, out)
        return np.where(np.isinf(t), np.nan, out)


def airy_ai(x: np.ndarray) -> np.ndarray:
    """Ai(x), the Airy function of the first kind (nan at +-inf, as torch)."""
    return _out(_airy(x, False), x)


def airy_ai_prime(x: np.ndarray) -> np.ndarray:
    """Ai'(x), the derivative of the Airy function (nan at +-inf)."""
    return _out(_airy(x, True), x)
