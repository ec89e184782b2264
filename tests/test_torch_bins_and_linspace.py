"""histc, histogram and linspace give torch's values bit for bit: a value on a bin edge lands in
torch's bin (histc: floor((x - lo) * bins / (hi - lo)) in the input's dtype; histogram: that,
moved by one where torch's edges say so), and linspace rounds start + step * i once, as torch's
fused multiply-add (numpy's linspace and a plain product differ in the last bit)."""

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


def _cases(dtype, n=120):
    rng = np.random.default_rng(7)
    for _ in range(n):
        bins = int(rng.integers(1, 30))
        lo = float(np.round(rng.uniform(-3, 1), 2))
        hi = lo + float(np.round(rng.uniform(0.1, 5), 2))
        x = np.round(rng.uniform(lo - 0.5, hi + 0.5, size=200), 2).astype(dtype)  # many values on edges
        yield bins, lo, hi, x


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_histc_bins_as_torch(dtype):
    for bins, lo, hi, x in _cases(dtype):
        x[0] = np.nan
        np.testing.assert_array_equal(tl.histc(tl.Tensor(x), bins, lo, hi).data,
                                      torch.histc(torch.tensor(x), bins, lo, hi).numpy())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_histogram_bins_and_edges_as_torch(dtype):
    for bins, lo, hi, x in _cases(dtype):
        h, e = tl.histogram(tl.Tensor(x), bins, range=(lo, hi))
        th, te = torch.histogram(torch.tensor(x), bins, range=(lo, hi))
        np.testing.assert_array_equal(h.data, th.numpy())
        np.testing.assert_array_equal(e.data, te.numpy())
    x = np.round(np.random.default_rng(0).uniform(0, 1, 50), 2)
    h, e = tl.histogram(tl.Tensor(x), 7, density=True)
    th, te = torch.histogram(torch.tensor(x), 7, density=True)
    np.testing.assert_allclose(h.data, th.numpy(), rtol=1e-12)
    np.testing.assert_array_equal(e.data, te.numpy())


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
def test_linspace_as_torch(dtype):
    rng = np.random.default_rng(1)
    for _ in range(200):
        n = int(rng.integers(0, 60))
        s = float(np.round(rng.uniform(-30, 10), 2))
        e = s + float(np.round(rng.uniform(-5, 50), 2))
        np.testing.assert_array_equal(tl.linspace(s, e, n, dtype=getattr(tl, dtype)).data,
                                      torch.linspace(s, e, n, dtype=getattr(torch, dtype)).numpy())
