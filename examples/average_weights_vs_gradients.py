"""Average the gradients at every step, or descend on each example and average the weights?

Both start from the same weights w0 and take k steps of size lr on N examples with costs
e_n(w); the full-data cost is E(w) = (1/N) sum_n e_n(w).

* gradient averaging (ordinary full-batch gradient descent):
      w <- w - lr * (1/N) sum_n grad e_n(w)              k times, then w_GD
* weight averaging: descend on each example ALONE,
      w_n <- w_n - lr * grad e_n(w_n)                    k times from w0, for every n,
  then w_avg = (1/N) sum_n w_n.

After ONE step they coincide for any model: (1/N) sum_n (w0 - lr g_n(w0)) = w0 - lr * mean
g_n(w0). From the second step on they part: each w_n follows the gradient of ITS example
at ITS OWN point, and sum_n g_n(w_n) is not N * g(mean of the w_n) unless the gradient is
affine in w AND the examples share its slope. For linear least squares the gradient is
affine (g_n(w) = 2 x_n (x_n . w - t_n)) but the slopes x_n x_n^T differ, so they part too,
only more gently; for a tanh net the curvature adds to the gap. This script measures
E(w_avg) and E(w_GD) for both models and several k.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from pathlib import Path
from typing import Optional, Union

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # _shared.py, and the package when it is not installed

from _shared import full_cost, output_dir, progress, pyplot, save_figure  # noqa: E402

import tinygrad_lite as tl  # noqa: E402


def descend(model: tl.nn.Module, X: np.ndarray, t: np.ndarray, lr: float, steps: list) -> dict:
    """Gradient descent on the mean cost over ``X``; the weights after each k in ``steps``."""
    opt = tl.optim.SGD(model.parameters(), lr=lr)
    snapshots = {}
    for k in range(1, max(steps) + 1):
        opt.zero_grad()
        tl.nn.mse_loss(model(tl.Tensor(X)), tl.Tensor(t)).backward()
        opt.step()
        if k in steps:
            snapshots[k] = model.state_dict()
    return snapshots


def average(states: list) -> "OrderedDict[str, np.ndarray]":
    """Element-wise mean of several state dicts."""
    return OrderedDict((name, np.mean([s[name] for s in states], axis=0)) for name in states[0])


def compare(model: tl.nn.Module, X: np.ndarray, t: np.ndarray, lr: float, steps: list, label: str) -> dict:
    """E(w_avg) and E(w_GD) for each k in ``steps``, both from the model's current weights."""
    w0 = model.state_dict()
    cost0 = full_cost(model, X, t)
    gd = descend(model, X, t, lr, steps)
    per_example = []
    for n in progress(range(len(X)), desc=f"{label}: each example alone"):
        model.load_state_dict(w0)
        per_example.append(descend(model, X[n:n + 1], t[n:n + 1], lr, steps))
    rows = []
    for k in steps:
        model.load_state_dict(gd[k])
        e_gd = full_cost(model, X, t)
        w_avg = average([s[k] for s in per_example])
        model.load_state_dict(w_avg)
        e_avg = full_cost(model, X, t)
        dist = float(np.sqrt(sum(np.sum((w_avg[p] - gd[k][p]) ** 2) for p in w_avg)))
        rows.append({"k": k, "cost_gd": e_gd, "cost_avg": e_avg, "weight_distance": dist})
    model.load_state_dict(w0)
    print(f"\n{label}: E(w0) = {cost0:.5f}, lr = {lr}, N = {len(X)} examples")
    print(f"   {'k':>4s} {'E(w_GD)':>11s} {'E(w_avg)':>11s} {'E(w_avg) - E(w_GD)':>19s} "
          f"{'|w_avg - w_GD|':>15s}")
    for r in rows:
        print(f"   {r['k']:4d} {r['cost_gd']:11.6f} {r['cost_avg']:11.6f} "
              f"{r['cost_avg'] - r['cost_gd']:19.2e} {r['weight_distance']:15.2e}")
    return {"cost0": cost0, "rows": rows}


def main(fast: bool = False, out: Union[None, str, Path] = None) -> dict:
    """Compare the two recipes on a tanh net and on linear least squares; plot when possible."""
    rng = np.random.default_rng(0)
    n = 16 if fast else 32
    steps = [1, 2, 5, 10, 20] if fast else [1, 2, 5, 10, 20, 50, 100]
    X = rng.uniform(-2, 2, size=(n, 1))
    t = np.sin(2 * X) + 0.05 * rng.standard_normal((n, 1))

    net = tl.nn.Sequential(tl.nn.Linear(1, 16, rng=1), tl.nn.Tanh(), tl.nn.Linear(16, 1, rng=2))
    tanh = compare(net, X, t, 0.1, steps, "tanh net 1-16-1")

    Xl = np.concatenate([X, rng.uniform(-2, 2, size=(n, 1))], axis=1)
    tl_ = Xl @ np.array([[0.7], [-1.3]]) + 0.3 + 0.1 * rng.standard_normal((n, 1))
    linear = compare(tl.nn.Linear(2, 1, rng=3), Xl, tl_, 0.05, steps, "linear least squares 2-1")

    print("\nAfter one step the two recipes agree (to rounding) for both models; after that, averaging the")
    print("weights of per-example descents gives a higher full-data cost than averaging the gradients.")

    plt = pyplot()
    picture: Optional[Path] = None
    if plt is not None:
        picture = output_dir(out) / "average_weights_vs_gradients.png"
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
        for ax, res, title in zip(axes, (tanh, linear), ("tanh net 1-16-1", "linear least squares")):
            ks = [r["k"] for r in res["rows"]]
            ax.plot(ks, [r["cost_gd"] for r in res["rows"]], "o-", label="average the gradients (GD)")
            ax.plot(ks, [r["cost_avg"] for r in res["rows"]], "s--", label="average the weights")
            ax.set_xscale("log")
            ax.set_xlabel("steps k")
            ax.set_ylabel("full-data cost E")
            ax.set_title(title)
            ax.legend()
        save_figure(fig, picture)
    return {"tanh": tanh, "linear": linear, "picture": picture}


if __name__ == "__main__":
    main()
