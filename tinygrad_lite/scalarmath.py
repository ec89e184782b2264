"""IEEE arithmetic on Python floats for the scalar engine (``Value``): where Python's
``math`` raises (division by zero, overflow, a negative base with a fractional exponent),
these give inf / nan as the tensor engine and torch do. Rounded division and its remainder
are the tensor engine's own functions (``ops.intdiv``) on 0-d float64 arrays, so both
engines (and torch) agree on every edge (``7 // 0.1`` is 69, ``-5 % inf`` is inf). Also
``Value``'s operand rules (which numbers it takes, comparisons by ``data``), and how a Value
pickles and copies (``ValueCopies``). Touches nothing.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Callable

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


def _pow(a: float, k: float, halves: bool = True) -> float:
    """IEEE a ** k: nan for a negative base with a fractional exponent, inf on overflow;
    with ``halves`` (a constant exponent) k = 0.5 and k = -0.5 as sqrt(a) and 1/sqrt(a), as
    the tensor engine and torch compute them (so (-inf) ** 0.5 is nan and (-0.0) ** -0.5 is
    -inf); ``c ** Value`` is C's pow throughout."""
    if halves and k == 0.5:
        return _sqrt(a)
    if halves and k == -0.5:
        return _div(1.0, _sqrt(a))
    try:
        k = float(k)  # (an int exponent beyond a float's range is +-inf: 0.5 ** 10**400 is 0)
    except OverflowError:
        k = _INF if k > 0 else -_INF
    try:
        r = a ** k
    except ZeroDivisionError:  # 0.0 ** negative
        return -_INF if _odd(k) and math.copysign(1.0, a) < 0 else _INF
    except OverflowError:  # (a negative base with a fractional exponent has no real power, however large)
        return _NAN if a < 0 and not k.is_integer() else (-_INF if a < 0 and _odd(k) else _INF)
    return _NAN if isinstance(r, complex) else float(r)


def _odd(k: float) -> bool:
    """Whether ``k`` is an odd integer (the sign of a negative base survives the power)."""
    return k.is_integer() and abs(k) < 2.0**53 and int(k) % 2 == 1


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


# ---- the scalar engine's operand rules (used by value.py) ----
def _compare(fn: Callable) -> Callable:
    """A comparison method: ``fn(self.data, other's number)`` (a bool), or NotImplemented."""
    def method(self: Any, other: object) -> bool:
        k = self._key(other)
        return NotImplemented if k is None else fn(self.data, k)
    return method


def _num(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _plain(x: Any) -> Any:
    """A Python int or float of a subclass instance (numpy's float64 is a float subclass):
    ``data`` and ``grad`` stay plain Python floats."""
    return float(x) if isinstance(x, float) else int(x)


def _exponent(k: object, message: str) -> Any:
    """``k`` as a Python int or float (numpy real scalars converted), else TypeError."""
    if isinstance(k, np.integer):
        return int(k)
    if isinstance(k, np.floating):
        return float(k)
    if not _num(k):
        raise TypeError(message.format(type(k).__name__))
    return k


def _value_data(data: Any) -> float:
    """A Value's ``data`` as a Python float: a real number (int, float, numpy scalar) that fits
    a float; a bool or a string is a TypeError, an int too large an OverflowError."""
    if isinstance(data, (bool, np.bool_)):
        raise TypeError("Value: data must be a real number, got bool")
    if not isinstance(data, (int, float)):
        if isinstance(data, (str, bytes)):  # float("3") would parse it: a string is not a number
            raise TypeError(f"Value: data must be a real number, got {type(data).__name__}")
        try:
            data = float(data)  # numpy scalars and other real numbers
        except (TypeError, ValueError):
            raise TypeError(f"Value: data must be a real number, got {type(data).__name__}") from None
    try:
        return float(data)
    except OverflowError:
        raise OverflowError(f"Value: data {data!r:.40} is too large for a float") from None


class ValueCopies:
    """Base of ``Value``: its copies never walk the graph (no recursion however deep it is), as
    a Tensor's do not."""

    __slots__ = ()

    def __reduce_ex__(self, protocol: Any) -> Any:
        """Pickling (and ``copy.copy``): a leaf as it is; a value computed in the graph as a leaf
        with its data and label (the graph stays behind)."""
        if self._op is not None:  # type: ignore[attr-defined]
            return _rebuilt_value, (self.data, self.label)  # type: ignore[attr-defined]
        return super().__reduce_ex__(protocol)

    def __deepcopy__(self, memo: dict) -> Any:
        """A leaf's deep copy (data, grad, label); a value computed in the graph is refused (a
        copy of its whole graph would send no gradient to the originals)."""
        if self._op is not None:  # type: ignore[attr-defined]
            raise RuntimeError(f"deepcopy: a Value computed in the graph (by op '{self._op.name}') cannot be "  # type: ignore[attr-defined]
                               "deep-copied (only graph leaves can): copy Value(v.data), or the leaves it was "
                               "computed from")
        return copy._reconstruct(self, memo, *super().__reduce_ex__(4))


def _rebuilt_value(data: float, label: str) -> Any:
    """A pickled Value computed in the graph, unpickled: a leaf with its data and label."""
    from .value import Value
    return Value(data, label=label)
