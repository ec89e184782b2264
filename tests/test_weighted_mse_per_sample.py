"""mse_loss with a constant weight: values and gradients as torch, and on a batched input each
sample's own term is its weighted mean (rows were 1/B of it), so DPSGD steps as with the plain loss."""

import numpy as np
import pytest

import tinygrad_lite as tl

F = tl.nn.functional
torch = pytest.importorskip("torch")
RNG = np.random.default_rng(3)
B = 5
X, Y = RNG.standard_normal((B, 3)), RNG.standard_normal((B, 2))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_values_and_second_derivatives_as_torch(reduction):
    W = RNG.uniform(0.5, 2.0, (B, 2))
    p = tl.Tensor(X[:, :2], requires_grad=True)
    tp = torch.tensor(X[:, :2], requires_grad=True)
    v = F.mse_loss(p, Y, reduction=reduction, weight=W)
    tv = torch.nn.functional.mse_loss(tp, torch.tensor(Y), reduction=reduction, weight=torch.tensor(W))
    np.testing.assert_allclose(v.data, tv.detach().numpy(), rtol=1e-13)
    (g,) = tl.autograd.grad((v * v).sum(), p, create_graph=True)
    (tg,) = torch.autograd.grad((tv * tv).sum(), tp, create_graph=True)
    np.testing.assert_allclose(g.data, tg.detach().numpy(), rtol=1e-12)
    (gg,) = tl.autograd.grad(g.sum(), p)
    (tgg,) = torch.autograd.grad(tg.sum(), tp)
    np.testing.assert_allclose(gg.data, tgg.numpy(), rtol=1e-12)


def _rows(weight, reduction="mean"):
    lin = tl.nn.Linear(3, 2, rng=0)
    F.mse_loss(lin(tl.Tensor(X, batched=True)), Y, reduction=reduction, weight=weight).backward()
    return lin


def test_rows_are_each_samples_weighted_mean_as_a_torch_loop():
    W = np.repeat(RNG.uniform(0.5, 2.0, (1, 2)), B, axis=0)  # every sample's weights add up alike
    lin = _rows(W)
    want = []
    for b in range(B):
        t = torch.nn.Linear(3, 2).double()
        with torch.no_grad():
            t.weight.copy_(torch.tensor(lin.weight.data))
            t.bias.copy_(torch.tensor(lin.bias.data))
        torch.nn.functional.mse_loss(t(torch.tensor(X[b:b + 1])), torch.tensor(Y[b:b + 1]),
                                     weight=torch.tensor(W[b:b + 1])).backward()
        want.append(t.weight.grad.numpy())
    np.testing.assert_allclose(lin.weight.grad_sample, np.stack(want), rtol=1e-12)
    np.testing.assert_allclose(lin.weight.grad, lin.weight.grad_sample.mean(0), rtol=1e-12)


def test_unit_weights_give_the_plain_losss_rows_and_dpsgd_step():
    plain = _rows(None)
    weighted = _rows(np.ones((B, 2)))
    np.testing.assert_allclose(weighted.weight.grad_sample, plain.weight.grad_sample, rtol=1e-13)
    steps = []
    for w in (None, np.ones((B, 2))):
        lin = tl.nn.Linear(3, 2, rng=0)
        opt = tl.optim.DPSGD(lin.parameters(), lr=0.1, max_grad_norm=0.5, noise_multiplier=0.0)
        F.mse_loss(lin(tl.Tensor(X, batched=True)), Y, weight=w).backward()
        opt.step()
        steps.append(lin.weight.data.copy())
    np.testing.assert_allclose(steps[1], steps[0], rtol=1e-13)


def test_uneven_weight_sums_refuse_rows_but_fill_grad():
    W = RNG.uniform(0.5, 2.0, (B, 2))
    lin = _rows(W)
    assert lin.weight.grad is not None
    with pytest.raises(RuntimeError, match="mse_loss"):
        _ = lin.weight.grad_sample
    assert _rows(W, "sum").weight.grad_sample.shape == (B, 2, 3)


def test_empty_batch_costs_zero():
    v = F.mse_loss(tl.nn.Linear(3, 2)(tl.Tensor(X[:0], batched=True)), Y[:0], weight=np.ones((0, 2)))
    assert float(v.data) == 0.0


@pytest.mark.parametrize("y,w,smoothing", [([1, 1, 1, 1, 1], [1.0, 2.0, 3.0, 0.5], 0.0),
                                           ([0, 2, 0, 2, 2], [1.0, 2.0, 1.0], 0.0),
                                           ([3, 3, 3, 3, 3], [1.0, 2.0, 3.0, 0.5], 0.2)])
def test_weighted_cross_entropy_rows_where_every_sample_weighs_alike(y, w, smoothing):
    C, y, w = len(w), np.array(y), np.array(w)
    lin = tl.nn.Linear(3, C, rng=0)
    F.cross_entropy(lin(tl.Tensor(X, batched=True)), y, weight=w, label_smoothing=smoothing).backward()
    want = []
    for b in range(B):
        t = torch.nn.Linear(3, C).double()
        with torch.no_grad():
            t.weight.copy_(torch.tensor(lin.weight.data))
            t.bias.copy_(torch.tensor(lin.bias.data))
        torch.nn.functional.cross_entropy(t(torch.tensor(X[b:b + 1])), torch.tensor(y[b:b + 1]), weight=torch.tensor(w),
                                          label_smoothing=smoothing).backward()
        want.append(t.weight.grad.numpy())
    np.testing.assert_allclose(lin.weight.grad_sample, np.stack(want), rtol=1e-12)
    lin.zero_grad()
    uneven = np.array([1.0, 2.0] + [1.0] * (C - 2))
    F.cross_entropy(lin(tl.Tensor(X, batched=True)), np.array([0, 1, 1, 1, 1]), weight=uneven).backward()
    with pytest.raises(RuntimeError, match="nll_loss|cross_entropy"):
        _ = lin.weight.grad_sample
