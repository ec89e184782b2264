"""``tl.distributions.Distribution``: the base class of every distribution, and the helpers the
distributions share (argument broadcasting, noise drawn from the library's default generator,
probs/logits conversions, sums over the rightmost dimensions).

Shapes follow torch: a distribution has a ``batch_shape`` (independent, differently
parameterised copies) and an ``event_shape`` (the shape of one draw); ``sample(sample_shape)``
returns ``sample_shape + batch_shape + event_shape``. Noise comes from
``tl.random.default_generator()``, so ``tl.manual_seed`` governs every draw. Parameters are
kept as the Tensors given (broadcast with differentiable ``expand``), so ``log_prob``,
``entropy``, ``rsample`` and the KL divergences differentiate back to them.

This module keeps the base class, the default-validation switch and the shared helpers; drawing
advances the default generator, and nothing else is touched.
"""

from __future__ import annotations

import math
import numbers
import operator
from typing import Any, Optional, Sequence

import numpy as np

from .. import random as _random
from ..conventions import ShapeMismatchError
from ..factories import get_default_dtype
from ..graph import no_grad
from ..ops.base import broadcasts_to
from ..tensor import Tensor, tensor
from . import constraints

__all__ = ["Distribution", "broadcast_all", "probs_to_logits", "logits_to_probs", "clamp_probs"]

_DEFAULT_VALIDATE = [True]


def _float_dtype(values: Sequence[Any]) -> np.dtype:
    floats = [np.dtype(v.dtype) for v in values if isinstance(v, Tensor) and np.issubdtype(v.dtype, np.floating)]
    return np.result_type(*floats) if floats else np.dtype(get_default_dtype())


def broadcast_all(*values: Any, who: str = "broadcast_all") -> list:
    """The arguments as Tensors of one broadcast shape: Tensors kept (floating dtypes kept;
    integer ones cast to the float dtype), numbers and numpy arrays converted to the float
    dtype of the Tensor arguments (the default dtype if there is none)."""
    for v in values:
        _check_arg(who, "arguments", v)
    dtype = _float_dtype(values)
    ts = []
    for v in values:
        if isinstance(v, Tensor):
            ts.append(v if np.issubdtype(v.dtype, np.floating) else tensor(v.data.astype(dtype)))
        else:
            ts.append(tensor(np.asarray(v, dtype=dtype)))
    try:
        shape = np.broadcast_shapes(*(t.shape for t in ts))
    except ValueError:
        raise ValueError(f"{who}: shapes {[tuple(t.shape) for t in ts]} do not broadcast") from None
    return [t if tuple(t.shape) == shape else t.expand(shape) for t in ts]


def _check_arg(who: str, name: str, v: Any) -> None:
    """A ValueError naming ``who`` unless ``v`` is a real number, a numpy array of bools,
    integers or floats, or a Tensor (complex numbers, strings, objects and their arrays are
    not parameters or values of these distributions)."""
    if isinstance(v, Tensor):
        return
    if isinstance(v, np.ndarray):
        if v.dtype.kind not in "biuf":
            raise ValueError(f"{who}: {name} must be real-valued, got a numpy array of dtype {v.dtype}")
        return
    if not isinstance(v, numbers.Real) or isinstance(v, (bool, np.bool_)):
        shown = f" {v!r}" if isinstance(v, numbers.Number) else ""
        raise ValueError(f"{who}: {name} must be real numbers, numpy arrays or Tensors, got {type(v).__name__}{shown}")


def _as_tensor(v: Any, who: str, name: str) -> Tensor:
    _check_arg(who, name, v)
    if isinstance(v, Tensor):
        return v if np.issubdtype(v.dtype, np.floating) else tensor(v.data.astype(get_default_dtype()))
    return tensor(np.asarray(v, dtype=get_default_dtype()))


def clamp_probs(probs: Tensor) -> Tensor:
    """``probs`` clamped to ``[eps, 1 - eps]`` (eps of its dtype), so their logs are finite."""
    eps = float(np.finfo(probs.dtype).eps)
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """Logits of ``probs``: ``log p - log1p(-p)`` for binary probabilities, else ``log p``
    (both on clamped probabilities)."""
    p = clamp_probs(probs)
    return p.log() - (-p).log1p() if is_binary else p.log()


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    """Probabilities of ``logits``: ``sigmoid`` for binary logits, else ``softmax`` over the last
    dimension."""
    return logits.sigmoid() if is_binary else logits.softmax(-1)


def _sum_rightmost(x: Tensor, n: int) -> Tensor:
    """``x`` summed over its ``n`` rightmost dimensions."""
    return x.sum(tuple(range(-n, 0))) if n > 0 else x


def _generator() -> np.random.Generator:
    return _random.default_generator()


def _noise(kind: str, shape: tuple, dtype: Any, **kw: Any) -> Tensor:
    """A Tensor of ``shape`` (no gradient) drawn from the default generator: ``normal``,
    ``uniform`` (on [0, 1)), ``exponential``, ``cauchy``."""
    g = _generator()
    draw = {"normal": g.standard_normal, "uniform": g.random, "exponential": g.standard_exponential,
            "cauchy": g.standard_cauchy}[kind]
    return tensor(np.asarray(draw(size=shape), dtype=dtype))


def _forwarded(path: str, doc: Optional[str] = None) -> property:
    """A read-only property giving the attribute at the dotted ``path`` of the instance (e.g.
    ``"base_dist.mean"``: the mean of the inner ``base_dist``)."""
    get = operator.attrgetter(path)
    return property(lambda self: get(self), doc=doc)


def _unimplemented(name: str, doc: str) -> property:
    """A property that a subclass overrides: reading it raises ``NotImplementedError`` naming the
    distribution and ``name``."""

    def get(self: Any) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.{name} is not implemented")

    return property(get, doc=doc)


def _shape(who: str, shape: Any, name: str = "sample_shape") -> tuple:
    if isinstance(shape, (tuple, list)) and all(isinstance(s, numbers.Integral) and not isinstance(s, bool)
                                                and s >= 0 for s in shape):
        return tuple(int(s) for s in shape)
    raise TypeError(f"{who}: {name} must be a tuple of non-negative ints (torch.Size), got {shape!r}")


class Distribution:
    """A probability distribution (torch.distributions.Distribution).

    ``batch_shape``/``event_shape``; ``sample(sample_shape=())`` draws without gradient;
    ``rsample`` (where ``has_rsample``) draws by reparameterisation, differentiable w.r.t. the
    parameters; ``log_prob(value)`` is log p(value), differentiable; ``entropy()``, ``mean``,
    ``mode``, ``variance``, ``stddev = sqrt(variance)``, ``cdf``/``icdf`` where defined.
    ``validate_args`` (default True, see ``set_default_validate_args``) checks the parameters
    against ``arg_constraints`` and every value scored against ``support``, raising
    ``ValueError`` naming the distribution and the argument.
    """

    has_rsample = False
    has_enumerate_support = False
    arg_constraints: dict = {}
    support: Any = None
    _params: tuple = ()  # (attribute, event ndim) of the Tensors ``expand`` broadcasts
    _param_properties: tuple = ()  # parameters read through properties (from an inner distribution)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A class of this package that declares ``arg_constraints`` and inherits no ``_params``
        expands the parameters it constrains, each with its constraint's event ndim. A user's
        subclass lists its own ``_params`` (else ``expand`` is not implemented, as in torch)."""
        super().__init_subclass__(**kwargs)
        declared = cls.__dict__.get("arg_constraints")
        if (cls.__module__.startswith(__package__ + ".") and isinstance(declared, dict)
                and "_params" not in cls.__dict__ and not cls._params):
            cls._params = tuple((name, c.event_dim) for name, c in declared.items())

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Turn argument validation on (the default) or off for distributions built later."""
        if value not in (True, False):
            raise ValueError(f"Distribution.set_default_validate_args: expected True or False, got {value!r}")
        _DEFAULT_VALIDATE[0] = value

    def __init__(self, batch_shape: Sequence[int] = (), event_shape: Sequence[int] = (),
                 validate_args: Optional[bool] = None) -> None:
        self._batch_shape = tuple(batch_shape)
        self._event_shape = tuple(event_shape)
        self._validate_args = _DEFAULT_VALIDATE[0] if validate_args is None else bool(validate_args)
        if self._validate_args:
            self._check_args()

    def _broadcast_params(self, **params: Any) -> tuple:
        """Keep ``params`` (name=value, in order) as attributes: Tensors of one broadcast shape
        (``broadcast_all``, errors naming the distribution). Returns that shape, the batch shape
        of a distribution with scalar parameters."""
        ts = broadcast_all(*params.values(), who=type(self).__name__)
        for name, t in zip(params, ts):
            setattr(self, name, t)
        return ts[0].shape

    def _arg(self, name: str) -> Any:
        """The parameter ``name``: an attribute, or one of ``_param_properties``; None if unset."""
        if name in self._param_properties:
            return getattr(self, name)
        return self.__dict__.get(name)

    def _check_args(self) -> None:
        for name, constraint in self.arg_constraints.items():
            if constraints.is_dependent(constraint) or self._arg(name) is None:
                continue
            value = self._arg(name)
            if not np.all(constraint.check(value)):
                raise ValueError(f"{type(self).__name__}: expected parameter {name} (Tensor of shape "
                                 f"{tuple(value.shape)}) of distribution {self!r} to satisfy the constraint "
                                 f"{constraint!r}, but found invalid values:\n{value.data}")

    @property
    def batch_shape(self) -> tuple:
        """The shape over which parameters are batched."""
        return self._batch_shape

    @property
    def event_shape(self) -> tuple:
        """The shape of a single sample."""
        return self._event_shape

    def _extended_shape(self, sample_shape: Any = ()) -> tuple:
        who = f"{type(self).__name__}.sample"
        shape = _shape(who, sample_shape) + self._batch_shape + self._event_shape
        if math.prod(shape) > np.iinfo(np.int64).max:
            raise RuntimeError(f"{who}: a draw of shape {shape} has more elements than an int64 can count")
        return shape

    def _validate_sample(self, value: Any, who: str = "log_prob") -> Tensor:
        name = f"{type(self).__name__}.{who}"
        if not isinstance(value, Tensor):
            if self._validate_args:
                raise ValueError(f"{name}: the value argument must be a Tensor, got {type(value).__name__}")
            return _as_tensor(value, name, "value")
        if not self._validate_args:
            return value
        ev = self._event_shape
        shape = tuple(value.shape)
        if len(shape) < len(ev) or (ev and shape[len(shape) - len(ev):] != ev):
            raise ValueError(f"{name}: the right-most size of value must match event_shape: {shape} vs {ev}")
        expected = self._batch_shape + ev
        for i, j in zip(reversed(shape), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"{name}: value is not broadcastable with batch_shape+event_shape: "
                                 f"{shape} vs {expected}")
        if self.support is not None and not np.all(self.support.check(value)):
            raise ValueError(f"{name}: expected value argument (Tensor of shape {shape}) to be within the "
                             f"support ({self.support!r}) of the distribution {self!r}, but found invalid "
                             f"values:\n{value.data}")
        return value

    def _value(self, value: Any, who: str = "log_prob") -> Tensor:
        """``value`` checked (when validating) and made a floating Tensor."""
        v = self._validate_sample(value, who)
        return v if np.issubdtype(v.dtype, np.floating) else tensor(v.data.astype(self._dtype()))

    def _prob(self, value: Any) -> Tensor:
        """An ``icdf`` argument as a floating Tensor (numbers and arrays in the parameters' dtype);
        anything else (a string, None, ...) is a TypeError naming ``<Distribution>.icdf``."""
        if isinstance(value, Tensor) and np.issubdtype(value.dtype, np.floating):
            return value
        arr = getattr(value, "data", value) if isinstance(value, Tensor) else value
        if not isinstance(arr, (numbers.Real, np.ndarray)) or (isinstance(arr, np.ndarray)
                                                               and arr.dtype.kind not in "biuf"):
            raise TypeError(f"{type(self).__name__}.icdf: value must be a real number, a numeric array or a Tensor, "
                            f"got {type(value).__name__}")
        return tensor(np.asarray(getattr(value, "data", value), dtype=self._dtype()))

    def _dtype(self) -> np.dtype:
        for name, _ in self._params:
            t = self.__dict__.get(name)
            if isinstance(t, Tensor):
                return np.dtype(t.dtype)
        return np.dtype(get_default_dtype())

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """A draw of shape ``sample_shape + batch_shape + event_shape``, without gradient."""
        if not self.has_rsample:
            raise NotImplementedError(f"{type(self).__name__}.sample is not implemented")
        with no_grad():
            return self.rsample(sample_shape).detach()

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """A reparameterised draw: differentiable with respect to the parameters."""
        raise NotImplementedError(f"{type(self).__name__} has no rsample (has_rsample is False)")

    def sample_n(self, n: int) -> Tensor:
        """``sample((n,))``."""
        return self.sample((n,))

    def log_prob(self, value: Tensor) -> Tensor:
        """log p(value)."""
        raise NotImplementedError(f"{type(self).__name__}.log_prob is not implemented")

    def cdf(self, value: Tensor) -> Tensor:
        """P(X <= value)."""
        raise NotImplementedError(f"{type(self).__name__}.cdf is not implemented")

    def icdf(self, value: Tensor) -> Tensor:
        """The inverse of ``cdf``."""
        raise NotImplementedError(f"{type(self).__name__}.icdf is not implemented")

    def entropy(self) -> Tensor:
        """H = -E[log p(X)], of shape ``batch_shape``."""
        raise NotImplementedError(f"{type(self).__name__}.entropy is not implemented")

    def perplexity(self) -> Tensor:
        """exp(entropy())."""
        return self.entropy().exp()

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """Every value of a discrete support along a new leading dimension."""
        raise NotImplementedError(f"{type(self).__name__}.enumerate_support is not implemented")

    mean = _unimplemented("mean", "E[X].")
    mode = _unimplemented("mode", "The most likely value.")
    variance = _unimplemented("variance", "Var[X].")

    @property
    def stddev(self) -> Tensor:
        """sqrt(Var[X])."""
        return self.variance.sqrt()

    def expand(self, batch_shape: Sequence[int], _instance: Any = None) -> "Distribution":
        """A new distribution of ``batch_shape`` (the current one broadcast to it); parameters are
        expanded views, so gradients flow back to the originals."""
        if not self._params and type(self)._expand_parts is Distribution._expand_parts:
            raise NotImplementedError(f"{type(self).__name__}.expand is not implemented (list the parameters in "
                                      "_params)")
        batch_shape = self._expand_target(batch_shape)
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        return self._expanded(new, batch_shape)

    def _expand_target(self, batch_shape: Any) -> tuple:
        """``batch_shape`` checked for ``expand``: a tuple of ints to which the batch shape
        broadcasts (else TypeError, or ShapeMismatchError, a RuntimeError as torch's). A user's
        subclass with its own ``__init__`` must write its own ``expand`` or list its own ``_params``
        (NotImplementedError, as torch): the tensors its ``__init__`` derives would keep their shape."""
        who = f"{type(self).__name__}.expand"
        ours = (type(self).__init__, type(self).expand, next(c for c in type(self).__mro__ if "_params" in vars(c)))
        if [f.__module__.startswith(__package__ + ".") for f in ours] == [False, True, True]:
            raise NotImplementedError(f"{who}: a subclass that defines its own __init__ must define expand() (or "
                                      "list the tensors to expand in _params) too")
        batch_shape = _shape(who, list(batch_shape) if isinstance(batch_shape, tuple) else batch_shape,
                             "batch_shape")
        if not broadcasts_to(self._batch_shape, batch_shape):
            raise ShapeMismatchError(f"{who}: batch_shape {self._batch_shape} cannot be expanded to {batch_shape}")
        return batch_shape

    def _rebuilt(self, new: "Distribution") -> "Distribution":
        """``new``, this distribution built again for ``expand`` (with ``validate_args=False``,
        its parameters being checked already), checking values as this one does."""
        new._validate_args = self._validate_args
        return new

    def _expanded(self, new: "Distribution", batch_shape: tuple) -> "Distribution":
        """``new`` (a copy of this distribution) with its parameters (``_params``) and inner parts
        expanded to ``batch_shape``."""
        for name, edim in self._params:
            t = self.__dict__.get(name)
            if isinstance(t, Tensor):
                ev = tuple(t.shape[len(t.shape) - edim:]) if edim else ()
                new.__dict__[name] = t.expand(batch_shape + ev)
        self._expand_parts(new, batch_shape)
        new._batch_shape = batch_shape
        return new

    def _expand_parts(self, new: "Distribution", batch_shape: tuple) -> None:
        """Expand inner distributions (subclasses holding one override this)."""

    def __repr__(self) -> str:
        parts = []
        for name in self.arg_constraints:
            t = self._arg(name)
            if isinstance(t, Tensor):
                parts.append(f"{name}: {t.data.item() if t.data.size == 1 else tuple(t.shape)}")
        return f"{type(self).__name__}({', '.join(parts)})"


class CentredAtLoc:
    """Mixin of a distribution whose mean and mode are its ``loc`` (put it before
    ``Distribution`` among the bases)."""

    @property
    def mean(self) -> Tensor:
        return self.loc  # type: ignore[attr-defined]

    @property
    def mode(self) -> Tensor:
        return self.loc  # type: ignore[attr-defined]


def reinterpreted(who: str, r: Any) -> int:
    """``reinterpreted_batch_ndims`` checked: a non-negative int (``ValueError`` naming ``who``)."""
    if isinstance(r, (bool, np.bool_)) or not isinstance(r, numbers.Integral) or r < 0:
        raise ValueError(f"{who}: reinterpreted_batch_ndims must be a non-negative int, got {r!r}")
    return int(r)
