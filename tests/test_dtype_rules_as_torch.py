"""Integer dtype rules as torch's: true division of integers uses their values (a 0-d operand
was wrapped into the other's dtype), an integer base's log in pow's exponent gradient is taken
in the result's float dtype, integer lerp interpolates as floats, an integer dtype= of running
sums and products is kept, addcmul keeps a float32 tensor float32, &= |= ^= <<= >>= are in
place, an index array does not truncate float values into an integer tensor, signed and
unsigned in-place results wrap, and a number that does not fit an integer tensor's dtype is
refused by clamp and where."""

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


def _same(got, want):
    assert str(got.dtype) == str(want.dtype)[6:] or (str(want.dtype) == "torch.float32" and got.dtype == np.float64)
    np.testing.assert_allclose(np.asarray(got.data, dtype=np.float64), want.double().numpy(), rtol=1e-6)


@pytest.mark.parametrize("make", [
    lambda lib: lib.tensor([100, 100, 100], dtype=lib.uint8) / lib.tensor([100, 100, 100], dtype=lib.uint8).sum(),
    lambda lib: lib.tensor([1, 2, 3], dtype=lib.int16) / lib.tensor(70000),
    lambda lib: lib.tensor(-3, dtype=lib.int8) / lib.tensor([3, 2], dtype=lib.uint8),
    lambda lib: lib.true_divide(lib.tensor([1, 2], dtype=lib.int32), lib.tensor(2 ** 40)),
])
def test_true_division_of_integers_uses_their_values(make):
    got, want = make(tl), make(torch)
    np.testing.assert_allclose(got.data, want.double().numpy(), rtol=1e-6)


def test_exponent_gradient_with_a_small_integer_base_is_exact():
    p, tp = tl.tensor([0.5, 1.0], requires_grad=True), torch.tensor([0.5, 1.0], dtype=torch.float64, requires_grad=True)
    (tl.tensor([2, 3], dtype=tl.uint8) ** p).sum().backward()
    (torch.tensor([2, 3], dtype=torch.uint8) ** tp).sum().backward()
    np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-14)


def test_integer_lerp_interpolates_as_floats():
    got = tl.lerp(tl.tensor([7], dtype=tl.uint8), tl.tensor([1], dtype=tl.uint8), tl.tensor(2.0))
    want = torch.lerp(torch.tensor([7]), torch.tensor([1]), torch.tensor(2.0))
    np.testing.assert_allclose(got.data, want.numpy())
    np.testing.assert_allclose(tl.lerp(tl.tensor([7]), tl.tensor([1]), 0.25).data, [5.5])


@pytest.mark.parametrize("make", [
    lambda lib: lib.tensor([100, 100], dtype=lib.int32).cumsum(0, dtype=lib.int8),
    lambda lib: lib.tensor([16, 16], dtype=lib.int32).cumprod(0, dtype=lib.int8),
    lambda lib: lib.tensor([16, 16, 3]).prod(dtype=lib.int16),
    lambda lib: lib.cumsum(lib.tensor([100, 100]), 0, dtype=lib.int8),
])
def test_integer_dtype_of_running_sums_and_products_is_kept(make):
    got, want = make(tl), make(torch)
    assert str(got.dtype) == str(want.dtype)[6:]
    np.testing.assert_array_equal(got.data, want.numpy())


def test_addcmul_and_addcdiv_keep_a_float32_tensor_float32():
    for lib in (tl, torch):
        t = lib.tensor([1.0, 2.0], dtype=lib.float32)
        assert str(lib.addcmul(t, lib.tensor([1, 2]), lib.tensor([3, 4]), value=0.5).dtype).endswith("float32")
    assert tl.tensor([1.0, 2.0], dtype=tl.float32).addcdiv(tl.tensor([1, 2]), tl.tensor([3, 4])).dtype == np.float32
    assert tl.tensor([1, 2]).addcmul(tl.tensor([1, 2]), tl.tensor([1, 1])).dtype == np.int64


def test_bit_operators_work_in_place():
    a = tl.tensor([True, True])
    alias = a
    a &= tl.tensor([True, False])
    assert a is alias and alias.tolist() == [True, False]
    c = tl.tensor([1, 2])
    c <<= 2
    c >>= tl.tensor([1, 0])
    c ^= 1
    c |= 4
    tc = torch.tensor([1, 2])
    tc <<= 2
    tc >>= torch.tensor([1, 0])
    tc ^= 1
    tc |= 4
    assert c.tolist() == tc.tolist()
    b = tl.tensor([True, False])
    with pytest.raises(TypeError, match=r"\|=: a result of dtype int64"):
        b |= tl.tensor([3, 0])
    assert b.tolist() == [True, False]


def test_index_array_does_not_truncate_floats_into_integers():
    x = tl.tensor([1, 2, 3])
    with pytest.raises(TypeError, match="cannot store float values"):
        x[tl.tensor([True, False, True])] = tl.tensor([2.7, 3.9])
    with pytest.raises(TypeError, match="cannot store float values"):
        x[[0, 2]] = np.array([2.7, 3.9])
    assert x.tolist() == [1, 2, 3]
    x[0:2] = tl.tensor([2.7, 3.9])  # (a slice copies with a cast, as torch's)
    assert x.tolist() == [2, 3, 3]
    y = tl.tensor([1.0, 2.0], dtype=tl.float32)
    y[[0]] = tl.tensor([5.0])
    assert y.dtype == np.float32 and y.tolist() == [5.0, 2.0]


def test_signed_and_unsigned_in_place_results_wrap_as_torch():
    a, ta = tl.tensor([250, 3], dtype=tl.uint8), torch.tensor([250, 3], dtype=torch.uint8)
    a += tl.tensor([10, -5], dtype=tl.int8)
    ta += torch.tensor([10, -5], dtype=torch.int8)
    b, tb = tl.tensor([1, 2], dtype=tl.int8), torch.tensor([1, 2], dtype=torch.int8)
    b.add_(tl.tensor([200, 1], dtype=tl.uint8))
    tb.add_(torch.tensor([200, 1], dtype=torch.uint8))
    assert a.tolist() == ta.tolist() and b.tolist() == tb.tolist()
    with pytest.raises(TypeError, match="float64 cannot be stored in place"):
        c = tl.tensor([1, 2])
        c += tl.tensor([0.5, 1.0])


@pytest.mark.parametrize("call", [lambda lib, x: x.clamp(min=300), lambda lib, x: x.clamp(max=-200),
                                  lambda lib, x: lib.where(x > 1, x, 300), lambda lib, x: lib.where(x > 1, -129, x)])
def test_numbers_that_do_not_fit_an_integer_dtype_are_refused(call):
    with pytest.raises(RuntimeError, match="overflow"):
        call(torch, torch.tensor([1, 2], dtype=torch.int8))
    with pytest.raises(OverflowError, match="without overflow"):
        call(tl, tl.tensor([1, 2], dtype=tl.int8))
    assert tl.where(tl.tensor([True, False]), tl.tensor([1, 2], dtype=tl.int8), 5).tolist() == [1, 5]
