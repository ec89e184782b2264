"""Randomised comparisons with torch of Tensor ops whose edge cases a port from PyTorch
meets: clamp with Tensor bounds (their gradients), squeeze of a named axis that is not of
size 1, an integer tensor to a float power, max and min with a Tensor argument, and the
infinity norm of a tensor that is empty off the reduced axis; a uint8 index Tensor (a mask
in torch) is refused. Values, dtypes, shapes and gradients are compared in float64."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")
hyp = pytest.importorskip("hypothesis")
st = pytest.importorskip("hypothesis.strategies")
given, settings = hyp.given, hyp.settings


def _grads(pairs: list) -> None:
    for mine, ref in pairs:
        want = np.zeros(ref.shape) if ref.grad is None else ref.grad.numpy()
        got = np.zeros(ref.shape) if mine.grad is None else mine.grad
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


_small = st.integers(-3, 3).map(float)  # integers: ties between the tensor and its bounds


@settings(max_examples=60, deadline=None)
@given(st.lists(_small, min_size=6, max_size=6), st.lists(_small, min_size=3, max_size=3),
       st.lists(_small, min_size=2, max_size=2), st.sampled_from(["both", "min", "max", "min_constant_max"]))
def test_clamp_with_tensor_bounds_gives_them_torch_gradients(x0: list, lo0: list, hi0: list, which: str) -> None:
    x0, lo0, hi0 = np.reshape(x0, (2, 3)), np.array(lo0), np.reshape(hi0, (2, 1))  # bounds broadcast
    c = np.linspace(-1.0, 2.0, 6).reshape(2, 3)
    mine = [tl.Tensor(v, requires_grad=True) for v in (x0, lo0, hi0)]
    ref = [torch.tensor(v, requires_grad=True) for v in (x0, lo0, hi0)]
    pick = {"both": lambda t: (t[1], t[2]), "min": lambda t: (t[1], None), "max": lambda t: (None, t[2]),
            "min_constant_max": lambda t: (t[1], t[0].new_tensor(0.5) if hasattr(t[0], "new_tensor") else 0.5)}[which]
    out = mine[0].clamp(*pick(mine))
    tout = ref[0].clamp(*pick(ref))
    np.testing.assert_array_equal(out.data, tout.detach().numpy())
    (out * tl.Tensor(c)).sum().backward()
    (tout * torch.tensor(c)).sum().backward()
    _grads(list(zip(mine, ref)))


def test_clamp_min_max_and_the_function_form_pass_the_bound_gradient() -> None:
    x = tl.Tensor(np.array([0.0, 1.0, 2.0, 3.0]), requires_grad=True)
    lo = tl.Tensor(np.array(1.5), requires_grad=True)
    hi = tl.Tensor(np.array([2.5, 2.5, 2.5, 2.5]), requires_grad=True)
    (x.clamp_min(lo) + tl.clamp(x, max=hi)).sum().backward()
    tx = torch.tensor([0.0, 1.0, 2.0, 3.0], requires_grad=True)
    tlo = torch.tensor(1.5, requires_grad=True)
    thi = torch.full((4,), 2.5, requires_grad=True)
    (tx.clamp_min(tlo) + torch.clamp(tx, max=thi)).sum().backward()
    _grads([(x, tx), (lo, tlo), (hi, thi)])


def test_clamp_with_a_constant_tensor_bound_records_no_extra_node() -> None:
    x = tl.Tensor(np.array([0.0, 2.0]), requires_grad=True)
    out = x.clamp(tl.Tensor(np.array([1.0, 1.0])))
    assert out.grad_fn is not None and out.dtype == np.float64
    with tl.no_grad():
        assert not x.clamp(tl.Tensor(np.ones(2), requires_grad=True)).requires_grad


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 3), min_size=0, max_size=4), st.data())
def test_squeeze_of_a_named_axis_matches_torch(shape: list, data: Any) -> None:
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    nd = max(len(shape), 1)
    dim = data.draw(st.one_of(st.integers(-nd, nd - 1),
                              st.lists(st.integers(0, nd - 1), unique=True, max_size=nd).map(tuple)))
    if not shape and isinstance(dim, tuple):
        dim = 0
    x = tl.Tensor(a, requires_grad=True)
    out = x.squeeze(dim)
    tx = torch.tensor(a, requires_grad=True)
    tout = tx.squeeze(dim)
    assert out.shape == tuple(tout.shape)
    assert tl.squeeze(x, dim).shape == tuple(tout.shape)
    g = np.arange(tout.numel(), dtype=np.float64).reshape(tuple(tout.shape))
    out.backward(g)
    tout.backward(torch.tensor(g))
    _grads([(x, tx)])


def test_squeeze_still_refuses_an_axis_out_of_range() -> None:
    with pytest.raises(np.exceptions.AxisError, match="squeeze"):
        tl.Tensor(np.zeros((2, 1))).squeeze(2)


@pytest.mark.parametrize("k", [2.0, 3.0, 0.5, 2, 3, -1.0])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.float32, np.float64])
def test_integer_tensor_to_a_power_has_torchs_dtype_category(k: Any, dtype: Any) -> None:
    a = np.array([1, 2, 3], dtype=dtype)
    out = tl.Tensor(a) ** k
    ref = torch.tensor(a) ** k
    assert out.dtype.kind == {True: "f", False: "i"}[ref.dtype.is_floating_point]
    if np.dtype(dtype).kind == "f":
        assert out.dtype == a.dtype  # a float tensor keeps its dtype
    np.testing.assert_allclose(out.data, ref.numpy(), rtol=1e-6)


@pytest.mark.parametrize("shape,dim,keepdim", [((0, 2, 3), 2, False), ((0, 2, 3), (1, 2), True),
                                               ((2, 0, 3), -1, False), ((2, 0, 3), (0, 2), False)])
@pytest.mark.parametrize("p", [float("inf"), float("-inf")])
def test_inf_norm_of_a_tensor_empty_off_the_reduced_axes_is_empty(shape: tuple, dim: Any, keepdim: bool,
                                                                   p: float) -> None:
    x = tl.Tensor(np.zeros(shape), requires_grad=True)
    out = x.norm(p=p, dim=dim, keepdim=keepdim)
    ref = torch.zeros(shape, dtype=torch.float64).norm(p=p, dim=dim, keepdim=keepdim)
    assert out.shape == tuple(ref.shape)
    out.sum().backward()
    assert x.grad.shape == shape


@pytest.mark.parametrize("shape,dim", [((0, 2), 0), ((0,), None), ((2, 0), (0, 1))])
def test_inf_norm_over_an_empty_axis_is_refused_like_torch(shape: tuple, dim: Any) -> None:
    with pytest.raises(RuntimeError):
        torch.zeros(shape).norm(p=float("inf"), dim=dim)
    with pytest.raises(ValueError, match=r"norm: .*empty axis.*" + str(shape).replace("(", r"\(").replace(")", r"\)")):
        tl.Tensor(np.zeros(shape)).norm(p=float("inf"), dim=dim)


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_and_min_with_a_tensor_argument_are_elementwise_like_torch(name: str) -> None:
    a0 = np.array([[1.0, -2.0, 3.0], [0.0, 5.0, -1.0]])
    b0 = np.array([[1.0, 0.0, 4.0]])  # broadcast, and a tie in the first column
    a, b = tl.Tensor(a0, requires_grad=True), tl.Tensor(b0, requires_grad=True)
    ta, tb = torch.tensor(a0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    out, tout = getattr(a, name)(b), getattr(ta, name)(tb)
    np.testing.assert_array_equal(out.data, tout.detach().numpy())
    g = np.arange(6.0).reshape(2, 3)
    out.backward(g)
    tout.backward(torch.tensor(g))
    _grads([(a, ta), (b, tb)])


def test_a_uint8_index_tensor_is_refused_rather_than_read_as_positions() -> None:
    a = np.arange(12.0).reshape(3, 4)
    mask = np.array([1, 0, 1], dtype=np.uint8)
    with pytest.warns(UserWarning):  # torch still reads it as a mask, with a deprecation warning
        rows = torch.tensor(a)[torch.tensor(mask)].shape
    assert tuple(rows) == (2, 4)
    x = tl.Tensor(a)
    with pytest.raises(IndexError, match=r"getitem: a uint8 index Tensor \(shape \(3,\)\).*\.bool\(\).*\(3, 4\)"):
        x[tl.Tensor(mask)]
    assert x[tl.Tensor(mask).bool()].shape == (2, 4)  # the two spellings that say what they mean
    assert x[tl.Tensor(mask).long()].shape == (3, 4)
    assert x[mask].shape == (3, 4)  # a numpy array keeps numpy's meaning (positions)
