"""torch's elementwise maths and predicates as Tensor methods: the differentiable functions
of ``ops.mathfns`` (``sin``, ``cos``, ``log1p``, ``expm1``, ``log2``, ``log10``, ``exp2``,
``rsqrt``, ``reciprocal``, ``erf``, ``maximum``, ``minimum``, ``atan2``), ``//`` / ``%`` with
``floor_divide``, ``remainder`` and ``fmod`` (``ops.intdiv``), the comparisons
by name (``ne``, ``lt``, ``le``, ``gt``, ``ge``; ``eq`` lives with ``==``), the tests for
special values (``isnan``, ``isinf``, ``isfinite``), ``any`` / ``all`` and the logical
operators.

``Tensor`` inherits these through ``TorchMethods``. Each differentiable method is one op
call (integer inputs compute in float64, the library's default float, as the other float
functions do), so gradients, per-sample gradients and the mixing errors come from the op.
The predicates return bool tensors without a graph; they keep the batched flag of their
input where the sample axis survives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import ops
from .batchstate import derived
from .conventions import DtypeError, TorchSpellings, _torch_axis
from .ops import base
from .ops.base import axes_of, make
from .ops.elementwise import promoted
from .torchkw import one_of

if TYPE_CHECKING:
    from .tensor import Tensor


def _floats(t: Any, other: Any = None) -> Any:
    """``t`` itself when it holds floats, else a float copy: of the float Tensor ``other``'s
    dtype (as torch promotes an integer operand: int32 with float32 is float32), else float64
    (torch's default float here)."""
    if t._data.dtype.kind == "f":
        return t
    o = getattr(other, "_data", None)
    return t.astype(o.dtype if o is not None and o.dtype.kind == "f" else np.float64)


def _other(x: Any, who: str = "") -> Any:
    """The second operand of a binary function: a Tensor, or a constant made from a number
    or an array (no gradient); a TypeError names ``who`` when given."""
    if isinstance(x, base.Tensor):
        return x
    try:
        return base.const(x)
    except TypeError as e:
        if not who:
            raise
        raise TypeError(f"{who}: {e}") from None


def _bools(out: np.ndarray, who: str, *inputs: Any, over_samples: bool = False) -> Any:
    """A bool result outside any graph, with the batch state of a value derived from
    ``inputs`` (batchstate.derived)."""
    out = np.asarray(out, dtype=np.bool_)
    return make(out, None, (), None, False, *derived(who, out.shape, *inputs, over_samples=over_samples))


def _function(op: Any) -> Any:
    """The method ``x.f()`` of the elementwise op ``f``, computed in floats."""
    def method(self: Any) -> "Tensor":
        return op(_floats(self))

    method.__name__ = method.__qualname__ = op.name
    method.__doc__ = f"{op.name}(x) elementwise, differentiable: {op.rule}."
    return method


def _function2(op: Any, floats: bool, doc: str) -> Any:
    """The method ``x.f(other)`` of the binary op ``f`` (``other`` broadcast; a number or an
    array is a constant)."""
    def method(self: Any, other: Any) -> "Tensor":
        o = _other(other, op.name)
        return op(_floats(self, o) if floats else self, o)

    method.__name__ = method.__qualname__ = op.name
    method.__doc__ = f"{doc} Differentiable in both: {op.rule}."
    return method


def _arith(op: Any, reverse: bool = False) -> Any:
    """The operator ``x op other`` (``other op x`` when ``reverse``) of the binary op ``op``, in
    the dtype torch gives (integer tensors stay integer; a number or an array is a constant)."""
    def method(self: Any, other: Any) -> "Tensor":
        return op(self, other, reverse)

    method.__name__ = method.__qualname__ = op.name
    method.__doc__ = f"{op.__doc__} Broadcast; {op.rule}."
    return method


def _comparison(fn: Any, who: str, sym: str) -> Any:
    def method(self: Any, other: Any) -> "Tensor":
        out = self._compare(other, fn)
        if out is NotImplemented:
            raise TypeError(f"{who}: cannot compare a tensor with {type(other).__name__}")
        return out

    method.__name__ = method.__qualname__ = who
    method.__doc__ = f"Elementwise ``{sym}`` as a bool tensor (broadcast; no gradient)."
    return method


def _predicate(fn: Any, doc: str) -> Any:
    def method(self: Any) -> "Tensor":
        return _bools(fn(self._data), fn.__name__, self)

    method.__name__ = method.__qualname__ = fn.__name__
    method.__doc__ = doc
    return method


def _logical(fn: Any, doc: str) -> Any:
    def method(self: Any, other: Any) -> "Tensor":
        o = _other(other, fn.__name__)
        try:
            out = fn(self._data, o._data)
        except ValueError:
            raise ValueError(f"{fn.__name__}: shapes {self._data.shape} and {o._data.shape} are not "
                             "compatible") from None
        return _bools(out, fn.__name__, self, o)

    method.__name__ = method.__qualname__ = fn.__name__
    method.__doc__ = doc
    return method


def _bitwise(fn: Any, who: str, reflected: bool = False, operator: bool = True) -> Any:
    """``x & y``, ``x | y``, ``x ^ y`` on bool or integer tensors (numbers allowed), as torch:
    no gradient; a float operand is a TypeError. An operator returns NotImplemented for an
    operand it cannot take (Python then tries the other side); the named method raises."""
    def method(self: Any, other: Any) -> "Tensor":
        if other is None or isinstance(other, (str, bytes, float)):
            if not operator:
                raise TypeError(f"{who}: other must be a bool or integer tensor or an int, got {type(other).__name__}")
            return NotImplemented
        o = _other(other, who)
        a, b = (o, self) if reflected else (self, o)
        if a._data.dtype.kind not in "biu" or b._data.dtype.kind not in "biu":
            raise TypeError(f"{who}: only bool and integer tensors, got dtypes {a._data.dtype} and {b._data.dtype}")
        if "shift" in who and a._data.dtype.kind == b._data.dtype.kind == "b":  # (a bool result: torch refuses)
            raise DtypeError(f"{who}: a bool tensor cannot be shifted by a bool, got dtypes bool and bool")
        ad, bd = a._data, b._data
        if ad.dtype != bd.dtype:  # torch's promotion: a number or a 0-d operand does not widen
            ad, bd = promoted(ad, bd)  # (int32 | 2 is int32), the higher category keeps its dtype
        try:
            out = np.asarray(fn(ad, bd))
        except ValueError:
            raise ValueError(f"{who}: shapes {ad.shape} and {bd.shape} are not compatible") from None
        return make(out, None, (), None, False, *derived(who, out.shape, a, b))

    method.__name__ = method.__qualname__ = who
    method.__doc__ = f"Elementwise {fn.__name__} of bool or integer tensors (broadcast; no gradient)."
    return method


def bitwise_forms(fn: Any, who: str) -> tuple:
    """The operator, the named method and the reflected operator of one bitwise function."""
    return _bitwise(fn, who), _bitwise(fn, who, operator=False), _bitwise(fn, who, reflected=True)


class MathMethods(TorchSpellings):
    """Mixin of ``Tensor`` (see the module docstring)."""

    __slots__ = ()
    _data: np.ndarray

    # differentiable, elementwise (integer tensors compute in float64)
    sin, cos, log1p, expm1, log2, log10, exp2, rsqrt, reciprocal, erf = (_function(op) for op in (
        ops.SIN, ops.COS, ops.LOG1P, ops.EXPM1, ops.LOG2, ops.LOG10, ops.EXP2, ops.RSQRT, ops.RECIPROCAL, ops.ERF))
    maximum = _function2(ops.MAXIMUM, False, "The larger of this tensor and ``other`` elementwise (nan wins); "
                         "where they are equal each gets half the gradient, as in torch.")
    minimum = _function2(ops.MINIMUM, False, "The smaller of this tensor and ``other`` elementwise (nan wins); "
                         "ties share the gradient in halves.")
    atan2 = arctan2 = _function2(ops.ATAN2, True, "atan2(self, other): the angle of the point (other, self) in "
                                 "[-pi, pi].")

    # rounded division and remainders (integer or float, as torch; see ops.intdiv)
    floor_divide = __floordiv__ = _arith(ops.FLOORDIV)
    remainder = __mod__ = _arith(ops.REMAINDER)
    fmod = _arith(ops.FMOD)
    __rfloordiv__, __rmod__ = _arith(ops.FLOORDIV, True), _arith(ops.REMAINDER, True)

    def pow(self, exponent: Any = None, *, other: Any = None) -> "Tensor":
        """self ** exponent elementwise (``exponent`` is torch's keyword; ``other`` is accepted
        too); a Tensor exponent broadcasts, and both operands get their gradients."""
        return self ** one_of("pow", exponent=exponent, other=other)  # type: ignore[operator]

    def add(self, other: Any, *, alpha: Any = 1) -> "Tensor":
        """self + alpha * other (torch's ``add``; ``alpha`` scales the other operand)."""
        return self + (other if alpha == 1 else other * alpha)  # type: ignore[operator]

    def sub(self, other: Any, *, alpha: Any = 1) -> "Tensor":
        """self - alpha * other (torch's ``sub``)."""
        return self - (other if alpha == 1 else other * alpha)  # type: ignore[operator]

    subtract = sub

    def div(self, other: Any, *, rounding_mode: Any = None) -> "Tensor":
        """``self / other`` (true division, gradients 1/b and -a/b^2); ``rounding_mode="floor"``:
        ``floor_divide``, ``"trunc"``: trunc(a / b) (integer tensors stay integer; a zero
        gradient), as torch."""
        if rounding_mode is None:
            return ops.DIV(self, other)
        if rounding_mode not in ("floor", "trunc"):
            raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")
        return (ops.FLOORDIV if rounding_mode == "floor" else ops.TRUNCDIV)(self, other)

    divide = div

    # comparisons by name (``eq`` is with ``==``), bool results without a graph
    ne, lt, le, gt, ge = (_comparison(*c) for c in ((np.not_equal, "ne", "!="), (np.less, "lt", "<"),
                                                   (np.less_equal, "le", "<="), (np.greater, "gt", ">"),
                                                   (np.greater_equal, "ge", ">=")))
    isnan = _predicate(np.isnan, "True where the value is nan.")
    isinf = _predicate(np.isinf, "True where the value is +inf or -inf.")
    isfinite = _predicate(np.isfinite, "True where the value is neither inf nor nan.")
    logical_not = _predicate(np.logical_not, "True where the value is zero (False, 0 or 0.0).")
    logical_and = _logical(np.logical_and, "True where both are non-zero (broadcast).")
    logical_or = _logical(np.logical_or, "True where either is non-zero (broadcast).")
    logical_xor = _logical(np.logical_xor, "True where exactly one of the two is non-zero (broadcast).")

    __and__, bitwise_and, __rand__ = bitwise_forms(np.bitwise_and, "bitwise_and")
    __or__, bitwise_or, __ror__ = bitwise_forms(np.bitwise_or, "bitwise_or")
    __xor__, bitwise_xor, __rxor__ = bitwise_forms(np.bitwise_xor, "bitwise_xor")

    def bitwise_not(self) -> "Tensor":
        """``~x``: logical not of a bool tensor, bitwise not of an integer one (no gradient)."""
        if self._data.dtype.kind not in "biu":
            raise TypeError(f"bitwise_not: only bool and integer tensors, got dtype {self._data.dtype}")
        out = np.asarray(np.invert(self._data))
        return make(out, None, (), None, False, *derived("bitwise_not", out.shape, self))

    __invert__ = bitwise_not

    def _reduce_bool(self, fn: Any, who: str, dim: Any, keepdim: bool) -> "Tensor":
        # (a uint8 tensor gives uint8 0/1, as torch; every other dtype gives bool)
        dt = np.uint8 if self._data.dtype == np.uint8 else np.bool_
        if isinstance(dim, (tuple, list)) and not dim:  # torch: no axis named, nothing reduced
            t = _bools(self._data != 0, who, self)
            t._data = t._data.astype(dt, copy=False)
            return t
        axis, keep = _torch_axis(None, keepdim, dim, None)
        axes = axes_of(self._data.ndim, axis, who)
        out = fn(self._data != 0, axis=axes, keepdims=keep)
        kept = axes is not None and 0 not in axes  # the sample axis survives
        return make(np.asarray(out, dtype=dt), None, (), None, False,
                    *derived(who, None, self, over_samples=not kept))

    def any(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        """Whether any element (over ``dim``: an int or a tuple; all when None; none when an
        empty tuple, as torch) is non-zero, as a bool tensor (uint8 0/1 for a uint8 one)."""
        return self._reduce_bool(np.any, "any", dim, keepdim)

    def all(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        """Whether every element (over ``dim``; all when None) is non-zero, as a bool tensor
        (uint8 0/1 for a uint8 one)."""
        return self._reduce_bool(np.all, "all", dim, keepdim)
