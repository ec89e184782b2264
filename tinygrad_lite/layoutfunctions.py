"""torch's function forms of the scatter / gather family and of the layout methods of
``torchscatter`` and ``torchlayout`` (``tl.scatter(x, 0, index, src)``, ``tl.tile(x, (2,))``
...), and the functions torch has only at this level: ``broadcast_shapes``,
``unravel_index``, ``combinations`` and ``row_stack``.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from .conventions import _int
from .functions import _passing, _t
from .morefunctions import vstack
from .ops import base

_METHODS = ["scatter", "scatter_add", "scatter_reduce", "take_along_dim", "take", "put", "index_put", "index_put_",
            "index_reduce", "masked_scatter", "select_scatter", "slice_scatter", "diagonal_scatter", "tile",
            "broadcast_to", "ravel", "rot90", "fliplr", "flipud", "tensor_split", "hsplit", "vsplit", "dsplit",
            "select", "diagflat", "narrow_copy", "unique_consecutive", "argwhere", "split_with_sizes",
            "is_same_size", "diag_embed", "adjoint", "unsafe_split", "unsafe_chunk", "index_add", "index_copy",
            "index_fill", "ger"]
globals().update({n: _passing(n) for n in _METHODS})

row_stack = vstack


def broadcast_shapes(*shapes: Any) -> tuple:
    """The shape the given shapes (tuples, or ints for 1-D shapes) broadcast to, aligned at
    the last axis: each axis is the one size other than 1 (or 1)."""
    norm = []
    for s in shapes:
        s = (s,) if isinstance(s, (int, np.integer)) and not isinstance(s, bool) else s
        if not isinstance(s, (tuple, list)):
            raise TypeError(f"broadcast_shapes: shapes must be tuples of ints or ints, got {s!r}")
        norm.append(tuple(_int("broadcast_shapes", "size", n, 0) for n in s))
    try:
        return tuple(int(n) for n in np.broadcast_shapes(*norm))
    except ValueError:
        raise ValueError(f"broadcast_shapes: shapes {', '.join(map(str, norm))} do not broadcast together") from None


def unravel_index(indices: Any, shape: Any) -> tuple:
    """The coordinates in ``shape`` of flat row-major positions ``indices``: one int64 tensor
    per axis, each of ``indices``' shape. As torch, each coordinate is taken modulo its axis
    size (so -1 is the last position)."""
    idx = np.asarray(indices.data if isinstance(indices, base.Tensor) else indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"unravel_index: indices must be an integer tensor, got dtype {idx.dtype}")
    dims = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    dims = tuple(_int("unravel_index", "shape", n, 0) for n in dims)
    if 0 in dims and idx.size:
        raise ValueError(f"unravel_index: shape {dims} has no elements to index (indices of shape {idx.shape})")
    out, rest = [], idx.astype(np.int64)
    for n in reversed(dims):
        out.append(rest % n)
        rest = rest // n
    from .tensor import Tensor
    return tuple(Tensor(a) for a in reversed(out))


def combinations(input: Any, r: int = 2, with_replacement: bool = False) -> Any:
    """The length-``r`` combinations of a 1-D tensor's elements, one per row in
    lexicographic order of positions (``with_replacement``: repeats allowed); a gather, so
    each element's gradient adds over its copies."""
    x = _t("combinations", input)
    if x.data.ndim != 1:
        raise ValueError(f"combinations: expects a 1-D tensor, got shape {x.data.shape}")
    r = _int("combinations", "r", r, 0)
    if r == 0:
        return x[np.zeros(0, np.int64)]
    make = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    n = x.data.shape[0]
    count = math.comb(n + r - 1, r) if with_replacement else math.comb(n, r)
    idx = np.array(list(make(range(n), r)), np.int64).reshape(count, r)
    return x[idx]


__all__ = _METHODS + ["row_stack", "broadcast_shapes", "unravel_index", "combinations"]
