"""A convolutional net on real handwritten digits, and the training images that pull hardest.

scikit-learn ships 1797 scanned 8x8 digits (no download). The net is the project's benchmark
CNN: Conv2d(1,16,3,padding=1) - ReLU - Conv2d(16,32,3,padding=1) - ReLU - Flatten -
Linear(2048,10), trained with Adam on 80% of the images and scored on the other 20%.

Then one backward per chunk of the training set with ``batched=True`` and
``per_sample="norms"`` gives each training image's whole-gradient norm

    n_b = sqrt( sum_p |d e_b / d p|^2 ),

for the convolutions from the kept factors (output cotangent and input patches), without
building any (B, *p.shape) array. The images with the largest n_b are those the trained net
finds hardest: ambiguous or oddly written digits. The picture shows them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional, Union

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # _shared.py, and the package when it is not installed

from _shared import output_dir, progress, pyplot, save_figure  # noqa: E402

import tinygrad_lite as tl  # noqa: E402

nn = tl.nn


def load_digits() -> tuple:
    """scikit-learn's bundled 8x8 digits as (N, 1, 8, 8) float32 in [0, 1] and int labels."""
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    X = (d.images / 16.0).astype(np.float32)[:, None]
    return X, d.target.astype(np.int64)


def make_cnn() -> nn.Module:
    f32 = np.float32
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, dtype=f32), nn.ReLU(),
                         nn.Conv2d(16, 32, 3, padding=1, dtype=f32), nn.ReLU(),
                         nn.Flatten(), nn.Linear(32 * 8 * 8, 10, dtype=f32))


@tl.no_grad()
def accuracy(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    return float((model(tl.Tensor(X)).data.argmax(axis=1) == y).mean())


def sample_norms(model: nn.Module, X: np.ndarray, y: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Each example's whole-gradient norm, from ``backward(per_sample="norms")`` chunk by chunk."""
    out = []
    for i in range(0, len(X), chunk):
        model.zero_grad()
        xb, yb = tl.Tensor(X[i:i + chunk], batched=True), tl.Tensor(y[i:i + chunk], batched=True)
        nn.cross_entropy(model(xb), yb).backward(per_sample="norms")
        out.append(tl.per_sample_norms(model.parameters()))
    model.zero_grad()
    return np.concatenate(out)


def main(fast: bool = False, out: Union[None, str, Path] = None) -> dict:
    """Train the CNN, score it on held-out digits, rank the training images by gradient norm."""
    tl.manual_seed(0)
    X, y = load_digits()
    perm = np.random.default_rng(0).permutation(len(X))
    n_test = len(X) // 5
    test, train = perm[:n_test], perm[n_test:]
    epochs = 6 if fast else 12
    model = make_cnn()
    opt = tl.optim.Adam(model.parameters(), lr=2e-3)
    loader = tl.data.DataLoader(X[train], y[train], batch_size=64, shuffle=True, seed=0)
    losses = []
    for _ in progress(range(epochs), desc="training"):
        total = 0.0
        for xb, yb in loader:
            opt.zero_grad()
            loss = nn.cross_entropy(model(xb), yb)
            loss.backward(per_sample=False)  # training needs the batch gradient only
            opt.step()
            total += float(loss.data) * len(xb)
        losses.append(total / len(train))
    acc = accuracy(model, X[test], y[test])

    norms = sample_norms(model, X[train], y[train])
    top = np.argsort(-norms)[:12]
    with tl.no_grad():
        pred = model(tl.Tensor(X[train][top])).data.argmax(axis=1)
    print(f"{len(train)} training and {n_test} held-out digits (scikit-learn's 8x8 scans), "
          f"CNN with {sum(p.data.size for p in model.parameters())} parameters, Adam, {epochs} epochs")
    print("training loss per epoch:", " ".join(f"{v:.3f}" for v in losses))
    print(f"held-out accuracy: {acc:.3f}")
    print(f"per-example gradient norms: median {np.median(norms):.2e}, largest {norms[top[0]]:.2e}")
    print("largest norms (label -> prediction):", ", ".join(f"{y[train][b]}->{p}" for b, p in zip(top, pred)))

    plt = pyplot()
    picture: Optional[Path] = None
    if plt is not None:
        picture = output_dir(out) / "cnn_digits.png"
        fig, axes = plt.subplots(2, 6, figsize=(8, 3.3))
        for ax, b, p in zip(axes.ravel(), top, pred):
            ax.imshow(X[train][b, 0], cmap="gray_r")
            ax.set_title(f"label {y[train][b]}, net {p}\nnorm {norms[b]:.2f}", fontsize=8)
            ax.axis("off")
        fig.suptitle(f"training digits with the largest per-sample gradient norms (held-out accuracy {acc:.1%})",
                     fontsize=9)
        save_figure(fig, picture)
    return {"accuracy": acc, "losses": losses, "norms": norms, "top": top,
            "top_wrong": int((pred != y[train][top]).sum()),
            "picture": picture}


if __name__ == "__main__":
    main()
