"""``kl_divergence(p, q)`` = KL(p || q) = E_p[log p(X) - log q(X)], of shape batch_shape, in
closed form, and ``register_kl(type_p, type_q)`` to add a pair.

The rule for a pair is looked up by the most specific registered pair of classes (by each
argument's method resolution order); a pair with no rule raises ``NotImplementedError`` naming
both types. Every rule is written with Tensor ops, so the divergence differentiates back to
both distributions' parameters. Where q gives zero mass to a point p charges (a Uniform
outside, a probability 0), the divergence is inf.

This module keeps the registry of rules (a pair of classes to a function) and a lookup memo, cleared
by every ``register_kl``; it touches nothing else.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from .. import linalg
from ..tensor import Tensor
from .continuous import Cauchy, Exponential, Laplace, Normal, Uniform
from .discrete import Bernoulli, Binomial, Categorical, Geometric, OneHotCategorical, Poisson
from .distribution import Distribution, _sum_rightmost
from .gamma import Beta, Dirichlet, Gamma
from .multivariate import Independent, MultivariateNormal, _batch_mahalanobis
from .transformed_more import Gumbel, HalfNormal, LogNormal

__all__ = ["kl_divergence", "register_kl"]

_KL_REGISTRY: dict = {}
_KL_MEMO: dict = {}


def register_kl(type_p: type, type_q: type) -> Callable:
    """Decorator: ``@register_kl(P, Q) def f(p, q)`` makes ``kl_divergence`` use ``f`` for
    instances of P and Q (and subclasses, unless a more specific pair is registered)."""
    for t in (type_p, type_q):
        if not (isinstance(t, type) and issubclass(t, Distribution)):
            raise TypeError(f"register_kl: expected subclasses of Distribution, got {t!r}")

    def decorator(fun: Callable) -> Callable:
        if not callable(fun):
            raise TypeError(f"register_kl: the decorated object must be callable, got {type(fun).__name__}")
        _KL_REGISTRY[type_p, type_q] = fun
        _KL_MEMO.clear()
        return fun

    return decorator


def _dispatch(tp: type, tq: type) -> Any:
    key = (tp, tq)
    if key not in _KL_MEMO:
        best, rank = None, None
        for (sp, sq), fun in _KL_REGISTRY.items():
            if issubclass(tp, sp) and issubclass(tq, sq):
                r = (tp.__mro__.index(sp), tq.__mro__.index(sq))
                if rank is None or r < rank:
                    best, rank = fun, r
        _KL_MEMO[key] = best
    return _KL_MEMO[key]


def kl_divergence(p: Distribution, q: Distribution) -> Tensor:
    """KL(p || q), of the broadcast batch shape of p and q."""
    fun = _dispatch(type(p), type(q))
    if fun is None:
        raise NotImplementedError(f"kl_divergence: no KL(p || q) is implemented for p of type {type(p).__name__} "
                                  f"and q of type {type(q).__name__}")
    try:
        np.broadcast_shapes(p.batch_shape, q.batch_shape)
    except ValueError:
        raise ValueError(f"kl_divergence: the batch shapes of p ({type(p).__name__}, {p.batch_shape}) and q "
                         f"({type(q).__name__}, {q.batch_shape}) do not broadcast") from None
    kp, kq = getattr(p, "_num_events", None), getattr(q, "_num_events", None)
    if kp is not None and kq is not None and kp != kq:
        raise ValueError(f"kl_divergence: p ({type(p).__name__}) has {kp} categories and q "
                         f"({type(q).__name__}) {kq}; they must have the same number")
    return fun(p, q)


def _inf_where(x: Tensor, mask: np.ndarray) -> Tensor:
    mask = np.broadcast_to(mask, x.shape)
    return x.where(~mask, math.inf) if mask.any() else x


def _zero_where(x: Tensor, mask: np.ndarray) -> Tensor:
    mask = np.broadcast_to(mask, x.shape)
    return x.where(~mask, 0.0) if mask.any() else x


def _softplus(x: Tensor) -> Tensor:
    from ..nn.functional import softplus  # (its derivative at 0 is 1/2: a clamp's would add 1/2 more)
    return softplus(x)


@register_kl(Normal, Normal)
def _kl_normal_normal(p: Normal, q: Normal) -> Tensor:
    """(s_p^2 / s_q^2 + (m_p - m_q)^2 / s_q^2 - 1 - log(s_p^2 / s_q^2)) / 2."""
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(LogNormal, LogNormal)
def _kl_lognormal_lognormal(p: LogNormal, q: LogNormal) -> Tensor:
    """Equal to KL between the underlying normals."""
    return _kl_normal_normal(p.base_dist, q.base_dist)


@register_kl(HalfNormal, HalfNormal)
def _kl_halfnormal_halfnormal(p: HalfNormal, q: HalfNormal) -> Tensor:
    """Equal to KL between the zero-mean normals."""
    return _kl_normal_normal(p.base_dist, q.base_dist)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p: Bernoulli, q: Bernoulli) -> Tensor:
    """p log(p / q) + (1 - p) log((1 - p) / (1 - q)), through the logits (softplus)."""
    t1 = p.probs * (_softplus(-q.logits) - _softplus(-p.logits))
    t1 = _zero_where(_inf_where(t1, q.probs.data == 0), p.probs.data == 0)
    t2 = (1 - p.probs) * (_softplus(q.logits) - _softplus(p.logits))
    t2 = _zero_where(_inf_where(t2, q.probs.data == 1), p.probs.data == 1)
    return t1 + t2


@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p: Binomial, q: Binomial) -> Tensor:
    """n KL(Bernoulli(p) || Bernoulli(q)) for equal total counts; inf where p's count exceeds q's;
    a smaller count in p is not implemented."""
    if np.any(p.total_count.data < q.total_count.data):
        raise NotImplementedError("kl_divergence: Binomial pairs where p's total_count is smaller than q's are "
                                  "not implemented")
    kl = p.total_count * (p.probs * (p.logits - q.logits) + (-p.probs).log1p() - (-q.probs).log1p())
    return _inf_where(kl, np.broadcast_to(p.total_count.data > q.total_count.data, kl.shape))


@register_kl(Geometric, Geometric)
def _kl_geometric_geometric(p: Geometric, q: Geometric) -> Tensor:
    """-H(p) - log q - (1/p - 1) log(1 - q)."""
    return -p.entropy() - (-q.probs).log1p() / p.probs - q.logits


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p: Categorical, q: Categorical) -> Tensor:
    """sum_k p_k (log p_k - log q_k)."""
    t = p.probs * (p.logits - q.logits)
    t = _zero_where(_inf_where(t, q.probs.data == 0), p.probs.data == 0)
    return t.sum(-1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehot_onehot(p: OneHotCategorical, q: OneHotCategorical) -> Tensor:
    """As for the Categorical pair."""
    return _kl_categorical_categorical(p, q)  # type: ignore[arg-type]


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p: Uniform, q: Uniform) -> Tensor:
    """log((h_q - l_q) / (h_p - l_p)) when [l_p, h_p] lies in [l_q, h_q], else inf."""
    kl = ((q.high - q.low) / (p.high - p.low)).log()
    return _inf_where(kl, (q.low.data > p.low.data) | (q.high.data < p.high.data))


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p: Exponential, q: Exponential) -> Tensor:
    """r - 1 - log r with r = rate_q / rate_p."""
    ratio = q.rate / p.rate
    return ratio - 1 - ratio.log()


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p: Laplace, q: Laplace) -> Tensor:
    """-log(b_p / b_q) + |m_p - m_q| / b_q + (b_p / b_q) exp(-|m_p - m_q| / b_p) - 1."""
    ratio = p.scale / q.scale
    d = (p.loc - q.loc).abs()
    return -ratio.log() + d / q.scale + ratio * (-d / p.scale).exp() - 1


@register_kl(Cauchy, Cauchy)
def _kl_cauchy_cauchy(p: Cauchy, q: Cauchy) -> Tensor:
    """log(((s_p + s_q)^2 + (m_p - m_q)^2) / (4 s_p s_q))."""
    return (((p.scale + q.scale) ** 2 + (p.loc - q.loc) ** 2).log() - (4 * p.scale * q.scale).log())


@register_kl(Gumbel, Gumbel)
def _kl_gumbel_gumbel(p: Gumbel, q: Gumbel) -> Tensor:
    """log(s_q / s_p) - gamma (1 - s_p / s_q) + (m_p - m_q) / s_q
    + exp((m_q - m_p) / s_q) Gamma(1 + s_p / s_q) - 1."""
    ct1 = p.scale / q.scale
    ct2 = q.loc / q.scale
    ct3 = p.loc / q.scale
    t1 = -ct1.log() - ct2 + ct3
    t2 = ct1 * 0.57721566490153286061
    t3 = (ct2 + (1 + ct1).lgamma() - ct3).exp()
    return t1 + t2 + t3 - (1 + 0.57721566490153286061)


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p: Poisson, q: Poisson) -> Tensor:
    """r_p (log r_p - log r_q) - (r_p - r_q)."""
    return p.rate * (p.rate.log() - q.rate.log()) - (p.rate - q.rate)


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p: Gamma, q: Gamma) -> Tensor:
    """a_q log(b_p / b_q) + lgamma(a_q) - lgamma(a_p) + (a_p - a_q) digamma(a_p)
    + (b_q - b_p) a_p / b_p."""
    t1 = q.concentration * (p.rate / q.rate).log()
    t2 = q.concentration.lgamma() - p.concentration.lgamma()
    t3 = (p.concentration - q.concentration) * p.concentration.digamma()
    t4 = (q.rate - p.rate) * (p.concentration / p.rate)
    return t1 + t2 + t3 + t4


@register_kl(Beta, Beta)
def _kl_beta_beta(p: Beta, q: Beta) -> Tensor:
    """log B(a_q, b_q) - log B(a_p, b_p) + (a_p - a_q) digamma(a_p) + (b_p - b_q) digamma(b_p)
    + (a_q - a_p + b_q - b_p) digamma(a_p + b_p)."""
    sp = p.concentration1 + p.concentration0
    sq = q.concentration1 + q.concentration0
    t1 = q.concentration1.lgamma() + q.concentration0.lgamma() + sp.lgamma()
    t2 = p.concentration1.lgamma() + p.concentration0.lgamma() + sq.lgamma()
    t3 = (p.concentration1 - q.concentration1) * p.concentration1.digamma()
    t4 = (p.concentration0 - q.concentration0) * p.concentration0.digamma()
    t5 = (sq - sp) * sp.digamma()
    return t1 - t2 + t3 + t4 + t5


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p: Dirichlet, q: Dirichlet) -> Tensor:
    """lgamma(a_0) - lgamma(b_0) - sum (lgamma(a_i) - lgamma(b_i))
    + sum (a_i - b_i)(digamma(a_i) - digamma(a_0))."""
    a, b = p.concentration, q.concentration
    a0, b0 = a.sum(-1), b.sum(-1)
    t1 = a0.lgamma() - b0.lgamma()
    t2 = (a.lgamma() - b.lgamma()).sum(-1)
    t4 = a.digamma() - a0.digamma().unsqueeze(-1)
    return t1 - t2 + ((a - b) * t4).sum(-1)


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn_mvn(p: MultivariateNormal, q: MultivariateNormal) -> Tensor:
    """(tr(S_q^{-1} S_p) + (m_q - m_p)^T S_q^{-1} (m_q - m_p) - k + log det S_q - log det S_p) / 2,
    through the Cholesky factors: tr = |L_q^{-1} L_p|_F^2."""
    if p.event_shape != q.event_shape:
        raise ValueError(f"kl_divergence: MultivariateNormal pairs need the same event_shape, got {p.event_shape} "
                         f"and {q.event_shape}")
    Lp, Lq = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    half_term1 = q._half_log_det() - p._half_log_det()
    shape = np.broadcast_shapes(tuple(Lp.shape[:-2]), tuple(Lq.shape[:-2]))
    k = p.event_shape[0]
    Lpb = Lp if tuple(Lp.shape[:-2]) == shape else Lp.expand(shape + (k, k))
    Lqb = Lq if tuple(Lq.shape[:-2]) == shape else Lq.expand(shape + (k, k))
    term2 = (linalg.solve_triangular(Lqb, Lpb, upper=False) ** 2).sum((-2, -1))
    term3 = _batch_mahalanobis(Lq, q.loc - p.loc)
    kl = half_term1 + 0.5 * (term2 + term3 - k)
    batch = np.broadcast_shapes(p.batch_shape, q.batch_shape)
    return kl if tuple(kl.shape) == batch else kl.expand(batch)


@register_kl(Independent, Independent)
def _kl_independent_independent(p: Independent, q: Independent) -> Tensor:
    """The base pair's KL summed over the reinterpreted dimensions (equal counts only)."""
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError("kl_divergence: Independent pairs with different reinterpreted_batch_ndims "
                                  f"({p.reinterpreted_batch_ndims} and {q.reinterpreted_batch_ndims}) are not "
                                  "implemented")
    return _sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)
