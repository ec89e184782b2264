"""More continuous distributions: ``FisherSnedecor``, ``InverseGamma``, ``GeneralizedPareto``,
and the ``SoftplusTransform`` (torch.distributions' names, arguments and formulas).

All three distributions are reparameterised: ``FisherSnedecor`` draws a ratio of gammas (their
implicit gradients, see ``gamma.py``), ``InverseGamma`` the reciprocal of a Gamma draw,
``GeneralizedPareto`` its inverse cdf at a uniform; ``log_prob``, ``cdf``, ``icdf`` and
``entropy`` are Tensor expressions, so gradients reach the parameters.

This module keeps these classes; their draws advance the default generator, nothing else is touched.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np

from ..nn import functional as F
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution, _noise, broadcast_all
from .gamma import Gamma
from .transform_base import ParameterFree
from .transformed import TransformedDistribution
from .transforms import PowerTransform

__all__ = ["FisherSnedecor", "InverseGamma", "GeneralizedPareto", "SoftplusTransform"]


class SoftplusTransform(ParameterFree):
    """y = softplus(x) = log(1 + e^x) (y = x for x > 20), real -> positive; inverse
    x = y + log(-expm1(-y)); log|dy/dx| = -softplus(-x)."""

    domain = constraints.real
    codomain = constraints.positive
    bijective = True
    sign = 1  # type: ignore[assignment]

    def _call(self, x: Tensor) -> Tensor:
        return F.softplus(x)

    def _inverse(self, y: Tensor) -> Tensor:
        return (-(-y).expm1()).log() + y

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return -F.softplus(-x)


class FisherSnedecor(Distribution):
    """Fisher-Snedecor F(df1 = d1, df2 = d2) on (0, inf): X = (G1 / d1) / (G2 / d2) with
    G_i ~ Gamma(d_i / 2, 1/2); log p(x) = lgamma((d1 + d2)/2) - lgamma(d1/2) - lgamma(d2/2) +
    (d1/2) log(d1/d2) + (d1/2 - 1) log x - ((d1 + d2)/2) log1p(d1 x / d2); mean d2 / (d2 - 2)
    (NaN for d2 <= 2), mode (d1 - 2)/d1 d2/(d2 + 2) (NaN for d1 <= 2), variance
    2 d2^2 (d1 + d2 - 2) / (d1 (d2 - 2)^2 (d2 - 4)) (NaN for d2 <= 4). Draws are clamped to at
    least the dtype's smallest normal number."""

    arg_constraints = {"df1": constraints.positive, "df2": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, df1: Any, df2: Any, validate_args: Optional[bool] = None) -> None:
        super().__init__(self._broadcast_params(df1=df1, df2=df2), validate_args=validate_args)
        self._gamma1 = Gamma(self.df1 * 0.5, self.df1, validate_args=False)
        self._gamma2 = Gamma(self.df2 * 0.5, self.df2, validate_args=False)

    def _expand_parts(self, new: Distribution, batch_shape: tuple) -> None:
        new._gamma1 = self._gamma1.expand(batch_shape)  # type: ignore[attr-defined]
        new._gamma2 = self._gamma2.expand(batch_shape)  # type: ignore[attr-defined]

    @property
    def mean(self) -> Tensor:
        ok = self.df2.data > 2
        d2 = self.df2.where(ok, 3.0)
        return (d2 / (d2 - 2)).where(ok, math.nan)

    @property
    def mode(self) -> Tensor:
        d1, d2 = self.df1, self.df2
        return ((d1 - 2) / d1 * d2 / (d2 + 2)).where(d1.data > 2, math.nan)

    @property
    def variance(self) -> Tensor:
        ok = self.df2.data > 4
        d2 = self.df2.where(ok, 5.0)
        return (2 * d2 ** 2 * (self.df1 + d2 - 2) / (self.df1 * (d2 - 2) ** 2 * (d2 - 4))).where(ok, math.nan)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        x1 = self._gamma1.rsample(sample_shape).expand(shape)
        x2 = self._gamma2.rsample(sample_shape).expand(shape)
        tiny = float(np.finfo(x2.dtype).tiny)
        return (x1 / x2.clamp(min=tiny)).clamp(min=tiny)

    def log_prob(self, value: Any) -> Tensor:
        v = self._value(value)
        c1, c2 = self.df1 * 0.5, self.df2 * 0.5
        c3 = self.df1 / self.df2
        t1 = (c1 + c2).lgamma() - c1.lgamma() - c2.lgamma()
        t2 = c1 * c3.log() + (c1 - 1) * v.log()
        return t1 + t2 - (c1 + c2) * (c3 * v).log1p()


class InverseGamma(TransformedDistribution):
    """InverseGamma(concentration a, rate b): 1 / X with X ~ Gamma(a, b) on (0, inf); log p(y) =
    a log b - lgamma(a) - (a + 1) log y - b / y; mean b / (a - 1) (inf for a <= 1), mode
    b / (a + 1), variance b^2 / ((a - 1)^2 (a - 2)) (inf for a <= 2), entropy a + log b +
    lgamma(a) - (1 + a) digamma(a); cdf = 1 - Gamma(a, b).cdf(1 / y)."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.positive  # type: ignore[assignment]
    _param_properties = ("concentration", "rate")

    def __init__(self, concentration: Any, rate: Any, validate_args: Optional[bool] = None) -> None:
        base = Gamma(concentration, rate, validate_args=False)
        super().__init__(base, PowerTransform(-1.0), validate_args=validate_args)

    @property
    def concentration(self) -> Tensor:
        return self.base_dist.concentration  # type: ignore[attr-defined]

    @property
    def rate(self) -> Tensor:
        return self.base_dist.rate  # type: ignore[attr-defined]

    @property
    def mean(self) -> Tensor:
        a = self.concentration
        ok = a.data > 1
        return (self.rate / (a.where(ok, 2.0) - 1)).where(ok, math.inf)

    @property
    def mode(self) -> Tensor:
        return self.rate / (self.concentration + 1)

    @property
    def variance(self) -> Tensor:
        a = self.concentration
        ok = a.data > 2
        safe = a.where(ok, 3.0)
        return (self.rate ** 2 / ((safe - 1) ** 2 * (safe - 2))).where(ok, math.inf)

    def entropy(self) -> Tensor:
        a = self.concentration
        return a + self.rate.log() + a.lgamma() - (1 + a) * a.digamma()


def _is_zero(c: Tensor) -> np.ndarray:
    """Where a concentration counts as 0 (|c| <= 1e-8): the exponential limit is used there."""
    return np.isclose(c.data, 0.0, rtol=1e-5, atol=1e-8)


class GeneralizedPareto(Distribution):
    """Generalised Pareto(loc m, scale s, concentration c): with z = (x - m) / s, the survival
    function is (1 + c z)^(-1/c) (e^(-z) for c = 0) on z >= 0 (and z <= -1/c for c < 0);
    log p(x) = -log s - (1/c + 1) log1p(c z) (-log s - z for c = 0); icdf(u) = m + s expm1(-c
    log1p(-u)) / c (m - s log1p(-u) for c = 0); mean m + s / (1 - c) (NaN for c >= 1), variance
    s^2 / ((1 - c)^2 (1 - 2c)) (NaN for c >= 1/2), mode m, entropy log s + c + 1. |c| <= 1e-8
    counts as c = 0. rsample = icdf(U), U ~ U[0, 1)."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive, "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, concentration: Any, validate_args: Optional[bool] = None) -> None:
        shape = self._broadcast_params(loc=loc, scale=scale, concentration=concentration)
        super().__init__(shape, validate_args=validate_args)

    @property
    def support(self) -> Any:
        c = self.concentration.data
        with np.errstate(divide="ignore", invalid="ignore"):
            upper = np.where(c < 0, self.loc.data - self.scale.data / np.where(c < 0, c, -1.0), np.inf)
        return constraints.interval(self.loc.data, upper)

    def _safe_conc(self) -> tuple:
        zero = _is_zero(self.concentration)
        return zero, self.concentration.where(~zero, 1.0)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        return self.icdf(_noise("uniform", shape, self.loc.dtype))

    def log_prob(self, value: Any) -> Tensor:
        z = (self._value(value) - self.loc) / self.scale
        zero, c = self._safe_conc()
        z, c = broadcast_all(z, c)
        zero = np.broadcast_to(zero, z.shape)
        y = 1.0 / c + 1.0
        lg = (c * z).log1p()
        nonzero = y * lg
        at_end = (y.data == 0) & ~np.isfinite(lg.data)  # 0 * log(0) at the end of the support for c = -1
        if at_end.any():
            nonzero = nonzero.where(~at_end, 0.0)
        return -self.scale.log() - z.where(zero, nonzero)

    def log_survival_function(self, value: Any) -> Tensor:
        """log P(X > value) = -log1p(c z) / c (-z for c = 0)."""
        z = (self._value(value, "log_survival_function") - self.loc) / self.scale
        zero, c = self._safe_conc()
        z, c = broadcast_all(z, c)
        return (-z).where(np.broadcast_to(zero, z.shape), -(c * z).log1p() / c)

    def log_cdf(self, value: Any) -> Tensor:
        """log P(X <= value) = log1p(-exp(log survival))."""
        return (-self.log_survival_function(value).exp()).log1p()

    def cdf(self, value: Any) -> Tensor:
        """1 - survival function."""
        return self.log_cdf(value).exp()

    def icdf(self, value: Any) -> Tensor:
        zero, c = self._safe_conc()
        u, c, loc, scale = broadcast_all(self._prob(value), c, self.loc, self.scale)
        logu = (-u).log1p()
        nonzero = loc + scale / c * (-c * logu).expm1()
        return (loc - scale * logu).where(np.broadcast_to(zero, u.shape), nonzero)

    @property
    def mean(self) -> Tensor:
        ok = self.concentration.data < 1
        c = self.concentration.where(ok, 0.5)
        return (self.loc + self.scale / (1 - c)).where(ok, math.nan)

    @property
    def variance(self) -> Tensor:
        ok = self.concentration.data < 0.5
        c = self.concentration.where(ok, 0.25)
        return (self.scale ** 2 / ((1 - c) ** 2 * (1 - 2 * c))).where(ok, math.nan)

    @property
    def mode(self) -> Tensor:
        return self.loc

    def entropy(self) -> Tensor:
        return self.scale.log() + self.concentration + 1
