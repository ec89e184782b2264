"""Autograd edges checked against torch: gradcheck of a function with no differentiable
output, a retained non-leaf gradient written in place, unmaterialized gradients of a custom
Function with several outputs, batched cotangents in ``autograd.grad``, and the warning of
``backward(create_graph=True)`` (whose ``.grad`` holds values)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


def test_gradcheck_of_a_cut_graph_fails_as_torch() -> None:
    x = tl.tensor([0.5, -1.0, 2.0], requires_grad=True)
    X = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    with pytest.raises(tl.autograd.GradcheckError, match="expected to be zero"):
        tl.autograd.gradcheck(lambda a: a.detach().sin(), (x,))
    assert tl.autograd.gradcheck(lambda a: a.detach().sin(), (x,), raise_exception=False) is False
    assert torch.autograd.gradcheck(lambda a: a.detach().sin(), (X,), raise_exception=False) is False
    assert x.tolist() == [0.5, -1.0, 2.0]  # (every perturbed entry restored)
    f = tl.tensor(np.asfortranarray(np.arange(1.0, 7.0).reshape(2, 3)), requires_grad=True)  # (not C-ordered)
    assert tl.autograd.gradcheck(lambda a: a.detach().sin(), (f,), raise_exception=False) is False
    assert f.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    # a constant function, and a cut output beside a differentiable one, pass (as torch)
    assert tl.autograd.gradcheck(lambda a: a.detach() * 0 + 1, (x,))
    assert tl.autograd.gradcheck(lambda a: (a.detach().sin(), a * 2), (x,))


def test_a_retained_gradient_can_be_changed_in_place() -> None:
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    y.sum().backward()
    y.grad *= 0.5
    assert y.grad.tolist() == [0.5, 0.5]
    assert x.grad.tolist() == [2.0, 2.0]


class _TwoOut(tl.autograd.Function):
    @staticmethod
    def forward(ctx, x):  # type: ignore[no-untyped-def]
        ctx.set_materialize_grads(False)
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, g1, g2):  # type: ignore[no-untyped-def]
        ctx.seen = (g1 is None, g2 is None)
        out = 0
        if g1 is not None:
            out = out + 2 * g1
        if g2 is not None:
            out = out + 3 * g2
        return out


def test_an_unused_output_of_a_custom_function_sends_none_without_materialized_grads() -> None:
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    a, b = _TwoOut.apply(x)
    b.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    seen = []

    class Probe(_TwoOut):
        @staticmethod
        def backward(ctx, g1, g2):  # type: ignore[no-untyped-def]
            seen.append((g1 is None, g2 is None))
            return _TwoOut.backward(ctx, g1, g2)

    x.grad = None
    a, b = Probe.apply(x)
    (b * 1).sum().backward()
    a, b = Probe.apply(x)
    (a + b).sum().backward()
    assert seen == [(True, False), (False, False)]
    assert x.grad.tolist() == [8.0, 8.0]


def test_batched_cotangents_in_autograd_grad() -> None:
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    X = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    (g,) = tl.autograd.grad(x * x, x, tl.eye(2), is_grads_batched=True)
    (G,) = torch.autograd.grad(X * X, X, torch.eye(2, dtype=torch.float64), is_grads_batched=True)
    np.testing.assert_array_equal(g.numpy(), G.numpy())
    (g,) = tl.autograd.grad(x * x * x, x, tl.eye(2), is_grads_batched=True, create_graph=True)
    (G,) = torch.autograd.grad(X * X * X, X, torch.eye(2, dtype=torch.float64), is_grads_batched=True,
                               create_graph=True)
    g.sum().backward()
    G.sum().backward()
    np.testing.assert_allclose(x.grad, X.grad.numpy())
    z = tl.tensor([3.0], requires_grad=True)
    res = tl.autograd.grad(x.sum(), [x, z], tl.tensor([1.0, 2.0]), is_grads_batched=True, allow_unused=True)
    assert res[1] is None and res[0].tolist() == [[1.0, 1.0], [2.0, 2.0]]
    with pytest.raises(RuntimeError, match="grad_outputs"):
        tl.autograd.grad(x.sum(), x, is_grads_batched=True)


def test_backward_with_create_graph_warns_that_grad_holds_values() -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="tl.autograd.grad"):
        ((w * w).sum()).backward(create_graph=True)
    assert w.grad.tolist() == [2.0, 4.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (g,) = tl.autograd.grad((w * w).sum(), w, create_graph=True)  # the differentiable way: no warning
    (g * g).sum().backward()
    assert w.grad.tolist() == [2.0 + 8.0, 4.0 + 16.0]


def test_augmented_assignment_changes_a_computed_tensor_in_place() -> None:
    x = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    X = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    y, Y = x * 1, X * 1
    z, Z = y, Y
    z += tl.tensor([10.0, 10.0, 10.0])
    Z += torch.tensor([10.0, 10.0, 10.0], dtype=torch.float64)
    assert z is y and y.tolist() == Y.tolist()
    (y * y).sum().backward()
    (Y * Y).sum().backward()
    np.testing.assert_array_equal(x.grad, X.grad.numpy())

    def bump(h):  # type: ignore[no-untyped-def]
        h += 1.0

    h = x * 2
    bump(h)
    assert h.tolist() == [3.0, 5.0, 7.0]


def test_asarray_of_a_tensor_keeps_its_graph() -> None:
    t = tl.ones(2, requires_grad=True)
    T = torch.ones(2, dtype=torch.float64, requires_grad=True)
    assert tl.asarray(t) is t and torch.asarray(T, requires_grad=True) is T
    cast, copied = tl.asarray(t, dtype=tl.float32), tl.asarray(t, copy=True)
    assert cast.requires_grad and copied.requires_grad and copied is not t
    (cast.sum() + copied.sum()).backward()
    assert t.grad.tolist() == [2.0, 2.0]
    u = tl.ones(2)
    assert tl.asarray(u, requires_grad=True) is u and u.requires_grad
    assert not tl.asarray(t, requires_grad=False).requires_grad


def test_an_expanded_view_keeps_its_copies_after_a_write_through_its_base() -> None:
    results = []
    for lib in (tl, torch):
        x = tl.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True) if lib is tl else \
            torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64, requires_grad=True)
        g = x * 1.0
        v = g[0:1].expand(3, 2)
        w = g[None].expand(2, 2, 2)
        g[0] *= 2.0
        (v.sum() + (w * w).sum()).backward()
        results.append(np.asarray(x.grad.numpy() if lib is torch else x.grad))
    np.testing.assert_array_equal(results[0], results[1])


def test_augmented_assignment_on_a_repeat_result_is_in_place() -> None:
    def scale_(t):  # type: ignore[no-untyped-def]
        t *= 2.0

    x = tl.tensor(np.arange(1.0, 7.0).reshape(2, 3), requires_grad=True)
    h = x.repeat(2, 1)
    alias = h
    scale_(h)
    h.sum().backward()
    assert alias is h and h[0].tolist() == [2.0, 4.0, 6.0]
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 4.0))
