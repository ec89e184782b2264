"""More of torch's top-level names: the constants (``tl.pi``, ``tl.e``, ``tl.inf``, ``tl.nan``,
``tl.newaxis``), the layout object ``tl.strided``, the ``*_copy`` functions (a view op
followed by a copy), ``angle``, ``as_strided`` / ``as_strided_scatter``, DLPack exchange
(``from_dlpack``, ``to_dlpack``), the always-CPU queries (``get_device``, ``is_storage``,
``is_distributed``), ``nonzero_static`` and the strided constructors (``empty_strided``,
``empty_permuted``). Also the bodies of the matching Tensor methods of ``torchinfo``
(``dim_order``, ``resize_``, ``new``, ``__dlpack__`` ...).

Strides here count ELEMENTS of the tensor's values laid out contiguously in row-major order:
a tensor has no storage apart from its values, so ``as_strided`` of a transposed or sliced
tensor reads the row-major copy of its values (torch reads the memory underneath the view),
and the result is a new tensor, not a view. Nothing here keeps state; ``resize_`` replaces
the data of the tensor it is called on and touches nothing else.
"""

from __future__ import annotations

import inspect
import math
from typing import Any, Optional, Sequence

import numpy as np

from . import factories
from .conventions import _int, check_bool
from .conventions import _tensor_arg as _tensor
from .ops.base import ArgumentError, ShapeMismatchError, axis_of, const, make
from .ops.select import _Step
from .tensor import Tensor

pi, e, inf, nan = math.pi, math.e, math.inf, math.nan
newaxis = None


class layout:
    """torch's ``layout`` type; the one layout here is ``tl.strided`` (dense, with strides)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"tinygrad_lite.{self.name}"

    def __reduce__(self) -> str:  # (pickles as the module attribute, so it stays the one object)
        return self.name


strided = layout("strided")


def _ints(who: str, name: str, seq: Any) -> tuple:
    """A tuple, list or Size of ints (torch takes no single int for these arguments)."""
    if not isinstance(seq, (tuple, list)):
        raise TypeError(f"{who}: {name} must be a tuple of ints, got {type(seq).__name__}")
    return tuple(_int(who, name, v) for v in seq)


# ------------------------------------------------------------------ *_copy functions ------
def _slice(input: Tensor, dim: int = 0, start: Optional[int] = None, end: Optional[int] = None,
           step: int = 1) -> Tensor:
    if _int("slice_copy", "step", step) <= 0:
        raise ArgumentError(f"slice_copy: step must be positive, got {step}")
    ax = axis_of(input.ndim, dim, "slice_copy")
    return input[(slice(None),) * ax + (slice(start, end, step),)]


def _view(input: Tensor, size: Any = None, *, dtype: Any = None) -> Tensor:
    if dtype is None and size is not None and not isinstance(size, (tuple, list)):
        size, dtype = None, size  # view_copy(x, torch.int32): the dtype form
    if (size is None) == (dtype is None):
        raise TypeError("view_copy: give either a size (a tuple of ints) or a dtype")
    return input.view(dtype=dtype) if size is None else input.view(tuple(size))


# name -> the view op with torch's signature of ``torch.<name>_copy``
_VIEWS: dict = {
    "alias": lambda input: input,
    "detach": lambda input: input.detach(),
    "diagonal": lambda input, offset=0, dim1=0, dim2=1: input.diagonal(offset, dim1, dim2),
    "expand": lambda input, size, *, implicit=False: input.expand(tuple(size)),
    "permute": lambda input, dims: input.permute(tuple(dims)),
    "select": lambda input, dim, index: input.select(dim, index),
    "slice": _slice,
    "split": lambda input, split_size, dim=0: input.split(split_size, dim),
    "split_with_sizes": lambda input, split_sizes, dim=0: input.split_with_sizes(list(split_sizes), dim),
    "squeeze": lambda input, dim=None: input.squeeze(dim),
    "t": lambda input: input.t(),
    "transpose": lambda input, dim0, dim1: input.transpose(dim0, dim1),
    "unbind": lambda input, dim=0: input.unbind(dim),
    "unfold": lambda input, dimension, size, step: input.unfold(dimension, size, step),
    "unsqueeze": lambda input, dim: input.unsqueeze(dim),
    "view": _view,
    "as_strided": lambda input, size, stride, storage_offset=None: as_strided(input, size, stride, storage_offset),
}


def _copy_of(view: str) -> Any:
    fn = _VIEWS[view]
    sig = inspect.signature(fn)
    who = view + "_copy"

    def copy(*args: Any, **kwargs: Any) -> Any:
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{who}{sig}: {exc}") from None
        _tensor(who, bound.arguments["input"])
        try:
            out = fn(*bound.args, **bound.kwargs)
        except (TypeError, ValueError) as exc:  # (a message from Python or numpy, naming no op)
            if str(exc).split(" ", 1)[0].endswith(":"):
                raise
            raise type(exc)(f"{who}: {exc}") from None
        return tuple(t.clone() for t in out) if isinstance(out, (tuple, list)) else out.clone()

    copy.__name__ = copy.__qualname__ = who
    copy.__signature__ = sig  # type: ignore[attr-defined]
    copy.__doc__ = (f"``{view}`` of the input as a new tensor (its own memory, no view): the same values, "
                    f"shape and gradient as ``torch.{view}``" + (" (no gradient)." if view == "detach" else "."))
    return copy


_COPIES = [name + "_copy" for name in _VIEWS]
globals().update({name + "_copy": _copy_of(name) for name in _VIEWS})


# ------------------------------------------------------------------------------ angle -----
class Angle(_Step):
    """The argument of a real number: pi where x < 0, else 0 (nan stays nan)."""

    name, rule = "angle", "d angle(x)/dx = 0 for real x (it is 0 or pi)"

    def forward(self, a: np.ndarray, *args: Any) -> tuple:
        return np.where(np.isnan(a), a, np.where(a < 0, np.pi, 0.0)).astype(a.dtype, copy=False), None


ANGLE = Angle()


def angle(input: Tensor) -> Tensor:
    """angle(x) = pi for x < 0, 0 for x >= 0 (and -0.0), nan for nan; an integer or bool input
    gives the default float dtype. The derivative is 0 (torch's for real inputs)."""
    return ANGLE(_tensor("angle", input)._floating("angle"))


# ------------------------------------------------------------------------ as_strided -----
def strided_positions(who: str, numel: int, size: Any, stride: Any, storage_offset: Any) -> np.ndarray:
    """The positions (int64, shape ``size``) in the row-major values of a tensor of ``numel``
    elements read by ``as_strided(size, stride, storage_offset)``:
    ``pos[i] = storage_offset + sum_k i_k * stride_k``; errors as torch's."""
    size, stride = _ints(who, "size", size), _ints(who, "stride", stride)
    off = 0 if storage_offset is None else _int(who, "storage_offset", storage_offset)
    if len(size) != len(stride):
        raise ArgumentError(f"{who}: size {size} and stride {stride} differ in length")
    if any(n < 0 for n in size):
        raise ArgumentError(f"{who}: sizes must be >= 0, got {size}")
    if any(s < 0 for s in stride):
        raise ArgumentError(f"{who}: negative strides are not supported, got {stride}")
    if off < 0:
        raise ArgumentError(f"{who}: storage_offset must be >= 0, got {off}")
    if 0 not in size:
        need = off + 1 + sum((n - 1) * s for n, s in zip(size, stride))
        if need > numel:
            raise ArgumentError(f"{who}: size {size}, stride {stride} and storage_offset {off} reach element "
                                f"{need - 1}, out of bounds for a tensor of {numel} elements")
    pos = np.full(size, off, np.int64)
    for k, (n, s) in enumerate(zip(size, stride)):
        pos += (np.arange(n, dtype=np.int64) * s).reshape((n,) + (1,) * (len(size) - k - 1))
    return pos


def as_strided(input: Tensor, size: Sequence[int], stride: Sequence[int],
               storage_offset: Optional[int] = None) -> Tensor:
    """out[i] = v[storage_offset + sum_k i_k * stride_k], v the input's values in row-major
    order (strides in elements; windows may overlap). A new tensor, not a view; the gradient
    adds each output cotangent back at the position it was read from (overlaps accumulate)."""
    x = _tensor("as_strided", input)
    pos = strided_positions("as_strided", x.data.size, size, stride, storage_offset)
    return x.reshape(-1)[pos]


def as_strided_scatter(input: Tensor, src: Tensor, size: Sequence[int], stride: Sequence[int],
                       storage_offset: Optional[int] = None) -> Tensor:
    """A copy of ``input`` with ``src`` (of shape ``size``, cast to the input's dtype) written
    where ``as_strided(input, size, stride, storage_offset)`` reads. Where windows overlap
    the last element of ``src`` in row-major order wins, as torch's. Gradient: the cotangent
    off the written positions to ``input``; to each element of ``src`` that was kept, the
    cotangent at its position (0 to an overwritten one)."""
    who = "as_strided_scatter"
    x, s = _tensor(who, input), _tensor(who, src, "src")
    pos = strided_positions(who, x.data.size, size, stride, storage_offset).reshape(-1)
    if any(n > 1 and st == 0 for n, st in zip(size, stride)):
        raise ArgumentError(f"{who}: stride {tuple(stride)} with size {tuple(size)} writes one position from "
                            "several elements along an axis of stride 0 (as torch, refused)")
    if tuple(s.shape) != tuple(size):
        raise ShapeMismatchError(f"{who}: src of shape {tuple(s.shape)} must have the shape size={tuple(size)}")
    s = s.astype(x.data.dtype).reshape(-1)
    rev_first = np.unique(pos[::-1], return_index=True)[1]
    if rev_first.size != pos.size:  # overlapping windows: keep each position's last write
        keep = np.sort(pos.size - 1 - rev_first)
        pos, s = pos[keep], s[keep]
    return x.reshape(-1).put(pos, s).reshape(x.shape)


# --------------------------------------------------------------------------- DLPack ------
def tensor_dlpack(t: Tensor, stream: Any = None, max_version: Any = None, dl_device: Any = None,
                  copy: Optional[bool] = None) -> Any:
    """``Tensor.__dlpack__``: a DLPack capsule of the tensor's memory (shared, no copy; an
    array with negative strides goes as a contiguous copy, which every consumer reads)."""
    if t.requires_grad:
        raise BufferError("__dlpack__: cannot export a tensor that requires grad; export tensor.detach()")
    if stream not in (None, -1):
        raise BufferError(f"__dlpack__: a CPU tensor takes no stream, got stream={stream!r}")
    arr = t.data
    if any(s < 0 for s in arr.strides):
        arr = np.ascontiguousarray(arr)
    kw = {k: v for k, v in (("max_version", max_version), ("dl_device", dl_device), ("copy", copy)) if v is not None}
    return arr.__dlpack__(**kw)


class _Capsule:
    """A bare DLPack capsule (``to_dlpack``'s) dressed as a producer numpy can read."""

    def __init__(self, capsule: Any) -> None:
        self.capsule = capsule

    def __dlpack__(self, **kwargs: Any) -> Any:
        return self.capsule

    def __dlpack_device__(self) -> tuple:
        return (1, 0)  # (CPU, device 0)


def from_dlpack(ext_tensor: Any, *, device: Any = None, copy: Optional[bool] = None) -> Tensor:
    """A Tensor on the memory of ``ext_tensor`` (anything with ``__dlpack__``: a CPU torch
    tensor, a numpy array, a Tensor; or a capsule from ``to_dlpack``), without a copy unless
    ``copy=True``; the strides are kept. Bool, integer and float dtypes only."""
    factories.check_device("from_dlpack", device)
    obj = _Capsule(ext_tensor) if type(ext_tensor).__name__ == "PyCapsule" else ext_tensor
    if not hasattr(obj, "__dlpack__"):
        raise TypeError(f"from_dlpack: expected an object with __dlpack__ (a tensor or an array) or a DLPack "
                        f"capsule, got {type(ext_tensor).__name__}")
    try:
        arr = np.from_dlpack(obj, copy=copy)
    except RuntimeError as exc:  # (numpy's refusal of a dtype it has no spelling for, e.g. bfloat16)
        raise TypeError(f"from_dlpack: cannot read this tensor: {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"from_dlpack: dtype {arr.dtype} is not supported (bool, integer and float dtypes are)")
    return make(arr, None, (), None, False)


def to_dlpack(tensor: Tensor) -> Any:
    """A DLPack capsule (``"dltensor"``) of the tensor's memory, for ``torch.from_dlpack`` or
    ``tl.from_dlpack`` (read once). Read-only data (a broadcast view) goes as a copy."""
    d = _tensor("to_dlpack", tensor, "tensor").data
    if not d.flags.writeable or any(s < 0 for s in d.strides):
        d = np.array(d)
    return d.__dlpack__()


# ------------------------------------------------------------------- CPU-only queries -----
def get_device(input: Tensor) -> int:
    """-1: every tensor lives in CPU memory."""
    return _tensor("get_device", input).get_device()


def is_storage(obj: Any) -> bool:
    """False: this library has no storage objects apart from tensors."""
    return False


def is_distributed(input: Tensor) -> bool:
    """False: tensors are never split over processes."""
    _tensor("is_distributed", input)
    return False


# ------------------------------------------------------------------- nonzero_static -------
def nonzero_static(input: Tensor, *, size: int, fill_value: int = -1) -> Tensor:
    """The (size, ndim) int64 indices of the nonzero elements in row-major order, the first
    ``size`` of them, padded with rows of ``fill_value`` when there are fewer. No gradient."""
    who = "nonzero_static"
    x = _tensor(who, input)
    n, fill = _int(who, "size", size), _int(who, "fill_value", fill_value)
    if n < 0:
        raise ArgumentError(f"{who}: size must be a non-negative int, got {n}")
    found = np.argwhere(x.data)[:n].astype(np.int64)
    out = np.full((n, x.data.ndim), fill, np.int64)
    out[:len(found)] = found
    return make(out, None, (), None, False)


# ---------------------------------------------------------------- strided constructors ----
def _leaf(who: str, arr: np.ndarray, requires_grad: bool) -> Tensor:
    t = make(arr, None, (), None, False)
    if check_bool(who, "requires_grad", requires_grad):
        t.requires_grad_(True)
    return t


def _layout(who: str, given: Any) -> None:
    if given is not None and given is not strided and str(given) != "torch.strided":
        raise ArgumentError(f"{who}: only the strided layout is supported, got {given!r}")


def _factory_dtype(who: str, device: Any, layout: Any, dtype: Any) -> np.dtype:
    """The dtype of a new tensor after a factory's device and layout checks."""
    factories.check_device(who, device)
    _layout(who, layout)
    return factories.as_dtype(who, factories.get_default_dtype() if dtype is None else dtype)


def empty_strided(size: Sequence[int], stride: Sequence[int], *, dtype: Any = None, layout: Any = None,
                  device: Any = None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A tensor of shape ``size`` whose elements are ``stride`` elements apart along each axis
    (``t.stride() == stride``), on new memory holding zeros (torch leaves it uninitialised)."""
    who = "empty_strided"
    dt = _factory_dtype(who, device, layout, dtype)
    size, stride = _ints(who, "size", size), _ints(who, "stride", stride)
    if len(size) != len(stride):
        raise ArgumentError(f"{who}: size {size} and stride {stride} differ in length")
    if any(n < 0 for n in size) or any(s < 0 for s in stride):
        raise ArgumentError(f"{who}: sizes and strides must be >= 0, got size {size} and stride {stride}")
    need = 0 if 0 in size else 1 + sum((n - 1) * s for n, s in zip(size, stride))
    buf = np.zeros(need, dt)
    arr = np.lib.stride_tricks.as_strided(buf, size, tuple(s * dt.itemsize for s in stride))
    return _leaf(who, arr, requires_grad)


def empty_permuted(size: Sequence[int], physical_layout: Sequence[int], *, dtype: Any = None,
                   layout: Any = None, device: Any = None, requires_grad: bool = False,
                   pin_memory: bool = False) -> Tensor:
    """A tensor of shape ``size`` laid out in memory with its axes in the order
    ``physical_layout`` (outermost first): ``empty(size[p] for p in physical_layout)``
    permuted back to ``size``. Holds zeros."""
    who = "empty_permuted"
    dt = _factory_dtype(who, device, layout, dtype)
    size, perm = _ints(who, "size", size), _ints(who, "physical_layout", physical_layout)
    if len(size) != len(perm):
        raise ArgumentError(f"{who}: size {size} and physical_layout {perm} differ in length")
    if sorted(perm) != list(range(len(size))):
        raise ArgumentError(f"{who}: physical_layout {perm} must be a permutation of 0..{len(size) - 1} "
                            "(no repeats, no negative dims)")
    if any(n < 0 for n in size):
        raise ArgumentError(f"{who}: sizes must be >= 0, got {size}")
    arr = np.zeros(tuple(size[p] for p in perm), dt).transpose(np.argsort(perm))
    return _leaf(who, arr, requires_grad)


def new_empty_strided(t: Tensor, size: Sequence[int], stride: Sequence[int], dtype: Any = None,
                      device: Any = None, requires_grad: bool = False) -> Tensor:
    """``Tensor.new_empty_strided``: ``empty_strided`` with ``t``'s dtype unless given."""
    return empty_strided(size, stride, dtype=t.data.dtype if dtype is None else dtype, device=device,
                         requires_grad=requires_grad)


# -------------------------------------------------------------- Tensor method bodies ------
def dim_order(t: Tensor, ambiguity_check: bool = False) -> tuple:
    """The axes from outermost to innermost in memory: sorted by decreasing stride (a stable
    insertion sort, ties broken by the larger size; an axis of stride 0 is never moved past)."""
    check_bool("dim_order", "ambiguity_check", ambiguity_check)
    shape, st = t.data.shape, t.stride()
    if ambiguity_check and (1 in shape or 0 in st):
        raise RuntimeError(f"dim_order: the tensor of shape {shape} and stride {st} has no unique dim order")

    def after(a: int, b: int) -> int:  # > 0: axis a is inner to axis b
        if st[a] == 0 or st[b] == 0 or st[a] == st[b] and shape[a] <= shape[b]:
            return 0
        return 1 if st[a] > st[b] else -1

    perm = list(range(len(shape)))[::-1]  # innermost first
    for i in range(1, len(perm)):
        j = i
        for k in range(i - 1, -1, -1):
            c = after(perm[k], perm[j])
            if c > 0:
                perm[k], perm[j] = perm[j], perm[k]
                j = k
            elif c < 0:
                break
    return tuple(perm[::-1])


def resize(t: Tensor, shape: tuple, who: str = "resize_") -> Tensor:
    """``t`` takes the shape ``shape``: its first elements in row-major order are kept, new
    ones are zeros (torch leaves them uninitialised). Refused for a tensor that requires grad,
    as torch's. A shrink of contiguous data keeps sharing its memory."""
    if t.requires_grad:
        raise RuntimeError(f"{who}: cannot resize a tensor that requires grad")
    d = t.data
    n = math.prod(shape)
    if n <= d.size and d.flags.c_contiguous:
        new = d.reshape(-1)[:n].reshape(shape)
    else:
        new = np.zeros(n, d.dtype)
        m = min(n, d.size)
        new[:m] = d.reshape(-1)[:m]
        new = new.reshape(shape)
    t.data = new
    return t


def resize_sizes(t: Tensor, sizes: tuple) -> Tensor:
    """``Tensor.resize_(*sizes)`` (sizes as ``resize_(2, 3)`` or ``resize_((2, 3))``)."""
    if not sizes:
        raise TypeError("resize_: missing the size")
    return resize(t, factories.size_arg("resize_", sizes))


def resize_as(t: Tensor, the_template: Any) -> Tensor:
    """``Tensor.resize_as_(other)``: ``resize_`` to ``other``'s shape."""
    return resize(t, tuple(_tensor("resize_as_", the_template, "the_template").shape), "resize_as_")


def new(t: Tensor, args: tuple, device: Any = None) -> Tensor:
    """torch's legacy ``Tensor.new``: ``t.new()`` an empty 1-D tensor, ``t.new(2, 3)`` or
    ``t.new(Size)`` a tensor of that shape (zeros here), ``t.new([1, 2])`` (a list, tuple or
    array) a copy of the data cast to ``t``'s dtype, ``t.new(other)`` ``other`` itself as a
    view (same dtype only); never requires grad (the alias of ``other`` follows ``other``)."""
    factories.check_device("new", device)
    dt = t.data.dtype
    if len(args) == 1 and isinstance(args[0], Tensor):
        other = args[0]
        if other.data.dtype != dt:
            raise TypeError(f"new: the tensor has dtype {other.data.dtype}, expected this tensor's dtype {dt}")
        return other.view(tuple(other.shape))
    from .size import Size
    if len(args) == 1 and isinstance(args[0], (list, tuple, np.ndarray)) and not isinstance(args[0], Size):
        return const(np.asarray(const(args[0], "new").data, dtype=dt))
    shape = factories.size_arg("new", args) if args else (0,)
    return make(np.zeros(shape, dt), None, (), None, False)


__all__ = ["pi", "e", "inf", "nan", "newaxis", "layout", "angle", "as_strided", "as_strided_scatter", "get_device",
           "is_storage", "is_distributed", "nonzero_static", "empty_strided", "empty_permuted"] + _COPIES
# (from_dlpack, to_dlpack and strided are attributes only, as torch's)
