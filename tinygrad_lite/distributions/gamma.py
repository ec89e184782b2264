"""The gamma family: ``Gamma``, ``Chi2``, ``Beta``, ``Dirichlet``, ``StudentT``.

Draws: numpy's gamma sampler on the default generator. Reparameterised gradients use implicit
reparameterisation (Figurnov et al., 2018): a draw x ~ Gamma(a, 1) is F^{-1}(u; a) for a uniform
u, so dx/da = -(dF/da)(x; a) / p(x; a). With the series
F(a, x) = x^a e^{-x} sum_n x^n / Gamma(a + n + 1) this is

    dx/da = -sum_{n>=0} t_n (log x - digamma(a + n + 1)),  t_0 = x / a,  t_{n+1} = t_n x / (a + n + 1)

(summed until the terms are negligible; above a = 1e6 the Wilson-Hilferty cube-root normal
approximation's derivative is used). The derivative enters the graph as a first-order term
``x + (a - a.detach()) * dx/da``: its value is x and its gradient dx/da; it is not itself
differentiated again. ``Beta`` and ``Dirichlet`` draw normalised gammas, so their ``rsample``
is differentiable too (an unbiased pathwise gradient; at a single draw it differs from
torch's, which uses another path to the same distribution). ``log_prob``, ``entropy``,
``mean``, ``variance`` use lgamma / digamma Tensor ops.

This module keeps these classes, ``standard_gamma_grad`` and ``gammainc``; their draws advance the
default generator, nothing else is touched.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np

from ..ops.special import digamma as _np_digamma
from ..ops.special import lgamma as _np_lgamma
from ..tensor import Tensor, stack, tensor
from . import constraints
from .distribution import Distribution, _generator, _noise, broadcast_all

__all__ = ["Gamma", "Chi2", "Beta", "Dirichlet", "StudentT", "standard_gamma_grad", "gammainc"]


def standard_gamma_grad(alpha: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dx/dalpha for x ~ Gamma(alpha, 1) at fixed cdf value (implicit reparameterisation), in
    float64; see the module docstring for the series."""
    a, x = np.broadcast_arrays(np.asarray(alpha, dtype=np.float64), np.asarray(x, dtype=np.float64))
    out = np.zeros(a.shape)
    big = a > 1e6
    if big.any():  # x = a (1 - 1/(9a) + z / (3 sqrt a))^3 at fixed z
        ab, xb = a[big], x[big]
        c = np.cbrt(xb / ab)
        z = (c - 1 + 1 / (9 * ab)) * 3 * np.sqrt(ab)
        out[big] = c ** 3 + 3 * ab * c ** 2 * (1 / (9 * ab ** 2) - z / (6 * ab ** 1.5))
    small = ~big
    if small.any():
        a_s, x_s = a[small], x[small]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            logx = np.log(x_s)
            t = x_s / a_s
            psi = _np_digamma(a_s + 1.0)
            total = t * (logx - psi)
            n = 0
            active = np.ones(a_s.shape, dtype=bool)
            while active.any() and n < 200000:
                k = a_s + n + 1.0
                psi = psi + 1.0 / k
                t = t * x_s / k
                n += 1
                term = t * (logx - psi)
                total = np.where(active, total + term, total)
                ratio = x_s / (k + 1.0)
                tail = np.abs(t) * (np.abs(logx - psi) + 1.0) / np.maximum(1 - ratio, 1e-300)
                active = active & ((ratio >= 1) | (tail > 1e-17 * np.abs(total))) & np.isfinite(total)
        out[small] = -total
    return out


def gammainc(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The regularised lower incomplete gamma function P(a, x) = gamma(a, x) / Gamma(a) (float64):
    its power series below x = a + 1, else 1 - Q with Q's continued fraction (modified Lentz)."""
    a, x = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(x, dtype=np.float64))
    out = np.zeros(a.shape)
    pos = x > 0
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        front = np.exp(a * np.log(np.where(pos, x, 1.0)) - x - _np_lgamma(a))
        lo = pos & (x < a + 1)
        if lo.any():  # P = front * sum_n x^n / (a (a+1) ... (a+n))
            al, xl = a[lo], x[lo]
            term = 1.0 / al
            total = term.copy()
            ap = al.copy()
            for _ in range(100000):
                ap = ap + 1
                term = term * xl / ap
                total = total + term
                if np.all(np.abs(term) < np.abs(total) * 1e-17):
                    break
            out[lo] = front[lo] * total
        hi = pos & ~lo
        if hi.any():  # Q = front / (x + 1 - a - 1 (1 - a) / (x + 3 - a - 2 (2 - a) / (x + 5 - a - ...)))
            ah, xh = a[hi], x[hi]
            tiny = 1e-300
            b = xh + 1 - ah
            c = np.full(b.shape, 1 / tiny)
            d = 1 / b
            h = d.copy()
            for i in range(1, 100000):
                an = -i * (i - ah)
                b = b + 2
                d = an * d + b
                d = np.where(np.abs(d) < tiny, tiny, d)
                c = b + an / c
                c = np.where(np.abs(c) < tiny, tiny, c)
                d = 1 / d
                delta = d * c
                h = h * delta
                if np.all(np.abs(delta - 1) < 1e-16):
                    break
            out[hi] = 1 - front[hi] * h
    return np.where(np.isinf(x) & (x > 0), 1.0, out)


def _standard_gamma(alpha: Tensor, who: str = "Gamma.rsample") -> Tensor:
    """A Gamma(alpha, 1) draw of alpha's shape; differentiable w.r.t. alpha (first order). A
    negative alpha (possible with ``validate_args=False``) is a ValueError naming ``who``,
    before anything is drawn."""
    if np.any(alpha.data < 0):
        raise ValueError(f"{who}: the concentration must be >= 0 to draw, got values down to {alpha.data.min()}")
    g = _generator().standard_gamma(alpha.data.astype(np.float64))
    tiny = np.finfo(alpha.dtype).tiny
    g = np.maximum(g, tiny).astype(alpha.dtype)
    x = tensor(g)
    if not alpha.requires_grad:
        return x
    d = np.nan_to_num(standard_gamma_grad(alpha.data, g)).astype(alpha.dtype)
    return x + (alpha - alpha.detach()) * tensor(d)


class Gamma(Distribution):
    """Gamma(concentration a, rate b): log p = a log b + (a - 1) log x - b x - lgamma(a);
    mean a / b, variance a / b^2, mode max((a - 1) / b, 0); entropy = a - log b + lgamma(a) +
    (1 - a) digamma(a); rsample = X / b with X ~ Gamma(a, 1) (implicit reparameterisation)."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, concentration: Any, rate: Any, validate_args: Optional[bool] = None) -> None:
        super().__init__(self._broadcast_params(concentration=concentration, rate=rate), validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.rate

    @property
    def mode(self) -> Tensor:
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self) -> Tensor:
        return self.concentration / self.rate ** 2

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        who = f"{type(self).__name__}.rsample"
        x = _standard_gamma(self.concentration.expand(shape), who) / self.rate.expand(shape)
        tiny = float(np.finfo(x.dtype).tiny)
        low = x.data < tiny
        return x + tensor(np.where(low, tiny - x.data, 0).astype(x.dtype)) if low.any() else x

    def log_prob(self, value: Any) -> Tensor:
        v = self._value(value)
        c, r = self.concentration, self.rate
        return c.xlogy(r) + (c - 1).xlogy(v) - r * v - c.lgamma()

    def entropy(self) -> Tensor:
        c = self.concentration
        return c - self.rate.log() + c.lgamma() + (1.0 - c) * c.digamma()

    def cdf(self, value: Any) -> Tensor:
        """P(a, rate * x), the regularised lower incomplete gamma function, computed in numpy and
        entered as a first-order term: d/dx = rate p(x), d/drate = x p(x) / rate, d/da by central
        differences of P (step 1e-5 a; torch has no gradient for a here)."""
        v = self._value(value, "cdf")
        y = self.rate * v
        a = self.concentration
        a, y = broadcast_all(a, y)
        A, Y = a.data.astype(np.float64), y.data.astype(np.float64)
        P = gammainc(A, Y)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            dens = np.where(Y > 0, np.exp((A - 1) * np.log(np.where(Y > 0, Y, 1.0)) - Y - _np_lgamma(A)), 0.0)
            h = 1e-5 * A
            dPda = (gammainc(A + h, Y) - gammainc(A - h, Y)) / (2 * h)
        dt = y.dtype
        out = tensor(P.astype(dt)) + (y - y.detach()) * tensor(np.nan_to_num(dens).astype(dt))
        return out + (a - a.detach()) * tensor(np.nan_to_num(dPda).astype(dt))


class Chi2(Gamma):
    """Chi-squared with ``df`` degrees of freedom: Gamma(df / 2, 1 / 2)."""

    arg_constraints = {"df": constraints.positive}

    def __init__(self, df: Any, validate_args: Optional[bool] = None) -> None:
        (self.df,) = broadcast_all(df, who="Chi2")
        super().__init__(0.5 * self.df, 0.5 + 0.0 * self.df.detach(), validate_args=validate_args)

    def _expand_parts(self, new: Distribution, batch_shape: tuple) -> None:
        new.df = self.df.expand(batch_shape)


class Dirichlet(Distribution):
    """Dirichlet(concentration a) on the simplex (event_shape = a.shape[-1:]): log p =
    sum (a_i - 1) log x_i + lgamma(sum a_i) - sum lgamma(a_i); mean a / a_0, variance
    a (a_0 - a) / (a_0^2 (a_0 + 1)); entropy = sum lgamma(a_i) - lgamma(a_0) - (K - a_0)
    digamma(a_0) - sum (a_i - 1) digamma(a_i). rsample normalises Gamma(a_i, 1) draws (its
    gradient is the normalisation's, over the gammas' implicit gradients)."""

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration: Any, validate_args: Optional[bool] = None) -> None:
        (c,) = broadcast_all(concentration, who="Dirichlet")
        if c.ndim < 1:
            raise ValueError(f"Dirichlet: concentration must be at least one-dimensional, got shape {c.shape}")
        self.concentration = c
        super().__init__(c.shape[:-1], c.shape[-1:], validate_args=validate_args)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        g = _standard_gamma(self.concentration.expand(self._extended_shape(sample_shape)),
                            f"{type(self).__name__}.rsample")
        return g / g.sum(-1, keepdim=True)

    def log_prob(self, value: Any) -> Tensor:
        v = self._value(value)
        c = self.concentration
        return (c - 1).xlogy(v).sum(-1) + c.sum(-1).lgamma() - c.lgamma().sum(-1)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self) -> Tensor:
        cm1 = (self.concentration - 1).clamp(min=0)
        mode = cm1 / cm1.sum(-1, keepdim=True)
        allsmall = (self.concentration.data < 1).all(-1, keepdims=True)
        first = np.zeros(mode.shape, dtype=mode.dtype)
        first[..., 0] = 1
        return mode.where(np.broadcast_to(~allsmall, mode.shape), tensor(first))

    @property
    def variance(self) -> Tensor:
        c = self.concentration
        c0 = c.sum(-1, keepdim=True)
        return c * (c0 - c) / (c0 ** 2 * (c0 + 1))

    def entropy(self) -> Tensor:
        c = self.concentration
        k = c.shape[-1]
        a0 = c.sum(-1)
        return c.lgamma().sum(-1) - a0.lgamma() - (k - a0) * a0.digamma() - ((c - 1.0) * c.digamma()).sum(-1)


class Beta(Distribution):
    """Beta(concentration1 a, concentration0 b) on [0, 1]: the first coordinate of
    Dirichlet([a, b]); mean a / (a + b), mode (a - 1) / (a + b - 2), variance
    ab / ((a + b)^2 (a + b + 1))."""

    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1: Any, concentration0: Any, validate_args: Optional[bool] = None) -> None:
        shape = self._broadcast_params(concentration1=concentration1, concentration0=concentration0)
        super().__init__(shape, validate_args=validate_args)
        self._dirichlet = Dirichlet(stack([self.concentration1, self.concentration0], -1), validate_args=False)

    def _expand_parts(self, new: Distribution, batch_shape: tuple) -> None:
        new._dirichlet = self._dirichlet.expand(batch_shape)

    @property
    def mean(self) -> Tensor:
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self) -> Tensor:
        return self._dirichlet.mode[..., 0]

    @property
    def variance(self) -> Tensor:
        a, b = self.concentration1, self.concentration0
        total = a + b
        return a * b / (total ** 2 * (total + 1))

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        return self._dirichlet.rsample(sample_shape)[..., 0]

    def log_prob(self, value: Any) -> Tensor:
        v = self._value(value)
        return self._dirichlet.log_prob(stack([v, 1.0 - v], -1))

    def entropy(self) -> Tensor:
        return self._dirichlet.entropy()


class StudentT(Distribution):
    """Student's t with ``df`` degrees of freedom, ``loc``, ``scale``: with y = (x - loc) / scale,
    log p = -(df + 1)/2 log1p(y^2 / df) - log scale - log(df)/2 - log(pi)/2 - lgamma(df/2) +
    lgamma((df + 1)/2); rsample = loc + scale * N / sqrt(Chi2(df) / df); mean loc (NaN for
    df <= 1); variance scale^2 df / (df - 2) (inf for 1 < df <= 2, NaN for df <= 1)."""

    arg_constraints = {"df": constraints.positive, "loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, df: Any, loc: Any = 0.0, scale: Any = 1.0, validate_args: Optional[bool] = None) -> None:
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale, who="StudentT")
        self._chi2 = Chi2(self.df, validate_args=False)
        super().__init__(self.df.shape, validate_args=validate_args)

    def _expand_parts(self, new: Distribution, batch_shape: tuple) -> None:
        new._chi2 = self._chi2.expand(batch_shape)

    @property
    def mean(self) -> Tensor:
        return self.loc.where(self.df.data > 1, math.nan)

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        df = self.df
        big = df.data > 2
        safe = df.where(big, 3.0)
        v = (self.scale ** 2 * safe / (safe - 2)).where(big, math.inf)
        return v.where(df.data > 1, math.nan)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        x = _noise("normal", shape, self.df.dtype)
        z = self._chi2.rsample(sample_shape)
        return self.loc + self.scale * (x * (z / self.df).rsqrt())

    def log_prob(self, value: Any) -> Tensor:
        y = (self._value(value) - self.loc) / self.scale
        df = self.df
        z = (self.scale.log() + 0.5 * df.log() + 0.5 * math.log(math.pi) + (0.5 * df).lgamma()
             - (0.5 * (df + 1.0)).lgamma())
        return -0.5 * (df + 1.0) * (y ** 2 / df).log1p() - z

    def entropy(self) -> Tensor:
        df = self.df
        lbeta = (0.5 * df).lgamma() + math.lgamma(0.5) - (0.5 * (df + 1)).lgamma()
        return (self.scale.log() + 0.5 * (df + 1) * ((0.5 * (df + 1)).digamma() - (0.5 * df).digamma())
                + 0.5 * df.log() + lbeta)
