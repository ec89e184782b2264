"""Hostile input to this week's torch-port surface, part B: the legacy typed constructors
(``tl.FloatTensor`` and kin) and ``split(split_size=)``. Each case is an input that used to give a
wrong answer or an obscure failure: it must now give torch's values, or a refusal of torch's
exception type that names the constructor and the offending value."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl


@pytest.mark.parametrize("data", [None, 2.5, True, np.float32(1.5), "ab"])
def test_typed_constructor_refuses_scalar_data(data: object) -> None:
    # torch: "new(): data must be a sequence"; None used to give tensor(nan), 2.5 a 0-d tensor
    with pytest.raises(TypeError, match=r"FloatTensor: data must be a sequence.*" + repr(data)[:3]):
        tl.FloatTensor(data)


@pytest.mark.parametrize("name,data", [("ByteTensor", [-1, 255, 3]), ("ByteTensor", [[-255], [-128]]),
                                       ("CharTensor", [127, -128]), ("LongTensor", [True, 2]),
                                       ("LongTensor", [-2**63, 2**63 - 1]), ("IntTensor", [[-1, 2**31 - 1]])])
def test_typed_constructor_integer_data_as_torch(name: str, data: list) -> None:
    # ByteTensor([-1]) used to raise numpy's bare OverflowError; torch stores 255
    torch = pytest.importorskip("torch")
    got = getattr(tl, name)(data)
    want = getattr(torch, name)(data)
    assert got.dtype == np.dtype(str(want.dtype).replace("torch.", ""))
    np.testing.assert_array_equal(got.data, want.numpy())


@pytest.mark.parametrize("name,data,bad", [("ByteTensor", [-1, 256, 3], 256), ("ByteTensor", [-256], -256),
                                           ("CharTensor", [200], 200), ("ShortTensor", [[70000]], 70000),
                                           ("LongTensor", [2**63], 2**63)])
def test_typed_constructor_refuses_overflow_naming_value(name: str, data: list, bad: int) -> None:
    torch = pytest.importorskip("torch")
    with pytest.raises((RuntimeError, ValueError)):
        getattr(torch, name)(data)
    with pytest.raises(OverflowError, match=rf"{name}: value {bad} cannot be stored") as info:
        getattr(tl, name)(data)
    assert isinstance(info.value, RuntimeError)


def test_tensor_with_unsigned_dtype_wraps_negative_ints_as_torch() -> None:
    torch = pytest.importorskip("torch")
    for data in ([-1, 2], -1, [[-255, 0]]):
        got = tl.tensor(data, dtype=tl.uint8)
        np.testing.assert_array_equal(got.data, torch.tensor(data, dtype=torch.uint8).numpy())
    with pytest.raises(OverflowError, match=r"Tensor: value 300 cannot be stored in dtype uint8"):
        tl.tensor([[-1, 300]], dtype=tl.uint8)


def test_typed_constructor_from_ndarray_casts_as_torch() -> None:
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(tl.ByteTensor(np.array([300, -1])).data,
                                  torch.ByteTensor(np.array([300, -1])).numpy())


def test_typed_constructor_float_data_into_int_truncates() -> None:
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(tl.LongTensor([1.7, -2.5]).data, torch.LongTensor([1.7, -2.5]).numpy())


def test_split_takes_a_zero_d_integer_tensor() -> None:
    torch = pytest.importorskip("torch")
    x = tl.arange(5.0)
    got = x.split(split_size=tl.tensor(2))
    want = torch.arange(5.0).split(split_size=torch.tensor(2))
    assert [p.shape for p in got] == [tuple(p.shape) for p in want]
    got2 = x.split(tl.tensor(3), 0)
    assert [p.data.tolist() for p in got2] == [p.tolist() for p in torch.arange(5.0).split(torch.tensor(3), 0)]


def test_split_still_refuses_a_float_tensor_size() -> None:
    x = tl.arange(5.0)
    with pytest.raises(tl.ArgumentError if hasattr(tl, "ArgumentError") else ValueError, match=r"split: split_size"):
        x.split(tl.tensor(2.0))
