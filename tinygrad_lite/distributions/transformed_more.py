"""The location-scale family members torch builds on ``TransformedDistribution``: ``LogNormal``
(exp of a Normal), ``HalfNormal`` (|Normal|), ``HalfCauchy`` (|Cauchy|), ``Gumbel`` (the
double log of a Uniform, shifted and scaled) and ``LogisticNormal`` (stick breaking of a
Normal vector), with torch.distributions' names, arguments, shapes, ``base_dist`` and
``transforms``.

Draws and, unless a class says otherwise, ``log_prob`` / ``cdf`` / ``icdf`` go through
``TransformedDistribution`` (the base's draw pushed through the transforms; log p_Y(y) =
log p_X(T^{-1}(y)) - log|det J|). The closed forms each class lists (moments, entropy, and
the densities torch also writes out) override them.

This module keeps these classes; their draws advance the default generator, nothing else is touched.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from ..tensor import Tensor, tensor
from . import constraints
from .continuous import Cauchy, Normal, Uniform
from .distribution import _forwarded, broadcast_all
from .transformed import TransformedDistribution
from .transforms import AbsTransform, AffineTransform, ExpTransform, StickBreakingTransform

__all__ = ["LogNormal", "HalfNormal", "HalfCauchy", "Gumbel", "LogisticNormal"]

_EULER = 0.57721566490153286061


class LogNormal(TransformedDistribution):
    """exp(X), X ~ Normal(loc, scale): ``base_dist`` the Normal, ``transforms`` [ExpTransform()];
    log p(y) = Normal.log_prob(log y) - log y; mean exp(loc + scale^2/2), mode exp(loc -
    scale^2), variance expm1(scale^2) exp(2 loc + scale^2), entropy Normal.entropy + loc.
    ``loc`` / ``scale`` are the base Normal's."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive  # type: ignore[assignment]
    has_rsample = True  # type: ignore[assignment]
    _param_properties = ("loc", "scale")

    def __init__(self, loc: Any, scale: Any, validate_args: Optional[bool] = None) -> None:
        loc, scale = broadcast_all(loc, scale, who="LogNormal")
        super().__init__(Normal(loc, scale, validate_args=False), ExpTransform(), validate_args=validate_args)

    loc = _forwarded("base_dist.loc", "The mean of log Y.")
    scale = _forwarded("base_dist.scale", "The standard deviation of log Y.")

    @property
    def mean(self) -> Tensor:
        return (self.loc + self.scale ** 2 / 2).exp()

    @property
    def mode(self) -> Tensor:
        return (self.loc - self.scale ** 2).exp()

    @property
    def variance(self) -> Tensor:
        s2 = self.scale ** 2
        return s2.expm1() * (2 * self.loc + s2).exp()

    def entropy(self) -> Tensor:
        return self.base_dist.entropy() + self.loc


class _HalfOf(TransformedDistribution):
    """|X| for X symmetric about 0 with scale ``scale`` (the base): log p(x) = log p_X(x) + log 2
    for x >= 0, -inf below; cdf 2 F_X(x) - 1; icdf F_X^{-1}((q + 1) / 2); entropy H(X) - log 2."""

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative  # type: ignore[assignment]
    has_rsample = True  # type: ignore[assignment]
    _param_properties = ("scale",)
    _base: Any = None

    def __init__(self, scale: Any, validate_args: Optional[bool] = None) -> None:
        (scale,) = broadcast_all(scale, who=type(self).__name__)
        base = type(self)._base(0.0 * scale.detach(), scale, validate_args=False)
        super().__init__(base, AbsTransform(), validate_args=validate_args)

    scale = _forwarded("base_dist.scale", "The scale of the symmetric base distribution.")

    @property
    def mode(self) -> Tensor:
        return 0.0 * self.scale.detach()

    def log_prob(self, value: Any) -> Tensor:
        v = self._value(value)
        lp = self.base_dist.log_prob(v) + math.log(2)
        return lp.where(np.broadcast_to(v.data >= 0, lp.shape), -math.inf)

    def cdf(self, value: Any) -> Tensor:
        return 2 * self.base_dist.cdf(self._value(value, "cdf")) - 1

    def icdf(self, value: Any) -> Tensor:
        value = self._prob(value)
        return self.base_dist.icdf((value + 1) / 2)

    def entropy(self) -> Tensor:
        return self.base_dist.entropy() - math.log(2)


class HalfNormal(_HalfOf):
    """|X|, X ~ Normal(0, scale): ``base_dist`` the Normal, ``transforms`` [AbsTransform()];
    log p(x) = Normal.log_prob(x) + log 2 for x >= 0 (-inf below); mean scale sqrt(2/pi),
    variance scale^2 (1 - 2/pi), cdf 2 Phi(x/scale) - 1, entropy Normal.entropy - log 2."""

    _base = Normal

    @property
    def mean(self) -> Tensor:
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def variance(self) -> Tensor:
        return self.scale ** 2 * (1 - 2 / math.pi)


class HalfCauchy(_HalfOf):
    """|X|, X ~ Cauchy(0, scale): ``base_dist`` the Cauchy, ``transforms`` [AbsTransform()];
    log p(x) = Cauchy.log_prob(x) + log 2 for x >= 0 (-inf below); mean and variance inf;
    cdf 2 atan(x / scale) / pi; entropy log(2 pi scale)."""

    _base = Cauchy

    @property
    def mean(self) -> Tensor:
        return 0.0 * self.scale.detach() + math.inf

    @property
    def variance(self) -> Tensor:
        return 0.0 * self.scale.detach() + math.inf


class Gumbel(TransformedDistribution):
    """Gumbel(loc, scale): U ~ Uniform(tiny, 1 - eps), Y = loc - scale log(-log U) (``transforms``
    [ExpTransform().inv, AffineTransform(0, -1), ExpTransform().inv, AffineTransform(loc,
    -scale)]). With z = (y - loc) / scale: log p = -(z + exp(-z)) - log scale; cdf exp(-exp(-z));
    icdf loc - scale log(-log q); mean loc + scale euler_gamma; mode loc; variance (pi scale)^2 /
    6; entropy log scale + 1 + euler_gamma (these closed forms override the transformed ones)."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real  # type: ignore[assignment]
    has_rsample = True  # type: ignore[assignment]

    def __init__(self, loc: Any, scale: Any, validate_args: Optional[bool] = None) -> None:
        self._broadcast_params(loc=loc, scale=scale)
        fi = np.finfo(self.loc.dtype)
        zero = 0.0 * self.loc.detach()
        base = Uniform(zero + float(fi.tiny), zero + float(1 - fi.eps), validate_args=False)
        minus_one = tensor(np.full(self.loc.shape, -1.0, dtype=self.loc.dtype))
        super().__init__(base, [ExpTransform().inv, AffineTransform(0, minus_one), ExpTransform().inv,
                                AffineTransform(self.loc, -self.scale)], validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.loc + self.scale * _EULER

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def stddev(self) -> Tensor:
        return (math.pi / math.sqrt(6)) * self.scale

    @property
    def variance(self) -> Tensor:
        return self.stddev ** 2

    def log_prob(self, value: Any) -> Tensor:
        y = (self.loc - self._value(value)) / self.scale
        return (y - y.exp()) - self.scale.log()

    def cdf(self, value: Any) -> Tensor:
        return (-(-(self._value(value, "cdf") - self.loc) / self.scale).exp()).exp()

    def icdf(self, value: Any) -> Tensor:
        value = self._prob(value)
        return self.loc - self.scale * (-value.log()).log()

    def entropy(self) -> Tensor:
        return self.scale.log() + (1 + _EULER)


class LogisticNormal(TransformedDistribution):
    """StickBreakingTransform()(X), X ~ Normal(loc, scale) over the last dimension (K entries:
    a point of the K-simplex, event shape (K + 1,)); ``base_dist`` is Independent(Normal, 1)
    (a scalar loc/scale is taken as one entry); log p(y) = log p_X(x) - log|det J| at x the
    stick-breaking preimage of y. ``loc`` / ``scale`` are the base Normal's."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.simplex  # type: ignore[assignment]
    has_rsample = True  # type: ignore[assignment]
    _param_properties = ("loc", "scale")

    def __init__(self, loc: Any, scale: Any, validate_args: Optional[bool] = None) -> None:
        base = Normal(loc, scale, validate_args=False)
        if not base.batch_shape:
            base = base.expand((1,))
        super().__init__(base, StickBreakingTransform(), validate_args=validate_args)

    loc = _forwarded("base_dist.base_dist.loc", "The mean of the Normal that is stick-broken.")
    scale = _forwarded("base_dist.base_dist.scale", "The standard deviation of the Normal that is stick-broken.")
