"""Leftovers noted at earlier stops, each with the input that showed it: a norm that overflows
inside ``cosine_similarity`` (nan where torch gives 0), ..."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl


@pytest.mark.parametrize("scale", [1e200, 1e155])
def test_cosine_similarity_of_overflowing_norms_is_torchs_zero_not_nan(scale: float) -> None:
    # ||x||^2 overflows to inf: the clamp of the norm used to compute inf - inf = nan
    x = tl.tensor(np.array([[1.0, 2.0], [3.0, -1.0]]) * scale, requires_grad=True)
    y = tl.tensor(np.array([[1.0, 2.0], [0.5, 0.5]]))
    out = tl.nn.functional.cosine_similarity(x, y, dim=1)
    np.testing.assert_array_equal(out.data, [0.0, 0.0])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, np.zeros((2, 2)))
    torch = pytest.importorskip("torch")
    tx = torch.tensor(x.data, requires_grad=True)
    want = torch.nn.functional.cosine_similarity(tx, torch.tensor(y.data), dim=1)
    want.sum().backward()
    np.testing.assert_array_equal(out.data, want.detach().numpy())
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())


def test_cosine_similarity_clamp_is_unchanged_below_eps() -> None:
    # the clamp's shift max(eps - n, 0) equals max(n, eps) - n: tiny norms still divide by eps
    x = tl.tensor([[1e-12, 0.0], [3.0, 4.0]], requires_grad=True)
    y = tl.tensor([[1.0, 1.0], [3.0, 4.0]])
    out = tl.nn.functional.cosine_similarity(x, y, dim=1)
    np.testing.assert_allclose(out.data, [1e-12 / 1e-8 / np.sqrt(2.0), 1.0], rtol=1e-15)
    torch = pytest.importorskip("torch")
    want = torch.nn.functional.cosine_similarity(torch.tensor(x.data), torch.tensor(y.data), dim=1)
    np.testing.assert_allclose(out.data, want.numpy(), rtol=1e-15)
