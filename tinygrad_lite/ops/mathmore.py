"""More elementwise functions and running reductions: the remaining trigonometric and
hyperbolic functions with their inverses (tan, atan, asin, acos, sinh, cosh, asinh, acosh,
atanh), the inverse error function, ``trunc`` (zero gradient), the binary ``hypot`` and
``xlogy``, and the scans ``cumprod`` and ``logcumsumexp`` along one axis.

Each class holds its forward, its vjp (stated in ``rule``) and its batch rule, like the ops
in ``mathfns``: the unary ones are elementwise, the binary ones broadcast and are linear in
neither operand, the scans follow the rule of ``cumsum`` (each sample's row is scanned on
its own unless the scan runs over the sample axis).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import ReadsOutput, const
from .elementwise import _Unary
from .mathfns import _NonLinear
from .nnops import erf as _erf
from .reduce import PROD, Cumsum, _AlongAxis, acc_dtype, masked_square
from .select import _Step
from .unary import _DerivOp

_SQRT_PI_OVER_TWO = math.sqrt(math.pi) / 2.0


# ------------------------------------------------------------------- unary ---------------
class _Quiet(_Unary):
    """An elementwise function with IEEE edge values (inf, nan) outside its domain."""

    quiet = True


class Tan(ReadsOutput, _Quiet):
    name, rule, fn = "tan", "d tan(a)/da = 1 + tan(a)^2", staticmethod(np.tan)

    def deriv(self, node: Any) -> Any:
        return 1.0 + node._data * node._data

    def tderiv(self, node: Any) -> Any:
        return node * node + 1.0


class Atan(_Quiet):
    name, rule, fn = "atan", "d atan(a)/da = 1/(1+a^2)", staticmethod(np.arctan)

    def deriv(self, node: Any) -> Any:
        a = node._parents[0]._data
        return 1.0 / (1.0 + a * a)

    def tderiv(self, node: Any) -> Any:
        a = node._parents[0]
        return 1.0 / (a * a + 1.0)


class Asin(_Quiet):
    name, rule, fn = "asin", "d asin(a)/da = 1/sqrt(1-a^2)", staticmethod(np.arcsin)

    def deriv(self, node: Any) -> Any:
        a = node._parents[0]._data
        return 1.0 / np.sqrt(1.0 - a * a)

    def tderiv(self, node: Any) -> Any:
        a = node._parents[0]
        return (1.0 - a * a) ** -0.5


class Acos(_Quiet):
    name, rule, fn = "acos", "d acos(a)/da = -1/sqrt(1-a^2)", staticmethod(np.arccos)

    def deriv(self, node: Any) -> Any:
        a = node._parents[0]._data
        return -1.0 / np.sqrt(1.0 - a * a)

    def tderiv(self, node: Any) -> Any:
        a = node._parents[0]
        return -((1.0 - a * a) ** -0.5)


class Sinh(_DerivOp, _Quiet):
    name, rule, fn = "sinh", "d sinh(a)/da = cosh(a)", staticmethod(np.sinh)


class Cosh(_DerivOp, _Quiet):
    name, rule, fn = "cosh", "d cosh(a)/da = sinh(a)", staticmethod(np.cosh)


class Asinh(_Quiet):
    name, rule, fn = "asinh", "d asinh(a)/da = 1/sqrt(a^2+1)", staticmethod(np.arcsinh)

    def deriv(self, node: Any) -> Any:
        a = node._parents[0]._data
        return 1.0 / np.sqrt(a * a + 1.0)

    def tderiv(self, node: Any) -> Any:
        a = node._parents[0]
        return (a * a + 1.0) ** -0.5


class Acosh(_Quiet):
    name, rule, fn = "acosh", "d acosh(a)/da = 1/sqrt(a^2-1)", staticmethod(np.arccosh)

    def deriv(self, node: Any) -> Any:
        a = node._parents[0]._data
        return 1.0 / np.sqrt(a * a - 1.0)

    def tderiv(self, node: Any) -> Any:
        a = node._parents[0]
        return (a * a - 1.0) ** -0.5


class Atanh(_Quiet):
    name, rule, fn = "atanh", "d atanh(a)/da = 1/(1-a^2)", staticmethod(np.arctanh)

    def deriv(self, node: Any) -> Any:
        a = node._parents[0]._data
        return 1.0 / (1.0 - a * a)

    def tderiv(self, node: Any) -> Any:
        a = node._parents[0]
        return 1.0 / (1.0 - a * a)


try:  # pragma: no cover - depends on the environment
    from scipy.special import erfinv as _scipy_erfinv
except Exception:  # noqa: BLE001
    _scipy_erfinv = None


def erfinv(x: np.ndarray) -> np.ndarray:
    """The inverse of erf on [-1, 1] (+-inf at +-1, nan outside). Without scipy: bisection of
    erf on [-6, 6] (60 halvings) polished by two Newton steps y -= (erf(y) - x) / erf'(y)."""
    if _scipy_erfinv is not None:
        return np.asarray(_scipy_erfinv(x), dtype=x.dtype)
    t = x.astype(np.float64)
    inside = np.abs(t) < 1
    c = np.where(inside, t, 0.0)
    lo, hi = np.full(c.shape, -6.0), np.full(c.shape, 6.0)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        below = _erf(mid) < c
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    y = 0.5 * (lo + hi)
    for _ in range(2):
        y = y - (_erf(y) - c) * _SQRT_PI_OVER_TWO * np.exp(y * y)
    y = np.where(inside, y, np.where(np.abs(t) == 1, np.copysign(np.inf, t), np.nan))
    return np.asarray(y, dtype=x.dtype)


class Erfinv(ReadsOutput, _Quiet):
    name, rule, fn = "erfinv", "d erfinv(a)/da = sqrt(pi)/2 exp(erfinv(a)^2)", staticmethod(erfinv)

    def deriv(self, node: Any) -> Any:
        y = node._data
        return _SQRT_PI_OVER_TWO * np.exp(y * y)

    def tderiv(self, node: Any) -> Any:
        return (node * node).exp() * _SQRT_PI_OVER_TWO


class Trunc(_Step):
    """Rounding towards zero (integer tensors unchanged)."""

    name, fn = "trunc", np.trunc


# ------------------------------------------------------------------- binary --------------
class Hypot(ReadsOutput, _NonLinear):
    """sqrt(a^2 + b^2) without overflow or underflow in the squares."""

    name, rule = "hypot", "d hypot(a,b)/da = a/hypot(a,b), d/db = b/hypot(a,b) (nan at a = b = 0, as torch)"
    fn = staticmethod(np.hypot)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        a, b = node._parents
        out = node._data
        with np.errstate(divide="ignore", invalid="ignore"):
            ga = g * (a._data / out) if a._rg else None
            gb = g * (b._data / out) if b._rg else None
        return ga, gb

    def tvjp(self, node: Any, g: Any) -> tuple:
        a, b = node._parents
        return (g * a / node if a._rg else None, g * b / node if b._rg else None)


def _xlogy(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a * log(b), 0 where a == 0 (unless b is nan), as torch."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where((a == 0) & ~np.isnan(b), 0.0, a * np.log(b))
    return np.asarray(out, dtype=np.result_type(a, b))


class Xlogy(_NonLinear):
    name, rule = "xlogy", "d xlogy(a,b)/da = log(b) (0 where a = 0 and b <= 0, as torch), d/db = a/b"
    fn = staticmethod(_xlogy)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        a, b = node._parents
        ad, bd = a._data, b._data
        dt = node._data.dtype
        with np.errstate(divide="ignore", invalid="ignore"):
            ga = None
            if a._rg:
                ga = np.where((ad == 0) & (bd <= 0), 0.0, _xlogy(g, bd)).astype(dt, copy=False)
            gb = (g * (ad / bd)).astype(dt, copy=False) if b._rg else None
        return ga, gb

    def tvjp(self, node: Any, g: Any) -> tuple:
        """g log(b) (0 where a = 0 and b <= 0) and g a / b, on Tensors."""
        a, b = node._parents
        ga = gb = None
        if a._rg:
            off = (a._data == 0) & (b._data <= 0)
            from .select import WHERE
            ga = g * WHERE(const(off), const(np.zeros((), node._data.dtype)), (b + off.astype(node._data.dtype)).log())
        if b._rg:
            gb = g * a / b
        return ga, gb


# ------------------------------------------------------------------- scans ---------------
def _cumprod(x: np.ndarray, a: int) -> np.ndarray:
    """Running products along axis ``a`` (a 0-d tensor is its own running product, in the
    dtype a 1-d one gets: small integers and bool widen to int64)."""
    dt = acc_dtype(x)
    return np.cumprod(x, axis=a, dtype=dt) if x.ndim else np.cumprod(x.reshape(1), dtype=dt).reshape(())


class Cumprod(ReadsOutput, _AlongAxis):
    name = "cumprod"
    rule = ("d (cumprod a)_i/da_k = prod_{j<=i, j!=k} a_j: with no a_j = 0, sum_{i>=k} g_i out_i / a_k; "
            "else, per slice, that before its first zero z1, the product of a_{<z1} times "
            "sum_{z1<=i<z2} g_i prod_{z1<j<=i} a_j at z1 (z2 the next zero), and 0 after z1")
    compute = staticmethod(_cumprod)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        """torch's rule, so non-finite values spread as there: the running sums of g * out from
        the right, divided by a, when no a_k is 0; with zeros, the three cases of the rule."""
        a = node._ctx
        x, out = node._parents[0]._data, node._data
        if x.ndim == 0 or x.shape[a] <= 1:
            return (g * np.ones_like(x),)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            w = out * g
            zero = x == 0
            if not zero.any():
                return (_rev_cumsum(w, a) / x,)
            seen = np.cumsum(zero, axis=a)
            before = seen == 0
            gi = np.where(before, _rev_cumsum(np.where(before, w, 0), a) / np.where(before, x, 1), 0)
            span = seen == 1  # [z1, z2): the first zero up to (not with) the second
            first = span & zero
            inner = np.cumprod(np.where(span & ~zero, x, 1), axis=a)  # prod_{z1<j<=i} a_j
            s = np.sum(inner * np.where(span, g, 0), axis=a, keepdims=True)
            z1 = np.argmax(first, axis=a, keepdims=True)
            prefix = np.where(z1 == 0, 1, np.take_along_axis(out, np.maximum(z1 - 1, 0), axis=a))
            return (np.where(first, s * prefix, gi).astype(x.dtype, copy=False),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        """No a_k = 0: the running sums of g out from the right, over a. Else by recomputing
        out_i = prod_j (a_j if j <= i else 1) over an n x n block (exact at zeros)."""
        a = node._ctx
        x = node._parents[0]
        if x.ndim == 0:
            return (g,)
        if x._data.all():
            return ((g * node).flip(a).cumsum(a).flip(a) / x,)
        from ..higher import recompute
        n = x.shape[a]

        def fn(x: Any) -> Any:
            return PROD(masked_square(x.swapaxes(a, -1), np.tri(n, dtype=bool), 1.0), -1).swapaxes(a, -1)

        return recompute(node, g, fn)


def _rev_cumsum(w: np.ndarray, a: int) -> np.ndarray:
    """sum_{i>=k} w_i along axis ``a``: cumsum's own running sums (float16/32 accumulated in
    float64, as torch's), from the end."""
    return np.flip(Cumsum.compute(np.flip(w, a), a), a)


def _logcumsumexp(x: np.ndarray, a: int) -> np.ndarray:
    return np.logaddexp.accumulate(x, axis=a) if x.ndim else x.copy()


class LogCumSumExp(ReadsOutput, _AlongAxis):
    name = "logcumsumexp"
    rule = ("d out_i/da_j = exp(a_j - out_i) for j <= i; the cotangent summed from the end in log space, "
            "its positive and negative parts apart")

    @staticmethod
    def compute(x: np.ndarray, a: int) -> np.ndarray:
        """log(sum_{j<=i} exp(a_j)) along axis ``a``, by running log-add-exp (stable)."""
        with np.errstate(invalid="ignore"):
            return _logcumsumexp(x, a)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        a = node._ctx
        x, out = node._parents[0]._data, node._data
        if x.ndim == 0:
            return (g,)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            parts = []
            for gs in (np.maximum(g, 0), np.maximum(-g, 0)):
                rev = np.flip(_logcumsumexp(np.flip(np.log(gs) - out, a), a), a)  # log sum_{i>=j} g_i e^(-out_i)
                parts.append(np.exp(x + rev))
        return ((parts[0] - parts[1]).astype(x.dtype, copy=False),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        """sum_{i >= j} g_i exp(a_j - out_i) over an n x n block (-inf above the diagonal)."""
        a = node._ctx
        x = node._parents[0]
        if x.ndim == 0:
            return (g,)
        xs, outs, gs = x.swapaxes(a, -1), node.swapaxes(a, -1), g.swapaxes(a, -1)
        n = x.shape[a]
        # a_j - out_i where j <= i, -inf above the diagonal (set after the difference: with
        # out_i = -inf there, -inf - out_i would be nan and reach every a_j)
        from .select import WHERE
        d = WHERE(const(np.tri(n, dtype=bool)), xs.unsqueeze(-2) - outs.unsqueeze(-1),
                  const(np.full((), -np.inf, xs.dtype)))
        return ((gs.unsqueeze(-1) * d.exp()).sum(-2).swapaxes(a, -1),)


TAN, ATAN, ASIN, ACOS, SINH, COSH = Tan(), Atan(), Asin(), Acos(), Sinh(), Cosh()
ASINH, ACOSH, ATANH, ERFINV, TRUNC = Asinh(), Acosh(), Atanh(), Erfinv(), Trunc()
Sinh.dop, Cosh.dop = COSH, SINH
HYPOT, XLOGY, CUMPROD, LOGCUMSUMEXP = Hypot(), Xlogy(), Cumprod(), LogCumSumExp()
ALL = (TAN, ATAN, ASIN, ACOS, SINH, COSH, ASINH, ACOSH, ATANH, ERFINV, TRUNC, HYPOT, XLOGY, CUMPROD, LOGCUMSUMEXP)
