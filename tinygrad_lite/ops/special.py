"""Special functions as elementwise ops: ``lgamma``, ``digamma``, ``polygamma``, the modified
Bessel functions ``i0``, ``i1`` and their exponentially scaled forms ``i0e``, ``i1e``,
``erfc``, ``sinc`` and ``entr``; and the binary ``logaddexp``, ``logaddexp2``, ``copysign``,
``fmax`` and ``fmin``.

The numpy kernels need nothing beyond the standard library: ``lgamma`` and ``erfc`` are
``math``'s, applied element by element; ``digamma`` is the recurrence psi(x) = psi(x+1) - 1/x
up to x >= 10 and then the asymptotic series; ``polygamma`` is (-1)^(n+1) n! zeta(n+1, x) with
the Hurwitz zeta function summed directly up to q >= 20 and then by Euler-Maclaurin; the
Bessel functions are their power series for |x| <= 20 and their asymptotic series beyond.
Each is accurate to a few units in the last place of float64.

Each class holds its forward, its vjp (stated in ``rule``) and its batch rule: the unary
ones are elementwise, the binary ones broadcast and are linear in neither operand.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import ReadsOutput, const
from .elementwise import _Unary
from .mathfns import _NonLinear
from .reduce import opmath
from .unary import _DerivOp

# B_2, B_4, ..., B_24 (Bernoulli numbers)
_BERN = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798, -174611 / 330,
         854513 / 138, -236364091 / 2730)


def _f64(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _back(y: Any, x: np.ndarray) -> np.ndarray:
    """``y`` in the float dtype of ``x`` (float64 for other inputs)."""
    return np.asarray(y, dtype=x.dtype if x.dtype.kind == "f" else np.float64)


def _lgamma1(v: float) -> float:
    try:
        return math.lgamma(v)
    except (ValueError, OverflowError):  # the poles 0, -1, -2, ...
        return math.inf


_LGAMMA = np.frompyfunc(_lgamma1, 1, 1)
_ERFC = np.frompyfunc(math.erfc, 1, 1)


def lgamma(x: np.ndarray) -> np.ndarray:
    """log |Gamma(x)| elementwise (+inf at the poles 0, -1, -2, ... and at +-inf)."""
    return _back(np.asarray(_LGAMMA(_f64(x)), dtype=np.float64), x)


def erfc(x: np.ndarray) -> np.ndarray:
    """1 - erf(x) without cancellation for large x."""
    return _back(np.asarray(_ERFC(_f64(x)), dtype=np.float64), x)


def digamma(x: np.ndarray) -> np.ndarray:
    """psi(x) = d log Gamma(x)/dx: reflection psi(x) = psi(1-x) - pi/tan(pi x) for x < 0, the
    recurrence psi(x) = psi(x+1) - 1/x up to x >= 10, then
    psi(x) ~ log x - 1/(2x) - sum_k B_2k / (2k x^2k). -inf at 0 (signed as torch), nan at the
    negative integers."""
    t = _f64(x)
    with np.errstate(all="ignore"):
        neg = t < 0
        frac = t - np.trunc(t)
        res = np.where(neg, -math.pi / np.tan(math.pi * frac), 0.0)
        z = np.where(neg, 1.0 - t, t)
        for _ in range(10):
            small = z < 10
            if not small.any():
                break
            res = res - np.where(small, 1.0 / z, 0.0)
            z = np.where(small, z + 1.0, z)
        y = 1.0 / (z * z)
        series = np.zeros_like(z)
        for k in range(7, -1, -1):  # Horner: sum_{k<8} B_(2k+2) / (2k+2) y^(k+1)
            series = (series + _BERN[k] / (2 * k + 2)) * y
        res = res + np.log(z) - 0.5 / z - series
        res = np.where(t == 0, np.copysign(np.inf, -t), res)
        res = np.where(neg & (frac == 0), np.nan, res)
        res = np.where(np.isposinf(t), np.inf, np.where(np.isneginf(t), np.nan, res))
    return _back(res, x)


def zeta(s: Any, q: np.ndarray) -> np.ndarray:
    """The Hurwitz zeta function sum_k (q+k)^-s for s > 1 (an int, or an array broadcast with q):
    the terms summed up to a = q + N >= max(20, 2s), the rest by Euler-Maclaurin
    a^(1-s)/(s-1) + a^-s/2 + sum_j B_2j/(2j)! s(s+1)...(s+2j-2) a^(-s-2j+1). +inf at the poles
    q = 0, -1, -2, ..."""
    q, s = _f64(q), _f64(s)
    top = np.minimum(np.maximum(20.0, 2.0 * s), 2000.0)  # (for s > 1000 every term beyond 2000 underflows to 0)
    with np.errstate(all="ignore"):
        a = np.where(np.isfinite(q), q, top)
        total = np.zeros_like(a)
        while True:
            low = a < top
            if not low.any():
                break
            total = total + np.where(low, a ** -s, 0.0)
            a = np.where(low, a + 1.0, a)
        total = total + a ** (1 - s) / (s - 1) + 0.5 * a ** -s
        coef, fact, power = s, 2.0, a ** (-s - 1)
        for j, b in enumerate(_BERN, start=1):
            total = total + np.where(s <= 1000, b / fact * coef * power, 0.0)
            coef = coef * (s + 2 * j - 1) * (s + 2 * j)
            fact *= (2 * j + 1) * (2 * j + 2)
            power = power / (a * a)
        total = np.where((q <= 0) & (q == np.floor(q)), np.inf, total)
        total = np.where(np.isposinf(q), 0.0, np.where(np.isnan(q) | np.isneginf(q), np.nan, total))
    return total


def polygamma(n: int, x: np.ndarray) -> np.ndarray:
    """The n-th derivative of digamma: psi^(n)(x) = (-1)^(n+1) n! zeta(n+1, x) for n >= 1. (At
    large negative x the terms of the sum cancel, and the accuracy falls as torch's does.)"""
    if n == 0:
        return digamma(x)
    with np.errstate(all="ignore"):
        fact = float(math.factorial(n)) if n <= 170 else math.inf  # (n! overflows a float beyond 170)
        return _back((-1.0) ** (n + 1) * fact * zeta(n + 1, x), x)


def _bessel(nu: int, x: np.ndarray, scaled: bool) -> np.ndarray:
    """I_nu(x) for nu in (0, 1) (times exp(-|x|) when ``scaled``): the power series
    sum_k (x/2)^(2k+nu) / (k! (k+nu)!) for |x| <= 20, beyond it the asymptotic series
    e^|x| / sqrt(2 pi |x|) sum_k (-1)^k prod_{j<=k} (4nu^2 - (2j-1)^2) / (k! (8|x|)^k)."""
    t = _f64(x)
    a = np.abs(t)
    small = a <= 20
    with np.errstate(all="ignore"):
        h = np.where(small, a / 2, 0.0)
        term = h if nu else np.ones_like(h)
        ser = term.copy()
        hh = h * h
        for k in range(1, 70):
            term = term * hh / (k * (k + nu))
            ser = ser + term
        if scaled:
            ser = ser * np.exp(-np.where(small, a, 0.0))
        big = np.where(small, 30.0, a)
        term = np.ones_like(big)
        asy = term.copy()
        for k in range(1, 40):
            term = term * ((2 * k - 1) ** 2 - 4 * nu * nu) / (k * 8 * big)
            asy = asy + term
        asy = asy / np.sqrt(2 * math.pi * big)
        if not scaled:
            asy = asy * np.exp(big)
        out = np.where(small, ser, asy)
        if nu:
            out = np.where(t < 0, -out, out)
        out = np.where(np.isnan(t), np.nan, out)
    return _back(out, x)


def i0(x: np.ndarray) -> np.ndarray:
    return _bessel(0, x, False)


def i1(x: np.ndarray) -> np.ndarray:
    return _bessel(1, x, False)


def i0e(x: np.ndarray) -> np.ndarray:
    return _bessel(0, x, True)


def i1e(x: np.ndarray) -> np.ndarray:
    return _bessel(1, x, True)


def _over_x(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """y / x, with the limit 1/2 of i1(x)/x (and of i1e(x)/x) at x = 0."""
    with np.errstate(all="ignore"):
        return np.where(x == 0, 0.5, y / np.where(x == 0, 1.0, x))


# ------------------------------------------------------------------- unary ---------------
class _Special(_Unary):
    quiet = True

    def forward(self, a: np.ndarray, *args: Any) -> tuple:
        return type(self).fn(a), None


def _masked(mask: np.ndarray, t: Any, fill: float) -> Any:
    """The Tensor ``t`` where ``mask`` is false, the constant ``fill`` where it is true."""
    from .select import WHERE
    return WHERE(const(mask), const(np.full((), fill, t._data.dtype)), t)


def _t_over_x(y: Any, a: Any) -> Any:
    """``_over_x`` on Tensors: y / a, 1/2 where a = 0."""
    zero = a._data == 0
    return _masked(zero, y / (a + zero.astype(a._data.dtype)), 0.5)


class Lgamma(_DerivOp, _Special):
    name, rule, fn = "lgamma", "d lgamma(a)/da = digamma(a)", staticmethod(lgamma)


class Digamma(_Special):
    name, rule, fn = "digamma", "d digamma(a)/da = polygamma(1, a)", staticmethod(digamma)

    def deriv(self, node: Any) -> Any:
        return polygamma(1, node._parents[0]._data)

    def tderiv(self, node: Any) -> Any:
        return POLYGAMMA(node._parents[0], 1)


class Polygamma(_Unary):
    name, rule, quiet = "polygamma", "d polygamma(n, a)/da = polygamma(n+1, a)", True

    def forward(self, a: np.ndarray, n: int = 1) -> tuple:
        return polygamma(n, a), n

    def deriv(self, node: Any) -> Any:
        return polygamma(node._ctx + 1, node._parents[0]._data)

    def tderiv(self, node: Any) -> Any:
        return POLYGAMMA(node._parents[0], node._ctx + 1)


class I0(_DerivOp, _Special):
    name, rule, fn = "i0", "d i0(a)/da = i1(a)", staticmethod(i0)


class I1(ReadsOutput, _Special):
    name, rule, fn = "i1", "d i1(a)/da = i0(a) - i1(a)/a (1/2 at a = 0)", staticmethod(i1)

    def deriv(self, node: Any) -> Any:
        a = node._parents[0]._data
        return i0(a) - _over_x(node._data, a)

    def tderiv(self, node: Any) -> Any:
        a = node._parents[0]
        return I0_(a) - _t_over_x(node, a)


class I0e(ReadsOutput, _Special):
    name, rule, fn = "i0e", "d i0e(a)/da = i1e(a) - sign(a) i0e(a)", staticmethod(i0e)

    def deriv(self, node: Any) -> Any:
        a = node._parents[0]._data
        return i1e(a) - np.sign(a) * node._data

    def tderiv(self, node: Any) -> Any:
        a = node._parents[0]
        return I1E(a) - node * np.sign(a._data)


class I1e(ReadsOutput, _Special):
    name, rule, fn = "i1e", "d i1e(a)/da = i0e(a) - i1e(a) (sign(a) + 1/a) (1/2 at a = 0)", staticmethod(i1e)

    def deriv(self, node: Any) -> Any:
        a, y = node._parents[0]._data, node._data
        return i0e(a) - np.sign(a) * y - _over_x(y, a)

    def tderiv(self, node: Any) -> Any:
        a = node._parents[0]
        return I0E(a) - node * np.sign(a._data) - _t_over_x(node, a)


class Erfc(_Special):
    name, rule, fn = "erfc", "d erfc(a)/da = -2/sqrt(pi) exp(-a^2)", staticmethod(erfc)

    def deriv(self, node: Any) -> Any:
        a = node._parents[0]._data
        return -2.0 / math.sqrt(math.pi) * np.exp(-a * a)

    def tderiv(self, node: Any) -> Any:
        a = node._parents[0]
        return (-(a * a)).exp() * (-2.0 / math.sqrt(math.pi))


def _sinc(a: np.ndarray) -> np.ndarray:
    x = opmath(a)
    with np.errstate(all="ignore"):
        y = math.pi * x
        return np.where(x == 0, 1.0, np.sin(y) / np.where(x == 0, 1.0, y)).astype(a.dtype, copy=False)


class Sinc(_Special):
    name, rule = "sinc", "d sinc(a)/da = (cos(pi a) pi a - sin(pi a)) / (pi a^2), -pi^2 a / 3 for a tiny a"
    fn = staticmethod(_sinc)

    def deriv(self, node: Any) -> Any:
        # the quotient (as torch computes it) is 0/0 once a^2 underflows: a tiny a gave NaN
        # where torch gives a number; there the derivative is -pi^2 a / 3 to working precision
        d = node._parents[0]._data
        a = opmath(d)
        y = math.pi * a
        tiny = np.abs(a) < np.sqrt(np.finfo(a.dtype).tiny)  # (a^2 would be subnormal or 0)
        safe = np.where(tiny, 1.0, a)
        ys = math.pi * safe
        quotient = (ys * np.cos(ys) - np.sin(ys)) / (math.pi * safe * safe)
        return np.where(tiny, -math.pi * y / 3, quotient).astype(d.dtype, copy=False)

    def tderiv(self, node: Any) -> Any:
        a = node._parents[0]
        zero = a._data == 0
        safe = a + zero.astype(a._data.dtype)
        y = safe * math.pi
        from .select import WHERE  # at 0: -pi^2 a / 3 (the value 0, and the second derivative -pi^2/3)
        return WHERE(const(zero), a * (-math.pi ** 2 / 3), (y * y.cos() - y.sin()) / (safe * safe * math.pi))


def _entr(x: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        out = np.where(x > 0, -x * np.log(np.where(x > 0, x, 1.0)), np.where(x == 0, 0.0, -np.inf))
        return np.where(np.isnan(x), np.nan, out).astype(x.dtype, copy=False)


class Entr(_Special):
    name, rule, fn = "entr", "d entr(a)/da = -(1 + log a)", staticmethod(_entr)

    def deriv(self, node: Any) -> Any:
        return -(1.0 + np.log(node._parents[0]._data))

    def tderiv(self, node: Any) -> Any:
        return -(node._parents[0].log() + 1.0)


_SQRT2 = math.sqrt(2.0)
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def log_ndtr(x: np.ndarray) -> np.ndarray:
    """log Phi(x) (Phi the standard normal cdf): log(erfc(-x/sqrt 2) / 2) for x >= -20, and
    below -x^2/2 - log(-x) - log sqrt(2 pi) + log(sum_k (-1)^k (2k-1)!! / x^2k)."""
    t = _f64(x)
    with np.errstate(all="ignore"):
        mid = np.log(0.5 * erfc(-t / _SQRT2))
        hi = np.log1p(-0.5 * erfc(t / _SQRT2))
        z = np.where(t < -20, t, -20.0)
        term, total = np.ones_like(z), np.ones_like(z)
        for k in range(1, 30):
            term = term * -(2 * k - 1) / (z * z)
            total = total + term
        low = -0.5 * z * z - np.log(-z) - _LOG_SQRT_2PI + np.log(total)
        out = np.where(t < -20, low, np.where(t > 0, hi, mid))
    return _back(out, x)


def ndtri(p: np.ndarray) -> np.ndarray:
    """The inverse of Phi on [0, 1] (-inf, +inf at the ends, nan outside): a first guess
    (the tail asymptote below 1e-5, sqrt 2 erfinv(2p - 1) elsewhere) polished by Newton steps
    on log Phi(y) = log p, on the lower half (the upper half by symmetry)."""
    from .mathmore import erfinv
    t = _f64(p)
    with np.errstate(all="ignore"):
        upper = t > 0.5
        q = np.where(upper, 1.0 - t, t)
        inside = (q > 0) & (q <= 0.5)
        qs = np.where(inside, q, 0.25)
        lq = np.log(qs)
        s = np.sqrt(-2 * lq)
        tail = -np.sqrt(np.maximum(-2 * lq - np.log(-2 * lq) - 2 * _LOG_SQRT_2PI, 0.0))
        y = np.where(qs < 1e-5, np.minimum(tail, -s + 1.0), _SQRT2 * erfinv(2 * qs - 1))
        for _ in range(6):
            ly = log_ndtr(y)
            y = y - (ly - lq) * np.exp(ly + 0.5 * y * y + _LOG_SQRT_2PI)
        y = np.where(upper, -y, y)
        y = np.where(inside, y, np.where(q == 0, np.where(upper, np.inf, -np.inf), np.nan))
        y = np.where(t == 0.5, 0.0, y)
    return _back(y, p)


class LogNdtr(ReadsOutput, _Special):
    name, rule, fn = "log_ndtr", "d log_ndtr(a)/da = exp(-a^2/2 - log_ndtr(a)) / sqrt(2 pi)", staticmethod(log_ndtr)

    def deriv(self, node: Any) -> Any:
        a = node._parents[0]._data
        return np.exp(-0.5 * a * a - node._data - _LOG_SQRT_2PI)

    def tderiv(self, node: Any) -> Any:
        a = node._parents[0]
        return (a * a * -0.5 - node - _LOG_SQRT_2PI).exp()


class Ndtri(ReadsOutput, _Special):
    name, rule, fn = "ndtri", "d ndtri(p)/dp = sqrt(2 pi) exp(ndtri(p)^2 / 2)", staticmethod(ndtri)

    def deriv(self, node: Any) -> Any:
        y = node._data
        return np.exp(0.5 * y * y + _LOG_SQRT_2PI)

    def tderiv(self, node: Any) -> Any:
        return (node * node * 0.5 + _LOG_SQRT_2PI).exp()


# ------------------------------------------------------------------- binary --------------
class LogAddExp(_NonLinear):
    name, rule = "logaddexp", "d logaddexp(a,b)/da = 1/(1 + exp(b-a)), d/db = 1/(1 + exp(a-b))"
    fn = staticmethod(np.logaddexp)
    base = math.e

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        a, b = node._parents
        with np.errstate(all="ignore"):
            ga = g / (1 + np.power(self.base, b._data - a._data)) if a._rg else None
            gb = g / (1 + np.power(self.base, a._data - b._data)) if b._rg else None
        return ga, gb

    def tvjp(self, node: Any, g: Any) -> tuple:
        """g / (1 + base^(b-a)) = g sigmoid((a - b) ln base), and for b alike."""
        a, b = node._parents
        k = math.log(self.base)
        return (g * ((a - b) * k).sigmoid() if a._rg else None,
                g * ((b - a) * k).sigmoid() if b._rg else None)


class LogAddExp2(LogAddExp):
    name, rule = "logaddexp2", "d logaddexp2(a,b)/da = 1/(1 + 2^(b-a)), d/db = 1/(1 + 2^(a-b))"
    fn = staticmethod(np.logaddexp2)
    base = 2.0


class Copysign(ReadsOutput, _NonLinear):
    name, rule = "copysign", "d copysign(a,b)/da = copysign(a,b)/a (0 at a = 0), d/db = 0"
    fn = staticmethod(np.copysign)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        a, b = node._parents
        ga = gb = None
        with np.errstate(all="ignore"):
            if a._rg:
                ad = a._data
                ga = g * np.where(ad == 0, 0.0, node._data / np.where(ad == 0, 1.0, ad))
        if b._rg:
            gb = np.zeros(np.broadcast_shapes(g.shape, node._data.shape), node._data.dtype)
        return ga, gb

    def tvjp(self, node: Any, g: Any) -> tuple:
        """``g`` times the constant sign factor (and 0 for b)."""
        ga, gb = self.vjp(node, np.ones(node._data.shape, node._data.dtype))
        return (None if ga is None else g * ga, None if gb is None else const(gb) * g)


class Fmax(_NonLinear):
    """The larger of a and b, ignoring a nan operand (nan only when both are); the cotangent
    goes to a where a >= b or b is nan, else to b (ties go to a, as torch)."""

    name, rule = "fmax", "d fmax(a,b)/da = 1 where a >= b or b is nan, else 0; d/db = 1 - d/da"
    fn = staticmethod(np.fmax)
    keep = staticmethod(np.greater_equal)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        a, b = node._parents
        with np.errstate(invalid="ignore"):
            to_a = self.keep(a._data, b._data) | np.isnan(b._data)
        zero = np.zeros((), node._data.dtype)
        return (np.where(to_a, g, zero) if a._rg else None,
                np.where(to_a, zero, g) if b._rg else None)

    def tvjp(self, node: Any, g: Any) -> tuple:
        ga, gb = self.vjp(node, np.ones(node._data.shape, node._data.dtype))
        return (None if ga is None else g * ga, None if gb is None else g * gb)


class Fmin(Fmax):
    name, rule = "fmin", "d fmin(a,b)/da = 1 where a <= b or b is nan, else 0; d/db = 1 - d/da"
    fn = staticmethod(np.fmin)
    keep = staticmethod(np.less_equal)


LGAMMA, DIGAMMA, POLYGAMMA, I0_, I1_, I0E, I1E = Lgamma(), Digamma(), Polygamma(), I0(), I1(), I0e(), I1e()
Lgamma.dop, I0.dop = DIGAMMA, I1_
ERFC, SINC, ENTR, LOGNDTR, NDTRI = Erfc(), Sinc(), Entr(), LogNdtr(), Ndtri()
LOGADDEXP, LOGADDEXP2, COPYSIGN, FMAX, FMIN = LogAddExp(), LogAddExp2(), Copysign(), Fmax(), Fmin()
ALL = (LGAMMA, DIGAMMA, POLYGAMMA, I0_, I1_, I0E, I1E, ERFC, SINC, ENTR, LOGNDTR, NDTRI, LOGADDEXP,
       LOGADDEXP2, COPYSIGN, FMAX, FMIN)
