"""Max pooling with padding never picks the padding: a window whose inputs are all -inf (the
padding's value) takes its first input, as torch, for the gradient and the indices."""

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("cfg", [
    dict(kernel_size=2, stride=1, padding=1),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=1, padding=1, dilation=2),
    dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1)),
])
def test_max_pool2d_with_minus_inf_inputs_matches_torch(seed, cfg):
    r = np.random.default_rng(seed)
    x = r.standard_normal((2, 2, 5, 6))
    x[r.random(x.shape) < 0.6] = -np.inf
    cot = r.standard_normal(torch.nn.functional.max_pool2d(torch.tensor(x), **cfg).shape)
    tx = torch.tensor(x, requires_grad=True)
    ty, ti = torch.nn.functional.max_pool2d(tx, return_indices=True, **cfg)
    (ty * torch.tensor(cot)).sum().backward()
    lx = tl.tensor(x, requires_grad=True)
    ly, li = tl.nn.functional.max_pool2d(lx, return_indices=True, **cfg)
    with np.errstate(invalid="ignore"):  # (the cost itself is nan: -inf times cotangents of both signs)
        (ly * cot).sum().backward()
    np.testing.assert_array_equal(ly.data, ty.detach().numpy())
    np.testing.assert_array_equal(li.data, ti.numpy())
    np.testing.assert_array_equal(lx.grad, tx.grad.numpy())


def test_max_pool1d_minus_inf_at_the_border_gets_its_gradient():
    x = tl.tensor([[[-np.inf, 0.0, 1.0]]], requires_grad=True)
    tl.nn.functional.max_pool1d(x, kernel_size=2, stride=1, padding=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[[1.0, 1.0, 2.0]]])  # (was [0, 1, 2]: the padding took it)
