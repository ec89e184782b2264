"""The block and shape transforms: ``CatTransform`` (transforms applied to consecutive blocks
along a dimension, as ``cat`` joins them), ``StackTransform`` (one transform per slice along a
dimension, as ``stack`` joins them), ``ReshapeTransform`` (the rightmost event reshaped, unit
Jacobian) and ``CumulativeDistributionTransform`` (y = F(x), the cdf of a distribution), with
torch.distributions.transforms' names, arguments and semantics (the public module is
``transforms.py``, which re-exports them).

This module keeps these classes; it touches nothing else.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Optional, Sequence

from ..ops.layout import cat as _cat
from ..ops.layout import stack as _stack
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution, _forwarded, _sum_rightmost
from .transform_base import Transform

__all__ = ["CatTransform", "StackTransform", "ReshapeTransform", "CumulativeDistributionTransform"]


def _transforms(who: str, tseq: Any) -> list:
    if isinstance(tseq, Transform) or not isinstance(tseq, (list, tuple)):
        raise TypeError(f"{who}: tseq must be a list of Transforms, got {type(tseq).__name__}")
    for t in tseq:
        if not isinstance(t, Transform):
            raise TypeError(f"{who}: every element of tseq must be a Transform, got {type(t).__name__}")
    return list(tseq)


def _int(who: str, name: str, v: Any, low: Optional[int] = None) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or (low is not None and v < low):
        need = "an int" if low is None else f"an int >= {low}"
        raise ValueError(f"{who}: {name} must be {need}, got {v!r}")
    return int(v)


def _shape_arg(who: str, name: str, shape: Any) -> tuple:
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"{who}: {name} must be a tuple of non-negative ints, got {shape!r}")
    return tuple(_int(who, name, s, 0) for s in shape)


def _check_axis(who: str, t: Tensor, dim: int, size: int, what: str) -> None:
    """``dim`` must index ``t`` and ``t.shape[dim]`` be ``size`` (ValueError naming ``who``)."""
    nd = len(t.shape)
    if not -nd <= dim < nd:
        raise ValueError(f"{who}: dim {dim} is out of range for a Tensor of shape {tuple(t.shape)}")
    if t.shape[dim] != size:
        raise ValueError(f"{who}: expected size {size} ({what}) along dim {dim}, got shape {tuple(t.shape)}")


class _Joined(Transform):
    """What Cat and Stack share: the parts ``transforms`` (given the cache size), the joining
    ``dim``, bijectivity (every part's) and the shape maps through the parts (``_shape_map``)."""

    def __init__(self, who: str, tseq: Sequence[Transform], dim: int, cache_size: int) -> None:
        parts = _transforms(who, tseq)
        super().__init__(cache_size)
        self.transforms = [t.with_cache(cache_size) for t in parts] if cache_size else parts
        self.dim = _int(who, "dim", dim)

    @property
    def bijective(self) -> bool:  # type: ignore[override]
        return all(t.bijective for t in self.transforms)

    def _join(self, parts: list) -> Any:
        """The constraint of the joined parts' constraints ``parts``."""
        raise NotImplementedError

    @property
    def domain(self) -> Any:  # type: ignore[override]
        return self._join([t.domain for t in self.transforms])

    @property
    def codomain(self) -> Any:  # type: ignore[override]
        return self._join([t.codomain for t in self.transforms])

    def _shape_map(self, shape: Sequence[int], fn: Callable) -> tuple:
        raise NotImplementedError

    def forward_shape(self, shape: Sequence[int]) -> tuple:
        return self._shape_map(shape, lambda t, s: t.forward_shape(s))

    def inverse_shape(self, shape: Sequence[int]) -> tuple:
        return self._shape_map(shape, lambda t, s: t.inverse_shape(s))


class CatTransform(_Joined):
    """``tseq[i]`` applied to the i-th block of ``lengths[i]`` entries along ``dim`` (``lengths``
    default all 1), the results joined with ``cat`` along ``dim``: y = cat([t_i(x_i)]).
    ``domain`` / ``codomain`` are ``constraints.cat`` of the parts'; ``event_dim`` the largest
    part's. log|det J|: each part's, summed over the event dimensions it lacks, then joined
    along ``dim`` when ``dim`` lies in the batch dimensions, added up when it lies in the event.
    ``inv`` applies the parts' inverses blockwise."""

    def __init__(self, tseq: Sequence[Transform], dim: int = 0, lengths: Optional[Sequence[int]] = None,
                 cache_size: int = 0) -> None:
        who = "CatTransform"
        super().__init__(who, tseq, dim, cache_size)
        lengths = [1] * len(self.transforms) if lengths is None else list(lengths)
        self.lengths = [_int(who, "lengths", n, 0) for n in lengths]
        if len(self.lengths) != len(self.transforms):
            raise ValueError(f"{who}: lengths ({len(self.lengths)}) must match the transforms "
                             f"({len(self.transforms)})")

    @property
    def event_dim(self) -> int:
        return max((t.event_dim for t in self.transforms), default=0)

    @property
    def length(self) -> int:
        """The size along ``dim`` the transform acts on: ``sum(lengths)``."""
        return sum(self.lengths)

    def _with_cache_size(self, cache_size: int) -> Transform:
        return CatTransform(self.transforms, self.dim, self.lengths, cache_size)

    def _join(self, parts: list) -> Any:
        return constraints.cat(parts, self.dim, self.lengths)

    def _blocks(self, who: str, z: Tensor, name: str) -> list:
        _check_axis(who, z, self.dim, self.length, f"sum of lengths {self.lengths}, {name}")
        out, start = [], 0
        for n in self.lengths:
            out.append(z.narrow(self.dim, start, n))
            start += n
        return out

    def _map(self, who: str, z: Tensor, fns: list) -> Tensor:
        return _cat([f(b) for f, b in zip(fns, self._blocks(who, z, "x"))], dim=self.dim)

    def _call(self, x: Tensor) -> Tensor:
        return self._map("CatTransform.__call__", x, list(self.transforms))

    def _inverse(self, y: Tensor) -> Tensor:
        return self._map("CatTransform.inv", y, [t.inv for t in self.transforms])

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        who = "CatTransform.log_abs_det_jacobian"
        ev = self.event_dim
        terms = []
        for t, a, b in zip(self.transforms, self._blocks(who, x, "x"), self._blocks(who, y, "y")):
            terms.append(_sum_rightmost(t.log_abs_det_jacobian(a, b), ev - t.event_dim))
        dim = (self.dim - len(x.shape) if self.dim >= 0 else self.dim) + ev
        if dim < 0:
            return _cat(terms, dim=dim)
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        return total

    def _shape_map(self, shape: Sequence[int], fn: Callable) -> tuple:
        who = "CatTransform.forward_shape"
        shape = tuple(shape)
        if not -len(shape) <= self.dim < len(shape) or shape[self.dim] != self.length:
            raise ValueError(f"{who}: shape {shape} has no size {self.length} (sum of lengths) along dim {self.dim}")
        d = self.dim % len(shape)
        outs = [tuple(fn(t, shape[:d] + (n,) + shape[d + 1:])) for t, n in zip(self.transforms, self.lengths)]
        rest = {o[:d] + o[d + 1:] for o in outs if len(o) == len(shape)}
        if len(rest) > 1 or any(len(o) != len(shape) for o in outs):
            raise ValueError(f"{who}: the parts map the blocks of shape {shape} to shapes {outs} that do not join "
                             f"along dim {self.dim}")
        return shape[:d] + (sum(o[d] for o in outs),) + shape[d + 1:]

    def __repr__(self) -> str:
        return f"CatTransform({self.transforms!r}, dim={self.dim}, lengths={self.lengths})"


class StackTransform(_Joined):
    """``tseq[i]`` applied to the i-th slice along ``dim`` (``x.select(dim, i)``), the results
    joined with ``stack`` along ``dim``. ``domain`` / ``codomain`` are ``constraints.stack`` of
    the parts'; log|det J| is the parts' stacked along ``dim``; ``inv`` applies the parts'
    inverses slice by slice."""

    def __init__(self, tseq: Sequence[Transform], dim: int = 0, cache_size: int = 0) -> None:
        super().__init__("StackTransform", tseq, dim, cache_size)

    def _with_cache_size(self, cache_size: int) -> Transform:
        return StackTransform(self.transforms, self.dim, cache_size)

    def _join(self, parts: list) -> Any:
        return constraints.stack(parts, self.dim)

    def _slices(self, who: str, z: Tensor, name: str) -> list:
        _check_axis(who, z, self.dim, len(self.transforms), f"one slice per transform, {name}")
        return [z.select(self.dim, i) for i in range(len(self.transforms))]

    def _call(self, x: Tensor) -> Tensor:
        parts = self._slices("StackTransform.__call__", x, "x")
        return _stack([t(s) for t, s in zip(self.transforms, parts)], dim=self.dim)

    def _inverse(self, y: Tensor) -> Tensor:
        parts = self._slices("StackTransform.inv", y, "y")
        return _stack([t.inv(s) for t, s in zip(self.transforms, parts)], dim=self.dim)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        who = "StackTransform.log_abs_det_jacobian"
        xs, ys = self._slices(who, x, "x"), self._slices(who, y, "y")
        return _stack([t.log_abs_det_jacobian(a, b) for t, a, b in zip(self.transforms, xs, ys)], dim=self.dim)

    def _shape_map(self, shape: Sequence[int], fn: Callable) -> tuple:
        who = "StackTransform.forward_shape"
        shape = tuple(shape)
        if not -len(shape) <= self.dim < len(shape) or shape[self.dim] != len(self.transforms):
            raise ValueError(f"{who}: shape {shape} has no size {len(self.transforms)} (one slice per transform) "
                             f"along dim {self.dim}")
        d = self.dim % len(shape)
        outs = {tuple(fn(t, shape[:d] + shape[d + 1:])) for t in self.transforms}
        if len(outs) != 1:
            raise ValueError(f"{who}: the parts map the slices of shape {shape} to different shapes {sorted(outs)}")
        out = outs.pop()
        return out[:d] + (len(self.transforms),) + out[d:]

    def __repr__(self) -> str:
        return f"StackTransform({self.transforms!r}, dim={self.dim})"


class ReshapeTransform(Transform):
    """The rightmost ``in_shape`` of x reshaped to ``out_shape`` (batch dimensions kept); the
    Jacobian is a permutation, so log|det J| = 0 (shape: the batch dimensions). ``in_shape`` and
    ``out_shape`` must hold the same number of elements. domain: real over ``len(in_shape)``
    event dimensions; codomain: real over ``len(out_shape)``."""

    bijective = True

    def __init__(self, in_shape: Sequence[int], out_shape: Sequence[int], cache_size: int = 0) -> None:
        who = "ReshapeTransform"
        self.in_shape = _shape_arg(who, "in_shape", in_shape)
        self.out_shape = _shape_arg(who, "out_shape", out_shape)
        if math.prod(self.in_shape) != math.prod(self.out_shape):
            raise ValueError(f"{who}: in_shape {self.in_shape} and out_shape {self.out_shape} have different "
                             "numbers of elements")
        super().__init__(cache_size)

    @property
    def domain(self) -> Any:  # type: ignore[override]
        return constraints.independent(constraints.real, len(self.in_shape))

    @property
    def codomain(self) -> Any:  # type: ignore[override]
        return constraints.independent(constraints.real, len(self.out_shape))

    def _with_cache_size(self, cache_size: int) -> Transform:
        return ReshapeTransform(self.in_shape, self.out_shape, cache_size)

    @staticmethod
    def _reshape(who: str, z: Tensor, src: tuple, dst: tuple) -> Tensor:
        shape = tuple(z.shape)
        cut = len(shape) - len(src)
        if cut < 0 or shape[cut:] != src:
            raise ValueError(f"{who}: expected a Tensor whose rightmost shape is {src}, got shape {shape}")
        return z.reshape(shape[:cut] + dst)

    def _call(self, x: Tensor) -> Tensor:
        return self._reshape("ReshapeTransform.__call__", x, self.in_shape, self.out_shape)

    def _inverse(self, y: Tensor) -> Tensor:
        return self._reshape("ReshapeTransform.inv", y, self.out_shape, self.in_shape)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return x.new_zeros(tuple(x.shape[:len(x.shape) - len(self.in_shape)]))

    @staticmethod
    def _map_shape(who: str, shape: Sequence[int], src: tuple, dst: tuple) -> tuple:
        shape = tuple(shape)
        if len(shape) < len(src):
            raise ValueError(f"{who}: too few dimensions in shape {shape} (need {len(src)})")
        cut = len(shape) - len(src)
        if shape[cut:] != src:
            raise ValueError(f"{who}: shape mismatch: expected {src} but got {shape[cut:]} (from shape {shape})")
        return shape[:cut] + dst

    def forward_shape(self, shape: Sequence[int]) -> tuple:
        return self._map_shape("ReshapeTransform.forward_shape", shape, self.in_shape, self.out_shape)

    def inverse_shape(self, shape: Sequence[int]) -> tuple:
        return self._map_shape("ReshapeTransform.inverse_shape", shape, self.out_shape, self.in_shape)

    def __repr__(self) -> str:
        return f"ReshapeTransform(in_shape={self.in_shape}, out_shape={self.out_shape})"


class CumulativeDistributionTransform(Transform):
    """y = F(x), the cdf of ``distribution``: domain its support, codomain the unit interval,
    increasing (``sign`` +1); inverse its ``icdf``; log|dy/dx| = log p(x) (its ``log_prob``).
    E.g. ``TransformedDistribution(MultivariateNormal(...), CumulativeDistributionTransform(Normal(0, 1)))``
    is a Gaussian copula."""

    bijective = True
    codomain = constraints.unit_interval
    sign = 1  # type: ignore[assignment]

    def __init__(self, distribution: Distribution, cache_size: int = 0) -> None:
        if not isinstance(distribution, Distribution):
            raise TypeError(f"CumulativeDistributionTransform: distribution must be a Distribution, got "
                            f"{type(distribution).__name__}")
        super().__init__(cache_size)
        self.distribution = distribution

    domain = _forwarded("distribution.support")

    def _with_cache_size(self, cache_size: int) -> Transform:
        return CumulativeDistributionTransform(self.distribution, cache_size)

    def _call(self, x: Tensor) -> Tensor:
        return self.distribution.cdf(x)

    def _inverse(self, y: Tensor) -> Tensor:
        return self.distribution.icdf(y)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return self.distribution.log_prob(x)

    def __repr__(self) -> str:
        return f"CumulativeDistributionTransform({self.distribution!r})"
