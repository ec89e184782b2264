"""tl.stats: the gradient variance from the kept factors and the gradient noise scale,
against numpy computed from per-sample gradients of samples run one at a time."""

from __future__ import annotations

import math
import tracemalloc
from typing import Any

import numpy as np
import pytest
from conftest import one_at_a_time

from tinygrad_lite import Tensor, nn, stats

D, H, K = 4, 6, 3


def make_model(seed: int = 0) -> nn.Module:
    return nn.Sequential(nn.Linear(D, H, rng=seed), nn.Tanh(), nn.Linear(H, K, rng=seed + 1))


def data(B: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(B, D)), rng.normal(size=(B, K))


def backward(model: nn.Module, X: np.ndarray, Y: np.ndarray, reduction: str = "mean", **kw: Any) -> None:
    nn.mse_loss(model(Tensor(X, batched=True)), Tensor(Y, batched=True), reduction=reduction).backward(**kw)


# ----------------------------------------------------------------------------- gradient_variance


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_gradient_variance_equals_numpy_variance_of_per_sample_gradients(reduction: str) -> None:
    X, Y = data(10)
    model = make_model()
    scale = K if reduction == "sum" else 1  # mse_loss's sum also sums the K outputs of a sample's term
    ref = [scale * g for g in one_at_a_time(model, X, Y)]
    backward(model, X, Y, reduction)
    for p, g in zip(model.parameters(), ref):
        var = stats.gradient_variance(p)
        assert var.dtype == np.float64 and var.shape == p.data.shape
        np.testing.assert_allclose(var, g.var(axis=0), rtol=1e-10, atol=1e-14)
        assert p._gs is None  # computed from the factors, grad_sample not built


def test_gradient_variance_of_a_dense_grad_sample() -> None:
    p = Tensor(np.zeros((2, 3)), requires_grad=True)
    S = np.random.default_rng(0).normal(size=(5, 2, 3))
    p.grad_sample = S
    np.testing.assert_allclose(stats.gradient_variance(p), S.var(axis=0), rtol=1e-12)


def test_gradient_variance_never_builds_per_sample_weight_arrays() -> None:
    B, n_in, n_out = 256, 512, 256
    rng = np.random.default_rng(0)
    layer = nn.Linear(n_in, n_out, rng=0)
    nn.mse_loss(layer(Tensor(rng.normal(size=(B, n_in)), batched=True)),
                Tensor(rng.normal(size=(B, n_out)), batched=True)).backward()
    dense = B * layer.weight.data.size * 8
    tracemalloc.start()
    try:
        var = stats.gradient_variance(layer.weight)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < dense / 20, f"peak {peak} bytes, a (B, *W.shape) array is {dense}"
    assert layer.weight._gs is None
    ref = layer.weight.grad_sample  # now build it, to check the numbers
    np.testing.assert_allclose(var, ref.var(axis=0), rtol=1e-9, atol=1e-18)


def test_gradient_variance_errors() -> None:
    model = make_model()
    p = model.parameters()[0]
    with pytest.raises(RuntimeError, match="no per-sample gradients"):
        stats.gradient_variance(p)
    X, Y = data(5)
    backward(model, X, Y, per_sample="norms")
    assert p.grad_sample is None and p.grad_sample_norm is not None
    with pytest.raises(RuntimeError, match="norms"):
        stats.gradient_variance(p)
    with pytest.raises(TypeError, match="parameter"):
        stats.gradient_variance(np.zeros(3))
    model.zero_grad()
    backward(model, *data(0))
    with pytest.raises(ValueError, match="empty"):
        stats.gradient_variance(p)


# ----------------------------------------------------------------------------- NoiseScale


def numpy_noise_scale(batches: list[tuple[np.ndarray, np.ndarray]], model: nn.Module, beta: float,
                      scale: float = 1.0) -> dict:
    """The contract's formulas applied to per-sample gradients of samples run one at a time
    (times ``scale``)."""
    ema_s = ema_g = 0.0
    for X, Y in batches:
        grads = [scale * g for g in one_at_a_time(model, X, Y)]
        B = len(X)
        s = sum(np.einsum("bk,bk->b", g.reshape(B, -1), g.reshape(B, -1)) for g in grads)
        g2 = sum(float(np.sum(g.mean(axis=0) ** 2)) for g in grads)
        S = (s.sum() - B * g2) / (B - 1)
        G2 = g2 - S / B
        ema_s = beta * ema_s + (1 - beta) * S
        ema_g = beta * ema_g + (1 - beta) * G2
    t = len(batches)
    trace, grad = ema_s / (1 - beta ** t), ema_g / (1 - beta ** t)
    return {"trace_sigma": trace, "grad_sqnorm": grad, "b_simple": trace / grad, "last": (S, G2)}


@pytest.mark.parametrize("mode", ["mean", "sum", "mean-norms", "sum-norms"])
def test_noise_scale_against_numpy(mode: str) -> None:
    model = make_model()
    batches = [data(B, seed) for B, seed in ((8, 1), (5, 2), (12, 3))]
    reduction, _, norms = mode.partition("-")
    # a sum cost's per-sample term is mse_loss's sum over the K outputs, K times the mean's
    ref = numpy_noise_scale(batches, model, beta=0.9, scale=K if reduction == "sum" else 1.0)
    ns = stats.NoiseScale(beta=0.9)
    for X, Y in batches:
        model.zero_grad()
        backward(model, X, Y, reduction, **({"per_sample": "norms"} if norms else {}))
        ns.update(model)
    assert ns.steps == 3
    for key in ("trace_sigma", "grad_sqnorm", "b_simple"):
        assert getattr(ns, key) == pytest.approx(ref[key], rel=1e-10), key
    assert (ns.last_trace_sigma, ns.last_grad_sqnorm) == pytest.approx(ref["last"], rel=1e-10)
    assert ns.b_simple == ns.trace_sigma / ns.grad_sqnorm


def test_noise_scale_estimates_are_unbiased() -> None:
    """Per-sample gradients G + noise of covariance v I (d dimensions): tr(Sigma) = d v and
    |G|^2 are recovered on average, at every batch size."""
    rng = np.random.default_rng(0)
    d, v = 50, 0.04
    G = rng.normal(size=d) * 0.1
    for B in (2, 16):
        ns = stats.NoiseScale(beta=0.999)
        p = Tensor(np.zeros(d), requires_grad=True)
        for _ in range(600):
            p.zero_grad()
            p.grad_sample = G + math.sqrt(v) * rng.normal(size=(B, d))
            ns.update([p])
        assert ns.trace_sigma == pytest.approx(d * v, rel=0.05)
        assert ns.grad_sqnorm == pytest.approx(float(G @ G), rel=0.15)
        assert ns.b_simple == pytest.approx(d * v / float(G @ G), rel=0.2)


def test_noise_scale_with_beta_zero_is_the_last_batch() -> None:
    model = make_model()
    ns = stats.NoiseScale(beta=0.0)
    for seed in (1, 2):
        model.zero_grad()
        backward(model, *data(6, seed))
        ns.update(model.parameters())
    assert (ns.trace_sigma, ns.grad_sqnorm) == (ns.last_trace_sigma, ns.last_grad_sqnorm)


def test_noise_scale_errors_change_nothing() -> None:
    model = make_model()
    ns = stats.NoiseScale()
    with pytest.raises(RuntimeError, match="per-sample"):
        ns.update(model)
    backward(model, *data(1))
    with pytest.raises(ValueError, match="at least 2"):
        ns.update(model)
    model.zero_grad()
    backward(model, *data(0))
    with pytest.raises(ValueError, match="at least 2"):
        ns.update(model)
    assert ns.steps == 0 and ns.b_simple is None and ns.trace_sigma is None
    model.zero_grad()
    nn.mse_loss(model(Tensor(data(4)[0])), Tensor(data(4)[1])).backward()
    with pytest.raises(RuntimeError, match="per-sample"):
        ns.update(model)
    with pytest.raises(TypeError, match="params"):
        ns.update(3)
    for beta, exc in ((1.0, ValueError), (-0.1, ValueError), (math.nan, ValueError), ("0.9", TypeError)):
        with pytest.raises(exc, match="beta"):
            stats.NoiseScale(beta=beta)
