"""Pickling and deep-copying: a leaf copies as it is (values, requires_grad, grad); a value
computed in the graph is refused, as torch refuses it, instead of copying its whole graph
(which, copied, would take no gradient back to the originals)."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import tinygrad_lite as tl


def test_a_leaf_deep_copies_and_pickles_with_its_flag_and_grad() -> None:
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    x.grad = np.array([3.0, 4.0])
    for c in (copy.deepcopy(x), pickle.loads(pickle.dumps(x))):
        assert c is not x and c.requires_grad and c.is_leaf
        np.testing.assert_array_equal(c.data, x.data)
        assert not np.shares_memory(c.data, x.data)
        np.testing.assert_array_equal(c.grad, [3.0, 4.0])


def test_deepcopy_of_a_value_computed_in_the_graph_is_refused_as_torch() -> None:
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="op 'sum'.*detach"):
        copy.deepcopy((x * x).sum())
    torch = pytest.importorskip("torch")
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError):
        copy.deepcopy((t * t).sum())


def test_pickling_a_value_computed_in_the_graph_gives_a_leaf_as_torch() -> None:
    x = tl.tensor([1.0, 2.0], requires_grad=True, dtype=tl.float32)
    y = pickle.loads(pickle.dumps(x * x))
    assert y.is_leaf and y.requires_grad and y.dtype == tl.float32
    np.testing.assert_array_equal(y.data, [1.0, 4.0])
    (y * 2).sum().backward()
    np.testing.assert_array_equal(y.grad, [2.0, 2.0])
    assert x.grad is None
    torch = pytest.importorskip("torch")
    t = pickle.loads(pickle.dumps(torch.tensor([1.0, 2.0], requires_grad=True) ** 2))
    assert t.is_leaf and t.requires_grad


def test_a_detached_value_and_a_module_after_a_forward_still_copy() -> None:
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    d = copy.deepcopy((x * 3).detach())
    np.testing.assert_array_equal(d.data, [3.0, 6.0])
    m = tl.nn.Linear(2, 2)
    m(tl.ones(3, 2)).sum().backward()
    m2 = copy.deepcopy(m)
    assert m2.weight is not m.weight
    np.testing.assert_array_equal(m2.weight.grad, m.weight.grad)


def test_a_deep_graph_is_refused_at_once_not_by_recursion() -> None:
    x = tl.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(20000):
        y = y * 1.0
    with pytest.raises(RuntimeError, match="graph"):
        copy.deepcopy(y)
