"""torch's indexed writes along one axis, as ``Tensor`` methods (a mixin of ``Tensor``):
``index_fill``, ``index_add``, ``index_copy`` and their in-place forms (``index_fill_``, ...).

``index`` is a 0-d or 1-D integer tensor (or array) of positions along ``dim``; a 0-d
tensor acts as one of shape (1,). As in torch, ``index_fill`` takes negative positions,
``index_add`` and ``index_copy`` do not, and the source must have this tensor's dtype and
shape, with ``len(index)`` along ``dim``.

* ``index_fill(dim, index, value)``: ``value`` (a number or a 0-d tensor, whose gradient
  is the sum of the cotangent over the filled positions) at the positions; a ``where``;
* ``index_add(dim, index, source, alpha=1)`` and ``index_copy(dim, index, source)``: the ops
  of ``ops.indexing`` (gradients in their docstring).

The in-place forms compute the same values and store them (``store``: refused inside a
recorded graph, as every in-place write here).
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

from . import ops
from .intcast import int_fill
from .ops import base
from .ops.indexing import INDEXADD, INDEXCOPY

if TYPE_CHECKING:
    from .tensor import Tensor


def _positions(who: str, t: Any, dim: Any, index: Any, negative: bool) -> tuple:
    """(axis, index as a 1-D int64 array), checked as torch checks them."""
    from .torchextra import _axis
    ax = _axis(t, dim, who)
    idx = np.asarray(index.data if isinstance(index, base.Tensor) else index)
    if idx.dtype.kind not in "iu" or idx.ndim > 1:
        raise TypeError(f"{who}: index must be a 0-d or 1-D integer tensor, got shape {idx.shape} and dtype "
                        f"{idx.dtype}")
    idx = idx.reshape(-1).astype(np.int64)
    n = t.data.shape[ax]
    lo = -n if negative else 0
    if idx.size and (idx.min() < lo or idx.max() >= n):
        bad = idx[(idx < lo) | (idx >= n)][0]
        raise IndexError(f"{who}: index {bad} is out of range for dim {ax} of size {n} (shape {t.data.shape})")
    return ax, idx % n if negative and n else idx


def fill_value(who: str, value: Any, dtype: np.dtype) -> Any:
    """The value ``masked_fill`` / ``index_fill`` write, as a Tensor of ``dtype``: a 0-d Tensor
    cast to it (its gradient kept), or a number as a constant; an integer dtype takes torch's
    range rule (``IntOverflowError`` naming ``who`` for inf, nan, 1e30, ...)."""
    if isinstance(value, base.Tensor):
        if value.data.ndim:
            raise ValueError(f"{who}: value must be a number or a 0-d tensor, got shape {value.data.shape}")
        int_fill(who, value.data, dtype)
        return value.astype(dtype) if value.data.dtype != dtype else value  # type: ignore[attr-defined]
    return base.const(np.asarray(int_fill(who, value, dtype)).astype(dtype))


class IndexMethods:
    """Mixin of ``Tensor`` (see the module docstring)."""

    __slots__ = ()
    data: np.ndarray

    def _scalar_as_vector(self, who: str, dim: Any, index: Any, arg: Any, **kw: Any) -> Any:
        """A 0-d tensor acts as one of shape (1,) (its source likewise); the result is 0-d again."""
        if who != "index_fill" and np.ndim(arg.data if isinstance(arg, base.Tensor) else arg) == 0:
            arg = base.const(arg).reshape(1)
        return getattr(self.reshape(1), who)(dim, index, arg, **kw).reshape(())  # type: ignore[attr-defined]

    def index_fill(self, dim: int, index: Any, value: Any) -> "Tensor":
        """This tensor with ``value`` at ``index`` along ``dim`` (negative positions count
        from the end); the gradient reaches this tensor elsewhere and ``value`` from there."""
        if self.data.ndim == 0:
            return self._scalar_as_vector("index_fill", dim, index, value)
        ax, idx = _positions("index_fill", self, dim, index, True)
        if not isinstance(value, base.Tensor) and (not isinstance(value, numbers.Number) or isinstance(value, complex)):
            raise TypeError(f"index_fill: value must be a number or a 0-d tensor, got {type(value).__name__}")
        v = fill_value("index_fill", value, self.data.dtype)
        mask = np.zeros(self.data.shape[ax], bool)
        mask[idx] = True
        mask = mask.reshape((-1,) + (1,) * (self.data.ndim - ax - 1))
        return ops.WHERE(base.const(mask), v, self)

    def _put(self, who: str, op: Any, dim: Any, index: Any, source: Any, alpha: Any = 1) -> "Tensor":
        if self.data.ndim == 0:
            return self._scalar_as_vector(who, dim, index, source, **({"alpha": alpha} if who == "index_add" else {}))
        ax, idx = _positions(who, self, dim, index, False)
        src = base.const(source)
        s, d = src.data.shape, self.data.shape
        if src.data.dtype != self.data.dtype:
            raise TypeError(f"{who}: source of dtype {src.data.dtype} must have this tensor's dtype {self.data.dtype}")
        if len(s) != len(d) or s[:ax] + s[ax + 1:] != d[:ax] + d[ax + 1:] or s[ax] != idx.size:
            raise base.ShapeMismatchError(f"{who}: source of shape {s} must have the shape {d} of the tensor except "
                                          f"along dim {ax}, where it needs len(index) = {idx.size}")
        if isinstance(alpha, (bool, np.bool_)) or not isinstance(alpha, numbers.Real) or (
                self.data.dtype.kind != "f" and not isinstance(alpha, numbers.Integral)):
            raise TypeError(f"{who}: alpha must be a real number (an int for an integer tensor), got {alpha!r}")
        if who == "index_add":
            return op(self, src, axis=ax, index=idx, alpha=alpha)
        return op(self, src, axis=ax, index=idx)

    def index_add(self, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> "Tensor":
        """This tensor plus ``alpha * source[.., i, ..]`` at ``index[i]`` along ``dim``
        (repeated positions add)."""
        return self._put("index_add", INDEXADD, dim, index, source, alpha)

    def index_copy(self, dim: int, index: Any, source: Any) -> "Tensor":
        """This tensor with ``source[.., i, ..]`` copied to ``index[i]`` along ``dim``."""
        return self._put("index_copy", INDEXCOPY, dim, index, source)

    def _in_place(self, who: str, src: Any, *args: Any, **kw: Any) -> "Tensor":
        """Check the write is allowed, compute the out-of-place result, store it."""
        return self._assign(who, src, lambda x: getattr(x, who[:-1])(*args, **kw))  # type: ignore[attr-defined]

    def index_fill_(self, dim: int, index: Any, value: Any) -> "Tensor":
        """``index_fill`` in place."""
        return self._in_place("index_fill_", value, dim, index, value)

    def index_add_(self, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> "Tensor":
        """``index_add`` in place."""
        return self._in_place("index_add_", source, dim, index, source, alpha=alpha)

    def index_copy_(self, dim: int, index: Any, source: Any) -> "Tensor":
        """``index_copy`` in place."""
        return self._in_place("index_copy_", source, dim, index, source)
