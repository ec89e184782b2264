"""Elementwise mathematical functions beyond the basic ones: the trigonometric pair
(sin, cos), logarithms and exponentials near 0 and in other bases (log1p, expm1, log2,
log10, exp2), powers written as functions (rsqrt, reciprocal), the error function, and
the binary ``maximum`` / ``minimum`` / ``atan2`` with numpy broadcasting.

Each class holds its forward, its vjp (the local derivative times the cotangent, stated
in ``rule``) and its batch rule, like the ops in ``elementwise``: the unary ones are
elementwise functions (a non-linear function of a batch statistic mixes samples), the
binary ones broadcast like ``a * b`` and are linear in neither operand.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import batchstate
from ..batchstate import STAT
from .base import ReadsOutput
from .elementwise import _Binary, _Unary
from .nnops import erf as _erf
from .unary import _DerivOp

_LN2, _LN10 = math.log(2.0), math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


# ------------------------------------------------------------------- unary ---------------
class Sin(_DerivOp):
    quiet = True  # (nan at +-inf)
    name, rule = "sin", "d sin(a)/da = cos(a)"
    fn = staticmethod(np.sin)


class Cos(_Unary):
    quiet = True
    name, rule = "cos", "d cos(a)/da = -sin(a)"
    fn = staticmethod(np.cos)

    def deriv(self, node: Any) -> Any:
        return -np.sin(node._parents[0]._data)

    def tderiv(self, node: Any) -> Any:
        return -SIN(node._parents[0])


class Log1p(_Unary):
    """log(1 + a), accurate for small a."""

    quiet = True
    name, rule = "log1p", "d log(1+a)/da = 1/(1+a)"
    fn = staticmethod(np.log1p)

    def deriv(self, node: Any) -> Any:
        return 1.0 / (node._parents[0]._data + 1.0)

    def tvjp(self, node: Any, g: Any) -> tuple:
        return (g / (node._parents[0] + 1.0),)


class Expm1(ReadsOutput, _Unary):
    """e^a - 1, accurate for small a; its derivative e^a is the output plus 1."""

    quiet = True
    name, rule = "expm1", "d (e^a - 1)/da = e^a = expm1(a) + 1"
    fn = staticmethod(np.expm1)

    def deriv(self, node: Any) -> Any:
        return node._data + 1.0

    def tderiv(self, node: Any) -> Any:
        return node + 1.0


class _LogBase(_Unary):
    """The logarithm to base k, ln(a) / ln(k): its derivative is 1/(a ln k)."""

    quiet = True
    ln_k = 1.0

    def deriv(self, node: Any) -> Any:
        return 1.0 / (node._parents[0]._data * self.ln_k)

    def tvjp(self, node: Any, g: Any) -> tuple:
        return (g / (node._parents[0] * self.ln_k),)


class Log2(_LogBase):
    name, rule, fn, ln_k = "log2", "d log2(a)/da = 1/(a ln 2)", staticmethod(np.log2), _LN2


class Log10(_LogBase):
    name, rule, fn, ln_k = "log10", "d log10(a)/da = 1/(a ln 10)", staticmethod(np.log10), _LN10


class Exp2(ReadsOutput, _Unary):
    """2^a; its derivative 2^a ln 2 is the output times ln 2."""

    quiet = True
    name, rule, fn = "exp2", "d 2^a/da = 2^a ln 2", staticmethod(np.exp2)

    def deriv(self, node: Any) -> Any:
        return node._data * _LN2

    def tderiv(self, node: Any) -> Any:
        return node * _LN2


def _rsqrt(a: np.ndarray) -> np.ndarray:
    return 1.0 / np.sqrt(a)


def _reciprocal(a: np.ndarray) -> np.ndarray:
    return 1.0 / a


class _NegPower(ReadsOutput, _Unary):
    """a^k for a constant k < 0 (inf at 0): the derivative k a^(k-1) is k out^((k-1)/k)."""

    quiet = True
    k = -1.0

    def deriv(self, node: Any) -> Any:
        return self.k * node._data ** ((self.k - 1.0) / self.k)

    def tderiv(self, node: Any) -> Any:
        return node ** ((self.k - 1.0) / self.k) * self.k


class Rsqrt(_NegPower):
    name, rule, fn, k = "rsqrt", "d a^(-1/2)/da = -a^(-3/2)/2 = -rsqrt(a)^3/2", staticmethod(_rsqrt), -0.5


class Reciprocal(_NegPower):
    name, rule, fn, k = "reciprocal", "d (1/a)/da = -1/a^2 = -reciprocal(a)^2", staticmethod(_reciprocal), -1.0


class Erf(_Unary):
    """erf(a) = 2/sqrt(pi) * integral_0^a e^(-t^2) dt."""

    quiet = True
    name, rule = "erf", "d erf(a)/da = 2/sqrt(pi) e^(-a^2)"
    fn = staticmethod(_erf)

    def deriv(self, node: Any) -> Any:
        a = node._parents[0]._data
        return _TWO_OVER_SQRT_PI * np.exp(-(a * a))

    def tderiv(self, node: Any) -> Any:
        a = node._parents[0]
        return (-(a * a)).exp() * _TWO_OVER_SQRT_PI


# ------------------------------------------------------------------- binary --------------
class _NonLinear(_Binary):
    """A binary function linear in neither operand: applied to a batch statistic (a cost
    that averaged or summed per-sample terms) it leaves no per-sample split, so the result
    is marked as mixing samples (``pow``'s rule)."""

    linear_in = ""
    local = True

    def __call__(self, a: Any, b: Any, reverse: bool = False) -> Any:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            t = _Binary.__call__(self, a, b, reverse)
        if t._bs == STAT:
            t._bs, t._mix = batchstate.mixed(f"op '{self.name}' applied to a batch statistic", *t._parents)
        return t


class _Extremum(_NonLinear):
    """maximum / minimum: the cotangent goes to the operand that won; ties share it in halves.
    ``loses``/``wins``: the comparisons of a with b where a lost / won."""

    loses: Any = None
    wins: Any = None

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        a, b = node._parents
        return _split(g, a, b, self.loses, self.wins)

    def tvjp(self, node: Any, g: Any) -> tuple:
        return _tsplit(g, node, self.loses, self.wins)


class Maximum(_Extremum):
    """The larger of a and b elementwise (nan if either is nan). The cotangent goes to the
    larger operand; where a == b it is split in half between them, as torch does."""

    name, rule = "maximum", "d max(a,b)/da = 1 where a > b, 1/2 where a == b, else 0 (and for b alike)"
    fn = staticmethod(np.maximum)
    loses, wins = staticmethod(np.less), staticmethod(np.greater)


class Minimum(_Extremum):
    """The smaller of a and b elementwise (nan if either is nan); ties share the cotangent
    in halves."""

    name, rule = "minimum", "d min(a,b)/da = 1 where a < b, 1/2 where a == b, else 0 (and for b alike)"
    fn = staticmethod(np.minimum)
    loses, wins = staticmethod(np.greater), staticmethod(np.less)


def _split(g: np.ndarray, a: Any, b: Any, a_loses: Any, b_loses: Any) -> tuple:
    """The cotangents of max / min: ``g`` halved where a == b, zero for the operand that
    lost (``a_loses(a, b)`` / ``b_loses(a, b)``), whole elsewhere (also where one is nan)."""
    ad, bd = a._data, b._data
    zero = np.zeros((), g.dtype)
    shared = np.where(ad == bd, g * 0.5, g).astype(g.dtype, copy=False)
    ga = np.where(a_loses(ad, bd), zero, shared) if a._rg else None
    gb = np.where(b_loses(ad, bd), zero, shared) if b._rg else None
    return ga, gb


def _tsplit(g: Any, node: Any, a_loses: Any, b_loses: Any) -> tuple:
    """``_split`` for a Tensor cotangent: ``g`` selected where the operand did not lose (0
    there under an infinite cotangent, as the vjp), times the (constant) weights ``_split``
    gives ones (1/2 at a tie)."""
    from .unary import _select
    dt = node._data.dtype
    wa, wb = _split(np.ones(node._data.shape, dt), *node._parents, a_loses, b_loses)
    return tuple(None if w is None else _select(w != 0, g, dt) * w for w in (wa, wb))


class Atan2(_NonLinear):
    """The angle of the point (b, a) in radians, in [-pi, pi] (``atan2(a, b)``)."""

    name, rule = "atan2", "d atan2(a,b)/da = b/(a^2+b^2), d/db = -a/(a^2+b^2); 0 at a = b = 0"
    fn = staticmethod(np.arctan2)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        a, b = node._parents
        ad, bd = a._data, b._data
        dt = node._data.dtype
        with np.errstate(divide="ignore", invalid="ignore"):
            d = ad * ad + bd * bd
            r = np.where(d == 0, 0.0, 1.0 / d)  # at the origin the gradient is taken as 0, as torch does
            ga = (g * (bd * r)).astype(dt, copy=False) if a._rg else None
            gb = (g * (-ad * r)).astype(dt, copy=False) if b._rg else None
        return ga, gb

    def tvjp(self, node: Any, g: Any) -> tuple:
        """g b / (a^2 + b^2) and -g a / (a^2 + b^2), 0 at the origin, on Tensors."""
        from .base import const
        from .select import WHERE
        a, b = node._parents
        d = a * a + b * b
        zero = d._data == 0
        r = WHERE(const(zero), const(np.zeros((), node._data.dtype)), 1.0 / (d + zero.astype(node._data.dtype)))
        return (g * b * r if a._rg else None, -(g * a * r) if b._rg else None)


SIN, COS, LOG1P, EXPM1, LOG2, LOG10, EXP2 = Sin(), Cos(), Log1p(), Expm1(), Log2(), Log10(), Exp2()
Sin.dop = COS
RSQRT, RECIPROCAL, ERF = Rsqrt(), Reciprocal(), Erf()
MAXIMUM, MINIMUM, ATAN2 = Maximum(), Minimum(), Atan2()
