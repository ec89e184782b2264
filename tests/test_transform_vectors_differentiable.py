"""The direction vectors of the functional transforms are differentiable inputs, as in torch:
func.jvp's tangents, func.vjp's cotangents, autograd.functional's v (create_graph=True) and
forward_ad's tangents. (They were used as constants: gradients with respect to them came out
zero or None.)"""

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")

X = np.array([1.0, 2.0, 3.0])
V = np.array([0.5, -1.0, 2.0])


def T(a):
    return tl.tensor(a)


def tt(a):
    return torch.tensor(a, dtype=torch.float64)


def test_grad_of_jvp_with_respect_to_the_tangent():
    got = tl.func.grad(lambda v: tl.func.jvp(lambda b: b ** 3, (T(X),), (v,))[1].sum())(T(V))
    want = torch.func.grad(lambda v: torch.func.jvp(lambda b: b ** 3, (tt(X),), (v,))[1].sum())(tt(V))
    np.testing.assert_allclose(got.data, want.numpy(), rtol=1e-12)


def test_grad_of_vjp_with_respect_to_the_cotangent():
    got = tl.func.grad(lambda c: tl.func.vjp(lambda b: b.sin() * b, T(X))[1](c)[0].sum())(T(V))
    want = torch.func.grad(lambda c: torch.func.vjp(lambda b: b.sin() * b, tt(X))[1](c)[0].sum())(tt(V))
    np.testing.assert_allclose(got.data, want.numpy(), rtol=1e-12)


def test_jacrev_of_jvp_with_respect_to_the_tangent_is_the_jacobian():
    f = (lambda b: (b ** 2).cumsum(0)), (lambda b: (b ** 2).cumsum(0))  # (tl, torch)
    got = tl.func.jacrev(lambda v: tl.func.jvp(f[0], (T(X),), (v,))[1])(T(V))
    want = torch.func.jacrev(lambda v: torch.func.jvp(f[1], (tt(X),), (v,))[1])(tt(V))
    np.testing.assert_allclose(got.data, want.numpy(), rtol=1e-12)


def test_jvp_output_requires_grad_when_the_tangent_does():
    v = T(V).requires_grad_()
    _, jv = tl.func.jvp(lambda b: b ** 3, (T(X),), (v,))
    assert jv.requires_grad
    jv.sum().backward()
    np.testing.assert_allclose(v.grad, 3 * X ** 2, rtol=1e-12)


@pytest.mark.parametrize("name", ["jvp", "vjp", "hvp", "vhp"])
def test_autograd_functional_differentiates_v_with_create_graph(name):
    fn = (lambda b: b ** 3) if name in ("jvp", "vjp") else (lambda b: (b ** 4).sum())
    tf = (lambda b: b ** 3) if name in ("jvp", "vjp") else (lambda b: (b ** 4).sum())
    a, ta = T(V).requires_grad_(), tt(V).requires_grad_()
    x, tx = T(X).requires_grad_(), tt(X).requires_grad_()
    getattr(tl.autograd.functional, name)(fn, x, a, create_graph=True)[1].sum().backward()
    getattr(torch.autograd.functional, name)(tf, tx, ta, create_graph=True)[1].sum().backward()
    np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12)


def test_autograd_functional_without_create_graph_gives_constants():
    a = T(V).requires_grad_()
    _, jv = tl.autograd.functional.jvp(lambda b: b ** 3, T(X), a)
    assert not jv.requires_grad
    np.testing.assert_allclose(jv.data, 3 * X ** 2 * V, rtol=1e-12)


def test_forward_ad_tangent_is_differentiable_in_the_primal_and_the_tangent():
    fw, tfw = tl.autograd.forward_ad, torch.autograd.forward_ad
    p, v = T(X).requires_grad_(), T(V).requires_grad_()
    tp, tv = tt(X).requires_grad_(), tt(V).requires_grad_()
    with fw.dual_level():
        jv = fw.unpack_dual(fw.make_dual(p, v) ** 3).tangent
    with tfw.dual_level():
        tjv = tfw.unpack_dual(tfw.make_dual(tp, tv) ** 3).tangent
    assert jv.requires_grad and tjv.requires_grad
    w = np.array([1.0, -2.0, 0.5])
    (jv * w).sum().backward()
    (tjv * tt(w)).sum().backward()
    np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(v.grad, tv.grad.numpy(), rtol=1e-12)


def test_forward_ad_with_constant_primal_and_tangent_stays_first_order():
    fw = tl.autograd.forward_ad
    with fw.dual_level():
        jv = fw.unpack_dual(fw.make_dual(T(X), T(V)).sin()).tangent
    assert not jv.requires_grad
    np.testing.assert_allclose(jv.data, np.cos(X) * V, rtol=1e-12)
