"""A Linear layer's product x @ W.T (ops.base.xwt), taken by whichever of BLAS's two ways is
faster for the shape: every way gives a C-ordered result equal to the exact product to
float32 rounding, for every shape around the switch points, and the layer's forward and
gradients stay those of x @ W.T."""

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.ops.base import xwt

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("M", [1, 2, 7, 8, 15, 16, 32, 33, 64])
@pytest.mark.parametrize("N, K", [(10, 784), (127, 256), (128, 128), (255, 300), (256, 256), (256, 784)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_product_is_x_times_w_transposed_in_row_order(M, N, K, dtype):
    x = RNG.standard_normal((M, K)).astype(dtype)
    W = RNG.standard_normal((N, K)).astype(dtype)
    got = xwt(x, W)
    exact = x.astype(np.float64) @ W.astype(np.float64).T
    assert got.shape == (M, N) and got.dtype == dtype and got.flags.c_contiguous
    eps = np.finfo(dtype).eps
    bound = 4 * K * eps * (np.abs(x).astype(np.float64) @ np.abs(W).astype(np.float64).T)
    assert np.all(np.abs(got - exact) <= bound)


def test_views_mixed_dtypes_and_stacks_take_the_plain_product():
    W = RNG.standard_normal((256, 512)).astype(np.float32)
    x = RNG.standard_normal((16, 1024)).astype(np.float32)[:, ::2]  # not contiguous
    np.testing.assert_array_equal(xwt(x, W), x @ W.T)
    x3 = RNG.standard_normal((2, 16, 512)).astype(np.float32)
    np.testing.assert_array_equal(xwt(x3, W), x3 @ W.T)
    x64 = RNG.standard_normal((16, 512))
    np.testing.assert_array_equal(xwt(x64, W), x64 @ W.T)


@pytest.mark.parametrize("batched", [False, True])
def test_a_float32_linear_layer_matches_float64_in_the_switched_shapes(batched):
    lin = tl.nn.Linear(300, 256, dtype=np.float32)
    x = RNG.standard_normal((24, 300)).astype(np.float32)
    out = lin(tl.Tensor(x, batched=batched))
    g = RNG.standard_normal((24, 256)).astype(np.float32)
    (out * tl.Tensor(g)).sum().backward()
    W, b = lin.weight.data.astype(np.float64), lin.bias.data.astype(np.float64)
    np.testing.assert_allclose(out.data, x @ W.T + b, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(lin.weight.grad, g.T.astype(np.float64) @ x, rtol=1e-4, atol=1e-4)
    if batched:
        np.testing.assert_allclose(lin.weight.grad_sample, np.einsum("bo,bi->boi", g, x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows,cols", [(0, 3), (1, 5), (32, 16), (300, 7), (2048, 3)])
def test_colsum_is_the_axis_0_sum(dtype, rows, cols):
    """A Linear bias's gradient (ops.base.colsum, a product with a vector of ones) is the
    column sum of the cotangent: float64 to rounding, float32 no further from the exact
    sum than numpy's row-by-row reduction."""
    from tinygrad_lite.ops.base import colsum

    a = np.random.default_rng(rows + cols).standard_normal((rows, cols)).astype(dtype)
    exact = a.astype(np.float64).sum(0)
    got = colsum(a)
    assert got.dtype == dtype and got.shape == (cols,)
    if dtype == np.float64:
        np.testing.assert_allclose(got, exact, rtol=1e-13, atol=1e-13)
    else:
        assert np.max(np.abs(got - exact)) <= np.max(np.abs(a.sum(0) - exact)) + 2 * np.finfo(dtype).eps * max(
            1.0, np.max(np.abs(exact), initial=0.0))
    ints = np.arange(12).reshape(4, 3)
    np.testing.assert_array_equal(colsum(ints), ints.sum(0))  # (other dtypes: numpy's reduction)
    # the bias of a Linear gets it
    lin = tl.nn.Linear(cols, 2).to(dtype)
    x = tl.Tensor(a)
    g = np.random.default_rng(1).standard_normal((rows, 2)).astype(dtype)
    lin(x).backward(g)
    np.testing.assert_allclose(lin.bias.grad, g.astype(np.float64).sum(0), rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-5 if dtype == np.float32 else 1e-12)
