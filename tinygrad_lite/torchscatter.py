"""torch's scatter / gather family as ``Tensor`` methods (a mixin of ``Tensor``).

* ``scatter(dim, index, src | value, reduce=None)``, ``scatter_add``, ``scatter_reduce``
  (sum, prod, mean, amax, amin; ``include_self``): the ops of ``ops.scatter`` (gradients in
  its docstring); ``index`` has the tensor's rank, is no larger than ``src`` anywhere and
  no larger than the tensor off ``dim``, and holds positions in ``[0, size(dim))``;
* ``take_along_dim`` (``gather`` after broadcasting off ``dim``), ``take`` (the flattened
  tensor read at ``index``), ``put`` (``scatter`` into the flattened tensor);
* ``index_put(indices, values, accumulate)``: ``out[indices] = values`` (or ``+=``);
  ``index_reduce``: ``scatter_reduce`` by slices along ``dim``; ``masked_scatter``: the
  source's first elements, in order, where ``mask`` holds;
* ``select_scatter``, ``slice_scatter``, ``diagonal_scatter``: ``src`` written in place of
  ``select``, a slice or ``diagonal`` of a copy.

The in-place forms (``scatter_``, ...) compute the same values and store them (refused
inside a recorded graph, as every in-place write here). Bad input raises naming the method
and the shapes, before anything is computed or written.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from . import batchstate, ops
from .batchstate import BATCHED
from .conventions import ArgumentError, DtypeError, IndexRangeError, ShapeMismatchError, _int
from .ops import base
from .ops.base import axis_of, broadcasts_to, make
from .ops.layout import index_keeps_rows, indexed, normalise_index
from .ops.scatter import INDEXPUT, SCATTER, SCATTERADD, SCATTERREDUCE
from .torchextra import bool_mask

if TYPE_CHECKING:
    from .tensor import Tensor

_REDUCES = ("sum", "prod", "mean", "amax", "amin")


def _ints(who: str, index: Any) -> np.ndarray:
    """``index`` (a Tensor or array-like) as an integer numpy array."""
    idx = np.asarray(index.data if isinstance(index, base.Tensor) else index)
    if idx.dtype.kind not in "iu":
        raise DtypeError(f"{who}: index must be an integer tensor, got dtype {idx.dtype} (shape {idx.shape})")
    return idx.astype(np.int64, copy=False)


def _in_range(who: str, idx: np.ndarray, n: int, what: str, negative: bool = False) -> np.ndarray:
    """``idx`` checked to lie in ``[0, n)`` (``[-n, n)`` with ``negative``, then wrapped)."""
    lo = -n if negative else 0
    if idx.size and (idx.min() < lo or idx.max() >= n):
        bad = idx[(idx < lo) | (idx >= n)].reshape(-1)[0]
        raise IndexRangeError(f"{who}: index {bad} is out of range [{lo}, {n}) for {what}")
    return idx % n if negative and n and idx.size and idx.min() < 0 else idx


def _same_dtype(who: str, t: Any, src: Any, what: str = "src") -> None:
    if src.data.dtype != t.data.dtype:
        raise DtypeError(f"{who}: {what} of dtype {src.data.dtype} must have the tensor's dtype {t.data.dtype}")


def _scatter_checks(who: str, t: Any, dim: Any, index: Any, src: Optional[Any]) -> tuple:
    """(axis, index array) checked by torch's rules for scatter / scatter_add / scatter_reduce."""
    shape = t.data.shape
    ax = axis_of(max(t.data.ndim, 1), dim, who)
    idx = _ints(who, index)
    if idx.ndim != len(shape):
        raise ShapeMismatchError(f"{who}: index of shape {idx.shape} must have as many axes as the tensor of "
                                 f"shape {shape}")
    if any(i != ax and m > n for i, (m, n) in enumerate(zip(idx.shape, shape))):
        raise ShapeMismatchError(f"{who}: index of shape {idx.shape} is larger than the tensor of shape {shape} "
                                 f"off dim {ax}")
    if src is not None:
        s = src.data.shape
        if len(s) != len(shape) or any(m > n for m, n in zip(idx.shape, s)):
            raise ShapeMismatchError(f"{who}: index of shape {idx.shape} must be no larger than src of shape "
                                     f"{s} (with the tensor's {len(shape)} axes)")
        _same_dtype(who, t, src)
    return ax, _in_range(who, idx, shape[ax] if shape else 1, f"dim {ax} of the tensor of shape {shape}")


def _operand(x: Any, who: str) -> Any:
    """A Tensor operand of ``who`` (a number or an array as a constant); else a TypeError naming ``who``."""
    if isinstance(x, base.Tensor):
        return x
    try:
        return base.const(x)
    except TypeError as e:
        raise TypeError(f"{who}: {e}") from None


def _like(index: Any, arr: np.ndarray) -> Any:
    """``arr`` (positions made from ``index``) carrying ``index``'s batch state when ``index``
    is a Tensor that has one, so selecting by a per-sample or mixed index is tracked."""
    bs = getattr(index, "_bs", 0)
    if not bs:
        return arr
    return make(arr, None, (), None, False, bs, getattr(index, "_mix", None))


class ScatterMethods:
    """Mixin of ``Tensor`` (see the module docstring)."""

    __slots__ = ()
    data: np.ndarray

    # ------------------------------------------------------------ scatter --------------
    def _scatter(self, who: str, op: Any, dim: Any, index: Any, src: Any, **params: Any) -> "Tensor":
        s = _operand(src, who)
        ax, idx = _scatter_checks(who, self, dim, index, s)
        if self.data.ndim == 0:  # a 0-d tensor acts as one of shape (1,)
            one = self.reshape(1)  # type: ignore[attr-defined]
            return op(one, s.reshape(1), index, 0, idx.reshape(1), **params).reshape(())
        return op(self, s, index, ax, idx, **params)

    def scatter(self, dim: int, index: Any, src: Any = None, *, value: Any = None,
                reduce: Optional[str] = None) -> "Tensor":
        """``out[.., index[i], ..] = src[i]`` along ``dim`` (``src``: a tensor, or a number
        ``value`` written everywhere the index points); ``reduce='add'`` / ``'multiply'`` (torch's
        older spelling) adds / multiplies instead (as ``scatter_reduce`` sum / prod)."""
        if (src is None) == (value is None):
            raise TypeError("scatter: give exactly one of src (a tensor) and value (a number)")
        if src is not None and not isinstance(src, (base.Tensor, np.ndarray)):
            src, value = None, src
        if value is not None:
            if isinstance(value, base.Tensor) and value.data.ndim == 0:
                value = value.item()  # type: ignore[attr-defined]
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
                raise TypeError(f"scatter: value must be a real number, got {value!r}")
            src = base.const(np.full(_ints("scatter", index).shape, value, dtype=self.data.dtype))
        if reduce is None:
            return self._scatter("scatter", SCATTER, dim, index, src)
        if reduce not in ("add", "multiply"):
            raise ArgumentError(f"scatter: reduce must be 'add' or 'multiply', got {reduce!r}")
        return self._scatter("scatter", SCATTERREDUCE, dim, index, src,
                             reduce="sum" if reduce == "add" else "prod", include_self=True)

    def scatter_add(self, dim: int, index: Any, src: Any) -> "Tensor":
        """This tensor plus ``src[i]`` added at ``index[i]`` along ``dim`` (repeats add)."""
        return self._scatter("scatter_add", SCATTERADD, dim, index, src, reduce="sum", include_self=True)

    def scatter_reduce(self, dim: int, index: Any, src: Any, reduce: str, *, include_self: bool = True) -> "Tensor":
        """Each position reduces its own value (with ``include_self``) and the ``src`` values
        scattered to it by ``reduce`` in sum, prod, mean, amax, amin."""
        if reduce not in _REDUCES:
            raise ArgumentError(f"scatter_reduce: reduce must be one of {', '.join(_REDUCES)}, got {reduce!r}")
        return self._scatter("scatter_reduce", SCATTERREDUCE, dim, index, src, reduce=reduce,
                             include_self=bool(include_self))

    def scatter_(self, dim: int, index: Any, src: Any = None, *, value: Any = None,
                 reduce: Optional[str] = None) -> "Tensor":
        """``scatter`` in place."""
        return self._update("scatter_", src, lambda x, s: x.scatter(dim, index, s, value=value,  # type: ignore
                                                                    reduce=reduce))

    def scatter_add_(self, dim: int, index: Any, src: Any) -> "Tensor":
        """``scatter_add`` in place."""
        return self._update("scatter_add_", src, lambda x, s: x.scatter_add(dim, index, s))  # type: ignore

    def scatter_reduce_(self, dim: int, index: Any, src: Any, reduce: str, *, include_self: bool = True) -> "Tensor":
        """``scatter_reduce`` in place."""
        return self._update("scatter_reduce_", src,  # type: ignore[attr-defined]
                            lambda x, s: x.scatter_reduce(dim, index, s, reduce, include_self=include_self))

    # ------------------------------------------------------------ take, put ------------
    def take_along_dim(self, indices: Any, dim: Optional[int] = None) -> "Tensor":
        """``gather`` along ``dim`` after broadcasting this tensor and ``indices`` together off
        ``dim`` (negative positions count from the end); without ``dim`` the flattened tensor
        read at the flattened indices."""
        idx = _ints("take_along_dim", indices)
        if dim is None:
            flat = self.reshape(-1)  # type: ignore[attr-defined]
            return flat.take_along_dim(_like(indices, idx.reshape(-1)), 0)
        shape = self.data.shape
        if idx.ndim != len(shape) or not shape:
            raise ShapeMismatchError(f"take_along_dim: indices of shape {idx.shape} must have as many axes as "
                                     f"the tensor of shape {shape} (at least one)")
        ax = axis_of(len(shape), dim, "take_along_dim")
        try:
            b = list(np.broadcast_shapes(shape[:ax] + (1,) + shape[ax + 1:],
                                         idx.shape[:ax] + (1,) + idx.shape[ax + 1:]))
        except ValueError:
            raise ShapeMismatchError(f"take_along_dim: indices of shape {idx.shape} and the tensor of shape "
                                     f"{shape} do not broadcast off dim {ax}") from None
        idx = _in_range("take_along_dim", idx, shape[ax], f"dim {ax} of the tensor of shape {shape}", True)
        x = self if shape[:ax] + shape[ax + 1:] == tuple(b[:ax] + b[ax + 1:]) else ops.EXPAND(
            self, tuple(b[:ax]) + (shape[ax],) + tuple(b[ax + 1:]))
        b[ax] = idx.shape[ax]
        return ops.GATHER(x, ax, _like(indices, np.broadcast_to(idx, tuple(b))))

    def take(self, index: Any) -> "Tensor":
        """The flattened tensor read at ``index`` (any shape, negative positions from the end);
        the result has ``index``'s shape and the gradient adds back at the positions."""
        idx = _ints("take", index)
        n = self.data.size
        idx = _in_range("take", idx, n, f"the flattened tensor of shape {self.data.shape}", True)
        return self.reshape(-1)[_like(index, idx)]  # type: ignore[attr-defined,index]

    def put(self, index: Any, source: Any, accumulate: bool = False) -> "Tensor":
        """The flattened tensor with ``source``'s elements written (added with ``accumulate``)
        at ``index`` (negative positions from the end), back in this shape."""
        idx = _ints("put", index).reshape(-1)
        src = _operand(source, "put")
        if src.data.size != idx.size:
            raise ValueError(f"put: source of shape {src.data.shape} must have as many elements as index "
                             f"({idx.size})")
        _same_dtype("put", self, src, "source")
        idx = _in_range("put", idx, self.data.size, f"the flattened tensor of shape {self.data.shape}", True)
        flat = self.reshape(-1)  # type: ignore[attr-defined]
        op = SCATTERADD if accumulate else SCATTER
        kw = {"reduce": "sum", "include_self": True} if accumulate else {}
        return op(flat, src.reshape(-1), index, 0, idx, **kw).reshape(self.data.shape)

    def put_(self, index: Any, source: Any, accumulate: bool = False) -> "Tensor":
        """``put`` in place."""
        return self._update("put_", source, lambda x, s: x.put(index, s, accumulate))  # type: ignore

    # ------------------------------------------------------------ index_put, index_reduce
    def index_put(self, indices: Any, values: Any, accumulate: bool = False) -> "Tensor":
        """``out[indices] = values`` (``+=`` with ``accumulate``, repeats then add) on a copy;
        ``indices``: a tuple of integer or bool tensors, ``values`` broadcast to the indexed
        part and of this tensor's dtype."""
        if not isinstance(indices, (tuple, list)):
            raise TypeError(f"index_put: indices must be a tuple of tensors, got {type(indices).__name__}")
        parts = tuple(i if isinstance(i, base.Tensor) else base.const(np.asarray(i)) for i in indices)
        for i in parts:
            if i.data.dtype.kind not in "biu":
                raise TypeError(f"index_put: indices must be integer or bool tensors, got dtype {i.data.dtype}")
        v = _operand(values, "index_put")
        _same_dtype("index_put", self, v, "values")
        key, _ = normalise_index(parts, self.data.shape, "index_put")
        target = np.shape(indexed(self.data, key, "index_put", key))
        if not broadcasts_to(v.data.shape, target):
            raise ShapeMismatchError(f"index_put: values of shape {v.data.shape} do not broadcast to the "
                                     f"indexed part of shape {target} (tensor shape {self.data.shape})")
        keeps = bool(self.data.ndim) and index_keeps_rows(key, self.data.shape)
        return INDEXPUT(self, v, key, bool(accumulate), keeps, parts)

    def index_put_(self, indices: Any, values: Any, accumulate: bool = False) -> "Tensor":
        """``index_put`` in place."""
        return self._update("index_put_", values, lambda x, v: x.index_put(indices, v, accumulate))  # type: ignore

    def index_reduce(self, dim: int, index: Any, source: Any, reduce: str, *, include_self: bool = True) -> "Tensor":
        """Slice ``source[.., i, ..]`` reduced into slice ``index[i]`` along ``dim`` by ``reduce``
        in prod, mean, amax, amin (``scatter_reduce`` with the index spread over the slices)."""
        if reduce not in ("prod", "mean", "amax", "amin"):
            raise ArgumentError(f"index_reduce: reduce must be one of prod, mean, amax, amin, got {reduce!r}")
        shape = self.data.shape
        if not shape:
            raise ValueError("index_reduce: the tensor must have at least one axis, got shape ()")
        ax = axis_of(len(shape), dim, "index_reduce")
        idx = _ints("index_reduce", index)
        if idx.ndim > 1:
            raise TypeError(f"index_reduce: index must be a 0-d or 1-D integer tensor, got shape {idx.shape}")
        idx = idx.reshape(-1)
        src = _operand(source, "index_reduce")
        s = src.data.shape
        if len(s) != len(shape) or s[:ax] + s[ax + 1:] != shape[:ax] + shape[ax + 1:] or s[ax] != idx.size:
            raise ShapeMismatchError(f"index_reduce: source of shape {s} must have the shape {shape} of the "
                                     f"tensor except along dim {ax}, where it needs len(index) = {idx.size}")
        _same_dtype("index_reduce", self, src, "source")
        idx = _in_range("index_reduce", idx, shape[ax], f"dim {ax} of the tensor of shape {shape}")
        full = np.broadcast_to(idx.reshape((-1,) + (1,) * (len(shape) - ax - 1)), s)
        return SCATTERREDUCE(self, src, index, ax, full, reduce=reduce, include_self=bool(include_self))

    def index_reduce_(self, dim: int, index: Any, source: Any, reduce: str, *, include_self: bool = True) -> "Tensor":
        """``index_reduce`` in place."""
        return self._update("index_reduce_", source,  # type: ignore[attr-defined]
                            lambda x, s: x.index_reduce(dim, index, s, reduce, include_self=include_self))

    # ------------------------------------------------------------ masked, *_scatter ----
    def masked_scatter(self, mask: Any, source: Any) -> "Tensor":
        """The first ``mask.sum()`` elements of ``source`` (in row-major order) where the bool
        ``mask`` (broadcast with this tensor) holds, this tensor elsewhere."""
        m, shape = bool_mask("masked_scatter", self, mask)
        src = _operand(source, "masked_scatter")
        _same_dtype("masked_scatter", self, src, "source")
        md = np.broadcast_to(m.data, shape)
        n = int(md.sum())
        if n > src.data.size:
            raise ShapeMismatchError(f"masked_scatter: the mask selects {n} elements but source of shape "
                                     f"{src.data.shape} has only {src.data.size}")
        x = self if self.data.shape == shape else ops.EXPAND(self, shape)
        if n == 0:
            return ops.CLONE(x)
        pos = np.where(md, np.cumsum(md.reshape(-1)).reshape(shape) - 1, 0)
        cond = np.array(md)  # (a copy of its own, 0-d kept)
        if (src.requires_grad or src._bs) and (self._bs | m._bs | src._bs) & BATCHED:  # type: ignore[attr-defined]
            why = "op 'masked_scatter' hands out the source's elements in row-major order across the sample axis"
            cond = make(cond, None, (), None, False, *batchstate.mixed(why, self, m, src))
        elif m._bs:
            cond = make(cond, None, (), None, False, m._bs, getattr(m, "_mix", None))
        return ops.WHERE(base.const(cond), src.reshape(-1)[pos], x)  # type: ignore[attr-defined]

    def masked_scatter_(self, mask: Any, source: Any) -> "Tensor":
        """``masked_scatter`` in place."""
        return self._update("masked_scatter_", source, lambda x, s: x.masked_scatter(mask, s))  # type: ignore

    def _put_part(self, who: str, src: Any, key: tuple, keeps_rows: bool) -> "Tensor":
        s = _operand(src, who)
        target = np.shape(self.data[key])
        if s.data.shape != target:
            raise ShapeMismatchError(f"{who}: src of shape {s.data.shape} must have the shape {target} of the part it "
                                     f"replaces (tensor shape {self.data.shape})")
        _same_dtype(who, self, s)
        return INDEXPUT(self, s, key, False, keeps_rows)

    def select_scatter(self, src: Any, dim: int, index: int) -> "Tensor":
        """A copy with ``src`` in place of ``select(dim, index)``."""
        shape = self.data.shape
        if not shape:
            raise ValueError("select_scatter: the tensor must have at least one axis, got shape ()")
        ax = axis_of(len(shape), dim, "select_scatter")
        i = _in_range("select_scatter", np.asarray(_int("select_scatter", "index", index)), shape[ax],
                      f"dim {ax} of shape {shape}", True)
        return self._put_part("select_scatter", src, (slice(None),) * ax + (int(i),), ax != 0)

    def slice_scatter(self, src: Any, dim: int = 0, start: Optional[int] = None, end: Optional[int] = None,
                      step: int = 1) -> "Tensor":
        """A copy with ``src`` in place of the slice ``start:end:step`` along ``dim``."""
        shape = self.data.shape
        if not shape:
            raise ValueError("slice_scatter: the tensor must have at least one axis, got shape ()")
        ax = axis_of(len(shape), dim, "slice_scatter")
        if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step <= 0:
            raise ArgumentError(f"slice_scatter: step must be an int > 0, got {step!r}")
        start, end = (None if v is None else _int("slice_scatter", name, v) for name, v in (("start", start),
                                                                                           ("end", end)))
        sl = slice(start, end, step)
        keeps = ax != 0 or sl.indices(shape[0]) == (0, shape[0], 1)
        return self._put_part("slice_scatter", src, (slice(None),) * ax + (sl,), keeps)

    def diagonal_scatter(self, src: Any, offset: int = 0, dim1: int = 0, dim2: int = 1) -> "Tensor":
        """A copy with ``src`` in place of ``diagonal(offset, dim1, dim2)`` (whose diagonal axis
        is the last one)."""
        shape = self.data.shape
        if len(shape) < 2:
            raise ValueError(f"diagonal_scatter: the tensor must have at least two axes, got shape {shape}")
        d1, d2 = axis_of(len(shape), dim1, "diagonal_scatter"), axis_of(len(shape), dim2, "diagonal_scatter")
        if d1 == d2:
            raise ArgumentError(f"diagonal_scatter: dim1 and dim2 must differ, got {dim1} and {dim2}")
        off = _int("diagonal_scatter", "offset", offset)
        moved = self.movedim((d1, d2), (-2, -1))  # type: ignore[attr-defined]
        r, c = shape[d1], shape[d2]
        n = max(0, min(r + min(off, 0), c - max(off, 0)))
        rows = np.arange(n) - min(off, 0)
        key = (Ellipsis, rows, rows + off)
        out = moved._put_part("diagonal_scatter", src, key, 0 not in (d1, d2))
        return out.movedim((-2, -1), (d1, d2))
