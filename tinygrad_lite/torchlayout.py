"""More of torch's layout methods on ``Tensor`` (a mixin of ``Tensor``), each a composition
of differentiable layout ops (reshape, expand, repeat, transpose, indexing), so gradients
and per-sample rules are those ops':

* ``tile``, ``broadcast_to``, ``ravel``, ``rot90``, ``fliplr`` / ``flipud``, ``select``,
  ``narrow_copy``, ``diagflat``;
* ``tensor_split`` (n near-equal pieces, or pieces between given positions), ``hsplit`` /
  ``vsplit`` / ``dsplit``, ``split_with_sizes``;
* ``unfold(dimension, size, step)``: the sliding windows ``x[.., s*i : s*i + size, ..]`` of
  ``dimension`` stacked on it, each window's elements on a new last axis (a copy);
* index-valued (no gradient): ``argwhere``, ``unique_consecutive`` and ``unique(dim=...)``;
* ``diag_embed``, ``H`` / ``mH`` / ``adjoint`` (transposes: the tensors are real),
  ``unsafe_split`` / ``unsafe_chunk`` (``split`` / ``chunk``), ``is_same_size``, ``ndimension``.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from . import ops
from .conventions import ArgumentError, DtypeError, ShapeMismatchError, _int, _shape_arg, check_bool, check_dtype
from .ops import base
from .ops.base import _AxisError, allocating, axis_of
from .ops.layout import torch_view, unmark
from .torchkw import one_of

if TYPE_CHECKING:
    from .tensor import Tensor


def _along(ndim: int, axis: int, key: Any) -> tuple:
    return (slice(None),) * axis + (key,) + (slice(None),) * (ndim - axis - 1)


def _no_grad(out: Any, who: str, t: Any) -> Any:
    from .torchmore import _no_grad as ng
    return ng(out, who, t)


def _rows(d: np.ndarray, ax: int) -> np.ndarray:
    """The slices of ``d`` along ``ax`` as the rows of a 2-D array."""
    return np.moveaxis(d, ax, 0).reshape(d.shape[ax], int(np.prod(d.shape)) // max(d.shape[ax], 1))


def unique_along(t: Any, who: str, ax: int, consecutive: bool, return_inverse: bool, return_counts: bool) -> Any:
    """The distinct slices of ``t`` along ``ax`` (sorted lexicographically, or runs of equal
    neighbours with ``consecutive``), with the inverse (slice -> its representative) and the
    counts when asked; no gradient."""
    d = t.data
    if d.size == 0 and d.shape[ax] != 0:
        raise ArgumentError(f"{who}: the tensor of shape {d.shape} has an empty axis other than dim {ax}, so its "
                            "slices along dim cannot be compared")
    rows = _rows(d, ax)
    n = rows.shape[0]
    if consecutive:
        new = np.ones(n, bool)
        new[1:] = (rows[1:] != rows[:-1]).any(axis=1) if rows.shape[1] else False
        keep = np.flatnonzero(new)
        inv = np.cumsum(new) - 1
        counts = np.diff(np.append(keep, n))
        vals = np.take(d, keep, axis=ax)
    elif n == 0:
        vals, inv, counts = d, np.zeros(0, np.int64), np.zeros(0, np.int64)
    else:
        u, inv, counts = np.unique(rows, axis=0, return_inverse=True, return_counts=True)
        vals = np.moveaxis(u.reshape((-1,) + tuple(np.delete(d.shape, ax))), 0, ax)
    out = [_no_grad(np.ascontiguousarray(vals), who, t)]
    if return_inverse:
        out.append(_no_grad(np.asarray(inv, np.int64).reshape(-1), who, t))
    if return_counts:
        out.append(_no_grad(np.asarray(counts, np.int64), who, t))
    return out[0] if len(out) == 1 else tuple(out)


def refuse_copy(t: Any, shape: Any, who: str) -> None:
    """RuntimeError, as torch's ``view``, when ``t`` is a transposed, expanded or sliced view of a
    contiguous tensor whose elements cannot take ``shape`` without a copy (the result would not
    share memory with ``t``: writes into it would not reach ``t``). A shape that does not fit is
    left to ``reshape``'s own error; any other tensor is reshaped as it is."""
    d = t._data
    if d.flags.c_contiguous or not torch_view(d):
        return
    try:
        r = np.reshape(d, shape)
    except (ValueError, TypeError):
        return
    if d.size and not np.may_share_memory(r, d):
        steps = tuple(s // d.itemsize for s in d.strides)
        raise RuntimeError(f"{who}: shape {tuple(r.shape)} is not compatible with the tensor's shape {d.shape} and "
                           f"strides {steps} (its elements are not laid out in that order in memory); call "
                           ".contiguous() first, or use .reshape(...), which copies when it must")


class LayoutMethods:
    """Mixin of ``Tensor`` (see the module docstring)."""

    __slots__ = ()
    data: np.ndarray

    def view(self, *sizes: Any, size: Any = None, dtype: Any = None) -> "Tensor":
        """Same data in a new shape (one entry may be -1; torch's keyword ``size=`` too); given
        a dtype (``view(dtype)``), the same bytes read as that dtype, the last axis scaled by
        the ratio of the item sizes, without a gradient, as torch's ``view(dtype)``."""
        one = type(sizes[0]) if len(sizes) == 1 else None
        if dtype is None and one is not None and (issubclass(one, (np.dtype, type)) or
                                                  (one.__module__, one.__name__) == ("torch", "dtype")):
            sizes, dtype = (), sizes[0]
        if dtype is None:
            shape = _shape_arg(sizes, size)
            refuse_copy(self, shape, "view")
            return ops.RESHAPE(self, shape)
        if sizes or size is not None:
            raise TypeError(f"view: give either a shape or a dtype, not both (got {sizes or size!r} and {dtype!r})")
        dt = check_dtype("view", dtype)
        try:
            arr = self.data.view(dt)
        except ValueError as e:
            raise ValueError(f"view: a tensor of shape {self.data.shape} and dtype {self.data.dtype} cannot be "
                             f"viewed as {dt} ({e})") from None
        return _no_grad(arr, "view", self)

    @allocating("tile")
    def tile(self, *sizes: Any, dims: Any = None) -> "Tensor":
        """The tensor repeated ``dims[i]`` times along axis i; fewer dims than axes count from
        the last axis (the rest 1), more dims add leading axes (torch's ``tile``; its keyword
        ``dims=`` too)."""
        reps = _shape_arg(sizes, dims)
        for r in reps:
            _int("tile", "dims", r, 0)
        reps = (1,) * (self.data.ndim - len(reps)) + tuple(int(r) for r in reps)
        return self.repeat(*reps) if reps else ops.CLONE(self)  # type: ignore[attr-defined]

    def broadcast_to(self, *sizes: Any, size: Any = None) -> "Tensor":
        """``expand(size)``: a broadcast to ``size`` (-1 keeps an axis; torch's keyword
        ``size=`` too); the gradient sums over the copies."""
        try:
            return self.expand(*(sizes if size is None else sizes + (size,)))  # type: ignore[attr-defined]
        except (ValueError, TypeError) as e:  # (expand's refusal, told as broadcast_to's)
            raise type(e)(f"broadcast_to: {e}") from None

    def ravel(self) -> "Tensor":
        """The elements as one axis in row-major order."""
        return self.reshape(-1)  # type: ignore[attr-defined]

    def rot90(self, k: int = 1, dims: Any = (0, 1)) -> "Tensor":
        """Rotate by 90 degrees ``k`` times in the plane of ``dims``, from the first axis toward
        the second (flips and a transpose)."""
        k = _int("rot90", "k", k)
        if not isinstance(dims, (tuple, list)) or len(dims) != 2:
            raise ArgumentError(f"rot90: dims must be two axes, got {dims!r}")
        if self.data.ndim < 2:
            raise ShapeMismatchError(f"rot90: needs at least 2 axes, got shape {self.data.shape}")
        d0, d1 = (axis_of(self.data.ndim, d, "rot90") for d in dims)
        if d0 == d1:
            raise ArgumentError(f"rot90: the two axes of dims must differ, got {dims!r}")
        k %= 4
        if k == 0:
            return ops.CLONE(self)
        if k == 2:
            return self.flip(d0, d1)  # type: ignore[attr-defined]
        return unmark(self.flip(d1 if k == 1 else d0).swapaxes(d0, d1))  # type: ignore[attr-defined]

    def fliplr(self) -> "Tensor":
        """The columns (axis 1) in reverse order; at least 2 axes."""
        if self.data.ndim < 2:
            raise base.ShapeMismatchError(f"fliplr: needs at least 2 axes, got shape {self.data.shape}")
        return self.flip(1)  # type: ignore[attr-defined]

    def flipud(self) -> "Tensor":
        """The rows (axis 0) in reverse order; at least 1 axis."""
        if self.data.ndim < 1:
            raise ValueError(f"flipud: needs at least 1 axis, got shape {self.data.shape}")
        return self.flip(0)  # type: ignore[attr-defined]

    def select(self, dim: int, index: int) -> "Tensor":
        """The slice at ``index`` along ``dim`` (that axis removed; negative counts from the end)."""
        if self.data.ndim == 0:
            raise ValueError("select: cannot select from a 0-d tensor")
        ax = axis_of(self.data.ndim, dim, "select")
        n = self.data.shape[ax]
        i = _int("select", "index", index)
        if not -n <= i < n:
            raise IndexError(f"select: index {i} is out of range for dim {ax} of size {n} (shape {self.data.shape})")
        return self[_along(self.data.ndim, ax, i % n)]  # type: ignore[index]

    def narrow_copy(self, dim: int, start: Any, length: int) -> "Tensor":
        """``narrow`` as a copy."""
        return ops.CLONE(self.narrow(dim, start, length))  # type: ignore[attr-defined]

    def diagflat(self, offset: int = 0) -> "Tensor":
        """The square matrix with the flattened tensor on diagonal ``offset``, 0 elsewhere."""
        return self.reshape(-1).diag(offset)  # type: ignore[attr-defined]

    # ------------------------------------------------------------ splits ---------------
    def tensor_split(self, indices_or_sections: Any = None, dim: int = 0, *, sections: Any = None,
                     indices: Any = None, tensor_indices_or_sections: Any = None) -> tuple:
        """An int n: n pieces along ``dim``, the first ``size % n`` one longer; a list of
        positions: the pieces between them (clipped to the axis, possibly empty). Views.
        torch's keywords ``sections=``, ``indices=``, ``tensor_indices_or_sections=`` too."""
        indices_or_sections = one_of("tensor_split", indices_or_sections=indices_or_sections, sections=sections,
                                     indices=indices, tensor_indices_or_sections=tensor_indices_or_sections)
        if self.data.ndim == 0:
            raise ShapeMismatchError("tensor_split: expects a tensor with at least 1 axis, got shape ()")
        ax = axis_of(self.data.ndim, dim, "tensor_split")
        n = self.data.shape[ax]
        s = indices_or_sections
        if isinstance(s, base.Tensor):
            if s.data.dtype.kind not in "iu" or s.data.ndim > 1:
                raise DtypeError(f"tensor_split: a tensor of sections or indices must be a 0-d or 1-D integer "
                                 f"tensor, got shape {s.data.shape} and dtype {s.data.dtype}")
            s = int(s.data) if s.data.ndim == 0 else s.data.tolist()
        if isinstance(s, (list, tuple)):
            cuts = [_int("tensor_split", "indices", i) for i in s]
            cuts = [min(max(c + n if c < 0 else c, 0), n) for c in cuts]
            bounds = list(zip([0] + cuts, cuts + [n]))
        else:
            k = _int("tensor_split", "sections", s)
            if k <= 0:
                raise ArgumentError(f"tensor_split: number of sections must be > 0, got {k}")
            sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
            ends = np.cumsum(sizes).tolist()
            bounds = list(zip([0] + ends[:-1], ends))
        nd = self.data.ndim
        return tuple(self[_along(nd, ax, slice(a, max(a, b)))] for a, b in bounds)  # type: ignore[index]

    def _split_at(self, who: str, ax: int, need: int, sections: Any) -> tuple:
        if self.data.ndim < need:
            raise ShapeMismatchError(f"{who}: needs at least {need} axes, got shape {self.data.shape}")
        if isinstance(sections, numbers.Integral) and not isinstance(sections, bool):
            n = self.data.shape[ax]
            if sections <= 0 or n % sections:
                raise ArgumentError(f"{who}: the size {n} of dim {ax} (shape {self.data.shape}) is not divisible by "
                                    f"{sections} sections")
        return self.tensor_split(sections, ax)

    def hsplit(self, sections: Any = None, *, indices: Any = None) -> tuple:
        """``tensor_split`` along axis 1 (axis 0 of a 1-D tensor); an int must divide the axis
        (``indices=``: torch's keyword for a list of positions)."""
        sections = one_of("hsplit", sections=sections, indices=indices)
        return self._split_at("hsplit", 0 if self.data.ndim == 1 else 1, 1, sections)

    def vsplit(self, sections: Any = None, *, indices: Any = None) -> tuple:
        """``tensor_split`` along axis 0 of a tensor of at least 2 axes (``indices=``: torch's
        keyword for a list of positions)."""
        sections = one_of("vsplit", sections=sections, indices=indices)
        return self._split_at("vsplit", 0, 2, sections)

    def dsplit(self, sections: Any = None, *, indices: Any = None) -> tuple:
        """``tensor_split`` along axis 2 of a tensor of at least 3 axes (``indices=``: torch's
        keyword for a list of positions)."""
        sections = one_of("dsplit", sections=sections, indices=indices)
        return self._split_at("dsplit", 2, 3, sections)

    def split_with_sizes(self, split_sizes: Any, dim: int = 0) -> tuple:
        """Pieces of the given sizes along ``dim`` (they must add up to the axis length)."""
        if not isinstance(split_sizes, (list, tuple)):
            raise TypeError(f"split_with_sizes: split_sizes must be a list of ints, got {split_sizes!r}")
        return self.split(list(split_sizes), dim)  # type: ignore[attr-defined]

    @allocating("unfold")
    def unfold(self, dimension: int, size: int, step: int) -> "Tensor":
        """The windows ``x[.., step*i : step*i + size, ..]`` along ``dimension`` (i = 0 ..
        (n - size) // step), stacked on that axis, each window on a new last axis (a copy;
        the gradient adds back over overlapping windows)."""
        size, step = _int("unfold", "size", size, 0), _int("unfold", "step", step, 1)
        if self.data.ndim == 0:
            axis_of(0, dimension, "unfold")
            if size > 1:
                raise ArgumentError(f"unfold: size {size} is larger than 1, the size of a 0-d tensor")
            return self.reshape(1)  # type: ignore[attr-defined]
        ax = axis_of(self.data.ndim, dimension, "unfold")
        n = self.data.shape[ax]
        if size > n:
            raise ArgumentError(f"unfold: size {size} is larger than {n}, the size of dim {ax} (shape "
                                f"{self.data.shape})")
        windows = (np.arange((n - size) // step + 1) * step)[:, None] + np.arange(size)
        return self[_along(self.data.ndim, ax, windows)].movedim(ax + 1, -1)  # type: ignore[index]

    # ------------------------------------------------------------ index-valued ---------
    def argwhere(self) -> "Tensor":
        """The indices of the non-zero entries, one row each (``nonzero()``)."""
        return self.nonzero()  # type: ignore[attr-defined]

    def unique_consecutive(self, return_inverse: bool = False, return_counts: bool = False,
                           dim: Optional[int] = None) -> Any:
        """The first element of each run of equal neighbours (of the flattened tensor, or of
        the slices along ``dim``); with ``return_inverse`` each element's run, with
        ``return_counts`` the run lengths. No gradient."""
        check_bool("unique_consecutive", "return_inverse", return_inverse)
        check_bool("unique_consecutive", "return_counts", return_counts)
        if dim is None:
            out = unique_along(self.reshape(-1), "unique_consecutive", 0, True, return_inverse,  # type: ignore
                               return_counts)
            if return_inverse:
                out = list(out)
                out[1] = _no_grad(out[1].data.reshape(self.data.shape), "unique_consecutive", self)
                out = tuple(out)
            return out
        ax = axis_of(self.data.ndim, dim, "unique_consecutive")
        if not self.data.ndim:  # a 0-d tensor has no dim to take slices along, as torch
            raise _AxisError(f"unique_consecutive: dim {dim} was given, but the tensor is 0-d (it has no dimensions)")
        return unique_along(self, "unique_consecutive", ax, True, return_inverse, return_counts)

    # ------------------------------------------------------------ matrices -------------
    def diag_embed(self, offset: int = 0, dim1: int = -2, dim2: int = -1) -> "Tensor":
        """Each vector along the last axis on diagonal ``offset`` of a square matrix whose axes
        are ``dim1`` (rows) and ``dim2`` (columns) of the result (one axis more); 0 elsewhere."""
        offset = _int("diag_embed", "offset", offset)
        nd = self.data.ndim + 1
        d1, d2 = axis_of(nd, dim1, "diag_embed"), axis_of(nd, dim2, "diag_embed")
        if d1 == d2 or self.data.ndim == 0:
            raise ValueError(f"diag_embed: dim1 and dim2 must name two axes of the result, got {dim1} and {dim2} "
                             f"(tensor shape {self.data.shape})")
        return ops.DIAG(self, offset=offset).movedim((-2, -1), (d1, d2))  # type: ignore[attr-defined]

    def _matrix_t(self, who: str, only_2d: bool) -> "Tensor":
        nd = self.data.ndim
        if nd == 0:
            return self  # type: ignore[return-value]
        if nd < 2 or (only_2d and nd != 2):
            raise ValueError(f"{who}: expects a matrix{'' if only_2d else ' or a batch of matrices'}, got shape "
                             f"{self.data.shape}")
        return self.swapaxes(-2, -1)  # type: ignore[attr-defined]

    @property
    def H(self) -> "Tensor":
        """The transpose of a matrix (real tensors: the conjugate transpose)."""
        return self._matrix_t("H", True)

    @property
    def mH(self) -> "Tensor":
        """The last two axes swapped (real tensors: the conjugate transpose of each matrix)."""
        return self._matrix_t("mH", False)

    def adjoint(self) -> "Tensor":
        """``mH``."""
        return self._matrix_t("adjoint", False)

    def unsafe_split(self, split_size: Any, dim: int = 0) -> tuple:
        """``split`` (pieces here are never views that could be resized)."""
        return self.split(split_size, dim)  # type: ignore[attr-defined]

    def unsafe_chunk(self, chunks: int, dim: int = 0) -> tuple:
        """``chunk``."""
        return self.chunk(chunks, dim)  # type: ignore[attr-defined]

    def is_same_size(self, other: Any) -> bool:
        """Whether ``other`` (a Tensor) has this shape."""
        if not isinstance(other, base.Tensor):
            raise TypeError(f"is_same_size: other must be a Tensor, got {type(other).__name__}")
        return self.data.shape == other.data.shape

    def ndimension(self) -> int:
        """The number of axes (``ndim``)."""
        return self.data.ndim
