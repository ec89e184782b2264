"""``tl.distributions.transforms``: invertible (or at least forward) maps y = f(x) between
constraint sets, with torch.distributions' names and semantics, and the ``biject_to`` /
``transform_to`` registries that map a constraint to a transform from unconstrained reals.

A transform has ``__call__(x)`` (y = f(x)), ``inv`` (the inverse transform, ``inv(y)`` = x),
``log_abs_det_jacobian(x, y)`` = log |det df/dx| (summed over the ``domain.event_dim``
rightmost dimensions), ``domain`` / ``codomain`` (constraints), ``bijective``, ``sign`` (+1 or
-1 for monotone elementwise maps) and ``event_dim``. Every map is built from Tensor ops, so
values and log-Jacobians differentiate back to x and to the transform's Tensor parameters.

This module keeps the transform classes and the two registries; it touches nothing else.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..nn import functional as F
from ..tensor import Tensor, tensor
from . import constraints
from .distribution import _sum_rightmost, clamp_probs

__all__ = ["Transform", "ExpTransform", "AffineTransform", "SigmoidTransform", "TanhTransform", "PowerTransform",
           "SoftmaxTransform", "StickBreakingTransform", "ComposeTransform", "AbsTransform",
           "LowerCholeskyTransform", "IndependentTransform", "identity_transform", "biject_to", "transform_to",
           "ConstraintRegistry"]


def _softplus(x: Tensor) -> Tensor:
    return F.softplus(x)


def _tensor_check(who: str, x: Any) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{who}: expected a Tensor, got {type(x).__name__}")
    return x


class Transform:
    """A map y = f(x) from ``domain`` to ``codomain`` (torch.distributions.Transform).

    Subclasses define ``_call(x)``, ``_inverse(y)`` and ``log_abs_det_jacobian(x, y)``.
    ``inv`` is the inverse transform (its call is ``_inverse``, its log-Jacobian the negated one
    evaluated at (y, x)). ``forward_shape`` / ``inverse_shape`` map a shape through the transform.
    """

    domain: Any = constraints.real
    codomain: Any = constraints.real
    bijective = False

    def __init__(self, cache_size: int = 0) -> None:
        if cache_size not in (0, 1):
            raise ValueError(f"{type(self).__name__}: cache_size must be 0 or 1, got {cache_size!r}")
        self._cache_size = cache_size
        self._inv: Optional[Transform] = None

    @property
    def event_dim(self) -> int:
        """The larger of the domain's and codomain's event dims."""
        return max(self.domain.event_dim, self.codomain.event_dim)

    @property
    def sign(self) -> int:
        """+1 for increasing, -1 for decreasing elementwise bijections."""
        raise NotImplementedError(f"{type(self).__name__}.sign is not defined")

    @property
    def inv(self) -> "Transform":
        """The inverse transform: ``t.inv(t(x)) == x`` for bijections."""
        if self._inv is None:
            self._inv = _InverseTransform(self)
        return self._inv

    def __call__(self, x: Tensor) -> Tensor:
        return self._call(_tensor_check(f"{type(self).__name__}.__call__", x))

    def _call(self, x: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}: the forward map is not implemented")

    def _inverse(self, y: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}: the inverse map is not implemented")

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        """log |det dy/dx| at (x, y = f(x))."""
        raise NotImplementedError(f"{type(self).__name__}.log_abs_det_jacobian is not implemented")

    def forward_shape(self, shape: Sequence[int]) -> tuple:
        """The shape of f(x) for x of ``shape``."""
        return tuple(shape)

    def inverse_shape(self, shape: Sequence[int]) -> tuple:
        """The shape of f^{-1}(y) for y of ``shape``."""
        return tuple(shape)

    def __eq__(self, other: Any) -> bool:
        return self is other

    def __ne__(self, other: Any) -> bool:
        return not self.__eq__(other)

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return type(self).__name__ + "()"


class _InverseTransform(Transform):
    """The inverse of a transform: calls its ``_inverse``; log-Jacobian -ladj(y, x)."""

    def __init__(self, transform: Transform) -> None:
        super().__init__()
        self._inv = transform

    @property
    def domain(self) -> Any:  # type: ignore[override]
        return self._inv.codomain

    @property
    def codomain(self) -> Any:  # type: ignore[override]
        return self._inv.domain

    @property
    def bijective(self) -> bool:  # type: ignore[override]
        return self._inv.bijective

    @property
    def sign(self) -> int:
        return self._inv.sign

    @property
    def inv(self) -> Transform:
        return self._inv

    def _call(self, x: Tensor) -> Tensor:
        return self._inv._inverse(x)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return -self._inv.log_abs_det_jacobian(y, x)

    def forward_shape(self, shape: Sequence[int]) -> tuple:
        return self._inv.inverse_shape(shape)

    def inverse_shape(self, shape: Sequence[int]) -> tuple:
        return self._inv.forward_shape(shape)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, _InverseTransform) and self._inv == other._inv

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"_InverseTransform({self._inv!r})"


class ExpTransform(Transform):
    """y = exp(x), real -> positive; log|dy/dx| = x."""

    domain = constraints.real
    codomain = constraints.positive
    bijective = True
    sign = 1  # type: ignore[assignment]

    def _call(self, x: Tensor) -> Tensor:
        return x.exp()

    def _inverse(self, y: Tensor) -> Tensor:
        return y.log()

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return x

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, ExpTransform)

    __hash__ = object.__hash__


class PowerTransform(Transform):
    """y = x^exponent, positive -> positive; log|dy/dx| = log|exponent y / x|; sign = sign(exponent)."""

    domain = constraints.positive
    codomain = constraints.positive
    bijective = True

    def __init__(self, exponent: Any, cache_size: int = 0) -> None:
        super().__init__(cache_size)
        if not isinstance(exponent, (Tensor, numbers.Real)) or isinstance(exponent, bool):
            raise TypeError(f"PowerTransform: exponent must be a number or Tensor, got {type(exponent).__name__}")
        self.exponent = exponent

    @property
    def sign(self) -> Any:
        e = self.exponent
        return Tensor.sign(e) if isinstance(e, Tensor) else int(np.sign(e))

    def _call(self, x: Tensor) -> Tensor:
        return x.pow(self.exponent)

    def _inverse(self, y: Tensor) -> Tensor:
        return y.pow(1 / self.exponent)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return (self.exponent * y / x).abs().log()

    def forward_shape(self, shape: Sequence[int]) -> tuple:
        return tuple(np.broadcast_shapes(tuple(shape), tuple(getattr(self.exponent, "shape", ()))))

    inverse_shape = forward_shape


class SigmoidTransform(Transform):
    """y = sigmoid(x) (clamped to [eps, 1 - eps]), real -> unit_interval; inverse logit;
    log|dy/dx| = -softplus(-x) - softplus(x)."""

    domain = constraints.real
    codomain = constraints.unit_interval
    bijective = True
    sign = 1  # type: ignore[assignment]

    def _call(self, x: Tensor) -> Tensor:
        return clamp_probs(x.sigmoid())

    def _inverse(self, y: Tensor) -> Tensor:
        fi = np.finfo(y.dtype)
        y = y.clamp(min=float(fi.tiny), max=float(1 - fi.eps))
        return y.log() - (-y).log1p()

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return -_softplus(-x) - _softplus(x)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, SigmoidTransform)

    __hash__ = object.__hash__


class TanhTransform(Transform):
    """y = tanh(x), real -> (-1, 1); inverse atanh; log|dy/dx| = 2 (log 2 - x - softplus(-2x))."""

    domain = constraints.real
    codomain = constraints.interval(-1.0, 1.0)
    bijective = True
    sign = 1  # type: ignore[assignment]

    def _call(self, x: Tensor) -> Tensor:
        return x.tanh()

    def _inverse(self, y: Tensor) -> Tensor:
        return 0.5 * ((y).log1p() - (-y).log1p())

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return 2.0 * (math.log(2.0) - x - _softplus(-2.0 * x))

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, TanhTransform)

    __hash__ = object.__hash__


class AbsTransform(Transform):
    """y = |x|, real -> positive; not bijective: ``inv(y)`` returns y (the nonnegative preimage)."""

    domain = constraints.real
    codomain = constraints.positive

    def _call(self, x: Tensor) -> Tensor:
        return x.abs()

    def _inverse(self, y: Tensor) -> Tensor:
        return y

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, AbsTransform)

    __hash__ = object.__hash__


class AffineTransform(Transform):
    """y = loc + scale x, acting on events of ``event_dim`` rightmost dimensions;
    log|det| = sum over the event of log|scale| (broadcast to x's shape); sign = sign(scale)."""

    bijective = True

    def __init__(self, loc: Any, scale: Any, event_dim: int = 0, cache_size: int = 0) -> None:
        super().__init__(cache_size)
        for name, v in (("loc", loc), ("scale", scale)):
            if not isinstance(v, (Tensor, numbers.Real)) or isinstance(v, bool):
                raise TypeError(f"AffineTransform: {name} must be a number or Tensor, got {type(v).__name__}")
        if isinstance(event_dim, bool) or not isinstance(event_dim, int) or event_dim < 0:
            raise ValueError(f"AffineTransform: event_dim must be a non-negative int, got {event_dim!r}")
        self.loc, self.scale, self._event_dim = loc, scale, event_dim

    @property
    def event_dim(self) -> int:
        return self._event_dim

    @property
    def domain(self) -> Any:  # type: ignore[override]
        return constraints.real if self._event_dim == 0 else constraints.independent(constraints.real, self._event_dim)

    codomain = domain  # type: ignore[assignment]

    @property
    def sign(self) -> Any:
        s = self.scale
        return Tensor.sign(s) if isinstance(s, Tensor) else int(np.sign(s))

    def _call(self, x: Tensor) -> Tensor:
        return self.loc + self.scale * x

    def _inverse(self, y: Tensor) -> Tensor:
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        s = self.scale
        if isinstance(s, Tensor):
            r = s.abs().log()
            shape = np.broadcast_shapes(tuple(x.shape), tuple(r.shape))
            r = r.expand(shape) if tuple(r.shape) != shape else r
        else:
            r = x.detach() * 0.0 + math.log(abs(s))
        if self._event_dim:
            r = _sum_rightmost(r, self._event_dim)
        return r

    def forward_shape(self, shape: Sequence[int]) -> tuple:
        return tuple(np.broadcast_shapes(tuple(shape), tuple(getattr(self.loc, "shape", ())),
                                         tuple(getattr(self.scale, "shape", ()))))

    inverse_shape = forward_shape

    def __repr__(self) -> str:
        return f"AffineTransform(loc={self.loc}, scale={self.scale}, event_dim={self._event_dim})"


class SoftmaxTransform(Transform):
    """y = softmax(x) over the last dimension, real_vector -> simplex; not bijective; inverse log y."""

    domain = constraints.real_vector
    codomain = constraints.simplex

    def _call(self, x: Tensor) -> Tensor:
        p = (x - x.detach().amax(-1, keepdim=True)).exp()
        return p / p.sum(-1, keepdim=True)

    def _inverse(self, y: Tensor) -> Tensor:
        return y.log()

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, SoftmaxTransform)

    __hash__ = object.__hash__


class StickBreakingTransform(Transform):
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

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, StickBreakingTransform)

    __hash__ = object.__hash__


class LowerCholeskyTransform(Transform):
    """Square matrices -> lower triangular with positive diagonal: strictly lower part kept,
    diagonal exponentiated. Not bijective (the upper part is dropped)."""

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.lower_cholesky

    def _call(self, x: Tensor) -> Tensor:
        return x.tril(-1) + x.diagonal(dim1=-2, dim2=-1).exp().diag_embed()

    def _inverse(self, y: Tensor) -> Tensor:
        return y.tril(-1) + y.diagonal(dim1=-2, dim2=-1).log().diag_embed()

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, LowerCholeskyTransform)

    __hash__ = object.__hash__


class IndependentTransform(Transform):
    """``base_transform`` with ``reinterpreted_batch_ndims`` more rightmost dimensions in its event:
    same map, log-Jacobian summed over those dimensions."""

    def __init__(self, base_transform: Transform, reinterpreted_batch_ndims: int, cache_size: int = 0) -> None:
        super().__init__(cache_size)
        if not isinstance(base_transform, Transform):
            raise TypeError(f"IndependentTransform: base_transform must be a Transform, got "
                            f"{type(base_transform).__name__}")
        r = reinterpreted_batch_ndims
        if isinstance(r, bool) or not isinstance(r, int) or r < 0:
            raise ValueError(f"IndependentTransform: reinterpreted_batch_ndims must be a non-negative int, got {r!r}")
        self.base_transform, self.reinterpreted_batch_ndims = base_transform, r

    @property
    def domain(self) -> Any:  # type: ignore[override]
        return constraints.independent(self.base_transform.domain, self.reinterpreted_batch_ndims)

    @property
    def codomain(self) -> Any:  # type: ignore[override]
        return constraints.independent(self.base_transform.codomain, self.reinterpreted_batch_ndims)

    @property
    def bijective(self) -> bool:  # type: ignore[override]
        return self.base_transform.bijective

    @property
    def sign(self) -> Any:
        return self.base_transform.sign

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
    identity (``identity_transform``)."""

    def __init__(self, parts: Sequence[Transform], cache_size: int = 0) -> None:
        super().__init__(cache_size)
        parts = list(parts)
        for p in parts:
            if not isinstance(p, Transform):
                raise TypeError(f"ComposeTransform: every part must be a Transform, got {type(p).__name__}")
        self.parts = parts

    @property
    def domain(self) -> Any:  # type: ignore[override]
        if not self.parts:
            return constraints.real
        domain = self.parts[0].domain
        event_dim = self.parts[-1].codomain.event_dim
        for part in reversed(self.parts):
            event_dim += part.domain.event_dim - part.codomain.event_dim
            event_dim = max(event_dim, part.domain.event_dim)
        if event_dim > domain.event_dim:
            domain = constraints.independent(domain, event_dim - domain.event_dim)
        return domain

    @property
    def codomain(self) -> Any:  # type: ignore[override]
        if not self.parts:
            return constraints.real
        codomain = self.parts[-1].codomain
        event_dim = self.parts[0].domain.event_dim
        for part in self.parts:
            event_dim += part.codomain.event_dim - part.domain.event_dim
            event_dim = max(event_dim, part.codomain.event_dim)
        if event_dim > codomain.event_dim:
            codomain = constraints.independent(codomain, event_dim - codomain.event_dim)
        return codomain

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


class ConstraintRegistry:
    """Maps a constraint (looked up by its class) to a factory ``constraint -> Transform``."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._registry: dict = {}

    def register(self, constraint: Any, factory: Optional[Callable] = None) -> Any:
        """Register ``factory`` for the class of ``constraint`` (an instance or a class); usable as
        a decorator when ``factory`` is omitted."""
        if factory is None:
            return lambda f: self.register(constraint, f)
        key = constraint if isinstance(constraint, type) else type(constraint)
        if not (isinstance(key, type) and issubclass(key, constraints.Constraint)):
            raise TypeError(f"{self._name}.register: expected a Constraint, got {constraint!r}")
        self._registry[key] = factory
        return factory

    def __call__(self, constraint: Any) -> Transform:
        for cls in type(constraint).__mro__:
            if cls in self._registry:
                return self._registry[cls](constraint)
        raise NotImplementedError(f"{self._name}: cannot transform {type(constraint).__name__} constraints "
                                  f"({constraint!r})")


biject_to = ConstraintRegistry("biject_to")
transform_to = ConstraintRegistry("transform_to")


def _to_real(c: Any) -> Transform:
    return identity_transform


def _to_greater_than(c: Any) -> Transform:
    return ComposeTransform([ExpTransform(), AffineTransform(c.lower_bound, 1)])


def _to_interval(c: Any) -> Transform:
    lo, hi = c.lower_bound, c.upper_bound
    if isinstance(lo, numbers.Number) and isinstance(hi, numbers.Number) and lo == 0 and hi == 1:
        return SigmoidTransform()
    return ComposeTransform([SigmoidTransform(), AffineTransform(lo, hi - lo)])


def _to_independent(c: Any, registry: ConstraintRegistry) -> Transform:
    return IndependentTransform(registry(c.base_constraint), c.reinterpreted_batch_ndims)


for _reg in (biject_to, transform_to):
    _reg.register(constraints.real, _to_real)
    _reg.register(constraints.greater_than, _to_greater_than)
    _reg.register(constraints.greater_than_eq, _to_greater_than)
    _reg.register(constraints.interval, _to_interval)
    _reg.register(constraints.half_open_interval, _to_interval)
    _reg.register(constraints.independent, lambda c, _r=_reg: _to_independent(c, _r))
biject_to.register(constraints.simplex, lambda c: StickBreakingTransform())
transform_to.register(constraints.simplex, lambda c: SoftmaxTransform())
transform_to.register(constraints.lower_cholesky, lambda c: LowerCholeskyTransform())
