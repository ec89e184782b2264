"""How large a batch is worth it? The gradient noise scale, measured from per-sample gradients.

A mini-batch gradient is the true gradient G plus noise. If the per-sample gradients have
mean G and covariance Sigma, a batch of B has ``E|g_B|^2 = |G|^2 + tr(Sigma) / B``: the
noise shrinks like 1/B. McCandlish et al. (2018) show that, with the learning rate tuned
for each batch size, the number of steps S to reach a given loss follows

    S(B) = S_min * (1 + B_crit / B)

so doubling B nearly halves the steps while B << B_crit (the noise dominates, a bigger
batch buys a bigger step), and hardly helps once B >> B_crit (the steps approach S_min and
every extra sample is wasted). And B_crit is close to the *simple noise scale*

    B_simple = tr(Sigma) / |G|^2

which one backward pass gives: ``tl.stats.NoiseScale`` estimates both terms from the
per-sample gradients of each batch (their squared norms and their mean) and smooths them
over steps.

This script trains a 64-32-10 tanh net on the noisy digits of ``_shared.py`` with SGD:

1. once at batch 64, with ``NoiseScale`` reading B_simple as the loss falls, and taking
   its value when the loss first reaches the target;
2. at several batch sizes, each with the best learning rate of a small grid, counting the
   steps to the same target training loss (measured on a fixed part of the training set),
   then fitting S_min and B_crit.

It prints both, and plots B_simple and the loss during training, and steps-to-target
against B with the fitted curve and the curve B_simple predicts (docs/noise_scale.png).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Optional, Union

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # _shared.py, and the package when it is not installed

from _shared import make_digits, output_dir, progress, pyplot, save_figure  # noqa: E402

import tinygrad_lite as tl  # noqa: E402
from tinygrad_lite import stats  # noqa: E402

TARGET = 0.2  # cross-entropy on the evaluation set


def make_model() -> tl.nn.Module:
    """The same 64-32-10 tanh net (same seeds) for every run."""
    return tl.nn.Sequential(tl.nn.Linear(64, 32, rng=0), tl.nn.Tanh(), tl.nn.Linear(32, 10, rng=1))


def eval_loss(model: tl.nn.Module, X: tl.Tensor, y: np.ndarray) -> float:
    with tl.no_grad():
        return float(tl.nn.cross_entropy(model(X), y).item())


def measure_noise_scale(X: np.ndarray, y: np.ndarray, Xe: tl.Tensor, ye: np.ndarray, batch: int, lr: float,
                        max_steps: int) -> dict:
    """Train at one batch size, updating ``NoiseScale`` after every backward; the curve of
    (step, loss, b_simple) and b_simple when the loss first reaches TARGET."""
    model = make_model()
    opt = tl.optim.SGD(model.parameters(), lr=lr)
    ns = stats.NoiseScale(beta=0.95)
    rng = np.random.default_rng(1)
    curve = []
    at_target = None
    for step in range(1, max_steps + 1):
        idx = rng.integers(0, len(X), batch)  # i.i.d. batches, as the noise model assumes
        opt.zero_grad()
        tl.nn.cross_entropy(model(tl.Tensor(X[idx], batched=True)), y[idx]).backward()
        ns.update(model)  # per-sample squared norms and their mean, from the kept factors
        opt.step()
        loss = eval_loss(model, Xe, ye)
        curve.append((step, loss, ns.b_simple, ns.trace_sigma, ns.grad_sqnorm))
        if loss <= TARGET:
            at_target = ns.b_simple
            break
    return {"curve": curve, "b_simple": at_target, "steps": len(curve)}


def steps_to_target(X: np.ndarray, y: np.ndarray, Xe: tl.Tensor, ye: np.ndarray, batch: int, lr: float,
                    max_steps: int) -> Optional[int]:
    """SGD steps until the evaluation loss is at most TARGET (None: not within max_steps)."""
    model = make_model()
    opt = tl.optim.SGD(model.parameters(), lr=lr)
    rng = np.random.default_rng(2)
    for step in range(1, max_steps + 1):
        idx = rng.integers(0, len(X), batch)
        opt.zero_grad()
        tl.nn.cross_entropy(model(tl.Tensor(X[idx])), y[idx]).backward(per_sample=False)
        opt.step()
        if eval_loss(model, Xe, ye) <= TARGET:
            return step
    return None


def best_steps(X: np.ndarray, y: np.ndarray, Xe: tl.Tensor, ye: np.ndarray, batch: int, lrs: list,
               max_steps: int) -> tuple:
    """(fewest steps, its learning rate) over the grid, rising lr until it stops helping; a
    run never goes past the best so far."""
    best, best_lr = None, None
    for lr in lrs:
        s = steps_to_target(X, y, Xe, ye, batch, lr, max_steps if best is None else best - 1)
        if s is None:
            if best is not None:
                break  # too large a learning rate from here on
            continue
        best, best_lr = s, lr
    return best, best_lr


def fit_critical_batch(batches: list, steps: list) -> tuple:
    """``S(B) = S_min (1 + B_crit / B)`` fitted in log space: for each B_crit on a fine log
    grid ``log S_min`` is the mean residual; the pair with the least squared error wins."""
    B = np.asarray(batches, dtype=float)
    logS = np.log(np.asarray(steps, dtype=float))
    best = (math.inf, 0.0, 0.0)
    for bc in np.geomspace(0.1, 1e5, 4001):
        shape = np.log1p(bc / B)
        log_smin = float(np.mean(logS - shape))
        err = float(np.sum((logS - shape - log_smin) ** 2))
        if err < best[0]:
            best = (err, float(np.exp(log_smin)), float(bc))
    return best[1], best[2]


def main(fast: bool = False, out: Union[None, str, Path] = None) -> dict:
    """Measure B_simple, measure steps-to-target at several batch sizes, compare, plot."""
    rng = np.random.default_rng(0)
    X, y, _ = make_digits(2000, rng)
    Xe, ye = tl.Tensor(X[:400]), y[:400]  # the training loss, on a fixed part of the training set
    batch_sizes = [8, 64, 512] if fast else [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
    lrs = [0.5, 1.0, 2.0] if fast else [0.125, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0]
    max_steps = 1500 if fast else 4000

    noise = measure_noise_scale(X, y, Xe, ye, batch=64, lr=1.0, max_steps=max_steps)
    measured = [best_steps(X, y, Xe, ye, B, lrs, max_steps) for B in progress(batch_sizes, desc="batch sizes")]
    rows = [(B, s, lr) for B, (s, lr) in zip(batch_sizes, measured) if s is not None]
    s_min, b_crit = fit_critical_batch([r[0] for r in rows], [r[1] for r in rows])
    b_simple = noise["b_simple"]

    print(f"2000 noisy 8x8 digits, 64-32-10 tanh net, SGD; target: training cross-entropy {TARGET} "
          "(on 400 of the digits)")
    print(f"noise scale measured at batch 64: B_simple = tr(Sigma)/|G|^2 = {b_simple:.0f} when the loss reached the "
          f"target (step {noise['steps']})")
    print(f"{'batch':>6s} {'best lr':>8s} {'steps':>6s} {'examples':>9s} {'fit S_min(1+B_crit/B)':>22s}")
    for B, s, lr in rows:
        print(f"{B:6d} {lr:8.3g} {s:6d} {B * s:9d} {s_min * (1 + b_crit / B):22.0f}")
    print(f"fit: S_min = {s_min:.0f} steps, B_crit = {b_crit:.0f}; B_simple / B_crit = {b_simple / b_crit:.2f}")
    print("below B_crit a larger batch saves steps almost in proportion; above it, hardly any.")

    plt = pyplot()
    picture: Optional[Path] = None
    if plt is not None:
        picture = output_dir(out) / "noise_scale.png"
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"wspace": 0.45})
        steps_c, loss_c, bs_c = zip(*[(c[0], c[1], c[2]) for c in noise["curve"]])
        ax1.plot(steps_c, bs_c, color="C0", label="B_simple (EMA, beta 0.95)")
        ax1.axvline(noise["steps"], color="gray", linestyle=":", label=f"loss reaches {TARGET}")
        ax1.set_xlabel("SGD step (batch 64)")
        ax1.set_ylabel("B_simple = tr(Sigma) / |G|^2")
        ax1.set_title("the noise scale during training")
        twin = ax1.twinx()
        twin.plot(steps_c, loss_c, color="C2", alpha=0.7)
        twin.set_ylabel("training loss", color="C2")
        ax1.legend(loc="upper center")
        Bs = np.array([r[0] for r in rows], dtype=float)
        grid = np.geomspace(Bs.min() / 1.5, Bs.max() * 1.5, 200)
        ax2.loglog(Bs, [r[1] for r in rows], "o", color="C1", label="measured (best lr)")
        ax2.loglog(grid, s_min * (1 + b_crit / grid), color="C1", label=f"fit: B_crit = {b_crit:.0f}")
        ax2.loglog(grid, s_min * (1 + b_simple / grid), "--", color="C0",
                   label=f"predicted by B_simple = {b_simple:.0f}")
        ax2.axvline(b_simple, color="C0", linestyle=":")
        ax2.set_xlabel("batch size B")
        ax2.set_ylabel(f"SGD steps to loss {TARGET}")
        ax2.set_title("steps to target against batch size")
        ax2.legend()
        save_figure(fig, picture)
    return {"b_simple": b_simple, "b_crit": b_crit, "s_min": s_min, "batch_sizes": [r[0] for r in rows],
            "steps": [r[1] for r in rows], "lrs": [r[2] for r in rows], "curve": noise["curve"],
            "target": TARGET, "picture": picture}


if __name__ == "__main__":
    main()
