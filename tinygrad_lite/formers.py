"""The former nodes of tensors changed in place inside a graph, and the repair a backward
makes with them.

A recorded in-place write (``torchwrite``) moves the tensor's node to a new Tensor holding a
copy of the old values, its *former* node, which the written value's ops read. An op built
BEFORE the write that read the tensor still points at the tensor itself, whose node and
values are now the new ones: its backward would be wrong, so the walker finds such an op
out of date (``graph.toposort(versions=True)``). torch lets such an op backward when it
saved no values of the tensor; here every former node keeps its values, so ``reattach``
points every such op at the former node that was current when the op was built (its values
and its graph as the op saw them), whatever the op saved.

``remember(t, old, version, since)`` keeps a weak reference to ``old``, ``t``'s node before
the write of ``version``; ``former_at(t, stamp)`` is ``t``'s node as it was when an op of
``stamp`` was built (None when it cannot be known: the former node was freed, or the memory
changed outside the graph in between, through ``.data``, a ``detach()`` or ``no_grad()``).

Views: ``view_chain(t)`` finds the tensor computed in the graph whose memory a view shares
(through recorded view ops); ``take_node(t, r, version)`` gives ``t`` the node ``r``; and
``refresh_views`` repairs, at backward, a view kept across a write through another view of
its tensor: torch's views show the new values, so ops built after the write read a region of
the new values, ops built before it a region of the former node.
"""

from __future__ import annotations

import weakref
from typing import Any, Optional

import numpy as np

from .ops.base import last_write
from .ops.region import REGION, dense_order, layout_of

# id(t) -> (weak ref to t, [(version of a write, version from which t's values were those
# its former node copied, weak ref to that former node)], in write order)
_FORMERS: dict = {}


def remember(t: Any, old: Any, version: int, since: int) -> None:
    """``old`` is ``t``'s node as it was, from version ``since``, until the write of ``version``."""
    key = id(t)
    entry = _FORMERS.get(key)
    if entry is None or entry[0]() is not t:
        def gone(ref: Any) -> None:  # t was freed: forget it (unless its id was reused)
            if _FORMERS.get(key, (None,))[0] is ref:
                del _FORMERS[key]

        entry = _FORMERS[key] = (weakref.ref(t, gone), [])
    writes = entry[1]
    if len(writes) >= 8 and not len(writes) & (len(writes) - 1):  # (at 8, 16, 32, ...: amortised O(1))
        writes[:] = [e for e in writes if e[2]() is not None]  # formers freed with their graphs
    writes.append((version, since, weakref.ref(old)))


def valid_since(t: Any) -> int:
    """The version from which ``t``'s values are what they are now: its own last change, or
    a later write into its memory through another tensor."""
    return max(t._v, last_write(t._data))


def former_at(t: Any, stamp: int) -> Optional[Any]:
    """``t``'s node as it was when an op of ``stamp`` was built, if it is known."""
    entry = _FORMERS.get(id(t))
    if entry is None or entry[0]() is not t:
        return None
    for version, since, ref in entry[1]:
        if version > stamp:  # the first write after the op: the node before it is the op's
            return ref() if since < stamp else None
    return None


def reattach(root: Any) -> bool:
    """Ops of ``root``'s graph built before an in-place write of a tensor they read are
    pointed at that tensor's former node (see the module docstring); a view of the written
    memory is left alone (its values changed with it). Returns whether any op changed."""
    changed = False
    seen, todo = {id(root)}, [root]
    while todo:
        node = todo.pop()
        if node._op is None:
            continue
        parents = node._parents
        for i, p in enumerate(parents):
            if p._v > node._stamp and not np.may_share_memory(node._data, p._data):
                old = former_at(p, node._stamp)
                if old is None and p._data.base is not None:  # a view: its region of its owner as it was
                    old = _former_region(p, node._stamp)
                if old is not None:
                    parents = parents[:i] + (old,) + parents[i + 1:]
        if parents is not node._parents:
            node._parents = parents
            changed = True
        for p in parents:
            if id(p) not in seen:
                seen.add(id(p))
                todo.append(p)
    return changed


def _former_region(z: Any, stamp: int) -> Optional[Any]:
    """The view ``z`` as it was when an op of ``stamp`` was built: its region of its owner's
    former node, if that is known."""
    found = view_chain(z)
    f = former_at(found[0], stamp) if found is not None else None
    if f is None:
        return None
    return stand_in(f, layout_of(z._data, found[0]._data))


def stand_in(f: Any, lay: tuple) -> Any:
    """``REGION(f, lay)``, a view as it was: the region ``lay`` of the former node ``f``,
    placed right after ``f`` in the sweep's order, so before every op built while ``f`` was
    current (a stamp between two of the clock's)."""
    region = REGION(f, lay)
    region._stamp = max(f._stamp, f._v) + 0.5
    return region


def view_chain(t: Any) -> Any:
    """``(owner, views)`` when ``t`` is a view, through view ops recorded in the graph, of
    ``owner``, a tensor computed in the graph (``views``: ``t`` first, then the views between
    them); else None."""
    root = t._data.base
    chain, c = [], t
    while c._data.base is not None:
        if c._op is None or not c._parents or not c.requires_grad:
            return None
        p = c._parents[0]
        if p._data is not root and p._data.base is not root:
            return None
        chain.append(c)
        c = p
    return (c, chain) if c._data is root and c._op is not None and dense_order(root) is not None else None


def take_node(t: Any, r: Any, version: int) -> Any:
    """``t`` becomes the node ``r`` (op, parents, batch state), at the new ``version``: ops
    built before it that read ``t`` are then out of date (``reattach``)."""
    t._op, t._parents, t._ctx, t.requires_grad, t._bs = r._op, r._parents, r._ctx, r.requires_grad, r._bs
    for slot in ("_stamp", "_mix", "_src"):
        if hasattr(r, slot):
            setattr(t, slot, getattr(r, slot))
    t._grad = t._lazy = None
    t._v = t._moved = version
    return t


def refresh_views(root: Any) -> bool:
    """Views of a tensor written in place through another view (``z = y[0]; y[0].mul_(3)``),
    seen by a backward from ``root`` that found ``z``'s node out of date. As torch's, ``z``
    shows the new values to every op built after the write: ``z`` becomes a region of its
    owner's new values when such ops read it. An op built before the write read the values
    as they were: it reads that region of the owner's former node instead (``formers``).
    Returns whether any op changed (else the backward refuses, as before)."""
    readers: dict = {}  # id(node) -> the ops of this graph that read it
    nodes, seen, todo = [], {id(root)}, [root]
    while todo:
        node = todo.pop()
        if node._op is None:
            continue
        nodes.append(node)
        for p in node._parents:
            readers.setdefault(id(p), []).append(node)
            if id(p) not in seen:
                seen.add(id(p))
                todo.append(p)
    stale = {}  # id(view) -> (view, owner): views whose chain to their owner is out of date
    for z in nodes:
        found = view_chain(z) if z._data.base is not None and id(z) in readers else None
        if found is not None and any(c._parents[0]._v > c._stamp for c in found[1]):
            stale[id(z)] = (z, found[0])
    changed = False
    for z, owner in stale.values():
        # a reader that is itself such a view of z is made a view of the owner on its own
        ops = [r for r in readers[id(z)] if id(r) not in stale]
        older = [r for r in ops if r._stamp < owner._v]
        formers = [former_at(owner, r._stamp) for r in older]
        if any(f is None for f in formers):
            continue
        lay = layout_of(z._data, owner._data)
        regions: dict = {}
        for r, f in zip(older, formers):
            if id(f) not in regions:
                regions[id(f)] = stand_in(f, lay)
            r._parents = tuple(regions[id(f)] if p is z else p for p in r._parents)
        if len(older) < len(ops):
            take_node(z, REGION(owner, lay), z._v)
            z._stamp = owner._v  # (after its owner's write, before every op that reads it)
        changed = True
    return changed
