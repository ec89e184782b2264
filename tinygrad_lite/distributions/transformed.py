"""``TransformedDistribution`` and the distributions torch builds on it: ``Weibull``, ``Pareto``,
``Kumaraswamy``, ``RelaxedBernoulli`` (over ``LogitRelaxedBernoulli``) and
``RelaxedOneHotCategorical`` (over ``ExpRelaxedCategorical``), with torch.distributions' names,
arguments, shapes and formulas.

Y = T(X), X ~ base, T = transforms[-1] o ... o transforms[0]:
log p_Y(y) = log p_X(T^{-1}(y)) - sum_i log|det J_i| (each Jacobian term summed over the event
dimensions it lacks); cdf/icdf go through the base for monotone T (with 1 - F for decreasing T).

This module keeps these classes; their draws advance the default generator, nothing else is touched.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np

from ..graph import no_grad
from ..nn import functional as F
from ..tensor import Tensor
from . import constraints
from .continuous import Exponential, Uniform
from .discrete import Categorical
from .distribution import (
    Distribution,
    _as_tensor,
    _forwarded,
    _noise,
    _sum_rightmost,
    broadcast_all,
    clamp_probs,
)
from .multivariate import Independent
from .transforms import AffineTransform, ComposeTransform, ExpTransform, PowerTransform, SigmoidTransform, Transform

__all__ = ["TransformedDistribution", "Weibull", "Pareto", "Kumaraswamy", "LogitRelaxedBernoulli",
           "RelaxedBernoulli", "ExpRelaxedCategorical", "RelaxedOneHotCategorical"]

_EULER = 0.57721566490153286061


class TransformedDistribution(Distribution):
    """The law of T(X), X ~ ``base_distribution``, for a Transform or a list of them (applied in
    order). Shapes follow the transforms' ``forward_shape`` and event dims; batch dimensions of
    the base that the transforms' domain needs as event dimensions are reinterpreted
    (``Independent``)."""

    arg_constraints: dict = {}

    def __init__(self, base_distribution: Distribution, transforms: Any,
                 validate_args: Optional[bool] = None) -> None:
        who = type(self).__name__
        if isinstance(transforms, Transform):
            transforms = [transforms]
        elif isinstance(transforms, (list, tuple)):
            transforms = list(transforms)
            for t in transforms:
                if not isinstance(t, Transform):
                    raise ValueError(f"{who}: transforms must be a Transform or a list of Transforms, "
                                     f"got an element of type {type(t).__name__}")
        else:
            raise ValueError(f"{who}: transforms must be a Transform or a list, got {type(transforms).__name__}")
        if not isinstance(base_distribution, Distribution):
            raise TypeError(f"{who}: base_distribution must be a Distribution, got {type(base_distribution).__name__}")
        self.transforms = transforms
        base_shape = base_distribution.batch_shape + base_distribution.event_shape
        base_event_dim = len(base_distribution.event_shape)
        t = ComposeTransform(transforms)
        dom_ev = t.domain.event_dim
        if len(base_shape) < dom_ev:
            raise ValueError(f"{who}: base_distribution needs at least {dom_ev} dimensions, but got "
                             f"shape {base_shape}")
        forward_shape = t.forward_shape(base_shape)
        expanded = t.inverse_shape(forward_shape)
        if expanded != base_shape:
            base_distribution = base_distribution.expand(expanded[:len(expanded) - base_event_dim])
        if dom_ev - base_event_dim > 0:
            base_distribution = Independent(base_distribution, dom_ev - base_event_dim)
        self.base_dist = base_distribution
        event_dim = t.codomain.event_dim + max(base_event_dim - dom_ev, 0)
        cut = len(forward_shape) - event_dim
        super().__init__(forward_shape[:cut], forward_shape[cut:], validate_args=validate_args)

    def expand(self, batch_shape: Sequence[int], _instance: Any = None) -> "Distribution":
        batch_shape = self._expand_target(batch_shape)
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        shape = batch_shape + self._event_shape
        for tr in reversed(self.transforms):
            shape = tr.inverse_shape(shape)
        nb = len(shape) - len(self.base_dist.event_shape)
        new.base_dist = self.base_dist.expand(shape[:nb])
        return self._expanded(new, batch_shape)

    has_rsample = _forwarded("base_dist.has_rsample")  # type: ignore[assignment]

    def _dtype(self) -> np.dtype:
        for name, _ in self._params:
            if isinstance(self.__dict__.get(name), Tensor):
                return super()._dtype()
        return self.base_dist._dtype()

    @property
    def support(self) -> Any:
        if not self.transforms:
            return self.base_dist.support
        s = self.transforms[-1].codomain
        if len(self._event_shape) > s.event_dim:
            s = constraints.independent(s, len(self._event_shape) - s.event_dim)
        return s

    def _apply(self, x: Tensor) -> Tensor:
        for t in self.transforms:
            x = t(x)
        return x

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        with no_grad():
            return self._apply(self.base_dist.sample(sample_shape)).detach()

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        return self._apply(self.base_dist.rsample(sample_shape))

    def log_prob(self, value: Any) -> Tensor:
        """log p_base(x) - sum of the transforms' log|det J| at the preimages of ``value``."""
        y = self._value(value)
        event_dim = len(self._event_shape)
        lp: Any = 0.0
        for t in reversed(self.transforms):
            x = t.inv(y)
            event_dim += t.domain.event_dim - t.codomain.event_dim
            lp = lp - _sum_rightmost(t.log_abs_det_jacobian(x, y), event_dim - t.domain.event_dim)
            y = x
        return lp + _sum_rightmost(self.base_dist.log_prob(y), event_dim - len(self.base_dist.event_shape))

    def _monotonize_cdf(self, value: Tensor) -> Tensor:
        sign: Any = 1
        for t in self.transforms:
            sign = sign * t.sign
        if isinstance(sign, int) and sign == 1:
            return value
        return sign * (value - 0.5) + 0.5

    def cdf(self, value: Any) -> Tensor:
        """F_base(T^{-1}(value)), or 1 - that for a decreasing T."""
        v = self._value(value, "cdf")
        for t in reversed(self.transforms):
            v = t.inv(v)
        return self._monotonize_cdf(self.base_dist.cdf(v))

    def icdf(self, value: Any) -> Tensor:
        """T(F_base^{-1}(q)), with q -> 1 - q for a decreasing T."""
        v = self.base_dist.icdf(self._monotonize_cdf(self._prob(value)))
        return self._apply(v)

    def __repr__(self) -> str:
        if type(self) is TransformedDistribution:
            return f"TransformedDistribution({self.base_dist!r}, {self.transforms!r})"
        return super().__repr__()


class Weibull(TransformedDistribution):
    """Weibull(scale lambda, concentration k): X ~ Exp(1), Y = lambda X^(1/k); mean lambda
    Gamma(1 + 1/k), variance lambda^2 (Gamma(1 + 2/k) - Gamma(1 + 1/k)^2), entropy
    euler (1 - 1/k) + log(lambda / k) + 1."""

    arg_constraints = {"scale": constraints.positive, "concentration": constraints.positive}
    support = constraints.positive  # type: ignore[assignment]

    def __init__(self, scale: Any, concentration: Any, validate_args: Optional[bool] = None) -> None:
        self.scale, self.concentration = broadcast_all(scale, concentration, who="Weibull")
        self.concentration_reciprocal = self.concentration.reciprocal()
        base = Exponential(0.0 * self.scale.detach() + 1.0, validate_args=False)
        super().__init__(base, [PowerTransform(self.concentration_reciprocal), AffineTransform(0, self.scale)],
                         validate_args=validate_args)

    def expand(self, batch_shape: Sequence[int], _instance: Any = None) -> Distribution:
        s = self._expand_target(batch_shape)
        return self._rebuilt(Weibull(self.scale.expand(s), self.concentration.expand(s), validate_args=False))

    @property
    def mean(self) -> Tensor:
        return self.scale * (1 + self.concentration_reciprocal).lgamma().exp()

    @property
    def mode(self) -> Tensor:
        k = self.concentration
        return self.scale * ((k - 1) / k).pow(k.reciprocal()).clamp(min=0)

    @property
    def variance(self) -> Tensor:
        r = self.concentration_reciprocal
        return self.scale ** 2 * ((1 + 2 * r).lgamma().exp() - (2 * (1 + r).lgamma()).exp())

    def entropy(self) -> Tensor:
        return _EULER * (1 - self.concentration_reciprocal) + (self.scale / self.concentration).log() + 1


class Pareto(TransformedDistribution):
    """Pareto(scale m, alpha): X ~ Exp(alpha), Y = m exp(X); support [m, inf); mean m alpha /
    (alpha - 1) (inf for alpha <= 1), variance m^2 alpha / ((alpha - 1)^2 (alpha - 2)) (inf for
    alpha <= 2), entropy log(m / alpha) + 1/alpha + 1."""

    arg_constraints = {"scale": constraints.positive, "alpha": constraints.positive}

    def __init__(self, scale: Any, alpha: Any, validate_args: Optional[bool] = None) -> None:
        self.scale, self.alpha = broadcast_all(scale, alpha, who="Pareto")
        super().__init__(Exponential(self.alpha, validate_args=False),
                         [ExpTransform(), AffineTransform(0, self.scale)], validate_args=validate_args)

    def expand(self, batch_shape: Sequence[int], _instance: Any = None) -> Distribution:
        s = self._expand_target(batch_shape)
        return self._rebuilt(Pareto(self.scale.expand(s), self.alpha.expand(s), validate_args=False))

    @property
    def support(self) -> Any:
        return constraints.greater_than_eq(self.scale.data)

    @property
    def mean(self) -> Tensor:
        a = self.alpha.clamp(min=1)
        return (a * self.scale / (a - 1)).where(self.alpha.data > 1, math.inf)

    @property
    def mode(self) -> Tensor:
        return self.scale

    @property
    def variance(self) -> Tensor:
        a = self.alpha.clamp(min=2)
        return (self.scale ** 2 * a / ((a - 1) ** 2 * (a - 2))).where(self.alpha.data > 2, math.inf)

    def entropy(self) -> Tensor:
        return (self.scale / self.alpha).log() + (1 + self.alpha.reciprocal())


class Kumaraswamy(TransformedDistribution):
    """Kumaraswamy(a = concentration1, b = concentration0) on (0, 1): U ~ U(0, 1), Y = (1 -
    U^(1/b))^(1/a); p(y) = a b y^(a-1) (1 - y^a)^(b-1); E[Y^n] = b B(1 + n/a, b); entropy
    (1 - 1/b) + (1 - 1/a) H_b - log a - log b, H_b = digamma(b + 1) + euler."""

    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval  # type: ignore[assignment]

    def __init__(self, concentration1: Any, concentration0: Any, validate_args: Optional[bool] = None) -> None:
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0, who="Kumaraswamy")
        z = 0.0 * self.concentration0.detach()
        super().__init__(Uniform(z, z + 1.0, validate_args=False),
                         [PowerTransform(self.concentration0.reciprocal()), AffineTransform(1.0, -1.0),
                          PowerTransform(self.concentration1.reciprocal())], validate_args=validate_args)

    def expand(self, batch_shape: Sequence[int], _instance: Any = None) -> Distribution:
        s = self._expand_target(batch_shape)
        return self._rebuilt(Kumaraswamy(self.concentration1.expand(s), self.concentration0.expand(s),
                                         validate_args=False))

    def _moment(self, n: int) -> Tensor:
        a, b = self.concentration1, self.concentration0
        arg1 = 1 + n / a
        return b * (arg1.lgamma() + b.lgamma() - (arg1 + b).lgamma()).exp()

    @property
    def mean(self) -> Tensor:
        return self._moment(1)

    @property
    def mode(self) -> Tensor:
        a, b = self.concentration1, self.concentration0
        m = ((a - 1) / (a * b - 1)).pow(a.reciprocal())
        return m.where((a.data >= 1) & (b.data >= 1), math.nan)

    @property
    def variance(self) -> Tensor:
        return self._moment(2) - self._moment(1) ** 2

    def entropy(self) -> Tensor:
        a, b = self.concentration1, self.concentration0
        h = (b + 1).digamma() + _EULER
        return (1 - b.reciprocal()) + (1 - a.reciprocal()) * h - a.log() - b.log()


def _temperature(who: str, temperature: Any) -> Tensor:
    """``temperature`` as a floating Tensor, checked positive (ValueError naming ``who``)."""
    t = _as_tensor(temperature, who, "temperature")
    if not np.all(t.data > 0):
        raise ValueError(f"{who}: temperature must be positive, got {t.data}")
    return t


def _probs_or_logits(who: str, probs: Any, logits: Any) -> tuple:
    if (probs is None) == (logits is None):
        raise ValueError(f"{who}: either `probs` or `logits` must be specified, but not both")
    name = "probs" if probs is not None else "logits"
    return name, probs if probs is not None else logits


class LogitRelaxedBernoulli(Distribution):
    """The logit of a RelaxedBernoulli: X = (logits + log U - log(1 - U)) / t, U ~ U(0, 1);
    log p(x) = log t + d - 2 softplus(d), d = logits - t x."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.real
    has_rsample = True

    def __init__(self, temperature: Any, probs: Any = None, logits: Any = None,
                 validate_args: Optional[bool] = None) -> None:
        who = type(self).__name__
        name, given = _probs_or_logits(who, probs, logits)
        self.temperature = _temperature(who, temperature)
        (p,) = broadcast_all(given, who=who)
        if name == "probs":
            self.probs = p
            pc = clamp_probs(p)
            self.logits = pc.log() - (-pc).log1p()
        else:
            self.logits, self.probs = p, p.sigmoid()
        self._param_name = name
        super().__init__(p.shape, validate_args=validate_args)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        u = clamp_probs(_noise("uniform", self._extended_shape(sample_shape), self.logits.dtype))
        return (u.log() - (-u).log1p() + self.logits) / self.temperature

    def log_prob(self, value: Any) -> Tensor:
        v = self._value(value)
        d = self.logits - v * self.temperature
        return self.temperature.log() + d - 2 * F.softplus(d)


class _RelaxedOf(TransformedDistribution):
    """``_transform()`` of X ~ ``_base(temperature, probs or logits)``; ``probs``, ``logits`` and
    ``temperature`` are the base's."""

    _base: Any = None
    _transform: Any = None

    def __init__(self, temperature: Any, probs: Any = None, logits: Any = None,
                 validate_args: Optional[bool] = None) -> None:
        base = type(self)._base(temperature, probs, logits, validate_args=validate_args)
        self.probs, self.logits = base.probs, base.logits
        super().__init__(base, type(self)._transform(), validate_args=validate_args)

    temperature = _forwarded("base_dist.temperature", "The relaxation temperature t (the base's).")


class RelaxedBernoulli(_RelaxedOf):
    """Concrete / Gumbel-softmax relaxation of Bernoulli on (0, 1): sigmoid of a
    LogitRelaxedBernoulli(temperature, probs or logits)."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval  # type: ignore[assignment]
    _base = LogitRelaxedBernoulli
    _transform = SigmoidTransform


class ExpRelaxedCategorical(Distribution):
    """The log of a RelaxedOneHotCategorical on K categories: X = log_softmax((logits + G) / t),
    G iid Gumbel(0, 1); with s = logits - t x (logits normalised),
    log p(x) = lgamma(K) + (K - 1) log t + sum_k (s_k - logsumexp(s))."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, temperature: Any, probs: Any = None, logits: Any = None,
                 validate_args: Optional[bool] = None) -> None:
        self.temperature = _temperature(type(self).__name__, temperature)
        self._categorical = Categorical(probs, logits, validate_args=validate_args)
        self.probs, self.logits = self._categorical.probs, self._categorical.logits
        shape = tuple(self.probs.shape)
        super().__init__(shape[:-1], shape[-1:], validate_args=validate_args)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        u = clamp_probs(_noise("uniform", self._extended_shape(sample_shape), self.logits.dtype))
        scores = (self.logits - (-(u.log())).log()) / self.temperature
        return scores - scores.logsumexp(-1, keepdim=True)

    def log_prob(self, value: Any) -> Tensor:
        v = self._value(value)
        k = self._event_shape[-1]
        log_scale = math.lgamma(k) + (k - 1) * self.temperature.log()
        s = self.logits - v * self.temperature
        return (s - s.logsumexp(-1, keepdim=True)).sum(-1) + log_scale


class RelaxedOneHotCategorical(_RelaxedOf):
    """Concrete / Gumbel-softmax relaxation of OneHotCategorical on the simplex: exp of an
    ExpRelaxedCategorical(temperature, probs or logits)."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}
    support = constraints.simplex  # type: ignore[assignment]
    _base = ExpRelaxedCategorical
    _transform = ExpTransform
