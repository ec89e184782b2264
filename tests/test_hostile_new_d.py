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


@pytest.mark.parametrize("dtypes", [("bool", "bool"), ("bool", "float64"), ("float64", "bool")])
def test_pairwise_distance_refuses_bool_naming_itself(dtypes: tuple) -> None:
    # used to be numpy's bare "numpy boolean subtract" TypeError (or a silent result for bool - float)
    torch = pytest.importorskip("torch")
    a, b = ([[True, False]] if d == "bool" else [[0.5, 1.0]] for d in dtypes)
    with pytest.raises(RuntimeError):
        torch.pairwise_distance(torch.tensor(a), torch.tensor(b))
    with pytest.raises(TypeError, match=r"pairwise_distance: x1 and x2 have dtypes .*bool") as info:
        tl.pairwise_distance(tl.tensor(a), tl.tensor(b))
    assert isinstance(info.value, RuntimeError)


def test_distance_functions_take_a_zero_d_tensor_p_and_eps() -> None:
    torch = pytest.importorskip("torch")
    x1, x2 = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, 1.0]]), np.array([[0.5, 1.0, 2.0], [0.0, 0.0, 0.0]])
    t1, t2 = torch.tensor(x1), torch.tensor(x2)
    got = tl.pairwise_distance(tl.tensor(x1), tl.tensor(x2), p=tl.tensor(1.0), eps=tl.tensor(0.25))
    want = torch.pairwise_distance(t1, t2, p=torch.tensor(1.0), eps=torch.tensor(0.25))
    np.testing.assert_allclose(got.data, want.numpy(), rtol=1e-12)
    got = tl.cosine_similarity(tl.tensor(x1), tl.tensor(x2), eps=tl.tensor(2.0))
    want = torch.cosine_similarity(t1, t2, eps=torch.tensor(2.0))
    np.testing.assert_allclose(got.data, want.numpy(), rtol=1e-12)
    with pytest.raises(TypeError, match=r"cosine_similarity: eps must be a real number"):
        tl.cosine_similarity(tl.tensor(x1), tl.tensor(x2), eps=tl.ones(2))


def test_fill_through_diagonal_of_an_int_tensor_follows_torch() -> None:
    torch = pytest.importorskip("torch")
    x, tx = tl.zeros(3, 3, dtype=tl.uint8), torch.zeros(3, 3, dtype=torch.uint8)
    x.diagonal().fill_(-1)
    tx.diagonal().fill_(-1)
    np.testing.assert_array_equal(x.data, tx.numpy())
    for dtype, value in ((tl.int64, float("nan")), (tl.int64, float("inf")), (tl.uint8, 300), (tl.int8, 200),
                         (tl.uint8, -1.0), (tl.uint8, 255.5), (tl.int8, -128.5)):
        tdt = getattr(torch, np.dtype(dtype).name)
        with pytest.raises(RuntimeError):
            torch.zeros(3, 3, dtype=tdt).diagonal().fill_(value)
        y = tl.zeros(3, 3, dtype=dtype)
        # nan used to store -2**63 silently, 300 into uint8 stored 44
        with pytest.raises(OverflowError, match=rf"fill_: value {value} cannot be stored in dtype") as info:
            y.diagonal().fill_(value)
        assert isinstance(info.value, RuntimeError)
        assert not y.data.any()  # nothing written


def test_full_with_an_int_dtype_follows_torch() -> None:
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(tl.full((2,), -1, dtype=tl.uint8).data,
                                  torch.full((2,), -1, dtype=torch.uint8).numpy())
    with pytest.raises(RuntimeError):
        torch.full((2,), 300, dtype=torch.int8)
    with pytest.raises(OverflowError, match=r"full: value 300 cannot be stored in dtype int8"):
        tl.full((2,), 300, dtype=tl.int8)
    with pytest.raises(OverflowError, match=r"full: value nan cannot be stored in dtype int64"):
        tl.full((2,), float("nan"), dtype=tl.int64)


def test_new_tensor_with_unsigned_dtype_wraps_as_torch() -> None:
    torch = pytest.importorskip("torch")
    got = tl.zeros(2, dtype=tl.uint8).new_tensor([-1, 7])
    want = torch.zeros(2, dtype=torch.uint8).new_tensor([-1, 7])
    np.testing.assert_array_equal(got.data, want.numpy())
    assert got.dtype == np.uint8


@pytest.mark.parametrize("expr", ["x + 300", "x - 300", "x * 300", "300 - x", "x + (-1)", "y + 200", "y * -300"])
def test_int_tensor_arithmetic_with_an_out_of_range_int_wraps_as_torch(expr: str) -> None:
    # used to be numpy's bare "Python integer 300 out of bounds for uint8"
    torch = pytest.importorskip("torch")
    got = eval(expr, {"x": tl.tensor([1, 2, 250], dtype=tl.uint8), "y": tl.tensor([1, -2, 100], dtype=tl.int8)})
    want = eval(expr, {"x": torch.tensor([1, 2, 250], dtype=torch.uint8),
                       "y": torch.tensor([1, -2, 100], dtype=torch.int8)})
    assert got.dtype == np.dtype(str(want.dtype).replace("torch.", ""))
    np.testing.assert_array_equal(got.data, want.numpy())


def test_in_place_add_of_a_negative_int_to_uint8_wraps_as_torch() -> None:
    torch = pytest.importorskip("torch")
    x, tx = tl.tensor([0, 5], dtype=tl.uint8), torch.tensor([0, 5], dtype=torch.uint8)
    x.add_(-1)
    tx.add_(-1)
    np.testing.assert_array_equal(x.data, tx.numpy())
    np.testing.assert_array_equal((tl.tensor([1, 2]) + 2**63).data, (torch.tensor([1, 2]) + 2**63).numpy())
    with pytest.raises(OverflowError):
        tl.tensor([1, 2]) + 2**70  # beyond 64 bits: refused, as torch


def test_factories_take_zero_d_integer_tensors_as_sizes() -> None:
    # used to refuse "sizes must be ints, got (2, tensor(3))"; torch reads the 0-d tensor as a size
    torch = pytest.importorskip("torch")
    assert tl.zeros(size=[2, tl.tensor(3)]).shape == tuple(torch.zeros(size=[2, torch.tensor(3)]).shape)
    assert tl.ones(tl.tensor(2), 3).shape == tuple(torch.ones(torch.tensor(2), 3).shape)
    with pytest.raises(TypeError, match=r"zeros: sizes must be ints"):
        tl.zeros(2, tl.tensor(3.0))
    with pytest.raises(ValueError, match=r"zeros: sizes must be >= 0, got \(2, -3\)"):
        tl.zeros(2, tl.tensor(-3))
