"""torch's special functions and remaining elementwise functions as Tensor methods:
``lgamma``, ``digamma``, ``polygamma``, ``mvlgamma``, ``i0``, ``erfc``, ``sinc``, ``igamma`` / ``igammac``,
``logaddexp`` / ``logaddexp2``, ``copysign``, ``fmax`` / ``fmin`` (``ops.special``);
``float_power``, ``ldexp``, ``deg2rad`` / ``rad2deg``, ``sgn``, ``positive`` / ``negative``
and torch's other names for existing methods (``multiply``, ``true_divide``, ``greater``,
``absolute`` ...), which are compositions of differentiable ops; and the functions without a
gradient: ``heaviside``, ``nextafter``, ``frexp``, ``gcd`` / ``lcm``, ``isclose``,
``isposinf`` / ``isneginf`` / ``isreal``, ``signbit`` and the bitwise shifts.

``Tensor`` inherits these through ``SpecialMethods``. The differentiable ones are
elementwise: each sample's row is computed on its own, so per-sample gradients pass through
them; applied to a batch statistic they mix the samples, as the ops' batch rules say.
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .batchstate import derived
from .conventions import ArgumentError
from .ops import base
from .ops import special as sp
from .ops.base import make
from .ops.elementwise import promoted
from .torchmath import _bools, _floats, _function, _function2, _other, bitwise_forms

if TYPE_CHECKING:
    from .tensor import Tensor


class Frexp(NamedTuple):
    """``(mantissa, exponent)`` of ``frexp``: x = mantissa * 2**exponent, 0.5 <= |mantissa| < 1."""

    mantissa: Any
    exponent: Any


def _plain(out: Any, who: str, *inputs: Any) -> "Tensor":
    """A result without a graph, batched as an elementwise function of ``inputs``."""
    out = np.asarray(out)
    return make(out, None, (), None, False, *derived(who, out.shape, *inputs))


def _pair(who: str, a: Any, b: Any, kinds: str) -> tuple:
    """The data of two operands of dtype kinds ``kinds``, checked to broadcast."""
    o = _other(b, who)
    ad, bd = a._data, o._data
    if ad.dtype.kind not in kinds or bd.dtype.kind not in kinds:
        raise TypeError(f"{who}: expected {'integer' if kinds == 'iu' else 'floating-point'} tensors, got dtypes "
                        f"{ad.dtype} and {bd.dtype}")
    try:
        np.broadcast_shapes(ad.shape, bd.shape)
    except ValueError:
        raise ValueError(f"{who}: shapes {ad.shape} and {bd.shape} are not compatible") from None
    return o, ad, bd


def _other_name(name: str, of: str, doc: str) -> Any:
    """The method ``x.name(other)``: torch's other name for ``x.of(other)``."""
    def method(self: Any, other: Any) -> "Tensor":
        return getattr(self, of)(other)

    method.__name__, method.__qualname__ = name, f"SpecialMethods.{name}"
    method.__doc__ = doc
    return method


class SpecialMethods:
    """Mixin of ``Tensor`` (see the module docstring)."""

    __slots__ = ()
    _data: np.ndarray

    # differentiable, elementwise (integer tensors compute in float64)
    lgamma, digamma, i0, erfc, sinc = (_function(op) for op in (sp.LGAMMA, sp.DIGAMMA, sp.I0_, sp.ERFC, sp.SINC))
    logaddexp = _function2(sp.LOGADDEXP, True, "log(exp(self) + exp(other)) without overflow.")
    logaddexp2 = _function2(sp.LOGADDEXP2, True, "log2(2**self + 2**other) without overflow.")
    copysign = _function2(sp.COPYSIGN, True, "|self| with the sign (bit) of other.")
    fmax = _function2(sp.FMAX, False, "The larger of self and other, ignoring a nan (nan only where both are).")
    fmin = _function2(sp.FMIN, False, "The smaller of self and other, ignoring a nan (nan only where both are).")

    def igamma(self, other: Any) -> "Tensor":
        """``tl.special.gammainc(self, other)``: P(a, x) = gamma(a, x)/Gamma(a) with a = self and
        x = other (a Tensor); differentiable in x only, d P/dx = x^(a-1) e^-x / Gamma(a)."""
        from .special_more import gammainc
        return gammainc(self, other)

    def igammac(self, other: Any) -> "Tensor":
        """``tl.special.gammaincc(self, other)``: Q(a, x) = 1 - P(a, x) with a = self and x = other
        (a Tensor); differentiable in x only, d Q/dx = -x^(a-1) e^-x / Gamma(a)."""
        from .special_more import gammaincc
        return gammaincc(self, other)

    def polygamma(self, n: int) -> "Tensor":
        """The n-th derivative of digamma, psi^(n)(x) = (-1)^(n+1) n! sum_k (x+k)^-(n+1) for
        n >= 1 (digamma for n = 0); d/dx = polygamma(n+1, x)."""
        if isinstance(n, base.Tensor) and n.data.ndim == 0 and n.data.dtype.kind in "iu":
            n = n.data.item()  # a 0-d integer tensor, as torch takes it
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"polygamma: n must be a non-negative int, got {n!r}")
        if n < 0:
            raise ArgumentError(f"polygamma: n must be a non-negative int, got {n!r}")
        return sp.POLYGAMMA(_floats(self), int(n))

    def mvlgamma(self, p: int) -> "Tensor":
        """The multivariate log-gamma function of dimension p:
        sum_{i<p} lgamma(x - i/2) + p(p-1)/4 log(pi); every element must exceed (p-1)/2."""
        if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 1:
            raise ValueError(f"mvlgamma: p must be an int >= 1, got {p!r}")
        x = _floats(self)
        if not (x._data > (p - 1) / 2).all():
            raise ValueError(f"mvlgamma: all elements must be greater than (p-1)/2 = {(p - 1) / 2} (shape "
                             f"{x._data.shape})")
        shifts = -np.arange(p, dtype=x._data.dtype) / 2
        return sp.LGAMMA(x.unsqueeze(-1) + shifts).sum(-1) + p * (p - 1) / 4 * math.log(math.pi)  # type: ignore

    def float_power(self, exponent: Any) -> "Tensor":
        """self ** exponent computed in float64 (both operands cast first); differentiable
        in both, as ``pow``."""
        x = self.astype(np.float64)  # type: ignore[attr-defined]
        if isinstance(exponent, numbers.Real) and not isinstance(exponent, bool):
            return x ** float(exponent)
        return x ** _other(exponent, "float_power").astype(np.float64)

    def ldexp(self, other: Any) -> "Tensor":
        """self * 2**other (other an integer or float tensor); differentiable in self (and
        in a float other: d/dother = log(2) self 2**other)."""
        o = _other(other, "ldexp")
        x = _floats(self, o)  # (float32 stays float32 with an integer exponent, as torch)
        return x * (2.0 ** _floats(o, x))  # type: ignore[operator]

    def deg2rad(self) -> "Tensor":
        """Degrees to radians: x * pi/180."""
        return _floats(self) * (math.pi / 180.0)  # type: ignore[operator]

    def rad2deg(self) -> "Tensor":
        """Radians to degrees: x * 180/pi."""
        return _floats(self) * (180.0 / math.pi)  # type: ignore[operator]

    def sgn(self) -> "Tensor":
        """The sign of each element (real tensors: ``sign``); zero gradient."""
        return self.sign()  # type: ignore[attr-defined]

    def positive(self) -> "Tensor":
        """This tensor itself (torch's ``positive``)."""
        if self._data.dtype == np.bool_:
            raise TypeError("positive: not defined for bool tensors")
        return self  # type: ignore[return-value]

    def negative(self) -> "Tensor":
        """-self (gradient -1)."""
        return -self  # type: ignore[operator]

    def absolute(self) -> "Tensor":
        """``abs``."""
        return self.abs()  # type: ignore[attr-defined]

    def multiply(self, other: Any) -> "Tensor":
        """``mul``: self * other."""
        return self * other  # type: ignore[operator]

    true_divide = _other_name("true_divide", "div", "``div`` without rounding: self / other.")
    greater, greater_equal, less, less_equal, not_equal = (
        _other_name(name, of, f"``{of}``.")
        for name, of in (("greater", "gt"), ("greater_equal", "ge"), ("less", "lt"), ("less_equal", "le"),
                         ("not_equal", "ne")))

    # ---------------------------------------------------------- without a gradient ----------
    def heaviside(self, values: Any) -> "Tensor":
        """0 where self < 0, ``values`` where self == 0, 1 where self > 0, 0 at nan, as torch (no gradient)."""
        o, ad, bd = _pair("heaviside", self, values, "biuf")
        if ad.dtype != bd.dtype:
            raise TypeError(f"heaviside: input (dtype {ad.dtype}) and values (dtype {bd.dtype}) must have one dtype")
        with np.errstate(invalid="ignore"):
            out = np.where(ad == 0, bd, (ad > 0).astype(ad.dtype))
        return _plain(out.astype(ad.dtype), "heaviside", self, o)

    def nextafter(self, other: Any) -> "Tensor":
        """The next float after self towards other (no gradient)."""
        o, ad, bd = _pair("nextafter", self, other, "f")
        if ad.dtype != bd.dtype:  # (torch's promotion: a 0-d float64 does not widen float32)
            ad, bd = promoted(ad, bd)
        return _plain(np.nextafter(ad, bd), "nextafter", self, o)

    def frexp(self) -> Frexp:
        """``(mantissa, exponent)`` with self = mantissa * 2**exponent (int32 exponents)."""
        if self._data.dtype.kind != "f":
            raise TypeError(f"frexp: expected a floating-point tensor, got dtype {self._data.dtype}")
        m, e = np.frexp(self._data)
        return Frexp(_plain(m, "frexp", self), _plain(e.astype(np.int32), "frexp", self))

    def gcd(self, other: Any) -> "Tensor":
        """The greatest common divisor of integer tensors, elementwise (non-negative)."""
        o, ad, bd = _pair("gcd", self, other, "iu")
        return _plain(np.gcd(ad, bd), "gcd", self, o)

    def lcm(self, other: Any) -> "Tensor":
        """The least common multiple of integer tensors, elementwise (non-negative)."""
        o, ad, bd = _pair("lcm", self, other, "iu")
        return _plain(np.lcm(ad, bd), "lcm", self, o)

    def isclose(self, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> "Tensor":
        """|self - other| <= atol + rtol |other| elementwise (inf equals inf of its sign; nan
        equals nan only with ``equal_nan``)."""
        o, ad, bd = _pair("isclose", self, other, "biuf")
        if rtol < 0 or atol < 0:
            raise ValueError(f"isclose: rtol and atol must be >= 0, got {rtol} and {atol}")
        return _bools(np.isclose(ad, bd, rtol=rtol, atol=atol, equal_nan=bool(equal_nan)), "isclose", self, o)

    def isposinf(self) -> "Tensor":
        """True where the value is +inf."""
        return _bools(np.isposinf(self._data), "isposinf", self)

    def isneginf(self) -> "Tensor":
        """True where the value is -inf."""
        return _bools(np.isneginf(self._data), "isneginf", self)

    def isreal(self) -> "Tensor":
        """True everywhere (tensors here are real)."""
        return _bools(np.ones(self._data.shape, np.bool_), "isreal", self)

    def signbit(self) -> "Tensor":
        """True where the sign bit is set (negative values, -0.0)."""
        return _bools(np.signbit(self._data), "signbit", self)

    __lshift__, bitwise_left_shift, __rlshift__ = bitwise_forms(np.left_shift, "bitwise_left_shift")
    __rshift__, bitwise_right_shift, __rrshift__ = bitwise_forms(np.right_shift, "bitwise_right_shift")
