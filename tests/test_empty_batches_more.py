"""Batches of 0 samples (Poisson sampling draws them) through the layers that reshaped with an
inferred axis: adaptive max pooling, max unpooling, 3-d fractional max pooling, custom Functions
with several outputs, and second-order and forward-mode gradients through GroupNorm and
average pooling. Also mse_loss of a float32 prediction and an integer target stays float32."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("batched", [True, False])
def test_adaptive_max_pool_of_an_empty_batch_has_torchs_shape(nd: int, batched: bool) -> None:
    shape = (0, 2) + (5,) * nd
    ours = getattr(tl.nn, f"AdaptiveMaxPool{nd}d")(2, return_indices=True)(tl.Tensor(np.zeros(shape),
                                                                                       batched=batched))
    theirs = getattr(torch.nn, f"AdaptiveMaxPool{nd}d")(2, return_indices=True)(torch.zeros(shape))
    assert [o.shape for o in ours] == [tuple(t.shape) for t in theirs]


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_unpool_of_an_empty_batch_has_torchs_shape_and_a_gradient(nd: int) -> None:
    x = tl.Tensor(np.zeros((0, 2) + (4,) * nd), batched=True)
    w = tl.Tensor(np.ones(()), requires_grad=True)
    out, idx = getattr(tl.nn, f"MaxPool{nd}d")(2, return_indices=True)(x * w)
    y = getattr(tl.nn, f"MaxUnpool{nd}d")(2)(out, idx)
    assert y.shape == (0, 2) + (4,) * nd
    y.sum().backward()
    assert w.grad == 0.0 and w.grad_sample.shape == (0,)


def test_fractional_max_pool_3d_of_an_empty_batch() -> None:
    ours = tl.nn.FractionalMaxPool3d(2, output_size=2)(tl.Tensor(np.zeros((0, 2, 5, 5, 5)), batched=True))
    assert ours.shape == (0, 2, 2, 2, 2)


def test_a_function_with_two_outputs_over_an_empty_batch() -> None:
    class Two(tl.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            return g1 * 2 + g2 * 3

    w = tl.Tensor(np.ones(3), requires_grad=True)
    a, b = Two.apply(tl.Tensor(np.zeros((0, 3)), batched=True) * w)
    assert a.shape == b.shape == (0, 3)
    (a.sum() + b.sum()).backward()
    np.testing.assert_array_equal(w.grad, np.zeros(3))


@pytest.mark.parametrize("layer", [lambda: tl.nn.GroupNorm(2, 4), lambda: tl.nn.AvgPool2d(2)])
def test_second_order_and_forward_mode_through_an_empty_batch(layer) -> None:
    m = layer()
    x = tl.Tensor(np.zeros((0, 4, 4, 4)), requires_grad=True)
    (g,) = tl.autograd.grad((m(x) ** 2).sum(), [x], create_graph=True)
    assert g.shape == (0, 4, 4, 4)
    out, tangent = tl.func.jvp(m, (tl.Tensor(np.zeros((0, 4, 4, 4))),), (tl.Tensor(np.zeros((0, 4, 4, 4))),))
    assert out.shape == tangent.shape


def test_native_group_norm_of_an_empty_batch() -> None:
    out, mean, rstd = tl.native_group_norm(tl.Tensor(np.zeros((0, 4, 3, 2))), None, None, 0, 4, 6, 2, 1e-5)
    assert out.shape == (0, 4, 3, 2) and mean.shape == rstd.shape == (0, 2)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_of_a_float32_prediction_and_an_integer_target_is_float32(reduction: str) -> None:
    p = np.float32([[0.5, 1.5], [2.0, -1.0]])
    t = np.int64([[0, 1], [2, 0]])
    x = tl.Tensor(p, requires_grad=True)
    ours = tl.nn.functional.mse_loss(x, t, reduction=reduction)
    xt = torch.tensor(p, requires_grad=True)
    theirs = torch.nn.functional.mse_loss(xt, torch.tensor(t), reduction=reduction)
    assert ours.dtype == np.float32 and theirs.dtype == torch.float32
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-6)
    ours.sum().backward()
    theirs.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-6)
