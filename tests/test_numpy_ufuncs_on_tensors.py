"""numpy's ufuncs applied to Tensors: operators keep the graph, other ufuncs compute on the
values (a Tensor that requires grad is refused there, as torch refuses numpy() of it)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl


def test_value_ufuncs_return_tensors() -> None:
    t = tl.tensor([1.0, 4.0])
    for f, ref in ((np.exp, np.exp), (np.sqrt, np.sqrt), (np.log1p, np.log1p)):
        r = f(t)
        assert isinstance(r, tl.Tensor) and not r.requires_grad
        np.testing.assert_allclose(r.numpy(), ref(np.array([1.0, 4.0])))
    assert bool(np.isfinite(t).all())
    frac, whole = np.modf(tl.tensor([1.5, -2.25]))
    assert frac.tolist() == [0.5, -0.25] and whole.tolist() == [1.0, -2.0]


def test_operator_ufuncs_keep_the_graph() -> None:
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    y = (np.array([3.0, 4.0]) * x + np.float64(2) * x - np.ones(2) / (x + 1)).sum()
    assert isinstance(y, tl.Tensor) and y.requires_grad
    y.backward()
    np.testing.assert_allclose(x.grad, [3 + 2 + 1 / 4, 4 + 2 + 1 / 9])
    assert (np.ones(2) < tl.tensor([0.5, 2.0])).tolist() == [False, True]
    assert np.multiply(np.ones(2), x).requires_grad


def test_a_tensor_that_requires_grad_is_refused_by_value_ufuncs() -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="exp"):
        np.exp(w)
    with tl.no_grad():
        assert np.exp(w).tolist() == pytest.approx(np.exp([1.0, 2.0]).tolist())


def test_out_arrays() -> None:
    a = np.ones(2)
    a += tl.tensor([1.0, 2.0])  # numpy writes into a, as with a torch tensor
    assert type(a) is np.ndarray and a.tolist() == [2.0, 3.0]
    with pytest.raises(TypeError, match="out="):
        np.add(np.ones(2), 1, out=tl.tensor([0.0, 0.0]))
