"""``tl.distributions.constraints``: the sets a parameter or a value must lie in.

Each constraint answers ``check(value)`` with a numpy bool array (one entry per element, or
per event for the vector and matrix constraints), read from ``.data``: a check never records
a graph and never changes its input. Torch's names: ``real``, ``positive``, ``nonnegative``,
``unit_interval``, ``boolean``, ``nonnegative_integer``, ``simplex``, ``real_vector``,
``positive_definite``, ``lower_cholesky``, ``independent``, ``interval``, ``greater_than``,
``integer_interval``, ``cat``, ``stack``; ``dependent`` marks an argument checked elsewhere.

This module keeps the constraint classes and their shared instances; it touches nothing else.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["Constraint", "real", "positive", "nonnegative", "unit_interval", "boolean", "nonnegative_integer",
           "simplex", "real_vector", "positive_definite", "lower_cholesky", "one_hot", "dependent", "independent",
           "interval", "half_open_interval", "greater_than", "greater_than_eq", "integer_interval", "is_dependent",
           "cat", "stack"]


def _np(x: Any) -> np.ndarray:
    return np.asarray(getattr(x, "data", x))


class Constraint:
    """A set of values: ``check(value)`` is True where the value lies in it. ``event_dim`` is the
    number of rightmost dimensions that make one checked event (0: elementwise)."""

    is_discrete = False
    event_dim = 0

    def check(self, value: Any) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return type(self).__name__.lstrip("_") + "()"


class _Dependent(Constraint):
    """A placeholder: the argument's valid set depends on other arguments (checked by its owner)."""

    def check(self, value: Any) -> np.ndarray:
        raise ValueError("dependent: cannot determine the support of a dependent constraint")


def is_dependent(constraint: Any) -> bool:
    """True for the ``dependent`` placeholder."""
    return isinstance(constraint, _Dependent)


class _Real(Constraint):
    """Every real number (NaN excluded)."""

    def check(self, value: Any) -> np.ndarray:
        v = _np(value)
        return v == v


class _GreaterThan(Constraint):
    """``value > lower_bound``."""

    def __init__(self, lower_bound: Any) -> None:
        self.lower_bound = lower_bound

    def check(self, value: Any) -> np.ndarray:
        return _np(value) > _np(self.lower_bound)

    def __repr__(self) -> str:
        return f"GreaterThan(lower_bound={self.lower_bound})"


class _GreaterThanEq(_GreaterThan):
    """``value >= lower_bound``."""

    def check(self, value: Any) -> np.ndarray:
        return _np(value) >= _np(self.lower_bound)

    def __repr__(self) -> str:
        return f"GreaterThanEq(lower_bound={self.lower_bound})"


class _Interval(Constraint):
    """``lower_bound <= value <= upper_bound``."""

    def __init__(self, lower_bound: Any, upper_bound: Any) -> None:
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value: Any) -> np.ndarray:
        v = _np(value)
        return (_np(self.lower_bound) <= v) & (v <= _np(self.upper_bound))

    def __repr__(self) -> str:
        return f"{type(self).__name__.lstrip('_')}(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _HalfOpenInterval(_Interval):
    """``lower_bound <= value < upper_bound``."""

    def check(self, value: Any) -> np.ndarray:
        v = _np(value)
        return (_np(self.lower_bound) <= v) & (v < _np(self.upper_bound))


class _IntegerInterval(_Interval):
    """Integers ``lower_bound <= value <= upper_bound``."""

    is_discrete = True

    def check(self, value: Any) -> np.ndarray:
        v = _np(value)
        return (v % 1 == 0) & super().check(v)


class _IntegerGreaterThanEq(Constraint):
    """Integers ``>= lower_bound``."""

    is_discrete = True

    def __init__(self, lower_bound: int) -> None:
        self.lower_bound = lower_bound

    def check(self, value: Any) -> np.ndarray:
        v = _np(value)
        return (v % 1 == 0) & (v >= self.lower_bound)

    def __repr__(self) -> str:
        return f"IntegerGreaterThan(lower_bound={self.lower_bound})"


class _Boolean(Constraint):
    """``value`` is 0 or 1."""

    is_discrete = True

    def check(self, value: Any) -> np.ndarray:
        v = _np(value)
        return (v == 0) | (v == 1)


class _OneHot(Constraint):
    """One-hot vectors: entries 0 or 1 with exactly one 1 in the last dimension."""

    is_discrete = True
    event_dim = 1

    def check(self, value: Any) -> np.ndarray:
        v = _np(value)
        return ((v == 0) | (v == 1)).all(-1) & (v.sum(-1) == 1)


class _Simplex(Constraint):
    """Nonnegative vectors summing to 1 (to 1e-6) in the last dimension."""

    event_dim = 1

    def check(self, value: Any) -> np.ndarray:
        v = _np(value)
        return (v >= 0).all(-1) & (np.abs(v.sum(-1) - 1) < 1e-6)


class _PositiveDefinite(Constraint):
    """Symmetric positive definite matrices (a Cholesky factorisation succeeds)."""

    event_dim = 2

    def check(self, value: Any) -> np.ndarray:
        v = _np(value)
        sym = np.isclose(v, np.swapaxes(v, -1, -2), rtol=1e-8, atol=1e-12).all((-1, -2))
        flat = v.reshape((math.prod(v.shape[:-2]),) + v.shape[-2:])  # (-1 is ambiguous for 0x0 matrices)
        ok = np.empty(len(flat), dtype=bool)
        for i, m in enumerate(flat):
            try:
                np.linalg.cholesky(m)
                ok[i] = True
            except np.linalg.LinAlgError:
                ok[i] = False
        return sym & ok.reshape(v.shape[:-2])


class _LowerCholesky(Constraint):
    """Lower triangular matrices with a positive diagonal."""

    event_dim = 2

    def check(self, value: Any) -> np.ndarray:
        v = _np(value)
        lower = (np.tril(v) == v).all((-1, -2))
        return lower & (np.diagonal(v, axis1=-2, axis2=-1) > 0).all(-1)


class _Independent(Constraint):
    """``base`` checked elementwise, then required over ``reinterpreted_batch_ndims`` more
    rightmost dimensions."""

    def __init__(self, base_constraint: Constraint, reinterpreted_batch_ndims: int) -> None:
        self.base_constraint = base_constraint
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims
        self.is_discrete = base_constraint.is_discrete
        self.event_dim = base_constraint.event_dim + reinterpreted_batch_ndims

    def check(self, value: Any) -> np.ndarray:
        ok = np.asarray(self.base_constraint.check(value))
        n = self.reinterpreted_batch_ndims
        return ok.all(tuple(range(-n, 0))) if n else ok

    def __repr__(self) -> str:
        return f"IndependentConstraint({self.base_constraint!r}, {self.reinterpreted_batch_ndims})"


class _RealVector(_Independent):
    def __init__(self) -> None:
        super().__init__(_Real(), 1)

    def __repr__(self) -> str:
        return "IndependentConstraint(Real(), 1)"


def _check_dim(who: str, v: np.ndarray, dim: int) -> None:
    if not -v.ndim <= dim < v.ndim:
        raise ValueError(f"{who}: dim {dim} is out of range for a value with {v.ndim} dimensions")


class _Cat(Constraint):
    """``cseq[i]`` checked on the i-th block of ``lengths[i]`` entries along ``dim`` (blocks laid
    out as ``cat`` lays them out). ``event_dim`` is the largest of the parts'; each part's check
    is first required over the event dimensions it lacks, then the checks are joined along
    ``dim`` when it is a batch dimension, and-ed when it lies in the event."""

    def __init__(self, cseq: Any, dim: int = 0, lengths: Any = None) -> None:
        self.cseq = list(cseq)
        if not all(isinstance(c, Constraint) for c in self.cseq):
            raise TypeError(f"constraints.cat: every element of cseq must be a Constraint, got {self.cseq!r}")
        self.lengths = [1] * len(self.cseq) if lengths is None else list(lengths)
        if len(self.lengths) != len(self.cseq):
            raise ValueError(f"constraints.cat: lengths ({len(self.lengths)}) must match cseq ({len(self.cseq)})")
        self.dim = dim
        self.is_discrete = any(c.is_discrete for c in self.cseq)
        self.event_dim = max((c.event_dim for c in self.cseq), default=0)

    def check(self, value: Any) -> np.ndarray:
        v = _np(value)
        _check_dim("constraints.cat.check", v, self.dim)
        starts = np.cumsum([0] + self.lengths)
        ev = self.event_dim
        checks = []
        for c, a, b in zip(self.cseq, starts[:-1], starts[1:]):
            ok = np.asarray(c.check(np.take(v, np.arange(a, b), axis=self.dim)))
            extra = ev - c.event_dim
            checks.append(ok.all(tuple(range(-extra, 0))) if extra else ok)
        d = (self.dim - v.ndim if self.dim >= 0 else self.dim) + ev
        if d < 0:  # ``dim`` is a batch dimension: the blocks' checks sit side by side along it
            return np.concatenate(checks, axis=d)
        return np.logical_and.reduce(checks)  # ``dim`` is in the event: every block must pass


class _Stack(Constraint):
    """``cseq[i]`` checked on the i-th slice along ``dim`` (as ``stack`` lays slices out); the
    checks are stacked along ``dim``. ``event_dim`` is the largest of the parts', one more when
    ``dim`` falls inside the event (``dim + event_dim < 0``)."""

    def __init__(self, cseq: Any, dim: int = 0) -> None:
        self.cseq = list(cseq)
        if not all(isinstance(c, Constraint) for c in self.cseq):
            raise TypeError(f"constraints.stack: every element of cseq must be a Constraint, got {self.cseq!r}")
        self.dim = dim
        self.is_discrete = any(c.is_discrete for c in self.cseq)
        ev = max((c.event_dim for c in self.cseq), default=0)
        self.event_dim = ev + 1 if dim + ev < 0 else ev

    def check(self, value: Any) -> np.ndarray:
        v = _np(value)
        _check_dim("constraints.stack.check", v, self.dim)
        if v.shape[self.dim] != len(self.cseq):
            raise ValueError(f"constraints.stack.check: value has {v.shape[self.dim]} slices along dim {self.dim}, "
                             f"expected {len(self.cseq)}")
        return np.stack([np.asarray(c.check(np.take(v, i, axis=self.dim))) for i, c in enumerate(self.cseq)],
                        axis=self.dim)


dependent = _Dependent()
real = _Real()
real_vector = _RealVector()
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
unit_interval = _Interval(0.0, 1.0)
boolean = _Boolean()
one_hot = _OneHot()
nonnegative_integer = _IntegerGreaterThanEq(0)
simplex = _Simplex()
positive_definite = _PositiveDefinite()
lower_cholesky = _LowerCholesky()
independent = _Independent
interval = _Interval
half_open_interval = _HalfOpenInterval
greater_than = _GreaterThan
greater_than_eq = _GreaterThanEq
integer_interval = _IntegerInterval
cat = _Cat
stack = _Stack
