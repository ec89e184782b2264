"""The vector and structural transforms: ``SoftmaxTransform``, ``StickBreakingTransform``,
``LowerCholeskyTransform``, ``IndependentTransform``, ``ComposeTransform`` and
``identity_transform`` (torch.distributions.transforms' names and semantics; the public module
is ``transforms.py``, which re-exports them).

This module keeps these classes and the identity instance; it touches nothing else.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..nn import functional as F
from ..tensor import Tensor, tensor
from . import constraints
from .distribution import _forwarded, _sum_rightmost, clamp_probs, reinterpreted
from .transform_base import ParameterFree, Transform, _tensor_check

__all__ = ["SoftmaxTransform", "StickBreakingTransform", "LowerCholeskyTransform", "IndependentTransform",
           "ComposeTransform", "identity_transform"]


class SoftmaxTransform(ParameterFree):
    """y = softmax(x) over the last dimension, real_vector -> simplex; not bijective; inverse log y."""

    domain = constraints.real_vector
    codomain = constraints.simplex

    def _call(self, x: Tensor) -> Tensor:
        p = (x - x.detach().amax(-1, keepdim=True)).exp()
        return p / p.sum(-1, keepdim=True)

    def _inverse(self, y: Tensor) -> Tensor:
        return y.log()


class StickBreakingTransform(ParameterFree):
    """Stick breaking, real_vector of size K -> simplex of size K + 1: z_i = sigmoid(x_i -
    log(K - i)) (i = 0..K-1), y_i = z_i prod_{j<i} (1 - z_j), y_K = prod_j (1 - z_j);
    log|det| = sum_i (-x'_i + logsigmoid(x'_i) + log y_i), x'_i = x_i - log(K - i)."""

    domain = constraints.real_vector
    codomain = constraints.simplex
    bijective = True

    @staticmethod
    def _offset(x: Tensor, n: int) -> Tensor:
        return tensor(np.log(np.arange(n, 0, -1, dtype=x.dtype)))

    def _call(self, x: Tensor) -> Tensor:
        z = clamp_probs((x - self._offset(x, x.shape[-1])).sigmoid())
        zc = (1 - z).cumprod(-1)
        return F.pad(z, (0, 1), value=1.0) * F.pad(zc, (1, 0), value=1.0)

    def _inverse(self, y: Tensor) -> Tensor:
        yc = y[..., :-1]
        sf = (1 - yc.cumsum(-1)).clamp(min=float(np.finfo(y.dtype).tiny))
        return yc.log() - sf.log() + self._offset(y, yc.shape[-1])

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        xo = x - self._offset(x, x.shape[-1])
        return (-xo + F.logsigmoid(xo) + y[..., :-1].log()).sum(-1)

    def forward_shape(self, shape: Sequence[int]) -> tuple:
        if len(shape) < 1:
            raise ValueError(f"StickBreakingTransform: too few dimensions in shape {tuple(shape)}")
        return tuple(shape[:-1]) + (shape[-1] + 1,)

    def inverse_shape(self, shape: Sequence[int]) -> tuple:
        if len(shape) < 1:
            raise ValueError(f"StickBreakingTransform: too few dimensions in shape {tuple(shape)}")
        return tuple(shape[:-1]) + (shape[-1] - 1,)


class LowerCholeskyTransform(ParameterFree):
    """Square matrices -> lower triangular with positive diagonal: strictly lower part kept,
    diagonal exponentiated. Not bijective (the upper part is dropped)."""

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.lower_cholesky

    def _call(self, x: Tensor) -> Tensor:
        return x.tril(-1) + x.diagonal(dim1=-2, dim2=-1).exp().diag_embed()

    def _inverse(self, y: Tensor) -> Tensor:
        return y.tril(-1) + y.diagonal(dim1=-2, dim2=-1).log().diag_embed()


class IndependentTransform(Transform):
    """``base_transform`` with ``reinterpreted_batch_ndims`` more rightmost dimensions in its event:
    same map, log-Jacobian summed over those dimensions."""

    def __init__(self, base_transform: Transform, reinterpreted_batch_ndims: int, cache_size: int = 0) -> None:
        super().__init__(cache_size)
        if not isinstance(base_transform, Transform):
            raise TypeError(f"IndependentTransform: base_transform must be a Transform, got "
                            f"{type(base_transform).__name__}")
        r = reinterpreted("IndependentTransform", reinterpreted_batch_ndims)
        self.base_transform, self.reinterpreted_batch_ndims = base_transform.with_cache(cache_size), r

    def _with_cache_size(self, cache_size: int) -> Transform:
        return IndependentTransform(self.base_transform, self.reinterpreted_batch_ndims, cache_size)

    @property
    def domain(self) -> Any:  # type: ignore[override]
        return constraints.independent(self.base_transform.domain, self.reinterpreted_batch_ndims)

    @property
    def codomain(self) -> Any:  # type: ignore[override]
        return constraints.independent(self.base_transform.codomain, self.reinterpreted_batch_ndims)

    bijective = _forwarded("base_transform.bijective")  # type: ignore[assignment]
    sign = _forwarded("base_transform.sign")  # type: ignore[assignment]

    def _call(self, x: Tensor) -> Tensor:
        return self.base_transform(x)

    def _inverse(self, y: Tensor) -> Tensor:
        return self.base_transform.inv(y)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return _sum_rightmost(self.base_transform.log_abs_det_jacobian(x, y), self.reinterpreted_batch_ndims)

    def forward_shape(self, shape: Sequence[int]) -> tuple:
        return self.base_transform.forward_shape(shape)

    def inverse_shape(self, shape: Sequence[int]) -> tuple:
        return self.base_transform.inverse_shape(shape)

    def __repr__(self) -> str:
        return f"IndependentTransform({self.base_transform!r}, {self.reinterpreted_batch_ndims})"


class ComposeTransform(Transform):
    """parts[-1] o ... o parts[0]; the log-Jacobian is the sum of the parts', each summed over
    the extra event dimensions the composition has at that stage. ``ComposeTransform([])`` is the
    identity (``identity_transform``). The parts do the caching: with ``cache_size=1`` each part
    is taken ``with_cache(1)``, the chain itself keeps nothing."""

    def __init__(self, parts: Sequence[Transform], cache_size: int = 0) -> None:
        super().__init__(cache_size)
        parts = list(parts)
        for p in parts:
            if not isinstance(p, Transform):
                raise TypeError(f"ComposeTransform: every part must be a Transform, got {type(p).__name__}")
        self.parts = [p.with_cache(cache_size) for p in parts] if cache_size else parts

    def _with_cache_size(self, cache_size: int) -> Transform:
        return ComposeTransform(self.parts, cache_size)

    def __call__(self, x: Tensor) -> Tensor:
        """parts[-1](...parts[0](x)), each part through its own cache."""
        if not self.parts:
            return _tensor_check("ComposeTransform.__call__", x)
        for p in self.parts:
            x = p(x)
        return x

    def _end(self, near: str, far: str) -> Any:
        """The chain's ``near`` constraint ("domain": the first part's; "codomain": the last
        part's), made ``independent`` over the event dimensions the parts add along the way."""
        if not self.parts:
            return constraints.real
        seq = self.parts[::-1] if near == "domain" else self.parts
        end = getattr(seq[-1], near)
        event_dim = getattr(seq[0], far).event_dim
        for part in seq:
            event_dim += getattr(part, near).event_dim - getattr(part, far).event_dim
            event_dim = max(event_dim, getattr(part, near).event_dim)
        if event_dim > end.event_dim:
            end = constraints.independent(end, event_dim - end.event_dim)
        return end

    @property
    def domain(self) -> Any:  # type: ignore[override]
        return self._end("domain", "codomain")

    @property
    def codomain(self) -> Any:  # type: ignore[override]
        return self._end("codomain", "domain")

    @property
    def bijective(self) -> bool:  # type: ignore[override]
        return all(p.bijective for p in self.parts)

    @property
    def sign(self) -> Any:
        s: Any = 1
        for p in self.parts:
            s = s * p.sign
        return s

    @property
    def inv(self) -> Transform:
        if self._inv is None:
            self._inv = ComposeTransform([p.inv for p in reversed(self.parts)])
            self._inv._inv = self
        return self._inv

    def _call(self, x: Tensor) -> Tensor:
        for p in self.parts:
            x = p(x)
        return x

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        if not self.parts:
            return x.detach() * 0.0
        xs = [x]
        for p in self.parts[:-1]:
            xs.append(p(xs[-1]))
        xs.append(y)
        total: Any = None
        event_dim = self.domain.event_dim
        for p, a, b in zip(self.parts, xs[:-1], xs[1:]):
            term = _sum_rightmost(p.log_abs_det_jacobian(a, b), event_dim - p.domain.event_dim)
            total = term if total is None else total + term
            event_dim += p.codomain.event_dim - p.domain.event_dim
        return total

    def forward_shape(self, shape: Sequence[int]) -> tuple:
        for p in self.parts:
            shape = p.forward_shape(shape)
        return tuple(shape)

    def inverse_shape(self, shape: Sequence[int]) -> tuple:
        for p in reversed(self.parts):
            shape = p.inverse_shape(shape)
        return tuple(shape)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, ComposeTransform) and self.parts == other.parts

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return "ComposeTransform(" + ", ".join(repr(p) for p in self.parts) + ")"


identity_transform = ComposeTransform([])
