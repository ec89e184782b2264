"""PyTorch's tensor factories and whole-tensor functions: ``zeros``, ``ones``, ``full``,
``empty``, their ``*_like`` forms, ``randn`` / ``rand`` / ``randint`` / ``randperm`` /
``multinomial`` / ``normal`` (drawn from the library's default
generator unless ``generator=`` is given, so ``manual_seed`` governs them), ``arange``,
``linspace``, ``eye``, ``where``, ``allclose`` and ``equal``; and the argument readers they
share with the Tensor methods (sizes, dtypes in numpy or torch spelling, the device).

Floating-point results default to float64, the library's default dtype (numpy's rule).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Optional, Sequence, Union

import numpy as np

from . import ops
from .conventions import check_dtype
from .intcast import int_fill
from .ops import base
from .ops.alloc import allocating
from .random import as_generator

Size = Union[int, Sequence[int]]
_MAX_ELEMENTS = np.iinfo(np.intp).max // 16  # numpy's limit in bytes, over the widest dtype
_TORCH_TYPES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor", "int64": "LongTensor",
                "int32": "IntTensor", "int16": "ShortTensor", "int8": "CharTensor", "uint8": "ByteTensor",
                "bool": "BoolTensor"}


def as_dtype(who: str, dtype: Any) -> np.dtype:
    """A numpy dtype from numpy's spellings or torch's (``torch.float32``,
    ``"torch.FloatTensor"``, ``tl.FloatTensor``); anything else is a TypeError naming ``who``."""
    if isinstance(getattr(dtype, "typed_dtype", None), np.dtype):  # tl.FloatTensor and its kin
        return dtype.typed_dtype
    if type(dtype).__module__ == "torch" and str(dtype).startswith("torch."):
        dtype = str(dtype)[len("torch."):]
    elif isinstance(dtype, str) and dtype.startswith("torch."):
        names = {v: k for k, v in _TORCH_TYPES.items()}
        dtype = names.get(dtype[len("torch."):], dtype)
    return check_dtype(who, dtype)


def torch_type_name(dtype: np.dtype) -> str:
    """torch's name of the tensor type holding ``dtype`` (``"torch.FloatTensor"``)."""
    return "torch." + _TORCH_TYPES.get(dtype.name, dtype.name)


def is_device(arg: Any) -> bool:
    """Whether ``arg`` names a device (a string such as ``"cpu"``, or an object whose ``type``
    is a string, such as ``tl.device`` or ``torch.device``) rather than a dtype."""
    if isinstance(arg, str):
        return not arg.startswith("torch.")  # ("torch.FloatTensor" names a dtype)
    return isinstance(getattr(arg, "type", None), str)  # (a numpy dtype's ``type`` is a class)


def check_device(who: str, device: Any) -> None:
    """Only the CPU exists here (the data is a numpy array): ``None``, ``"cpu"``, ``"cpu:0"``
    or a device object of type ``"cpu"`` pass; another device is a RuntimeError (as torch
    without that device), something that is no device a TypeError."""
    if device is None:
        return
    if isinstance(device, str):
        name = device
    elif is_device(device):
        index = getattr(device, "index", None)
        name = device.type if index is None else f"{device.type}:{index}"
    else:
        raise TypeError(f"{who}: expected a device such as 'cpu', got {type(device).__name__} {device!r}")
    if name not in ("cpu", "cpu:0"):
        hint = "; to change the dtype pass one, e.g. to(np.float32)" if who == "to" else ""
        raise RuntimeError(f"{who}: device {name!r} is not available; tinygrad_lite computes with numpy arrays on "
                           f"the CPU only (device 'cpu'){hint}")


def param_dtype(who: str, dtype: Any, device: Any = None) -> np.dtype:
    """A layer's parameter dtype from its ``dtype=`` and ``device=`` arguments (torch's
    constructor keywords): ``None`` means the default, float64; else a float dtype in numpy's
    or torch's spelling. Anything else is a TypeError naming ``who``; ``device`` must be the
    CPU (``check_device``)."""
    check_device(who, device)
    dt = np.dtype(np.float64) if dtype is None else check_dtype(who, dtype)
    if dt.kind != "f":
        raise TypeError(f"{who}: dtype must be a float dtype (parameters hold gradients), got {dt}")
    return dt


class device(str):
    """torch's ``device`` for the one device here: ``tl.device("cpu")`` (or ``"cpu:0"``, or
    ``device("cpu", 0)``); it is the string ``"cpu"``, so it goes wherever ``"cpu"`` does,
    with torch's ``type`` and ``index``. Any other device is a RuntimeError."""

    def __new__(cls, type: Any = "cpu", index: Optional[int] = None) -> "device":  # noqa: A002
        check_device("device", type if index is None else f"{type}:{index}")
        return super().__new__(cls, "cpu")

    @property
    def type(self) -> str:  # type: ignore[override]
        return "cpu"

    @property
    def index(self) -> None:
        return None

    def __repr__(self) -> str:
        return "device(type='cpu')"


def _sized(who: str, shape: tuple, size: Any) -> tuple:
    """The shape given positionally (``f(2, 3)``) or as torch's keyword (``f(size=(2, 3))``)."""
    if size is None:
        return shape
    if shape:
        raise TypeError(f"{who}: give the size positionally or as size=, not both (got {shape!r} and {size!r})")
    return (size,)


def size_arg(who: str, size: tuple) -> tuple:
    """A shape given as ``f(2, 3)`` or ``f((2, 3))``: non-negative ints, else an error naming ``who``."""
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)
    shape = tuple(int(n.data) if isinstance(n, base.Tensor) and n.data.ndim == 0 and n.data.dtype.kind in "iu"
                  else n for n in shape)  # a 0-d integer tensor is a size, as torch reads it
    for n in shape:
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
            raise TypeError(f"{who}: sizes must be ints, got {shape!r}")
        if n < 0:
            raise base.ArgumentError(f"{who}: sizes must be >= 0, got {shape!r}")
    shape = tuple(int(n) for n in shape)
    if shape and max(max(shape), math.prod(shape)) > _MAX_ELEMENTS:
        raise ValueError(f"{who}: size {shape!r} is more than an array can hold ({math.prod(shape)} elements)")
    return shape


def _made(arr: np.ndarray, requires_grad: bool) -> Any:
    return base.Tensor(arr, requires_grad=requires_grad)


def _float(who: str, dtype: Any) -> np.dtype:
    return get_default_dtype() if dtype is None else as_dtype(who, dtype)


def get_default_dtype() -> np.dtype:
    """The dtype of float results made without one: float64, this library's rule (numpy's)."""
    return np.dtype(np.float64)


def set_default_dtype(d: Any) -> None:
    """torch's ``set_default_dtype``: float64 (what a script asking for exact maths sets) is
    this library's default already, so nothing changes; another float dtype raises a
    ValueError (pass ``dtype=`` or call ``model.float()`` instead), a non-float one a
    TypeError, as torch's."""
    dt = as_dtype("set_default_dtype", d)
    if dt.kind != "f":
        raise TypeError(f"set_default_dtype: only floating-point dtypes can be the default, got {dt}")
    if dt != get_default_dtype():
        raise ValueError(f"set_default_dtype: the default float dtype is float64 here and cannot be changed, got "
                         f"{dt}; pass dtype={dt} to the factories and layers, or call model.float()")


@allocating("zeros")
def zeros(*shape: Any, size: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Any:
    """A tensor of zeros of the given shape (float64 unless ``dtype`` says otherwise)."""
    check_device("zeros", device)
    return _made(np.zeros(size_arg("zeros", _sized("zeros", shape, size)), _float("zeros", dtype)), requires_grad)


@allocating("ones")
def ones(*shape: Any, size: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Any:
    """A tensor of ones of the given shape."""
    check_device("ones", device)
    return _made(np.ones(size_arg("ones", _sized("ones", shape, size)), _float("ones", dtype)), requires_grad)


@allocating("empty")
def empty(*shape: Any, size: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Any:
    """A tensor of the given shape whose values are not to be relied on (zeros here)."""
    check_device("empty", device)
    return _made(np.zeros(size_arg("empty", _sized("empty", shape, size)), _float("empty", dtype)), requires_grad)


@allocating("full")
def full(size: Size, fill_value: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Any:
    """A tensor of the given shape filled with ``fill_value``; without ``dtype`` a bool gives
    bool, an int int64, a float float64 (torch's inference, with this library's float)."""
    check_device("full", device)
    shape = size_arg("full", (size,) if isinstance(size, numbers.Integral) else tuple(size))
    v = fill_value.item() if isinstance(fill_value, base.Tensor) and fill_value.data.size == 1 else fill_value
    if not isinstance(v, (numbers.Real, np.bool_)):
        raise TypeError(f"full: fill_value must be a real number or a bool, got {type(fill_value).__name__}")
    if dtype is None:
        dt = np.dtype(bool) if isinstance(v, (bool, np.bool_)) else np.dtype(
            np.int64 if isinstance(v, numbers.Integral) else np.float64)
    else:
        dt = as_dtype("full", dtype)
    return _made(np.full(shape, int_fill("full", v, dt), dt), requires_grad)


def _like(who: str, input: Any, dtype: Any) -> tuple:
    if not isinstance(input, base.Tensor):
        raise TypeError(f"{who}: input must be a Tensor, got {type(input).__name__}")
    return input.shape, (input.dtype if dtype is None else as_dtype(who, dtype))


@allocating("zeros_like")
def zeros_like(input: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Any:
    """Zeros of ``input``'s shape and dtype."""
    check_device("zeros_like", device)
    shape, dt = _like("zeros_like", input, dtype)
    return _made(np.zeros(shape, dt), requires_grad)


@allocating("ones_like")
def ones_like(input: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Any:
    """Ones of ``input``'s shape and dtype."""
    check_device("ones_like", device)
    shape, dt = _like("ones_like", input, dtype)
    return _made(np.ones(shape, dt), requires_grad)


@allocating("empty_like")
def empty_like(input: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Any:
    """A tensor of ``input``'s shape and dtype (zeros here)."""
    check_device("empty_like", device)
    return zeros_like(input, dtype=dtype, requires_grad=requires_grad)


@allocating("full_like")
def full_like(input: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Any:
    """``fill_value`` in ``input``'s shape and dtype."""
    check_device("full_like", device)
    shape, dt = _like("full_like", input, dtype)
    v = fill_value.data if isinstance(fill_value, base.Tensor) else fill_value
    if isinstance(v, np.ndarray) and v.size == 1 and v.dtype.kind in "biuf":
        v = v.reshape(()).item()
    if not isinstance(v, (numbers.Real, np.bool_)):
        raise TypeError(f"full_like: fill_value must be a number (or a one-element tensor), got {fill_value!r}")
    return _made(np.full(shape, int_fill("full_like", v, dt), dt), requires_grad)


def _random(who: str, draw: str, size: tuple, dtype: Any, requires_grad: bool, generator: Any,
            device: Any = None) -> Any:
    check_device(who, device)
    dt = _float(who, dtype)
    if dt.kind != "f":
        raise TypeError(f"{who}: dtype must be a float dtype (float16, float32 or float64), got {dt}")
    rng = as_generator(generator, "generator")
    if dt == np.float16:  # (drawn in float32 and rounded; a uniform value just below 1 stays below 1)
        out = getattr(rng, draw)(size, dtype=np.float32).astype(np.float16)
        if draw == "random":
            np.minimum(out, np.nextafter(np.float16(1), np.float16(0)), out=out)
        return _made(out, requires_grad)
    return _made(getattr(rng, draw)(size, dtype=dt), requires_grad)


@allocating("randn")
def randn(*shape: Any, size: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False,
          generator: Any = None) -> Any:
    """Independent standard normal values, N(0, 1), of the given shape; ``generator`` is a
    numpy Generator or an int seed (default: the library's generator)."""
    shape = size_arg("randn", _sized("randn", shape, size))
    return _random("randn", "standard_normal", shape, dtype, requires_grad, generator, device)


@allocating("rand")
def rand(*shape: Any, size: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False,
         generator: Any = None) -> Any:
    """Independent uniform values on [0, 1) of the given shape."""
    return _random("rand", "random", size_arg("rand", _sized("rand", shape, size)), dtype, requires_grad, generator,
                   device)


def _random_like(who: str, draw: str, input: Any, dtype: Any, requires_grad: bool, generator: Any,
                 device: Any = None) -> Any:
    check_device(who, device)
    shape, dt = _like(who, input, dtype)
    if dt.kind != "f":  # torch has no random kernel for these dtypes
        raise NotImplementedError(f"{who}: input of dtype {dt} has no random values; give a float dtype "
                                  "(dtype=float32 or float64)")
    return _random(who, draw, shape, dt, requires_grad, generator)


@allocating("randn_like")
def randn_like(input: Any, *, dtype: Any = None, device: Any = None,
               requires_grad: bool = False, generator: Any = None) -> Any:
    """Standard normal values in ``input``'s shape and dtype (or ``dtype``), which must be a float."""
    return _random_like("randn_like", "standard_normal", input, dtype, requires_grad, generator, device)


@allocating("rand_like")
def rand_like(input: Any, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False, generator: Any = None) -> Any:
    """Uniform values on [0, 1) in ``input``'s shape and dtype (or ``dtype``), which must be a float."""
    return _random_like("rand_like", "random", input, dtype, requires_grad, generator, device)


@allocating("randint")
def randint(*args: Any, size: Any = None, generator: Any = None, dtype: Any = None, device: Any = None,
            requires_grad: bool = False, low: Any = None, high: Any = None) -> Any:
    """Integers drawn uniformly from [low, high) (``low`` defaults to 0), torch's forms
    ``randint(high, size)`` and ``randint(low, high, size)``; int64 unless ``dtype`` is given."""
    check_device("randint", device)
    vals = list(args)
    if size is None and vals:
        size = vals.pop()
    if len(vals) == 2:
        low, high = vals
    elif len(vals) == 1:
        (high,) = vals
    elif vals:
        raise TypeError(f"randint: expects (high, size) or (low, high, size), got {len(args)} positional arguments")
    low = 0 if low is None else low
    for name, v in (("low", low), ("high", high)):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
            raise TypeError(f"randint: {name} must be an int, got {v!r}")
    if size is None:
        raise TypeError("randint: size is required (a tuple of ints)")
    if not low < high:
        raise base.ArgumentError(f"randint: expects low < high, got low={low}, high={high}")
    shape = size_arg("randint", (size,) if isinstance(size, numbers.Integral) else tuple(size))
    dt = np.dtype(np.int64) if dtype is None else as_dtype("randint", dtype)
    if dt.kind in "iu" and not (np.iinfo(dt).min <= low and high - 1 <= np.iinfo(dt).max):
        raise ValueError(f"randint: the range [{low}, {high}) does not fit dtype {dt}")
    rng = as_generator(generator, "randint: generator")
    return _made(rng.integers(int(low), int(high), shape).astype(dt), requires_grad)


@allocating("randperm")
def randperm(n: int, *, generator: Any = None, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Any:
    """A random permutation of 0..n-1 (int64 unless ``dtype`` is given)."""
    check_device("randperm", device)
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"randperm: n must be an int >= 0, got {n!r}")
    dt = np.dtype(np.int64) if dtype is None else as_dtype("randperm", dtype)
    return _made(as_generator(generator, "randperm: generator").permutation(int(n)).astype(dt), requires_grad)


@allocating("multinomial")
def multinomial(input: Any, num_samples: int, replacement: bool = False, *, generator: Any = None) -> Any:
    """``num_samples`` category indices per row drawn with probabilities proportional to the
    (non-negative) weights of ``input`` (1-D, or 2-D: one draw per row); without
    ``replacement`` each category at most once. int64, no gradient."""
    w = _operand(input).data
    if w.ndim not in (1, 2) or w.dtype.kind not in "biuf" or not np.isfinite(w).all() or (w < 0).any():
        raise base.ArgumentError(f"multinomial: input must be finite non-negative weights of 1 or 2 axes, got shape "
                                 f"{w.shape}")
    if isinstance(num_samples, (bool, np.bool_)) or not isinstance(num_samples, numbers.Integral) or num_samples <= 0:
        raise ValueError(f"multinomial: num_samples must be an int > 0, got {num_samples!r}")
    rows = w.reshape(-1, w.shape[-1]).astype(np.float64)
    tot = rows.sum(axis=1)
    if (tot <= 0).any():
        raise ValueError("multinomial: every row of weights must have a positive sum")
    if not replacement and (np.count_nonzero(rows, axis=1) < num_samples).any():
        raise ValueError(f"multinomial: cannot draw {num_samples} categories without replacement from rows with "
                         f"fewer non-zero weights (shape {w.shape})")
    rng = as_generator(generator, "multinomial: generator")
    out = np.stack([rng.choice(rows.shape[1], num_samples, replace=bool(replacement), p=r / t)
                    for r, t in zip(rows, tot)]).astype(np.int64)
    return _made(out.reshape(w.shape[:-1] + (num_samples,)), False)


def normal(mean: Any = 0.0, std: Any = 1.0, size: Any = None, *, generator: Any = None, dtype: Any = None,
           device: Any = None, requires_grad: bool = False) -> Any:
    """Values drawn from N(mean, std**2): of shape ``size`` for numbers, else elementwise for
    tensors ``mean`` and ``std`` (broadcast together); no gradient flows to them."""
    check_device("normal", device)
    for name, v in (("mean", mean), ("std", std)):
        a = v.data if isinstance(v, base.Tensor) else np.asarray(v) if isinstance(v, (list, tuple, np.ndarray)) else v
        if not (isinstance(a, np.ndarray) and a.dtype.kind in "biuf") and (
                isinstance(a, (bool, np.bool_)) or not isinstance(a, numbers.Real)):
            raise TypeError(f"normal: {name} must be a number or a numeric tensor, got {v!r}")
    m, sd = (np.asarray(v.data if isinstance(v, base.Tensor) else v, dtype=np.float64) for v in (mean, std))
    try:
        shape = np.broadcast_shapes(m.shape, sd.shape) if size is None else size_arg(
            "normal", (size,) if isinstance(size, numbers.Integral) else tuple(size))
        np.broadcast_shapes(m.shape, sd.shape, shape)
    except ValueError:
        raise ValueError(f"normal: mean of shape {m.shape} and std of shape {sd.shape} do not broadcast together"
                         + ("" if size is None else f" with size {size!r}")) from None
    if not (sd >= 0).all():
        raise ValueError("normal: std must be >= 0")
    rng = as_generator(generator, "normal: generator")
    given = [v.data.dtype for v in (mean, std) if isinstance(v, base.Tensor) and v.data.dtype.kind == "f"]
    dt = as_dtype("normal", dtype) if dtype is not None else (np.result_type(*given) if given else np.float64)
    return _made((m + sd * rng.standard_normal(shape)).astype(dt), requires_grad)


@allocating("arange")
def arange(start: Any = None, end: Any = None, step: Any = 1, *, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Any:
    """``start, start + step, ...`` up to (not including) ``end``; ``arange(n)`` is 0..n-1.
    Integer arguments give int64, any float argument float64; 0-d tensors count as their value."""
    check_device("arange", device)
    if start is None and end is None:
        raise TypeError("arange: needs end (arange(end), arange(start, end[, step]) or arange(end=...))")
    if end is None:
        start, end = 0, start
    elif start is None:  # arange(end=n), as torch
        start = 0
    start, end, step = (v.item() if isinstance(v, base.Tensor) and v.data.ndim == 0 else v for v in (start, end, step))
    for v in (start, end, step):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
            raise TypeError(f"arange: start, end and step must be real numbers, got {(start, end, step)!r}")
        if not math.isfinite(v):
            raise ValueError(f"arange: start, end and step must be finite, got {(start, end, step)!r}")
    integral = all(isinstance(v, numbers.Integral) for v in (start, end, step))
    dt = as_dtype("arange", dtype) if dtype is not None else np.dtype(np.int64 if integral else np.float64)
    if dt.kind == "b":
        raise TypeError("arange: dtype bool is not supported (as torch); arange an integer dtype and compare")
    if dt.kind in "iu":  # an integer dtype takes start, end and step truncated toward zero first, as torch
        start, end, step = int(start), int(end), int(step)
    if step == 0:
        why = " (after truncation to an integer)" if dt.kind in "iu" else ""
        raise base.ArgumentError(f"arange: step must be non-zero{why}")
    if (end - start) * step < 0:
        raise base.ArgumentError(f"arange: the range {start} -> {end} goes against the sign of step {step}")
    if dt.kind in "iu":
        return _made(np.arange(start, end, step).astype(dt), requires_grad)
    # floats: torch's ceil((end - start) / step) values start + i * step, computed in float64
    n = max(math.ceil((end - start) / step), 0)
    return _made((start + step * np.arange(n, dtype=np.float64)).astype(dt), requires_grad)


@allocating("linspace")
def linspace(start: float, end: float, steps: int, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Any:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included."""
    check_device("linspace", device)
    if isinstance(steps, (bool, np.bool_)) or not isinstance(steps, numbers.Integral) or steps < 0:
        raise base.ArgumentError(f"linspace: steps must be an int >= 0, got {steps!r}")
    dt = _float("linspace", dtype)
    if dt.kind == "b":
        raise TypeError("linspace: dtype bool is not supported (as torch)")
    return _made(_spaced(start, end, int(steps), dt), requires_grad)


def _spaced(start: Any, end: Any, n: int, dt: np.dtype) -> np.ndarray:
    """torch's linspace values: with ``step = (end - start) / (n - 1)``, ``start + step * i`` for
    the first ``n // 2`` and ``end - step * (n - 1 - i)`` for the rest (both ends exact), each
    rounded once as torch's fused multiply-add rounds it (where numpy has a wider float). An
    integer dtype takes ``start`` and ``end`` truncated toward zero, the step between them in
    float64, and truncates each value toward zero; a float dtype computes in that dtype."""
    if dt.kind in "iu":
        start, end, wide = int(start), int(end), np.dtype(np.float64)
    else:
        start, end, wide = dt.type(start), dt.type(end), dt
    if n == 1:
        return np.full(1, start, dt)
    i = np.arange(n, dtype=wide)
    with np.errstate(over="ignore", invalid="ignore"):
        step = (wide.type(end) - wide.type(start)) / wide.type(max(n - 1, 1))
        half = n // 2
        if dt.itemsize >= 4 and dt.kind == "f" and np.finfo(np.longdouble).nmant > np.finfo(wide).nmant:
            # torch's kernel rounds start + step * i once (a fused multiply-add): so does a wider float
            L = np.longdouble
            out = np.where(i < half, (L(start) + L(step) * i.astype(L)).astype(wide),
                           (L(end) - L(step) * (n - 1 - i).astype(L)).astype(wide))
        else:
            out = np.where(i < half, wide.type(start) + step * i, wide.type(end) - step * (n - 1 - i))
    return (np.trunc(out) if dt.kind in "iu" else out).astype(dt)


@allocating("eye")
def eye(n: int, m: Optional[int] = None, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Any:
    """The n x m (default n x n) matrix with ones on the diagonal."""
    check_device("eye", device)
    m = n if m is None else m
    size_arg("eye", (n, m))
    return _made(np.eye(n, m, dtype=_float("eye", dtype)), requires_grad)


def _operand(v: Any) -> Any:
    return v if isinstance(v, base.Tensor) else base.const(v)


def where(condition: Any, input: Any = None, other: Any = None) -> Any:
    """``input`` where ``condition`` holds, else ``other`` (broadcast together; numbers are
    fine on either side). The gradient reaches each branch where it was chosen.
    ``where(condition)`` alone gives the indices of the True entries, one int64 tensor per axis."""
    c = _operand(condition)
    if input is None and other is None:
        return tuple(_made(i.astype(np.int64), False) for i in np.nonzero(np.atleast_1d(c.data)))  # (0-d: as 1-d)
    if input is None or other is None:
        raise TypeError("where: give both input and other, or neither")
    for num, t in ((input, other), (other, input)):  # a number beside an integer tensor must fit its dtype
        if type(num) is int and getattr(getattr(t, "data", None), "dtype", np.dtype("f")).kind in "iu":
            int_fill("where", num, t.data.dtype)
    return ops.WHERE(c, _operand(input), _operand(other))


def _arrays(who: str, a: Any, b: Any) -> tuple:
    x, y = _operand(a).data, _operand(b).data
    try:
        np.broadcast_shapes(x.shape, y.shape)
    except ValueError:
        raise ValueError(f"{who}: shapes {x.shape} and {y.shape} are not compatible") from None
    return x, y


def allclose(input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """Whether |input - other| <= atol + rtol |other| everywhere (broadcast), as a Python bool."""
    x, y = _arrays("allclose", input, other)
    return bool(np.allclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(input: Any, other: Any) -> bool:
    """True when both have the same shape and the same values (a Python bool)."""
    x, y = base.const(input, "equal").data, base.const(other, "equal").data
    return x.shape == y.shape and bool(np.array_equal(x, y))
