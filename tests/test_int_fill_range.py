"""A number written into an integer tensor (``x[i] = v``, ``masked_fill``, ``index_fill``) follows
torch's range rule, as ``fill_`` and ``full`` do: a float out of the dtype's range, an infinity, a
NaN or an integer that does not fit is refused with torch's "cannot be converted without
overflow" (``IntOverflowError``, a ``RuntimeError``) naming the op and the value, and nothing is
written; an in-range float goes toward zero. A 0-d tensor value keeps the tensor's dtype."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.intcast import IntOverflowError

BAD = [float("inf"), float("-inf"), float("nan"), 1e30, -1e30, "max + 1", "min - 1", 2**70]


def _bad(value: Any, dtype: Any) -> Any:
    """``value``, or the first integer past the dtype's range (an unsigned dtype takes -max..max)."""
    info = np.iinfo(dtype)
    if value == "max + 1":
        return int(info.max) + 1
    if value == "min - 1":
        return -int(info.max) - 1 if info.min == 0 else int(info.min) - 1
    return value


def _setitem(t: Any, v: Any) -> Any:
    t[0] = v
    return t


def _setitem_slice(t: Any, v: Any) -> Any:
    t[1:] = v
    return t


_MASK = np.array([True, False, True])
CASES: list[tuple[str, Callable[[Any, Any], Any]]] = [
    ("setitem", _setitem),
    ("setitem", _setitem_slice),
    ("masked_fill", lambda t, v: t.masked_fill(tl.tensor(_MASK), v)),
    ("masked_fill_", lambda t, v: t.masked_fill_(tl.tensor(_MASK), v)),
    ("index_fill", lambda t, v: t.index_fill(0, tl.tensor([0, 2]), v)),
    ("index_fill_", lambda t, v: t.index_fill_(0, tl.tensor([0, 2]), v)),
]


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.int8])
@pytest.mark.parametrize("value", BAD, ids=repr)
@pytest.mark.parametrize(("op", "write"), CASES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(CASES)])
def test_out_of_range_number_is_refused_and_nothing_changes(op: str, write: Callable, value: Any,
                                                            dtype: Any) -> None:
    t = tl.tensor(np.array([1, 2, 3], dtype))
    value = _bad(value, dtype)
    with pytest.raises(RuntimeError, match=rf"{op.rstrip('_')}.*value .* cannot be stored in dtype") as info:
        write(t, value)
    assert isinstance(info.value, IntOverflowError)
    np.testing.assert_array_equal(t.data, np.array([1, 2, 3], dtype))
    assert t.dtype == np.dtype(dtype)


@pytest.mark.parametrize("value", [2.7, -2.5, 100, True, 2**31 - 1, -(2**31)], ids=repr)
@pytest.mark.parametrize(("op", "write"), CASES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(CASES)])
def test_in_range_numbers_are_written_as_torch(op: str, write: Callable, value: Any) -> None:
    torch = pytest.importorskip("torch")
    got = write(tl.tensor(np.array([1, 2, 3], np.int32)), value)
    t = torch.tensor([1, 2, 3], dtype=torch.int32)
    if op == "setitem":
        want = write(t, value)
    elif op.startswith("masked"):
        want = getattr(t, op)(torch.tensor([True, False, True]), value)
    else:
        want = getattr(t, op)(0, torch.tensor([0, 2]), value)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got.data, want.numpy())


@pytest.mark.parametrize("op", ["masked_fill", "index_fill"])
@pytest.mark.parametrize("value", [5.7, -3.2, 1e30], ids=repr)
def test_zero_d_tensor_value_keeps_the_int_dtype_as_torch(op: str, value: float) -> None:
    torch = pytest.importorskip("torch")
    t, tt = tl.tensor(np.array([1, 2, 3], np.int32)), torch.tensor([1, 2, 3], dtype=torch.int32)
    if op == "masked_fill":
        args, targs = (tl.tensor(np.array([True, False, True])),), (torch.tensor([True, False, True]),)
    else:
        args, targs = (0, tl.tensor([0, 2])), (0, torch.tensor([0, 2]))
    try:
        want = getattr(tt, op)(*targs, torch.tensor(value)).numpy()
    except RuntimeError:
        with pytest.raises(IntOverflowError, match=op):
            getattr(t, op)(*args, tl.tensor(value))
        return
    got = getattr(t, op)(*args, tl.tensor(value))
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got.data, want)


def test_float_tensor_masked_fill_keeps_its_dtype_and_gradients() -> None:
    x = tl.tensor(np.array([1.0, 2.0, 3.0], np.float32), requires_grad=True)
    v = tl.tensor(5.0, requires_grad=True)
    out = x.masked_fill(tl.tensor(np.array([True, False, True])), v)
    assert out.dtype == np.float32
    (out * tl.tensor(np.array([1.0, 2.0, 3.0], np.float32))).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 2.0, 0.0])
    assert float(v.grad) == 4.0
