"""What does a privacy budget epsilon cost in accuracy? Private training of scikit-learn's digits.

``tl.privacy.make_private`` turns a budget (epsilon, delta) into a DP-SGD run: a loader
that puts every training image into each batch independently with probability
q = batch_size / N (Poisson sampling), and a ``tl.optim.DPSGD`` whose noise multiplier sigma
is the smallest for which ``epochs * len(loader)`` steps stay within the budget, as a
privacy accountant (Google's ``dp-accounting``, RDP) computes it. Each step clips every
image's gradient to norm C, adds N(0, (sigma C)^2) noise to the sum and divides by the
expected batch size; the optimizer's accountant records every step.

The script trains the same 64-32-10 ReLU net on the 8x8 digits bundled with scikit-learn
(1797 images, no download; 80% for training, 20% held out) at epsilon = 1, 3 and 8 with
delta = 1e-5, and once without privacy (plain SGD, same batch size and epochs). It prints
sigma, the epsilon actually spent (read from the accountant after training) and the
held-out accuracy of each, and plots accuracy against epsilon to ``docs/dp_digits.png``.

Run ``python examples/dp_digits.py`` (seconds), or ``--quick`` for a shorter smoke run.
Needs ``pip install -e ".[privacy,examples]"``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # _shared.py, and the package when it is not installed

from _shared import output_dir, progress, pyplot, save_figure  # noqa: E402

import tinygrad_lite as tl  # noqa: E402
from tinygrad_lite import privacy  # noqa: E402

EPSILONS = (1.0, 3.0, 8.0)
DELTA = 1e-5
BATCH_SIZE = 256
MAX_GRAD_NORM = 1.0
LR_PRIVATE = 2.0     # DP-SGD: the clipped, noisy mean gradient is small and noisy; a large step helps
LR_PLAIN = 0.5


def load_data(seed: int = 0) -> tuple:
    """scikit-learn's 8x8 digits scaled to [0, 1]: (X_train, y_train, X_test, y_test), 80/20."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    X, y = digits.data / 16.0, digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(X))
    cut = int(0.8 * len(X))
    return X[order[:cut]], y[order[:cut]], X[order[cut:]], y[order[cut:]]


def make_model() -> tl.nn.Module:
    """The same 64-32-10 ReLU net (same initial weights) for every run."""
    return tl.nn.Sequential(tl.nn.Linear(64, 32, rng=0), tl.nn.ReLU(), tl.nn.Linear(32, 10, rng=1))


def accuracy(model: tl.nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of ``X`` classified as ``y``, without recording a graph."""
    with tl.no_grad():
        return float(np.mean(model(tl.Tensor(X)).data.argmax(axis=1) == y))


def train(model: tl.nn.Module, optimizer: tl.optim.Optimizer, loader: tl.data.DataLoader, epochs: int,
          desc: str) -> None:
    """The usual loop: a mean cross-entropy per batch, one backward, one step."""
    for _ in progress(range(epochs), desc=desc):
        for xb, yb in loader:
            optimizer.zero_grad()
            tl.nn.cross_entropy(model(xb), yb).backward()
            optimizer.step()


def main(fast: bool = False, out: Union[None, str, Path] = None, epsilons: Sequence[float] = EPSILONS,
         epochs: Optional[int] = None, batch_size: int = BATCH_SIZE, lr: float = LR_PRIVATE,
         seed: int = 0) -> dict:
    """Train without privacy and at each epsilon; print and plot the held-out accuracy."""
    start = time.perf_counter()
    X, y, X_test, y_test = load_data()
    if epochs is None:
        epochs = 4 if fast else 30

    model = make_model()
    plain = tl.optim.SGD(model.parameters(), lr=LR_PLAIN)
    train(model, plain, tl.data.DataLoader(X, y, batch_size=batch_size, seed=seed), epochs, "non-private")
    plain_accuracy = accuracy(model, X_test, y_test)

    rows = []
    for eps in epsilons:
        model = make_model()
        optimizer, loader = privacy.make_private(
            model, X, y, batch_size=batch_size, epochs=epochs, target_epsilon=eps, target_delta=DELTA,
            max_grad_norm=MAX_GRAD_NORM, lr=lr, seed=seed)
        train(model, optimizer, loader, epochs, f"epsilon {eps:g}")
        rows.append({"target_epsilon": eps, "epsilon": optimizer.accountant.get_epsilon(DELTA),
                     "noise_multiplier": optimizer.param_groups[0]["noise_multiplier"],
                     "steps": epochs * len(loader), "sample_rate": loader.sample_rate,
                     "accuracy": accuracy(model, X_test, y_test)})

    print(f"scikit-learn digits: {len(X)} training and {len(X_test)} held-out 8x8 images, 10 classes")
    print(f"64-32-10 ReLU net, {epochs} epochs, expected batch {batch_size} "
          f"(sample rate q = {rows[0]['sample_rate']:.4f}, {rows[0]['steps']} steps), "
          f"clipping norm C = {MAX_GRAD_NORM}, delta = {DELTA:g}")
    print(f"{'run':>14s} {'sigma':>7s} {'epsilon spent':>14s} {'held-out accuracy':>18s}")
    for r in rows:
        print(f"{'epsilon <= ' + format(r['target_epsilon'], 'g'):>14s} {r['noise_multiplier']:7.3f} "
              f"{r['epsilon']:14.3f} {r['accuracy']:18.3f}")
    print(f"{'non-private':>14s} {'-':>7s} {'inf':>14s} {plain_accuracy:18.3f}")
    print(f"chance accuracy: 0.100; took {time.perf_counter() - start:.1f} s")

    plt = pyplot()
    picture: Optional[Path] = None
    if plt is not None:
        picture = output_dir(out) / "dp_digits.png"
        fig, ax = plt.subplots(figsize=(6.0, 3.6))
        ax.plot([r["epsilon"] for r in rows], [r["accuracy"] for r in rows], marker="o", label="DP-SGD")
        ax.axhline(plain_accuracy, color="C2", linestyle="--", label="non-private SGD")
        ax.axhline(0.1, color="gray", linestyle=":", label="chance")
        for r in rows:
            label = f"{r['accuracy']:.2f} (sigma {r['noise_multiplier']:.2f})"
            ax.annotate(label, (r["epsilon"], r["accuracy"]), textcoords="offset points", xytext=(0, -14),
                        ha="center", fontsize=8)
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.set_xticks(list(epsilons), [f"{e:g}" for e in epsilons])
        ax.set_xlim(0.6 * min(epsilons), 1.6 * max(epsilons))
        ax.set_xlabel(f"epsilon spent (delta = {DELTA:g})")
        ax.set_ylabel("held-out accuracy")
        ax.set_ylim(0, 1.02)
        ax.set_title(f"Digits, 64-32-10 net, {epochs} epochs: accuracy against privacy")
        ax.legend(loc="lower right")
        save_figure(fig, picture)
    return {"private": rows, "non_private_accuracy": plain_accuracy, "delta": DELTA, "epochs": epochs,
            "chance": 0.1, "picture": picture}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run (a few epochs)")
    parser.add_argument("--out", default=None, help="folder for the picture (default: docs/)")
    args = parser.parse_args()
    main(fast=args.quick, out=args.out)
