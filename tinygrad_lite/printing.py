"""Print options of Tensor's repr (``tl.set_printoptions`` / ``tl.get_printoptions``, torch's
names and defaults) and the function that formats a Tensor's values with them.

This module keeps one process-wide options record (as torch's ``PRINT_OPTS``) and reads
nothing else: every option is passed to ``np.array2string`` explicitly, so numpy's own
global print options are never read or changed.

Formatting follows torch's rules: floating-point values print with ``precision`` digits
after the point (``1.5000``); a tensor whose finite values are all whole numbers prints them
as ``1.,  2.``; scientific notation (``1.5000e+00``) is used when ``sci_mode`` is True, or
(``sci_mode=None``) when, over the nonzero finite magnitudes, the largest is > 1e8, or the
largest over the smallest is > 1000, or (not all whole) the smallest is < 1e-4. Entries are
right-aligned to one width; a suffix (``requires_grad=True``) that would pass ``linewidth``
goes on its own line. A tensor with more than ``threshold`` elements is summarised to
``edgeitems`` values at each end of every axis (numpy's ``...`` marker, spaced as numpy
spaces it); lines are wrapped at ``linewidth`` characters.
"""

from __future__ import annotations

import math
import numbers
import sys
from typing import Any, Callable, Optional, Sequence

import numpy as np

__all__ = ["set_printoptions", "get_printoptions"]

_PROFILES = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80},
}

_OPTS: dict = dict(_PROFILES["default"], sci_mode=None)


def _count(name: str, value: Any, low: int) -> int:
    """``value`` as an int >= ``low``, else TypeError / ValueError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"set_printoptions: {name} must be an int, got {value!r}")
    if value < low:
        raise ValueError(f"set_printoptions: {name} must be >= {low}, got {value!r}")
    return int(value)


def _threshold(value: Any) -> Any:
    """``threshold`` as an int >= 0 or inf; a float is taken as torch takes it (a tensor is
    summarised when it has more elements), so ``1000.0`` is ``1000`` and ``1e3`` works; NaN,
    negative numbers and non-numbers raise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"set_printoptions: threshold must be a number or inf, got {value!r}")
    if math.isnan(value) or value < 0:
        raise ValueError(f"set_printoptions: threshold must be >= 0 (or inf), got {value!r}")
    return math.inf if value == math.inf else min(math.floor(value), sys.maxsize)


def set_printoptions(precision: Optional[int] = None, threshold: Optional[float] = None,
                     edgeitems: Optional[int] = None, linewidth: Optional[int] = None,
                     profile: Optional[str] = None, sci_mode: Optional[bool] = None) -> None:
    """Set how Tensor's repr prints values, as ``torch.set_printoptions``.

    ``precision``: digits after the decimal point (default 4); ``threshold``: a tensor with
    more elements than this is summarised (default 1000; ``math.inf`` never); ``edgeitems``:
    values kept at each end of a summarised axis (default 3); ``linewidth``: characters per
    line (default 80); ``profile``: first reset all four to a preset, ``"default"``,
    ``"short"`` (precision 2, edgeitems 2) or ``"full"`` (threshold inf); ``sci_mode``: True
    forces scientific notation, False forbids it, None (always set, as torch) decides per
    tensor. Options not given keep their value (except ``sci_mode``). numpy's own print
    options are not touched. A bad value raises and changes nothing.
    """
    new = dict(_OPTS)
    if profile is not None:
        if not isinstance(profile, str) or profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be 'default', 'short' or 'full', got {profile!r}")
        new.update(_PROFILES[profile])
    if precision is not None:
        new["precision"] = _count("precision", precision, 0)
    if threshold is not None:
        new["threshold"] = _threshold(threshold)
    if edgeitems is not None:
        new["edgeitems"] = _count("edgeitems", edgeitems, 1)
    if linewidth is not None:
        new["linewidth"] = _count("linewidth", linewidth, 1)
    if sci_mode is not None and not isinstance(sci_mode, (bool, np.bool_)):
        raise TypeError(f"set_printoptions: sci_mode must be a bool or None, got {sci_mode!r}")
    new["sci_mode"] = None if sci_mode is None else bool(sci_mode)
    _OPTS.update(new)


def get_printoptions() -> dict:
    """The current print options: a dict with ``precision``, ``threshold``, ``edgeitems``,
    ``linewidth`` and ``sci_mode`` (a copy; change them with ``set_printoptions``)."""
    return dict(_OPTS)


def _sci(mags: np.ndarray) -> bool:
    """torch's choice of scientific notation (``sci_mode=None``) from the nonzero finite
    magnitudes of a floating-point array."""
    big, small = float(mags.max()), float(mags.min())
    whole = bool(np.all(mags == np.floor(mags)))
    return big / small > 1000.0 or big > 1.0e8 or (not whole and small < 1.0e-4)


def _float_formatter(data: np.ndarray, p: int, sci_mode: Optional[bool]) -> Callable[[Any], str]:
    """One entry's text: ``1.5000`` (fixed), ``2.`` (whole numbers) or ``1.5000e+00`` (sci),
    right-aligned to the widest entry; nan and inf as themselves."""
    finite = data[np.isfinite(data)]
    nonzero = finite[finite != 0]
    mags = np.abs(nonzero)
    if not mags.size:  # nothing but zeros, nan and inf: whole-number style (as torch)
        whole, sci = True, False
    else:
        whole = bool(np.all(finite == np.floor(finite)))
        sci = _sci(mags) if sci_mode is None else sci_mode

    def text(v: Any) -> str:
        if not np.isfinite(v):
            return str(float(v))
        return f"{v:.{p}e}" if sci else f"{v:.0f}." if whole else f"{v:.{p}f}"

    probes = [finite.min(), finite.max()] if finite.size else []  # (the widest: the extremes, the smallest
    if mags.size:  # magnitude's exponent, and whichever of nan / inf / -inf occur)
        probes.append(nonzero[np.argmin(mags)])
    probes += [v for v in (np.inf, -np.inf) if (data == v).any()] + [np.nan] * bool(np.isnan(data).any())
    width = max(len(text(v)) for v in probes) if probes else 0
    return lambda v: text(v).rjust(width)


def _body(data: np.ndarray, prefix: str) -> str:
    o = _OPTS
    formatter: dict = {}
    if data.dtype.kind == "f" and data.size:
        formatter = {"float_kind": _float_formatter(data, o["precision"], o["sci_mode"])}
    elif data.dtype.kind == "b" and data.size:
        width = 4 if data.all() else 5  # "True" unpadded unless a "False" is there (as torch)
        formatter = {"bool": lambda v: str(bool(v)).rjust(width)}
    return np.array2string(data, max_line_width=o["linewidth"], precision=o["precision"], suppress_small=True,
                           separator=", ", prefix=prefix, formatter=formatter,
                           threshold=sys.maxsize if o["threshold"] == math.inf else o["threshold"],
                           edgeitems=o["edgeitems"], sign="-", floatmode="fixed", legacy=False)


_DEFAULT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32), np.dtype(np.int64), np.dtype(np.bool_))


def tensor_repr(data: np.ndarray, suffixes: Sequence[str]) -> str:
    """``tensor(<values>, <suffixes>)`` with the current print options; a suffix that would
    pass ``linewidth`` goes on a new line, indented under the values (as torch). An empty
    tensor of any shape but ``(0,)`` prints ``tensor([], size=(0, 3))``, as torch, since its
    values alone do not show the shape. A dtype other than the default ones (float64, this
    library's, and float32, torch's; int64; bool) is named, ``dtype=int32``, as torch names one."""
    if data.dtype not in _DEFAULT_DTYPES:
        suffixes = [f"dtype={data.dtype}"] + list(suffixes)
    if data.size == 0 and data.shape != (0,):
        suffixes = [f"size={tuple(data.shape)}"] + list(suffixes)
    out = "tensor(" + _body(data, "tensor(")
    last = len(out) - out.rfind("\n") + 1
    for suffix in suffixes:
        if last + len(suffix) + 2 > _OPTS["linewidth"]:
            out += ",\n" + " " * len("tensor(") + suffix
            last = len("tensor(") + len(suffix)
        else:
            out += ", " + suffix
            last += len(suffix) + 2
    return out + ")"
