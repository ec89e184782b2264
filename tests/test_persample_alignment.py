"""Per-sample rows of several parameters, and costs, read the way DP-SGD needs them.

* micro-batches whose costs reach different parameters (a head per task) line up by batch:
  each sample is clipped alone, the others' rows are zero;
* a factored norm (|dy|^2 |x|^2) that overflows where the gradient is finite (a zero
  cotangent, a huge input) is computed again from the gradient;
* a cost that reduces the sample axis with .sum(axis=0) / .mean(axis=0) is the sum / mean
  of per-sample terms (each sample weighted alike);
* the gradient variance of float32 parameters is summed in float64.

Expected values come from running each sample alone (the contract's definition).
"""

import numpy as np
import pytest

import tinygrad_lite as tl


def _alone(model, params, x, y, cost):
    """Each sample's gradient of its own loss (the sample run alone, a plain backward)."""
    out = []
    for b in range(len(x)):
        for p in params:
            p.grad = None
        cost(model(tl.Tensor(x[b:b + 1])), tl.Tensor(y[b:b + 1])).backward(per_sample=False)
        out.append([np.zeros(p.shape) if p.grad is None else np.array(p.grad, dtype=np.float64) for p in params])
    for p in params:
        p.grad = None
    return out


def _clipped_mean(rows, C, D):
    norms = [np.sqrt(sum((g ** 2).sum() for g in r)) for r in rows]
    return [sum(min(1.0, C / n) * r[k] for r, n in zip(rows, norms)) / D for k in range(len(rows[0]))], norms


def _heads(frozen_trunk):
    tl.manual_seed(0)
    trunk, a, b = tl.nn.Linear(3, 3), tl.nn.Linear(3, 2), tl.nn.Linear(3, 2)
    if frozen_trunk:
        for p in trunk.parameters():
            p.requires_grad = False
    return trunk, a, b


@pytest.mark.parametrize("frozen_trunk", [True, False])
def test_micro_batches_that_reach_different_heads_line_up_by_batch(frozen_trunk):
    rng = np.random.default_rng(0)
    trunk, a, b = _heads(frozen_trunk)
    params = [p for m in (trunk, a, b) for p in m.parameters() if p.requires_grad]
    x1, x2 = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    y1, y2 = rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
    mse = tl.nn.functional.mse_loss
    # expected: 8 samples; those of micro-batch 1 reach head a only, those of 2 head b only
    rows = (_alone(lambda t: a(trunk(t)), params, x1, y1, mse)
            + _alone(lambda t: b(trunk(t)), params, x2, y2, mse))
    C = 0.5
    want, norms = _clipped_mean(rows, C, 8)
    before = [p.data.copy() for p in params]

    opt = tl.optim.DPSGD(params, lr=1.0, max_grad_norm=C, noise_multiplier=0.0)
    opt.zero_grad()
    mse(a(trunk(tl.Tensor(x1, batched=True))), tl.Tensor(y1, batched=True)).backward()
    mse(b(trunk(tl.Tensor(x2, batched=True))), tl.Tensor(y2, batched=True)).backward()
    np.testing.assert_allclose(tl.per_sample_norms(params), norms, rtol=1e-12)
    opt.step()
    assert opt.last_batch_size == 8
    for p, p0, g in zip(params, before, want):
        np.testing.assert_allclose(p0 - p.data, g, rtol=1e-10, atol=1e-14)


def test_noise_scale_lines_up_micro_batches_by_batch():
    rng = np.random.default_rng(1)
    trunk, a, b = _heads(frozen_trunk=True)
    params = list(a.parameters()) + list(b.parameters())
    x1, x2 = rng.standard_normal((3, 3)), rng.standard_normal((5, 3))
    y1, y2 = rng.standard_normal((3, 2)), rng.standard_normal((5, 2))
    mse = tl.nn.functional.mse_loss
    rows = (_alone(lambda t: a(trunk(t)), params, x1, y1, mse)
            + _alone(lambda t: b(trunk(t)), params, x2, y2, mse))
    B = len(rows)
    s = np.array([sum((g ** 2).sum() for g in r) for r in rows])
    g2 = sum(((sum(r[k] for r in rows) / B) ** 2).sum() for k in range(len(params)))  # |mean gradient|^2
    S = (s.sum() - B * g2) / (B - 1)
    ns = tl.stats.NoiseScale(beta=0.0)
    mse(a(trunk(tl.Tensor(x1, batched=True))), tl.Tensor(y1, batched=True)).backward()
    mse(b(trunk(tl.Tensor(x2, batched=True))), tl.Tensor(y2, batched=True)).backward()
    ns.update(params)
    np.testing.assert_allclose(ns.trace_sigma, S, rtol=1e-10)
    np.testing.assert_allclose(ns.grad_sqnorm, g2 - S / B, rtol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_zero_gradient_beside_a_huge_input_has_norm_zero(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 3)).astype(dtype)
    x[1, 0] = 1e20 if dtype == np.float32 else 1e160  # tanh saturates: sample 1's gradient is exactly 0
    y = rng.standard_normal((3, 2)).astype(dtype)
    tl.manual_seed(0)
    m = tl.nn.Sequential(tl.nn.Linear(3, 4, dtype=dtype), tl.nn.Tanh(), tl.nn.Linear(4, 2, dtype=dtype))
    tl.nn.functional.mse_loss(m(tl.Tensor(x, batched=True)), tl.Tensor(y, batched=True)).backward()
    w = m[0].weight
    direct = np.sqrt((w.grad_sample.astype(np.float64).reshape(3, -1) ** 2).sum(1))
    assert direct[1] == 0.0
    np.testing.assert_allclose(w.grad_sample_norm, direct, rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert np.isfinite(tl.per_sample_norms(m.parameters())).all()
    opt = tl.optim.DPSGD(m.parameters(), lr=0.1, max_grad_norm=1.0, noise_multiplier=0.0)
    opt.step()
    assert all(np.isfinite(p.data).all() for p in m.parameters())


_COSTS = {
    "sum(0).sum()": (lambda d: d.sum(axis=0).sum(), lambda d: d.sum(), 1.0),
    "mean(0).sum()": (lambda d: d.mean(axis=0).sum(), lambda d: d.sum(), None),
    "mean(0).mean()": (lambda d: d.mean(axis=0).mean(), lambda d: d.mean(), None),
    "(mean(0) * v).sum()": (lambda d: (d.mean(axis=0) * tl.Tensor([1.0, 3.0])).sum(),
                            lambda d: (d * tl.Tensor([1.0, 3.0])).sum(), None),
    "sum(0).sum() / B": (lambda d: d.sum(axis=0).sum() / 6, lambda d: d.sum(), None),
}


@pytest.mark.parametrize("name", sorted(_COSTS))
def test_dpsgd_takes_costs_reduced_over_axis_0(name):
    """Sample b's own loss is its term as written (for a mean over the batch, without the 1/B)."""
    batch_cost, own_cost, _ = _COSTS[name]
    rng = np.random.default_rng(3)
    B = 6
    x, y = rng.standard_normal((B, 3)), rng.standard_normal((B, 2))
    tl.manual_seed(0)
    lin = tl.nn.Linear(3, 2)
    params = list(lin.parameters())
    rows = _alone(lin, params, x, y, lambda o, t: own_cost((o - t) ** 2))
    C = 0.3
    want, _ = _clipped_mean(rows, C, B)
    before = [p.data.copy() for p in params]
    opt = tl.optim.DPSGD(params, lr=1.0, max_grad_norm=C, noise_multiplier=0.0)
    batch_cost((lin(tl.Tensor(x, batched=True)) - tl.Tensor(y, batched=True)) ** 2).backward()
    opt.step()
    for p, p0, g in zip(params, before, want):
        np.testing.assert_allclose(p0 - p.data, g, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("ratio", [30.0, 300.0, 3000.0])
def test_gradient_variance_of_float32_parameters_is_summed_in_float64(ratio):
    rng = np.random.default_rng(0)
    B = 256
    lin = tl.nn.Linear(3, 1, dtype=np.float32)
    x = rng.standard_normal((B, 3)).astype(np.float32)
    with tl.no_grad():
        out = lin(tl.Tensor(x)).data[:, 0]
    y = (out - ratio - rng.standard_normal(B)).astype(np.float32)[:, None]  # per-sample bias grads ~ 2 * ratio
    tl.nn.functional.mse_loss(lin(tl.Tensor(x, batched=True)), tl.Tensor(y, batched=True), reduction="sum").backward()
    for p in lin.parameters():
        want = np.var(p.grad_sample.astype(np.float64), axis=0)
        np.testing.assert_allclose(tl.stats.gradient_variance(p), want, rtol=1e-6)
