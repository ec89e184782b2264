"""``ExponentialFamily`` (the base class of distributions with densities
p(x; eta) = exp(<t(x), eta> - A(eta) + k(x))) and ``ContinuousBernoulli``, with their KL rules.

An exponential family names its natural parameters eta (``_natural_params``), its
log-normaliser A (``_log_normalizer(*eta)``) and the mean of its carrier measure E[k(X)]
(``_mean_carrier_measure``). Since E[t(X)] = grad A(eta), the entropy is

    H = A(eta) - <eta, grad A(eta)> - E[k(X)],

and the divergence between two members of one family is the Bregman divergence of A:

    KL(p || q) = A(eta_q) - A(eta_p) - <eta_q - eta_p, grad A(eta_p)>.

Both take grad A by the library's reverse mode with ``create_graph=True``, so they differentiate
back to the parameters. ``ContinuousBernoulli`` has closed forms for both.

This module keeps these classes and registers their KL rules (``register_kl``); draws advance the
default generator, nothing else is touched.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Optional, Sequence

import numpy as np

from ..autograd import grad
from ..tensor import Tensor, tensor
from . import constraints
from .continuous import Exponential, Laplace, Normal, Uniform
from .discrete import _bce, _one_of
from .distribution import Distribution, _noise, _sum_rightmost, broadcast_all, clamp_probs, probs_to_logits
from .gamma import Beta, Gamma
from .kl import register_kl
from .transformed import Pareto
from .transformed_more import Gumbel

__all__ = ["ExponentialFamily", "ContinuousBernoulli"]


def _grad_of_normaliser(d: "ExponentialFamily") -> tuple:
    """(eta, A(eta), grad A(eta), own) with the gradient recorded (create_graph), so later terms
    differentiate back to the parameters; parameters without gradient get internal leaves
    (``own`` is True when none of eta needs a gradient: the caller then detaches its result)."""
    eta = list(d._natural_params)
    own = not any(e.requires_grad for e in eta)
    leaves = [e.detach().requires_grad_() if (own or not e.requires_grad) else e for e in eta]
    a = d._log_normalizer(*leaves)
    grads = grad(a.sum(), leaves, create_graph=True, allow_unused=True)
    grads = [g if g is not None else 0.0 * x for g, x in zip(grads, leaves)]
    return leaves, a, grads, own


class ExponentialFamily(Distribution):
    """A distribution of the exponential family: p(x; eta) = exp(<t(x), eta> - A(eta) + k(x)).

    Subclasses give ``_natural_params`` (a tuple of Tensors eta), ``_log_normalizer(*eta)``
    (A, of shape batch_shape) and ``_mean_carrier_measure`` (E[k(X)]); ``entropy()`` is then
    A(eta) - <eta, grad A(eta)> - E[k(X)] (the inner product summed over each parameter's
    non-batch dimensions), with grad A taken by reverse mode.
    """

    @property
    def _natural_params(self) -> tuple:
        """The natural parameters eta (a tuple of Tensors)."""
        raise NotImplementedError(f"{type(self).__name__}._natural_params is not implemented")

    def _log_normalizer(self, *natural_params: Tensor) -> Tensor:
        """A(eta): the log of the normalising integral, as a function of the natural parameters."""
        raise NotImplementedError(f"{type(self).__name__}._log_normalizer is not implemented")

    @property
    def _mean_carrier_measure(self) -> Any:
        """E[k(X)], the mean of the carrier measure's log density."""
        raise NotImplementedError(f"{type(self).__name__}._mean_carrier_measure is not implemented")

    def entropy(self) -> Tensor:
        """A(eta) - <eta, grad A(eta)> - E[k(X)] (the Bregman form of -E[log p(X)])."""
        eta, a, grads, own = _grad_of_normaliser(self)
        out = a - self._mean_carrier_measure
        for e, g in zip(eta, grads):
            term = e * g
            out = out - term.reshape(tuple(self._batch_shape) + (-1,)).sum(-1)
        return out.detach() if own else out


class ContinuousBernoulli(ExponentialFamily):
    """The continuous Bernoulli distribution on [0, 1] (Loaiza-Ganem and Cunningham, 2019):
    p(x; lambda) = C(lambda) lambda^x (1 - lambda)^(1 - x), with lambda = ``probs`` (or
    sigmoid(``logits``)) and C(lambda) = 2 atanh(1 - 2 lambda) / (1 - 2 lambda) (C = 2 at 1/2).

    With l = logit(lambda): log C = log|log(1 - lambda) - log lambda| - log|1 - 2 lambda|;
    mean = lambda / (2 lambda - 1) + 1 / l; variance = lambda (lambda - 1) / (1 - 2 lambda)^2 +
    1 / l^2; cdf = (lambda^x (1 - lambda)^(1 - x) + lambda - 1) / (2 lambda - 1); icdf(u) =
    (log1p(-lambda + u (2 lambda - 1)) - log1p(-lambda)) / (log lambda - log1p(-lambda));
    entropy = mean log((1 - lambda)/lambda) - log C - log(1 - lambda). For lambda in
    (lims[0], lims[1]] these are cancellations, so lambda is cut to lims[0] and log C, mean and
    variance use their Taylor series about 1/2 in (lambda - 1/2) (cdf and icdf the identity).
    ``probs`` are clamped to [eps, 1 - eps]. rsample = icdf(U), U ~ U[0, 1). Natural parameter
    eta = l, A(eta) = log((e^eta - 1) / eta), E[k(X)] = 0.
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, probs: Any = None, logits: Any = None, lims: Sequence[float] = (0.499, 0.501),
                 validate_args: Optional[bool] = None) -> None:
        who = "ContinuousBernoulli"
        _one_of(who, probs, logits)
        if (not isinstance(lims, (tuple, list)) or len(lims) != 2
                or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in lims)
                or not 0 < lims[0] <= 0.5 <= lims[1] < 1):
            raise ValueError(f"{who}: lims must be a pair (lo, hi) of numbers with 0 < lo <= 0.5 <= hi < 1, "
                             f"got {lims!r}")
        self._lims = (float(lims[0]), float(lims[1]))
        if probs is not None:
            (self.probs,) = broadcast_all(probs, who=who)
            self._param_name = "probs"
        else:
            (self.logits,) = broadcast_all(logits, who=who)
            self._param_name = "logits"
        super().__init__(getattr(self, self._param_name).shape, validate_args=validate_args)
        if probs is not None:
            self.probs = clamp_probs(self.probs)
            self.logits = probs_to_logits(self.probs, is_binary=True)
        else:
            self.probs = clamp_probs(self.logits.sigmoid())

    @property
    def param_shape(self) -> tuple:
        return tuple(self.probs.shape)

    def _outside_unstable_region(self) -> np.ndarray:
        p = self.probs.data
        return (p <= self._lims[0]) | (p > self._lims[1])

    def _cut_probs(self) -> Tensor:
        return self.probs.where(self._outside_unstable_region(), self._lims[0])

    def _cont_bern_log_norm(self) -> Tensor:
        """log C(lambda) (its Taylor series log 2 + (4/3 + 104/45 x) x in x = (lambda - 1/2)^2
        inside the unstable region)."""
        cut = self._cut_probs()
        low = cut.data <= 0.5
        below = cut.where(low, 0.0)
        above = cut.where(cut.data >= 0.5, 1.0)
        side = (-2.0 * below).log1p().where(low, (2.0 * above - 1.0).log())
        log_norm = ((-cut).log1p() - cut.log()).abs().log() - side
        x = (self.probs - 0.5) ** 2
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return log_norm.where(self._outside_unstable_region(), taylor)

    @property
    def mean(self) -> Tensor:
        cut = self._cut_probs()
        mus = cut / (2.0 * cut - 1.0) + 1.0 / ((-cut).log1p() - cut.log())
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * x ** 2) * x
        return mus.where(self._outside_unstable_region(), taylor)

    @property
    def variance(self) -> Tensor:
        cut = self._cut_probs()
        var = cut * (cut - 1.0) / (1.0 - 2.0 * cut) ** 2 + 1.0 / ((-cut).log1p() - cut.log()) ** 2
        x = (self.probs - 0.5) ** 2
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return var.where(self._outside_unstable_region(), taylor)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        return self.icdf(_noise("uniform", shape, self.probs.dtype))

    def log_prob(self, value: Any) -> Tensor:
        v = self._value(value)
        return -_bce(self.logits, v) + self._cont_bern_log_norm()

    def cdf(self, value: Any) -> Tensor:
        v, cut = broadcast_all(self._value(value, "cdf"), self._cut_probs())
        outside = np.broadcast_to(self._outside_unstable_region(), v.shape)
        inner = ((v * cut.log() + (1.0 - v) * (-cut).log1p()).exp() + cut - 1.0) / (2.0 * cut - 1.0)
        out = inner.where(outside, v)
        return out.where(v.data > 0, 0.0).where(v.data < 1, 1.0)

    def icdf(self, value: Any) -> Tensor:
        v, cut = broadcast_all(self._prob(value), self._cut_probs())
        outside = np.broadcast_to(self._outside_unstable_region(), v.shape)
        inner = (((-cut) + v * (2.0 * cut - 1.0)).log1p() - (-cut).log1p()) / (cut.log() - (-cut).log1p())
        return inner.where(outside, v)

    def entropy(self) -> Tensor:
        log0, log1 = (-self.probs).log1p(), self.probs.log()
        return self.mean * (log0 - log1) - self._cont_bern_log_norm() - log0

    @property
    def _natural_params(self) -> tuple:
        return (self.logits,)

    def _log_normalizer(self, x: Tensor) -> Tensor:
        """A(eta) = log((e^eta - 1) / eta), by its series eta/2 + eta^2/24 - eta^4/2880 for
        eta in (lims[0] - 1/2, lims[1] - 1/2]."""
        lo, hi = self._lims[0] - 0.5, self._lims[1] - 0.5
        outside = (x.data <= lo) | (x.data > hi)
        cut = x.where(outside, lo)
        log_norm = cut.expm1().abs().log() - cut.abs().log()
        taylor = 0.5 * x + x ** 2 / 24.0 - x ** 4 / 2880.0
        return log_norm.where(outside, taylor)


def _infinite(*params: Tensor) -> Tensor:
    shape = np.broadcast_shapes(*(tuple(t.shape) for t in params))
    return tensor(np.full(shape, np.inf, dtype=params[0].dtype))


@register_kl(ExponentialFamily, ExponentialFamily)
def _kl_expfamily_expfamily(p: ExponentialFamily, q: ExponentialFamily) -> Tensor:
    """A(eta_q) - A(eta_p) - <eta_q - eta_p, grad A(eta_p)> (one family only)."""
    if type(p) is not type(q):
        raise NotImplementedError(f"kl_divergence: the Bregman form needs one exponential family, got "
                                  f"{type(p).__name__} and {type(q).__name__}")
    eta_p, a_p, grads, own = _grad_of_normaliser(p)
    eta_q = q._natural_params
    out = q._log_normalizer(*eta_q) - a_p
    for ep, eq, g in zip(eta_p, eta_q, grads):
        out = out - _sum_rightmost((eq - ep) * g, len(q.event_shape))
    return out.detach() if own and not any(e.requires_grad for e in eta_q) else out


@register_kl(ContinuousBernoulli, ContinuousBernoulli)
def _kl_cb_cb(p: ContinuousBernoulli, q: ContinuousBernoulli) -> Tensor:
    """E_p[X] (l_p - l_q) + log C_p + log(1 - lambda_p) - log C_q - log(1 - lambda_q)."""
    t1 = p.mean * (p.logits - q.logits)
    t2 = p._cont_bern_log_norm() + (-p.probs).log1p()
    t3 = -q._cont_bern_log_norm() - (-q.probs).log1p()
    return t1 + t2 + t3


@register_kl(ContinuousBernoulli, Exponential)
def _kl_cb_exponential(p: ContinuousBernoulli, q: Exponential) -> Tensor:
    """-H(p) - log rate + rate E_p[X]."""
    return -p.entropy() - q.rate.log() + q.rate * p.mean


@register_kl(ContinuousBernoulli, Normal)
def _kl_cb_normal(p: ContinuousBernoulli, q: Normal) -> Tensor:
    """-H(p) + log(sqrt(2 pi) s) + E_p[(X - m)^2] / (2 s^2)."""
    t2 = 0.5 * (math.log(2.0 * math.pi) + (q.loc / q.scale) ** 2) + q.scale.log()
    t3 = (p.variance + p.mean ** 2 - 2.0 * q.loc * p.mean) / (2.0 * q.scale ** 2)
    return -p.entropy() + t2 + t3


@register_kl(ContinuousBernoulli, Uniform)
def _kl_cb_uniform(p: ContinuousBernoulli, q: Uniform) -> Tensor:
    """-H(p) + log(high - low); inf unless [0, 1] lies inside [low, high]."""
    out = -p.entropy() + (q.high - q.low).log()
    bad = np.broadcast_to((q.low.data > 0) | (q.high.data < 1), out.shape)
    return out.where(~bad, math.inf) if bad.any() else out


@register_kl(ContinuousBernoulli, Pareto)
def _kl_cb_infinity(p: ContinuousBernoulli, q: Distribution) -> Tensor:
    """inf: q gives no mass to part of [0, 1]."""
    return _infinite(p.probs)


@register_kl(Beta, ContinuousBernoulli)
def _kl_beta_cb(p: Beta, q: ContinuousBernoulli) -> Tensor:
    """-H(p) - E_p[X] l_q - log(1 - lambda_q) - log C_q."""
    return -p.entropy() - p.mean * q.logits - (-q.probs).log1p() - q._cont_bern_log_norm()


@register_kl(Uniform, ContinuousBernoulli)
def _kl_uniform_cb(p: Uniform, q: ContinuousBernoulli) -> Tensor:
    """-H(p) - E_p[X] l_q - log(1 - lambda_q) - log C_q; inf unless [low, high] lies inside [0, 1]."""
    out = -p.entropy() - p.mean * q.logits - (-q.probs).log1p() - q._cont_bern_log_norm()
    bad = np.broadcast_to((p.high.data > 1) | (p.low.data < 0), out.shape)
    return out.where(~bad, math.inf) if bad.any() else out


def _kl_outside_unit(p: Distribution, q: ContinuousBernoulli) -> Tensor:
    """inf: p charges points outside [0, 1], where q has no density."""
    return _infinite(p.mean, q.probs)


# Exponential, Gamma and Pareto charge (1, inf); Gumbel, Laplace and Normal the whole real line.
for _family in (Exponential, Gamma, Gumbel, Laplace, Normal, Pareto):
    register_kl(_family, ContinuousBernoulli)(_kl_outside_unit)
