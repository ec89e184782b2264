"""PyTorch's spellings on Tensor: conversions, elementwise comparisons, ``size()``,
``len()`` and iteration, ``max(dim=)`` / ``min(dim=)`` as (values, indices), ``argmax`` /
``argmin``, and in-place arithmetic (``x -= lr * g`` under ``no_grad()``).

``Tensor`` inherits these from ``TorchSpellings``; they build no graph (comparisons and
indices carry no gradient; in-place arithmetic changes data, or falls back to the ops), so
they live apart from the differentiable ops. Also here: the small argument checks shared by
Tensor and the layers (``check_bool``, ``check_dtype``, ``checked_grad`` for ``t.grad = v``,
``check_leaves`` before a backward); ``ShapeMismatchError`` (a ValueError that is also
torch's RuntimeError) and its siblings ``ArgumentError``, ``IndexRangeError`` and ``DtypeError``
are re-exported from ``ops.base``, where they are defined so the ops raise them too. ``x in t``
(``__contains__``) and ``f"{t:.4f}"`` (``__format__`` of a 0-d tensor) follow torch.
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Any, NamedTuple, Optional, Union

import numpy as np

from . import ops as base_ops
from .batchstate import derived
from .formers import note_store, undo_for
from .graph import state, toposort
from .keptinputs import before_write
from .ops import base
from .ops.base import (  # (the error classes live with the ops, which raise them too)
    AmbiguousTruthError,
    ArgumentError,
    DtypeError,
    ShapeMismatchError,
    axes_of,
    axis_of,
    make,
    wrote,
)
from .ops.base import IndexRangeError as IndexRangeError  # (re-exported: torchscatter, torchstats)
from .size import Size
from .torchkw import one_of

if TYPE_CHECKING:
    from .tensor import Tensor


def check_bool(who: str, name: str, value: Any) -> bool:
    """``value`` if it is a bool (Python's or numpy's), else a TypeError naming ``name``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{who}: {name} must be a bool, got {value!r}")
    return bool(value)


def check_dtype(who: str, dtype: Any) -> np.dtype:
    """``dtype`` as a numpy dtype of bools, integers or floats (numpy's spellings, or a torch
    dtype such as ``torch.float32``), else a TypeError naming it."""
    given = dtype
    if type(dtype).__module__ == "torch" and str(dtype).startswith("torch."):
        dtype = str(dtype)[len("torch."):]  # torch.float32 -> "float32" (torch.float prints so too)
    try:
        dt = None if dtype is None else np.dtype(dtype)
    except (TypeError, ValueError):
        dt = None
    if dt is None or dt.kind not in "biuf":
        raise TypeError(f"{who}: dtype must be a bool, integer or float dtype, got {given!r}")
    return dt


def checked_grad(t: Any, value: Any) -> np.ndarray:
    """``value`` as ``t``'s gradient (``t.grad = value``): a numpy array (or Tensor) of ``t``'s
    shape, cast to its dtype; anything else raises at once, as torch does."""
    shape = t._data.shape
    if not isinstance(value, (np.ndarray, np.generic, base.Tensor)):
        raise TypeError(f"Tensor.grad: expected None or a numpy array of shape {shape}, got {type(value).__name__}")
    arr = np.asarray(value.data if isinstance(value, base.Tensor) else value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"Tensor.grad: expected None or a numeric array of shape {shape}, got "
                        f"{type(value).__name__} of dtype {arr.dtype}")
    if arr.shape != shape:
        raise ShapeMismatchError(f"Tensor.grad: the assigned gradient has shape {arr.shape} but the tensor has "
                                 f"shape {shape}")
    return arr if arr.dtype == t._data.dtype else arr.astype(t._data.dtype)


def check_leaves(order: list) -> None:
    """Before a backward writes anything: every leaf of ``order`` (the leaves come first)
    that requires grad holds floats (``requires_grad`` set by hand on an integer tensor)."""
    for leaf in order:
        if leaf._op is not None:
            break
        if leaf._data.dtype.kind != "f":
            raise DtypeError(f"backward: a leaf of dtype {leaf._data.dtype} and shape {leaf._data.shape} has "
                             "requires_grad=True; only floating-point tensors can require gradients")


_SYM_NAMES = ("add", "sub", "mul", "truediv", "pow", "floordiv", "mod", "and", "or", "xor", "lshift", "rshift")


def _in_place(name: str) -> Any:
    """``x op= other`` for the operator ``__<name>__``: ``TorchSpellings._inplace``."""
    def method(self: Any, other: Any) -> Any:
        return self._inplace(other, f"__{name}__")
    method.__name__ = method.__qualname__ = f"__i{name}__"
    return method


class MinMax(NamedTuple):
    """``x.max(dim=d)`` / ``x.min(dim=d)``: the values and the indices where they occur."""

    values: "Tensor"
    indices: "Tensor"


class TorchSpellings:
    """Mixin of ``Tensor`` (which provides ``data`` and ``_bs``)."""

    __slots__ = ()
    data: np.ndarray
    _bs: int

    def size(self, dim: Optional[int] = None) -> Any:
        """The shape as a ``tl.Size`` (a tuple, PyTorch's ``size()``), or the length of axis ``dim``."""
        if dim is None:
            return tuple.__new__(Size, self.data.shape)
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise TypeError(f"size: dim must be an int, got {dim!r}")
        if self.data.ndim == 0:
            raise IndexError(f"size: dimension {dim} is out of range for a 0-d tensor (it has no dimensions)")
        return self.data.shape[axis_of(self.data.ndim, dim, "size")]

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self) -> Any:
        """The sub-tensors along axis 0 (``self[0], self[1], ...``), as torch."""
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.data)))  # type: ignore[index]

    def numel(self) -> int:
        """The number of elements."""
        return int(self.data.size)

    def dim(self) -> int:
        return self.data.ndim

    def item(self) -> Union[float, int]:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise base.failed("item", ArgumentError(f"item: only one-element tensors can be converted, got shape "
                                                    f"{self.data.shape}"), (self,))
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def __format__(self, format_spec: str) -> str:
        """``f"{loss:.4f}"``: a 0-d tensor formats as its Python number (torch's rule); any
        other tensor takes only the empty spec (its repr), else Python's TypeError."""
        if self.data.ndim == 0:
            return format(self.data.item(), format_spec)
        return object.__format__(self, format_spec)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if not np.issubdtype(self.data.dtype, np.integer) and self.data.dtype.kind != "b":
            raise TypeError(f"only integer tensors can be used as an index, got dtype {self.data.dtype}")
        return int(self.item())

    def __bool__(self) -> bool:
        """The truth of a one-element tensor; any other size is ambiguous (an error)."""
        if self.data.size != 1:
            raise AmbiguousTruthError(f"the truth value of a tensor of shape {self.data.shape} is ambiguous "
                                      "(it needs exactly one element; use any() or all())")
        return bool(self.data)

    def __contains__(self, element: Any) -> bool:
        """``element in x``: whether any entry equals ``element`` (a number or a Tensor,
        compared elementwise with broadcasting), as torch; other objects are a DtypeError."""
        if isinstance(element, (bool, numbers.Number, np.generic, base.Tensor)) and not isinstance(element, complex):
            return bool((self == element).data.any())
        raise DtypeError(f"__contains__: `in` takes a number or a Tensor, got {type(element).__name__}")

    # comparisons give boolean tensors (no gradient), elementwise like PyTorch's
    def _compare(self, other: Any, fn: Any) -> "Tensor":
        if other is None or isinstance(other, (str, bytes)):
            if fn is np.equal or fn is np.not_equal:
                return NotImplemented  # Python then compares identities: False / True, as torch
            raise TypeError(f"{fn.__name__}: cannot compare a tensor with {type(other).__name__}")
        o = other.data if isinstance(other, base.Tensor) else base.const(other, fn.__name__).data
        try:
            out = np.asarray(fn(self.data, o))
        except ValueError:
            raise ValueError(f"{fn.__name__}: shapes {self.data.shape} and {np.shape(o)} are not "
                             "compatible") from None
        return make(out, None, (), None, False, *derived(fn.__name__, out.shape, self, other))

    def __eq__(self, other: Any) -> "Tensor":  # type: ignore[override]
        return self._compare(other, np.equal)

    def __ne__(self, other: Any) -> "Tensor":  # type: ignore[override]
        return self._compare(other, np.not_equal)

    def __lt__(self, other: Any) -> "Tensor":
        return self._compare(other, np.less)

    def __le__(self, other: Any) -> "Tensor":
        return self._compare(other, np.less_equal)

    def __gt__(self, other: Any) -> "Tensor":
        return self._compare(other, np.greater)

    def __ge__(self, other: Any) -> "Tensor":
        return self._compare(other, np.greater_equal)

    def eq(self, other: Any) -> "Tensor":
        """Elementwise ``==`` as a bool tensor (a non-numeric ``other`` is a TypeError here)."""
        out = self.__eq__(other)
        if out is NotImplemented:
            raise TypeError(f"eq: cannot compare a tensor with {type(other).__name__}")
        return out

    # in-place arithmetic and bit operations (``x += y``, ``m &= k``), as torch: the data changes in place (every
    # alias sees it); inside a graph the change is recorded as the method forms (add_, mul_, ...) record theirs
    # (``torchwrite``), with their refusals (a leaf that requires grad outside ``no_grad()``, a broadcast view, ...)
    def _inplace(self, other: Any, name: str) -> Any:
        out_of_place = getattr(type(self), name)
        rg = state.grad and (self.requires_grad or getattr(other, "requires_grad", False))
        if rg:
            return self._assign(f"{_SYM[name]}=", other, lambda x: out_of_place(x, other))  # type: ignore[attr-defined]
        return store(self, out_of_place(self, other).data, f"{_SYM[name]}=", "same_kind")

    __iadd__, __isub__, __imul__, __itruediv__, __ipow__, __ifloordiv__, __imod__, __iand__, __ior__, __ixor__, \
        __ilshift__, __irshift__ = (_in_place(n) for n in _SYM_NAMES)

    def permute(self, *axes: Any, dims: Any = None) -> "Tensor":
        """Permute the axes (PyTorch's name for ``transpose(*axes)`` with all axes; torch's
        keyword ``dims=`` takes them as one sequence)."""
        if dims is not None and axes:
            raise TypeError("permute: give the axes either positionally or as dims=, not both")
        axes = _shape_arg(axes if dims is None else (dims,))
        if len(axes) != self.data.ndim:
            raise ArgumentError(f"permute: axes {axes} are not a permutation of the {self.data.ndim} axes "
                                "(it needs one axis per dimension)")
        return base_ops.TRANSPOSE(self, axes)

    @property
    def mT(self) -> "Tensor":
        """The last two axes swapped (torch's ``mT``: a batch of matrices, each transposed);
        a tensor of fewer than 2 dimensions is refused (ValueError naming its shape)."""
        if self.data.ndim < 2:
            raise ShapeMismatchError(f"mT: needs a tensor of at least 2 dimensions, got shape {self.data.shape}")
        return self.swapaxes(-2, -1)

    def swapaxes(self, axis0: Any = None, axis1: Any = None, *, dim0: Any = None, dim1: Any = None) -> "Tensor":
        """Swap two axes (numpy's ``swapaxes``; torch's ``transpose(dim0, dim1)``, whose keywords
        ``dim0``/``dim1`` are accepted too, as in torch's ``swapdims``)."""
        axis0, axis1 = one_of("swapaxes", axis0=axis0, dim0=dim0), one_of("swapaxes", axis1=axis1, dim1=dim1)
        perm = list(range(self.data.ndim))
        try:
            perm[axis0], perm[axis1] = perm[axis1], perm[axis0]
        except (IndexError, TypeError):
            raise base._AxisError(f"swapaxes: axes {axis0} and {axis1} do not fit a tensor of shape "
                                  f"{self.data.shape}") from None
        return base_ops.TRANSPOSE(self, tuple(perm))

    swapdims = swapaxes

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> "Tensor":
        """Merge the axes ``start_dim..end_dim`` into one (PyTorch's ``flatten``)."""
        n = self.data.ndim
        if n == 0:
            axis_of(0, start_dim, "flatten"), axis_of(0, end_dim, "flatten")  # 0 or -1, as torch
            return base_ops.RESHAPE(self, (1,))
        s, e = axis_of(n, start_dim, "flatten"), axis_of(n, end_dim, "flatten")
        if s > e:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        shp = self.data.shape
        return base_ops.RESHAPE(self, shp[:s] + (math.prod(shp[s:e + 1]),) + shp[e + 1:])

    def float(self) -> "Tensor":
        return self.astype(np.float32)

    def double(self) -> "Tensor":
        return self.astype(np.float64)

    def _extremum(self, axis: Any, keepdims: bool, dim: Any, keepdim: Optional[bool], argfn: Any, op: Any,
                  other: Any = None) -> Any:
        """``max`` / ``min``: numpy's reduction over ``axis``, or with torch's keywords (``dim=``,
        or an int axis with ``keepdim=``) torch's ``(values, indices)``; a Tensor in place of
        the axis (or ``other=``) is torch's ``x.max(other)``, the elementwise ``maximum`` (``minimum``)."""
        if other is not None:  # (alone: neither an axis nor a dim with it)
            axis = one_of(op.name, dim=axis if dim is None else dim, other=other)
        if isinstance(axis, base.Tensor) and dim is None and keepdim is None:
            return self.maximum(axis) if argfn is np.argmax else self.minimum(axis)
        if dim is not None:
            return self._minmax(dim, keepdims if keepdim is None else keepdim, axis, argfn, op)
        if keepdim is not None and isinstance(axis, (int, np.integer)):  # torch's spelling throughout
            return self._minmax(axis, keepdim, None, argfn, op)
        axis, keepdims = _torch_axis(axis, keepdims, None, keepdim)
        return op(self, axis, keepdims)

    def _minmax(self, dim: Any, keepdim: bool, axis: Any, argfn: Any, op: Any) -> MinMax:
        if axis is not None:
            raise TypeError("give either axis or dim, not both")
        if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
            raise TypeError(f"max/min: dim must be an int, got {dim!r}")
        keepdim = check_bool(op.name, "keepdims", keepdim)  # (the reduction's own message)
        ax = axes_of(self.data.ndim, dim, op.name)
        plain = not ax or not self.requires_grad or self.data.shape[ax[0]] == 0  # (op raises on an empty axis)
        values = op(self, dim, keepdim) if plain else None
        idx = np.asarray(argfn(self.data, axis=ax[0] if ax else None, keepdims=bool(keepdim)))
        if values is None:  # the gradient goes to the returned index alone (ties included), as torch's
            kept = idx if keepdim else np.expand_dims(idx, ax[0])
            values = base_ops.RESHAPE(base_ops.GATHER(self, ax[0], kept), idx.shape)
        return MinMax(values, make(idx.astype(np.int64), None, (), None, False, *derived(op.name, None, values)))

    def argmax(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
               keepdim: Optional[bool] = None) -> "Tensor":
        """Index of the maximum (over the flattened tensor when ``axis`` is None)."""
        return self._arg(np.argmax, axis, keepdims, dim, keepdim)

    def argmin(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
               keepdim: Optional[bool] = None) -> "Tensor":
        """Index of the minimum (over the flattened tensor when ``axis`` is None)."""
        return self._arg(np.argmin, axis, keepdims, dim, keepdim)

    def _arg(self, fn: Any, axis: Any, keepdims: bool, dim: Any, keepdim: Optional[bool]) -> "Tensor":
        axis, keepdims = _torch_axis(axis, keepdims, dim, keepdim)
        axs = None if axis is None else axes_of(self.data.ndim, _one_axis(axis, fn.__name__), fn.__name__)
        ax = axs[0] if axs else None  # (a 0-d tensor: its one element, index 0)
        if self.data.size == 0 and (ax is None or self.data.shape[ax] == 0):
            from .ops.reduce import EmptyReductionError
            raise EmptyReductionError(f"{fn.__name__}: cannot reduce an empty axis of a tensor of shape "
                                      f"{self.data.shape}")
        out = np.asarray(fn(self.data, axis=ax, keepdims=keepdims)).astype(np.int64)
        return make(out, None, (), None, False, *derived(fn.__name__, None, self, over_samples=ax in (0, None)))



def check_fits(who: str, values: np.ndarray, d: np.ndarray, casting: str, grad: bool = False) -> None:
    """Refuse a result ``values`` that cannot be stored in place in the array ``d``: a shape that does not
    broadcast to ``d``'s (ValueError), a dtype numpy's ``casting`` rule does not allow, or a result with a
    gradient (``grad``) for an array that is not float (``DtypeError``: a TypeError, and torch's RuntimeError)."""
    try:
        fits = np.broadcast_shapes(values.shape, d.shape) == d.shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeMismatchError(f"{who}: the result has shape {values.shape}, which cannot be stored in place in "
                                 f"a tensor of shape {d.shape}")
    if not (np.can_cast(values.dtype, d.dtype, casting) or casting == "same_kind" and values.dtype.kind + d.dtype.kind
            in ("iu", "ui")) or (grad and d.dtype.kind != "f"):  # (signed <-> unsigned wraps, as torch's)
        raise DtypeError(f"{who}: a result of dtype {values.dtype} cannot be stored in place in a tensor of dtype "
                        f"{d.dtype}")


def store(t: Any, values: np.ndarray, who: str, casting: str) -> Any:
    """Write ``values`` (broadcast to ``t``'s shape, cast by numpy's ``casting`` rule) into
    ``t``'s data in place and give ``t`` a new version (a graph that used the old values then
    refuses to backward); every check comes before anything is written. Returns ``t``."""
    d = t.data
    check_fits(who, values, d, casting)
    if not d.flags.writeable:
        raise ValueError(f"{who}: this tensor's data is read-only (a broadcast view, or an array marked read-only)")
    before_write(t)  # kept gradients made from this memory are multiplied out first
    undo = undo_for(t)  # (the values it overwrites may be needed to rebuild a former node)
    np.copyto(d, values, casting="unsafe")  # (check_fits allowed the cast)
    t._v = wrote(d)  # (the tensors sharing this memory changed too)
    if undo is not None:
        note_store(undo, t._v)
    return t


_SYM = {"__add__": "+", "__sub__": "-", "__mul__": "*", "__truediv__": "/", "__pow__": "**", "__floordiv__": "//",
        "__mod__": "%", "__and__": "&", "__or__": "|", "__xor__": "^", "__lshift__": "<<", "__rshift__": ">>"}


def _shape_arg(shape: tuple, keyword: Any = None) -> tuple:
    """A shape or axes given as ``f(2, 3)``, ``f((2, 3))`` or torch's ``f(size=(2, 3))`` (``keyword``)."""
    shape = shape if keyword is None else shape + (keyword,)
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)


def _one_axis(axis: Any, who: str) -> Any:
    if isinstance(axis, (tuple, list)):
        raise TypeError(f"{who}: dim must be one int, got {axis!r}")
    return axis


def _torch_axis(axis: Any, keepdims: bool, dim: Any, keepdim: Optional[bool]) -> tuple:
    """Accept PyTorch's ``dim``/``keepdim`` spellings for numpy's ``axis``/``keepdims``."""
    if dim is not None:
        if axis is not None:
            raise TypeError("give either axis or dim, not both")
        axis = None if isinstance(dim, (tuple, list)) and not dim else dim  # torch: dim=() means every axis
    if keepdim is not None:
        keepdims = keepdim
    if not isinstance(keepdims, (bool, np.bool_)):
        raise TypeError(f"keepdims must be a bool, got {keepdims!r}")
    return axis, bool(keepdims)


def _positional(who: str, keep: tuple, keepdim: Optional[bool]) -> Optional[bool]:
    """torch's ``x.max(dim, keepdim)``: a second positional argument of ``max`` / ``min`` is
    torch's ``keepdim`` (numpy's methods take ``out`` there, which tensors do not have)."""
    if not keep:
        return keepdim
    if len(keep) > 1 or keepdim is not None:
        raise TypeError(f"{who}() takes (dim, keepdim) positionally, got {1 + len(keep)} positional arguments"
                        f"{' and keepdim=' if keepdim is not None else ''}")
    return keep[0]


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None, *, batched: bool = False,
           name: Optional[str] = None, device: Any = None) -> "Tensor":
    """A new Tensor from ``data`` (copied), like ``torch.tensor`` (``device``: only "cpu")."""
    from .factories import check_device

    check_device("tensor", device)
    return base.Tensor(data, requires_grad=requires_grad, batched=batched, name=name, dtype=dtype)


def _int(who: str, name: str, v: Any, low: Optional[int] = None) -> int:
    """``v`` as an int (an int or a 0-d integer Tensor, not a bool) within 64 bits and at
    least ``low``, else ``TypeError`` / ``ValueError`` naming ``who``."""
    if isinstance(v, base.Tensor) and v.data.ndim == 0 and v.data.dtype.kind in "iu":
        v = v.item()
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{who}: {name} must be an int, got {v!r}")
    if not -2**63 <= v < 2**63:
        raise ArgumentError(f"{who}: {name} {v} does not fit a 64-bit integer")
    if low is not None and v < low:
        raise ArgumentError(f"{who}: {name} must be >= {low}, got {v}")
    return int(v)


def _real(who: str, name: str, v: Any) -> float:
    """``v`` as a float: a real number (not a bool) or a one-element float Tensor, else
    ``TypeError`` naming ``who``."""
    if isinstance(v, base.Tensor) and v.data.size == 1 and v.data.dtype.kind in "iuf":
        v = v.item()
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError(f"{who}: {name} must be a number, got {v!r}")
    return float(v)


def _tensor_arg(who: str, x: Any, name: str = "input", optional: bool = False) -> Any:
    """``x`` when it is a Tensor (or None, if ``optional``), else ``TypeError`` naming ``who`` and ``name``."""
    if not isinstance(x, base.Tensor) and not (optional and x is None):
        raise TypeError(f"{who}: {name} must be a Tensor{' or None' if optional else ''}, got {type(x).__name__}")
    return x


def seed_of(t: Any, gradient: Any, where: str) -> np.ndarray:
    """The cotangent d(loss)/d(t) that starts a sweep from ``t``: ``gradient`` as an array of
    ``t``'s shape and dtype, or 1 for a one-element ``t`` when it is None."""
    if not t.requires_grad:
        raise RuntimeError(f"{where}: this tensor does not require grad and has no graph "
                           "(no input had requires_grad=True, or it was built under no_grad())")
    d = t._data
    if gradient is None:
        if d.size != 1:
            raise RuntimeError(f"{where}: gradient can be implicitly created only for one-element "
                               f"tensors; this one has shape {d.shape}, pass gradient=")
        return np.array(1, d.dtype) if d.ndim == 0 else np.ones(d.shape, d.dtype)
    gd = gradient.data if isinstance(gradient, base.Tensor) else gradient
    try:
        seed = np.asarray(gd)
        if seed.dtype.kind not in "biuf":
            raise TypeError
        seed = np.array(seed, dtype=d.dtype)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: gradient must be an array of shape {d.shape}, got {type(gd).__name__}") from None
    if seed.shape != d.shape:
        raise ShapeMismatchError(f"{where}: gradient has shape {seed.shape} but the tensor has shape {d.shape}")
    return seed


def checked_order(t: Any) -> list:
    """``t``'s graph in sweep order, refusing values changed in place since the forward pass
    (also through a view or a detach()) and integer leaves that require grad."""
    for attempt in range(3):
        try:
            order = toposort(t, versions=True)
            break
        except RuntimeError as e:  # (an op older than an in-place write of a value it read)
            if attempt == 2 or isinstance(e, base.OutputChanged) or not _repaired(t):
                raise
    check_leaves(order)
    if base._LAST_WRITE[0]:
        base.check_writes(order)
    return order


def _repaired(t: Any) -> bool:
    """Whether ops of ``t``'s graph that an in-place write left out of date were pointed at
    what they read: a view kept across a write through its owner at the owner's new values
    (``formers.refresh_views``), an op built before a write at the former node
    (``formers.reattach``)."""
    from .formers import reattach, refresh_views
    views = refresh_views(t)
    return reattach(t) or views


def check_flags(where: str, retain_graph: Any, create_graph: Any) -> bool:
    """``retain_graph`` is None or a bool (the graph lives while referenced); ``create_graph``
    a bool, returned (True: the gradients are recorded as a graph, see ``higher``)."""
    if retain_graph is not None:
        check_bool(where, "retain_graph", retain_graph)
    return create_graph is not False and check_bool(where, "create_graph", create_graph)
