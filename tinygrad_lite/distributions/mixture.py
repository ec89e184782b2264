"""``MixtureSameFamily``, ``LowRankMultivariateNormal`` and ``VonMises`` (torch.distributions'
names, arguments, shapes and formulas), built from Tensor ops so that log_prob (and rsample /
entropy where defined) differentiate back to the parameters.

- MixtureSameFamily(Categorical pi, components p_k): log p(x) = logsumexp_k(log pi_k +
  log p_k(x)); mean sum_k pi_k mu_k; variance sum_k pi_k var_k + sum_k pi_k (mu_k - mu)^2
  (law of total variance); cdf sum_k pi_k F_k(x); samples pick a component per draw.
- LowRankMultivariateNormal(loc, W, D): Sigma = W W^T + diag(D), worked through the capacitance
  C = I + W^T D^{-1} W (Woodbury and the matrix determinant lemma).
- VonMises(loc, kappa) on [-pi, pi): log p = kappa cos(x - loc) - log(2 pi I0(kappa)).

This module keeps these classes; their draws advance the default generator, nothing else is touched.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np

from .. import linalg, special
from ..tensor import Tensor, tensor
from . import constraints
from .discrete import Categorical
from .distribution import CentredAtLoc, Distribution, _as_tensor, _forwarded, _generator, _noise, _shape
from .multivariate import _batch_mv

__all__ = ["MixtureSameFamily", "LowRankMultivariateNormal", "VonMises"]


class MixtureSameFamily(Distribution):
    """A mixture of the components of ``component_distribution`` along its rightmost batch
    dimension (size K), weighted by ``mixture_distribution`` (a Categorical over K whose batch
    shape is the components' batch shape without that dimension)."""

    arg_constraints: dict = {}

    def __init__(self, mixture_distribution: Categorical, component_distribution: Distribution,
                 validate_args: Optional[bool] = None) -> None:
        who = "MixtureSameFamily"
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError(f"{who}: the mixture distribution must be a Categorical, got "
                             f"{type(mixture_distribution).__name__}")
        if not isinstance(component_distribution, Distribution):
            raise ValueError(f"{who}: the component distribution must be a Distribution, got "
                             f"{type(component_distribution).__name__}")
        mb, cb = mixture_distribution.batch_shape, component_distribution.batch_shape
        if len(cb) < 1:
            raise ValueError(f"{who}: component_distribution must have at least one batch dimension, "
                             f"got batch_shape {cb}")
        for s1, s2 in zip(reversed(mb), reversed(cb[:-1])):
            if s1 != 1 and s2 != 1 and s1 != s2:
                raise ValueError(f"{who}: mixture_distribution.batch_shape {mb} is not compatible with "
                                 f"component_distribution.batch_shape {cb}")
        km, kc = mixture_distribution.logits.shape[-1], cb[-1]
        if km != kc:
            raise ValueError(f"{who}: the mixture has {km} components but component_distribution.batch_shape[-1]"
                             f" is {kc}")
        self._mixture_distribution = mixture_distribution
        self._component_distribution = component_distribution
        self._num_component = km
        self._event_ndims = len(component_distribution.event_shape)
        super().__init__(cb[:-1], component_distribution.event_shape, validate_args=validate_args)

    mixture_distribution = _forwarded("_mixture_distribution", "The Categorical over the K components.")
    component_distribution = _forwarded("_component_distribution", "The K components (rightmost batch dimension).")
    support = _forwarded("_component_distribution.support")

    def expand(self, batch_shape: Sequence[int], _instance: Any = None) -> Distribution:
        b = self._expand_target(batch_shape)
        return self._rebuilt(MixtureSameFamily(self._mixture_distribution.expand(b),
                                               self._component_distribution.expand(b + (self._num_component,)),
                                               validate_args=False))

    def _pad(self, x: Tensor) -> Tensor:
        """x with a component axis inserted before the event dimensions."""
        return x.unsqueeze(-1 - self._event_ndims)

    def _pad_mixture(self, p: Tensor) -> Tensor:
        """Mixture weights of shape batch + (K,) reshaped to broadcast against the components."""
        for _ in range(self._event_ndims):
            p = p.unsqueeze(-1)
        return p

    @property
    def mean(self) -> Tensor:
        p = self._pad_mixture(self._mixture_distribution.probs)
        return (p * self._component_distribution.mean).sum(-1 - self._event_ndims)

    @property
    def variance(self) -> Tensor:
        p = self._pad_mixture(self._mixture_distribution.probs)
        comp = self._component_distribution
        d = -1 - self._event_ndims
        return (p * comp.variance).sum(d) + (p * (comp.mean - self._pad(self.mean)) ** 2).sum(d)

    def cdf(self, value: Any) -> Tensor:
        x = self._pad(self._value(value, "cdf"))
        return (self._component_distribution.cdf(x) * self._mixture_distribution.probs).sum(-1)

    def log_prob(self, value: Any) -> Tensor:
        x = self._pad(self._value(value))
        lp = self._component_distribution.log_prob(x)
        return (lp + self._mixture_distribution.logits.log_softmax(-1)).logsumexp(-1)

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        sample_shape = _shape("MixtureSameFamily.sample", sample_shape)
        idx = self._mixture_distribution.sample(sample_shape).data
        comp = self._component_distribution.sample(sample_shape).data
        ax = len(sample_shape) + len(self._batch_shape)
        mb = self._mixture_distribution.batch_shape  # may have fewer (or size-1) dims than batch_shape
        idx = idx.reshape(sample_shape + (1,) * (len(self._batch_shape) - len(mb)) + mb)
        idx = np.broadcast_to(idx, sample_shape + self._batch_shape)
        idx = idx.reshape(idx.shape + (1,) * (1 + self._event_ndims))
        idx = np.broadcast_to(idx, comp.shape[:ax] + (1,) + comp.shape[ax + 1:])
        return tensor(np.take_along_axis(comp, idx, axis=ax).squeeze(ax))

    def __repr__(self) -> str:
        return (f"MixtureSameFamily(\n  {self._mixture_distribution!r},\n  {self._component_distribution!r})")


class LowRankMultivariateNormal(CentredAtLoc, Distribution):
    """N(loc, W W^T + diag(D)), W = ``cov_factor`` (k x r), D = ``cov_diag`` (k, positive).
    With C = I_r + W^T D^{-1} W = L_C L_C^T: log det Sigma = 2 sum log diag L_C + sum log D;
    (x - mu)^T Sigma^{-1} (x - mu) = sum d^2 / D - |L_C^{-1} W^T (d / D)|^2; log_prob =
    -(k log 2 pi + logdet + M) / 2; entropy = (k (1 + log 2 pi) + logdet) / 2; rsample =
    loc + W e_r + sqrt(D) e_k."""

    arg_constraints = {"loc": constraints.real_vector, "cov_factor": constraints.independent(constraints.real, 2),
                       "cov_diag": constraints.independent(constraints.positive, 1)}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc: Any, cov_factor: Any, cov_diag: Any, validate_args: Optional[bool] = None) -> None:
        who = "LowRankMultivariateNormal"
        loc = _as_tensor(loc, who, "loc")
        W = _as_tensor(cov_factor, who, "cov_factor")
        D = _as_tensor(cov_diag, who, "cov_diag")
        if loc.ndim < 1:
            raise ValueError(f"{who}: loc must be at least one-dimensional, got shape {tuple(loc.shape)}")
        if W.ndim < 2:
            raise ValueError(f"{who}: cov_factor must be at least two-dimensional, with optional leading "
                             f"batch dimensions, got shape {tuple(W.shape)}")
        k = loc.shape[-1]
        if W.shape[-2] != k:
            raise ValueError(f"{who}: cov_factor must be a batch of matrices with shape {k} x m, got "
                             f"shape {tuple(W.shape)}")
        if D.ndim < 1 or D.shape[-1] != k:
            raise ValueError(f"{who}: cov_diag must be a batch of vectors with shape {(k,)}, got "
                             f"shape {tuple(D.shape)}")
        try:
            batch = np.broadcast_shapes(tuple(loc.shape[:-1]), tuple(W.shape[:-2]), tuple(D.shape[:-1]))
        except ValueError:
            raise ValueError(f"{who}: incompatible batch shapes: loc {tuple(loc.shape)}, cov_factor "
                             f"{tuple(W.shape)}, cov_diag {tuple(D.shape)}") from None
        r = W.shape[-1]
        self.loc = loc.expand(batch + (k,)) if tuple(loc.shape[:-1]) != batch else loc
        self.cov_factor = W.expand(batch + (k, r)) if tuple(W.shape[:-2]) != batch else W
        self.cov_diag = D.expand(batch + (k,)) if tuple(D.shape[:-1]) != batch else D
        self._W, self._D = W, D
        super().__init__(batch, (k,), validate_args=validate_args)

    def _capacitance_tril(self) -> Tensor:
        W, D = self._W, self._D
        Wt_Dinv = W.swapaxes(-1, -2) / D.unsqueeze(-2)
        r = W.shape[-1]
        C = Wt_Dinv @ W + tensor(np.eye(r, dtype=W.dtype))
        return linalg.cholesky(C)

    @property
    def variance(self) -> Tensor:
        return ((self._W ** 2).sum(-1) + self._D).expand(self._batch_shape + self._event_shape)

    @property
    def covariance_matrix(self) -> Tensor:
        """W W^T + diag(D)."""
        W = self._W
        return (W @ W.swapaxes(-1, -2) + self._D.diag_embed()).expand(self._batch_shape + self._event_shape * 2)

    @property
    def scale_tril(self) -> Tensor:
        """The lower Cholesky factor of the covariance."""
        return linalg.cholesky(self.covariance_matrix)

    @property
    def precision_matrix(self) -> Tensor:
        """The inverse covariance, by Woodbury: D^-1 - D^-1 W C^-1 W^T D^-1, C = I_r + W^T D^-1 W."""
        W, Dinv = self._W, 1.0 / self._D
        Wt_Dinv = W.swapaxes(-1, -2) * Dinv.unsqueeze(-2)  # W^T D^-1 (r x k)
        C = Tensor(np.eye(W.shape[-1], dtype=W.dtype)) + Wt_Dinv @ W
        P = Dinv.diag_embed() - Wt_Dinv.swapaxes(-1, -2) @ linalg.solve(C, Wt_Dinv)
        return P.expand(self._batch_shape + self._event_shape * 2)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        r = self._W.shape[-1]
        eps_w = _noise("normal", shape[:-1] + (r,), self.loc.dtype)
        eps_d = _noise("normal", shape, self.loc.dtype)
        return self.loc + _batch_mv(self._W, eps_w) + self._D.sqrt() * eps_d

    def _logdet(self, Lc: Tensor) -> Tensor:
        return 2 * Lc.diagonal(dim1=-2, dim2=-1).log().sum(-1) + self._D.log().sum(-1)

    def log_prob(self, value: Any) -> Tensor:
        diff = self._value(value) - self.loc
        Lc = self._capacitance_tril()
        W, D = self._W, self._D
        Wt_Dinv_d = _batch_mv(W.swapaxes(-1, -2), diff / D)
        shape = np.broadcast_shapes(tuple(Lc.shape[:-2]), tuple(Wt_Dinv_d.shape[:-1]))
        r = Lc.shape[-1]
        Lb = Lc if tuple(Lc.shape[:-2]) == shape else Lc.expand(shape + (r, r))
        vb = Wt_Dinv_d if tuple(Wt_Dinv_d.shape[:-1]) == shape else Wt_Dinv_d.expand(shape + (r,))
        z = linalg.solve_triangular(Lb, vb.unsqueeze(-1), upper=False).squeeze(-1)
        M = (diff ** 2 / D).sum(-1) - (z ** 2).sum(-1)
        k = self._event_shape[0]
        return -0.5 * (k * math.log(2 * math.pi) + self._logdet(Lc) + M)

    def entropy(self) -> Tensor:
        k = self._event_shape[0]
        H = 0.5 * (k * (1.0 + math.log(2 * math.pi)) + self._logdet(self._capacitance_tril()))
        return H if tuple(H.shape) == self._batch_shape else H.expand(self._batch_shape)


class VonMises(CentredAtLoc, Distribution):
    """The circular normal on [-pi, pi): log p(x) = kappa cos(x - loc) - log(2 pi) - log I0(kappa)
    (I0 via the scaled i0e for large kappa); mean and mode loc; circular variance
    1 - I1(kappa) / I0(kappa). Draws (no gradient) by Best and Fisher's rejection sampler."""

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real

    def __init__(self, loc: Any, concentration: Any, validate_args: Optional[bool] = None) -> None:
        super().__init__(self._broadcast_params(loc=loc, concentration=concentration), validate_args=validate_args)

    @property
    def variance(self) -> Tensor:
        k = self.concentration
        return 1 - special.i1e(k) / special.i0e(k)

    def log_prob(self, value: Any) -> Tensor:
        v = self._value(value)
        k = self.concentration
        return k * (v - self.loc).cos() - math.log(2 * math.pi) - special.i0e(k).log() - k

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        g = _generator()
        k = np.broadcast_to(self.concentration.data.astype(np.float64), shape)
        loc = np.broadcast_to(self.loc.data.astype(np.float64), shape)
        with np.errstate(divide="ignore", invalid="ignore"):  # (a small k: its series, as torch's; 0: uniform)
            tau = 1 + np.sqrt(1 + 4 * k ** 2)
            rho = (tau - np.sqrt(2 * tau)) / (2 * k)
            r = np.where(k < 1e-5, 1 / k + k, (1 + rho ** 2) / (2 * rho))
        out = np.empty(shape)
        todo = np.ones(shape, dtype=bool)
        while todo.any():
            u1, u2, u3 = g.random(shape), g.random(shape), g.random(shape)
            z = np.cos(np.pi * u1)
            with np.errstate(divide="ignore", invalid="ignore"):
                f = np.where(np.isinf(r), z, (1 + r * z) / (r + z))
                c = k * (r - f)
                ok = ((c * (2 - c) - u2) > 0) | ((np.log(c / u2) + 1 - c) >= 0) | (k == 0)
            theta = np.sign(u3 - 0.5) * np.arccos(np.clip(f, -1, 1))
            take = todo & ok
            out[take] = theta[take]
            todo &= ~ok
        out = np.mod(out + loc + np.pi, 2 * np.pi) - np.pi
        return tensor(out.astype(self.loc.dtype))
