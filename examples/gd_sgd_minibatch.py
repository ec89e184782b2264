"""Full-batch gradient descent, SGD (batch of 1) and mini-batch SGD are one loop.

The loop below is the same for all three; only ``batch_size`` changes:

    for each epoch:                       # the loader reshuffles the order every epoch
        for each batch of B examples:     # B = N (full batch), 1 (SGD) or 32 (mini-batch)
            w <- w - lr * (1/B) sum_{b in batch} grad e_b(w)

Every method is given the SAME number of epochs, hence the SAME number of per-example
gradient evaluations (N per epoch), and the same learning rate; they differ in how many
steps that buys: 1 per epoch for full-batch GD, N for SGD, ceil(N/32) for mini-batches.
The printed table and the plot show the full-data cost after each epoch.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Optional, Union

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # _shared.py, and the package when it is not installed

from _shared import full_cost, output_dir, progress, pyplot, save_figure  # noqa: E402

import tinygrad_lite as tl  # noqa: E402


def make_data(n: int, seed: int = 0) -> tuple:
    """Inputs in [-2, 2]^4 and a smooth non-linear target with a little noise."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n, 4))
    t = np.sin(X[:, :1]) * np.cos(X[:, 1:2]) + 0.5 * np.tanh(X[:, 2:3] * X[:, 3:4])
    return X, t + 0.05 * rng.standard_normal((n, 1))


def make_model(seed: int = 0) -> tl.nn.Module:
    """A 4-32-32-1 tanh net; the same seed gives every method the same starting weights."""
    return tl.nn.Sequential(tl.nn.Linear(4, 32, rng=seed), tl.nn.Tanh(), tl.nn.Linear(32, 32, rng=seed + 1),
                            tl.nn.Tanh(), tl.nn.Linear(32, 1, rng=seed + 2))


def train(X: np.ndarray, t: np.ndarray, batch_size: int, epochs: int, lr: float, label: str) -> list:
    """Mini-batch SGD with the given batch size; the full-data cost before and after each epoch."""
    model = make_model()
    opt = tl.optim.SGD(model.parameters(), lr=lr)
    loader = tl.data.DataLoader(X, t, batch_size=batch_size, shuffle=True, seed=0)
    curve = [full_cost(model, X, t)]
    for _ in progress(range(epochs), desc=label):
        for xb, tb in loader:
            opt.zero_grad()
            tl.nn.mse_loss(model(xb), tb).backward(per_sample=False)
            opt.step()
        curve.append(full_cost(model, X, t))
    return curve


def main(fast: bool = False, out: Union[None, str, Path] = None) -> dict:
    """Train the three ways, print the cost per epoch, plot the curves when matplotlib exists."""
    n, epochs, lr = (128, 5, 0.05) if fast else (512, 30, 0.05)
    X, t = make_data(n)
    methods = {"full-batch GD": n, "SGD (batch 1)": 1, "mini-batch 32": 32}
    curves = {label: train(X, t, b, epochs, lr, label) for label, b in methods.items()}

    print(f"N = {n} examples, 4-32-32-1 tanh net, lr = {lr}, {epochs} epochs for every method")
    print("(every epoch costs N per-example gradients whatever the batch size)")
    print(f"{'method':15s} {'batch':>5s} {'steps/epoch':>11s} {'steps in all':>12s}")
    for label, b in methods.items():
        steps = math.ceil(n / b)
        print(f"{label:15s} {b:5d} {steps:11d} {steps * epochs:12d}")
    shown = sorted(set([0, 1, 2, epochs // 2, epochs]))
    print("\nfull-data cost after epoch:")
    print(f"{'epoch':>5s} " + " ".join(f"{label:>15s}" for label in methods))
    for e in shown:
        print(f"{e:5d} " + " ".join(f"{curves[label][e]:15.5f}" for label in methods))

    best = min(curves, key=lambda label: curves[label][-1])
    print(f"\nlowest cost after {epochs} epochs: {best} ({curves[best][-1]:.5f}); with the same gradient "
          "budget, smaller batches take more (noisier) steps and get further than one exact step per epoch.")

    plt = pyplot()
    picture: Optional[Path] = None
    if plt is not None:
        picture = output_dir(out) / "gd_sgd_minibatch.png"
        fig, ax = plt.subplots(figsize=(6.5, 4))
        for label, curve in curves.items():
            ax.plot(range(epochs + 1), curve, marker="o", markersize=3, label=label)
        ax.set_yscale("log")
        ax.set_xlabel(f"epoch (= {n} per-example gradients)")
        ax.set_ylabel("full-data mean squared error")
        ax.set_title(f"same loop, same lr = {lr}, different batch size")
        ax.legend()
        save_figure(fig, picture)
    final = {label: curve[-1] for label, curve in curves.items()}
    return {"epochs": epochs, "n": n, "lr": lr, "curves": curves, "final": final, "picture": picture}


if __name__ == "__main__":
    main()
