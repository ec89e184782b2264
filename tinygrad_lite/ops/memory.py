"""Reusing the memory of large arrays from one training step to the next.

A training loop builds the same graph every step, so it asks for the same large arrays
every step. Fresh memory for an array above the C allocator's mapping threshold comes as
new pages from the kernel: each 4 KiB page costs a page fault and zero-filling on first
touch, which for the activations and patches of a convolution costs more than the
arithmetic. Three helpers hand out memory that was already touched instead:

* ``scratch(key, shape, dtype)``: a temporary that never leaves the function using it
  (one array per key and thread, reused on every call);
* ``pooled(shape, dtype)``: an op's result, which a graph or the caller may keep: an array
  from this thread's pool of that shape and dtype that nothing references any more, else
  a new one that joins the pool;
* ``released(p, slot)``: the array a parameter's gradient slot kept after ``zero_grad()``,
  when nothing else references it.

"Nothing references it" is read from the reference count: an array that a graph, a view
(its ``base``) or the user still holds has more references than the pool's own, and is
never handed out. The count that means "only the pool holds it" is measured once, at
import, through the same helper, so it does not depend on how the interpreter counts the
references of its own stack. Pools are per thread: two threads never share an array.
A thread keeps at most ``POOL_MAX`` bytes pooled and ``SCRATCH_MAX`` bytes per scratch key;
``TINYGRAD_LITE_NO_POOL=1`` before import turns all of it off.
"""

from __future__ import annotations

import math
import os
import sys
import threading
from typing import Any, Optional

import numpy as np

POOL_MIN = 1 << 17  # bytes: smaller arrays come from the allocator's heap without page faults
SCRATCH_MAX = 64 << 20  # bytes: a larger array is allocated afresh each time
POOL_MAX = 256 << 20  # bytes a thread's pool may keep in all
POOL_LIST = 32  # arrays kept per shape and dtype
if os.environ.get("TINYGRAD_LITE_NO_POOL"):  # set before import: every array is a new one
    POOL_MIN, SCRATCH_MAX = 1 << 62, -1

_local = threading.local()


def _count(holder: list, i: int) -> int:
    """References of ``holder[i]``, counted in the one way every check here counts them."""
    return sys.getrefcount(holder[i])


class _Slots:
    __slots__ = ("buf",)


def _free(arrays: list) -> int:
    """The index of the first array of ``arrays`` that nothing but the list references, or -1
    (each counted as ``_count`` counts, inline: the pool's hottest loop)."""
    for i in range(len(arrays)):
        if sys.getrefcount(arrays[i]) == _ONLY_LIST:
            return i
    return -1


def _slot_count(obj: Any, slot: str) -> int:
    return sys.getrefcount(getattr(obj, slot))


_ONLY_LIST = _count([np.empty(1)], 0)  # an array held by one list and nothing else
_probe = _Slots()
_probe.buf = np.empty(1)
_ONLY_SLOT = _slot_count(_probe, "buf")  # an array held by one attribute and nothing else
del _probe


def scratch(key: str, shape: tuple, dtype: Any) -> np.ndarray:
    """A work array of ``shape`` and ``dtype`` with undefined contents, kept for this thread
    under ``key`` and handed out again by the next call with that key. Only for a temporary
    that never leaves the function using it (never stored in a graph or returned)."""
    dtype = np.dtype(dtype)
    n = math.prod(shape) * dtype.itemsize
    if n > SCRATCH_MAX:
        return np.empty(shape, dtype)
    try:
        store = _local.scratch
    except AttributeError:
        store = _local.scratch = {}
    buf = store.get(key)
    if buf is None or buf.size < n:
        buf = store[key] = np.empty(max(n, 64), np.uint8)
    return buf[:n].view(dtype).reshape(shape)


def pooled(shape: tuple, dtype: Any) -> np.ndarray:
    """A new array of ``shape`` and ``dtype`` with undefined contents, for a result that may
    be kept: from this thread's pool when one of that shape and dtype is referenced by
    nothing but the pool, else freshly allocated (and pooled, within ``POOL_LIST`` per
    shape and ``POOL_MAX`` bytes in all; beyond that the pool forgets its free arrays)."""
    dtype = np.dtype(dtype)
    n = math.prod(shape) * dtype.itemsize
    if n < POOL_MIN or n > SCRATCH_MAX:
        return np.empty(shape, dtype)
    try:
        pool = _local.pool
    except AttributeError:
        pool = _local.pool = {}
        _local.pool_bytes = 0
    key = (shape, dtype.str)
    arrays = pool.get(key)
    if arrays is None:
        arrays = pool[key] = []
    else:
        i = _free(arrays)
        if i >= 0:
            return arrays[i]
    out = np.empty(shape, dtype)
    if len(arrays) < POOL_LIST:
        if _local.pool_bytes + n > POOL_MAX:
            _forget_free(pool, _local.__dict__)
        if _local.pool_bytes + n <= POOL_MAX:
            arrays.append(out)
            _local.pool_bytes += n
    return out


def _forget_free(pool: dict, store: dict) -> None:
    """Drop every pooled array that nothing else references (their memory goes back to the
    allocator); arrays still in use stay pooled."""
    for key in list(pool):
        arrays = pool[key]
        keep = [arrays[i] for i in range(len(arrays)) if _count(arrays, i) > _ONLY_LIST]
        store["pool_bytes"] -= sum(a.nbytes for a in arrays) - sum(a.nbytes for a in keep)
        if keep:
            pool[key] = keep
        else:
            del pool[key]


def released(p: Any, slot: str) -> Optional[np.ndarray]:
    """The array kept in ``p.<slot>`` (a gradient or per-sample gradient that ``zero_grad()``
    released) when nothing else references it any more, so the next one can be written into
    it; else None."""
    if getattr(p, slot, None) is None or _slot_count(p, slot) != _ONLY_SLOT:
        return None
    return getattr(p, slot)


def owned_grad(p: Any) -> Optional[np.ndarray]:
    """``p``'s current gradient array when only ``p`` holds it (its ``_grad`` slot, and its
    ``_gbuf`` slot when the backward wrote the gradient into that kept memory) and it owns
    writeable contiguous memory of ``p``'s shape and dtype, so it may be overwritten in
    place; else None."""
    if getattr(p, "_grad", None) is None or getattr(p, "_lazy", None):
        return None
    count = _slot_count(p, "_grad")  # counted before this function holds the array too
    g = p._grad
    if (type(g) is not np.ndarray or count != _ONLY_SLOT + (getattr(p, "_gbuf", None) is g)
            or not g.flags.owndata or not g.flags.writeable
            or not g.flags.c_contiguous or g.shape != p.data.shape or g.dtype != p.data.dtype):
        return None
    return g


def relaid(t: Any, order: str) -> Optional[np.ndarray]:
    """The leaf Tensor ``t``'s array copied to ``order`` ("C": row order, "F": column order) and
    kept as ``t``'s data in place of the old one, when nothing but ``t`` holds the old array
    (no view, no ``detach()``, no graph, no array a user kept), which owns writeable 2-D or
    larger memory in the other order: the values, and every read and write, stay the same.
    Else None, changing nothing. (SGD keeps a large float32 Linear weight in column order,
    ``optim.rules._column_order``; a reshape or a question about the layout puts it back in
    row order, as it does for any tensor whose own copy of an array is in column order, such
    as ``Tensor(a.T)``: torch's tensors made so are contiguous.)"""
    d = t._data
    if (t._op is not None or type(d) is not np.ndarray or d.ndim < 2 or d.base is not None or not d.flags.owndata
            or not d.flags.writeable or (d.flags.f_contiguous if order == "F" else d.flags.c_contiguous)):
        return None
    d = None
    if _slot_count(t, "_data") != _ONLY_SLOT:
        return None
    t._data = np.array(t._data, order=order)
    return t._data


def row_order(t: Any) -> np.ndarray:
    """``t``'s array, put back in row order first when ``relaid`` can (a weight SGD keeps in
    column order): what torch's layout questions (``is_contiguous``, ``stride``) see."""
    if not t._data.flags.c_contiguous:
        relaid(t, "C")
    return t._data
