"""Per-sample records across several backwards and steps: norms passes append or refuse
(never silently drop), a DP step never reuses rows an earlier step used, costs that add
reductions with different factors, and assigned ``grad_sample``."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl


def _model() -> tl.nn.Linear:
    return tl.nn.Linear(3, 2, rng=0)


def _batch(n: int, seed: int) -> tuple:
    rng = np.random.default_rng(seed)
    return tl.Tensor(rng.standard_normal((n, 3)), batched=True), rng.integers(0, 2, n)


def test_norms_of_two_batches_append_like_rows() -> None:
    (x1, y1), (x2, y2) = _batch(3, 0), _batch(5, 1)
    rows, norms = _model(), _model()
    for m, mode in ((rows, True), (norms, "norms")):
        tl.nn.cross_entropy(m(x1), y1).backward(per_sample=mode)
        tl.nn.cross_entropy(m(x2), y2).backward(per_sample=mode)
    assert norms.weight.grad_sample is None
    assert norms.weight.grad_sample_norm.shape == (8,)
    np.testing.assert_allclose(norms.weight.grad_sample_norm, rows.weight.grad_sample_norm, rtol=1e-12)
    np.testing.assert_allclose(norms.weight.grad, rows.weight.grad, rtol=1e-12)


def test_a_second_norms_pass_over_the_same_batch_is_refused_and_changes_nothing() -> None:
    x, y = _batch(4, 2)
    m = _model()
    tl.nn.cross_entropy(m(x), y).backward(per_sample="norms")
    grad, norms = m.weight.grad.copy(), m.weight.grad_sample_norm.copy()
    with pytest.raises(RuntimeError, match="same batch.*zero_grad"):
        (m(x) ** 2).mean().backward(per_sample="norms")
    np.testing.assert_array_equal(m.weight.grad, grad)
    np.testing.assert_array_equal(m.weight.grad_sample_norm, norms)
    with pytest.raises(RuntimeError, match="norms do not add"):
        (m(x) ** 2).mean().backward()  # rows cannot join norms either
    m.zero_grad()
    (m(x) ** 2).mean().backward(per_sample="norms")  # after zero_grad: fine
    assert m.weight.grad_sample_norm.shape == (4,)


def test_a_norms_pass_after_rows_adds_to_the_rows() -> None:
    x, y = _batch(4, 3)
    a, b = _model(), _model()
    tl.nn.cross_entropy(a(x), y).backward()
    (a(x) ** 2).mean().backward(per_sample="norms")
    tl.nn.cross_entropy(b(x), y).backward()
    (b(x) ** 2).mean().backward()
    np.testing.assert_allclose(a.weight.grad_sample_norm, b.weight.grad_sample_norm, rtol=1e-12)
    np.testing.assert_allclose(a.weight.grad_sample.mean(0), a.weight.grad, rtol=1e-12)


def test_dpsgd_refuses_to_step_twice_over_the_same_rows() -> None:
    (x1, y1), (x2, y2) = _batch(4, 4), _batch(4, 5)
    m = _model()
    opt = tl.optim.DPSGD(m.parameters(), lr=0.1, max_grad_norm=1.0, noise_multiplier=0.0)
    tl.nn.cross_entropy(m(x1), y1).backward()
    opt.step()
    before = m.weight.data.copy()
    with pytest.raises(ValueError, match="already used by an earlier step.*zero_grad"):
        opt.step()
    tl.nn.cross_entropy(m(x2), y2).backward()  # no zero_grad: batch 1's rows are still there
    with pytest.raises(ValueError, match="already used"):
        opt.step()
    np.testing.assert_array_equal(m.weight.data, before)
    opt.zero_grad()
    tl.nn.cross_entropy(m(x2), y2).backward()
    opt.step()
    assert not np.array_equal(m.weight.data, before)
    assert opt.last_batch_size == 4


def test_dpsgd_steps_after_virtual_steps_and_skips_frozen_parameters() -> None:
    (x1, y1), (x2, y2) = _batch(3, 6), _batch(5, 7)
    m = tl.nn.Sequential(tl.nn.Linear(3, 3, rng=1), tl.nn.Tanh(), tl.nn.Linear(3, 2, rng=2))
    m[0].weight.requires_grad_(False)
    frozen = m[0].weight.data.copy()
    opt = tl.optim.DPSGD(m.parameters(), lr=0.1, max_grad_norm=1.0, noise_multiplier=1.0, rng=0)
    tl.nn.cross_entropy(m(x1), y1).backward()
    tl.nn.cross_entropy(m(x2), y2).backward()
    opt.step()
    assert opt.last_batch_size == 8
    np.testing.assert_array_equal(m[0].weight.data, frozen)


def test_reductions_with_different_factors_are_one_mean_as_written() -> None:
    """ce.mean() + 0.5 * aux.mean() is the mean of ce_b + 0.5 aux_b: the same step as
    (ce + 0.5 aux).mean()."""
    x, y = _batch(4, 8)
    out = []
    for split in (True, False):
        m = _model()
        opt = tl.optim.DPSGD(m.parameters(), lr=0.1, max_grad_norm=0.5, noise_multiplier=0.0)
        z = m(x)
        if split:
            cost = tl.nn.cross_entropy(z, y) + 0.5 * (z ** 2).mean()
        else:
            cost = (tl.nn.cross_entropy(z, y, reduction="none") + 0.5 * (z ** 2).mean(axis=1)).mean()
        cost.backward()
        opt.step()
        out.append(m.weight.data.copy())
    np.testing.assert_allclose(out[0], out[1], rtol=1e-12)


def test_assigning_grad_sample_resets_its_norms() -> None:
    x, y = _batch(4, 9)
    m = _model()
    tl.nn.cross_entropy(m(x), y).backward()
    assert m.weight.grad_sample_norm.shape == (4,)
    m.weight.grad_sample = np.zeros((6, 2, 3))
    np.testing.assert_array_equal(m.weight.grad_sample_norm, np.zeros(6))
