"""Checks of the optimizers' arguments: numbers in a range, bools, parameter indices of a
loaded state, and a constructor's hyper-parameters. Touches nothing."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = ["check_number", "check_bool", "hyper"]


def check_number(name: str, value: Any, low: float = 0.0, high: float = math.inf, low_open: bool = False,
                 high_open: bool = False) -> float:
    """``value`` as a float if it is a real number in the range, else TypeError/ValueError
    naming ``name`` (NaN is never in range)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"invalid {name}: {value!r} (must be a real number, got {type(value).__name__})")
    v = float(value)
    ok = math.isfinite(v) and (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
    if not ok:
        lo, hi = ("(" if low_open else "[") + f"{low}", f"{high}" + (")" if high_open else "]")
        raise ValueError(f"invalid {name}: {value!r} (must be a finite number in {lo}, {hi})")
    return v


def _index(k: Any) -> int:
    """A parameter index of a loaded state dict: an int (or its digits, as JSON keeps a key); a
    bool or a fraction is refused (ValueError) rather than truncated."""
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (numbers.Integral, str)) and not (
            isinstance(k, float) and k.is_integer()):
        raise ValueError(f"not a parameter index: {k!r}")
    return int(k)


def hyper(args: dict) -> dict:
    """A constructor's hyper-parameters from its ``locals()``: everything but ``self``,
    ``params`` and the class cell (so a rule states its defaults once, in its signature)."""
    return {k: v for k, v in args.items() if k not in ("self", "params", "__class__")}


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"invalid {name}: {value!r} (must be a bool)")
    return bool(value)
