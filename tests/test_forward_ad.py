"""tl.autograd.forward_ad: dual tensors give J v (compared with torch's forward AD and with
the explicit Jacobian); errors name the function."""

import numpy as np
import pytest

import tinygrad_lite as tl

fwAD = tl.autograd.forward_ad
rng = np.random.default_rng(11)


def test_jvp_of_a_small_network_matches_the_jacobian_and_torch():
    x, v, W = rng.random((3, 4)), rng.random((3, 4)), rng.random((4, 2))
    with fwAD.dual_level():
        d = fwAD.make_dual(tl.tensor(x), tl.tensor(v))
        y = (d @ tl.tensor(W)).tanh().sum(0)
        primal, tangent = fwAD.unpack_dual(y)
    # J v by hand: y_j = sum_i tanh(sum_k x_ik W_kj); dy_j = sum_i (1 - tanh^2) (v @ W)_ij
    h = np.tanh(x @ W)
    np.testing.assert_allclose(primal.data, h.sum(0), rtol=1e-15)
    np.testing.assert_allclose(tangent.data, ((1 - h ** 2) * (v @ W)).sum(0), rtol=1e-13)
    torch = pytest.importorskip("torch")
    tfw = torch.autograd.forward_ad
    with tfw.dual_level():
        dt = tfw.make_dual(torch.tensor(x), torch.tensor(v))
        _, tt = tfw.unpack_dual((dt @ torch.tensor(W)).tanh().sum(0))
    np.testing.assert_allclose(tangent.data, tt.numpy(), rtol=1e-13)


def test_two_duals_add_their_directions():
    a, b, va, vb = rng.random(3), rng.random(3), rng.random(3), rng.random(3)
    with fwAD.dual_level():
        da = fwAD.make_dual(tl.tensor(a), tl.tensor(va))
        db = fwAD.make_dual(tl.tensor(b), tl.tensor(vb))
        _, t = fwAD.unpack_dual(da.sin() * db)
    np.testing.assert_allclose(t.data, np.cos(a) * va * b + np.sin(a) * vb, rtol=1e-14)


def test_forward_over_reverse_gives_a_hessian_vector_product():
    x, v = rng.random(4), rng.random(4)
    with fwAD.dual_level():
        d = fwAD.make_dual(tl.tensor(x), tl.tensor(v))
        (g,) = tl.autograd.grad((d ** 3).sum() * d.sum(), [d], create_graph=True)
        _, hv = fwAD.unpack_dual(g)
    # f = (sum x^3)(sum x): H = diag(6 x sum x) + 3 x^2 1^T + 1 (3 x^2)^T
    H = np.diag(6 * x * x.sum()) + np.outer(3 * x ** 2, np.ones(4)) + np.outer(np.ones(4), 3 * x ** 2)
    np.testing.assert_allclose(hv.data, H @ v, rtol=1e-12)


def test_reverse_gradient_still_reaches_the_primal_and_tangent_rules():
    p = tl.tensor(rng.random(3), requires_grad=True)
    with fwAD.dual_level():
        d = fwAD.make_dual(p, tl.ones(3))
        assert fwAD.unpack_dual(d).tangent is not None
        y = (d * d).sum()
        assert fwAD.unpack_dual(tl.tensor([1.0])).tangent is None
        np.testing.assert_allclose(fwAD.unpack_dual(y).tangent.data, 2 * p.data.sum(), rtol=1e-14)
        y.backward()
    np.testing.assert_allclose(p.grad, 2 * p.data, rtol=1e-15)
    assert fwAD.unpack_dual(y).tangent is None  # outside the level


def test_errors():
    with pytest.raises(RuntimeError, match="make_dual: no dual level is open"):
        fwAD.make_dual(tl.tensor([1.0]), tl.tensor([1.0]))
    with fwAD.dual_level():
        with pytest.raises(ValueError, match=r"tangent's shape \(2,\) differs from the primal's \(3,\)"):
            fwAD.make_dual(tl.tensor([1.0, 2.0, 3.0]), np.ones(2))
        with pytest.raises(TypeError, match="primal must be floating point"):
            fwAD.make_dual(tl.tensor([1, 2]), np.ones(2))
        with tl.no_grad(), pytest.raises(RuntimeError, match="grad mode is off"):
            fwAD.make_dual(tl.tensor([1.0]), np.ones(1))
    with pytest.raises(RuntimeError, match="no dual level is open"):
        fwAD.exit_dual_level()
