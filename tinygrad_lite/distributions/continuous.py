"""Location-scale and related continuous distributions: ``Normal``, ``Uniform``, ``Exponential``,
``Laplace``, ``Cauchy`` (torch.distributions' names, arguments, shapes and formulas; ``Gumbel``,
``HalfNormal``, ``HalfCauchy`` and ``LogNormal``, transformed distributions in torch, are in
``transformed_more.py``). Every one has ``rsample``: the parameters enter the draw
through Tensor ops on noise from the default generator (e.g. ``loc + scale * eps``), so draws,
``log_prob``, ``cdf``, ``icdf`` and ``entropy`` differentiate back to the parameters.

This module keeps these classes; their draws advance the default generator, nothing else is touched.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np

from ..tensor import Tensor
from . import constraints
from .distribution import CentredAtLoc, Distribution, _noise

__all__ = ["Normal", "Uniform", "Exponential", "Laplace", "Cauchy"]

class _LocScale(CentredAtLoc, Distribution):
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, validate_args: Optional[bool] = None) -> None:
        super().__init__(self._broadcast_params(loc=loc, scale=scale), validate_args=validate_args)

    def _eps(self, kind: str, sample_shape: Sequence[int]) -> Tensor:
        return _noise(kind, self._extended_shape(sample_shape), self.loc.dtype)


class Normal(_LocScale):
    """N(loc, scale^2): log p = -(x - loc)^2 / (2 scale^2) - log scale - log sqrt(2 pi);
    rsample = loc + scale * eps, eps ~ N(0, 1); cdf = (1 + erf((x - loc) / (scale sqrt 2))) / 2;
    entropy = 1/2 + log(sqrt(2 pi) scale)."""

    @property
    def stddev(self) -> Tensor:
        return self.scale

    @property
    def variance(self) -> Tensor:
        return self.scale ** 2

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        return self.loc + self._eps("normal", sample_shape) * self.scale

    def log_prob(self, value: Any) -> Tensor:
        v = self._value(value)
        return -((v - self.loc) ** 2) / (2 * self.scale ** 2) - self.scale.log() - math.log(math.sqrt(2 * math.pi))

    def cdf(self, value: Any) -> Tensor:
        v = self._value(value, "cdf")
        return 0.5 * (1 + ((v - self.loc) / (self.scale * math.sqrt(2))).erf())

    def icdf(self, value: Any) -> Tensor:
        value = self._prob(value)
        return self.loc + self.scale * (2 * value - 1).erfinv() * math.sqrt(2)

    def entropy(self) -> Tensor:
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()


class Uniform(Distribution):
    """U[low, high): log p = -log(high - low) inside, -inf outside; rsample = low + (high - low) u;
    cdf = clamp((x - low) / (high - low), 0, 1); entropy = log(high - low). Validation requires
    low < high."""

    arg_constraints = {"low": constraints.dependent, "high": constraints.dependent}
    has_rsample = True

    def __init__(self, low: Any, high: Any, validate_args: Optional[bool] = None) -> None:
        super().__init__(self._broadcast_params(low=low, high=high), validate_args=validate_args)
        if self._validate_args and not np.all(self.low.data < self.high.data):
            raise ValueError(f"Uniform: expected low < high, got low={self.low.data} and high={self.high.data}")

    @property
    def support(self) -> Any:
        return constraints.interval(self.low.data, self.high.data)

    @property
    def mean(self) -> Tensor:
        return (self.high + self.low) / 2

    @property
    def mode(self) -> Tensor:
        return self.high * math.nan

    @property
    def stddev(self) -> Tensor:
        return (self.high - self.low) / 12 ** 0.5

    @property
    def variance(self) -> Tensor:
        return (self.high - self.low) ** 2 / 12

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        u = _noise("uniform", self._extended_shape(sample_shape), self.low.dtype)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value: Any) -> Tensor:
        v = self._value(value)
        inside = (self.low.data <= v.data) & (v.data < self.high.data)
        lp = -(self.high - self.low).log()
        shape = np.broadcast_shapes(tuple(lp.shape), tuple(v.shape))
        return lp.expand(shape).where(np.broadcast_to(inside, shape), -math.inf)

    def cdf(self, value: Any) -> Tensor:
        v = self._value(value, "cdf")
        return ((v - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def icdf(self, value: Any) -> Tensor:
        value = self._prob(value)
        return value * (self.high - self.low) + self.low

    def entropy(self) -> Tensor:
        return (self.high - self.low).log()


class Exponential(Distribution):
    """Exp(rate): log p = log rate - rate x; rsample = e / rate, e ~ Exp(1); cdf = 1 - exp(-rate x);
    entropy = 1 - log rate."""

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, rate: Any, validate_args: Optional[bool] = None) -> None:
        super().__init__(self._broadcast_params(rate=rate), validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.rate.reciprocal()

    @property
    def mode(self) -> Tensor:
        return 0.0 * self.rate.detach()

    @property
    def stddev(self) -> Tensor:
        return self.rate.reciprocal()

    @property
    def variance(self) -> Tensor:
        return self.rate ** -2

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        return _noise("exponential", self._extended_shape(sample_shape), self.rate.dtype) / self.rate

    def log_prob(self, value: Any) -> Tensor:
        return self.rate.log() - self.rate * self._value(value)

    def cdf(self, value: Any) -> Tensor:
        return 1 - (-self.rate * self._value(value, "cdf")).exp()

    def icdf(self, value: Any) -> Tensor:
        value = self._prob(value)
        return -(-value).log1p() / self.rate

    def entropy(self) -> Tensor:
        return 1.0 - self.rate.log()


class Laplace(_LocScale):
    """Laplace(loc, scale): log p = -log(2 scale) - |x - loc| / scale; rsample = loc - scale
    sign(u) log1p(-|u|), u ~ U(eps - 1, 1); cdf = 1/2 - sign(x - loc) expm1(-|x - loc| / scale) / 2;
    entropy = 1 + log(2 scale)."""

    @property
    def stddev(self) -> Tensor:
        return math.sqrt(2) * self.scale

    @property
    def variance(self) -> Tensor:
        return 2 * self.scale ** 2

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        eps = float(np.finfo(self.loc.dtype).eps)
        u = self._eps("uniform", sample_shape) * (2 - eps) + (eps - 1)
        return self.loc - self.scale * u.sign() * (-u.abs()).log1p()

    def log_prob(self, value: Any) -> Tensor:
        v = self._value(value)
        return -(2 * self.scale).log() - (v - self.loc).abs() / self.scale

    def cdf(self, value: Any) -> Tensor:
        d = self._value(value, "cdf") - self.loc
        return 0.5 - 0.5 * d.sign() * (-d.abs() / self.scale).expm1()

    def icdf(self, value: Any) -> Tensor:
        value = self._prob(value)
        term = value - 0.5
        return self.loc - self.scale * term.sign() * (-2 * term.abs()).log1p()

    def entropy(self) -> Tensor:
        return 1 + (2 * self.scale).log()


class Cauchy(_LocScale):
    """Cauchy(loc, scale): log p = -log pi - log scale - log1p(((x - loc) / scale)^2); rsample =
    loc + scale * c, c standard Cauchy; cdf = atan((x - loc) / scale) / pi + 1/2; mean NaN,
    variance inf; entropy = log(4 pi scale)."""

    @property
    def mean(self) -> Tensor:
        return self.loc * math.nan

    @property
    def variance(self) -> Tensor:
        return 0.0 * self.loc.detach() + math.inf

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        return self.loc + self._eps("cauchy", sample_shape) * self.scale

    def log_prob(self, value: Any) -> Tensor:
        z = (self._value(value) - self.loc) / self.scale
        return -math.log(math.pi) - self.scale.log() - (z ** 2).log1p()

    def cdf(self, value: Any) -> Tensor:
        return ((self._value(value, "cdf") - self.loc) / self.scale).atan() / math.pi + 0.5

    def icdf(self, value: Any) -> Tensor:
        value = self._prob(value)
        return (math.pi * (value - 0.5)).tan() * self.scale + self.loc

    def entropy(self) -> Tensor:
        return math.log(4 * math.pi) + self.scale.log()
