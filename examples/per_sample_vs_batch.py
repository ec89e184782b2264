"""Per-sample gradients and the batch gradient come from the same backward pass.

The batch cost is the mean of the per-sample costs, ``E = (1/B) sum_b e_b``, so by
linearity of the derivative its gradient is the mean of the per-sample gradients:

    dE/dw = (1/B) sum_b de_b/dw.

For the weight w_ij joining input (or hidden unit) j to neuron i, with pre-activation
z_i = sum_j w_ij x_j + b_i, the chain rule gives per sample

    de_b/dw_ij = delta_i * x_j,        delta_i = de_b/dz_i,

the error signal of neuron i times the input that weight sees. This script checks

1. ``p.grad == p.grad_sample.mean(0)`` after ONE ``backward()`` of a batch cost;
2. the formula above by hand, for one weight of one sample, in both layers;
3. that mini-batches of uneven size (N = 100, batch 32 -> 32, 32, 32, 4) give the exact
   full-data gradient when each batch's mean gradient is weighted by its size B_k / N, and
   that the plain average of the batch means does not (it over-weights the small batch).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Union

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # _shared.py, and the package when it is not installed

import tinygrad_lite as tl  # noqa: E402
from tinygrad_lite.demo import make_data, make_model  # noqa: E402


def cost(model: tl.nn.Module, X: np.ndarray, t: np.ndarray) -> tl.Tensor:
    """Mean squared error over a batch whose axis 0 is marked as the sample axis."""
    return tl.nn.mse_loss(model(tl.Tensor(X, batched=True)), tl.Tensor(t, batched=True))


def grads(model: tl.nn.Module) -> list:
    """Copies of every parameter's ``.grad``."""
    return [p.grad.copy() for p in model.parameters()]


def max_diff(a: list, b: list) -> float:
    """Largest absolute difference between two lists of arrays."""
    return float(max(np.max(np.abs(x - y)) for x, y in zip(a, b)))


def by_hand(model: tl.nn.Module, x: np.ndarray, t: np.ndarray, i: int, j: int) -> tuple:
    """de/dw for ONE sample, with numpy only: first-layer weight w_ij and output weight w_0j.

    Forward: z = W1 x + b1, h = tanh(z), y = W2 h + b2, e = (y - t)^2.
    Backward: de/dy = 2 (y - t); output delta = de/dy (a linear output neuron);
    hidden delta_i = (W2^T de/dy)_i * (1 - h_i^2).
    Then de/dW1_ij = delta_i * x_j and de/dW2_0j = (de/dy)_0 * h_j.
    """
    W1, b1 = model[0].weight.data, model[0].bias.data
    W2, b2 = model[2].weight.data, model[2].bias.data
    h = np.tanh(W1 @ x + b1)
    y = W2 @ h + b2
    delta_out = 2 * (y - t)
    delta_hidden = (W2.T @ delta_out) * (1 - h ** 2)
    return float(delta_hidden[i] * x[j]), float(delta_out[0] * h[j])


def main(fast: bool = False, out: Union[None, str, Path] = None) -> dict:
    """Run the three checks and print their numbers (``out`` is unused: nothing is drawn)."""
    n, batch = 100, 32
    X, t = make_data(n)  # t = sin(x1) cos(x2) + noise, and the demo's 2-8-1 tanh net
    model = make_model()
    params = model.parameters()
    names = [name for name, _ in model.named_parameters()]

    # 1. one backward of a batch cost: grad and grad_sample
    print(f"1. one backward() of the mean squared error over a batch of {batch} observations")
    E = cost(model, X[:batch], t[:batch])
    E.backward()
    grad_mean_diff = 0.0
    for name, p in zip(names, params):
        d = float(np.max(np.abs(p.grad - p.grad_sample.mean(axis=0))))
        grad_mean_diff = max(grad_mean_diff, d)
        print(f"   {name:9s} grad {str(p.grad.shape):8s} grad_sample {str(p.grad_sample.shape):11s} "
              f"max|grad - grad_sample.mean(0)| = {d:.1e}")

    # 2. the formula dE/dw_ij = delta_i * x_j, for sample b, by hand
    b, i, j = 5, 3, 1
    hidden, output = by_hand(model, X[b], t[b], i, j)
    lib_hidden = float(model[0].weight.grad_sample[b, i, j])
    lib_output = float(model[2].weight.grad_sample[b, 0, j])
    model.zero_grad()
    cost(model, X[b:b + 1], t[b:b + 1]).backward()  # sample b alone
    alone = float(model[0].weight.grad[i, j])
    formula_diff = max(abs(hidden - lib_hidden), abs(output - lib_output), abs(alone - lib_hidden))
    print(f"\n2. sample {b}: de/dw_ij = delta_i * x_j by hand (numpy) vs grad_sample[{b}]")
    print(f"   first layer  w_{i}{j}: by hand {hidden:+.12f}  grad_sample {lib_hidden:+.12f}  "
          f"sample alone {alone:+.12f}")
    print(f"   output layer w_0{j}: by hand {output:+.12f}  grad_sample {lib_output:+.12f}")
    print(f"   largest difference {formula_diff:.1e}")

    # 3. uneven mini-batches: weight each batch mean by its size
    model.zero_grad()
    cost(model, X, t).backward()
    full = grads(model)
    loader = tl.data.DataLoader(X, t, batch_size=batch, shuffle=False)
    sizes, batch_means = [], []
    for xb, tb in loader:
        model.zero_grad()
        tl.nn.mse_loss(model(xb), tb).backward()
        sizes.append(len(xb))
        batch_means.append(grads(model))
    weighted = [sum(s / n * g[k] for s, g in zip(sizes, batch_means)) for k in range(len(params))]
    unweighted = [sum(g[k] for g in batch_means) / len(sizes) for k in range(len(params))]
    helper = tl.data.accumulate_full_gradient(model, lambda xb, tb: tl.nn.mse_loss(model(xb), tb), loader)
    weighted_diff = max_diff(weighted, full)
    unweighted_diff = max_diff(unweighted, full)
    helper_diff = max_diff(helper, full)
    scale = max(float(np.max(np.abs(g))) for g in full)
    print(f"\n3. N = {n}, batch size {batch}: batches of sizes {sizes}")
    print(f"   g_k = batch k's mean gradient; compared with ONE full-batch backward "
          f"(largest entry {scale:.2e}):")
    print(f"   sum_k (B_k/N) g_k   (weighted by batch size)          max diff {weighted_diff:.1e}")
    print(f"   tl.data.accumulate_full_gradient (does the same)      max diff {helper_diff:.1e}")
    print(f"   (1/K) sum_k g_k     (plain mean of the batch means)   max diff {unweighted_diff:.1e}")
    return {"grad_mean_diff": grad_mean_diff, "formula_diff": formula_diff, "by_hand": hidden,
            "batch_sizes": sizes, "weighted_diff": weighted_diff, "unweighted_diff": unweighted_diff,
            "helper_diff": helper_diff, "gradient_scale": scale}


if __name__ == "__main__":
    main()
