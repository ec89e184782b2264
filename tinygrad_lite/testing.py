"""``tl.testing``: ``assert_close`` and ``make_tensor`` with torch.testing's names, defaults and
failure messages. Nothing here keeps state or changes its arguments; ``make_tensor`` draws
from the library's default generator (``tl.manual_seed``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any, Callable, Optional, Union

import numpy as np

from .conventions import check_dtype as _check_dtype
from .factories import check_device
from .random import default_generator
from .size import Size
from .tensor import Tensor

__all__ = ["assert_close", "make_tensor"]

# torch's default (rtol, atol) per dtype; any other dtype (integers, bool) compares exactly
_TOLERANCES = {
    np.dtype(np.float16): (1e-3, 1e-5),
    np.dtype(np.float32): (1.3e-6, 1e-5),
    np.dtype(np.float64): (1e-7, 1e-7),
    np.dtype(np.complex64): (1.3e-6, 1e-5),
    np.dtype(np.complex128): (1e-7, 1e-7),
}
_MAX_BYTES = int(np.iinfo(np.intp).max)  # the most bytes one numpy array can hold
_NUMBER_DTYPES = {int: np.dtype(np.int64), float: np.dtype(np.float64), complex: np.dtype(np.complex128)}


class _Mismatch(AssertionError):
    """A failed comparison; ``path`` is where in the nested inputs it happened."""

    def __init__(self, text: str, path: str = "") -> None:
        super().__init__(text)
        self.text, self.path = text, path


def _tolerances(dtypes: tuple, rtol: Optional[float], atol: Optional[float]) -> tuple:
    if rtol is not None and atol is not None:
        return float(rtol), float(atol)
    pairs = [_TOLERANCES.get(d, (0.0, 0.0)) for d in dtypes]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


def _diff_line(kind: str, diff: Any, idx: Optional[tuple], tol: float) -> str:
    line = f"{kind.title()} difference: {diff}" if idx is None else f"Greatest {kind} difference: {diff} at index {idx}"
    return line + (f" (up to {tol} allowed)" if tol > 0 else "")


def _scalar_msg(actual: Any, expected: Any, rtol: float, atol: float, head: str = "Scalars") -> str:
    equal = rtol == 0 and atol == 0
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    return (f"{head} are not {'equal' if equal else 'close'}!\n\nExpected {expected} but got {actual}.\n"
            + _diff_line("absolute", abs_diff, None, atol) + "\n" + _diff_line("relative", rel_diff, None, rtol))


def _number_kind(x: Any) -> Optional[type]:
    if isinstance(x, (bool, np.bool_)):
        return bool
    if isinstance(x, numbers.Integral):
        return int
    if isinstance(x, numbers.Real):
        return float
    if isinstance(x, numbers.Complex):
        return complex
    return None


def _compare_numbers(actual: Any, expected: Any, rtol: Optional[float], atol: Optional[float], equal_nan: bool,
                     check_dtype: bool) -> None:
    ka, ke = _number_kind(actual), _number_kind(expected)
    if bool in (ka, ke):
        if ka is not ke:
            raise _Mismatch(f"The (d)types do not match: {type(actual)} != {type(expected)}.")
        if bool(actual) != bool(expected):
            raise _Mismatch(f"Booleans mismatch: {bool(actual)} is not {bool(expected)}")
        return
    if check_dtype and ka is not ke:
        raise _Mismatch(f"The (d)types do not match: {ka} != {ke}.")
    rt, at = _tolerances((_NUMBER_DTYPES[ka], _NUMBER_DTYPES[ke]), rtol, atol)  # type: ignore[index]
    a, e = ka(actual), ke(expected)  # type: ignore[misc]
    if a == e or (equal_nan and a != a and e != e) or abs(a - e) <= at + rt * abs(e):
        return
    raise _Mismatch(_scalar_msg(a, e, rt, at))


def _compare_arrays(actual: np.ndarray, expected: np.ndarray, rtol: Optional[float], atol: Optional[float],
                    equal_nan: bool, check_dtype: bool) -> None:
    for name, arr in (("actual", actual), ("expected", expected)):
        if arr.dtype.kind not in "biufc":
            raise TypeError(f"assert_close: {name} is an array of dtype {arr.dtype}; only bool, integer, "
                            "floating-point and complex arrays are compared")
    if actual.shape != expected.shape:
        raise _Mismatch(f"The values for attribute 'shape' do not match: {Size(actual.shape)!r} != "
                        f"{Size(expected.shape)!r}.")
    if check_dtype and actual.dtype != expected.dtype:
        raise _Mismatch(f"The values for attribute 'dtype' do not match: {actual.dtype} != {expected.dtype}.")
    rt, at = _tolerances((actual.dtype, expected.dtype), rtol, atol)
    common = np.result_type(actual.dtype, expected.dtype)
    if common.kind in "biu":  # integers and bools compare in int64, as torch (no overflow, no bool subtraction)
        common = np.dtype(np.int64)
    a, e = actual.astype(common, copy=False), expected.astype(common, copy=False)
    mixed_ints = common.kind == "f" and actual.dtype.kind in "biu" and expected.dtype.kind in "biu"
    with np.errstate(invalid="ignore", over="ignore"):
        if actual.dtype.kind in "biu" and expected.dtype.kind in "biu" and rt == 0 and at == 0:
            # exact, on the inputs themselves: isclose would compare in float64 and miss differences
            # past 2**53 (and uint64 with a signed type has no integer common type)
            matches = np.asarray(actual == expected)
        else:
            matches = np.isclose(a, e, rtol=rt, atol=at, equal_nan=equal_nan)
    if matches.all():
        return
    if a.ndim == 0:
        exact = mixed_ints  # (uint64 against a signed type: the Python ints, not their float64 roundings)
        raise _Mismatch(_scalar_msg(*((actual.item(), expected.item()) if exact else (a.item(), e.item())), rt, at))
    af, ef, mf = a.reshape(-1), e.reshape(-1), matches.reshape(-1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if mixed_ints:
            abs_diff = np.abs(np.subtract(actual.reshape(-1), expected.reshape(-1), dtype=object)).astype(np.float64)
        else:
            abs_diff = np.abs(af - ef)
        abs_diff[mf] = 0
        denom = np.abs(ef)
        rel_diff = (abs_diff.astype(np.float32) / denom.astype(np.float32) if common.kind == "i"
                    else abs_diff / denom)
        rel_diff[mf] = 0
    n, bad = mf.size, int(mf.size - mf.sum())

    def at_max(d: np.ndarray) -> tuple:
        i = int(np.argmax(d))  # (a NaN is the greatest, as torch.max)
        return d[i].item(), tuple(int(j) for j in np.unravel_index(i, a.shape))

    (ad, ai), (rd, ri) = at_max(abs_diff), at_max(rel_diff)
    equal = rt == 0 and at == 0
    raise _Mismatch(f"Tensor-likes are not {'equal' if equal else 'close'}!\n\n"
                    f"Mismatched elements: {bad} / {n} ({bad / n:.1%})\n"
                    + _diff_line("absolute", ad, ai, at) + "\n" + _diff_line("relative", rd, ri, rt))


def _compare(actual: Any, expected: Any, path: str, opts: tuple) -> None:
    """Compare two inputs of the same kind (recursing into sequences and mappings)."""
    for kind in (Tensor, np.ndarray):
        if isinstance(actual, kind) or isinstance(expected, kind):
            if not (isinstance(actual, kind) and isinstance(expected, kind)):
                break
            a = actual.data if kind is Tensor else actual
            e = expected.data if kind is Tensor else expected
            try:
                _compare_arrays(a, e, *opts)
            except _Mismatch as m:
                raise _Mismatch(m.text, path) from None
            return
    else:
        if _number_kind(actual) is not None and _number_kind(expected) is not None:
            try:
                _compare_numbers(actual, expected, *opts)
            except _Mismatch as m:
                raise _Mismatch(m.text, path) from None
            return
        text_like = (str, bytes)
        if isinstance(actual, Mapping) and isinstance(expected, Mapping):
            missing = [k for k in expected if k not in actual]
            extra = [k for k in actual if k not in expected]
            if missing or extra:
                raise _Mismatch(f"The keys of the mappings do not match:\nMissing keys in the actual mapping: "
                                f"{sorted(missing, key=repr)}\nAdditional keys in the actual mapping: "
                                f"{sorted(extra, key=repr)}", path)
            for k in expected:
                _compare(actual[k], expected[k], f"{path}[{k!r}]", opts)
            return
        if (isinstance(actual, Sequence) and isinstance(expected, Sequence)
                and not isinstance(actual, text_like) and not isinstance(expected, text_like)):
            if len(actual) != len(expected):
                raise _Mismatch(f"The length of the sequences mismatch: {len(actual)} != {len(expected)}", path)
            for i, (x, y) in enumerate(zip(actual, expected)):
                _compare(x, y, f"{path}[{i}]", opts)
            return
    raise TypeError(f"assert_close: no comparison for inputs of type {type(actual)} and {type(expected)}"
                    + (f" (at item {path})" if path else "") + "; it compares Tensors with Tensors, numpy arrays "
                    "with arrays, numbers with numbers, and sequences or mappings of them")


def assert_close(actual: Any, expected: Any, *, allow_subclasses: bool = True, rtol: Optional[float] = None,
                 atol: Optional[float] = None, equal_nan: bool = False, check_device: bool = True,
                 check_dtype: bool = True, check_layout: bool = True, check_stride: bool = False,
                 msg: Union[str, Callable[[str], str], None] = None) -> None:
    """Assert that ``actual`` and ``expected`` are close, as ``torch.testing.assert_close``.

    Inputs: Tensors (compared with Tensors), numpy arrays (with arrays), Python or numpy
    numbers, and sequences / mappings of these, compared item by item (the same length,
    the same keys). Arrays must have the same shape and (``check_dtype``) the same dtype;
    element-wise ``|actual - expected| <= atol + rtol * |expected|`` must hold (equal
    infinities pass; NaNs only with ``equal_nan``). ``rtol``/``atol`` are given both or
    neither; by default they are torch's for the dtype: float16 1e-3/1e-5, float32 and
    complex64 1.3e-6/1e-5, float64 and complex128 1e-7/1e-7, integers and bool 0/0 (exact);
    with two dtypes, the larger of each. A failure raises AssertionError saying how many
    elements mismatch and the greatest absolute and relative differences with their indices
    (and which item of nested inputs failed); ``msg`` replaces that message (a string) or
    rewrites it (a callable). ``allow_subclasses``, ``check_device``, ``check_layout`` and
    ``check_stride`` are accepted (one device, one layout here).
    """
    if (rtol is None) != (atol is None):
        raise ValueError("assert_close: both 'rtol' and 'atol' must be either specified or omitted, but got "
                         f"{'no rtol' if rtol is None else 'no atol'}")
    for name, v in (("rtol", rtol), ("atol", atol)):
        if v is not None and (isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real) or not v >= 0):
            raise ValueError(f"assert_close: {name} must be a number >= 0, got {v!r}")
    flags = {"allow_subclasses": allow_subclasses, "equal_nan": equal_nan, "check_device": check_device,
             "check_dtype": check_dtype, "check_layout": check_layout, "check_stride": check_stride}
    for name, v in flags.items():
        if not isinstance(v, (bool, np.bool_)):
            raise TypeError(f"assert_close: {name} must be a bool, got {v!r}")
    if msg is not None and not (isinstance(msg, str) or callable(msg)):
        raise TypeError(f"assert_close: msg must be a string, a callable or None, got {type(msg).__name__}")
    try:
        _compare(actual, expected, "", (rtol, atol, bool(equal_nan), bool(check_dtype)))
    except _Mismatch as m:
        text = m.text + (f"\n\nThe failure occurred for item {m.path}" if m.path else "")
        if msg is not None:
            text = msg if isinstance(msg, str) else msg(text)
        raise AssertionError(text) from None


def make_tensor(*shape: Any, dtype: Any, device: Any = None, low: Optional[float] = None,
                high: Optional[float] = None, requires_grad: bool = False, noncontiguous: bool = False,
                exclude_zero: bool = False, memory_format: Any = None) -> Tensor:
    """A Tensor of ``shape`` (ints or one sequence) and ``dtype`` filled with random values, as
    ``torch.testing.make_tensor``: floating types uniform in ``[low, high)`` (default
    ``[-9, 9)``), integers uniform in ``[low, high)`` (default ``[-9, 10)``, ``[0, 10)`` for
    unsigned), bools fair coin flips. ``exclude_zero`` replaces zeros with the smallest
    positive normal number (1 for integers); ``dtype`` is a bool, integer or float dtype. ``noncontiguous``
    gives a strided view of a larger array. Values come from the default generator (``tl.manual_seed``).
    As torch, ``low`` / ``high`` are clamped to the dtype's (finite) range, so ``high=inf`` or
    ``low=-5`` for ``uint8`` draw within it. Every argument is checked before anything is drawn:
    a size that is no int, a non-number or NaN bound, ``low >= high``, a device other than the
    CPU, more bytes than an array can hold, or ``requires_grad`` for a non-float dtype raise
    (TypeError / ValueError / RuntimeError naming ``make_tensor``) and leave the generator as it was.
    """
    if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
        shape = tuple(shape[0])
    for s in shape:  # (as the factories: a non-int is a TypeError, a negative size a ValueError)
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, numbers.Integral):
            raise TypeError(f"make_tensor: shape must be non-negative ints, got {shape!r}")
        if s < 0:
            raise ValueError(f"make_tensor: shape must be non-negative ints, got {shape!r}")
    dt = _check_dtype("make_tensor", dtype)
    check_device("make_tensor", device)
    for name, v in (("requires_grad", requires_grad), ("noncontiguous", noncontiguous),
                    ("exclude_zero", exclude_zero)):
        if not isinstance(v, (bool, np.bool_)):
            raise TypeError(f"make_tensor: {name} must be a bool, got {v!r}")
    for name, v in (("low", low), ("high", high)):
        if v is not None and (isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real)):
            raise TypeError(f"make_tensor: {name} must be a real number or None, got {v!r}")
        if v is not None and math.isnan(v):
            raise ValueError(f"make_tensor: low and high cannot be NaN, got low={low!r}, high={high!r}")
    size = tuple(int(s) for s in shape)
    numel = math.prod(size)
    if numel * dt.itemsize > _MAX_BYTES:
        raise ValueError(f"make_tensor: shape {size} of {dt} needs {numel * dt.itemsize} bytes, more than an "
                         f"array can hold ({_MAX_BYTES})")
    if requires_grad and dt.kind != "f":
        raise ValueError(f"make_tensor: requires_grad=True needs a floating-point dtype, got {dt}")
    rng = default_generator()
    if dt.kind == "b":
        data = rng.random(size) < 0.5
    elif dt.kind in "iu":  # [low, high) clamped to the dtype's values (and int64's), as torch
        info = np.iinfo(dt)
        first, past = max(int(info.min), -2**63), min(int(info.max) + 1, 2**63)
        lo = (0 if dt.kind == "u" else -9) if low is None else math.ceil(min(max(low, first), past))
        hi = 10 if high is None else math.ceil(min(max(high, first), past))
        lo, hi = max(lo, first), min(hi, past)
        if lo >= hi:
            raise ValueError(f"make_tensor: low must be less than high, got low={low!r}, high={high!r}")
        data = rng.integers(lo, hi, size).astype(dt)
        if exclude_zero:
            data[data == 0] = 1
    else:  # [low, high) clamped to the dtype's finite range, as torch
        big = float(np.finfo(dt).max)
        lo = -9.0 if low is None else min(max(float(low), -big), big)
        hi = 9.0 if high is None else min(max(float(high), -big), big)
        if not lo < hi:
            raise ValueError(f"make_tensor: low must be less than high, got low={low!r}, high={high!r}")
        u = rng.random(size)
        with np.errstate(over="ignore"):
            width = hi - lo
        data = (lo + width * u if math.isfinite(width) else lo * (1 - u) + hi * u)
        data = data.astype(dt)
        if exclude_zero:
            data[data == 0] = np.finfo(dt).tiny
    if noncontiguous and data.size > 1:
        wide = np.repeat(data, 2, axis=-1)
        data = wide[..., ::2]
    out = Tensor(data, requires_grad=bool(requires_grad))
    if noncontiguous and data.size > 1:
        out.data = data  # (Tensor copies its input: keep the strided view)
    return out
