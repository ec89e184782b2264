"""``tl.distributions.transforms``: invertible (or at least forward) maps y = f(x) between
constraint sets, with torch.distributions' names and semantics, and the ``biject_to`` /
``transform_to`` registries that map a constraint to a transform from unconstrained reals
(real: identity; greater_than(lb): exp then + lb; interval(lo, hi): sigmoid then affine, plain
sigmoid for [0, 1]; simplex: stick breaking for biject_to, softmax for transform_to;
independent(c, n): the transform of c with n more event dimensions; lower_cholesky: the
LowerCholeskyTransform for transform_to).

The classes live in ``transform_base.py`` (base class, elementwise maps),
``transform_more.py`` (vector and structural maps) and ``transform_blocks.py`` (block, stack,
reshape and cdf maps); this module re-exports them and keeps the two registries; it touches
nothing else.
"""

from __future__ import annotations

import numbers
from typing import Any, Callable, Optional

from . import constraints
from .transform_base import (
    AbsTransform,
    AffineTransform,
    ExpTransform,
    PowerTransform,
    SigmoidTransform,
    TanhTransform,
    Transform,
)
from .transform_blocks import CatTransform, CumulativeDistributionTransform, ReshapeTransform, StackTransform
from .transform_more import (
    ComposeTransform,
    IndependentTransform,
    LowerCholeskyTransform,
    SoftmaxTransform,
    StickBreakingTransform,
    identity_transform,
)

__all__ = ["Transform", "ExpTransform", "AffineTransform", "SigmoidTransform", "TanhTransform", "PowerTransform",
           "SoftmaxTransform", "StickBreakingTransform", "ComposeTransform", "AbsTransform",
           "LowerCholeskyTransform", "IndependentTransform", "identity_transform", "biject_to", "transform_to",
           "ConstraintRegistry", "CatTransform", "StackTransform", "ReshapeTransform",
           "CumulativeDistributionTransform"]


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
