"""More special functions as elementwise ops: the regularized incomplete gamma functions
``gammainc`` P(a, x) and ``gammaincc`` Q(a, x) = 1 - P(a, x), the Hurwitz ``zeta(x, q)`` and
the scaled complementary error function ``erfcx(x) = exp(x^2) erfc(x)``.

Keeps the numpy kernels (float64 inside, the result cast back to the input's float dtype)
and the op classes with their vjps; touches nothing else. The Hurwitz zeta sum itself is
``ops.special.zeta`` (the one polygamma uses), and here only gains torch's values at the
edges of its domain. As torch, P and Q are differentiable in x only, and zeta in q only:
a backward that reaches the other operand raises ``NotImplementedError``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import ReadsOutput, const
from .mathfns import _NonLinear
from .special import LGAMMA, _back, _f64, _Special, erfc, lgamma
from .special import zeta as _hurwitz

_EPS = 2.0 ** -53
_EULER = 0.5772156649015329
_MAX_STEPS = 60000  # (the series and the continued fraction need about 9 sqrt(a) steps where x is near a)
_GAMMA = np.frompyfunc(math.gamma, 1, 1)
# lgamma(1 + a) = -euler a + sum_{k>=2} (-1)^k zeta(k) a^k / k for |a| < 1 (coefficients k = 2..60)
_LG1P = tuple((-1.0) ** k * float(_hurwitz(k, np.array(1.0))) / k for k in range(2, 61))


def lgamma1p(a: np.ndarray) -> np.ndarray:
    """lgamma(1 + a), accurate relative to its (small) value for |a| < 1/2, by the series
    -euler a + sum_k (-1)^k zeta(k) a^k / k; lgamma elsewhere."""
    a = _f64(a)
    small = np.abs(a) < 0.5
    t = np.where(small, a, 0.0)
    acc = np.zeros_like(t)
    for c in reversed(_LG1P):
        acc = (acc + c) * t
    return np.where(small, (acc - _EULER) * t, lgamma(a + 1.0))


def _log1pmx(t: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """t - log(1 + t) for t = ratio - 1 without cancellation: with y = t/(2+t),
    log(1+t) = 2 atanh y, so t - log1p(t) = t^2/(2+t) - 2 sum_{k>=1} y^(2k+1)/(2k+1) for
    |t| < 1/2; t - log(ratio) elsewhere (``ratio`` itself: 1 + t loses a small ratio)."""
    with np.errstate(all="ignore"):
        small = np.abs(t) < 0.5
        ts = np.where(small, t, 0.0)
        y = ts / (2.0 + ts)
        y2 = y * y
        acc = np.zeros_like(y)
        for k in range(20, 0, -1):
            acc = (acc + 1.0 / (2 * k + 1)) * y2
        return np.where(small, ts * ts / (2.0 + ts) - 2.0 * y * acc, t - np.log(ratio))


def _stirling_rest(a: np.ndarray) -> np.ndarray:
    """lgamma(a + 1) - (a + 1/2) log a + a - log sqrt(2 pi) = 1/(12a) - 1/(360a^3) + ... for a >= 10."""
    r = 1.0 / (a * a)
    return (1 / 12 + r * (-1 / 360 + r * (1 / 1260 + r * (-1 / 1680 + r * (1 / 1188 - r * 691 / 360360))))) / a


def _prefactor(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """x^a e^-x / Gamma(a + 1) for a, x > 0: as a product for a < 10 and x < 700; for a >= 10
    as exp(-a (t - log1p t) - stirling_rest(a)) / sqrt(2 pi a) with t = (x - a)/a, which keeps
    its relative accuracy where x is near a large a; else from logarithms."""
    with np.errstate(all="ignore"):
        big = a >= 10
        ab = np.where(big, a, 10.0)
        stirling = np.exp(-ab * _log1pmx((x - ab) / ab, x / ab) - _stirling_rest(ab)) / np.sqrt(2 * math.pi * ab)
        direct = x ** a * np.exp(-x) / np.asarray(_GAMMA(np.where(big, 1.0, a) + 1.0), dtype=np.float64)
        logs = np.exp(a * np.log(x) - x - lgamma1p(a))
        return np.where(big, stirling, np.where(x < 700, direct, logs))


def _steps(state: dict, step: Any) -> dict:
    """Run ``step(state, k)`` for k = 1, 2, ... on the elements it has not yet marked done
    (``step`` returns the done mask); the state's arrays, finished, in the original order."""
    n = next(iter(state.values())).shape[0]
    out = {key: v.copy() for key, v in state.items()}
    idx = np.arange(n)
    cur = dict(state)
    for k in range(1, _MAX_STEPS + 1):
        if idx.size == 0:
            break
        done = step(cur, k)
        if done.any():
            for key in out:
                out[key][idx[done]] = cur[key][done]
            keep = ~done
            idx = idx[keep]
            cur = {key: v[keep] for key, v in cur.items()}
    for key in out:
        out[key][idx] = cur[key]
    return out


def _series(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """sum_{n>=0} x^n / ((a+1)(a+2)...(a+n)), so that P(a, x) = x^a e^-x / Gamma(a+1) times it."""
    def step(s: dict, k: int) -> np.ndarray:
        s["term"] = s["term"] * s["x"] / (s["a"] + k)
        s["sum"] = s["sum"] + s["term"]
        return s["term"] <= _EPS * s["sum"]

    return _steps({"a": a, "x": x, "term": np.ones_like(a), "sum": np.ones_like(a)}, step)["sum"]


def _fraction(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The continued fraction 1/(x+1-a - 1(1-a)/(x+3-a - 2(2-a)/(x+5-a - ...))) by the modified
    Lentz method, so that Q(a, x) = x^a e^-x / Gamma(a) times it (for x >= a + 1)."""
    tiny = 1e-300
    b = x + 1.0 - a
    d = 1.0 / b

    def step(s: dict, k: int) -> np.ndarray:
        an = -k * (k - s["a"])
        s["b"] = s["b"] + 2.0
        d = an * s["d"] + s["b"]
        d = np.where(np.abs(d) < tiny, tiny, d)
        c = s["b"] + an / s["c"]
        c = np.where(np.abs(c) < tiny, tiny, c)
        s["d"] = 1.0 / d
        delta = c * s["d"]
        s["c"], s["h"] = c, s["h"] * delta
        return np.abs(delta - 1.0) <= _EPS

    state = {"a": a, "b": b, "c": np.full_like(a, 1.0 / tiny), "d": d, "h": d.copy()}
    return _steps(state, step)["h"]


def _q_small_a(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Q(a, x) for a < 3/2 and x < a + 1, where 1 - P would cancel: from
    P = x^a/Gamma(a+1) (1 + a sum_{n>=1} (-x)^n / (n! (a+n))),
    Q = -expm1(a log x - lgamma(1+a)) - x^a/Gamma(a+1) a sum_{n>=1} (-x)^n / (n! (a+n))."""
    term, acc = np.ones_like(x), np.zeros_like(x)
    for n in range(1, 40):  # (x < 5/2: the terms fall below 1e-17 of the first by n = 40)
        term = term * -x / n
        acc = acc + term / (a + n)
    lead = a * np.log(x) - lgamma1p(a)
    return -np.expm1(lead) - np.exp(lead) * a * acc


def _temme(a: np.ndarray, x: np.ndarray) -> tuple:
    """(P, Q) for a large a by the uniform asymptotic expansion: with t = x/a - 1 and
    eta = sign(t) sqrt(2 (t - log(1+t))), Q = erfc(eta sqrt(a/2))/2 + R and
    P = erfc(-eta sqrt(a/2))/2 - R, R = exp(-a eta^2/2)/sqrt(2 pi a) (c0 + c1/a + c2/a^2) where
    c0 = 1/t - 1/eta, c1 = 1/eta^3 - 1/t^3 - 1/t^2 - 1/(12t) (their Taylor series near eta = 0,
    -1/3 + eta/12 - 2eta^2/135 + eta^3/864 + eta^4/2835 and -1/540 - eta/288 + eta^2/378) and
    c2 = 25/6048; for a >= 1e7 the terms left out are below 1e-15 of the result."""
    with np.errstate(all="ignore"):
        t = (x - a) / a
        eta = np.sign(t) * np.sqrt(2.0 * _log1pmx(t, x / a))
        small = np.abs(eta) < 0.01
        e = np.where(small, eta, 0.0)
        c0 = np.where(small, -1 / 3 + e * (1 / 12 + e * (-2 / 135 + e * (1 / 864 + e / 2835))), 1 / t - 1 / eta)
        c1 = np.where(small, -1 / 540 + e * (-1 / 288 + e / 378), eta ** -3 - t ** -3 - t ** -2 - 1 / (12 * t))
        r = np.exp(-0.5 * a * eta * eta) / np.sqrt(2 * math.pi * a) * (c0 + c1 / a + 25 / 6048 / (a * a))
        u = eta * np.sqrt(0.5 * a)
        return _f64(erfc(-u)) / 2 - r, _f64(erfc(u)) / 2 + r


def incomplete_gamma(a: np.ndarray, x: np.ndarray) -> tuple:
    """(P(a, x), Q(a, x)): P = gamma(a, x)/Gamma(a), the regularized lower incomplete gamma
    function int_0^x t^(a-1) e^-t dt / Gamma(a), and Q = 1 - P, in float64. P by its series
    for x < a + 1 (Q then as 1 - P, or by the alternating series for a < 3/2), Q by its
    continued fraction otherwise, both by the uniform asymptotic expansion for a >= 1e7.
    torch's edge values, in its order: nan for a < 0 or x < 0; at a = 0, P = 1 for x > 0
    (else nan); at x = 0, P = 0; at a = inf, P = 0 (nan at x = inf); at x = inf, P = 1; nan
    for any other nan operand."""
    a, x = np.broadcast_arrays(_f64(a), _f64(x))
    shape = a.shape
    a, x = a.ravel(), x.ravel()
    p, q = np.full(a.shape, np.nan), np.full(a.shape, np.nan)
    with np.errstate(all="ignore"):
        ok = (a > 0) & (x > 0) & np.isfinite(a) & np.isfinite(x)
        huge = ok & (a >= 1e7)
        lo = ok & ~huge & (x < a + 1.0)
        hi = ok & ~huge & ~lo
        if huge.any():
            p[huge], q[huge] = _temme(a[huge], x[huge])
        if lo.any():
            al, xl = a[lo], x[lo]
            pl = _prefactor(al, xl) * _series(al, xl)
            p[lo] = pl
            q[lo] = np.where(al < 1.5, _q_small_a(al, np.where(al < 1.5, xl, 1.0)), 1.0 - pl)
        if hi.any():
            ah, xh = a[hi], x[hi]
            qh = _prefactor(ah, xh) * ah * _fraction(ah, xh)
            q[hi], p[hi] = qh, 1.0 - qh
        # torch's order of the edge cases: a negative operand; a = 0; x = 0; a = inf; x = inf
        neg = (a < 0) | (x < 0)
        at0 = ~neg & (a == 0)
        one = at0 & (x > 0)
        zero = ~neg & ~at0 & (x == 0)
        ainf = ~neg & ~at0 & ~zero & np.isinf(a)
        zero |= ainf & ~np.isinf(x)
        one |= ~neg & ~at0 & ~zero & ~ainf & np.isinf(x)
        p = np.where(one, 1.0, np.where(zero, 0.0, p))
        q = np.where(one, 0.0, np.where(zero, 1.0, q))
    return p.reshape(shape), q.reshape(shape)


def _cast(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``y`` in the float dtype of ``a`` and ``b`` (float64 for other dtypes)."""
    dt = np.result_type(a, b)
    return np.asarray(y, dtype=dt if dt.kind == "f" else np.float64)


def gammainc(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """P(a, x) (see ``incomplete_gamma``), in the float dtype of the operands."""
    return _cast(incomplete_gamma(a, x)[0], a, x)


def gammaincc(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Q(a, x) = 1 - P(a, x) (see ``incomplete_gamma``), in the float dtype of the operands."""
    return _cast(incomplete_gamma(a, x)[1], a, x)


def zeta(x: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The Hurwitz zeta function zeta(x, q) = sum_{k>=0} (k + q)^-x, with torch's values off
    its domain: inf at x = 1 and, for x > 1 (or a nan x), at q = 0, -1, -2, ... and -inf; nan for
    x < 1, for q < 0 with x not an integer, for q = +inf and for a nan. At x = inf it is 1 for
    q = 1, inf for |q| < 1 (or a negative q), nan for q > 1, as torch's."""
    x0, q0 = x, q
    s, q = np.broadcast_arrays(_f64(x), _f64(q))
    with np.errstate(all="ignore"):
        fine = (s > 1) & np.isfinite(s) & np.isfinite(q) & ((q >= 0) | (s == np.floor(s)))
        out = _hurwitz(np.where(fine, s, 2.0), np.where(fine, q, 1.0))
        pole = (q <= 0) & (q == np.floor(q))
        at_inf = np.where(q == 1, 1.0, np.where((q < 1) & (q != 0), np.inf, np.nan))
        out = np.where(fine, out, np.where(np.isposinf(s) & ~np.isnan(q) & ~pole, at_inf, np.nan))
        out = np.where(np.isposinf(q) | np.isnan(q) | np.isnan(s) | (s < 1), np.nan, out)
        out = np.where(((s > 1) | np.isnan(s)) & pole, np.inf, out)
        out = np.where(s == 1, np.inf, out)
    return _cast(out, x0, q0)


def erfcx(x: np.ndarray) -> np.ndarray:
    """exp(x^2) erfc(x) without overflow: for x >= 10 the asymptotic series
    1/(x sqrt pi) sum_k (-1)^k (2k-1)!! / (2x^2)^k (25 terms: below 1e-17 there); below it
    exp(x^2) erfc(x) with x^2 split exactly into hi + lo (so exp(x^2) is exp(hi) exp(lo) to
    full precision); 0 at +inf, +inf where exp(x^2) overflows (x < -26.6) and at -inf."""
    t = _f64(x)
    with np.errstate(all="ignore"):
        big = t >= 10
        u = np.where(big, t, 10.0)
        r = 1.0 / u
        w = 0.5 * r * r
        term, acc = np.ones_like(u), np.ones_like(u)
        for k in range(1, 26):
            term = term * -(2 * k - 1) * w
            acc = acc + term
        asy = acc * r / math.sqrt(math.pi)
        v = np.where(big, 0.0, t)
        hi = np.round(v * 2.0 ** 26) / 2.0 ** 26  # (26 bits: hi * hi is exact)
        sq_hi = hi * hi
        sq_lo = (v - hi) * (v + hi)  # x^2 - hi^2 exactly to rounding
        near = np.exp(sq_hi) * np.exp(sq_lo) * _f64(erfc(v))
        out = np.where(big, asy, near)
        out = np.where(np.isposinf(t), 0.0, np.where(np.isneginf(t), np.inf, out))
    return _back(out, x)


# ------------------------------------------------------------------- ops ------------------
class Erfcx(ReadsOutput, _Special):
    name, rule, fn = "erfcx", "d erfcx(a)/da = 2 a erfcx(a) - 2/sqrt(pi)", staticmethod(erfcx)

    def deriv(self, node: Any) -> Any:
        return 2.0 * node._parents[0]._data * node._data - 2.0 / math.sqrt(math.pi)

    def tderiv(self, node: Any) -> Any:
        return node._parents[0] * node * 2.0 - 2.0 / math.sqrt(math.pi)


class _NoFirst(_NonLinear):
    """A binary op differentiable in its second operand only (as torch's): the vjp refuses a
    first operand that requires grad."""

    first = "input"

    def refuse(self, node: Any) -> None:
        if node._parents[0]._rg:
            raise NotImplementedError(f"{self.name}: the derivative with respect to {self.first} is not implemented "
                                      "(torch has none either); only the second operand can require grad")

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        self.refuse(node)
        b = node._parents[1]
        with np.errstate(all="ignore"):
            gb = (g * self.deriv(node)).astype(node._data.dtype, copy=False) if b._rg else None
        return None, gb

    def tvjp(self, node: Any, g: Any) -> tuple:
        self.refuse(node)
        return None, (g * self.tderiv(node) if node._parents[1]._rg else None)


class Igamma(_NoFirst):
    name, first = "gammainc", "input (a)"
    rule = "d P(a,x)/dx = exp((a-1) log x - x - lgamma(a)); d/da not implemented (as torch)"
    fn = staticmethod(gammainc)
    sign = 1.0

    def deriv(self, node: Any) -> Any:
        a, x = node._parents[0]._data, node._parents[1]._data
        return self.sign * np.exp((a - 1) * np.log(x) - x - lgamma(a))

    def tderiv(self, node: Any) -> Any:
        a, x = node._parents
        return ((a - 1.0) * x.log() - x - LGAMMA(a)).exp() * self.sign


class Igammac(Igamma):
    name = "gammaincc"
    rule = "d Q(a,x)/dx = -exp((a-1) log x - x - lgamma(a)); d/da not implemented (as torch)"
    fn = staticmethod(gammaincc)
    sign = -1.0


class Zeta(_NoFirst):
    name, first = "zeta", "input (x)"
    rule = "d zeta(x,q)/dq = -x zeta(x+1, q); d/dx not implemented (as torch)"
    fn = staticmethod(zeta)

    def deriv(self, node: Any) -> Any:
        s, q = node._parents[0]._data, node._parents[1]._data
        return -s * zeta(s + 1, q)

    def tderiv(self, node: Any) -> Any:
        s, q = node._parents
        return ZETA(const(s._data + 1), q) * -s


ERFCX, IGAMMA, IGAMMAC, ZETA = Erfcx(), Igamma(), Igammac(), Zeta()
