"""Edge cases of torch's Tensor methods and factories: required arguments (``flip``,
``repeat``), ``arange``'s bounds, sizes too large for an array, ``chunk`` of an empty axis,
random ``*_like`` of integer tensors, ``norm``'s dtype, ``sign`` of nan, 0-d ``gather``,
broadcast ``masked_fill`` masks and ``var`` with no degrees of freedom. Each is checked
against torch where torch is importable, and errors must name the function.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl


def test_flip_and_repeat_need_their_arguments(torch: Any) -> None:
    for make, call, name in ((lambda m: m.tensor([1.0, 2.0]), lambda x: x.flip(), "flip"),
                             (lambda m: m.tensor(2.0), lambda x: x.repeat(), "repeat")):
        with pytest.raises(TypeError):
            call(make(torch))
        with pytest.raises(TypeError, match=name):
            call(make(tl))
    assert tl.tensor([1.0, 2.0]).flip(()).tolist() == torch.tensor([1.0, 2.0]).flip(()).tolist()
    assert tl.tensor(2.0).repeat(()).tolist() == torch.tensor(2.0).repeat(()).tolist()


def test_chunk_of_an_empty_axis_gives_chunks_empty_pieces(torch: Any) -> None:
    for shape, chunks, dim in (((0, 3), 3, 0), ((0, 3), 2, 0), ((3, 0), 3, 1), ((1, 3), 3, 0), ((6,), 4, 0)):
        ours = tl.zeros(*shape).chunk(chunks, dim)
        theirs = torch.zeros(*shape).chunk(chunks, dim)
        assert [tuple(c.shape) for c in ours] == [tuple(c.shape) for c in theirs]


@pytest.mark.parametrize("args", [(0, 5, -1), (5, 0, 1), (0, 5, -1.5), (0, float("nan")), (0, float("inf")),
                                  (float("-inf"), 0), (0, 0.5, 0)])
def test_arange_refuses_bounds_torch_refuses(torch: Any, args: tuple) -> None:
    with pytest.raises(RuntimeError):
        torch.arange(*args)
    with pytest.raises(ValueError, match="arange"):
        tl.arange(*args)


def test_arange_reads_0d_tensor_bounds_and_allows_an_empty_range(torch: Any) -> None:
    for args in ((3,), (1.0, 3, 0.5), (5, 5, -1), (4, 1, -1)):
        ours = tl.arange(*(tl.tensor(a) for a in args))
        theirs = torch.arange(*(torch.tensor(a) for a in args))
        assert ours.tolist() == theirs.tolist()
        assert (ours.dtype.kind == "f") == theirs.is_floating_point()  # float64 here is torch's float32
    with pytest.raises(TypeError, match="arange"):
        tl.arange(tl.tensor([3]))


@pytest.mark.parametrize("make", ["zeros", "ones", "empty", "randn", "rand"])
def test_a_size_too_large_for_an_array_is_named(torch: Any, make: str) -> None:
    with pytest.raises(RuntimeError):
        getattr(torch, make)(10**12, 10**12)
    with pytest.raises(ValueError, match=rf"{make}: size \(1000000000000, 1000000000000\)"):
        getattr(tl, make)(10**12, 10**12)


@pytest.mark.parametrize("name", ["randn_like", "rand_like"])
def test_random_like_of_an_integer_tensor_needs_a_float_dtype(torch: Any, name: str) -> None:
    for src in ([1, 2], [True]):
        with pytest.raises(NotImplementedError):
            getattr(torch, name)(torch.tensor(src))
        with pytest.raises(NotImplementedError, match=name):
            getattr(tl, name)(tl.tensor(src))
    out, ref = getattr(tl, name)(tl.tensor([1, 2]), dtype="float32"), getattr(torch, name)(
        torch.tensor([1, 2]), dtype=torch.float32)
    assert out.shape == tuple(ref.shape) and out.dtype == np.float32


def test_norm_refuses_a_narrowing_or_non_float_dtype(torch: Any) -> None:
    for src, dt in (("float64", "float32"), ("float32", "float16"), ("float64", "int64")):
        with pytest.raises(RuntimeError):
            torch.tensor([1.0, 2.0], dtype=getattr(torch, src)).norm(dtype=getattr(torch, dt))
        with pytest.raises(TypeError, match="norm"):
            tl.tensor([1.0, 2.0], dtype=src).norm(dtype=dt)
    ours = tl.tensor([1.0, 2.0], dtype="float32").norm(dtype="float64")
    theirs = torch.tensor([1.0, 2.0]).norm(dtype=torch.float64)
    assert ours.dtype == np.float64 and ours.item() == theirs.item()


def test_sign_of_nan_and_negative_zero_is_zero_as_torch(torch: Any) -> None:
    vals = [float("nan"), -0.0, 0.0, -2.5, 3.0, float("-inf"), float("inf")]
    for dt in ("float32", "float64"):
        ours = tl.tensor(vals, dtype=dt).sign().data
        theirs = torch.tensor(vals, dtype=getattr(torch, dt)).sign().numpy()
        assert ours.dtype == theirs.dtype and ours.tolist() == theirs.tolist()
        assert np.signbit(ours).tolist() == np.signbit(theirs).tolist()
    assert tl.tensor([-3, 0, 2]).sign().tolist() == torch.tensor([-3, 0, 2]).sign().tolist()


@pytest.mark.parametrize("dim, index", [(0, 0), (0, [0]), (-1, [0, 0, 0]), (0, [1]), (1, [0]), (0, [[0]])])
def test_gather_on_a_0d_tensor_as_torch(torch: Any, dim: int, index: Any) -> None:
    t = torch.tensor(5.0, dtype=torch.float64, requires_grad=True)
    try:
        ref = t.gather(dim, torch.tensor(index))
    except (RuntimeError, IndexError):
        with pytest.raises((ValueError, IndexError), match="gather"):
            tl.tensor(5.0).gather(dim, tl.tensor(index))
        return
    x = tl.tensor(5.0, requires_grad=True)
    out = x.gather(dim, tl.tensor(index))
    R = np.arange(1.0, out.data.size + 1).reshape(out.shape)
    out.backward(tl.tensor(R))
    ref.backward(torch.tensor(R))
    assert out.shape == tuple(ref.shape) and out.tolist() == ref.tolist()
    assert x.grad.tolist() == t.grad.tolist()


@pytest.mark.parametrize("xshape, mshape", [((2, 3), (3,)), ((3,), (2, 3)), ((2, 1), (2, 3)), ((), ()), ((2,), ())])
def test_masked_fill_broadcasts_mask_and_tensor_together_as_torch(torch: Any, xshape: tuple, mshape: tuple) -> None:
    rng = np.random.default_rng(0)
    a, mask = rng.standard_normal(xshape), rng.random(mshape) > 0.4
    x, v = tl.tensor(a, requires_grad=True), tl.tensor(2.5, requires_grad=True)
    t, tv = torch.tensor(a, requires_grad=True), torch.tensor(2.5, dtype=torch.float64, requires_grad=True)
    out, ref = x.masked_fill(tl.tensor(mask), v), t.masked_fill(torch.tensor(mask), tv)
    R = rng.standard_normal(ref.shape)
    out.backward(tl.tensor(R))
    ref.backward(torch.tensor(R))
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(v.grad, tv.grad.numpy(), rtol=1e-12)
    with pytest.raises(RuntimeError):
        torch.zeros(2, 3).masked_fill(torch.ones(4, 3, dtype=torch.bool), 1.0)
    with pytest.raises(ValueError, match="masked_fill"):
        tl.zeros(2, 3).masked_fill(tl.tensor(np.ones((4, 3), bool)), 1.0)


_NO_DOF = [([1.0, 2.0, 3.0], {"correction": 3}), ([1.0, 2.0, 4.0], {"correction": 3}),
           ([1.0, 2.0, 4.0], {"correction": 4}),
           ([1.0, 1.0, 1.0], {"correction": 3}), ([1.0, 2.0, 4.0], {"dim": 0, "correction": 3}),
           ([[1.0, 2.0, 4.0], [3.0, 3.0, 5.0]], {"dim": -1, "correction": 3}),
           ([[1.0, 2.0, 4.0], [3.0, 3.0, 5.0]], {"correction": 6}), (2.0, {}), (2.0, {"correction": 1.5})]


@pytest.mark.parametrize("data, kw", _NO_DOF)
@pytest.mark.parametrize("fn", ["var", "std"])
def test_var_and_std_without_degrees_of_freedom_match_torch(torch: Any, data: Any, kw: dict, fn: str) -> None:
    """N <= correction: inf or nan values; gradients inf (signed only along a given dim) or nan, as torch."""
    t = torch.tensor(data, dtype=torch.float64, requires_grad=True)
    x = tl.tensor(data, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns of the missing degrees of freedom
        ref = getattr(t, fn)(**kw)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = getattr(x, fn)(**kw)
        out.sum().backward()
    ref.sum().backward()
    np.testing.assert_array_equal(out.data, ref.detach().numpy())
    np.testing.assert_array_equal(x.grad, t.grad.numpy())


@pytest.mark.parametrize("fn", ["max", "min"])
@pytest.mark.parametrize("keep", [True, False])
def test_an_int_axis_with_torchs_keepdim_gives_values_and_indices_as_torch(fn, keep) -> None:
    """``pred = out.max(1, keepdim=True)[1]`` is the classic torch accuracy line: with torch's
    ``keepdim`` spelling the result is torch's ``(values, indices)``; numpy's ``keepdims``
    keeps numpy's meaning (the values)."""
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(3).standard_normal((5, 4))
    x = tl.tensor(a, requires_grad=True)
    ours, theirs = getattr(x, fn)(1, keepdim=keep), getattr(torch.tensor(a), fn)(1, keepdim=keep)
    values, indices = ours
    np.testing.assert_array_equal(values.numpy(), theirs.values.numpy())
    np.testing.assert_array_equal(ours[1].numpy(), theirs[1].numpy())
    assert ours.indices.dtype == np.int64 and ours.indices.shape == tuple(theirs.indices.shape)
    values.sum().backward()
    np.testing.assert_array_equal(x.grad, (a == getattr(a, fn)(1, keepdims=True)).astype(float))
    plain = getattr(x, fn)(1, keepdims=keep)
    assert isinstance(plain, tl.Tensor) and plain.shape == tuple(theirs.values.shape)
