"""Kept gradients stay those of the backward when a value they read changes in place later.

The default backward keeps what gradients are made of and multiplies them out when read:
a Linear weight's ``.grad`` (``LazyGrad``: ``G^T X``) and its per-sample rows
(``S[b] = G_b^T X_b``) hold a reference to the input rows ``X``, and a parameter that
meets the batch through other parameter-side ops (``w = g * v / |v|``) has its rows pushed
through those ops' vjps on read, which read the parameters (``d(g*v)/dg = v``). Two kinds
of in-place change between the backward and the read would otherwise leak into them:

* a write into a batched input (``x -= lr * x.grad`` under ``no_grad``: a saliency or
  "dreaming" step; ``x.copy_(next_batch)``). ``watch`` records, per input memory, the
  parameters whose kept gradients were made from it, and ``before_write`` (called by every
  in-place Tensor write, before it writes) multiplies those out first: ``p.grad`` and
  each segment of ``p``'s per-sample rows become plain arrays.
* an optimizer step changing a parameter that a pushed vjp reads. ``keep`` copies the leaf
  inputs of such an op at backward time (one array of the parameter's size, no sample
  axis; ops whose vjp reads no input data keep nothing), and ``pushed_vjp`` runs the vjp on
  those copies when the leaf has changed since.
"""

from __future__ import annotations

import weakref
from typing import Any, Iterable

import numpy as np

from .ops.base import _root

# ops whose vjp reads only the cotangent and the op's own constants (never an input's data)
DATA_FREE = frozenset({"reshape", "transpose", "getitem", "cat", "expand", "repeat", "clone", "module_hook",
                       "cast", "neg", "add", "sub", "rsub", "sum", "mean"})

_WATCH: dict = {}  # id(root array of an input) -> (weak ref to the root, {id(param): weak ref to param})


def watch(inputs: Iterable[Any], params: Iterable[Any]) -> None:
    """Remember that the kept gradients of ``params`` were made from ``inputs``' memory."""
    params = list(params)
    for x in inputs:
        root = _root(x._data)
        key = id(root)
        entry = _WATCH.get(key)
        if entry is None or entry[0]() is not root:
            try:
                entry = _WATCH[key] = (weakref.ref(root, _forget(key)), {})
            except TypeError:  # (an array without weak references: nothing to watch)
                continue
        entry[1].update((id(p), weakref.ref(p)) for p in params)


def _forget(key: int) -> Any:
    def gone(ref: Any) -> None:
        if _WATCH.get(key, (None,))[0] is ref:
            _WATCH.pop(key, None)
    return gone


def before_write(t: Any) -> None:
    """Called before ``t``'s memory is changed in place: the kept gradients made from it
    are multiplied out now, while they still mean what the backward computed."""
    if not _WATCH:
        return
    root = _root(t._data)
    entry = _WATCH.get(id(root))
    if entry is None or entry[0]() is not root:
        return
    _WATCH.pop(id(root), None)
    from .persample import DenseRows, dense_sum
    for ref in entry[1].values():
        p = ref()
        if p is None:
            continue
        p.grad  # noqa: B018  (reading multiplies a lazy weight gradient out)
        ps = p._ps
        for s in ps.segments if ps is not None else ():
            if s.parts and not s.error:
                s.parts = [DenseRows(dense_sum(s.parts), p._data.shape, p._data.dtype, 1.0)]


def keep(node: Any) -> tuple:
    """The leaf inputs of a parameter-side op whose vjp reads them: ``(leaf, version, copy)``."""
    if node._op.name in DATA_FREE:
        return ()
    return tuple((p, p._v, np.array(p._data)) for p in node._parents if p._op is None)


def pushed_vjp(node: Any, g: np.ndarray, i: int, kept: tuple) -> np.ndarray:
    """``node``'s vjp for input ``i``, on the input values of the backward (``kept``): a
    leaf changed since is given its kept copy while the vjp runs, then its data back."""
    changed = [(p, p._data, old) for p, v, old in kept if p._v != v]
    try:
        for p, _, old in changed:
            p._data = old
        return node._op.vjp(node, g)[i]
    finally:
        for p, now, _ in changed:
            p._data = now
