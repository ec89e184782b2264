"""clamp of a bool tensor takes the dtype torch's promotion gives: int64 with integer
numbers, the Tensor bound's integer dtype, floats with a float bound."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")

B = np.array([True, False, True])


@pytest.mark.parametrize("kw", [dict(min=0, max=3), dict(min=0), dict(max=0), dict(min=1, max=0)])
def test_bool_clamp_with_integer_numbers_is_int64_as_torch(kw: dict) -> None:
    ours, theirs = tl.Tensor(B).clamp(**kw), torch.tensor(B).clamp(**kw)
    assert ours.dtype == np.int64 and theirs.dtype == torch.int64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_bool_clamp_with_an_int32_tensor_bound_is_int32_as_torch() -> None:
    bound = np.array([0, 1, 0], np.int32)
    ours, theirs = tl.Tensor(B).clamp(tl.Tensor(bound)), torch.tensor(B).clamp(torch.tensor(bound))
    assert ours.dtype == np.int32 and theirs.dtype == torch.int32
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_bool_clamp_with_a_float_number_is_floating() -> None:
    ours = tl.Tensor(B).clamp(0.5)
    assert ours.dtype.kind == "f"
    np.testing.assert_array_equal(ours.numpy(), [1.0, 0.5, 1.0])
