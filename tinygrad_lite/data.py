"""Mini-batches of a data set, and the exact full-data gradient from them.

``DataLoader`` cuts arrays ``X`` (inputs) and ``y`` (targets) into batches of
``batch_size`` samples along axis 0 and yields them as ``(xb, yb)`` Tensors
marked ``batched=True``, so one ``backward()`` of a cost over a batch gives
both the batch gradient ``p.grad`` and the per-sample gradients
``p.grad_sample``. With ``shuffle=True`` the order is drawn anew every epoch
(each ``iter(loader)`` is one epoch); full-batch gradient descent
(``batch_size=len(X)``), stochastic gradient descent (``batch_size=1``) and
mini-batch SGD are the same training loop with a different batch size.

When the batch size does not divide the number of samples, the last batch is
smaller. Weighting each batch's MEAN gradient by its share of the data
recovers the exact full-data gradient; ``accumulate_full_gradient`` does
exactly that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Union

import numpy as np

from .tensor import Tensor

__all__ = ["DataLoader", "accumulate_full_gradient"]

SeedLike = Union[None, int, np.random.Generator]


def _as_array(a: Any, name: str) -> np.ndarray:
    if a is None:
        raise TypeError(
            f"DataLoader needs {name}; targets are required (for unlabelled data pass placeholder targets, "
            "e.g. np.zeros(len(X)))"
        )
    arr = a.data if isinstance(a, Tensor) else np.asarray(a)
    if arr.ndim == 0:
        raise ValueError(f"DataLoader: {name} must have a sample axis (axis 0), got a 0-d array")
    return arr


class DataLoader:
    """Iterates over ``(xb, yb)`` mini-batches of ``(X, y)`` along axis 0.

    Args:
        X: the inputs, shape ``(N, ...)``: a numpy array, anything
            ``np.asarray`` accepts, or a Tensor (its ``.data`` is used).
        y: the targets, shape ``(N, ...)``, same kinds as ``X``. Required:
            every batch is a pair ``(xb, yb)``. Integer class labels keep
            their integer dtype (as ``cross_entropy`` wants), and float data
            keeps its dtype (float32 stays float32).
        batch_size: samples per batch, an int >= 1.
        shuffle: draw a new random order of the samples for every epoch;
            ``False`` keeps the order of ``X``.
        drop_last: leave out the last batch when it would be smaller than
            ``batch_size``.
        seed: ``None`` (fresh randomness), an int, or a
            ``numpy.random.Generator`` (used, and advanced, as it is). Two
            loaders with the same int seed yield the same sequence of epochs;
            one loader gives a new order every epoch.

    Each ``iter(loader)`` is one epoch: every sample appears exactly once
    (apart from those ``drop_last`` leaves out), in batches of
    ``batch_size`` and a smaller last one when ``batch_size`` does not divide
    ``N``. Batches are new ``Tensor(..., batched=True)`` objects holding
    copies of the rows, without ``requires_grad``. The loader keeps a
    reference to ``X`` and ``y`` (no copy), so changes to those arrays show up
    in later epochs.

    Raises:
        ValueError: if ``len(X) != len(y)``, the data set is empty, or
            ``batch_size`` is not an int >= 1.
        TypeError: if ``y`` is ``None`` or ``seed`` has an unsupported type.
    """

    def __init__(
        self,
        X: Any,
        y: Any,
        batch_size: int = 32,
        shuffle: bool = True,
        drop_last: bool = False,
        seed: SeedLike = None,
    ) -> None:
        self.X = _as_array(X, "X")
        self.y = _as_array(y, "y")
        if len(self.X) != len(self.y):
            raise ValueError(
                f"DataLoader: X and y must have the same number of samples, got len(X) = {len(self.X)} "
                f"and len(y) = {len(self.y)}"
            )
        if len(self.X) == 0:
            raise ValueError("DataLoader: the data set is empty (len(X) == 0)")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be an int >= 1, got {batch_size!r}")
        seed_ok = isinstance(seed, (int, np.integer, np.random.Generator)) and not isinstance(seed, bool)
        if seed is not None and not seed_ok:
            raise TypeError(f"DataLoader: seed must be None, an int or a numpy Generator, got {seed!r}")
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.rng = np.random.default_rng(seed)

    @property
    def num_samples(self) -> int:
        """N, the number of samples in the data set."""
        return len(self.X)

    def __len__(self) -> int:
        """The number of batches per epoch: ``ceil(N / B)``, or ``floor(N / B)`` with ``drop_last``."""
        if self.drop_last:
            return self.num_samples // self.batch_size
        return (self.num_samples + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        """Starts one epoch; with ``shuffle`` its order is drawn right here."""
        n = self.num_samples
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        return self._batches(order)

    def _batches(self, order: np.ndarray) -> Iterator[tuple[Tensor, Tensor]]:
        for k in range(len(self)):
            idx = order[k * self.batch_size : (k + 1) * self.batch_size]
            yield Tensor(self.X[idx], batched=True), Tensor(self.y[idx], batched=True)

    def __repr__(self) -> str:
        return (
            f"DataLoader(N={self.num_samples}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last}, batches={len(self)})"
        )


def _parameters(model_or_params: Any) -> list[Tensor]:
    params = model_or_params.parameters() if hasattr(model_or_params, "parameters") else model_or_params
    params = list(params)
    if not params:
        raise ValueError("accumulate_full_gradient: no parameters given")
    for i, p in enumerate(params):
        if not isinstance(p, Tensor) or not p.requires_grad:
            raise TypeError(
                f"accumulate_full_gradient: parameter {i} is not a Tensor with requires_grad=True"
            )
    return params


def _clear(params: list[Tensor]) -> None:
    for p in params:
        p.grad = None
        p.grad_sample = None


def accumulate_full_gradient(
    model_or_params: Any,
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    loader: Iterable[tuple[Any, Any]],
    reduction: str = "mean",
) -> list[np.ndarray]:
    r"""Computes the exact full-data gradient from mini-batches, one backward per batch.

    Let the data set have N samples, cut into batches k = 1..K of sizes B_k
    (so sum_k B_k = N; the last batch may be smaller). With a MEAN cost per
    batch, ``E_k = (1/B_k) * sum_{b in k} e_b``, its gradient is the batch's
    mean gradient ``g_k = (1/B_k) * sum_{b in k} grad e_b``. The full-data
    mean cost ``E = (1/N) * sum_b e_b`` then has the gradient::

        grad_full = (1/N) * sum_b grad e_b = sum_k (B_k / N) * g_k

    i.e. every batch's mean gradient weighted by its share of the data. The
    plain average of the g_k, ``(1/K) * sum_k g_k``, is NOT the full gradient
    when the batches differ in size: it over-weights the samples of the small
    last batch. With ``reduction="sum"`` each batch cost is a sum,
    ``E_k = sum_{b in k} e_b``, and ``grad_full = sum_k g_k`` is the
    gradient of the full-data sum.

    Args:
        model_or_params: a Module (its ``parameters()`` are used) or an
            iterable of parameter Tensors with ``requires_grad=True``.
        loss_fn: ``loss_fn(xb, yb)`` returns the scalar cost of one batch
            (the MEAN over its samples, or the sum with ``reduction="sum"``),
            e.g. ``lambda xb, yb: tl.nn.mse_loss(model(xb), yb)``.
        loader: yields ``(xb, yb)`` batches, e.g. a :class:`DataLoader`
            (without ``drop_last`` dropping samples: the result would not be
            the full-data gradient, so that is a ``ValueError``).
        reduction: ``"mean"`` or ``"sum"``, how ``loss_fn`` reduces a batch.

    Returns:
        One array per parameter, in order: the full-data gradient. It is also
        left in each ``p.grad`` (REPLACING what was there, not adding to it),
        and every ``p.grad_sample`` is cleared (``None``): per-sample
        gradients are not computed here.
    """
    if reduction not in ("mean", "sum"):
        raise ValueError(f"accumulate_full_gradient: reduction must be 'mean' or 'sum', got {reduction!r}")
    if isinstance(loader, DataLoader) and loader.drop_last and loader.num_samples % loader.batch_size:
        raise ValueError(
            "accumulate_full_gradient: the loader has drop_last=True and drops "
            f"{loader.num_samples % loader.batch_size} of {loader.num_samples} samples, so the result would "
            "not be the full-data gradient"
        )
    params = _parameters(model_or_params)
    totals = [np.zeros(p.shape, dtype=np.promote_types(p.dtype, np.float64)) for p in params]
    n = 0
    for xb, yb in loader:
        size = xb.shape[0] if isinstance(xb, Tensor) else len(xb)
        _clear(params)
        loss = loss_fn(xb, yb)
        if not isinstance(loss, Tensor) or loss.data.size != 1:
            raise ValueError(
                "accumulate_full_gradient: loss_fn must return a one-element Tensor (the batch cost)"
            )
        loss.backward(per_sample=False)
        weight = size if reduction == "mean" else 1  # B_k * g_k = sum of the batch's per-sample gradients
        for total, p in zip(totals, params):
            if p.grad is not None:
                np.add(total, weight * p.grad, out=total)
        n += size
    if n == 0:
        raise ValueError("accumulate_full_gradient: the loader yielded no batches")
    _clear(params)
    grads = []
    for total, p in zip(totals, params):
        g = (total / n if reduction == "mean" else total).astype(p.dtype, copy=False)
        p.grad = g
        grads.append(g.copy())
    return grads
