"""IEEE arithmetic on Python floats for the scalar engine (``Value``): where Python's
``math`` raises (division by zero, overflow, a negative base with a fractional exponent),
these give inf / nan as the tensor engine and torch do. Rounded division and its remainder
are the tensor engine's own functions (``ops.intdiv``) on 0-d float64 arrays, so both
engines (and torch) agree on every edge (``7 // 0.1`` is 69, ``-5 % inf`` is inf).
"""

from __future__ import annotations

import math

import numpy as np

from .ops import intdiv

_INF, _NAN = math.inf, math.nan


def _div(a: float, b: float) -> float:
    """IEEE a / b: inf, -inf or nan where Python would raise ZeroDivisionError."""
    if b == 0.0:
        if a == 0.0 or a != a:
            return _NAN
        return math.copysign(_INF, a) * math.copysign(1.0, b)
    return a / b


def _sqrt(a: float) -> float:
    """sqrt(a): nan below 0 (also at -inf), -0.0 at -0.0."""
    return _NAN if a != a or a < 0 else math.sqrt(a)


def _pow(a: float, k: float) -> float:
    """IEEE a ** k: nan for a negative base with a fractional exponent, inf on overflow;
    k = 0.5 and k = -0.5 as sqrt(a) and 1/sqrt(a), as the tensor engine and torch compute
    them (so (-inf) ** 0.5 is nan and (-0.0) ** -0.5 is -inf)."""
    if k == 0.5:
        return _sqrt(a)
    if k == -0.5:
        return _div(1.0, _sqrt(a))
    try:
        r = a ** k
    except ZeroDivisionError:  # 0.0 ** negative
        return _INF if (k != int(k) or int(k) % 2 == 0 or math.copysign(1.0, a) > 0) else -_INF
    except OverflowError:
        return _INF if a > 0 or k == int(k) and int(k) % 2 == 0 else -_INF
    return _NAN if isinstance(r, complex) else float(r)


def _exp(a: float) -> float:
    try:
        return math.exp(a)
    except OverflowError:
        return _INF


def _log(a: float) -> float:
    if a != a or a < 0:
        return _NAN
    return -_INF if a == 0 else math.log(a)


def _floordiv(a: float, b: float) -> float:
    """floor(a / b), exact (Python's and torch's ``//``): inf / nan on a division by zero."""
    return float(intdiv.floor_divide(np.float64(a), np.float64(b)))


def _remainder(a: float, b: float) -> float:
    """a - b * floor(a / b) with the sign of b (Python's and torch's ``%``): nan for b = 0."""
    return float(intdiv.remainder(np.float64(a), np.float64(b)))
