"""Saliency maps: the gradient of a class score with respect to the INPUT image.

Descent never needs dE/dx, but the same backward pass gives it: mark the input
``requires_grad=True`` and every pixel gets the derivative of the score. For a batch
created with ``batched=True`` and a cost that SUMS one term per image,

    x.grad[b] = d score_b / d x_b,     score_b = logit of image b's true class,

because image b's score depends on image b only. ``|x.grad[b]|`` is image b's saliency
map: the pixels whose change moves the score most.

The digits are 8x8 seven-segment glyphs generated in ``_shared.py`` (noise on every
pixel, ink only on the segments). The printed measure: the share of the saliency mass
(sum of |d score / d x|) that falls on the image's own stroke pixels, next to the share of
the image those pixels cover; and the share on the frame of all seven segments (the only
pixels that ever carry ink) next to its area.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional, Union

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # _shared.py, and the package when it is not installed

from _shared import digit_masks, make_digits, output_dir, progress, pyplot, save_figure  # noqa: E402

import tinygrad_lite as tl  # noqa: E402


def train_classifier(X: np.ndarray, labels: np.ndarray, epochs: int, seed: int = 0) -> tl.nn.Module:
    """A 64-32-10 tanh MLP trained with Adam (lr 3e-3) on the cross-entropy, mini-batches of 32."""
    model = tl.nn.Sequential(tl.nn.Linear(64, 32, rng=seed), tl.nn.Tanh(), tl.nn.Linear(32, 10, rng=seed + 1))
    opt = tl.optim.Adam(model.parameters(), lr=3e-3)
    loader = tl.data.DataLoader(X, labels, batch_size=32, shuffle=True, seed=seed)
    for _ in progress(range(epochs), desc="training"):
        for xb, yb in loader:
            opt.zero_grad()
            tl.nn.cross_entropy(model(xb), yb).backward()
            opt.step()
    return model


def accuracy(model: tl.nn.Module, X: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of images whose largest logit is the true class."""
    with tl.no_grad():
        logits = model(tl.Tensor(X)).data
    return float(np.mean(logits.argmax(axis=1) == labels))


def saliency(model: tl.nn.Module, X: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """|d logit_{b, label_b} / d x_b| for every image b, shape (B, 64), from ONE backward.

    The cost is the SUM over the batch of each image's true-class logit, so row b of
    ``x.grad`` is exactly image b's own input gradient (no 1/B factor).
    """
    model.zero_grad()
    x = tl.Tensor(X, batched=True, requires_grad=True, name="images")
    logits = model(x)
    score = logits[np.arange(len(X)), labels].sum()
    score.backward()
    model.zero_grad()
    return np.abs(x.grad)


def main(fast: bool = False, out: Union[None, str, Path] = None) -> dict:
    """Train briefly, take input gradients, print where the saliency lies, save a picture."""
    rng = np.random.default_rng(0)
    n_train, epochs = (1000, 8) if fast else (4000, 10)
    X, y, _ = make_digits(n_train, rng)
    X_test, y_test, masks_test = make_digits(500, rng)

    model = train_classifier(X, y, epochs)
    acc = accuracy(model, X_test, y_test)

    sal = saliency(model, X_test, y_test)
    mass = sal.sum(axis=1)
    on_strokes = float(np.mean((sal * masks_test).sum(axis=1) / mass))
    stroke_area = float(masks_test.mean())
    frame = digit_masks().any(axis=0).reshape(64)
    on_frame = float(np.mean(sal[:, frame].sum(axis=1) / mass))
    frame_area = float(frame.mean())

    print(f"classifier 64-32-10 (tanh), Adam, {epochs} epochs on {n_train} noisy 8x8 digits")
    print(f"test accuracy: {acc:.3f}  (chance 0.100)")
    print("saliency = |d (true-class logit) / d input|, one backward for all "
          f"{len(X_test)} test images (x.grad has shape {sal.shape})")
    rows = [("the image's own strokes", on_strokes, stroke_area),
            ("the seven-segment frame (any ink)", on_frame, frame_area),
            ("pixels that never carry ink", 1 - on_frame, 1 - frame_area)]
    print(f"  {'pixels':36s} {'share of saliency':>17s} {'share of area':>14s} {'ratio':>6s}")
    for label, share, area in rows:
        print(f"  {label:36s} {share:17.3f} {area:14.3f} {share / area:6.2f}")

    plt = pyplot()
    picture: Optional[Path] = None
    if plt is not None:
        picture = output_dir(out) / "saliency.png"
        _plot(plt, X_test, y_test, sal, picture)
    return {"accuracy": acc, "on_strokes": on_strokes, "stroke_area": stroke_area, "on_frame": on_frame,
            "frame_area": frame_area, "picture": picture}


def _plot(plt: object, X: np.ndarray, labels: np.ndarray, sal: np.ndarray, path: Path) -> None:
    """One column per digit 0..9: the input image above its saliency map."""
    fig, axes = plt.subplots(2, 10, figsize=(12, 2.8))
    for d in range(10):
        b = int(np.flatnonzero(labels == d)[0])
        axes[0, d].imshow(X[b].reshape(8, 8), cmap="gray_r", vmin=-0.6, vmax=1.4)
        axes[0, d].set_title(f"digit {d}", fontsize=9)
        axes[1, d].imshow(sal[b].reshape(8, 8), cmap="hot")
        for ax in axes[:, d]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("input")
    axes[1, 0].set_ylabel("|d score/dx|")
    save_figure(fig, path)


if __name__ == "__main__":
    main()
