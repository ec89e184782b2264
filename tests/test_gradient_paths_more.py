"""Gradient paths checked against torch: logcumsumexp's differentiable backward with -inf
inputs (it was nan everywhere), quantile's gradient with respect to q (it was dropped),
func.jvp pairing dict tangents with primals by key (it paired them by order), and func.jvp
of a function with an integer output (it raised)."""

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("x, axis", [
    (np.array([-np.inf, -np.inf, 1.0, -np.inf, 2.0]), 0),
    (np.array([[-np.inf, 0.5, 0.2], [0.1, 0.3, -0.4]]), 1),
])
def test_logcumsumexp_create_graph_with_minus_inf(x, axis):
    a = tl.tensor(x.copy(), requires_grad=True)
    b = torch.tensor(x.copy(), requires_grad=True)
    cost_tl = tl.logcumsumexp(a, axis).sum()
    cost_t = torch.logcumsumexp(b, axis).sum()
    g, = tl.autograd.grad(cost_tl, [a], create_graph=True)
    h, = torch.autograd.grad(cost_t, [b], create_graph=True)
    np.testing.assert_allclose(g.data, h.detach().numpy(), rtol=1e-12, equal_nan=True)
    assert np.isfinite(g.data).sum() == np.isfinite(h.detach().numpy()).sum() > 0


@pytest.mark.parametrize("fn", ["quantile", "nanquantile"])
@pytest.mark.parametrize("dim", [None, 1])
@pytest.mark.parametrize("nan_rows", [0, 1, 2])
def test_quantile_gradient_reaches_q(fn, dim, nan_rows):
    X = np.random.default_rng(0).normal(size=(3, 7))
    if nan_rows >= 1:
        X[1, 2] = np.nan
    if nan_rows >= 2:
        X[2] = np.nan
    Q = np.array([0.1, 0.5, 0.93])
    q, x = tl.tensor(Q, requires_grad=True), tl.tensor(X, requires_grad=True)
    qt, xt = torch.tensor(Q, requires_grad=True), torch.tensor(X, requires_grad=True)
    a, b = getattr(tl, fn)(x, q, dim=dim), getattr(torch, fn)(xt, qt, dim=dim)
    w = np.random.default_rng(1).normal(size=a.shape)
    (a * tl.Tensor(w)).nansum().backward()
    (b * torch.tensor(w)).nansum().backward()
    np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(q.grad, qt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-12, equal_nan=True)


def test_quantile_of_q_alone_requires_grad():
    q = tl.tensor(np.array([0.25, 0.5]), requires_grad=True)
    out = tl.quantile(tl.tensor(np.array([0.0, 1.0, 4.0, 9.0])), q)
    assert out.requires_grad
    out.sum().backward()
    np.testing.assert_allclose(q.grad, [3.0, 9.0])  # the slopes (N - 1)(v_ceil - v_floor)


def test_jvp_pairs_dict_tangents_by_key():
    x, v = np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0, 30.0])
    out, tangent = tl.func.jvp(lambda d: d["a"] * d["b"], ({"a": tl.Tensor(x), "b": tl.Tensor(v)},),
                               ({"b": tl.Tensor(np.zeros(3)), "a": tl.Tensor(np.ones(3))},))
    np.testing.assert_allclose(tangent.data, v)  # d(a b) = da b + a db with da = 1, db = 0
    np.testing.assert_allclose(out.data, x * v)


def test_jvp_of_an_integer_output_has_a_zero_tangent():
    x = tl.Tensor(np.array([1.0, -2.0, 3.0]))
    (n, y), (dn, dy) = tl.func.jvp(lambda a: ((a > 0).sum(), a * 2), (x,), (tl.Tensor(np.ones(3)),))
    assert int(n.item()) == 2 and int(dn.item()) == 0
    np.testing.assert_allclose(dy.data, [2.0, 2.0, 2.0])
