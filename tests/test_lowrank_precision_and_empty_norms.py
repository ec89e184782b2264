"""LowRankMultivariateNormal.precision_matrix (torch's property, with its gradient) and matrix
norms of empty matrices (0, as torch, where torch defines them)."""

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


def test_lowrank_mvn_precision_matrix_matches_torch():
    r = np.random.default_rng(0)
    loc, W, D = r.standard_normal((2, 3)), r.standard_normal((2, 3, 2)), r.random((2, 3)) + 0.5
    t = [torch.tensor(a, requires_grad=True) for a in (loc, W, D)]
    P = torch.distributions.LowRankMultivariateNormal(*t).precision_matrix
    cot = r.standard_normal(tuple(P.shape))
    (P * torch.tensor(cot)).sum().backward()
    lt = [tl.tensor(a, requires_grad=True) for a in (loc, W, D)]
    LP = tl.distributions.LowRankMultivariateNormal(*lt).precision_matrix
    (LP * cot).sum().backward()
    np.testing.assert_allclose(LP.data, P.detach().numpy(), rtol=1e-12, atol=1e-14)
    for a, b in zip(lt[1:], t[1:]):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-10, atol=1e-13)
    cov = tl.distributions.LowRankMultivariateNormal(*lt).covariance_matrix.data
    np.testing.assert_allclose(LP.data @ cov, np.broadcast_to(np.eye(3), (2, 3, 3)), atol=1e-12)


@pytest.mark.parametrize("ord", ["fro", "nuc", 2, 1, float("inf")])
@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (2, 0, 3), (2, 3, 0)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_matrix_norm_of_empty_matrices_is_zero_as_torch(ord, shape, keepdim):
    got = tl.linalg.matrix_norm(tl.zeros(*shape), ord, keepdim=keepdim)
    want = torch.linalg.matrix_norm(torch.zeros(*shape, dtype=torch.float64), ord, keepdim=keepdim)
    assert got.shape == tuple(want.shape)
    np.testing.assert_array_equal(got.data, want.numpy())


@pytest.mark.parametrize("ord", [-2, -1, float("-inf")])
@pytest.mark.parametrize("shape", [(0, 3), (3, 0)])
def test_matrix_norm_of_empty_matrices_with_a_minimum_ord_as_torch(ord, shape):
    try:
        want = torch.linalg.matrix_norm(torch.zeros(*shape, dtype=torch.float64), ord)
    except (RuntimeError, IndexError):  # (a minimum over an empty axis)
        with pytest.raises(ValueError, match="empty"):
            tl.linalg.matrix_norm(tl.zeros(*shape), ord)
        return
    np.testing.assert_array_equal(tl.linalg.matrix_norm(tl.zeros(*shape), ord).data, want.numpy())
