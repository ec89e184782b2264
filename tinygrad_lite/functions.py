"""torch's function namespace for the everyday operations: ``tl.exp(x)``, ``tl.sum(x, dim)``,
``tl.maximum(a, b)``, ``tl.matmul(a, b)``, ``tl.flatten(x)``, ``tl.from_numpy(a)`` ...

Each function takes its input Tensor first, with torch's argument names and defaults, and
calls the Tensor method of the same meaning, so gradients, per-sample gradients and the
errors are the methods' (and the ops'). Only ``transpose`` differs from its method:
``tl.transpose(x, dim0, dim1)`` swaps two axes, which is torch's meaning and unambiguous
with two axes, while ``x.transpose(*axes)`` keeps numpy's permutation. ``from_numpy`` and
``as_tensor`` share the array's memory, as torch's do; everything else returns a new Tensor.
"""

from __future__ import annotations

import builtins
import numbers
from typing import Any, Optional

import numpy as np

from . import factories
from .ops import base
from .ops.base import make
from .torchkw import one_of


def _t(who: str, input: Any) -> Any:
    """``input`` if it is a Tensor, else a TypeError naming the function (as torch's)."""
    if not isinstance(input, base.Tensor):
        hint = "; x.data is a numpy array here, so pass x or x.detach()" if isinstance(input, np.ndarray) else ""
        raise TypeError(f"{who}: input must be a Tensor, got {type(input).__name__} (tl.tensor(...) makes one{hint})")
    return input


def _cast(who: str, input: Any, dtype: Any) -> Any:
    return _t(who, input) if dtype is None else _t(who, input).astype(factories.as_dtype(who, dtype))


# ------------------------------------------------------------------ forwarders -----------
def _forward(name: str, binary: bool) -> Any:
    """The function ``name(input)`` (``name(input, other)`` when ``binary``) calling the Tensor
    method of that name; its docstring is the method's, which gives the maths."""
    if binary:
        def f(input: Any, other: Any) -> Any:
            return getattr(_t(name, input), name)(other)
    else:
        def f(input: Any) -> Any:  # type: ignore[misc]
            return getattr(_t(name, input), name)()

    f.__name__ = f.__qualname__ = name
    f.__doc__ = getattr(base.Tensor, name).__doc__
    return f


_UNARY = ["exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "neg", "square", "sin", "cos", "log1p", "expm1",
          "log2", "log10", "exp2", "rsqrt", "reciprocal", "erf", "isnan", "isinf", "isfinite", "logical_not"]
_BINARY = ["maximum", "minimum", "atan2", "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or",
           "logical_xor"]
globals().update({n: _forward(n, False) for n in _UNARY})
globals().update({n: _forward(n, True) for n in _BINARY})


# the arithmetic functions torch also calls with a number first and a Tensor second
# (``torch.add(3, t)``): the number is wrapped as a 0-d tensor, which promotes as the number would
NUMBER_FIRST = {"add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide"}


def number_first(name: str, input: Any, args: tuple, kwargs: dict) -> Any:
    """``input`` as a Tensor: a Tensor as it is; a real number (not an array) when ``name`` is in
    ``NUMBER_FIRST`` and ``other`` is a Tensor becomes a 0-d constant; anything else is refused."""
    if isinstance(input, base.Tensor):
        return input
    other = args[0] if args else kwargs.get("other")
    if (name in NUMBER_FIRST and isinstance(input, (numbers.Number, np.bool_)) and not isinstance(input, complex)
            and isinstance(other, base.Tensor)):
        return base.Tensor(np.asarray(input))
    return _t(name, input)


def _passing(name: str) -> Any:
    """The function ``name(input, *args, **kwargs)`` calling the Tensor method of that name
    with the rest of the arguments (the method has torch's signature and gives the maths)."""
    def f(input: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(input, base.Tensor):
            input = number_first(name, input, args, kwargs)
        return getattr(input, name)(*args, **kwargs)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = getattr(base.Tensor, name).__doc__
    return f


# torch.add(x, y, alpha=2), torch.pow(x, 2), torch.norm(x, dim=1), torch.chunk(x, 3, 1), ...
_PASSING = ["add", "sub", "mul", "norm", "cumsum", "logsumexp", "var", "std", "amax", "amin", "chunk",
            "unbind", "gather", "flip", "roll", "clone", "t", "sign", "floor", "ceil", "round", "masked_fill",
            "addcmul", "addcdiv", "addr", "renorm"]
globals().update({n: _passing(n) for n in _PASSING})


def split(input: Any = None, *args: Any, tensor: Any = None, **kwargs: Any) -> Any:
    """The pieces of ``input`` (torch's keyword: ``tensor``) along ``dim``: pieces of
    ``split_size_or_sections`` elements (an int), or of the listed sizes."""
    return _t("split", one_of("split", input=input, tensor=tensor)).split(*args, **kwargs)


def pow(input: Any, exponent: Any) -> Any:
    """input ** exponent elementwise; ``input`` may be a Python number when ``exponent`` is a
    Tensor (torch's ``pow(self: Number, exponent: Tensor)``)."""
    if isinstance(exponent, base.Tensor) and not isinstance(input, base.Tensor) and not isinstance(input, np.ndarray):
        return exponent.__rpow__(input)
    return _t("pow", input).pow(exponent)


def clamp(input: Any, min: Any = None, max: Any = None) -> Any:
    """The values limited to [min, max]; the gradient is 1 inside, 0 where clipped."""
    return _t("clamp", input).clamp(min, max)


clip = clamp


# ------------------------------------------------------------------ reductions -----------
def sum(input: Any, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Any:
    """The sum over ``dim`` (an int or a tuple; every element when None), in ``dtype`` when given."""
    return _t("sum", input).sum(dim=dim, keepdim=keepdim, dtype=dtype)


def mean(input: Any, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Any:
    """The mean over ``dim`` (every element when None), in ``dtype`` (a float dtype) when given."""
    return _t("mean", input).mean(dim=dim, keepdim=keepdim, dtype=dtype)


def prod(input: Any, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Any:
    """The product over ``dim`` (every element when None)."""
    return _t("prod", input).prod(dim, keepdim, dtype=dtype)


def _extremum(who: str, input: Any, dim: Any, keepdim: bool, other: Any = None) -> Any:
    x = _t(who, input)
    dim = dim if other is None else one_of(who, dim=dim, other=other)  # (torch's max(input, other=y))
    if isinstance(dim, base.Tensor):  # torch.max(a, b): the elementwise form
        return x.maximum(dim) if who == "max" else x.minimum(dim)
    if dim is None:
        return x.max() if who == "max" else x.min()
    return x.max(dim=dim, keepdim=keepdim) if who == "max" else x.min(dim=dim, keepdim=keepdim)


def max(input: Any, dim: Any = None, keepdim: bool = False, *, other: Any = None) -> Any:
    """``max(x)``: the largest element; ``max(x, dim)``: a named tuple ``(values, indices)``
    along ``dim``; ``max(x, other)`` with a Tensor ``other`` (or ``other=``): ``maximum``."""
    return _extremum("max", input, dim, keepdim, other)


def min(input: Any, dim: Any = None, keepdim: bool = False, *, other: Any = None) -> Any:
    """``min(x)``, ``min(x, dim)`` -> ``(values, indices)``, ``min(x, other)`` -> ``minimum``."""
    return _extremum("min", input, dim, keepdim, other)


def argmax(input: Any, dim: Optional[int] = None, keepdim: bool = False) -> Any:
    """The index of the largest element (of the flattened tensor when ``dim`` is None)."""
    return _t("argmax", input).argmax(dim=dim, keepdim=keepdim)


def argmin(input: Any, dim: Optional[int] = None, keepdim: bool = False) -> Any:
    """The index of the smallest element (of the flattened tensor when ``dim`` is None)."""
    return _t("argmin", input).argmin(dim=dim, keepdim=keepdim)


def softmax(input: Any, dim: int, dtype: Any = None) -> Any:
    """exp(x) / sum(exp(x)) along ``dim``."""
    return _cast("softmax", input, dtype).softmax(dim=dim)


def log_softmax(input: Any, dim: int, dtype: Any = None) -> Any:
    """x - log(sum(exp(x))) along ``dim``."""
    return _cast("log_softmax", input, dtype).log_softmax(dim=dim)


# ------------------------------------------------------------------ products, layout -----
def matmul(input: Any, other: Any) -> Any:
    """The matrix product (numpy's and torch's broadcasting rules for stacks and vectors)."""
    return _t("matmul", input) @ other


def transpose(input: Any, dim0: int, dim1: int) -> Any:
    """The tensor with axes ``dim0`` and ``dim1`` swapped (torch's meaning)."""
    return _t("transpose", input).swapaxes(dim0, dim1)


def permute(input: Any, dims: Any) -> Any:
    """The axes reordered as ``dims``."""
    return _t("permute", input).permute(dims)


def flatten(input: Any, start_dim: int = 0, end_dim: int = -1) -> Any:
    """Axes ``start_dim..end_dim`` merged into one."""
    return _t("flatten", input).flatten(start_dim, end_dim)


def reshape(input: Any, shape: Any) -> Any:
    """The same values in ``shape`` (one entry may be -1)."""
    return _t("reshape", input).reshape(shape)


def squeeze(input: Any, dim: Any = None) -> Any:
    """Size-1 axes removed (all of them, or those in ``dim``)."""
    return _t("squeeze", input).squeeze(dim)


def unsqueeze(input: Any, dim: int) -> Any:
    """A size-1 axis inserted at ``dim``."""
    return _t("unsqueeze", input).unsqueeze(dim)


def _product(name: str, doc: str, arg: str) -> Any:
    """``tl.<name>(input, other)``: the Tensor method ``input.<name>(other)`` (torch's
    function form of a product of two tensors, whose keyword for ``other`` is ``arg``)."""
    def function(input: Any, other: Any = None, **torch_kw: Any) -> Any:
        if set(torch_kw) - {arg}:
            raise TypeError(f"{name}() got an unexpected keyword argument {sorted(set(torch_kw) - {arg})[0]!r}")
        return getattr(_t(name, input), name)(one_of(name, other=other, **{arg: torch_kw.get(arg)}))

    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    return function


mm = _product("mm", "(n, m) @ (m, p) -> (n, p) of two matrices.", "mat2")
bmm = _product("bmm", "(b, n, m) @ (b, m, p) -> (b, n, p), no broadcasting.", "mat2")
dot = _product("dot", "sum_i x_i y_i of two 1-D tensors.", "tensor")
mv = _product("mv", "(n, m) @ (m,) -> (n,).", "vec")
outer = _product("outer", "out[i, j] = x_i y_j of two 1-D tensors.", "vec2")


def tril(input: Any, diagonal: int = 0) -> Any:
    """The lower triangle (j - i <= diagonal) of the last two axes, 0 above."""
    return _t("tril", input).tril(diagonal)


def triu(input: Any, diagonal: int = 0) -> Any:
    """The upper triangle (j - i >= diagonal) of the last two axes, 0 below."""
    return _t("triu", input).triu(diagonal)


def diag(input: Any, diagonal: int = 0) -> Any:
    """1-D: a matrix with the vector on a diagonal; 2-D: a diagonal of the matrix."""
    return _t("diag", input).diag(diagonal)


def diagonal(input: Any, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Any:
    """The diagonal of axes ``dim1`` and ``dim2``, appended as the last axis."""
    return _t("diagonal", input).diagonal(offset, dim1, dim2)


def trace(input: Any) -> Any:
    """The sum of a matrix's main diagonal."""
    return _t("trace", input).trace()


def einsum(equation: str, *operands: Any) -> Any:
    """Einstein summation: ``einsum("ij,jk->ik", a, b)`` is ``sum_j a_ij b_jk``. Letters a-z
    and A-Z name axes; a letter absent from the output is summed over; ``...`` stands for
    broadcast axes; without ``->`` the output is ``...`` then the letters that occur once,
    sorted. A repeated letter in one operand takes a diagonal (``"ii->i"``). The operands may
    be given as one list. Differentiable in every operand."""
    from .ops.linalg import einsum_call

    if not isinstance(equation, str) and operands and builtins.all(isinstance(s, (list, tuple)) for s in operands[::2]):
        equation, operands = _sublists(equation, operands)  # torch's form: einsum(a, [0, 1], b, [1, 2], [0, 2])
    if not isinstance(equation, str):
        raise TypeError(f"einsum: equation must be a str, got {type(equation).__name__}")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return einsum_call(equation, [_t("einsum", o) for o in operands])


def _sublists(first: Any, rest: tuple) -> tuple:
    """torch's sublist form (operand, its axes as ints 0-51 or Ellipsis, ..., [output axes]) as
    an equation and the operands."""
    args = (first,) + tuple(rest)
    out = args[-1] if len(args) % 2 else None
    pairs = args[:-1] if out is not None else args
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

    def word(axes: Any) -> str:
        try:
            return "".join("..." if a is Ellipsis else letters[int(a)] for a in axes)
        except (IndexError, TypeError, ValueError):
            raise ValueError(f"einsum: sublist axes must be ints in [0, 52) or Ellipsis, got {list(axes)!r}") from None

    eq = ",".join(word(pairs[i + 1]) for i in range(0, len(pairs), 2))
    return (eq + ("->" + word(out) if out is not None else "")), tuple(pairs[0::2])


# ------------------------------------------------------------------ ordering, selection --
def sort(input: Any, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Any:
    """``(values, indices)`` along ``dim``, ascending unless ``descending``."""
    return _t("sort", input).sort(dim, descending, stable=stable)


def argsort(input: Any, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Any:
    """The positions that sort ``input`` along ``dim``."""
    return _t("argsort", input).argsort(dim, descending, stable=stable)


def msort(input: Any) -> Any:
    """The values sorted along axis 0."""
    return _t("msort", input).msort()


def topk(input: Any, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
    """``(values, indices)`` of the ``k`` largest (smallest) values along ``dim``."""
    return _t("topk", input).topk(k, dim, largest, sorted)


def masked_select(input: Any, mask: Any) -> Any:
    """The values where ``mask`` is True, as a 1-D tensor."""
    return _t("masked_select", input).masked_select(mask)


def index_select(input: Any, dim: int, index: Any) -> Any:
    """The slices ``index`` along ``dim``."""
    return _t("index_select", input).index_select(dim, index)


def narrow(input: Any, dim: int, start: Any, length: int) -> Any:
    """``length`` slices along ``dim`` from ``start``."""
    return _t("narrow", input).narrow(dim, start, length)


def repeat_interleave(input: Any, repeats: Any = None, dim: Optional[int] = None, *, output_size: Any = None) -> Any:
    """Each slice along ``dim`` (each element when None) repeated ``repeats`` times in place.
    ``repeat_interleave(repeats)`` alone (a 1-D int tensor r): index i repeated r[i] times,
    i.e. ``repeat_interleave(arange(len(r)), r)``, as torch."""
    if repeats is None:
        r = _t("repeat_interleave", input)
        if r.ndim != 1 or r.dtype.kind not in "iu":
            raise TypeError(f"repeat_interleave: repeats alone must be a 1-D integer tensor, got shape {r.shape} "
                            f"and dtype {r.dtype}")
        return factories.arange(r.shape[0]).repeat_interleave(r, 0, output_size=output_size)
    return _t("repeat_interleave", input).repeat_interleave(repeats, dim, output_size=output_size)


def unflatten(input: Any, dim: int, sizes: Any) -> Any:
    """Axis ``dim`` split into axes of ``sizes``."""
    return _t("unflatten", input).unflatten(dim, sizes)


def movedim(input: Any, source: Any, destination: Any) -> Any:
    """The axes ``source`` moved to ``destination``."""
    return _t("movedim", input).movedim(source, destination)


moveaxis = movedim


def swapdims(input: Any, dim0: Any = None, dim1: Any = None, *, axis0: Any = None, axis1: Any = None) -> Any:
    """Axes ``dim0`` and ``dim1`` swapped (``axis0``/``axis1``: torch's ``swapaxes`` keywords)."""
    return _t("swapdims", input).swapaxes(axis0, axis1, dim0=dim0, dim1=dim1)


swapaxes = swapdims


# ------------------------------------------------------------------ conversions ----------
def from_numpy(ndarray: np.ndarray) -> Any:
    """A Tensor on ``ndarray``'s memory (no copy): a change of one is seen in the other."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(ndarray).__name__}")
    if ndarray.dtype.kind not in "biuf":
        raise TypeError(f"from_numpy: dtype {ndarray.dtype} is not supported (bool, integer and float dtypes are)")
    return make(ndarray, None, (), None, False)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Any:
    """``data`` as a Tensor, without a copy where possible: a Tensor of the wanted dtype is
    returned as it is, a numpy array of it shares its memory; anything else is converted."""
    factories.check_device("as_tensor", device)
    dt = None if dtype is None else factories.as_dtype("as_tensor", dtype)
    if isinstance(data, base.Tensor):
        return data if dt is None or dt == data.dtype else data.astype(dt)
    if isinstance(data, np.ndarray) and (dt is None or dt == data.dtype) and data.dtype.kind in "biuf":
        return from_numpy(data)
    return base.Tensor(data, dtype=dt)


def is_tensor(obj: Any) -> bool:
    """Whether ``obj`` is a Tensor."""
    return isinstance(obj, base.Tensor)


def numel(input: Any) -> int:
    """The number of elements."""
    return _t("numel", input).numel()


# ------------------------------------------------------------------ rounded division ------
def _divmod(name: str, input: Any, other: Any) -> Any:
    if isinstance(input, base.Tensor):
        return getattr(input, name)(other)
    if isinstance(other, base.Tensor) and name != "fmod":  # a number divided by a tensor, as torch
        return getattr(other, "__rfloordiv__" if name == "floor_divide" else "__rmod__")(input)
    raise TypeError(f"{name}: input must be a Tensor{'' if name == 'fmod' else ' (or other one)'}, got "
                    f"{type(input).__name__} and {type(other).__name__}")


def div(input: Any, other: Any, *, rounding_mode: Any = None) -> Any:
    """input / other; ``rounding_mode`` "floor" or "trunc" rounds the quotient (a zero gradient)."""
    return number_first("div", input, (other,), {}).div(other, rounding_mode=rounding_mode)


divide = div


def floor_divide(input: Any, other: Any) -> Any:
    """floor(input / other) elementwise (``input // other``); a zero gradient."""
    return _divmod("floor_divide", input, other)


def remainder(input: Any, other: Any) -> Any:
    """input - other * floor(input / other) (``input % other``): the sign of ``other``."""
    return _divmod("remainder", input, other)


def fmod(input: Any, other: Any) -> Any:
    """input - other * trunc(input / other): the sign of ``input``."""
    return _divmod("fmod", input, other)


# ------------------------------------------------------------------ any, all -------------
def any(input: Any, dim: Any = None, keepdim: bool = False) -> Any:
    """Whether any element (over ``dim``) is non-zero."""
    return _t("any", input).any(dim, keepdim)


def all(input: Any, dim: Any = None, keepdim: bool = False) -> Any:
    """Whether every element (over ``dim``) is non-zero."""
    return _t("all", input).all(dim, keepdim)


__all__ = _UNARY + _BINARY + ["clamp", "clip", "sum", "mean", "max", "min", "prod", "argmax", "argmin", "softmax",
                              "log_softmax", "matmul", "transpose", "permute", "flatten", "reshape", "squeeze",
                              "unsqueeze", "from_numpy", "as_tensor", "is_tensor", "numel", "any", "all",
                              "floor_divide", "remainder", "fmod", "div", "divide"]
__all__ += ["mm", "bmm", "dot", "mv", "outer", "tril", "triu", "diag", "diagonal", "trace", "einsum", "sort", "argsort",
            "msort", "topk", "masked_select", "index_select", "narrow", "repeat_interleave", "unflatten", "movedim",
            "moveaxis", "swapdims", "swapaxes", "pow", "split"] + _PASSING
