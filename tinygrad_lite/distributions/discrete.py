"""Discrete distributions: ``Bernoulli``, ``Categorical``, ``OneHotCategorical``, ``Binomial``,
``Poisson``, ``Geometric`` (torch.distributions' names, arguments and formulas).

Each takes ``probs`` or ``logits`` (exactly one; ``Poisson`` a ``rate``) and keeps both: the
other is computed from the given one with Tensor ops (``sigmoid`` / ``softmax``, or the logs of
the probabilities clamped to [eps, 1 - eps]), so ``log_prob`` and ``entropy`` differentiate back
to the given parameter. Draws have no gradient (no ``rsample``); they come from the default
generator and have the parameters' float dtype, except ``Categorical``'s int64 indices.

This module keeps these classes; their draws advance the default generator, nothing else is touched.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from ..nn import functional as F
from ..tensor import Tensor, tensor
from . import constraints
from .distribution import Distribution, _as_tensor, _generator, _shape, broadcast_all, logits_to_probs, probs_to_logits

__all__ = ["Bernoulli", "Categorical", "OneHotCategorical", "Binomial", "Poisson", "Geometric"]

# the largest rate numpy's Poisson sampler accepts (int64 max less ten of its square roots)
_POISSON_MAX = float(np.iinfo(np.int64).max - 10 * np.sqrt(np.iinfo(np.int64).max))


def _check_probs(who: str, p: np.ndarray) -> None:
    """Probabilities in [0, 1] (NaN is not), else a ValueError naming ``who`` (they can be
    outside with ``validate_args=False``), before anything is drawn."""
    if p.size and not (np.all(p >= 0) and np.all(p <= 1)):
        raise ValueError(f"{who}: probs must lie in [0, 1] to draw, got\n{p}")


def _check_categories(who: str, p: np.ndarray) -> None:
    """Category probabilities (last dimension) finite, >= 0 and of positive sum, else a
    ValueError naming ``who``, before anything is drawn."""
    if p.size and not (np.all(p >= 0) and np.all(np.isfinite(p)) and np.all(p.sum(-1) > 0)):
        raise ValueError(f"{who}: probs must be finite and >= 0 with a positive sum over the last dimension to "
                         f"draw, got\n{p}")


def _one_of(who: str, probs: Any, logits: Any) -> None:
    if (probs is None) == (logits is None):
        raise ValueError(f"{who}: either `probs` or `logits` must be specified, but not both")


def _bce(logits: Tensor, target: Tensor) -> Tensor:
    """max(l, 0) - l t + log(1 + exp(-|l|)) elementwise: -t log sigmoid(l) - (1 - t) log sigmoid(-l)."""
    logits, target = broadcast_all(logits, target)
    return F.binary_cross_entropy_with_logits(logits, target, reduction="none")


class _Binary(Distribution):
    """Shared by the distributions with elementwise probs/logits."""

    _params = (("probs", 0), ("logits", 0))

    def _set_probs(self, probs: Any, logits: Any, *others: Any) -> list:
        who = type(self).__name__
        _one_of(who, probs, logits)
        given = broadcast_all(*others, probs if probs is not None else logits, who=who)
        if probs is not None:
            self.probs = given[-1]
            self.logits = probs_to_logits(self.probs, is_binary=True)
        else:
            self.logits = given[-1]
            self.probs = logits_to_probs(self.logits, is_binary=True)
        self._param_name = "probs" if probs is not None else "logits"
        return given[:-1]

    @property
    def param_shape(self) -> tuple:
        return tuple(self.probs.shape)


class Bernoulli(_Binary):
    """Bernoulli(p): log p(x) = x log p + (1 - x) log(1 - p) (computed from the logits); mean p,
    variance p (1 - p), mode 1[p >= 1/2] (NaN at p = 1/2); entropy = -p log p - (1-p) log(1-p)."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs: Any = None, logits: Any = None, validate_args: Optional[bool] = None) -> None:
        self._set_probs(probs, logits)
        super().__init__(self.probs.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        p = self.probs.data
        return tensor(np.where(p == 0.5, np.nan, (p >= 0.5)).astype(p.dtype))

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        p = self.probs.data
        _check_probs("Bernoulli.sample", p)
        return tensor((_generator().random(shape) < np.broadcast_to(p, shape)).astype(p.dtype))

    def log_prob(self, value: Any) -> Tensor:
        return -_bce(self.logits, self._value(value))

    def entropy(self) -> Tensor:
        return _bce(self.logits, self.probs)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        v = np.arange(2, dtype=self.probs.dtype).reshape((-1,) + (1,) * len(self._batch_shape))
        return tensor(np.broadcast_to(v, (2,) + self._batch_shape).copy() if expand else v)


class Geometric(_Binary):
    """The number of failures before the first success, success probability p: log p(k) =
    k log(1 - p) + log p; mean 1/p - 1, variance (1/p - 1)/p, mode 0; entropy =
    (-p log p - (1-p) log(1-p)) / p."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs: Any = None, logits: Any = None, validate_args: Optional[bool] = None) -> None:
        self._set_probs(probs, logits)
        super().__init__(self.probs.shape, validate_args=validate_args)
        if self._validate_args and probs is not None and not np.all(self.probs.data > 0):
            raise ValueError(f"Geometric: expected parameter probs (Tensor of shape {tuple(self.probs.shape)}) to "
                             f"be positive, but found invalid values:\n{self.probs.data}")

    @property
    def mean(self) -> Tensor:
        return 1.0 / self.probs - 1.0

    @property
    def mode(self) -> Tensor:
        return 0.0 * self.probs.detach()

    @property
    def variance(self) -> Tensor:
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        p = self.probs.data
        u = np.maximum(_generator().random(shape), np.finfo(p.dtype).tiny)
        with np.errstate(divide="ignore"):
            return tensor(np.floor(np.log(u) / np.log1p(-np.broadcast_to(p, shape))).astype(p.dtype))

    def log_prob(self, value: Any) -> Tensor:
        v, p = broadcast_all(self._value(value), self.probs)
        p = p.where(~((p.data == 1) & (v.data == 0)), 0.0)
        return v * (-p).log1p() + self.probs.log()

    def entropy(self) -> Tensor:
        return _bce(self.logits, self.probs) / self.probs


class Binomial(_Binary):
    """Binomial(total_count n, p): log p(k) = lgamma(n+1) - lgamma(k+1) - lgamma(n-k+1) + k log p
    + (n - k) log(1 - p) (computed from the logits); mean n p, variance n p (1 - p), mode
    min(floor((n + 1) p), n); entropy sums over the support (one n for the whole batch)."""

    arg_constraints = {"total_count": constraints.nonnegative_integer, "probs": constraints.unit_interval,
                       "logits": constraints.real}
    has_enumerate_support = True
    _params = (("total_count", 0), ("probs", 0), ("logits", 0))

    def __init__(self, total_count: Any = 1, probs: Any = None, logits: Any = None,
                 validate_args: Optional[bool] = None) -> None:
        (self.total_count,) = self._set_probs(probs, logits, total_count)
        super().__init__(self.probs.shape, validate_args=validate_args)

    @property
    def support(self) -> Any:
        return constraints.integer_interval(0, self.total_count.data)

    @property
    def mean(self) -> Tensor:
        return self.total_count * self.probs

    @property
    def mode(self) -> Tensor:
        m = ((self.total_count + 1) * self.probs).floor()
        return m.minimum(self.total_count)

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        total = self.total_count.data
        if total.size and not (np.all(np.isfinite(total)) and np.all(total >= 0) and np.all(total < 2.0**63)):
            raise ValueError(f"Binomial.sample: total_count must be finite, >= 0 and < 2**63 to draw, got values "
                             f"from {total.min()} to {total.max()}")
        n = np.broadcast_to(total, shape).astype(np.int64)
        p = self.probs.data
        _check_probs("Binomial.sample", p)
        return tensor(np.asarray(_generator().binomial(n, np.broadcast_to(p, shape))).astype(p.dtype))

    def log_prob(self, value: Any) -> Tensor:
        k = self._value(value)
        n, lg = self.total_count, self.logits
        clamp0 = (lg.clamp(min=0) + lg - lg.clamp(max=0)) / 2
        norm = n * clamp0 + n * (-lg.abs()).exp().log1p() - (n + 1).lgamma()
        return k * lg - (k + 1).lgamma() - (n - k + 1).lgamma() - norm

    def entropy(self) -> Tensor:
        n = self.total_count.data
        if n.size and not np.all(n == n.flat[0]):
            raise NotImplementedError("Binomial.entropy: inhomogeneous total_count is not supported")
        lp = self.log_prob(self.enumerate_support(False))
        return -(lp.exp() * lp).sum(0)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        n = self.total_count.data
        if n.size and not np.all(n == n.flat[0]):
            raise NotImplementedError("Binomial.enumerate_support: inhomogeneous total_count is not supported")
        top = int(n.flat[0]) if n.size else 0
        v = np.arange(top + 1, dtype=self.probs.dtype).reshape((-1,) + (1,) * len(self._batch_shape))
        return tensor(np.broadcast_to(v, (top + 1,) + self._batch_shape).copy() if expand else v)


class Poisson(Distribution):
    """Poisson(rate): log p(k) = k log rate - rate - lgamma(k + 1); mean = variance = rate,
    mode floor(rate)."""

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate: Any, validate_args: Optional[bool] = None) -> None:
        super().__init__(self._broadcast_params(rate=rate), validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.rate

    @property
    def mode(self) -> Tensor:
        return self.rate.floor()

    @property
    def variance(self) -> Tensor:
        return self.rate

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        r = self.rate.data
        if r.size and not (np.all(r >= 0) and np.all(r <= _POISSON_MAX)):  # (False for NaN too)
            raise ValueError(f"Poisson.sample: rate must be >= 0 and <= {_POISSON_MAX:.4g} to draw, got values from "
                             f"{r.min()} to {r.max()}")
        return tensor(np.asarray(_generator().poisson(np.broadcast_to(r, shape))).astype(r.dtype))

    def log_prob(self, value: Any) -> Tensor:
        v, rate = broadcast_all(self._value(value), self.rate)
        return v.xlogy(rate) - rate - (v + 1).lgamma()


class Categorical(Distribution):
    """Categorical over {0, ..., K-1} (K = the last dimension of probs / logits): probs are
    normalised (p / sum p), logits too (l - logsumexp l); log p(k) = logits[k]; entropy =
    -sum p log p; mean and variance NaN; mode argmax p. Samples are int64 indices."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}
    has_enumerate_support = True

    def __init__(self, probs: Any = None, logits: Any = None, validate_args: Optional[bool] = None) -> None:
        self._set(probs, logits)
        super().__init__(self.probs.shape[:-1], validate_args=validate_args)

    def _set(self, probs: Any, logits: Any) -> None:
        who = type(self).__name__
        _one_of(who, probs, logits)
        name = "probs" if probs is not None else "logits"
        t = _as_tensor(probs if probs is not None else logits, who, name)
        if t.ndim < 1:
            raise ValueError(f"{who}: `{name}` parameter must be at least one-dimensional, got shape {t.shape}")
        if probs is not None:
            self.probs = t / t.sum(-1, keepdim=True)
            self.logits = probs_to_logits(self.probs)
        else:
            self.logits = t - t.logsumexp(-1, keepdim=True)
            self.probs = logits_to_probs(self.logits)
        self._param_name = name
        self._num_events = t.shape[-1]

    @property
    def param_shape(self) -> tuple:
        return tuple(self.probs.shape)

    @property
    def support(self) -> Any:
        return constraints.integer_interval(0, self._num_events - 1)

    @property
    def mean(self) -> Tensor:
        return tensor(np.full(self._batch_shape, np.nan, dtype=self.probs.dtype))

    @property
    def mode(self) -> Tensor:
        return tensor(self.probs.data.argmax(-1))

    @property
    def variance(self) -> Tensor:
        return tensor(np.full(self._batch_shape, np.nan, dtype=self.probs.dtype))

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        shape = _shape("Categorical.sample", sample_shape) + self._batch_shape
        p = self.probs.data
        _check_categories("Categorical.sample", p)
        cum = np.cumsum(p, -1)
        u = _generator().random(shape)[..., None] * cum[..., -1:]
        idx = (u >= cum).sum(-1)
        return tensor(np.minimum(idx, self._num_events - 1).astype(np.int64))

    def log_prob(self, value: Any) -> Tensor:
        v = self._validate_sample(value)
        k = np.asarray(v.data).astype(np.int64)
        shape = np.broadcast_shapes(k.shape, self._batch_shape)
        lg = self.logits.expand(shape + (self._num_events,))
        return lg.gather(-1, tensor(np.broadcast_to(k, shape)[..., None].copy())).squeeze(-1)

    def entropy(self) -> Tensor:
        lg = self.logits.clamp(min=float(np.finfo(self.logits.dtype).min))
        return -(lg * self.probs).sum(-1)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        v = np.arange(self._num_events).reshape((-1,) + (1,) * len(self._batch_shape))
        return tensor(np.broadcast_to(v, (self._num_events,) + self._batch_shape).copy() if expand else v)


class OneHotCategorical(Distribution):
    """Categorical with one-hot vectors as values (event_shape = (K,)): log p(x) = logits[argmax x];
    mean p, variance p (1 - p), mode the one-hot of argmax p; entropy as Categorical."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}
    support = constraints.one_hot
    has_enumerate_support = True
    _set = Categorical._set
    param_shape = Categorical.param_shape

    def __init__(self, probs: Any = None, logits: Any = None, validate_args: Optional[bool] = None) -> None:
        self._set(probs, logits)
        Distribution.__init__(self, self.probs.shape[:-1], self.probs.shape[-1:], validate_args=validate_args)

    def _categorical(self) -> Categorical:
        c = Categorical.__new__(Categorical)
        c.__dict__.update(self.__dict__)
        c._event_shape = ()
        c._validate_args = False
        return c

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        return tensor(np.eye(self._num_events, dtype=self.probs.dtype)[self.probs.data.argmax(-1)])

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        _check_categories("OneHotCategorical.sample", self.probs.data)
        idx = self._categorical().sample(sample_shape).data
        return tensor(np.eye(self._num_events, dtype=self.probs.dtype)[idx])

    def log_prob(self, value: Any) -> Tensor:
        v = self._validate_sample(value)
        return self._categorical().log_prob(tensor(np.asarray(v.data).argmax(-1)))

    def entropy(self) -> Tensor:
        return self._categorical().entropy()

    def enumerate_support(self, expand: bool = True) -> Tensor:
        n = self._num_events
        v = np.eye(n, dtype=self.probs.dtype).reshape((n,) + (1,) * len(self._batch_shape) + (n,))
        return tensor(np.broadcast_to(v, (n,) + self._batch_shape + (n,)).copy() if expand else v)


