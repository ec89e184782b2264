"""Factories with an integer dtype, float16 arithmetic with numbers, accumulation in cumsum,
and the number-first forms of the arithmetic functions, as torch computes them."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("args", [(-2.5, 2, 1), (0, 5.5, 1.5), (5, -2.5, -1.5), (-7.9, 3.2, 2.7), (10, 0, -3)])
def test_arange_with_an_integer_dtype_truncates_its_arguments_first(args: tuple) -> None:
    assert tl.arange(*args, dtype=tl.int64).tolist() == torch.arange(*args, dtype=torch.int64).tolist()


def test_arange_refuses_a_step_that_truncates_to_zero_and_a_bool_dtype() -> None:
    with pytest.raises(ValueError, match="step"):
        tl.arange(0, 2, 0.5, dtype=tl.int64)
    with pytest.raises(TypeError, match="bool"):
        tl.arange(0, 3, dtype=tl.bool)
    with pytest.raises(TypeError, match="bool"):
        tl.linspace(0, 1, 3, dtype=tl.bool)


def test_float_arange_has_torch_length_and_values() -> None:
    for args in [(0.0, 1.0, 0.1), (-3.3, 7.9, 0.7), (2.0, -1.0, -0.25)]:
        ours = tl.arange(*args).numpy()
        theirs = torch.arange(*args, dtype=torch.float64).numpy()
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-14, atol=1e-14)


_LINSPACE = [(-10, 0, 4), (4.3, 9.2, 8), (-10.5, 3.3, 6), (0, 10, 4), (3, 250, 7), (7, 7, 1)]


@pytest.mark.parametrize("args,dtype", [(a, d) for a in _LINSPACE for d in ("int64", "int16", "uint8")
                                        if d != "uint8" or min(a[:2]) >= 0])
def test_integer_linspace_truncates_toward_zero_as_torch(args: tuple, dtype: str) -> None:
    ours = tl.linspace(*args, dtype=getattr(tl, dtype)).tolist()
    assert ours == torch.linspace(*args, dtype=getattr(torch, dtype)).tolist()


@pytest.mark.parametrize("c", [1e5, 1e-8, 1 / 3, 0.1, 13.7, 70000, 3])
def test_half_times_or_over_a_number_is_computed_in_float32(c: float) -> None:
    x = np.random.default_rng(0).standard_normal(500).astype(np.float16)
    for f in (lambda v: v * c, lambda v: v / c, lambda v: v + c, lambda v: v - c):
        t = tl.tensor(x, requires_grad=True)
        T = torch.tensor(x, requires_grad=True)
        with np.errstate(all="ignore"):
            out = f(t)
        ref = f(T)
        assert out.dtype == np.float16
        np.testing.assert_array_equal(out.numpy().astype(np.float64), ref.detach().double().numpy())
        out.sum().backward()
        ref.sum().backward()
        np.testing.assert_array_equal(t.grad.astype(np.float64), T.grad.double().numpy())


def test_half_product_with_a_large_number_stays_finite() -> None:
    assert (tl.tensor([1e-3], dtype=tl.float16) * 1e5).item() == pytest.approx(100.06, abs=0.05)
    assert (tl.tensor([1e4], dtype=tl.float16) * 1e-8).item() == pytest.approx(1e-4, rel=1e-2)


def test_cumsum_of_float32_and_float16_accumulates_wide() -> None:
    assert tl.ones(2 ** 25, dtype=tl.float32).cumsum(0)[-1].item() == 2 ** 25
    assert tl.full((5000,), 0.1, dtype=tl.float16).cumsum(0)[-1].item() == \
        torch.full((5000,), 0.1, dtype=torch.float16).cumsum(0)[-1].item()
    g = np.ones(2 ** 25, np.float32)
    x = tl.zeros(2 ** 25, dtype=tl.float32, requires_grad=True)
    (x.cumsum(0) * tl.tensor(g)).sum().backward()
    assert x.grad[0] == 2 ** 25 and x.grad.dtype == np.float32


def test_half_var_std_and_norm_do_not_overflow() -> None:
    a = tl.arange(200.0, 400.0, dtype=tl.float16, requires_grad=True)
    A = torch.arange(200.0, 400.0, dtype=torch.float16, requires_grad=True)
    s, S = a.std(), A.std()
    assert s.dtype == np.float16 and s.item() == S.item()
    s.backward()
    S.backward()
    np.testing.assert_allclose(a.grad.astype(np.float64), A.grad.double().numpy(), atol=1e-4)
    assert a.var(unbiased=False).item() == A.var(unbiased=False).item()
    n = tl.full((10,), 300.0, dtype=tl.float16)
    assert n.norm().item() == torch.full((10,), 300.0, dtype=torch.float16).norm().item()


def test_full_like_fills_integers_as_full_does() -> None:
    assert tl.full_like(tl.zeros(3, dtype=tl.uint8), -1).tolist() == [255] * 3
    with pytest.raises(OverflowError):
        tl.full_like(tl.zeros(2, dtype=tl.int32), float("nan"))
    assert tl.full_like(tl.zeros(2, dtype=tl.int32), -2.5).tolist() == [-2, -2]


def test_random_half_tensors() -> None:
    r = tl.rand(10000, dtype=tl.float16)
    assert r.dtype == np.float16 and 0 <= r.numpy().min() and r.numpy().max() < 1
    assert tl.randn(3, 4, dtype=tl.float16).shape == (3, 4)
    assert tl.rand_like(tl.zeros(2, dtype=tl.float16)).dtype == np.float16


def test_a_bool_base_to_an_int_power_counts_in_int64() -> None:
    b = tl.tensor([True, False])
    for f in (lambda v: v ** 2, lambda v: v.square(), lambda v: v ** 3, lambda v: v ** 0):
        ours, theirs = f(b), f(torch.tensor([True, False]))
        assert ours.dtype == np.int64 and ours.tolist() == theirs.tolist()
    assert (b ** 2.5).dtype.kind == "f"


def test_a_0d_bool_tensor_is_an_index() -> None:
    assert [10, 20][tl.tensor(True)] == 20
    with pytest.raises(TypeError):
        [1, 2][tl.tensor(1.0)]


@pytest.mark.parametrize("name", ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide"])
def test_arithmetic_functions_take_a_number_first(name: str) -> None:
    t = tl.tensor([1.0, 2.0, 4.0], requires_grad=True)
    T = torch.tensor([1.0, 2.0, 4.0], dtype=torch.float64, requires_grad=True)
    out, ref = getattr(tl, name)(3, t), getattr(torch, name)(3, T)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy())
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(t.grad, T.grad.numpy())
    ti = tl.tensor([1, 2], dtype=tl.int32)  # the number does not widen an integer tensor; / is true division
    expected = np.float64 if name in ("div", "divide", "true_divide") else np.int32
    assert getattr(tl, name)(3, ti).dtype == expected


def test_number_first_with_alpha_and_rounding_and_its_refusals() -> None:
    t = tl.tensor([1.0, 2.0])
    assert tl.sub(3, t, alpha=2).tolist() == [1.0, -1.0]
    assert tl.add(3, t, alpha=2).tolist() == [5.0, 7.0]
    assert tl.div(3, t, rounding_mode="floor").tolist() == [3.0, 1.0]
    with pytest.raises(TypeError, match="add"):
        tl.add(np.ones(2), t)
    with pytest.raises(TypeError, match="add"):
        tl.add(3, 4)
