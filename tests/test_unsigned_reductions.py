"""Sums, products and running sums of unsigned (and bool) integers accumulate in int64 as in
torch: numpy's uint64 would wrap a later subtraction silently."""

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32, np.uint64, np.bool_, np.int8, np.int32])
@pytest.mark.parametrize("op", ["sum", "prod", "cumsum", "cumprod", "nansum"])
def test_integer_accumulation_dtype_and_values_match_torch(dtype, op):
    a = (np.array([[3, 1, 2], [0, 2, 1]]) if dtype is not np.bool_ else np.array([[1, 0, 1], [1, 1, 0]])).astype(dtype)
    args = (1,) if op.startswith("cum") else ()
    got = getattr(tl.tensor(a), op)(*args)
    want = getattr(torch.tensor(a), op)(*args)
    assert str(got.dtype) == str(want.dtype).replace("torch.", "")
    np.testing.assert_array_equal(got.data, want.numpy())


def test_a_uint8_sum_minus_a_larger_number_is_negative():
    s = tl.tensor(np.array([200, 100], dtype=np.uint8)).sum()
    assert (s - 500).item() == -200
    assert tl.sum(tl.tensor(np.array([[1, 2]], np.uint8)), 1, keepdim=True).dtype == np.int64
