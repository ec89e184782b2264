"""Binary functions of an integer tensor and a float tensor, and bitwise ops of an integer
tensor and a number, give torch's dtype: the integer operand takes the float operand's dtype
(float32 stays float32, float16 stays float16) and a Python int does not widen int8/int16/int32
(``int32 | 2`` is int32). Values are compared with torch too."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")

FUNCTIONS = ["atan2", "hypot", "logaddexp", "logaddexp2", "xlogy", "copysign", "ldexp"]
FLOATS = [np.float16, np.float32, np.float64]
INTS = [np.int8, np.int16, np.int32, np.int64]


def _pair(lib: Any, a: np.ndarray, b: np.ndarray) -> tuple:
    wrap = tl.tensor if lib is tl else torch.tensor
    return wrap(a), wrap(b)


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("fdt", FLOATS, ids=lambda d: d.__name__)
@pytest.mark.parametrize("idt", [np.int32, np.int64], ids=lambda d: d.__name__)
@pytest.mark.parametrize("int_first", [True, False], ids=["int-float", "float-int"])
def test_an_integer_operand_takes_the_float_operands_dtype(name: str, fdt: Any, idt: Any, int_first: bool) -> None:
    i = np.array([1, 2, 3], idt)
    f = np.array([0.5, 1.5, -2.0], fdt)
    a, b = (i, f) if int_first else (f, i)
    got = getattr(tl, name)(*_pair(tl, a, b))
    want = getattr(torch, name)(*_pair(torch, a, b))
    assert str(got.dtype) == str(want.dtype).removeprefix("torch.")
    rtol = {np.float16: 2e-3, np.float32: 2e-6, np.float64: 1e-12}[fdt]
    np.testing.assert_allclose(got.data.astype(np.float64), want.numpy().astype(np.float64), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("fdt", [np.float32, np.float16], ids=lambda d: d.__name__)
def test_a_zero_d_float64_operand_does_not_widen(fdt: Any) -> None:
    x = np.array([0.5, 1.5], fdt)
    for name in ("atan2", "copysign", "nextafter", "hypot"):
        got = getattr(tl, name)(tl.tensor(x), tl.tensor(2.0))
        want = getattr(torch, name)(torch.tensor(x), torch.tensor(2.0, dtype=torch.float64))
        assert str(got.dtype) == str(want.dtype).removeprefix("torch.") == np.dtype(fdt).name, name
        # (the values to one unit in the last place: atan2 may round in float64 first)
        np.testing.assert_allclose(got.data, want.numpy(), rtol=float(np.finfo(fdt).eps), atol=0)


def test_xlog1py_of_an_integer_and_a_float32_tensor_is_float32() -> None:
    i, f = np.array([1, 2], np.int32), np.array([0.5, 1.5], np.float32)
    for a, b in ((i, f), (f, i)):
        got = tl.special.xlog1py(tl.tensor(a), tl.tensor(b))
        want = torch.special.xlog1py(torch.tensor(a), torch.tensor(b))
        assert got.dtype == np.float32 and want.dtype == torch.float32
        np.testing.assert_allclose(got.data, want.numpy(), rtol=2e-6)


BITWISE = {
    "|": lambda a, k: a | k, "&": lambda a, k: a & k, "^": lambda a, k: a ^ k,
    "<<": lambda a, k: a << k, ">>": lambda a, k: a >> k, "k |": lambda a, k: k | a,
}


@pytest.mark.parametrize("op", list(BITWISE))
@pytest.mark.parametrize("dt", INTS + [np.uint8, np.bool_], ids=lambda d: d.__name__)
@pytest.mark.parametrize("other", ["int", "True", "0-d int64 tensor", "int64 tensor"])
def test_bitwise_with_a_number_or_tensor_promotes_as_torch(op: str, dt: Any, other: str) -> None:
    x = np.array([1, 0, 3], dt) if dt is not np.bool_ else np.array([True, False, True])
    ks = {"int": (2, 2), "True": (True, True), "0-d int64 tensor": (tl.tensor(np.array(1)), torch.tensor(1)),
          "int64 tensor": (tl.tensor(np.array([1, 2, 0])), torch.tensor([1, 2, 0]))}[other]
    try:
        want = BITWISE[op](torch.tensor(x), ks[1])
    except RuntimeError:  # (torch refuses a bool shifted by a bool)
        with pytest.raises((TypeError, RuntimeError)):
            BITWISE[op](tl.tensor(x), ks[0])
        return
    got = BITWISE[op](tl.tensor(x), ks[0])
    assert str(got.dtype) == str(want.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(got.data, want.numpy())
