"""DP-SGD (tl.optim.DPSGD) after the default backward: the clipped sum from the kept factors
against materialised per-sample gradients, against samples run one at a time and against
Opacus; the cost's scale; expected_batch_size, noise-only steps and the accountant; argument
checks; a Poisson-sampled training loop; real 2-rank MPI jobs against one process.
"""

from __future__ import annotations

import math
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import one_at_a_time

import tinygrad_lite as tl
from tinygrad_lite import Tensor, nn, optim

D, H, K = 5, 7, 3


def make_model(seed: int = 0, dtype: Any = np.float64) -> nn.Module:
    model = nn.Sequential(nn.Linear(D, H, rng=seed), nn.Tanh(), nn.Linear(H, K, rng=seed + 1))
    for p in model.parameters():
        p.data = p.data.astype(dtype)
    return model


def clone(model: nn.Module, dtype: Any = np.float64) -> nn.Module:
    other = make_model(seed=99, dtype=dtype)
    other.load_state_dict(model.state_dict())
    return other


def data(B: int, seed: int = 1, dtype: Any = np.float64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(B, D)).astype(dtype), rng.normal(size=(B, K)).astype(dtype)


COSTS = {
    "mean": lambda d: (d ** 2).mean(),
    "sum": lambda d: (d ** 2).sum(),
    "sum/B": lambda d: (d ** 2).mean(axis=1).sum() / d.shape[0],  # a constant factor: the mean it is
    "terms-mean": lambda d: (d ** 2).mean(axis=1).mean(),
}


def backward(model: nn.Module, X: np.ndarray, Y: np.ndarray, cost: str = "mean") -> None:
    COSTS[cost](model(Tensor(X, batched=True)) - Tensor(Y, batched=True)).backward()


def weights(model: nn.Module) -> list[np.ndarray]:
    return [p.data.copy() for p in model.parameters()]


def assert_same_weights(a: nn.Module, b: nn.Module) -> None:
    """Two models that took the same step hold the same weights (float64 rounding apart)."""
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_allclose(q.data, p.data, rtol=1e-12, atol=1e-14)


def dpsgd(model: nn.Module, **kw: Any) -> optim.DPSGD:
    args = {"lr": 0.3, "max_grad_norm": 1.5, "noise_multiplier": 0.0}
    args.update(kw)
    return optim.DPSGD(model.parameters(), **args)


# ----------------------------------------------------------------------------- the update


def test_clipped_sum_equals_samples_run_one_at_a_time() -> None:
    """DP-SGD's rule written out in numpy from per-sample gradients of B separate passes."""
    X, Y = data(9)
    model = make_model()
    ref = one_at_a_time(model, X, Y)
    w0 = weights(model)
    C, lr = 1.5, 0.3
    backward(model, X, Y)
    opt = dpsgd(model, lr=lr, max_grad_norm=C)
    opt.step()
    norms = np.sqrt(sum(np.einsum("bk,bk->b", g.reshape(9, -1), g.reshape(9, -1)) for g in ref))
    assert 0 < np.mean(norms > C) < 1  # some samples are clipped, some are not
    clip = np.minimum(1.0, C / norms)
    for w, g, p in zip(w0, ref, model.parameters()):
        np.testing.assert_allclose(p.data, w - lr * np.tensordot(clip, g, axes=1) / 9, rtol=1e-12, atol=1e-14)
    assert opt.last_batch_size == 9 and opt.last_clipped_fraction == pytest.approx(np.mean(norms > C))


@pytest.mark.parametrize("expected_batch_size", [None, 16])
def test_factored_update_equals_materialised_grad_sample(expected_batch_size: Any) -> None:
    """Same rng: the step from the kept factors equals the step from dense grad_sample arrays
    (assigning grad_sample makes DPSGD use them), to 1e-12; the factored step builds none."""
    X, Y = data(11)
    a = make_model()
    b = clone(a)
    backward(a, X, Y)
    backward(b, X, Y)
    for p in b.parameters():
        p.grad_sample = p.grad_sample.copy()  # dense from here on
        assert p._ps is None
    kw = {"noise_multiplier": 1.3, "rng": 5, "expected_batch_size": expected_batch_size}
    dpsgd(a, **kw).step()
    dpsgd(b, **kw).step()
    for p, q in zip(a.parameters(), b.parameters()):
        assert p._gs is None  # nothing materialised on the factored path
        np.testing.assert_allclose(p.data, q.data, rtol=1e-12, atol=1e-14)


def test_factored_step_never_builds_per_sample_weight_arrays() -> None:
    B, n_in, n_out = 256, 512, 256
    rng = np.random.default_rng(0)
    layer = nn.Linear(n_in, n_out, rng=0)
    X = rng.normal(size=(B, n_in))
    Y = rng.normal(size=(B, n_out))
    nn.mse_loss(layer(Tensor(X, batched=True)), Tensor(Y, batched=True)).backward()
    opt = optim.DPSGD(layer.parameters(), lr=0.1, max_grad_norm=1.0, noise_multiplier=1.0, rng=0)
    dense = B * layer.weight.data.size * 8
    tracemalloc.start()
    try:
        opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < dense / 20, f"peak {peak} bytes, a (B, *W.shape) array is {dense}"
    assert layer.weight._gs is None


@pytest.mark.parametrize("cost", ["sum/B", "sum", "terms-mean"])
def test_cost_scale_does_not_change_the_step(cost: str) -> None:
    """A sum cost, or a mean written .sum() / B, clips each sample's gradient of its own loss:
    the same step as with .mean()."""
    X, Y = data(8)
    ref, other = make_model(), make_model()
    backward(ref, X, Y, "mean")
    backward(other, X, Y, cost)
    kw = {"noise_multiplier": 0.8, "rng": 3, "max_grad_norm": 0.4}
    dpsgd(ref, **kw).step()
    dpsgd(other, **kw).step()
    assert_same_weights(ref, other)


def test_a_sum_of_means_with_different_factors_is_the_mean_of_the_summed_terms() -> None:
    """m1.mean() + 2 * m2.mean() is the mean of m1_b + 2 m2_b, as written (no factor to take
    out: an auxiliary loss keeps its weight), the same step as (m1 + 2 m2).mean()."""
    X, Y = data(6)
    split, joined = make_model(), make_model()
    for model, join in ((split, False), (joined, True)):
        pred = model(Tensor(X, batched=True))
        terms = ((pred - Tensor(Y, batched=True)) ** 2).mean(axis=1)
        aux = (pred ** 2).mean(axis=1)
        cost = (terms + 2.0 * aux).mean() if join else terms.mean() + 2.0 * aux.mean()
        cost.backward()
        dpsgd(model, max_grad_norm=0.3).step()
    assert_same_weights(split, joined)


SCALED = {
    "(k a + k b).mean()": lambda a, b, k: (k * a + k * b).mean(),
    "k a.mean() + k b.mean()": lambda a, b, k: k * a.mean() + k * b.mean(),
    "k (a.mean() + b.mean())": lambda a, b, k: k * (a.mean() + b.mean()),
    "(k a + k b).sum() / B": lambda a, b, k: (k * a + k * b).sum() / a.shape[0],  # the mean it is
}


@pytest.mark.parametrize("k", [0.5, 3.0])
@pytest.mark.parametrize("cost", list(SCALED))
@pytest.mark.parametrize("clips", [False, True])
def test_a_constant_factor_counts_as_written_wherever_it_stands(cost: str, k: float, clips: bool) -> None:
    """One cost written four ways takes one step: sample b's loss is k (a_b + b_b), clipped
    as such (the rule written out with numpy from one-sample passes), as Opacus reads it."""
    max_grad_norm = 2.5 * k if clips else 1e12
    X, Y = data(7)
    model = make_model()
    w0 = weights(model)

    def terms(m: nn.Module, x: np.ndarray, y: np.ndarray, batched: bool) -> tuple:
        pred = m(Tensor(x, batched=batched))
        return ((pred - Tensor(y, batched=batched)) ** 2).sum(axis=-1), (pred ** 2).sum(axis=-1)

    ref = []  # per sample, the gradient of k (a_b + b_b), one sample at a time
    for b in range(7):
        a1, b1 = terms(model, X[b:b + 1], Y[b:b + 1], False)
        model.zero_grad()
        (k * (a1 + b1)).sum().backward(per_sample=False)
        ref.append([p.grad.copy() for p in model.parameters()])
    model.zero_grad()
    SCALED[cost](*terms(model, X, Y, True), k).backward()
    dpsgd(model, lr=0.3, max_grad_norm=max_grad_norm).step()
    norms = np.sqrt([sum(float(np.sum(g * g)) for g in gs) for gs in ref])
    assert 0 < np.mean(norms > max_grad_norm) < 1 if clips else not np.any(norms > max_grad_norm)
    clip = np.minimum(1.0, max_grad_norm / norms)
    for i, (p, w) in enumerate(zip(model.parameters(), w0)):
        step = sum(c * gs[i] for c, gs in zip(clip, ref)) / 7
        np.testing.assert_allclose(p.data, w - 0.3 * step, rtol=1e-12, atol=1e-14)


def test_expected_batch_size_is_the_divisor() -> None:
    X, Y = data(5)
    a, b = make_model(), make_model()
    w0 = weights(a)
    backward(a, X, Y)
    backward(b, X, Y)
    dpsgd(a).step()
    opt = dpsgd(b, expected_batch_size=10)
    assert opt.expected_batch_size == 10
    opt.step()
    for p, q, w in zip(a.parameters(), b.parameters(), w0):
        np.testing.assert_allclose(q.data - w, (p.data - w) * 5 / 10, rtol=1e-12, atol=1e-15)


def test_noise_is_drawn_per_parameter_with_std_sigma_c_over_divisor() -> None:
    """float64: noise = sigma * C * rng.standard_normal(p.shape), parameter by parameter."""
    X, Y = data(4)
    model = make_model()
    backward(model, X, Y)
    clean = clone(model)
    backward(clean, X, Y)
    sigma, C, lr = 1.7, 0.6, 0.2
    dpsgd(model, lr=lr, max_grad_norm=C, noise_multiplier=sigma, rng=21, expected_batch_size=8).step()
    w0 = weights(clean)
    dpsgd(clean, lr=lr, max_grad_norm=C, expected_batch_size=8).step()
    z = np.random.default_rng(21)
    for p, q, w in zip(model.parameters(), clean.parameters(), w0):
        np.testing.assert_allclose(p.data, q.data - lr * sigma * C * z.standard_normal(w.shape) / 8,
                                   rtol=1e-12, atol=1e-14)


def test_float32_noise_is_gaussian_with_the_right_scale() -> None:
    n, B, sigma, C = 200_001, 4, 1.5, 2.0
    p = Tensor(np.zeros(n, np.float32), requires_grad=True)
    a = p.data
    p.grad_sample = np.zeros((B, n), np.float32)
    optim.DPSGD([p], lr=1.0, max_grad_norm=C, noise_multiplier=sigma, rng=7).step()
    assert p.data is a and a.dtype == np.float32
    z = -a.astype(np.float64) / (sigma * C / B)
    se = 1 / math.sqrt(n)
    assert abs(z.mean()) < 5 * se and abs(z.std() - 1) < 5 * se * 0.71
    for k, share in ((1, 0.682689), (2, 0.954500), (3, 0.997300)):
        assert abs(np.mean(np.abs(z) < k) - share) < 5 * math.sqrt(share * (1 - share) / n)
    half = (n + 1) // 2  # the two halves of each Box-Muller pair are independent
    assert abs(np.corrcoef(z[:n - half], z[half:])[0, 1]) < 5 * se * 1.5
    assert abs(np.corrcoef(z[:-1], z[1:])[0, 1]) < 5 * se


def test_float32_noise_follows_each_groups_learning_rate() -> None:
    n, B = 100_000, 5
    a = Tensor(np.zeros(n, np.float32), requires_grad=True)
    b = Tensor(np.zeros(n, np.float32), requires_grad=True)
    for p in (a, b):
        p.grad_sample = np.zeros((B, n), np.float32)
    optim.DPSGD([{"params": [a]}, {"params": [b], "lr": 0.25}], lr=1.0, max_grad_norm=2.0,
                noise_multiplier=1.5, rng=3).step()
    se = 5 * 0.71 / math.sqrt(n)
    assert abs(a.data.std() / (1.5 * 2.0 / B) - 1) < se
    assert abs(b.data.std() / (0.25 * 1.5 * 2.0 / B) - 1) < se
    assert abs(np.corrcoef(a.data, b.data)[0, 1]) < 5 / math.sqrt(n)


def test_float32_model_matches_float64_without_noise() -> None:
    X, Y = data(16)
    m64 = make_model()
    m32 = clone(m64, np.float32)
    backward(m64, X, Y)
    backward(m32, X.astype(np.float32), Y.astype(np.float32))
    dpsgd(m64).step()
    dpsgd(m32).step()
    for p, q in zip(m64.parameters(), m32.parameters()):
        assert q.data.dtype == np.float32
        np.testing.assert_allclose(q.data, p.data, rtol=1e-5, atol=1e-6)


def test_micro_batches_appended_before_a_step_are_one_batch() -> None:
    X, Y = data(10)
    one, two = make_model(), make_model()
    backward(one, X, Y)
    backward(two, X[:4], Y[:4])
    backward(two, X[4:], Y[4:])
    assert two.parameters()[0].grad_sample.shape[0] == 10
    kw = {"noise_multiplier": 0.5, "rng": 2}
    dpsgd(one, **kw).step()
    dpsgd(two, **kw).step()
    assert_same_weights(one, two)


def test_a_parameter_the_cost_does_not_reach_takes_noise_only() -> None:
    # whether a parameter is reached may depend on the data: left alone, it would tell which
    # samples were in the batch. Its clipped sum is 0, so it moves by the noise alone
    X, Y = data(4)
    model = make_model()
    extra = Tensor(np.ones(3), requires_grad=True)
    backward(model, X, Y)
    opt = optim.DPSGD([extra, *model.parameters()], lr=0.1, max_grad_norm=1.0, noise_multiplier=1.5, rng=0)
    opt.step()
    want = np.ones(3) - np.random.default_rng(0).standard_normal(3) * (1.5 * 1.0 * 0.1 / 4)
    np.testing.assert_allclose(extra.data, want, rtol=1e-15)
    quiet = Tensor(np.ones(3), requires_grad=True)
    model.zero_grad()
    backward(model, X, Y)
    optim.DPSGD([quiet, *model.parameters()], lr=0.1, max_grad_norm=1.0, noise_multiplier=0.0).step()
    np.testing.assert_array_equal(quiet.data, np.ones(3))


def test_a_branch_that_only_some_samples_take_is_noised_either_way() -> None:
    moved = []
    for with_trigger in (True, False):
        a = Tensor(np.ones((2, 3)), requires_grad=True)
        b = Tensor(np.zeros((2, 3)), requires_grad=True)
        X = np.random.default_rng(1).standard_normal((6, 3))
        X[0, 0] = 5.0
        x = Tensor(X if with_trigger else X[1:], batched=True)
        out = x @ a.T
        if (x.data[:, 0] > 3).any():
            out = out + x @ b.T
        (out * out).mean().backward()
        optim.DPSGD([a, b], lr=1.0, max_grad_norm=1.0, noise_multiplier=10.0, expected_batch_size=6, rng=3).step()
        moved.append(not np.array_equal(b.data, np.zeros((2, 3))))
    assert moved == [True, True]


# ----------------------------------------------------------------------------- noise-only steps


class Recorder:
    """A stand-in accountant that records its calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, float]] = []

    def step(self, noise_multiplier: float, sample_rate: float) -> None:
        self.calls.append((noise_multiplier, sample_rate))


@pytest.mark.parametrize("sigma,expected", [(1.1, 6), (0.0, 6), (1.0, None)])
@pytest.mark.parametrize("how", ["empty batch", "no backward"])
def test_noise_only_step(how: str, sigma: float, expected: Any) -> None:
    """After an empty batch or no backward at all: p -= lr * sigma C z / expected_batch_size,
    z drawn per parameter as for float64; counted by the accountant; without
    expected_batch_size a ValueError and nothing changed (not even the generator)."""
    model = make_model()
    w0 = weights(model)
    if how == "empty batch":
        backward(model, *data(0))
        assert model.parameters()[0].grad_sample.shape == (0, H, D)
    acc = Recorder()
    opt = dpsgd(model, noise_multiplier=sigma, rng=4, expected_batch_size=expected, accountant=acc,
                sample_rate=0.25)
    state = opt.rng.bit_generator.state
    if expected is None:
        with pytest.raises(ValueError, match="expected_batch_size"):
            opt.step()
        assert all(np.array_equal(p.data, w) for p, w in zip(model.parameters(), w0))
        assert acc.calls == [] and opt.rng.bit_generator.state == state
        return
    opt.step()
    z = np.random.default_rng(4)
    for p, w in zip(model.parameters(), w0):
        ref = w - 0.3 * sigma * 1.5 * z.standard_normal(w.shape) / expected if sigma else w
        np.testing.assert_allclose(p.data, ref, rtol=1e-12, atol=1e-15)
    assert acc.calls == [(sigma, 0.25)]
    assert opt.last_batch_size == 0 and opt.last_clipped_fraction == 0.0


def test_accountant_records_every_step() -> None:
    model = make_model()
    acc = Recorder()
    opt = dpsgd(model, noise_multiplier=0.9, rng=1, accountant=acc, sample_rate=0.05, expected_batch_size=3)
    for B in (3, 0, 5):
        opt.zero_grad()
        backward(model, *data(B))
        opt.step()
    assert acc.calls == [(0.9, 0.05)] * 3
    assert opt.accountant is acc and opt.sample_rate == 0.05


def test_poisson_loader_training_runs_through_empty_batches() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, D))
    W = rng.normal(size=(K, D))
    Y = np.tanh(X @ W.T)
    model = make_model()
    loader = tl.data.DataLoader(X, Y, batch_size=3, sampling="poisson", seed=1)
    acc = Recorder()
    opt = optim.DPSGD(model.parameters(), lr=1.0, max_grad_norm=1.0, noise_multiplier=0.05, rng=2,
                      expected_batch_size=3, accountant=acc, sample_rate=loader.sample_rate)

    def full_loss() -> float:
        with tl.no_grad():
            return float(nn.mse_loss(model(Tensor(X)), Tensor(Y)).item())

    before, sizes = full_loss(), []
    for _ in range(15):
        for xb, yb in loader:
            opt.zero_grad()
            nn.mse_loss(model(xb), yb).backward()
            opt.step()
            sizes.append(xb.shape[0])
    assert 0 in sizes and max(sizes) > 3  # empty batches happened, sizes vary
    assert len(acc.calls) == len(sizes) == 15 * len(loader)
    assert all(np.all(np.isfinite(p.data)) for p in model.parameters())
    assert full_loss() < 0.7 * before


# ----------------------------------------------------------------------------- Opacus


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_noise_free_step_matches_opacus() -> None:
    torch = pytest.importorskip("torch")
    opacus = pytest.importorskip("opacus")
    from opacus.optimizers import DPOptimizer

    B, C, lr = 12, 1.5, 0.4
    X, Y = data(B)
    model = make_model()
    tmodel = torch.nn.Sequential(torch.nn.Linear(D, H), torch.nn.Tanh(), torch.nn.Linear(H, K)).double()
    tmodel.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in model.state_dict().items()})
    gsm = opacus.GradSampleModule(tmodel, loss_reduction="mean")
    topt = DPOptimizer(torch.optim.SGD(gsm.parameters(), lr=lr), noise_multiplier=0.0, max_grad_norm=C,
                       expected_batch_size=B, loss_reduction="mean")
    topt.zero_grad()
    torch.nn.functional.mse_loss(gsm(torch.from_numpy(X)), torch.from_numpy(Y)).backward()
    topt.step()
    backward(model, X, Y)
    w0 = weights(model)
    opt = dpsgd(model, lr=lr, max_grad_norm=C, expected_batch_size=B)
    opt.step()
    assert 0 < opt.last_clipped_fraction < 1
    theirs = {k: v.detach().numpy() for k, v in tmodel.state_dict().items()}
    for (name, p), w in zip(model.named_parameters(), w0):
        # Opacus clips with C / (norm + 1e-6): agreement to ~1e-6 relative on the update
        upd, their_upd = p.data - w, theirs[name] - w
        np.testing.assert_allclose(upd, their_upd, rtol=2e-6, atol=2e-6 * np.abs(upd).max())


# ----------------------------------------------------------------------------- arguments

BAD_ARGS: list[tuple[dict, type, str]] = [
    ({"max_grad_norm": math.inf}, ValueError, "max_grad_norm"),
    ({"max_grad_norm": math.nan}, ValueError, "max_grad_norm"),
    ({"max_grad_norm": 0.0}, ValueError, "max_grad_norm"),
    ({"max_grad_norm": -1.0}, ValueError, "max_grad_norm"),
    ({"max_grad_norm": "1"}, TypeError, "max_grad_norm"),
    ({"noise_multiplier": -0.1}, ValueError, "noise_multiplier"),
    ({"noise_multiplier": math.nan}, ValueError, "noise_multiplier"),
    ({"noise_multiplier": math.inf}, ValueError, "noise_multiplier"),
    ({"lr": -0.1}, ValueError, "lr"),
    ({"lr": math.nan}, ValueError, "lr"),
    ({"lr": "0.1"}, TypeError, "lr"),
    ({"expected_batch_size": 0}, ValueError, "expected_batch_size"),
    ({"expected_batch_size": -4}, ValueError, "expected_batch_size"),
    ({"expected_batch_size": 2.5}, TypeError, "expected_batch_size"),
    ({"sample_rate": 0.0}, ValueError, "sample_rate"),
    ({"sample_rate": 1.5}, ValueError, "sample_rate"),
    ({"sample_rate": -0.2}, ValueError, "sample_rate"),
    ({"sample_rate": math.nan}, ValueError, "sample_rate"),
    ({"accountant": Recorder()}, ValueError, "sample_rate"),
    ({"accountant": object(), "sample_rate": 0.1}, TypeError, "accountant"),
    ({"rng": "seed"}, TypeError, "rng"),
    ({"rng": -1}, ValueError, "rng"),
]


@pytest.mark.parametrize("kwargs,exc,name", BAD_ARGS, ids=[f"{k}" for k, _, _ in BAD_ARGS])
def test_bad_arguments_raise_naming_them(kwargs: dict, exc: type, name: str) -> None:
    model = make_model()
    w0 = weights(model)
    args = {"lr": 0.1, "max_grad_norm": 1.0, "noise_multiplier": 1.0}
    args.update(kwargs)
    with pytest.raises(exc, match=name):
        optim.DPSGD(model.parameters(), **args)
    assert all(np.array_equal(p.data, w) for p, w in zip(model.parameters(), w0))


def test_sample_rate_one_is_allowed_and_hyperparameters_are_readable() -> None:
    opt = optim.DPSGD(make_model().parameters(), lr=0.1, max_grad_norm=2.0, noise_multiplier=0.5,
                      sample_rate=1.0, expected_batch_size=32)
    group = opt.param_groups[0]
    assert (group["lr"], group["max_grad_norm"], group["noise_multiplier"]) == (0.1, 2.0, 0.5)
    assert opt.expected_batch_size == 32 and opt.sample_rate == 1.0 and opt.accountant is None


@pytest.mark.parametrize("key,value", [("lr", -1.0), ("max_grad_norm", math.inf), ("noise_multiplier", -2.0)])
def test_spoiled_hyperparameter_fails_the_step_and_changes_nothing(key: str, value: float) -> None:
    model = make_model()
    backward(model, *data(4))
    acc = Recorder()
    opt = dpsgd(model, accountant=acc, sample_rate=0.5, noise_multiplier=1.0, rng=0)
    opt.param_groups[0][key] = value
    w0 = weights(model)
    state = opt.rng.bit_generator.state
    with pytest.raises(ValueError, match=key):
        opt.step()
    assert all(np.array_equal(p.data, w) for p, w in zip(model.parameters(), w0))
    assert acc.calls == [] and opt.rng.bit_generator.state == state


def test_step_after_a_norms_only_backward_explains() -> None:
    model = make_model()
    X, Y = data(4)
    nn.mse_loss(model(Tensor(X, batched=True)), Tensor(Y, batched=True)).backward(per_sample="norms")
    with pytest.raises(RuntimeError, match="per-sample gradients"):
        dpsgd(model).step()


# ----------------------------------------------------------------------------- across ranks

ROOT = Path(tl.__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent / "mpi_scripts"))
import dpsgd_run  # noqa: E402

DIST_CASES = ["uneven", "sum", "empty", "nobackward", "poisson", "private"]


def mpi_job(n: int, *args: Any) -> subprocess.CompletedProcess:
    """A real n-rank job of tests/mpi_scripts/dpsgd_run.py (skips without MPI)."""
    pytest.importorskip("mpi4py")
    from tinygrad_lite.distributed import __main__ as launcher

    if launcher.find_mpiexec() is None:
        pytest.skip("mpiexec is not installed")
    done = dpsgd_run.launch(n, *args, root=ROOT)
    if done is None:
        pytest.fail(f"the {n}-rank job {args} did not finish in time")
    return done


def test_dpsgd_across_two_ranks_equals_one_process(tmp_path: Path) -> None:
    """Uneven shards, an empty shard with and without a backward, a sum cost, and Poisson
    batches with empty shards and noise-only steps: every rank ends bitwise equal, and equal
    to one process over the same global batches to 1e-12."""
    import importlib.util

    cases = [c for c in DIST_CASES if c != "private" or importlib.util.find_spec("dp_accounting")]
    done = mpi_job(2, tmp_path, ",".join(cases))
    assert done.returncode == 0, f"job failed:\n{done.stdout}\n{done.stderr}"
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in range(2)]
    start = [p.data for p in dpsgd_run.make_model(seed=0).parameters()]
    for case in cases:
        ref = dpsgd_run.run(case, 0, 1)
        for i, (r, w0) in enumerate(zip(ref, start)):
            got = ranks[0][f"{case}__{i}"]
            assert got.dtype == np.float64
            np.testing.assert_allclose(got, r, rtol=1e-12, atol=1e-12 * np.abs(r).max(), err_msg=case)
            assert ranks[1][f"{case}__{i}"].tobytes() == got.tobytes(), case
            assert not np.allclose(r, w0), case  # the steps moved the weights


@pytest.mark.parametrize("case", ["seedmismatch", "generator"])
def test_dpsgd_across_ranks_needs_the_same_int_seed(tmp_path: Path, case: str) -> None:
    done = mpi_job(2, tmp_path, case)
    assert done.returncode != 0
    assert "ValueError" in done.stderr and "int seed, the same on every rank" in done.stderr
    assert not any(tmp_path.iterdir())  # no rank went on to write results


def test_make_private_across_ranks_needs_an_int_seed(tmp_path: Path) -> None:
    pytest.importorskip("dp_accounting")
    done = mpi_job(2, tmp_path, "private_noseed")
    assert done.returncode != 0
    assert "make_private: in a data-parallel world of 2 processes seed must be an int" in done.stderr
    assert not any(tmp_path.iterdir())


def test_the_dp_section_of_the_docs_runs(capsys: pytest.CaptureFixture) -> None:
    """The code blocks of docs/dpsgd.md run as written and show what the text says."""
    import re

    text = (ROOT / "docs" / "dpsgd.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) == 2
    first: dict = {}
    exec(compile(blocks[0], "docs/dpsgd.md", "exec"), first)
    assert first["opt"].expected_batch_size == 32 and 0 <= first["opt"].last_clipped_fraction <= 1
    second: dict = {}
    exec(compile(blocks[1], "docs/dpsgd.md", "exec"), second)
    assert second["noise"].b_simple > 0 and second["noise"].steps == 8
    assert capsys.readouterr().out.count("\n") == 2


def test_the_dpsgd_benchmark_runs_and_checks_out() -> None:
    """bench/bench_dpsgd.py in a tiny configuration: its correctness checks pass and every
    contender gets a finite time (speed targets are the script's business, not a test's)."""
    bench = ROOT / "bench"
    sys.path.insert(0, str(bench))
    try:
        import bench_dpsgd

        result = bench_dpsgd.main(["--quick", "--rounds", "1", "--sample-ms", "0.2", "--budget", "0.01",
                                   "--no-torch", "--batches", "16"])
    finally:
        sys.path.remove(str(bench))
    assert result["checks"] and all(c["ok"] for c in result["checks"])
    rows = result["groups"]["B=16"]["contenders"]
    assert all(math.isfinite(r["median_s"]) for r in rows.values() if r["role"] != "ghost")
    assert result["memory"]["B=16"]["step_peak_bytes"] > 0


@pytest.mark.parametrize("B", [3, 7, 11, 25, 40])
def test_float32_sum_over_B_is_the_mean_it_is(B: int) -> None:
    # the cotangent 1/B of ``.sum() / B`` is rounded in float32: it is still the mean, so the
    # step clips each sample's own gradient exactly as for ``.mean()``
    F = tl.nn.functional
    ups = []
    for kind in ("mean", "sum / B"):
        m = tl.nn.Linear(5, 3, rng=0).float()
        rng = np.random.default_rng(B)
        X, y = (rng.normal(size=(B, 5)) * 3).astype(np.float32), rng.integers(0, 3, B)
        w0 = m.weight.data.copy()
        opt = optim.DPSGD(m.parameters(), lr=1.0, max_grad_norm=1.0, noise_multiplier=0.0, expected_batch_size=B)
        out = m(Tensor(X, batched=True))
        loss = F.cross_entropy(out, tl.tensor(y)) if kind == "mean" else \
            F.cross_entropy(out, tl.tensor(y), reduction="sum") / B
        loss.backward()
        assert m.weight.last_batch == (B, "mean")
        opt.step()
        ups.append(m.weight.data - w0)
    np.testing.assert_allclose(ups[1], ups[0], rtol=1e-5, atol=1e-7)
