"""More discrete distributions: ``Multinomial``, ``NegativeBinomial`` and
``OneHotCategoricalStraightThrough`` (torch.distributions' names, arguments and formulas).

Each takes ``probs`` or ``logits`` (exactly one) and keeps both, the other computed with Tensor
ops, so ``log_prob`` and ``entropy`` differentiate back to the given parameter. Draws come from
the default generator (``tl.manual_seed`` governs them) and have the parameters' float dtype;
only ``OneHotCategoricalStraightThrough`` has an ``rsample`` (the straight-through estimator).

This module keeps these classes; their draws advance the default generator, nothing else is touched.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Optional, Sequence

import numpy as np

from ..nn import functional as F
from ..tensor import Tensor, tensor
from . import constraints
from .discrete import _POISSON_MAX, Binomial, Categorical, OneHotCategorical, _check_categories, _one_of
from .distribution import Distribution, _generator, _shape, broadcast_all, logits_to_probs, probs_to_logits

__all__ = ["Multinomial", "NegativeBinomial", "OneHotCategoricalStraightThrough"]


class _MultinomialSupport(constraints.Constraint):
    """Count vectors: entries >= 0 summing (over the last dimension) to at most ``upper_bound``."""

    is_discrete = True
    event_dim = 1

    def __init__(self, upper_bound: int) -> None:
        self.upper_bound = upper_bound

    def check(self, value: Any) -> np.ndarray:
        v = np.asarray(getattr(value, "data", value))
        return (v >= 0).all(-1) & (v.sum(-1) <= self.upper_bound)

    def __repr__(self) -> str:
        return f"Multinomial(upper_bound={self.upper_bound})"


class Multinomial(Distribution):
    """Counts of ``total_count`` n independent draws from K categories (event_shape = (K,)):
    log p(x) = lgamma(sum x + 1) - sum lgamma(x_i + 1) + sum x_i log p_i (a term with x_i = 0
    counts 0 even where log p_i = -inf); mean n p, variance n p (1 - p); entropy =
    n H(Categorical(p)) - lgamma(n + 1) + sum_i sum_{k=1..n} Binomial(n, p_i)(k) lgamma(k + 1).
    ``probs`` / ``logits`` are normalised over the last dimension as in ``Categorical``;
    ``total_count`` is one int for the whole batch (``log_prob`` takes the count from the value)."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    _param_properties = ("probs", "logits")

    def __init__(self, total_count: int = 1, probs: Any = None, logits: Any = None,
                 validate_args: Optional[bool] = None) -> None:
        if not isinstance(total_count, numbers.Integral) or isinstance(total_count, (bool, np.bool_)):
            raise NotImplementedError(f"Multinomial: total_count must be one int (inhomogeneous total_count is "
                                      f"not supported), got {type(total_count).__name__}")
        if total_count < 0:
            raise ValueError(f"Multinomial: total_count must be >= 0, got {total_count}")
        _one_of("Multinomial", probs, logits)
        self.total_count = int(total_count)
        self._categorical = Categorical(probs, logits, validate_args=False)
        self._param_name = self._categorical._param_name
        cat = self._categorical
        super().__init__(cat.batch_shape, cat.param_shape[-1:], validate_args=validate_args)

    def _expand_parts(self, new: Distribution, batch_shape: tuple) -> None:
        new._categorical = self._categorical.expand(batch_shape)  # type: ignore[attr-defined]

    def _dtype(self) -> np.dtype:
        return np.dtype(self.probs.dtype)

    probs = property(lambda self: self._categorical.probs, doc="The normalised category probabilities.")
    logits = property(lambda self: self._categorical.logits, doc="The normalised log-probabilities (log p).")
    param_shape = property(lambda self: self._categorical.param_shape, doc="The shape of probs / logits.")

    @property
    def support(self) -> Any:
        return _MultinomialSupport(self.total_count)

    @property
    def mean(self) -> Tensor:
        return self.probs * self.total_count

    variance = Binomial.variance  # each count is Binomial(n, p_i): n p_i (1 - p_i)

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        p = self.probs.data
        _check_categories("Multinomial.sample", p)
        p64 = p.astype(np.float64)
        p64 = p64 / p64.sum(-1, keepdims=True)
        counts = _generator().multinomial(self.total_count, np.broadcast_to(p64, shape), size=shape[:-1])
        return tensor(np.asarray(counts).astype(p.dtype))

    def log_prob(self, value: Any) -> Tensor:
        v = self._value(value)
        logits, v = broadcast_all(self.logits, v)
        skip = (v.data == 0) & (logits.data == -np.inf)
        if skip.any():
            logits = logits.where(~skip, 0.0)
        return (v.sum(-1) + 1).lgamma() - (v + 1).lgamma().sum(-1) + (logits * v).sum(-1)

    def entropy(self) -> Tensor:
        n = self.total_count
        term1 = n * self._categorical.entropy() - math.lgamma(n + 1)
        if n == 0:
            return term1
        binom = Binomial(n, probs=self.probs, validate_args=False)
        k = binom.enumerate_support(expand=False)[1:]
        weights = (k + 1).lgamma()
        return term1 + (binom.log_prob(k).exp() * weights).sum((0, -1))


class NegativeBinomial(Distribution):
    """The number of successes before ``total_count`` r failures, each trial a success with
    probability p (``probs``; ``logits`` = log(p / (1 - p))): log p(k) = lgamma(r + k) -
    lgamma(k + 1) - lgamma(r) + r log sigmoid(-l) + k log sigmoid(l) (the lgamma terms are 0 where
    r + k = 0); mean r e^l, variance mean / sigmoid(-l), mode max(floor((r - 1) e^l), 0).
    Draws are Poisson(G) with G ~ Gamma(r, rate e^(-l))."""

    arg_constraints = {"total_count": constraints.greater_than_eq(0),
                       "probs": constraints.half_open_interval(0.0, 1.0), "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count: Any, probs: Any = None, logits: Any = None,
                 validate_args: Optional[bool] = None) -> None:
        who = "NegativeBinomial"
        _one_of(who, probs, logits)
        self.total_count, given = broadcast_all(total_count, probs if probs is not None else logits, who=who)
        self._param_name = "probs" if probs is not None else "logits"
        setattr(self, self._param_name, given)
        super().__init__(given.shape, validate_args=validate_args)
        if probs is not None:
            self.logits = probs_to_logits(self.probs, is_binary=True)
        else:
            self.probs = logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self) -> tuple:
        return tuple(self.probs.shape)

    @property
    def mean(self) -> Tensor:
        return self.total_count * self.logits.exp()

    @property
    def mode(self) -> Tensor:
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self) -> Tensor:
        return self.mean / (-self.logits).sigmoid()

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        r, lg = self.total_count.data, self.logits.data
        if r.size and not (np.all(r >= 0) and np.all(np.isfinite(r))):
            raise ValueError(f"NegativeBinomial.sample: total_count must be finite and >= 0 to draw, got values "
                             f"from {r.min()} to {r.max()}")
        g = _generator()
        with np.errstate(over="ignore"):
            rate = g.standard_gamma(np.broadcast_to(r.astype(np.float64), shape)) * np.exp(lg.astype(np.float64))
        if rate.size and not (np.all(rate <= _POISSON_MAX)):  # (False for NaN too)
            raise ValueError("NegativeBinomial.sample: the Poisson rates drawn exceed the largest one that can be "
                             f"drawn ({_POISSON_MAX:.4g}); probs too close to 1")
        return tensor(np.asarray(g.poisson(rate)).astype(lg.dtype))

    def log_prob(self, value: Any) -> Tensor:
        v = self._value(value)
        r, lg = self.total_count, self.logits
        unnorm = r * F.logsigmoid(-lg) + v * F.logsigmoid(lg)
        r, v = broadcast_all(r, v)
        zero = (r.data + v.data) == 0
        if zero.any():  # (lgamma's poles cancel there: the term is 0)
            r = r.where(~zero, 1.0)
        norm = -(r + v).lgamma() + (1.0 + v).lgamma() + r.lgamma()
        return unnorm - (norm.where(~zero, 0.0) if zero.any() else norm)


class OneHotCategoricalStraightThrough(OneHotCategorical):
    """OneHotCategorical with the straight-through gradient estimator (Bengio et al., 2013):
    ``rsample`` = a one-hot draw s plus (p - p.detach()), whose value is s and whose gradient
    with respect to the parameters is that of p."""

    has_rsample = True

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        _shape("OneHotCategoricalStraightThrough.rsample", sample_shape)
        s = self.sample(sample_shape)
        return s + (self.probs - self.probs.detach())
