"""numpy's ufuncs applied to Tensors (``Tensor.__array_ufunc__``), as torch's numpy interplay.

An arithmetic or comparison ufunc with a Tensor operand and an array or number on the other
side (``ndarray + t``, ``np.float64(2) * t``, ``arr < t``, ``np.multiply(arr, t)``) is the
Tensor's own operator, so the graph is kept and the result is a Tensor. Any other ufunc
(``np.exp(t)``, ``np.isfinite(t)``, ``np.add.reduce(t)``) is computed on the values and its
array results come back as Tensors that do not require grad; a Tensor that requires grad is
refused there (``RuntimeError``, as torch refuses ``numpy()`` of it), since numpy cannot
record a gradient. ``out=`` arrays are written as numpy writes them (``arr += t`` keeps
``arr`` an ndarray); a Tensor given as ``out`` is a ``TypeError``. Nothing here keeps state.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import graph

# ufunc -> (method when the Tensor is the first operand, method when it is the second)
_OPERATORS = {
    np.add: ("__add__", "__radd__"), np.subtract: ("__sub__", "__rsub__"), np.multiply: ("__mul__", "__rmul__"),
    np.true_divide: ("__truediv__", "__rtruediv__"), np.floor_divide: ("__floordiv__", "__rfloordiv__"),
    np.remainder: ("__mod__", "__rmod__"), np.power: ("__pow__", "__rpow__"),
    np.matmul: ("__matmul__", "__rmatmul__"), np.less: ("__lt__", "__gt__"), np.less_equal: ("__le__", "__ge__"),
    np.greater: ("__gt__", "__lt__"), np.greater_equal: ("__ge__", "__le__"), np.equal: ("__eq__", "__eq__"),
    np.not_equal: ("__ne__", "__ne__"), np.bitwise_and: ("__and__", "__rand__"),
    np.bitwise_or: ("__or__", "__ror__"), np.bitwise_xor: ("__xor__", "__rxor__"),
}


def array_ufunc(self: Any, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
    """``Tensor.__array_ufunc__`` (see the module docstring)."""
    from .tensor import Tensor

    out = kwargs.get("out")
    outs = out if isinstance(out, tuple) else () if out is None else (out,)
    if any(isinstance(o, Tensor) for o in outs):
        raise TypeError(f"numpy's {ufunc.__name__}: a Tensor cannot be the out= array; use the Tensor method or an "
                        "in-place Tensor operation instead")
    pair = _OPERATORS.get(ufunc)
    if pair is not None and method == "__call__" and not kwargs and len(inputs) == 2:
        a, b = inputs
        res = getattr(a, pair[0])(b) if isinstance(a, Tensor) else getattr(b, pair[1])(a)
        if res is not NotImplemented:
            return res
    if graph.state.grad and any(isinstance(x, Tensor) and x.requires_grad for x in inputs):
        raise RuntimeError(f"numpy's {ufunc.__name__} cannot be applied to a Tensor that requires grad (numpy would "
                           "not record its gradient); use the Tensor's own method (t.exp(), ...) or t.detach()")
    args = [x.data if isinstance(x, Tensor) else x for x in inputs]
    res = getattr(ufunc, method)(*args, **kwargs)
    if out is not None:
        return res
    return tuple(_wrap(r) for r in res) if isinstance(res, tuple) else _wrap(res)


def _wrap(r: Any) -> Any:
    from .tensor import Tensor

    return Tensor(r) if isinstance(r, np.ndarray) else r
