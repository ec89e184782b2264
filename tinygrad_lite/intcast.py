"""Integer data into an integer dtype by torch's rule, for ``Tensor(data, dtype=...)``,
``tl.tensor`` and the typed constructors (``tl.ByteTensor`` and kin). It keeps no state and
touches nothing; it only reads the data it is given.

torch stores an integer ``v`` into a dtype of range ``[lo, hi]`` when ``lo <= v <= hi``; an
unsigned dtype also takes a negative ``v >= -hi`` and stores ``v mod 2**bits`` (so
``ByteTensor([-1])`` holds 255). Any other value is refused (torch's "cannot be converted
without overflow"), here with ``IntOverflowError``, which is both an ``OverflowError`` and
torch's ``RuntimeError``.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np


class IntOverflowError(OverflowError, RuntimeError):
    """An integer that does not fit the requested integer dtype: an ``OverflowError`` (numpy's
    type for it) and a ``RuntimeError`` (torch's)."""


def cast_ints(who: str, data: Any, dtype: Any) -> Optional[np.ndarray]:
    """``data`` as an array of the integer ``dtype`` by torch's rule (above), or ``None`` when
    ``data`` is not integer (or bool) data, to be converted the ordinary way. Raises
    ``IntOverflowError`` naming ``who``, the first value that does not fit and the range."""
    dt = np.dtype(dtype)
    if dt.kind not in "iu":
        return None
    try:
        arr = np.asarray(data)
    except (TypeError, ValueError, OverflowError):
        return None
    if arr.dtype.kind == "O":  # Python ints beyond int64 (or a mix): keep only all-int data
        if not all(isinstance(v, (int, np.integer)) for v in arr.flat):
            return None
    elif arr.dtype.kind not in "iub" or arr.size == 0:
        return None
    info = np.iinfo(dt)
    hi = int(info.max)
    lo = -hi if dt.kind == "u" else int(info.min)
    for v in arr.flat:
        if not lo <= int(v) <= hi:
            raise IntOverflowError(f"{who}: value {int(v)} cannot be stored in dtype {dt} without overflow "
                                   f"(it takes integers in [{lo}, {hi}])")
    if arr.dtype.kind == "O":
        return np.array([int(v) % (hi + 1) if dt.kind == "u" else int(v) for v in arr.flat],
                        dtype=dt).reshape(arr.shape)
    return arr.astype(dt)


def int_fill(who: str, value: Any, dtype: Any) -> Any:
    """A fill value (a number or one-element array) checked for an integer ``dtype`` by the same
    rule, returned as a 0-d array of ``dtype``; a float must lie in the dtype's range itself
    (NaN and infinities never do) and goes toward zero. Values for a bool or float dtype come back unchanged."""
    dt = np.dtype(dtype)
    if dt.kind in "iu" and type(value) is int:  # (a Python int of any size, also beyond int64)
        return cast_ints(who, value, dt)
    v = np.asarray(value)
    if dt.kind not in "iu" or v.dtype.kind not in "biuf" or v.size != 1:
        return value
    x = v.reshape(()).item()
    if isinstance(x, float):
        info = np.iinfo(dt)
        if not info.min <= x <= info.max:  # (a float must lie in the range itself: no wrapping)
            raise IntOverflowError(f"{who}: value {x} cannot be stored in dtype {dt} without overflow "
                                   f"(a float must lie in [{info.min}, {info.max}])")
        x = int(x)  # (toward zero, as torch's conversion)
    out = cast_ints(who, x, dt)
    return out if out is not None else value
