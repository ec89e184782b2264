r"""Statistics of per-sample gradients: their variance, and the gradient noise scale.

After ``cost.backward()`` over a batched input each parameter ``p`` holds its B per-sample
gradients ``S_b`` (``p.grad_sample[b]``, the gradient of sample b's term of the cost), kept
as factors where the layer allows it. Two statistics come from them:

* :func:`gradient_variance`: elementwise, ``Var_b S_b = (1/B) sum_b S_b**2 - m**2`` with
  ``m = (1/B) sum_b S_b``. For a Linear weight ``S_b = dy_b (x) x_b`` (output cotangent row
  times input row), so ``sum_b S_b**2 = (dY*dY)^T (X*X)``: one matmul, no ``(B, *p.shape)``
  array.
* :class:`NoiseScale`: McCandlish et al. (2018), "An Empirical Model of Large-Batch
  Training". If the per-sample gradients have mean ``G`` and covariance ``Sigma``, the
  gradient of a batch of B has ``E|g_B|^2 = |G|^2 + tr(Sigma) / B``, and the batch size
  beyond which larger batches stop saving steps is about ``B_simple = tr(Sigma) / |G|^2``.
  From one batch's per-sample squared norms ``s_b = |S_b|^2`` (all parameters together)
  and its mean gradient ``g = (1/B) sum_b S_b``, unbiased estimates are::

      S  = (sum_b s_b - B |g|^2) / (B - 1)      of tr(Sigma)   (the sample covariance's trace)
      G2 = |g|^2 - S / B                         of |G|^2

  (the paper's two-batch-size estimator with B_small = 1 and B_big = B). Both are noisy,
  so they are smoothed with bias-corrected exponential moving averages before the ratio.
"""

from __future__ import annotations

import numbers
from typing import Any, Iterable, Optional

import numpy as np

from . import persample

__all__ = ["gradient_variance", "NoiseScale"]


def _check_param(p: Any) -> None:
    if not (isinstance(getattr(p, "data", None), np.ndarray) and hasattr(p, "_ps")):
        raise TypeError(f"expected a parameter Tensor, got {type(p).__name__}")


def _norms_only(p: Any) -> bool:
    return p._ps is None and p._gs is None and getattr(p, "_gsnorm", None) is not None


def _wide(p: Any) -> Any:
    """p's kept rows, with float64 factors where p is narrower (sums of B rows in float64)."""
    ps = p._ps
    return ps.widened() if ps is not None and p.data.dtype.kind == "f" and p.data.dtype.itemsize < 8 else ps


def _mean_and_B(p: Any, ps: Any = None) -> tuple:
    """``(m, B)``: the mean over the batch of p's per-sample gradients (float64), from the
    kept factors (``ps``, p's own by default) or a dense ``grad_sample``; None if p has neither."""
    if p._ps is not None:
        p._ps.check(persample.label(p))
        ps = p._ps if ps is None else ps
        B = ps.B
        m = ps.weighted_sum(np.full(B, 1.0 / B if B else 0.0)) if B else np.zeros(p.shape)
        return np.asarray(m, dtype=np.float64), B
    if p._gs is not None:
        S = np.asarray(p._gs)
        return (S.astype(np.float64, copy=False).mean(axis=0) if len(S) else np.zeros(S.shape[1:])), len(S)
    return None, 0


def _rows(p: Any) -> Optional[int]:
    """How many per-sample rows ``p`` holds (None: none at all)."""
    if p._ps is not None:
        return p._ps.B
    for a in (p._gs, getattr(p, "_gsnorm", None)):
        if a is not None:
            return int(np.shape(a)[0])
    return None


def gradient_variance(p: Any) -> np.ndarray:
    r"""The variance over the batch of ``p``'s per-sample gradients, elementwise, float64.

    ``Var[i] = (1/B) sum_b S_b[i]**2 - m[i]**2`` with ``m = (1/B) sum_b S_b`` (the 1/B, i.e.
    population, variance; multiply by ``B / (B - 1)`` for the unbiased one). ``sum_b S_b**2``
    and ``sum_b S_b`` come from the kept factors (``SampleGrads.sq_sum()`` and
    ``weighted_sum``): for a Linear weight ``(g*g)^T (a*a)`` and ``g^T a``, without a
    ``(B, *p.shape)`` array. The sums are taken in float64 (float32 factors are widened
    first: in float32 the subtraction would cancel most digits where the gradients' mean is
    large against their spread). Tiny negative results of its rounding are set to 0.

    Raises:
        TypeError: ``p`` is not a parameter Tensor.
        RuntimeError: ``p`` has no per-sample gradients: no backward over a batched input
            since ``zero_grad()``, or ``backward(per_sample="norms")``, which keeps norms only;
            or the graph mixed samples.
        ValueError: the batch was empty.
    """
    _check_param(p)
    if _norms_only(p):
        raise RuntimeError("gradient_variance: after backward(per_sample=\"norms\") only the per-sample norms are "
                           "kept, not the per-sample gradients the variance needs; run the default backward()")
    ps = _wide(p)
    m, B = _mean_and_B(p, ps)
    if m is None:
        raise RuntimeError("gradient_variance: this parameter has no per-sample gradients; run backward() on a cost "
                           "over a batched input (tl.Tensor(x, batched=True) or a tl.data.DataLoader batch) first")
    if B == 0:
        raise ValueError("gradient_variance: the batch is empty (B = 0); the variance needs at least one sample")
    if p._ps is not None:
        sq = np.asarray(ps.sq_sum(), dtype=np.float64)
    else:
        S = np.asarray(p._gs).astype(np.float64, copy=False)
        sq = np.einsum("b...,b...->...", S, S)
    var = sq / B - m * m
    return np.maximum(var, 0.0, out=var)


def _parameters(params: Any) -> list:
    if callable(getattr(params, "parameters", None)):
        params = params.parameters()
    if isinstance(params, (str, bytes)) or not isinstance(params, Iterable):
        raise TypeError(f"params must be a Module or an iterable of parameter Tensors, got {type(params).__name__}")
    params = list(params)
    for p in params:
        _check_param(p)
    return params


class NoiseScale:
    r"""The gradient noise scale ``B_simple = tr(Sigma) / |G|^2`` of McCandlish et al. (2018),
    tracked over training (see the module docstring for the estimators).

    Call :meth:`update` after each backward over a batched input (a mean or a sum cost:
    either way it uses the per-sample gradients ``S_b`` and their MEAN ``g``, not
    ``p.grad``, which for a sum cost is B times that). Each update forms
    ``S = (sum_b s_b - B |g|^2) / (B - 1)`` and ``G2 = |g|^2 - S / B`` and updates::

        ema_S <- beta * ema_S + (1 - beta) * S          (both start at 0)
        ema_G <- beta * ema_G + (1 - beta) * G2
        trace_sigma = ema_S / (1 - beta**t),  grad_sqnorm = ema_G / (1 - beta**t),
        b_simple = trace_sigma / grad_sqnorm             t = number of updates

    After ``backward(per_sample="norms")`` the squared norms come from
    ``grad_sample_norm`` and ``g`` from ``p.grad`` divided by ``c * B``, c the weight the
    cost gives each sample's term (1/B for a mean; 1 for a sum, and for a mean written
    ``.sum() / B``, whose per-sample gradients carry the 1/B). Micro-batches accumulated
    before ``update`` must share that weight there (``ValueError`` otherwise).

    Args:
        beta: the smoothing factor in [0, 1); 0 keeps only the last batch.

    Attributes:
        trace_sigma, grad_sqnorm, b_simple: the smoothed estimates (None before the first
            update). ``grad_sqnorm`` is an unbiased estimate and can come out
            negative when the noise dominates (then so does ``b_simple``: the batch is far
            below the noise scale, or training is at a minimum); ``b_simple`` is inf when
            ``grad_sqnorm`` is exactly 0.
        last_trace_sigma, last_grad_sqnorm: the raw estimates S and G2 of the last batch.
        steps: the number of updates t.
    """

    def __init__(self, beta: float = 0.99) -> None:
        if isinstance(beta, (bool, np.bool_)) or not isinstance(beta, numbers.Real):
            raise TypeError(f"invalid beta: {beta!r} (must be a real number in [0, 1))")
        if not 0.0 <= float(beta) < 1.0:
            raise ValueError(f"invalid beta: {beta!r} (must be in [0, 1))")
        self.beta = float(beta)
        self.reset()

    def reset(self) -> None:
        """Forget every update."""
        self.steps = 0
        self._ema_s = 0.0
        self._ema_g = 0.0
        self.trace_sigma: Optional[float] = None
        self.grad_sqnorm: Optional[float] = None
        self.b_simple: Optional[float] = None
        self.last_trace_sigma: Optional[float] = None
        self.last_grad_sqnorm: Optional[float] = None

    def __repr__(self) -> str:
        return (f"NoiseScale(beta={self.beta}, steps={self.steps}, trace_sigma={self.trace_sigma}, "
                f"grad_sqnorm={self.grad_sqnorm}, b_simple={self.b_simple})")

    @staticmethod
    def _batch(params: list) -> tuple:
        """``(sum_b s_b, |g|^2, B)`` over all parameters with per-sample data. Kept rows line
        up by batch (``persample.layout``): a parameter a micro-batch's cost did not reach has
        zero gradients for its samples, which add nothing to ``s_b`` and dilute its mean."""
        total = 0.0
        g2 = 0.0
        records = [p._ps for p in params if p._ps is not None]
        B: Optional[int] = persample.layout(records)[0] if records else None
        for p in params:
            nb = _rows(p)
            if nb is not None and nb < 2:  # before any norm: say what is wrong first
                raise ValueError(f"NoiseScale.update needs a batch of at least 2 samples, got B = {nb}")
            wide = _wide(p)
            s = persample.sq_norms_of(p, wide)
            if s is None:
                if p.grad is not None:
                    raise RuntimeError(f"NoiseScale: parameter {persample.label(p)} has .grad but no per-sample "
                                       "gradients; run backward() on a cost over a batched input")
                continue
            if p._ps is None and B is not None and s.shape[0] != B:
                raise RuntimeError(f"NoiseScale: per-sample gradients disagree on the batch size: {B} and "
                                   f"{s.shape[0]} samples")
            if p._ps is None:
                B = s.shape[0]
            if _norms_only(p):
                m = NoiseScale._mean_from_grad(p, s.shape[0])
            else:
                m, own = _mean_and_B(p, wide)
                m = m * (own / B) if own != B else m
            total += float(np.sum(s))
            g2 += float(np.dot(m.reshape(-1), m.reshape(-1)))
        if B is None:
            raise RuntimeError("NoiseScale.update: no parameter has per-sample gradients; run backward() on a cost "
                               "over a batched input first")
        return total, g2, B

    @staticmethod
    def _mean_from_grad(p: Any, B: int) -> np.ndarray:
        """The mean of the B norms-pass rows S_b: ``.grad = c * sum_b S_b`` for the cost's weight
        c of each sample's term (1/B for a mean, 1 for a sum or a mean written ``.sum() / B``,
        whose rows carry the 1/B), recorded by the pass; passes of different weights refuse."""
        kept = getattr(p, "_nkeys", None)
        c = kept[2] if kept is not None and len(kept) > 2 else None
        if p.grad is None or c is None:
            raise ValueError(f"NoiseScale: after backward(per_sample=\"norms\") the batch's mean gradient comes from "
                             f"the .grad of {persample.label(p)}, which here adds backwards whose costs weight their "
                             "samples differently (means over batches of different sizes); call update() after "
                             "each backward, or run the default backward()")
        return np.asarray(p.grad, dtype=np.float64) / (c * B)

    def update(self, params: Any) -> Optional[float]:
        """Add the current batch's estimates (``params``: a Module or an iterable of
        parameters); returns the new ``b_simple``. Raises ``ValueError`` when B < 2 (one
        sample says nothing about the spread); a failing update changes nothing."""
        total, g2, B = self._batch(_parameters(params))
        if B < 2:
            raise ValueError(f"NoiseScale.update needs a batch of at least 2 samples, got B = {B}")
        S = (total - B * g2) / (B - 1)
        G2 = g2 - S / B
        b = self.beta
        self.steps += 1
        self._ema_s = b * self._ema_s + (1.0 - b) * S
        self._ema_g = b * self._ema_g + (1.0 - b) * G2
        corr = 1.0 - b ** self.steps
        self.trace_sigma = self._ema_s / corr
        self.grad_sqnorm = self._ema_g / corr
        self.b_simple = self.trace_sigma / self.grad_sqnorm if self.grad_sqnorm != 0 else float("inf")
        self.last_trace_sigma, self.last_grad_sqnorm = S, G2
        return self.b_simple
