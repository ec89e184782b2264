"""torch's top-level helpers that tensor-level code reaches for beside the ops: the dtype
queries ``finfo`` / ``iinfo``, the promotion rules ``promote_types`` / ``result_type`` /
``can_cast``, ``is_floating_point``, ``detach``, and ``cosine_similarity`` /
``pairwise_distance`` (the same functions as ``tl.nn.functional``'s), and the legacy typed
constructors ``FloatTensor``, ``DoubleTensor``, ``LongTensor``, ... (``tl.LongTensor([1, 2])``,
``isinstance(x, tl.FloatTensor)``, ``x.type(tl.FloatTensor)``).

The dtypes are numpy dtypes here (``tl.float32`` is ``np.dtype("float32")``); the answers
follow torch's rules, which differ from numpy's in one place: a float type beside an integer
(or bool) type keeps the float type (``promote_types(int64, float32)`` is float32, where
numpy widens to float64), and a dimensioned tensor is not widened by a 0-d one of the same
category (bool < integer < float). Nothing here records a graph, except ``detach`` (which
cuts one) and the two distances (differentiable, from ``tl.nn.functional``).
"""

from __future__ import annotations

import numbers
from typing import Any, Union

import numpy as np

from . import factories
from .intcast import cast_ints
from .nn.functional_more import cosine_similarity, pairwise_distance
from .ops import base
from .ops.elementwise import joined_dtype

__all__ = ["finfo", "iinfo", "promote_types", "result_type", "can_cast", "is_floating_point", "detach",
           "cosine_similarity", "pairwise_distance", "FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor",
           "IntTensor", "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor"]

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def _dtype(who: str, d: Any) -> np.dtype:
    return factories.as_dtype(who, d)


def _category(who: str, dt: np.dtype) -> int:
    if dt.kind not in _CATEGORY:
        raise TypeError(f"{who}: dtype {dt} is not a bool, integer or float dtype")
    return _CATEGORY[dt.kind]


class finfo:
    """Machine limits of a float dtype (the default float, float64 here, when none is given),
    as Python floats: ``bits``, ``eps`` (the gap between 1 and the next float), ``max``,
    ``min`` (= -max), ``tiny`` / ``smallest_normal`` (the smallest positive normal number),
    ``resolution`` (10 ** -precision) and ``dtype`` (its name)."""

    def __init__(self, type: Any = None) -> None:
        dt = factories.get_default_dtype() if type is None else _dtype("finfo", type)
        if dt.kind != "f":
            raise TypeError(f"finfo: needs a floating-point dtype, got {dt} (iinfo is for integer dtypes)")
        info = np.finfo(dt)
        self.bits: int = int(info.bits)
        self.eps: float = float(info.eps)
        self.max: float = float(info.max)
        self.min: float = float(info.min)
        self.tiny: float = float(info.tiny)
        self.smallest_normal: float = float(info.smallest_normal)
        self.resolution: float = 10.0 ** -int(info.precision)
        self.dtype: str = dt.name

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution}, min={self.min}, max={self.max}, eps={self.eps}, "
                f"smallest_normal={self.smallest_normal}, tiny={self.tiny}, dtype={self.dtype})")


class iinfo:
    """Limits of an integer (or bool) dtype as Python ints: ``bits``, ``min``, ``max`` and
    ``dtype`` (its name)."""

    def __init__(self, type: Any) -> None:
        dt = _dtype("iinfo", type)
        if dt.kind not in "iub":
            raise TypeError(f"iinfo: needs an integer dtype, got {dt} (finfo is for float dtypes)")
        if dt.kind == "b":
            self.bits, self.min, self.max = 8, 0, 1
        else:
            info = np.iinfo(dt)
            self.bits, self.min, self.max = int(info.bits), int(info.min), int(info.max)
        self.dtype: str = dt.name

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


def promote_types(type1: Any, type2: Any) -> np.dtype:
    """The smallest dtype both promote to, by torch's rule: the higher category (bool <
    integer < float) keeps its dtype; within one category numpy's promotion (int32 and
    int64 give int64, uint8 and int8 int16, float32 and float64 float64)."""
    a, b = _dtype("promote_types", type1), _dtype("promote_types", type2)
    _category("promote_types", a), _category("promote_types", b)  # (bool, integer or float, else TypeError)
    return joined_dtype((a, b))


def _operand(who: str, x: Any) -> tuple:
    """(category, dtype or None, priority): a dimensioned tensor 2, a 0-d tensor 1, a number 0."""
    if isinstance(x, base.Tensor):
        dt = x.data.dtype
        return _category(who, dt), dt, 2 if x.data.ndim else 1
    if isinstance(x, (bool, np.bool_)):
        return 0, None, 0
    if isinstance(x, numbers.Integral):
        return 1, None, 0
    if isinstance(x, numbers.Real):
        return 2, None, 0
    raise TypeError(f"{who}: takes Tensors and Python numbers, got {type(x).__name__}")


def result_type(tensor1: Any, tensor2: Any) -> np.dtype:
    """The dtype of an arithmetic op on ``tensor1`` and ``tensor2`` (Tensors or Python
    numbers), by torch's rule: of the operands in the highest category present, those of the
    highest priority decide (dimensioned tensors over 0-d tensors over numbers), promoted
    together; when only numbers are in that category, its default dtype (float64 here for a
    float, int64 for an int, bool for a bool)."""
    ops = [_operand("result_type", tensor1), _operand("result_type", tensor2)]
    top = max(c for c, _, _ in ops)
    best = max(p for c, _, p in ops if c == top)
    if best == 0:
        return np.dtype([bool, np.int64, np.float64][top])
    dts = [dt for c, dt, p in ops if c == top and p == best]
    return dts[0] if len(dts) == 1 else promote_types(*dts)


def can_cast(from_: Any, to: Any) -> bool:
    """Whether torch's in-place rules allow casting ``from_`` to ``to``: never to a lower
    category (float to integer, a number to bool), any size within or above a category."""
    a, b = _dtype("can_cast", from_), _dtype("can_cast", to)
    return _category("can_cast", a) <= _category("can_cast", b)


def is_floating_point(input: Any) -> bool:
    """Whether ``input`` (a Tensor) has a float dtype."""
    if not isinstance(input, base.Tensor):
        raise TypeError(f"is_floating_point: input must be a Tensor, got {type(input).__name__}")
    return input.data.dtype.kind == "f"


def detach(input: Any) -> Union[base.Tensor, Any]:
    """``input.detach()``: the same values cut from the graph (no gradient flows back)."""
    if not isinstance(input, base.Tensor):
        raise TypeError(f"detach: input must be a Tensor, got {type(input).__name__}")
    return input.detach()


class _TypedTensor(type):
    """The metaclass of ``tl.FloatTensor`` and its kin: calling one makes a Tensor of its dtype
    (from data, or of a shape given as ints or a ``tl.Size``: zeros here, where torch leaves the
    memory uninitialised); ``isinstance(x, tl.FloatTensor)`` holds for a Tensor of that dtype."""

    typed_dtype: np.dtype

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, base.Tensor) and obj.data.dtype == cls.typed_dtype

    def __call__(cls, *args: Any) -> Any:  # type: ignore[override]
        from .size import Size

        dt = cls.typed_dtype
        if len(args) == 1 and isinstance(args[0], Size):
            args = tuple(args[0])
        if all(isinstance(a, (int, np.integer)) and not isinstance(a, (bool, np.bool_)) for a in args):
            if any(a < 0 for a in args):
                raise base.ArgumentError(f"{cls.__name__}: sizes must be >= 0, got {args!r}")
            return factories.zeros(*(args or (0,)), dtype=dt)  # (no args: an empty 1-D tensor)
        if len(args) != 1:
            raise TypeError(f"{cls.__name__}: takes sizes (ints) or one sequence of data, got {args!r}")
        data = args[0]
        if isinstance(data, base.Tensor):
            if data.data.dtype != dt:
                raise TypeError(f"{cls.__name__}: expected a tensor of dtype {dt}, got {data.data.dtype}")
            return data
        if data is None or isinstance(data, (str, bytes, numbers.Number, np.generic)):
            raise TypeError(f"{cls.__name__}: data must be a sequence (or sizes as ints), got {data!r}")
        wrapped = None if isinstance(data, np.ndarray) else cast_ints(cls.__name__, data, dt)
        if wrapped is not None:  # (an ndarray casts as numpy's astype, as torch's from-array cast)
            return base.Tensor(wrapped)
        return base.Tensor(data, dtype=dt)


def _typed(name: str, dtype: Any) -> Any:
    return _TypedTensor(name, (), {"typed_dtype": np.dtype(dtype), "__module__": __name__,
                                   "__doc__": f"torch's legacy ``{name}``: a Tensor of dtype {np.dtype(dtype)}."})


FloatTensor = _typed("FloatTensor", np.float32)
DoubleTensor = _typed("DoubleTensor", np.float64)
HalfTensor = _typed("HalfTensor", np.float16)
LongTensor = _typed("LongTensor", np.int64)
IntTensor = _typed("IntTensor", np.int32)
ShortTensor = _typed("ShortTensor", np.int16)
CharTensor = _typed("CharTensor", np.int8)
ByteTensor = _typed("ByteTensor", np.uint8)
BoolTensor = _typed("BoolTensor", np.bool_)
