"""Per-sample gradients are refused or right, never silently wrong: a detached batch statistic
is refused as it is under no_grad; backward(gradient=v) of a batched loss vector weighs the
samples by v (a uniform 1/B is the mean it is, uneven weights are neither); p.grad = None
clears the per-sample gradients too, as zero_grad() does."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl

RNG = np.random.default_rng(0)
B = 4
X, Y, W0 = RNG.normal(size=(B, 3)), RNG.normal(size=(B, 2)), RNG.normal(size=(2, 3))


def _setup(dtype=np.float64) -> tuple:
    W = tl.Tensor(W0.astype(dtype), requires_grad=True)
    return W, tl.Tensor(X.astype(dtype), batched=True), tl.Tensor(Y.astype(dtype), batched=True)


@pytest.mark.parametrize("how", ["detach", "no_grad", "standardised input"])
def test_a_batch_statistic_is_refused_however_it_left_the_graph(how: str) -> None:
    W, x, y = _setup()
    h = x @ W.T
    if how == "detach":
        centre = h.mean(0).detach()
    elif how == "no_grad":
        with tl.no_grad():
            centre = h.mean(0)
    if how == "standardised input":
        cost = ((((x - x.mean(0)) / x.std(0)).detach() @ W.T - y) ** 2).mean()
    else:
        cost = ((h - centre - y) ** 2).mean()
    cost.backward()
    assert W.grad.shape == (2, 3) and np.isfinite(W.grad).all()  # (the batch gradient itself is fine)
    with pytest.raises(RuntimeError, match="batch statistic"):
        _ = W.grad_sample


def test_detaching_a_per_sample_value_keeps_it_per_sample() -> None:
    W, x, y = _setup()
    h = x @ W.T
    ((h.detach() * h - y) ** 2).mean().backward()
    rows = W.grad_sample
    for b in range(B):
        Wb = tl.Tensor(W0, requires_grad=True)
        hb = tl.Tensor(X[b:b + 1]) @ Wb.T
        ((hb.detach() * hb - tl.Tensor(Y[b:b + 1])) ** 2).mean().backward()
        np.testing.assert_allclose(rows[b], Wb.grad, rtol=1e-12)  # (each sample's own gradient)


def _dpsgd_update(seed: str, dtype=np.float64):
    W, x, y = _setup(dtype)
    lv = ((x @ W.T - y) ** 2).mean(1)
    {"mean": lambda: lv.mean().backward(),
     "v = 1/B": lambda: lv.backward(np.full(B, 1 / B, dtype)),
     "v = 1": lambda: lv.backward(np.ones(B, dtype)),
     "v uneven": lambda: lv.backward(np.arange(1, B + 1, dtype=dtype) / B)}[seed]()
    record = W.last_batch
    tl.optim.DPSGD([W], lr=1.0, max_grad_norm=1e9, noise_multiplier=0.0, rng=0).step()
    return record, W0.astype(dtype) - W.data


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_uniform_gradient_seed_over_a_batched_loss_vector_is_the_mean_or_the_sum_it_is(dtype) -> None:
    ref_record, ref = _dpsgd_update("mean", dtype)
    assert ref_record == (B, "mean")
    record, update = _dpsgd_update("v = 1/B", dtype)
    assert record == (B, "mean")
    np.testing.assert_allclose(update, ref, rtol=1e-5 if dtype == np.float32 else 1e-12)
    record, update = _dpsgd_update("v = 1", dtype)
    assert record == (B, "sum")
    np.testing.assert_allclose(update, ref, rtol=1e-5 if dtype == np.float32 else 1e-12)  # (DPSGD: / B)


def test_an_uneven_gradient_seed_is_neither_a_mean_nor_a_sum_and_dpsgd_refuses() -> None:
    W, x, y = _setup()
    ((x @ W.T - y) ** 2).mean(1).backward(np.arange(1.0, B + 1) / B)
    assert W.last_batch == (B, "scaled")
    with pytest.raises(ValueError, match="weighs its per-sample term"):
        tl.optim.DPSGD([W], lr=1.0, max_grad_norm=1.0, noise_multiplier=0.0, rng=0).step()


def test_setting_grad_to_none_clears_the_per_sample_gradients_as_zero_grad() -> None:
    W, x, y = _setup()
    for _ in range(3):
        W.grad = None
        ((x @ W.T - y) ** 2).mean().backward()
    np.testing.assert_allclose(W.grad_sample.mean(0), W.grad, rtol=1e-12)  # (not three batches' worth)
    assert W.last_batch == (B, "mean")
    W.grad = None
    assert W.grad_sample is None and W.last_batch == (0, None)


def test_changing_an_input_through_numpy_after_backward_leaves_the_kept_gradients() -> None:
    W, x, y = _setup()
    ((x @ W.T - y) ** 2).mean().backward()
    img = x.numpy()
    img *= 255.0  # (e.g. un-normalising the batch to show it)
    W2, x2, y2 = _setup()
    ((x2 @ W2.T - y2) ** 2).mean().backward()
    np.testing.assert_array_equal(W.grad_sample, W2.grad_sample)
    np.testing.assert_array_equal(W.grad, W2.grad)
    assert np.shares_memory(img, x.data)  # (still the tensor's own memory, as torch's .numpy())
