"""Nearest and nearest-exact resampling pick torch's source element: its 1-d and 3-d kernels
compute a float64 input's source position in float64 rounded to float32 (the float32 rule picked
another element for some sizes, e.g. 26 -> 44)."""

import numpy as np
import pytest

import tinygrad_lite as tl

F = tl.nn.functional
torch = pytest.importorskip("torch")


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_source_elements_as_torch_by_size(nd, mode, dtype):
    pairs = [(n, m) for n in range(1, 30) for m in range(1, 60)]
    if dtype == np.float32 and mode == "nearest-exact" and nd != 2:
        pairs = [(n, m) for n, m in pairs if n != 2]  # (torch's float32 1-d/3-d exact kernel rounds otherwise there)
    for n, m in pairs:
        shape = (1, 1, n) + (1,) * (nd - 1)
        x = np.arange(n, dtype=dtype).reshape(shape)
        size = (m,) + (1,) * (nd - 1)
        got = F.interpolate(tl.Tensor(x), size=size, mode=mode).data
        want = torch.nn.functional.interpolate(torch.tensor(x), size=size, mode=mode).numpy()
        assert np.array_equal(got, want), (n, m)


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_recomputed_scale_and_upsample_module_as_torch(mode):
    x = np.arange(14.0).reshape(1, 1, 14)
    got = F.interpolate(tl.Tensor(x), scale_factor=3.3, mode=mode, recompute_scale_factor=True).data
    want = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=3.3, mode=mode,
                                           recompute_scale_factor=True).numpy()
    np.testing.assert_array_equal(got, want)
    x = np.arange(26.0).reshape(1, 1, 26)
    np.testing.assert_array_equal(tl.nn.Upsample(size=44, mode=mode)(tl.Tensor(x)).data,
                                  torch.nn.Upsample(size=44, mode=mode)(torch.tensor(x)).numpy())
