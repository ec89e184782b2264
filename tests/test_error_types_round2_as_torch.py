"""Refusals catchable as torch's error types (``except RuntimeError`` / ``except IndexError``
written for torch), naming the axes the user wrote."""

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


def _x(lib):
    return lib.arange(6.0).reshape(2, 3) if lib is torch else tl.Tensor(np.arange(6.0).reshape(2, 3))


CASES = {
    "copy_ of another shape": lambda L, x: x.copy_(L.ones(5)),
    "add_ that would grow": lambda L, x: x.add_(L.ones(2, 2, 3)),
    "reshape(-2, 3)": lambda L, x: x.reshape(-2, 3),
    "expand(2, -2)": lambda L, x: L.ones(6).expand(2, -2),
    "transpose(0, 5)": lambda L, x: x.transpose(0, 5),
    "transpose(0, -3)": lambda L, x: x.transpose(0, -3),
    "swapaxes(0, 5)": lambda L, x: x.swapaxes(0, 5),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_refusals_are_torchs_error_types(name):
    with pytest.raises(Exception) as t:
        CASES[name](torch, _x(torch))
    with pytest.raises(type(t.value)) as ours:  # (our error is also an instance of torch's type)
        CASES[name](tl, _x(tl))
    if name.startswith("transpose"):
        assert "numpy reads it as the identity" not in str(ours.value)
    before = _x(tl)
    if name.startswith(("copy_", "add_")):  # and a refused in-place write changes nothing
        y = _x(tl)
        with pytest.raises(RuntimeError):
            CASES[name](tl, y)
        np.testing.assert_array_equal(y.data, before.data)
