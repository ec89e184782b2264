"""More of torch's function namespace: the function forms of the methods in ``torchmore``
(``tl.tan(x)``, ``tl.cumprod(x, 0)``, ``tl.addmm(c, a, b)``, ``tl.unique(x)`` ...) and the
functions torch has only at this level: the joins ``concat`` / ``concatenate`` (``cat``),
``hstack``, ``vstack``, ``dstack``, ``column_stack`` and ``atleast_1d/2d/3d``; the products
``tensordot``, ``cdist``, ``block_diag`` and ``cartesian_prod``; ``meshgrid`` and
``broadcast_tensors``; and the index-valued ``isin``, ``searchsorted``, ``bucketize``,
``tril_indices`` and ``triu_indices``.

The differentiable functions compose differentiable ops (reshape, expand, cat, matmul,
norm), so their gradients and per-sample gradients are those ops'; the index-valued ones
carry no gradient.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .conventions import _int
from .factories import as_dtype
from .functions import _passing, _t
from .ops import base
from .ops.alloc import allocating
from .ops.layout import cat
from .torchmath import _other
from .torchmore import _no_grad

_METHODS = ["tan", "atan", "asin", "acos", "sinh", "cosh", "asinh", "acosh", "atanh", "arctan", "arcsin", "arccos",
            "arcsinh", "arccosh", "arctanh", "arctan2", "erfinv", "hypot", "trunc", "fix", "frac", "nan_to_num",
            "lerp", "logit", "cumprod", "logcumsumexp", "cummax", "cummin", "diff", "count_nonzero", "addmm", "addmv",
            "baddbmm", "addbmm", "kron", "nonzero", "unique", "bincount", "histc"]
globals().update({n: _passing(n) for n in _METHODS})

concat = concatenate = cat


def xlogy(input: Any, other: Any) -> Any:
    """input * log(other), 0 where input == 0 (unless other is nan); either may be a number."""
    return _other(input).xlogy(other)


def _tensors(who: str, tensors: Any) -> list:
    """The Tensors of ``*tensors`` given as arguments or as one list / tuple."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    return [_t(who, t) for t in tensors]


def _sequence(who: str, tensors: Any) -> list:
    """The Tensors of a list or tuple (a lone tensor is a TypeError, as torch)."""
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{who}: tensors must be a list or tuple of tensors, got {type(tensors).__name__}")
    return _tensors(who, tuple(tensors))


# ------------------------------------------------------------------ joins ----------------
def _at_least(who: str, n: int, shape_of: Any) -> Any:
    def f(*tensors: Any) -> Any:
        one = len(tensors) == 1 and not isinstance(tensors[0], (list, tuple))
        out = tuple(t if t.data.ndim >= n else t.reshape(shape_of(t.data.shape)) for t in _tensors(who, tensors))
        return out[0] if one else out

    f.__name__ = f.__qualname__ = who
    f.__doc__ = f"Each tensor viewed with at least {n} axes (the values and the gradient pass unchanged)."
    return f


atleast_1d = _at_least("atleast_1d", 1, lambda s: s or (1,))
atleast_2d = _at_least("atleast_2d", 2, lambda s: (1,) * (2 - len(s)) + s if len(s) < 2 else s)
atleast_3d = _at_least("atleast_3d", 3, lambda s: {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}.get(len(s), s))


def hstack(tensors: Any) -> Any:
    """Join along axis 1 (axis 0 when all are 1-D), after ``atleast_1d``."""
    ts = [atleast_1d(t) for t in _sequence("hstack", tensors)]
    return cat(ts, 0 if all(t.data.ndim == 1 for t in ts) else 1)


def vstack(tensors: Any) -> Any:
    """Join along axis 0 after ``atleast_2d`` (1-D tensors become rows)."""
    return cat([atleast_2d(t) for t in _sequence("vstack", tensors)], 0)


def dstack(tensors: Any) -> Any:
    """Join along axis 2 after ``atleast_3d``."""
    return cat([atleast_3d(t) for t in _sequence("dstack", tensors)], 2)


def column_stack(tensors: Any) -> Any:
    """Join along axis 1, 0-d and 1-D tensors first made columns (n, 1)."""
    ts = _sequence("column_stack", tensors)
    return cat([t.reshape(t.data.size, 1) if t.data.ndim <= 1 else t for t in ts], 1)


# ------------------------------------------------------------------ products -------------
def tensordot(a: Any, b: Any, dims: Any = 2) -> Any:
    """sum over the paired axes of a[..., k] b[k, ...]: ``dims`` an int n (the last n axes of
    ``a`` with the first n of ``b``) or two lists of axes; a matrix product after permuting."""
    a, b = _t("tensordot", a), _t("tensordot", b)
    na, nb = a.data.ndim, b.data.ndim
    if hasattr(dims, "data") and np.ndim(dims.data) == 0:  # (a 0-d tensor: its int, as torch)
        dims = int(dims.data)
    if isinstance(dims, (int, np.integer)):
        if dims < 0 or dims > min(na, nb):
            raise ValueError(f"tensordot: dims={dims} must lie in [0, {min(na, nb)}] for shapes {a.data.shape} and "
                             f"{b.data.shape}")
        ca, cb = list(range(na - dims, na)), list(range(dims))
    else:
        ca, cb = ([d] if isinstance(d, (int, np.integer)) else list(d) for d in dims)
        ca, cb = [int(d) % max(na, 1) for d in ca], [int(d) % max(nb, 1) for d in cb]
    if len(ca) != len(cb) or any(a.data.shape[i] != b.data.shape[j] for i, j in zip(ca, cb)):
        raise ValueError(f"tensordot: axes {ca} of shape {a.data.shape} do not match axes {cb} of shape {b.data.shape}")
    fa, fb = [i for i in range(na) if i not in ca], [j for j in range(nb) if j not in cb]
    k = int(np.prod([a.data.shape[i] for i in ca]))
    sa, sb = [a.data.shape[i] for i in fa], [b.data.shape[j] for j in fb]
    am = a.permute(*(fa + ca)).reshape(int(np.prod(sa)), k)
    bm = b.permute(*(cb + fb)).reshape(k, int(np.prod(sb)))
    return (am @ bm).reshape(tuple(sa + sb))


def cdist(x1: Any, x2: Any, p: float = 2.0, compute_mode: Any = None) -> Any:
    """The p-norm distances out[..., i, j] = ||x1[..., i, :] - x2[..., j, :]||_p of the rows of
    two batches of matrices (batch axes broadcast); the gradient at a zero distance is 0, and
    for p = inf each coordinate of largest |difference| gets the whole cotangent, as torch."""
    x1, x2 = _t("cdist", x1), _t("cdist", x2)
    s1, s2 = x1.data.shape, x2.data.shape
    if len(s1) < 2 or len(s2) < 2 or s1[-1] != s2[-1]:
        raise ValueError(f"cdist: needs (..., P, M) and (..., R, M) with the same M, got shapes {s1} and {s2}")
    if p < 0:
        raise ValueError(f"cdist: p must be non-negative, got {p}")
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    if p != math.inf or s1[-1] == 0:
        return diff.norm(float(p), dim=-1)
    # max_k |d_k| with the whole cotangent to every largest entry (torch's rule for ties):
    # m + sum_k [|d_k| == m] (|d_k| - m), with m a constant, is m with that gradient
    d = diff.abs()
    m = d.data.max(axis=-1, keepdims=True)
    return ((d - base.const(m)) * base.const(d.data == m)).sum(-1) + base.const(m[..., 0])


def block_diag(*tensors: Any) -> Any:
    """The tensors (0-d: 1x1, 1-D: one row) placed along the diagonal of a matrix of zeros."""
    ts = [t.reshape(1, 1) if t.data.ndim == 0 else t.reshape(1, -1) if t.data.ndim == 1 else t
          for t in _tensors("block_diag", tensors)]
    if any(t.data.ndim != 2 for t in ts):
        raise ValueError(f"block_diag: tensors must have at most 2 axes, got shapes {[t.data.shape for t in ts]}")
    dt = np.result_type(*[t.data.dtype for t in ts]) if ts else np.float64
    cols = sum(t.data.shape[1] for t in ts)
    rows, left = [], 0
    for t in ts:
        r, c = t.data.shape
        parts = [base.const(np.zeros((r, left), dt)), t.astype(dt), base.const(np.zeros((r, cols - left - c), dt))]
        rows.append(cat(parts, 1))
        left += c
    return cat(rows, 0) if rows else base.const(np.zeros((1, 0), dt))


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple:
    """Coordinate grids of 1-D tensors: with ``"ij"`` out_k has shape (n_0, n_1, ...) and varies
    along axis k; ``"xy"`` swaps the first two axes (Cartesian). Expanded views."""
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    ts = _tensors("meshgrid", tensors)
    if any(t.data.ndim > 1 for t in ts):
        raise ValueError(f"meshgrid: expects 0-d or 1-D tensors, got shapes {[t.data.shape for t in ts]}")
    sizes = [t.data.size for t in ts]
    axis = list(range(len(ts)))
    if indexing == "xy" and len(ts) >= 2:
        sizes[0], sizes[1], axis[0], axis[1] = sizes[1], sizes[0], 1, 0
    out = []
    for t, ax in zip(ts, axis):
        shape = [1] * len(ts)
        shape[ax] = -1
        out.append(t.reshape(*shape).expand(*sizes))
    return tuple(out)


def cartesian_prod(*tensors: Any) -> Any:
    """Every combination of one entry from each 1-D tensor, as rows (the last varying fastest);
    one tensor is returned as it is."""
    ts = _tensors("cartesian_prod", tensors)
    if len(ts) == 1:
        return ts[0]
    from .ops.layout import stack
    return stack([g.reshape(-1) for g in meshgrid(*ts, indexing="ij")], 1)


def broadcast_tensors(*tensors: Any) -> tuple:
    """The tensors expanded to their common broadcast shape."""
    ts = _tensors("broadcast_tensors", tensors)
    try:
        shape = np.broadcast_shapes(*[t.data.shape for t in ts])
    except ValueError:
        raise ValueError(f"broadcast_tensors: shapes {[t.data.shape for t in ts]} do not broadcast") from None
    return tuple(t if t.data.shape == shape else t.expand(*shape) for t in ts)


# ------------------------------------------------------------------ indices --------------
def isin(elements: Any, test_elements: Any, *, assume_unique: bool = False, invert: bool = False) -> Any:
    """True where an entry of ``elements`` occurs in ``test_elements`` (False with ``invert``)."""
    e, s = _other(elements), _other(test_elements)
    return _no_grad(np.isin(e.data, s.data, invert=invert), "isin", e, s, over_samples=False)


def _search(who: str, seq: Any, values: Any, right: bool, side: Any, int32: bool) -> Any:
    s, v = _other(seq), _other(values)
    if side is not None:
        if side not in ("left", "right") or (side == "left" and right):
            raise ValueError(f"{who}: side must be 'left' or 'right' and agree with right={right}, got {side!r}")
        right = side == "right"
    sd, vd = s.data, v.data
    side = "right" if right else "left"
    if sd.ndim <= 1:
        out = np.searchsorted(sd.reshape(-1), vd, side=side)
    else:
        if vd.shape[:-1] != sd.shape[:-1]:
            raise ValueError(f"{who}: sorted_sequence of shape {sd.shape} and values of shape {vd.shape} must agree "
                             "on all axes but the last")
        rs, rv = sd.reshape(-1, sd.shape[-1]), vd.reshape(-1, vd.shape[-1])
        out = np.stack([np.searchsorted(a, b, side=side) for a, b in zip(rs, rv)]).reshape(vd.shape)
    return _no_grad(np.asarray(out, np.int32 if int32 else np.int64), who, v, s, over_samples=False)


def searchsorted(sorted_sequence: Any, input: Any, *, out_int32: bool = False, right: bool = False,
                 side: Any = None, sorter: Any = None) -> Any:
    """For each value, the index where it would be inserted into the sorted last axis of
    ``sorted_sequence`` (before equal entries, or after them with ``right``)."""
    if sorter is not None:
        order = np.asarray(sorter.data if isinstance(sorter, base.Tensor) else sorter)
        sorted_sequence = np.take_along_axis(_other(sorted_sequence).data, order, -1)
    return _search("searchsorted", sorted_sequence, input, right, side, out_int32)


def bucketize(input: Any, boundaries: Any, *, out_int32: bool = False, right: bool = False) -> Any:
    """The bucket of each value among the 1-D sorted ``boundaries``: i with b[i-1] < x <= b[i]
    (b[i-1] <= x < b[i] with ``right``)."""
    if _other(boundaries).data.ndim != 1:
        raise ValueError(f"bucketize: boundaries must be 1-D, got shape {_other(boundaries).data.shape}")
    return _search("bucketize", boundaries, input, right, None, out_int32)


def _tri_count(upper: bool, row: int, col: int, offset: int) -> tuple[int, int, int]:
    """``(lo, hi, total)``: the rows ``lo <= i < hi`` that hold an entry, and how many entries
    there are, worked out without arrays (a size too large to hold is then refused before any
    memory is taken)."""
    def run(a: int, b: int) -> int:  # a + (a + 1) + ... + b
        return (a + b) * (b - a + 1) // 2 if b >= a else 0
    if col == 0:
        return 0, 0, 0
    if upper:  # row i: columns max(i + offset, 0) .. col - 1
        lo, hi = 0, max(0, min(row, col - offset))
        full = min(hi, max(0, 1 - offset))  # rows with i + offset <= 0 hold every column
        return lo, hi, full * col + run(col - (hi - 1) - offset, col - full - offset)
    lo, hi = min(row, max(0, -offset)), row  # row i: columns 0 .. min(i + offset, col - 1)
    ramp = min(hi, max(lo, col - offset - 1))  # rows with i + offset + 1 < col hold fewer than col
    return lo, hi, run(lo + offset + 1, ramp + offset) + (hi - ramp) * col


def _tri_indices(who: str, upper: bool, row: int, col: int, offset: int, dtype: Any) -> Any:
    """Row by row, the columns j of row i with j <= i + offset (lower) or j >= i + offset
    (upper): ``count_i`` of them from ``first_i``. Built from the counts alone, in the memory
    of the result (no row x col mask)."""
    dt = np.int64 if dtype is None else as_dtype(who, dtype)
    row, col, offset = _int(who, "row", row), _int(who, "col", col), _int(who, "offset", offset)
    if row < 0 or col < 0:
        raise ValueError(f"{who}: row and col must be non-negative, got {row} and {col}")
    lo, hi, total = _tri_count(upper, row, col, offset)
    out = np.empty((2, total), dtype=dt)
    i = np.arange(lo, hi, dtype=np.int64)
    first = np.clip(i + offset, 0, col) if upper else np.zeros(hi - lo, dtype=np.int64)
    count = col - first if upper else np.clip(i + offset + 1, 0, col)
    out[0] = np.repeat(i, count)
    # column = position in the result - where the row's run starts there + the row's first column
    np.subtract(np.arange(total, dtype=np.int64), np.repeat(np.cumsum(count) - count - first, count), out=out[1],
                casting="unsafe")
    return base.Tensor(out)


@allocating("tril_indices")
def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None) -> Any:
    """The (2, N) row and column indices of the lower triangle (j <= i + offset), row by row."""
    return _tri_indices("tril_indices", False, row, col, offset, dtype)


@allocating("triu_indices")
def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None) -> Any:
    """The (2, N) row and column indices of the upper triangle (j >= i + offset), row by row."""
    return _tri_indices("triu_indices", True, row, col, offset, dtype)


__all__ = _METHODS + ["concat", "concatenate", "xlogy", "atleast_1d", "atleast_2d", "atleast_3d", "hstack", "vstack",
                      "dstack", "column_stack", "tensordot", "cdist", "block_diag", "meshgrid", "cartesian_prod",
                      "broadcast_tensors", "isin", "searchsorted", "bucketize", "tril_indices", "triu_indices"]
