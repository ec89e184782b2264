"""Views of a tensor taken while it was a constant join the graph with it, as torch's: a
write in the graph into the tensor (or through another of its views) makes every such view a
region of its new values, so gradients through the views are not lost. A view taken under
no_grad() of a tensor that requires grad cannot be changed in place while gradients are
recorded (torch refuses it). A value with extra leading size-1 axes can be stored, as in torch."""

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


def _run(m, body):
    w = m.tensor([5.0, 6.0, 7.0], requires_grad=True)
    loss = body(m, w)
    loss.backward()
    return np.asarray(w.grad.tolist())


def _rows_then_store(m, w):
    buf = m.zeros(2, 3)
    rows = [buf[i] for i in range(2)]  # views taken while buf is a constant
    for i in range(2):
        buf[i] = w * (i + 1)
    return sum((r * r).sum() for r in rows) + w.sum()


def _transpose_then_copy(m, w):
    buf = m.zeros(3, 3)
    t = buf.t()
    buf.copy_(w.expand(3, 3))
    return (t * t).sum()


def _view_then_write_through_other_view(m, w):
    buf = m.zeros(2, 3)
    held = buf[1]
    buf[1].add_(w)  # the write goes through a second view of the same buffer
    return (held * held).sum()


def _result_of_constant_op(m, w):
    x = m.ones(2, 3)
    y = x * 1  # a constant result
    v = y[0]
    y.add_(w)
    return (v * v).sum() + w.sum()


def _only_path(m, w):
    buf = m.zeros(3)
    v = buf[:]
    buf.mul_(0).add_(w * 2)
    return (v * v).sum()


@pytest.mark.parametrize("body", [_rows_then_store, _transpose_then_copy, _view_then_write_through_other_view,
                                  _result_of_constant_op, _only_path])
def test_held_views_of_a_constant_join_the_graph(body):
    np.testing.assert_allclose(_run(tl, body), _run(torch, body), rtol=1e-12)


def test_held_view_requires_grad_after_the_write():
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    buf = tl.zeros(2)
    v = buf[:]
    assert not v.requires_grad
    buf[:] = w
    assert v.requires_grad
    np.testing.assert_array_equal(v.data, [1.0, 2.0])


def test_plain_writes_leave_views_constant():
    buf = tl.zeros(2, 3)
    v = buf[1]
    buf[1] = 4.0  # nothing requires grad: the view stays a constant showing the values
    assert not v.requires_grad and v.data.tolist() == [4.0, 4.0, 4.0]


@pytest.mark.parametrize("leaf", [True, False])
def test_view_taken_under_no_grad_refused_in_place_with_grad_on(leaf):
    x = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x if leaf else x * 1
    with tl.no_grad():
        v = y[1:]
    before = y.data.copy()
    with pytest.raises(RuntimeError, match="view, taken under no_grad"):
        v.mul_(2)
    with pytest.raises(RuntimeError, match="view, taken under no_grad"):
        v[0] = 5.0
    np.testing.assert_array_equal(y.data, before)
    with tl.no_grad():  # under no_grad the change is allowed, as in torch
        v.mul_(2)
    np.testing.assert_array_equal(y.data, [1.0, 4.0, 6.0])


def test_detached_tensor_may_still_change_in_place():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    d = y.detach()
    d.zero_()  # torch allows this (a detach() is not a view made under no_grad)
    assert y.data.tolist() == [0.0, 0.0]


def test_store_value_with_leading_size_one_axes():
    x = tl.zeros(2, 3)
    y = tl.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    x[0] = y[0:1]
    x[:, 1] = tl.ones(1, 1, 2) * 9
    assert x.data.tolist() == [[0.0, 9.0, 2.0], [0.0, 9.0, 0.0]]
    x.sum().backward()
    assert y.grad.tolist() == [[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
    with pytest.raises(ValueError, match="cannot be broadcast"):
        x[0] = tl.ones(2, 3)  # a leading axis that is not of size 1 is still refused
