"""The exact full-data gradient from mini-batches (re-exported by ``tl.data``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .tensor import Tensor

__all__ = ["accumulate_full_gradient"]


def _check_covers(loader: Any) -> None:
    """ValueError when the loader's batches are known not to hold every sample exactly once."""
    from .loaderparts import describe
    from .samplers import BatchSampler, DistributedSampler, RandomSampler, SubsetRandomSampler, WeightedRandomSampler

    src = loader.batch_sampler if loader.batch_sampler is not None else loader.sampler
    n = loader.num_samples if src is None else len(src) if loader.sampler is not None else 0
    dropped, batch_size = (n % loader.batch_size if loader.drop_last else 0), loader.batch_size
    if type(src) is BatchSampler:
        dropped, batch_size = (len(src.sampler) % src.batch_size if src.drop_last else 0), src.batch_size
        src = src.sampler
    if dropped:
        raise ValueError(f"accumulate_full_gradient: the loader has drop_last=True and drops {dropped} samples "
                         f"(batch_size={batch_size}), so the result would not be the full-data gradient")
    partial = (SubsetRandomSampler, WeightedRandomSampler)
    if type(src) in partial or (type(src) is DistributedSampler and src.num_replicas > 1) or (
            type(src) is RandomSampler and (src.replacement or src.num_samples != len(src.data_source))):
        raise ValueError(f"accumulate_full_gradient: the loader's sampler {describe(src)} does not draw every "
                         "sample exactly once, so the result would not be the full-data gradient")


def _parameters(model_or_params: Any) -> list[Tensor]:
    params = model_or_params.parameters() if hasattr(model_or_params, "parameters") else model_or_params
    if isinstance(params, Tensor) or not isinstance(params, Iterable):
        raise TypeError("accumulate_full_gradient: model_or_params must be a Module or an iterable of parameters, "
                        f"got {type(model_or_params).__name__}")
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
        p.zero_grad()


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
    if not callable(loss_fn):
        raise TypeError(f"accumulate_full_gradient: loss_fn must be callable, got {type(loss_fn).__name__}")
    if not isinstance(loader, Iterable):
        raise TypeError(f"accumulate_full_gradient: loader must be an iterable of (xb, yb) batches, got "
                        f"{type(loader).__name__}")
    from .data import DataLoader

    if isinstance(loader, DataLoader) and loader.sampling == "poisson":
        raise ValueError(
            "accumulate_full_gradient: the loader has sampling='poisson', whose batches do not cover the "
            "data set exactly once; use sampling='shuffle'"
        )
    if isinstance(loader, DataLoader):
        _check_covers(loader)
    params = _parameters(model_or_params)
    totals = [np.zeros(p.shape, dtype=np.promote_types(p.dtype, np.float64)) for p in params]
    n = 0
    for xb, yb in loader:
        size = xb.shape[0] if isinstance(xb, Tensor) else len(xb)
        if size == 0:  # an empty part of a sharded batch adds nothing
            continue
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
