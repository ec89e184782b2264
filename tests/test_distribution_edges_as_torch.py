"""Distributions at their edges: KL(Bernoulli || Bernoulli) where a logit is 0 (probability
1/2, the usual prior) has torch's gradient; VonMises samples a tiny or zero concentration
(near-uniform angles) instead of looping forever; logdet of a matrix with a negative
determinant is nan with torch's zero gradient."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl

D = tl.distributions


@pytest.mark.parametrize("p0,q0", [(0.3, 0.5), (0.5, 0.5), (0.5, 0.2), (0.0, 0.5)])
def test_bernoulli_kl_gradient_at_a_zero_logit_matches_torch(p0: float, q0: float) -> None:
    torch = pytest.importorskip("torch")
    p = tl.tensor(np.array([p0]), requires_grad=True)
    q = tl.tensor(np.array([q0]), requires_grad=True)
    kl = D.kl_divergence(D.Bernoulli(p), D.Bernoulli(q)).sum()
    kl.backward()
    tp = torch.tensor([p0], dtype=torch.float64, requires_grad=True)
    tq = torch.tensor([q0], dtype=torch.float64, requires_grad=True)
    tkl = torch.distributions.kl_divergence(torch.distributions.Bernoulli(tp), torch.distributions.Bernoulli(tq))
    tkl.sum().backward()
    np.testing.assert_allclose(kl.data, tkl.detach().numpy().sum(), rtol=1e-12)
    np.testing.assert_allclose(q.grad, tq.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-12)


def test_bernoulli_kl_by_logits_at_zero_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    a = tl.tensor(np.array([0.7]), requires_grad=True)
    b = tl.tensor(np.array([0.0]), requires_grad=True)
    D.kl_divergence(D.Bernoulli(logits=a), D.Bernoulli(logits=b)).sum().backward()
    ta = torch.tensor([0.7], dtype=torch.float64, requires_grad=True)
    tb = torch.tensor([0.0], dtype=torch.float64, requires_grad=True)
    torch.distributions.kl_divergence(torch.distributions.Bernoulli(logits=ta),
                                      torch.distributions.Bernoulli(logits=tb)).sum().backward()
    np.testing.assert_allclose(b.grad, tb.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("k", [1e-9, 1e-12, 0.0])
def test_von_mises_samples_a_tiny_concentration_near_uniformly(k: float) -> None:
    tl.manual_seed(0)
    d = D.VonMises(0.0, k, validate_args=False if k == 0 else None)
    s = d.sample((20000,)).data
    assert s.shape == (20000,) and np.all(np.abs(s) <= np.pi)
    assert abs(np.cos(s).mean()) < 0.03 and abs(np.sin(s).mean()) < 0.03  # (uniform: both means 0)


def test_logdet_of_a_negative_determinant_is_nan_with_torchs_zero_gradient() -> None:
    torch = pytest.importorskip("torch")
    m = np.stack([np.diag([-1.0, 2.0, 3.0]), np.diag([1.0, 2.0, 3.0])])
    a = tl.tensor(m, requires_grad=True)
    v = tl.logdet(a)
    v.sum().backward()
    t = torch.tensor(m, requires_grad=True)
    tv = torch.logdet(t)
    tv.sum().backward()
    np.testing.assert_array_equal(np.isnan(v.data), np.isnan(tv.detach().numpy()))
    np.testing.assert_allclose(a.grad, t.grad.numpy(), rtol=1e-14, atol=0)
