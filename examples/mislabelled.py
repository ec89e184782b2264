"""Which training examples pull hardest? Per-sample gradient norms flag wrong labels.

A classifier is trained on noisy 8x8 digits (generated in ``_shared.py``) of which 5% carry
a deliberately wrong label. Then ONE backward of the mean cross-entropy over the whole
training set, built with ``batched=True``, fills ``p.grad_sample`` for every parameter, and
each example's whole-gradient norm (all parameters together)

    n_b = sqrt( sum_p |d e_b / d p|^2 )

measures how hard example b pulls on the weights. The model has learnt the rule from the
95% of consistent examples, so the mislabelled ones disagree with it the most: their
softmax-minus-onehot error (the output delta of the cross-entropy) is near its maximum, and
so is the gradient it induces. Ranking by n_b, the top k (k = the number of flipped labels)
is compared with the truth (precision = recall here, chance = 5%), together with the AUC:
the probability that a random flipped example outranks a random clean one (chance 0.5).
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


def flip_labels(labels: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple:
    """Give ``fraction`` of the examples a different, random class; returns (labels, flipped mask)."""
    n = len(labels)
    idx = rng.choice(n, size=int(round(fraction * n)), replace=False)
    noisy = labels.copy()
    noisy[idx] = (labels[idx] + rng.integers(1, 10, size=len(idx))) % 10
    flipped = np.zeros(n, dtype=bool)
    flipped[idx] = True
    return noisy, flipped


def auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve: P(score of a random positive > score of a random negative)."""
    ranks = np.empty(len(scores))
    ranks[np.argsort(scores)] = np.arange(1, len(scores) + 1)
    n_pos = int(positive.sum())
    n_neg = len(scores) - n_pos
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def main(fast: bool = False, out: Union[None, str, Path] = None) -> dict:
    """Train on partly mislabelled digits, rank the examples by gradient norm, score the ranking."""
    rng = np.random.default_rng(0)
    n, epochs = (1000, 4) if fast else (2000, 5)
    X, labels, _ = make_digits(n, rng)
    noisy, flipped = flip_labels(labels, 0.05, rng)

    model = tl.nn.Sequential(tl.nn.Linear(64, 32, rng=0), tl.nn.Tanh(), tl.nn.Linear(32, 10, rng=1))
    opt = tl.optim.Adam(model.parameters(), lr=3e-3)
    loader = tl.data.DataLoader(X, noisy, batch_size=32, shuffle=True, seed=0)
    for _ in progress(range(epochs), desc="training"):
        for xb, yb in loader:
            opt.zero_grad()
            tl.nn.cross_entropy(model(xb), yb).backward()
            opt.step()

    # one backward over the whole training set gives every example's gradient
    model.zero_grad()
    cost = tl.nn.cross_entropy(model(tl.Tensor(X, batched=True)), tl.Tensor(noisy, batched=True))
    cost.backward()
    # n_b = sqrt(sum_p |grad_sample_p[b]|^2): each example's whole-gradient norm
    norms = tl.per_sample_norms(model.parameters())
    shape = model[0].weight.grad_sample.shape

    # the norms alone, without storing any per-sample gradient (|delta_b x_b^T| = |delta_b| |x_b|)
    model.zero_grad()
    cost.backward(per_sample="norms")
    norms_only = tl.per_sample_norms(model.parameters())
    assert model[0].weight.grad_sample is None

    k = int(flipped.sum())
    top = np.argsort(-norms)[:k]
    precision = float(flipped[top].mean())
    area = auc(norms, flipped)
    print(f"{n} training digits, {k} of them ({k / n:.0%}) with a wrong label; "
          f"64-32-10 tanh net, Adam, {epochs} epochs")
    print(f"one backward over all {n}: grad_sample of 0.weight has shape {shape}")
    print(f"backward(per_sample='norms') gives the same norms without storing them "
          f"(max difference {np.abs(norms_only - norms).max():.1e})")
    print(f"mean gradient norm: mislabelled {norms[flipped].mean():.3f}, clean {norms[~flipped].mean():.3f}")
    print(f"top {k} by gradient norm: {int(flipped[top].sum())} are mislabelled -> precision = recall = "
          f"{precision:.3f}  (chance {k / n:.3f})")
    print(f"AUC of the gradient norm as a detector: {area:.3f}  (chance 0.5)")
    print("largest norms:", ", ".join(f"#{b} ({'flipped' if flipped[b] else 'clean'}, label {noisy[b]}, "
                                     f"drawn as {labels[b]})" for b in top[:3]))

    plt = pyplot()
    picture: Optional[Path] = None
    if plt is not None:
        picture = output_dir(out) / "mislabelled.png"
        fig, ax = plt.subplots(figsize=(6.5, 3.6))
        bins = np.linspace(0, norms.max(), 40)
        ax.hist(norms[~flipped], bins=bins, alpha=0.7, label=f"clean ({n - k})")
        ax.hist(norms[flipped], bins=bins, alpha=0.7, label=f"mislabelled ({k})")
        ax.set_yscale("log")
        ax.set_xlabel("per-example gradient norm (all parameters)")
        ax.set_ylabel("examples")
        ax.set_title(f"top-{k} precision {precision:.2f}, AUC {area:.3f}")
        ax.legend()
        save_figure(fig, picture)
    return {"n": n, "flipped": k, "precision": precision, "recall": precision, "chance": k / n,
            "auc": area, "norms_only_difference": float(np.abs(norms_only - norms).max()), "picture": picture}


if __name__ == "__main__":
    main()
