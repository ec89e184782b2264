"""A cost written ``.sum() / E`` with E = DPSGD's expected_batch_size is the mean over the
expected batch (Poisson sampling's divisor): each sample's own loss is clipped at every batch
size a draw gives, as for ``.mean()``; it used to switch meaning when B happened to equal E."""

import numpy as np
import pytest

import tinygrad_lite as tl

F = tl.nn.functional


def _per_sample_update(B, cost, expected=4, C=1.05):
    m = tl.nn.Linear(3, 2, rng=0)
    w0 = m.weight.data.copy()
    opt = tl.optim.DPSGD(m.parameters(), lr=1.0, max_grad_norm=C, noise_multiplier=0.0,
                         expected_batch_size=expected)
    x = tl.Tensor(np.linspace(0.5, 1.5, B * 3).reshape(B, 3), batched=True)
    losses = F.cross_entropy(m(x), np.zeros(B, np.int64), reduction="none")
    cost(losses, B).backward()
    opt.step()
    return (m.weight.data - w0) * expected  # the clipped sum of the per-sample gradients


@pytest.mark.parametrize("B", [2, 3, 4, 5, 7])
def test_sum_over_the_expected_batch_clips_each_samples_own_loss(B):
    as_mean = _per_sample_update(B, lambda t, B: t.mean())
    over_e = _per_sample_update(B, lambda t, B: t.sum() / 4)
    over_b = _per_sample_update(B, lambda t, B: t.sum() / B)
    np.testing.assert_allclose(over_e, as_mean, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(over_b, as_mean, rtol=1e-12, atol=1e-15)


def test_the_step_does_not_jump_when_the_draw_equals_the_expected_size():
    per_sample = [np.abs(_per_sample_update(B, lambda t, B: t.sum() / 4)).sum() / B for B in (3, 4, 5)]
    assert per_sample[0] == pytest.approx(per_sample[1], rel=0.2)
    assert per_sample[2] == pytest.approx(per_sample[1], rel=0.2)


def test_other_constant_factors_still_count_as_written():
    # without expected_batch_size a sum divided by a number other than B keeps its factor
    def update(B, cost):
        m = tl.nn.Linear(3, 2, rng=0)
        w0 = m.weight.data.copy()
        opt = tl.optim.DPSGD(m.parameters(), lr=1.0, max_grad_norm=1.05, noise_multiplier=0.0)
        x = tl.Tensor(np.ones((B, 3)), batched=True)
        cost(F.cross_entropy(m(x), np.zeros(B, np.int64), reduction="none")).backward()
        opt.step()
        return m.weight.data - w0

    np.testing.assert_allclose(update(5, lambda t: t.sum() / 4), update(5, lambda t: (t / 4).sum()), rtol=1e-12)
    assert not np.allclose(update(5, lambda t: t.sum() / 4), update(5, lambda t: t.sum() / 5))
