"""``MultivariateNormal`` and ``Independent``.

``MultivariateNormal(loc, covariance_matrix=None, precision_matrix=None, scale_tril=None)``
keeps the lower Cholesky factor L of the covariance (from ``cholesky`` of the covariance; the
given ``scale_tril``; or, for a precision matrix P, the lower triangular L with L L^T = P^{-1},
from the Cholesky factor of P with its rows and columns reversed) and works from it with
differentiable Tensor ops: rsample = loc + L eps, log_prob = -(k log 2 pi + |L^{-1}(x - loc)|^2)/2
- sum log diag L, entropy = k (1 + log 2 pi) / 2 + sum log diag L.
``Independent(base, reinterpreted_batch_ndims)`` moves the rightmost batch dimensions of
``base`` into its event, summing ``log_prob`` and ``entropy`` over them.

This module keeps these two classes; their draws advance the default generator, nothing else is
touched.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Optional, Sequence

import numpy as np

from .. import linalg
from ..tensor import Tensor, tensor
from . import constraints
from .distribution import CentredAtLoc, Distribution, _as_tensor, _forwarded, _noise, _sum_rightmost, reinterpreted

__all__ = ["MultivariateNormal", "Independent"]


def _batch_mv(mat: Tensor, vec: Tensor) -> Tensor:
    """``mat @ vec`` over broadcast batch dimensions (vec's last dimension is the vector)."""
    return (mat @ vec.unsqueeze(-1)).squeeze(-1)


def _precision_from_tril(L: Tensor) -> Tensor:
    """L^{-T} L^{-1} (the inverse of L L^T) for L lower triangular."""
    eye = tensor(np.broadcast_to(np.eye(L.shape[-1], dtype=L.dtype), tuple(L.shape)).copy())
    Linv = linalg.solve_triangular(L, eye, upper=False)
    return Linv.swapaxes(-2, -1) @ Linv


def _batch_mahalanobis(L: Tensor, x: Tensor) -> Tensor:
    """|L^{-1} x|^2 over broadcast batch dimensions (L lower triangular)."""
    shape = np.broadcast_shapes(tuple(L.shape[:-2]), tuple(x.shape[:-1]))
    k = L.shape[-1]
    Lb = L if tuple(L.shape[:-2]) == shape else L.expand(shape + (k, k))
    xb = x if tuple(x.shape[:-1]) == shape else x.expand(shape + (k,))
    y = linalg.solve_triangular(Lb, xb.unsqueeze(-1), upper=False).squeeze(-1)
    return (y ** 2).sum(-1)


def _precision_to_scale_tril(P: Tensor) -> Tensor:
    """The lower L with L L^T = P^{-1}: with J the reversal, J P J = Lf Lf^T, so
    P^{-1} = (J Lf^{-T} J)(J Lf^{-T} J)^T and J Lf^{-T} J is lower triangular."""
    Lf = linalg.cholesky(P.flip((-2, -1)))
    L_inv = Lf.flip((-2, -1)).swapaxes(-2, -1)
    eye = tensor(np.broadcast_to(np.eye(P.shape[-1], dtype=P.dtype), tuple(P.shape)).copy())
    return linalg.solve_triangular(L_inv, eye, upper=False)


class MultivariateNormal(CentredAtLoc, Distribution):
    """N(loc, Sigma) on vectors of length k = loc.shape[-1], given exactly one of
    ``covariance_matrix`` (Sigma), ``precision_matrix`` (Sigma^{-1}) or ``scale_tril`` (L, lower
    triangular with a positive diagonal, Sigma = L L^T). batch_shape broadcasts loc's leading
    dimensions with the matrix's."""

    arg_constraints = {"loc": constraints.real_vector, "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite, "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc: Any, covariance_matrix: Any = None, precision_matrix: Any = None,
                 scale_tril: Any = None, validate_args: Optional[bool] = None) -> None:
        who = "MultivariateNormal"
        loc = _as_tensor(loc, who, "loc")
        if loc.ndim < 1:
            raise ValueError(f"{who}: loc must be at least one-dimensional, got shape {loc.shape}")
        given = [(n, m) for n, m in (("covariance_matrix", covariance_matrix),
                                     ("precision_matrix", precision_matrix), ("scale_tril", scale_tril))
                 if m is not None]
        if len(given) != 1:
            raise ValueError(f"{who}: exactly one of covariance_matrix or precision_matrix or scale_tril may be "
                             f"specified, got {[n for n, _ in given] or 'none'}")
        name, m = given[0]
        m = _as_tensor(m, who, name)
        if m.ndim < 2:
            raise ValueError(f"{who}: {name} must be at least two-dimensional, with optional leading batch "
                             f"dimensions, got shape {m.shape}")
        k = loc.shape[-1]
        if m.shape[-2:] != (k, k):
            raise ValueError(f"{who}: {name} of shape {m.shape} does not match loc of shape {loc.shape}")
        try:
            batch = np.broadcast_shapes(tuple(m.shape[:-2]), tuple(loc.shape[:-1]))
        except ValueError:
            raise ValueError(f"{who}: the batch shapes of loc {loc.shape} and {name} {m.shape} do not "
                             f"broadcast") from None
        self.loc = loc.expand(batch + (k,)) if tuple(loc.shape[:-1]) != batch else loc
        self.__dict__[name] = m.expand(batch + (k, k)) if tuple(m.shape[:-2]) != batch else m
        super().__init__(batch, (k,), validate_args=validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = m
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = linalg.cholesky(m)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(m)

    # the given matrix lives in the instance dict (where validation and ``expand`` find it); the
    # other two are computed from the Cholesky factor when read
    def _matrix(self, name: str, from_tril: Callable[[Tensor], Tensor]) -> Tensor:
        """The matrix ``name`` as given, else ``from_tril(L)`` expanded to the batch shape."""
        given = self.__dict__.get(name)
        if given is not None:
            return given
        return from_tril(self._unbroadcasted_scale_tril).expand(self._batch_shape + self._event_shape * 2)

    @property
    def scale_tril(self) -> Tensor:
        """L, lower triangular with Sigma = L L^T."""
        return self._matrix("scale_tril", lambda L: L)

    @property
    def covariance_matrix(self) -> Tensor:
        """Sigma = L L^T."""
        return self._matrix("covariance_matrix", lambda L: L @ L.swapaxes(-2, -1))

    @property
    def precision_matrix(self) -> Tensor:
        """Sigma^{-1} = L^{-T} L^{-1}."""
        return self._matrix("precision_matrix", _precision_from_tril)

    @property
    def variance(self) -> Tensor:
        return (self._unbroadcasted_scale_tril ** 2).sum(-1).expand(self._batch_shape + self._event_shape)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        eps = _noise("normal", self._extended_shape(sample_shape), self.loc.dtype)
        return self.loc + _batch_mv(self._unbroadcasted_scale_tril, eps)

    def _half_log_det(self) -> Tensor:
        return self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    def log_prob(self, value: Any) -> Tensor:
        diff = self._value(value) - self.loc
        M = _batch_mahalanobis(self._unbroadcasted_scale_tril, diff)
        k = self._event_shape[0]
        return -0.5 * (k * math.log(2 * math.pi) + M) - self._half_log_det()

    def entropy(self) -> Tensor:
        k = self._event_shape[0]
        H = 0.5 * k * (1.0 + math.log(2 * math.pi)) + self._half_log_det()
        return H if tuple(H.shape) == self._batch_shape else H.expand(self._batch_shape)


class Independent(Distribution):
    """``base_distribution`` with its ``reinterpreted_batch_ndims`` rightmost batch dimensions
    treated as event dimensions: log_prob and entropy are the base's summed over them; mean,
    mode, variance and draws are the base's."""

    arg_constraints: dict = {}

    def __init__(self, base_distribution: Distribution, reinterpreted_batch_ndims: int,
                 validate_args: Optional[bool] = None) -> None:
        if not isinstance(base_distribution, Distribution):
            raise TypeError(f"Independent: base_distribution must be a Distribution, got "
                            f"{type(base_distribution).__name__}")
        r = reinterpreted("Independent", reinterpreted_batch_ndims)
        shape = base_distribution.batch_shape + base_distribution.event_shape
        if r > len(base_distribution.batch_shape):
            raise ValueError(f"Independent: expected reinterpreted_batch_ndims <= len(base_distribution.batch_shape),"
                             f" actual {r} vs {len(base_distribution.batch_shape)}")
        event_dim = r + len(base_distribution.event_shape)
        self.base_dist = base_distribution
        self.reinterpreted_batch_ndims = r = int(r)
        super().__init__(shape[:len(shape) - event_dim], shape[len(shape) - event_dim:], validate_args=validate_args)

    def _expand_parts(self, new: Distribution, batch_shape: tuple) -> None:
        r = self.reinterpreted_batch_ndims
        base_batch = self.base_dist.batch_shape
        new.base_dist = self.base_dist.expand(batch_shape + base_batch[len(base_batch) - r:])

    has_rsample = _forwarded("base_dist.has_rsample")  # type: ignore[assignment]

    @property
    def has_enumerate_support(self) -> bool:  # type: ignore[override]
        return self.reinterpreted_batch_ndims == 0 and self.base_dist.has_enumerate_support

    @property
    def support(self) -> Any:
        s = self.base_dist.support
        return constraints.independent(s, self.reinterpreted_batch_ndims) if self.reinterpreted_batch_ndims else s

    mean = _forwarded("base_dist.mean")
    mode = _forwarded("base_dist.mode")
    variance = _forwarded("base_dist.variance")

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        return self.base_dist.rsample(sample_shape)

    def log_prob(self, value: Any) -> Tensor:
        return _sum_rightmost(self.base_dist.log_prob(value), self.reinterpreted_batch_ndims)

    def entropy(self) -> Tensor:
        return _sum_rightmost(self.base_dist.entropy(), self.reinterpreted_batch_ndims)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        if self.reinterpreted_batch_ndims > 0:
            raise NotImplementedError("Independent.enumerate_support: not implemented for "
                                      "reinterpreted_batch_ndims > 0")
        return self.base_dist.enumerate_support(expand)

    def __repr__(self) -> str:
        return f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})"
