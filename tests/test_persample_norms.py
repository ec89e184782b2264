"""Per-sample gradient NORMS without storing per-sample gradients: backward(per_sample="norms")."""

from __future__ import annotations

import tracemalloc
from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import Tensor, nn


def _norms_of(gs: np.ndarray) -> np.ndarray:
    flat = gs.reshape(gs.shape[0], -1)
    return np.sqrt((flat.astype(np.float64) ** 2).sum(axis=1))


def _both(model: nn.Module, cost: Callable[[], Tensor]) -> tuple:
    """(norms from grad_sample, grads) of a full per-sample pass, then the norms-only pass."""
    model.zero_grad()
    cost().backward()
    full = [(_norms_of(p.grad_sample), p.grad.copy()) for p in model.parameters()]
    model.zero_grad()
    cost().backward(per_sample="norms")
    return full, model.parameters()


def _mlp(din: int, dout: int, act: Any, dtype: Any = np.float64) -> nn.Module:
    return nn.Sequential(nn.Linear(din, 6, rng=0, dtype=dtype), act(), nn.Linear(6, dout, rng=1, dtype=dtype))


@pytest.mark.parametrize("xshape", [(1, 4), (7, 4), (5, 3, 4)])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("act", [nn.Tanh, nn.ReLU, nn.Sigmoid])
def test_norms_match_the_stored_per_sample_gradients_mse(xshape: tuple, reduction: str, act: Any) -> None:
    rng = np.random.default_rng(len(xshape) * 10 + xshape[0])
    X, Y = rng.normal(size=xshape), rng.normal(size=xshape[:-1] + (2,))
    model = _mlp(4, 2, act)
    full, params = _both(model, lambda: nn.mse_loss(model(Tensor(X, batched=True)), Y, reduction=reduction))
    for p, (norms, grad) in zip(params, full):
        assert p.grad_sample is None
        assert p.grad_sample_norm.shape == (xshape[0],)
        np.testing.assert_allclose(p.grad_sample_norm, norms, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(p.grad, grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_norms_cross_entropy_and_dtype(dtype: Any) -> None:
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(9, 4)).astype(dtype), rng.integers(0, 3, 9)
    model = _mlp(4, 3, nn.Tanh, dtype)
    full, params = _both(model, lambda: nn.cross_entropy(model(Tensor(X, batched=True)), y))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for p, (norms, _) in zip(params, full):
        assert p.grad_sample_norm.dtype == dtype
        np.testing.assert_allclose(p.grad_sample_norm, norms, rtol=tol)


def test_norms_of_a_weight_used_twice_a_raw_matmul_and_a_regulariser() -> None:
    rng = np.random.default_rng(2)
    B = 6
    W = Tensor(rng.normal(size=(4, 4)), requires_grad=True)
    V = Tensor(rng.normal(size=(4, 3)), requires_grad=True)
    w = Tensor(rng.normal(size=(3,)), requires_grad=True)
    X = rng.normal(size=(B, 4))

    def cost() -> Tensor:
        x = Tensor(X, batched=True)
        h = (x @ W.T).tanh() @ W.T          # W twice: two factored contributions, combined exactly
        out = (h @ V) * w                   # raw matmul, then an elementwise parameter
        return (out ** 2).mean() + 0.1 * (W ** 2).sum()

    class Holder(nn.Module):
        def __init__(self) -> None:
            self.W, self.V, self.w = W, V, w

    full, params = _both(Holder(), cost)
    for p, (norms, grad) in zip(params, full):
        assert p.grad_sample is None
        np.testing.assert_allclose(p.grad_sample_norm, norms, rtol=1e-12)
        np.testing.assert_allclose(p.grad, grad, rtol=1e-12)


def test_whole_gradient_norms_over_all_parameters() -> None:
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(8, 4)), rng.normal(size=(8, 2))
    model = _mlp(4, 2, nn.Tanh)
    nn.mse_loss(model(Tensor(X, batched=True)), Y).backward()
    by_hand = np.sqrt(sum((p.grad_sample.reshape(8, -1) ** 2).sum(axis=1) for p in model.parameters()))
    np.testing.assert_allclose(tl.per_sample_norms(model.parameters()), by_hand, rtol=1e-12)
    model.zero_grad()
    nn.mse_loss(model(Tensor(X, batched=True)), Y).backward(per_sample="norms")
    np.testing.assert_allclose(tl.per_sample_norms(model.parameters()), by_hand, rtol=1e-12)
    model.zero_grad()
    with pytest.raises(RuntimeError, match="batched"):
        tl.per_sample_norms(model.parameters())


def test_norms_need_far_less_memory_than_per_sample_gradients() -> None:
    rng = np.random.default_rng(4)
    B = 64
    model = nn.Sequential(nn.Linear(300, 200, rng=0), nn.ReLU(), nn.Linear(200, 10, rng=1))
    X, Y = rng.normal(size=(B, 300)), rng.normal(size=(B, 10))
    n_params = sum(p.data.size for p in model.parameters())
    per_sample_bytes = B * n_params * 8
    peaks = {}
    for mode in ("norms", True):
        model.zero_grad()
        loss = nn.mse_loss(model(Tensor(X, batched=True)), Y)
        tracemalloc.start()
        loss.backward(per_sample=mode)
        peaks[mode] = tracemalloc.get_traced_memory()[1]
        if mode is True:  # the default backward keeps factors; grad_sample is built on read
            norms = [p.grad_sample_norm for p in model.parameters()]
            peaks["norm read"] = tracemalloc.get_traced_memory()[1]
            _ = [p.grad_sample for p in model.parameters()]
            peaks["read"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peaks["read"] >= per_sample_bytes
    assert peaks[True] < 0.05 * per_sample_bytes
    assert peaks["norm read"] < 0.05 * per_sample_bytes
    assert peaks["norms"] < 0.05 * per_sample_bytes
    for n, p in zip(norms, model.parameters()):
        np.testing.assert_allclose(n, np.linalg.norm(p.grad_sample.reshape(B, -1), axis=1), rtol=1e-12)


def test_zero_grad_clears_norms_and_bad_modes_are_refused() -> None:
    rng = np.random.default_rng(5)
    model = _mlp(4, 2, nn.Tanh)
    opt = tl.optim.SGD(model.parameters(), lr=0.1)
    X, Y = rng.normal(size=(3, 4)), rng.normal(size=(3, 2))
    for clear in (model.zero_grad, opt.zero_grad):
        nn.mse_loss(model(Tensor(X, batched=True)), Y).backward(per_sample="norms")
        assert all(p.grad_sample_norm is not None for p in model.parameters())
        clear()
        assert all(p.grad_sample_norm is None and p.grad is None for p in model.parameters())
    with pytest.raises(ValueError, match="per_sample"):
        nn.mse_loss(model(Tensor(X, batched=True)), Y).backward(per_sample="full")


def test_norms_still_refuse_graphs_that_mix_samples() -> None:
    rng = np.random.default_rng(6)
    model = _mlp(4, 2, nn.Tanh)
    x = Tensor(rng.normal(size=(5, 4)), batched=True)
    h = model(x)
    cost = ((h - h.mean(0)) ** 2).mean()
    cost.backward(per_sample="norms")
    assert all(p.grad is not None for p in model.parameters())
    for p in model.parameters():
        with pytest.raises(RuntimeError, match="'sub'.*batch statistic"):
            _ = p.grad_sample_norm


def test_dp_sgd_from_norms_alone_equals_dpsgd() -> None:
    """Clipping without storing per-sample gradients: one backward for the norms, then a
    backward of sum_b min(1, C/|g_b|) * term_b gives the clipped SUM directly. With the same
    noise draws this is exactly tl.optim.DPSGD's step."""
    rng = np.random.default_rng(7)
    B, C, sigma, lr = 10, 0.5, 0.8, 0.1
    X, y = rng.normal(size=(B, 4)), rng.integers(0, 3, B)
    ref, mem = _mlp(4, 3, nn.Tanh), _mlp(4, 3, nn.Tanh)

    nn.cross_entropy(ref(Tensor(X, batched=True)), y).backward()
    tl.optim.DPSGD(ref.parameters(), lr=lr, max_grad_norm=C, noise_multiplier=sigma, rng=11).step()

    terms = nn.cross_entropy(mem(Tensor(X, batched=True)), y, reduction="none")  # (B,) per-sample terms
    terms.sum().backward(per_sample="norms")
    factor = C / np.maximum(tl.per_sample_norms(mem.parameters()), C)
    mem.zero_grad()
    (terms * factor).sum().backward(per_sample=False)   # grad = sum_b factor_b * g_b
    noise = np.random.default_rng(11)
    for p in mem.parameters():
        assert p.grad_sample is None
        clipped_sum = p.grad + sigma * C * noise.standard_normal(p.data.shape)
        p.data -= lr * clipped_sum / B
    for p, q in zip(ref.parameters(), mem.parameters()):
        np.testing.assert_allclose(q.data, p.data, rtol=1e-12, atol=1e-14)
