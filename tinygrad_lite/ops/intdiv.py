"""Rounded division and its remainders: ``floor_divide`` (``a // b``), ``trunc_divide``
(``div(a, b, rounding_mode="trunc")``), ``remainder`` (``a % b``) and ``fmod``, elementwise
with numpy broadcasting, for integer and float tensors.

* ``floor_divide(a, b) = floor(a / b)``, ``trunc_divide(a, b) = trunc(a / b)``;
* ``remainder(a, b) = a - b * floor(a / b)``: the sign of the divisor ``b`` (Python's ``%``);
* ``fmod(a, b) = a - b * trunc(a / b)``: the sign of the dividend ``a`` (C's ``fmod``).

The remainders are computed from C's ``fmod`` (exact for floats), the remainder then moved
by ``b`` where it is non-zero and its sign differs from ``b``'s. A float division by zero
gives inf / nan as IEEE says; an integer one raises ``IntegerDivisionError`` (a ``ZeroDivisionError``
and a ``RuntimeError``) naming the op, as
torch does. Bool tensors are refused (``TypeError``).

Gradients: the remainders are ``a`` minus a piecewise-constant multiple of ``b``, so
d/da = 1 and d/db = -floor(a/b) (remainder) or -trunc(a/b) (fmod); the rounded quotients
are piecewise constant and pass a zero gradient (as ``floor``, and as torch's
``div(..., rounding_mode="floor")``). Each class holds its forward, vjp, ``rule`` and the
batch rule of a binary op linear in neither operand (applied to a batch statistic, the
result mixes samples).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import alias, const
from .mathfns import _NonLinear


class IntegerDivisionError(ZeroDivisionError, RuntimeError):
    """An integer division (or remainder) by zero: Python's ``ZeroDivisionError``, and the
    ``RuntimeError`` torch raises there."""


def _checked(name: str, a: np.ndarray, b: np.ndarray) -> None:
    """Refuse bool operands and an integer division by zero (before anything is computed)."""
    if a.dtype.kind == "b" or b.dtype.kind == "b":
        raise TypeError(f"{name}: bool tensors are not divisible; got dtypes {a.dtype} and {b.dtype} "
                        "(convert with .long() or .float())")
    if a.dtype.kind in "iu" and b.dtype.kind in "iu" and not np.all(b):
        raise IntegerDivisionError(f"{name}: integer division by zero (divisor of shape {b.shape})")


def floor_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """floor(a / b) elementwise (integer division rounding down for integers)."""
    _checked("floor_divide", a, b)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.floor_divide(a, b)


def trunc_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """trunc(a / b) elementwise (integer division rounding toward zero for integers, exact)."""
    _checked("trunc_divide", a, b)
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":
        return (a - np.fmod(a, b)) // b  # (a multiple of b: the floor division is exact)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.trunc(np.true_divide(a, b))


def fmod(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a - b * trunc(a / b) elementwise: the sign of ``a``."""
    _checked("fmod", a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.fmod(a, b)


def remainder(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a - b * floor(a / b) elementwise: the sign of ``b``."""
    _checked("remainder", a, b)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        m = np.fmod(a, b)
        if m.dtype.kind == "u":
            return m
        move = (m != 0) & ((m < 0) != (b < 0))
        if np.any(move):
            m = np.where(move, m + b, m).astype(m.dtype, copy=False)
        return m


def _quotient(node: Any, rnd: Any) -> np.ndarray:
    a, b = node._parents
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return rnd(a._data, b._data)


def _floor_quotient(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """floor(a / b) as ``a // b`` computes it: the exact quotient (7 // 0.1 is 69, where
    floor(7 / 0.1) rounds to 70; -5 // inf is -1), as torch's floor division."""
    return np.floor_divide(a, b)


def _trunc_quotient(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """trunc(a / b) of the rounded division (torch's ``rounding_mode="trunc"``)."""
    return np.trunc(a / b)


class FloorDivide(_NonLinear):
    """floor(a / b); its derivative is 0 wherever it is defined (a step function)."""

    name, rule, symbol = "floor_divide", "d floor(a/b)/da = 0, d floor(a/b)/db = 0 (piecewise constant)", "//"
    fn = staticmethod(floor_divide)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        a, b = node._parents
        zero = np.zeros_like(g)
        return (zero if a._rg else None, zero if b._rg else None)

    def tvjp(self, node: Any, g: Any) -> tuple:
        a, b = node._parents
        zero = const(np.zeros(g.shape, node._data.dtype))
        return (zero if a._rg else None, zero if b._rg else None)


class TruncDivide(FloorDivide):
    """trunc(a / b) (``div(a, b, rounding_mode="trunc")``); a zero derivative (a step function)."""

    name, rule, symbol = "trunc_divide", "d trunc(a/b)/da = 0, d trunc(a/b)/db = 0 (piecewise constant)", ""
    fn = staticmethod(trunc_divide)


class Remainder(_NonLinear):
    """a - b * floor(a / b), with the sign of ``b``."""

    name, symbol = "remainder", "%"
    rule = "d (a - b*floor(a/b))/da = 1, d/db = -floor(a/b)"
    fn = staticmethod(remainder)
    rnd = staticmethod(_floor_quotient)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        a, b = node._parents
        gb = None
        if b._rg:
            gb = (-g * _quotient(node, self.rnd)).astype(node._data.dtype, copy=False)
        return (alias(g) if a._rg else None), gb

    def tvjp(self, node: Any, g: Any) -> tuple:
        """g, and -g times the (constant) quotient."""
        a, b = node._parents
        gb = -g * _quotient(node, self.rnd).astype(node._data.dtype, copy=False) if b._rg else None
        return (g if a._rg else None), gb


class Fmod(Remainder):
    """a - b * trunc(a / b), with the sign of ``a``."""

    name, symbol = "fmod", ""
    rule = "d (a - b*trunc(a/b))/da = 1, d/db = -trunc(a/b)"
    fn = staticmethod(fmod)
    rnd = staticmethod(_trunc_quotient)


FLOORDIV, TRUNCDIV, REMAINDER, FMOD = FloorDivide(), TruncDivide(), Remainder(), Fmod()
