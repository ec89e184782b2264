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

Hollow former nodes: a store ``x[index] = v`` whose former values nothing else reads keeps
only the values it overwrote (``remember(..., undo=(index, values))``; its node's values are
``hollow_values``, NaN in no memory, as its own backward needs only shapes). ``rebuild``
gives such a node its values when a backward or a drawing needs them: the first later
former node that kept all its values (else the tensor's values now), with the overwritten
regions put back, latest first. A store outside the graph into such a tensor keeps what it
overwrote too (``undo_for``, ``note_store``); any other change outside the graph makes them unknown.
Former nodes keep no ``.grad`` (nothing outside the graph reaches them).

Views: ``view_chain(t)`` finds the tensor computed in the graph whose memory a view shares
(through recorded view ops); ``buffer_of(t)`` the tensor a view made outside the graph was
taken of while it required no grad (``t._home``, which ``ops.base.make`` sets);
``take_node(t, r, version)`` gives ``t`` the node ``r``; and
``refresh_views`` repairs, at backward, a view kept across a write through another view of
its tensor: torch's views show the new values, so ops built after the write read a region of
the new values, ops built before it a region of the former node.
"""

from __future__ import annotations

import weakref
from typing import Any, Optional

import numpy as np

from .ops.base import last_write, no_values
from .ops.region import REGION, dense_order, layout_of, region

# id(t) -> (weak ref to t, [(version of a write, version from which t's values were those
# its former node copied, weak ref to that former node, None or (index, the values there
# before the write) for a hollow former node)], in write order)
_FORMERS: dict = {}


class AtLayout:
    """The key of an undo record for a write through a view: the region ``lay`` (a layout,
    ``ops.region``) of the tensor's memory."""

    __slots__ = ("lay",)

    def __init__(self, lay: tuple) -> None:
        self.lay = lay


def _put_back(values: np.ndarray, key: Any, before: np.ndarray) -> bool:
    """The values an undo record kept, put back where its write wrote (False when ``values``
    is not laid out as the memory the record describes)."""
    if type(key) is AtLayout:
        place = region(values, key.lay)
        if not np.shares_memory(place, values):
            return False
        place[...] = before
    else:
        values[key] = before
    return True


def undo_for(t: Any, index: Any = Ellipsis) -> Optional[tuple]:
    """For a write outside the graph into ``t``'s values at ``index`` (all of them by
    default): ``(owner, key, the values there now, valid_since(owner))`` when it changes the
    memory of a tensor with hollow former nodes, which must keep what it overwrites (pass
    this to ``note_store`` after the write); ``key`` says where, as ``index`` or as an
    ``AtLayout`` of the owner's memory. None when no such tensor is known, or the place is
    no region of its memory (an integer-array index into a view)."""
    if not _FORMERS:
        return None
    d = t._data
    base = d if d.base is None else d.base
    owner = t
    if base is not d:
        home = getattr(t, "_home", None)
        owner = home[0] if home is not None else None
        if owner is None or owner._data is not base:
            found = view_chain(t)
            owner = found[0] if found is not None else None
    if owner is None or not hollow_behind(owner):
        return None
    if base is d:
        return owner, index, np.array(d[index]), valid_since(owner)
    plain = isinstance(index, tuple) and not any(i is Ellipsis for i in index)
    part = d[(*index, Ellipsis)] if plain else d[index]  # (a view also where index picks one element)
    if part.base is not base or dense_order(base) is None:
        return None
    return owner, AtLayout(layout_of(part, base)), np.array(part), valid_since(owner)


def hollow_values(d: np.ndarray) -> np.ndarray:
    """The stand-in values of a hollow former node (one that kept only the region its write
    overwrote): ``d``'s shape and dtype in no memory, NaN (0 for integers), so that a read
    nobody rebuilt first shows."""
    return no_values(d, np.nan if d.dtype.kind in "fc" else 0)


def remember(t: Any, old: Any, version: int, since: int, undo: Any = None) -> None:
    """``old`` is ``t``'s node as it was, from version ``since``, until the write of ``version``;
    ``undo``: ``(index, values)`` when ``old`` is hollow (its values are ``t``'s after the
    write with ``values`` put back at ``index``)."""
    key = id(t)
    entry = _FORMERS.get(key)
    if entry is None or entry[0]() is not t:
        def gone(ref: Any) -> None:  # t was freed: forget it (unless its id was reused)
            if _FORMERS.get(key, (None,))[0] is ref:
                del _FORMERS[key]

        entry = _FORMERS[key] = (weakref.ref(t, gone), [])
    _add(entry[1], (version, since, weakref.ref(old), undo))


def _add(writes: list, item: tuple) -> None:
    if len(writes) >= 8 and not len(writes) & (len(writes) - 1):  # (at 8, 16, 32, ...: amortised O(1))
        dead = 0  # the writes whose former nodes were freed with their graphs, from the first on
        while dead < len(writes) and writes[dead][2]() is None:
            dead += 1
        del writes[:dead]
    writes.append(item)


def _unrecorded() -> None:
    return None


def note_store(undo: tuple, version: int) -> None:
    """A write outside the graph (``x[index] = v`` or an in-place method under ``no_grad()``)
    of ``version``, into a tensor with hollow former nodes, keeps the values it overwrote
    (``undo``, from ``undo_for`` before the write), so those can still be rebuilt."""
    owner, key, before, since = undo
    _add(_FORMERS[id(owner)][1], (version, since, _unrecorded, (key, before)))


def hollow_behind(t: Any) -> bool:
    """Whether ``t`` has hollow former nodes (whose values a store outside the graph must keep)."""
    entry = _FORMERS.get(id(t))
    return entry is not None and entry[0]() is t and any(e[3] is not None for e in entry[1])


def valid_since(t: Any) -> int:
    """The version from which ``t``'s values are what they are now: its own last change, or
    a later write into its memory through another tensor."""
    return max(t._v, last_write(t._data))


def former_at(t: Any, stamp: int) -> Optional[Any]:
    """``t``'s node as it was when an op of ``stamp`` was built, if it is known."""
    entry = _FORMERS.get(id(t))
    if entry is None or entry[0]() is not t:
        return None
    writes = entry[1]
    for i, (version, since, ref, _) in enumerate(writes):
        if version > stamp:  # the first write after the op: the node before it is the op's
            if since >= stamp:
                return None
            f = ref()
            return f if f is None or _rebuilt(t, writes, i) else None
    return None


def _rebuilt(t: Any, writes: list, i: int) -> bool:
    """Whether the former node of ``writes[i]`` has its values, giving a hollow one its values
    first (False when they cannot be known)."""
    version, since, ref, undo = writes[i]
    if undo is None:
        return True
    f, values = ref(), _values_before(t, writes, i)
    if f is None or values is None:
        return False
    f._data = values
    writes[i] = (version, since, ref, None)
    return True


def rebuild(node: Any) -> None:
    """Gives a hollow former node (see ``hollow_values``) its values, for those who show them
    (``viz``); nothing for any other node, or when the values cannot be known."""
    ref = getattr(node, "_internal", None)
    t = ref() if isinstance(ref, weakref.ref) else None
    entry = _FORMERS.get(id(t)) if t is not None else None
    if entry is None or entry[0]() is not t:
        return
    writes = entry[1]
    for i, e in enumerate(writes):
        if e[2]() is node:
            _rebuilt(t, writes, i)
            return


def _values_before(t: Any, writes: list, i: int) -> Optional[np.ndarray]:
    """``t``'s values just before the write ``writes[i]``: from the first later former node
    that kept all its values (else ``t``'s values now), the regions each write overwrote put
    back, latest first. None when they cannot be known: a former node was freed, or the
    memory changed outside the graph after that write."""
    d = t._data
    if valid_since(t) != writes[-1][0]:
        return None
    for j in range(i + 1, len(writes)):
        if writes[j][1] != writes[j - 1][0]:  # (a change outside the graph between two writes)
            return None
    values, start = None, len(writes)
    for j in range(i, len(writes)):
        if writes[j][3] is None:
            f = writes[j][2]()
            if f is None:
                return None
            if np.may_share_memory(f._data, d) or f._data.shape != d.shape:
                return None  # (a former node sharing t's memory does not hold the values as they were)
            values, start = f._data.copy(order="K"), j
            break
    if values is None:
        values = d.copy(order="K")
    for j in range(start - 1, i - 1, -1):
        if not _put_back(values, *writes[j][3]):
            return None
    return values


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
    region._stamp = max(getattr(f, "_stamp", 0), f._v) + 0.5  # (a constant former has no stamp)
    return region


def buffer_of(t: Any) -> Any:
    """``(owner, [t])`` when ``t`` is a view made outside the graph of a tensor that required
    no grad then (``v = out[1]`` while ``out`` was a constant: ``t._home``, ``ops.base._home``),
    so that an in-place change of ``v`` writing a value that requires grad writes through to
    ``out``, as torch's (``out`` joins the graph); else None."""
    base = t._data.base
    home = getattr(t, "_home", None) if base is not None and t._op is None and not t.requires_grad else None
    if home is None or not home[1]:
        return None
    owner = home[0]
    if owner._data is not base or (owner.requires_grad and owner._op is None):
        return None
    return (owner, [t]) if dense_order(base) is not None else None


def constant_views(owner: Any, skip: Any = ()) -> list:
    """The views ``owner._views`` made outside the graph while ``owner`` was a constant
    (``ops.base._home``) that still share its memory and are still constants, but those in
    ``skip``: a write in the graph makes them regions of ``owner``'s new values."""
    views = getattr(owner, "_views", None)
    d = owner._data
    if not views or d.base is not None or dense_order(d) is None:
        return []
    return [v for v in list(views) if v._op is None and not v._rg and v._data.base is d
            and all(v is not c for c in skip)]


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
    t._op, t._parents, t._ctx, t._rg, t._bs = r._op, r._parents, r._ctx, r._rg, r._bs
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
