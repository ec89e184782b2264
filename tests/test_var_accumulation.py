"""var/std (and std_mean/var_mean's mean) of float16 and float32 are accumulated in a wider
float and rounded once, as torch's CPU kernels: the values are torch's bit for bit, and a
variance that fits the dtype is not lost to an overflow of the squared deviations."""

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


def _data(dtype):
    rng = np.random.default_rng(3)
    return (rng.standard_normal((20, 300)) * 100 + 1e4).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("fn", ["var", "std"])
def test_var_std_bitwise_torch(dtype, fn):
    a = _data(dtype)
    for dim in (None, 1, 0):
        ours = getattr(tl.Tensor(a), fn)(dim) if dim is not None else getattr(tl.Tensor(a), fn)()
        theirs = getattr(torch.tensor(a), fn)(dim) if dim is not None else getattr(torch.tensor(a), fn)()
        assert ours.dtype == a.dtype
        np.testing.assert_array_equal(ours.data, theirs.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("fn", ["std_mean", "var_mean"])
def test_std_mean_bitwise_torch(dtype, fn):
    a = _data(dtype)
    s, m = getattr(tl, fn)(tl.Tensor(a), 1)
    ts, tm = getattr(torch, fn)(torch.tensor(a), 1)
    assert s.dtype == m.dtype == a.dtype
    np.testing.assert_array_equal(s.data, ts.numpy())
    np.testing.assert_array_equal(m.data, tm.numpy())


def test_float32_near_the_largest_value():
    x = tl.tensor([3e38, 3e38, -1e38], dtype=tl.float32, requires_grad=True)
    s, m = tl.std_mean(x)
    ts, tm = torch.std_mean(torch.tensor([3e38, 3e38, -1e38]))
    assert np.isfinite(s.item()) and np.isfinite(m.item())
    assert s.item() == ts.item() and m.item() == tm.item()
    s.backward()  # d std / dx = (x - mean) / ((n - 1) std), finite here
    xd = np.array([3e38, 3e38, -1e38])
    want = (xd - xd.mean()) / (2 * xd.std(ddof=1))
    np.testing.assert_allclose(x.grad, want, rtol=1e-6)
    assert x.grad.dtype == np.float32


def test_float32_gradient_matches_torch():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 5)).astype(np.float32)
    x = tl.tensor(a, requires_grad=True)
    x.std(1).sum().backward()
    t = torch.tensor(a, requires_grad=True)
    t.std(1).sum().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-6, atol=1e-7)
