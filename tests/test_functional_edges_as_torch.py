"""nn.functional edges checked against torch: power pooling with an infinite order, nan
through the shrink and threshold functions, no gradient at the hinge of the multi-class
margin losses, a learned class weight with probability targets, soft_margin_loss's target."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")
F, TF = tl.nn.functional, torch.nn.functional


@pytest.mark.parametrize("p", [float("inf"), -float("inf")])
def test_lp_pool_of_infinite_order_is_the_largest_or_smallest_magnitude(p: float) -> None:
    cases = [(F.lp_pool1d, TF.lp_pool1d, np.array([[[1.0, -3, 2, 0.5, -4, 1]]])),
             (F.lp_pool2d, TF.lp_pool2d, np.arange(16.0).reshape(1, 1, 4, 4) - 7.5),
             (F.lp_pool3d, TF.lp_pool3d, np.arange(32.0).reshape(1, 1, 2, 4, 4) - 15.5)]
    for ours, theirs, x in cases:
        a, A = tl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, ref = ours(a, p, 2), theirs(A, p, 2)
        np.testing.assert_array_equal(out.numpy(), ref.detach().numpy())
        out.sum().backward()
        ref.sum().backward()
        np.testing.assert_array_equal(a.grad, A.grad.numpy())
    assert tl.nn.LPPool2d(p, 2)(tl.tensor(cases[1][2])).tolist() == TF.lp_pool2d(torch.tensor(cases[1][2]), p,
                                                                                   2).tolist()


def test_nan_passes_through_shrink_and_threshold() -> None:
    v = np.array([np.nan, 0.2, 2.0, -0.7, 0.5, -0.5])
    for name in ("hardshrink", "softshrink"):
        np.testing.assert_array_equal(getattr(F, name)(tl.tensor(v)).numpy(), getattr(TF, name)(torch.tensor(v)))
    np.testing.assert_array_equal(F.threshold(tl.tensor(v), 0.5, -1.0).numpy(),
                                  TF.threshold(torch.tensor(v), 0.5, -1.0).numpy())
    np.testing.assert_array_equal(tl.nn.Hardshrink()(tl.tensor(v)).numpy(), torch.nn.Hardshrink()(torch.tensor(v)))


def test_margin_losses_have_no_gradient_at_the_hinge() -> None:
    for name, x, y, kw in (("multilabel_margin_loss", [[0.0, 1.0, 0.0]], [[1, -1, 0]], {}),
                           ("multi_margin_loss", [[0.25, 0.5, 0.75]], [1], {"margin": 0.25})):
        a, A = tl.tensor(np.array(x), requires_grad=True), torch.tensor(np.array(x), requires_grad=True)
        getattr(F, name)(a, tl.tensor(np.array(y)), **kw).backward()
        getattr(TF, name)(A, torch.tensor(np.array(y)), **kw).backward()
        np.testing.assert_allclose(a.grad, A.grad.numpy(), atol=1e-15)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_a_learned_class_weight_with_probability_targets(reduction: str) -> None:
    rng = np.random.default_rng(3)
    z, w = rng.standard_normal((4, 3)), rng.random(3)
    p = rng.random((4, 3))
    p /= p.sum(1, keepdims=True)
    a, W = tl.tensor(z, requires_grad=True), tl.tensor(w, requires_grad=True)
    A, WT = torch.tensor(z, requires_grad=True), torch.tensor(w, requires_grad=True)
    out = F.cross_entropy(a, p, weight=W, reduction=reduction)
    ref = TF.cross_entropy(A, torch.tensor(p), weight=WT, reduction=reduction)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-12)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(W.grad, WT.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(a.grad, A.grad.numpy(), rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="one entry per class"):
        F.cross_entropy(a, p, weight=tl.tensor(np.ones(2), requires_grad=True))


def test_soft_margin_loss_refuses_a_target_that_requires_grad() -> None:
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="target"):
        F.soft_margin_loss(x, tl.tensor([1.0, -1.0], requires_grad=True))
    with pytest.raises(RuntimeError):
        TF.soft_margin_loss(torch.tensor([1.0, 2.0], requires_grad=True), torch.tensor([1.0, -1.0],
                                                                                     requires_grad=True))


def test_embedding_repr_names_its_norm_type() -> None:
    assert repr(tl.nn.Embedding(10, 3, max_norm=1.0, norm_type=3.0)) == \
        repr(torch.nn.Embedding(10, 3, max_norm=1.0, norm_type=3.0))


@pytest.mark.parametrize("alpha", [-1.0, -0.3, 0.7])
def test_celu_of_any_nonzero_alpha(alpha: float) -> None:
    v = np.array([1.0, -0.5, 2.0, -3.0, 0.25])
    t, T = tl.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)
    out, ref = tl.celu(t, alpha), torch.celu(T, alpha)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-13)
    out.sum().backward()
    np.testing.assert_allclose(t.grad, np.where(v > 0, 1.0, np.exp(v / alpha)), rtol=1e-13)
    np.testing.assert_allclose(tl.nn.CELU(alpha)(tl.tensor(v)).numpy(), ref.detach().numpy(), rtol=1e-13)


def test_small_shape_and_nan_cases() -> None:
    assert tl.tensor(-2.0).prelu(tl.tensor(0.25)).shape == torch.tensor(-2.0).prelu(torch.tensor(0.25)).shape
    assert F.prelu(tl.tensor(-2.0), tl.tensor([0.25])).item() == -0.5
    nan_row = np.array([np.nan, -1.0, 0.0, 2.0])
    assert tl.heaviside(tl.tensor(nan_row), tl.tensor(np.full(4, 0.5))).tolist() == \
        torch.heaviside(torch.tensor(nan_row), torch.tensor(np.full(4, 0.5))).tolist()
    assert tl.poisson(tl.tensor(3.0)).shape == ()
    assert [i.tolist() for i in tl.where(tl.tensor(1.0))] == [[0]]
    assert [i.tolist() for i in tl.where(tl.tensor(0.0))] == [[]]


@pytest.mark.parametrize("call", [lambda x: x.diff(dim=(0, 1)), lambda x: x.cummax(dim=(0, 1)),
                                  lambda x: x.stride(dim=(0, 1)), lambda x: x.unique_consecutive(dim=(0, 1)),
                                  lambda x: x.select((0, 1), 0)])
def test_a_tuple_where_one_dim_belongs_is_refused(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError, match="one int"):
        call(tl.ones(3, 4))
    with pytest.raises((TypeError, RuntimeError)):
        call(torch.ones(3, 4))
