"""cov / corrcoef of one variable give a 0-d result, as torch's, whether it is a 1-d tensor or
a 2-d tensor of one row (the row used to give a (1, 1) matrix)."""

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("shape", [(4,), (1, 4), (2, 4), (3, 1)])
@pytest.mark.parametrize("fn", ["cov", "corrcoef"])
def test_cov_corrcoef_shapes_as_torch(shape, fn):
    x = np.arange(float(np.prod(shape))).reshape(shape) ** 1.5
    a = getattr(tl, fn)(tl.tensor(x, requires_grad=True))
    b = getattr(torch, fn)(torch.tensor(x))
    assert a.shape == tuple(b.shape)
    np.testing.assert_allclose(a.data, b.numpy(), rtol=1e-12, equal_nan=True)
