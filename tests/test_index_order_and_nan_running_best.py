"""An Ellipsis that covers no axis between index arrays keeps torch's axis order (numpy put the
indexed axes first: transposed values, writes and gradients), cummax/cummin move their index to
each later nan as torch, and masked_scatter keeps a 0-d shape."""

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("shape,idx", [
    ((5, 2, 3), (slice(None), [1, 0], Ellipsis, [1, 2])),
    ((2, 2, 3), (slice(None), [1, 0], Ellipsis, [1, 2])),
    ((2, 3, 4, 5), (slice(None), [1, 0], 0, Ellipsis, [1, 2])),
    ((2, 3, 4), (Ellipsis, [0, 1], slice(None), [1, 0])),
    ((3, 4), ([2, 0], Ellipsis, [1, 3])),
])
def test_ellipsis_covering_no_axis_reads_writes_and_differentiates_as_torch(shape, idx):
    x = np.arange(float(np.prod(shape))).reshape(shape)
    t, tt = tl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = t[idx], tt[idx]
    assert out.shape == tuple(tout.shape)
    np.testing.assert_array_equal(out.data, tout.detach().numpy())
    w = np.random.default_rng(0).standard_normal(out.shape)
    (out * tl.tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(t.grad, tt.grad.numpy())
    y, ty = tl.tensor(x.copy()), torch.tensor(x.copy())
    y[idx] = tl.tensor(w)
    ty[idx] = torch.tensor(w)
    np.testing.assert_array_equal(y.data, ty.numpy())


def test_ellipsis_still_refuses_too_many_indices():
    with pytest.raises(IndexError, match="too many indices"):
        tl.ones(2, 3)[0, 0, ..., 0]


@pytest.mark.parametrize("name", ["cummax", "cummin"])
@pytest.mark.parametrize("vals", [[1.0, np.nan, 2.0, np.nan], [1.0, np.nan, 2.0, np.nan, 3.0],
                                  [np.nan, np.nan, 1.0], [3.0, 1.0, np.nan, 0.0, np.nan, np.nan]])
def test_running_best_index_with_nans_as_torch(name, vals):
    x, tx = tl.tensor(vals, requires_grad=True), torch.tensor(vals, requires_grad=True)
    r, tr = getattr(x, name)(0), getattr(tx, name)(0)
    np.testing.assert_array_equal(r.indices.data, tr.indices.numpy())
    r.values.sum().backward()
    tr.values.sum().backward()
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())


def test_masked_scatter_keeps_a_zero_d_shape():
    out = tl.tensor(2.5).masked_scatter(tl.tensor(True), tl.tensor([-1.5]))
    want = torch.tensor(2.5).masked_scatter(torch.tensor(True), torch.tensor([-1.5]))
    assert out.shape == tuple(want.shape) == ()
    assert float(out.data) == float(want)
