"""A weight gradient kept as factors until ``.grad`` is read (see ``LazyGrad``), and the
parameters whose optimizer may apply such a gradient from its factors (``FACTORED``)."""

from __future__ import annotations

import weakref
from typing import Any, Iterable, Optional

import numpy as np

from .ops.base import tmm


class LazyGrad:
    """A weight gradient ``sum_k G_k^T X_k`` not multiplied out yet: the default backward
    hands it to a parameter whose per-sample factors it keeps, and ``p.grad`` computes it
    on first read (DP-SGD, which clips from the factors, never needs it). Adding an array
    multiplies it out; adding another ``LazyGrad`` keeps both."""

    __slots__ = ("parts", "shape", "dtype")
    __array_ufunc__ = None  # ndarray + LazyGrad -> LazyGrad.__radd__

    def __init__(self, parts: list, shape: tuple, dtype: Any) -> None:
        self.parts, self.shape, self.dtype = parts, tuple(shape), np.dtype(dtype)

    def value(self, out: Optional[np.ndarray] = None) -> np.ndarray:
        """``sum_k G_k^T X_k`` (the first product written into ``out`` when it fits)."""
        total = None
        for G, X in self.parts:
            v = tmm(G, X, out if total is None else None)
            total = v if total is None else total + v
        return total.reshape(self.shape).astype(self.dtype, copy=False)

    def astype(self, dtype: Any) -> "LazyGrad":
        return LazyGrad(self.parts, self.shape, dtype)

    def __add__(self, other: Any) -> Any:
        if type(other) is LazyGrad:
            return LazyGrad(self.parts + other.parts, self.shape, self.dtype)
        return self.value() + other

    __radd__ = __add__


# id(parameter) -> weak ref to it: the parameters of an optimizer whose step may apply a weight
# gradient from its factors (SGD without weight decay, Nesterov or maximize). A backward without
# batched inputs keeps the gradient of such a large Linear weight as factors (ops.fused.Linear);
# other parameters get theirs multiplied out at once, since reading .grad later costs more.
FACTORED: dict = {}


def keep_factors(params: Iterable[Any]) -> None:
    """Register ``params`` in ``FACTORED`` (each entry leaves when its parameter dies)."""
    for p in params:
        key = id(p)

        def gone(ref: Any, key: int = key) -> None:
            if FACTORED.get(key) is ref:
                del FACTORED[key]

        FACTORED[key] = weakref.ref(p, gone)
