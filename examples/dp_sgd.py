"""DP-SGD next to SGD on the same problem, from the same per-sample gradients.

Differentially private SGD bounds how much any ONE training example can move the weights,
then hides what is left under noise. Per step, with per-example gradients g_b (all
parameters together, read from ``grad_sample``), clipping norm C and noise multiplier sigma:

    g_b  <- g_b * min(1, C / |g_b|)                 each example's pull is at most C
    G     = sum_b g_b + N(0, (sigma C)^2 I)          noise added to the SUM
    w    <- w - lr * G / B                           B = the batch's actual size

``tl.optim.DPSGD`` does exactly this; plain SGD uses the mean of the unclipped g_b. Both
train the same 64-32-10 tanh net from the same start on the noisy digits of ``_shared.py``
with the same batches; the script prints the test accuracy and the full training loss of
each, the fraction of example gradients that were clipped, and sigma. (Turning sigma and the
number of steps into a privacy budget epsilon needs a privacy accountant, which is not part
of this example.)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional, Union

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # _shared.py, and the package when it is not installed

from _shared import make_digits, output_dir, progress, pyplot, save_figure  # noqa: E402

import tinygrad_lite as tl  # noqa: E402


def make_model() -> tl.nn.Module:
    """The same 64-32-10 tanh net (same seeds) for both optimizers."""
    return tl.nn.Sequential(tl.nn.Linear(64, 32, rng=0), tl.nn.Tanh(), tl.nn.Linear(32, 10, rng=1))


def evaluate(model: tl.nn.Module, X: np.ndarray, labels: np.ndarray) -> tuple:
    """(accuracy, mean cross-entropy) on a data set, without recording a graph."""
    with tl.no_grad():
        logits = model(tl.Tensor(X))
        loss = tl.nn.cross_entropy(logits, labels).item()
    return float(np.mean(logits.data.argmax(axis=1) == labels)), float(loss)


def train(X: np.ndarray, labels: np.ndarray, epochs: int, private: bool, lr: float,
          max_grad_norm: float, noise_multiplier: float) -> tuple:
    """Train with SGD or DPSGD (batches of 64); returns (model, accuracy per epoch on the
    training set, mean fraction of clipped examples)."""
    model = make_model()
    if private:
        opt = tl.optim.DPSGD(model.parameters(), lr=lr, max_grad_norm=max_grad_norm,
                             noise_multiplier=noise_multiplier, rng=0)
    else:
        opt = tl.optim.SGD(model.parameters(), lr=lr)
    loader = tl.data.DataLoader(X, labels, batch_size=64, shuffle=True, seed=0)
    clipped = []
    curve = [evaluate(model, X, labels)[0]]
    for _ in progress(range(epochs), desc="DP-SGD" if private else "SGD"):
        for xb, yb in loader:
            opt.zero_grad()
            tl.nn.cross_entropy(model(xb), yb).backward(per_sample=private)
            opt.step()
            if private:
                clipped.append(opt.last_clipped_fraction)
        curve.append(evaluate(model, X, labels)[0])
    return model, curve, float(np.mean(clipped)) if clipped else 0.0


def main(fast: bool = False, out: Union[None, str, Path] = None) -> dict:
    """Train both ways and print accuracy, loss, clipped fraction and noise multiplier."""
    rng = np.random.default_rng(0)
    n, epochs = (1000, 5) if fast else (4000, 15)
    lr, max_grad_norm, noise_multiplier = 0.5, 1.0, 1.0
    X, y, _ = make_digits(n, rng)
    X_test, y_test, _ = make_digits(1000, rng)

    results = {}
    for name, private in (("SGD", False), ("DP-SGD", True)):
        model, curve, clipped = train(X, y, epochs, private, lr, max_grad_norm, noise_multiplier)
        acc, loss = evaluate(model, X_test, y_test)
        train_loss = evaluate(model, X, y)[1]
        results[name] = {"accuracy": acc, "test_loss": loss, "train_loss": train_loss,
                         "clipped_fraction": clipped, "curve": curve}

    print(f"{n} noisy 8x8 digits, 10 classes, 64-32-10 tanh net, batches of 64, lr {lr}, {epochs} epochs")
    print(f"DP-SGD: max_grad_norm C = {max_grad_norm}, noise_multiplier sigma = {noise_multiplier} "
          f"(noise std {noise_multiplier * max_grad_norm} on the summed gradient)")
    print(f"{'':8s} {'test accuracy':>13s} {'test loss':>10s} {'train loss':>10s} {'clipped':>8s}")
    for name, r in results.items():
        clipped = f"{r['clipped_fraction']:.1%}" if name == "DP-SGD" else "-"
        print(f"{name:8s} {r['accuracy']:13.3f} {r['test_loss']:10.3f} {r['train_loss']:10.3f} {clipped:>8s}")
    print("chance accuracy: 0.100")

    plt = pyplot()
    picture: Optional[Path] = None
    if plt is not None:
        picture = output_dir(out) / "dp_sgd.png"
        fig, ax = plt.subplots(figsize=(6.5, 3.6))
        for name, r in results.items():
            ax.plot(range(epochs + 1), r["curve"], marker="o", markersize=3, label=name)
        ax.axhline(0.1, color="gray", linestyle=":", label="chance")
        ax.set_xlabel("epoch")
        ax.set_ylabel("training accuracy")
        ax.set_title(f"DP-SGD with C = {max_grad_norm}, sigma = {noise_multiplier}")
        ax.legend()
        save_figure(fig, picture)
    return {"sgd": results["SGD"], "dpsgd": results["DP-SGD"], "noise_multiplier": noise_multiplier,
            "max_grad_norm": max_grad_norm, "chance": 0.1, "picture": picture}


if __name__ == "__main__":
    main()
