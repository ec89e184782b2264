"""The ``Transform`` base class (with its inverse) and the elementwise transforms:
``ExpTransform``, ``PowerTransform``, ``SigmoidTransform``, ``TanhTransform``, ``AbsTransform``,
``AffineTransform`` (torch.distributions.transforms' names and semantics; the public module is
``transforms.py``, which re-exports them).

A transform has ``__call__(x)`` (y = f(x)), ``inv`` (the inverse transform, ``inv(y)`` = x),
``log_abs_det_jacobian(x, y)`` = log |det df/dx| (summed over the ``domain.event_dim``
rightmost dimensions), ``domain`` / ``codomain`` (constraints), ``bijective``, ``sign`` (+1 or
-1 for monotone elementwise maps) and ``event_dim``. Every map is built from Tensor ops, so
values and log-Jacobians differentiate back to x and to the transform's Tensor parameters.

Caching (torch's ``cache_size``): a transform built with ``cache_size=1`` keeps its last pair
(x, y). Called again with that very x object (``is``, not equality) it returns the kept y
without computing; its inverse given that very y returns the kept x object. Each call that
computes replaces the pair, in either direction. ``with_cache(n)`` is the same transform with
``cache_size=n`` (``self`` when it already has it).

This module keeps these classes; it touches nothing else.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Optional, Sequence

import numpy as np

from ..nn import functional as F
from ..tensor import Tensor
from . import constraints
from .distribution import _forwarded, _sum_rightmost, clamp_probs

__all__ = ["Transform", "ExpTransform", "AffineTransform", "SigmoidTransform", "TanhTransform", "PowerTransform",
           "AbsTransform"]


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
        self._cache_size = int(cache_size)
        self._inv: Optional[Transform] = None
        self._cached_x_y: tuple = (None, None)

    def with_cache(self, cache_size: int = 1) -> "Transform":
        """This transform with ``cache_size`` (``self`` if it already has that size)."""
        if self._cache_size == cache_size:
            return self
        return self._with_cache_size(cache_size)

    def _with_cache_size(self, cache_size: int) -> "Transform":
        """A new transform like this one with ``cache_size`` (what ``with_cache`` returns when the
        size changes); a transform whose constructor takes arguments overrides this."""
        if type(self).__init__ is Transform.__init__:
            return type(self)(cache_size=cache_size)
        raise NotImplementedError(f"{type(self).__name__}.with_cache is not implemented")

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
        """y = f(x); with ``cache_size=1``, the kept y when ``x`` is the kept x object."""
        return self._through_cache(x, True)

    def _inv_call(self, y: Tensor) -> Tensor:
        """x = f^{-1}(y) (what ``inv(y)`` computes); with ``cache_size=1``, the kept x when ``y``
        is the kept y object."""
        return self._through_cache(y, False)

    def _through_cache(self, arg: Tensor, forward: bool) -> Tensor:
        """``_call(arg)`` (forward) or ``_inverse(arg)``, unless ``cache_size=1`` keeps the pair
        ``(x, y)`` whose matching side is the object ``arg``; the new pair is kept."""
        if self._cache_size:
            x_old, y_old = self._cached_x_y
            if arg is (x_old if forward else y_old):
                return y_old if forward else x_old
        who = f"{type(self).__name__}.{'__call__' if forward else 'inv'}"
        out = (self._call if forward else self._inverse)(_tensor_check(who, arg))
        if self._cache_size:
            self._cached_x_y = (arg, out) if forward else (out, arg)
        return out

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


def _equal(a: Any, b: Any) -> bool:
    """Whether two parameters (numbers or Tensors) are equal everywhere, broadcast as torch
    compares them (False where they do not broadcast)."""
    try:
        return bool(np.all(np.equal(getattr(a, "data", a), getattr(b, "data", b))))
    except ValueError:
        return False


class _InverseTransform(Transform):
    """The inverse of a transform: calls its ``_inverse``; log-Jacobian -ladj(y, x)."""

    def __init__(self, transform: Transform) -> None:
        super().__init__(cache_size=transform._cache_size)
        self._inv = transform

    domain = _forwarded("_inv.codomain")
    codomain = _forwarded("_inv.domain")
    bijective = _forwarded("_inv.bijective")  # type: ignore[assignment]
    sign = _forwarded("_inv.sign")  # type: ignore[assignment]
    inv = _forwarded("_inv")  # type: ignore[assignment]

    def with_cache(self, cache_size: int = 1) -> Transform:
        return self._inv.with_cache(cache_size).inv

    def __call__(self, x: Tensor) -> Tensor:
        """The inverse map of the wrapped transform (through its cache)."""
        return self._inv._inv_call(x)

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


class ParameterFree(Transform):
    """A transform without parameters: equal to every instance of its class, as torch's."""

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, type(self))

    __hash__ = object.__hash__


class ExpTransform(ParameterFree):
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

    def _with_cache_size(self, cache_size: int) -> Transform:
        return PowerTransform(self.exponent, cache_size)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, PowerTransform) and _equal(self.exponent, other.exponent)

    __hash__ = object.__hash__

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


class SigmoidTransform(ParameterFree):
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


class TanhTransform(ParameterFree):
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


class AbsTransform(ParameterFree):
    """y = |x|, real -> positive; not bijective: ``inv(y)`` returns y (the nonnegative preimage)."""

    domain = constraints.real
    codomain = constraints.positive

    def _call(self, x: Tensor) -> Tensor:
        return x.abs()

    def _inverse(self, y: Tensor) -> Tensor:
        return y


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

    def _with_cache_size(self, cache_size: int) -> Transform:
        return AffineTransform(self.loc, self.scale, self._event_dim, cache_size)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, AffineTransform) and _equal(self.loc, other.loc) and _equal(self.scale, other.scale)

    __hash__ = object.__hash__

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
