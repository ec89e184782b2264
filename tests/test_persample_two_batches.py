"""A cost over two batched inputs of different sizes has no per-sample gradients; the refusal
names the two batch sizes (it used to speak of 'different weights' of two means)."""

import numpy as np
import pytest

import tinygrad_lite as tl


def test_two_batches_of_different_sizes_are_named():
    rng = np.random.default_rng(0)
    m = tl.nn.Linear(3, 2, rng=0)
    cost = m(tl.Tensor(rng.normal(size=(4, 3)), batched=True)).mean() + \
        m(tl.Tensor(rng.normal(size=(3, 3)), batched=True)).mean()
    cost.backward()
    assert m.weight.grad.shape == (2, 3)  # .grad is still the gradient of the cost
    with pytest.raises(RuntimeError, match=r"batches of different sizes \(\d and \d samples"):
        _ = m.weight.grad_sample


def test_two_batches_of_one_size_still_give_per_sample_gradients():
    rng = np.random.default_rng(1)
    m = tl.nn.Linear(3, 2, rng=0)
    x1, x2 = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    (m(tl.Tensor(x1, batched=True)) * m(tl.Tensor(x2, batched=True))).sum(1).mean().backward()
    gs = m.weight.grad_sample
    assert gs.shape == (4, 2, 3)
    np.testing.assert_allclose(gs.mean(0), m.weight.grad, rtol=1e-12, atol=1e-14)
