"""Edges of the normalisation and pooling layers, as torch: instance norm over one position is
refused (it silently gave the bias and nan running statistics), BatchNorm in training takes an
empty batch, and ceil_mode completes a last window wider than the input."""

import itertools

import numpy as np
import pytest

import tinygrad_lite as tl

F = tl.nn.functional
torch = pytest.importorskip("torch")


@pytest.mark.parametrize("make", [
    lambda: tl.nn.InstanceNorm2d(3, track_running_stats=True, affine=True)(tl.ones(2, 3, 1, 1)),
    lambda: tl.nn.InstanceNorm2d(3)(tl.ones(2, 3, 1, 1)),
    lambda: tl.nn.InstanceNorm1d(3)(tl.ones(3, 1)),
    lambda: F.instance_norm(tl.ones(2, 3, 1)),
])
def test_instance_norm_over_one_position_is_refused(make):
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        make()


def test_refused_instance_norm_changes_no_running_statistic():
    m = tl.nn.InstanceNorm2d(3, track_running_stats=True)
    with pytest.raises(ValueError):
        m(tl.ones(2, 3, 1, 1))
    np.testing.assert_array_equal(m.running_var.data, np.ones(3))
    m.eval()  # (running statistics normalise: one position is fine, as torch)
    assert m(tl.ones(2, 3, 1, 1)).shape == (2, 3, 1, 1)


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_training_on_an_empty_batch_as_torch(momentum):
    m, tm = tl.nn.BatchNorm2d(3, momentum=momentum), torch.nn.BatchNorm2d(3, momentum=momentum).double()
    x, tx = tl.Tensor(np.zeros((0, 3, 4, 4)), requires_grad=True), torch.zeros(0, 3, 4, 4, dtype=torch.float64,
                                                                               requires_grad=True)
    y, ty = m(x), tm(tx)
    assert y.shape == tuple(ty.shape)
    y.sum().backward()
    ty.sum().backward()
    for a, b in ((m.running_mean, tm.running_mean), (m.running_var, tm.running_var),
                 (m.num_batches_tracked, tm.num_batches_tracked), (m.weight.grad, tm.weight.grad)):
        np.testing.assert_array_equal(getattr(a, "data", a), b.numpy())
    assert x.grad.shape == (0, 3, 4, 4)
    with pytest.raises(ValueError, match="more than one value per channel"):
        tl.nn.BatchNorm1d(3)(tl.ones(1, 3))


def test_ceil_mode_windows_wider_than_the_input_as_torch():
    rng = np.random.default_rng(0)
    seen = 0
    for n, k, s, p, d in itertools.product([1, 2, 3, 4], [1, 2, 3, 4, 5], [1, 2, 3], [0, 1, 2], [1, 2]):
        x = rng.standard_normal((1, 2, n))
        cases = [("max", lambda f, a, k=k, s=s, p=p, d=d: f.max_pool1d(a, k, s, p, d, ceil_mode=True))]
        if d == 1:
            cases += [("avg", lambda f, a, k=k, s=s, p=p: f.avg_pool1d(a, k, s, p, ceil_mode=True,
                                                                                  count_include_pad=False)),
                      ("avgpad", lambda f, a, k=k, s=s, p=p: f.avg_pool1d(a, k, s, p, ceil_mode=True))]
        for _, fn in cases:
            try:
                want = fn(torch.nn.functional, torch.tensor(x))
            except RuntimeError:
                with pytest.raises(ValueError):
                    fn(F, tl.Tensor(x))
                continue
            got = fn(F, tl.Tensor(x))
            np.testing.assert_allclose(got.data, want.numpy(), rtol=1e-13)
            seen += k * d > n
    assert seen > 20  # windows wider than the input were compared
    np.testing.assert_array_equal(F.max_pool1d(tl.Tensor([[[1.0, 5.0]]]), 3, 2, ceil_mode=True).data, [[[5.0]]])
    x3 = rng.standard_normal((1, 1, 2, 3, 2))
    np.testing.assert_allclose(F.max_pool3d(tl.Tensor(x3), 2, 2, 0, 2, ceil_mode=True).data,
                               torch.nn.functional.max_pool3d(torch.tensor(x3), 2, 2, 0, 2, ceil_mode=True).numpy())


def test_power_pool_errors_name_the_power_pool():
    with pytest.raises(ValueError, match=r"^lp_pool1d: kernel of size 5 is larger"):
        tl.nn.LPPool1d(2, 5)(tl.ones(1, 2, 3))
    with pytest.raises(ValueError, match=r"^lp_pool2d: stride"):
        F.lp_pool2d(tl.ones(1, 1, 3, 3), 2, 2, stride=0)
