"""A requires_grad flag cleared by hand on a value an op made, and a gradient hook that
changes its argument in place: as torch, the gradient is never silently wrong."""

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


def test_clearing_requires_grad_on_an_op_result_is_refused_as_torch():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"only a leaf's flag can change.*op 'mul'"):
        y.requires_grad = False  # (accepted, it cut the gradient through y silently)
    y.requires_grad = True  # no change: accepted
    assert y.requires_grad is True
    (y * 3 + x).sum().backward()
    np.testing.assert_array_equal(x.grad, [7.0, 7.0])


@pytest.mark.parametrize("bad", ["no", 1, None, np.float64(1.0)])
def test_requires_grad_takes_only_a_bool(bad):
    x = tl.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="requires_grad must be a bool"):
        x.requires_grad = bad
    assert x.requires_grad is False
    x.requires_grad = np.bool_(True)
    assert x.requires_grad is True


def test_an_integer_tensor_refuses_requires_grad_at_once():
    i = tl.tensor([1, 2])
    with pytest.raises(TypeError, match="only floating-point tensors can require gradients"):
        i.requires_grad = True
    assert i.requires_grad is False


def test_clearing_requires_grad_on_a_value_op_result_is_refused():
    v = tl.Value(2.0)
    w = v * 3
    with pytest.raises(RuntimeError, match="only a leaf Value"):
        w.requires_grad = False
    (w * w + v).backward()
    assert v.grad == 37.0
    with pytest.raises(TypeError, match="must be a bool"):
        v.requires_grad = "no"
    v.requires_grad = False
    assert v.requires_grad is False


def test_a_graph_walked_after_a_flag_was_cleared_behind_the_setter_refuses():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = (y * 3 + x).sum()
    y._rg = False  # (internal: only the walker's own check stands between this and a cut gradient)
    with pytest.raises(RuntimeError, match=r"op 'mul'.*requires_grad set to False after it was built"):
        z.backward()
    assert x.grad is None


def test_a_frozen_leaf_and_a_detached_value_still_work():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    c = tl.tensor([3.0, 4.0], requires_grad=True)
    c.requires_grad = False  # a leaf's flag may change
    y = (x * 2).detach()
    (x * c + y * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 8.0])
    assert c.grad is None


def _grads(lib, hook_leaf, hook_mid):
    """x's and m's gradients of sum(m * [1, -1]), m = x * x, with hooks on x and m (torch or tl)."""
    x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
    m = x * x
    if hook_mid:
        m.register_hook(hook_mid)
    if hook_leaf:
        x.register_hook(hook_leaf)
    m.retain_grad()
    (m * lib.tensor([1.0, -1.0], dtype=lib.float64)).sum().backward()
    return [np.asarray(g.numpy() if lib is torch else g) for g in (x.grad, m.grad)]


@pytest.mark.parametrize("where", ["leaf", "mid", "both"])
def test_a_hook_that_changes_its_argument_in_place_gives_that_gradient_as_torch(where):
    def triple(g):  # (changes g in place and returns None)
        g.mul_(3)

    def shift(g):
        g.add_(1.0)

    leaf = triple if where in ("leaf", "both") else None
    mid = shift if where in ("mid", "both") else None
    for a, b in zip(_grads(tl, leaf, mid), _grads(torch, leaf, mid)):
        np.testing.assert_allclose(a, b, rtol=1e-15)


def test_a_hook_that_only_reads_or_keeps_its_argument_changes_nothing():
    seen = []
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: seen.append(g))
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])
    np.testing.assert_array_equal(seen[0].data, [2.0, 4.0])  # the kept argument is not changed later


def test_value_rsub_keeps_its_constant_for_pictures():
    x = tl.Value(2.0, label="x") if "label" in tl.Value.__init__.__code__.co_varnames else tl.Value(2.0)
    a, b = 5 - x, 7 - x
    assert a._ctx == 5 and b._ctx == 7
    da, db = tl.viz.draw_graph(a).source, tl.viz.draw_graph(b).source
    assert "5" in da and "7" in db and da != db
    a.backward()
    assert x.grad == -1.0
