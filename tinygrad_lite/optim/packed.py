"""Small parameters of a group kept in one flat array, for update rules that treat every
element alike and keep no state (SGD without momentum: ``p <- p - lr g``).

Updating a small parameter costs far more in Python and in numpy's per-call work than in
arithmetic: two numpy calls per parameter, for a bias of 16 numbers. When a group's small
parameters (fewer than ``PACK_MAX`` elements each, one floating dtype) are views into one
flat array, the rule runs once on that array and one concatenation of their gradients:
three numpy calls for the group, whatever the number of parameters. Each element is
computed exactly as the rule computes it parameter by parameter, so the weights are the
same bits either way.

A parameter moves into the flat array only when nothing but its Tensor holds its array
(no view, no ``detach()``, no array a user passed in and kept): its values are copied, and
its ``data`` is from then on a view of the flat array, so nobody can observe the move. The
pack is used while every member's ``data`` is still its view, in the group's order, and
every member has an array gradient of the pack's dtype this step; otherwise the step is
taken parameter by parameter (and the pack is built afresh when a member's ``data`` was
replaced, e.g. by ``load_state_dict`` or ``p.data = ...``).

Touches: ``Optimizer.__dict__["_packs"]`` (id of a group -> its Pack or None) and the
members' ``_data`` and ``_v``.
"""

from __future__ import annotations

import sys
from typing import Any, Optional

import numpy as np

from .._blas import MIN_SIZE
from ..ops.base import updated
from ..tensor import Tensor

__all__ = ["PACK_MAX", "Pack", "apply", "usable"]

# elements: a larger parameter's own update is dominated by arithmetic (and SGD gives it to BLAS's
# axpy, whose rounding may differ from numpy's multiply-then-subtract, which both roads use below it)
PACK_MAX = MIN_SIZE


class Pack:
    """Parameters ``params`` (in their group's order) whose data are ``views`` of ``flat``."""

    __slots__ = ("flat", "params", "views")

    def __init__(self, params: list) -> None:
        dtype = params[0]._data.dtype
        self.flat = np.empty(sum(p._data.size for p in params), dtype)
        self.params = params
        self.views = []
        at = 0
        for p in params:
            d = p._data
            view = self.flat[at:at + d.size].reshape(d.shape)
            view[...] = d
            at += d.size
            p._data = view
            self.views.append(view)

    def intact(self) -> bool:
        """Whether every member's data is still its view of the flat array."""
        for p, v in zip(self.params, self.views):
            if p._data is not v:
                return False
        return True


def _movable(p: Any, g: Any) -> bool:
    """Whether ``p`` may move into a pack: a small floating leaf Tensor whose array owns its
    memory, is held by nothing else (the Tensor's slot and this call's argument are the two
    references counted) and has an array gradient of its dtype this step."""
    if type(p) is not Tensor or p._op is not None or type(g) is not np.ndarray:
        return False
    d = p._data
    return (type(d) is np.ndarray and d.size < PACK_MAX and d.dtype.kind == "f" and g.dtype is d.dtype
            and d.base is None and d.flags.c_contiguous and d.flags.writeable and sys.getrefcount(p._data) <= 3)


def _build(group_items: list) -> Optional[Pack]:
    """A pack of the movable parameters of one group (of the first one's dtype), or None
    when fewer than two are movable (one parameter saves nothing)."""
    members = [p for _, p, g in group_items if _movable(p, g)]
    if members:
        dtype = members[0]._data.dtype
        members = [p for p in members if p._data.dtype is dtype]
    return Pack(members) if len(members) >= 2 else None


_USABLE: dict = {}  # class -> whether its update_flat is the rule its update() runs


def usable(opt: Any) -> bool:
    """Whether ``opt.update_flat`` computes what ``opt.update`` does: both (and ``flat_group``)
    come from the same class, which a subclass with a rule of its own does not meet."""
    cls = type(opt)
    ok = _USABLE.get(cls)
    if ok is None:
        owner = next((c for c in cls.__mro__ if "update_flat" in vars(c)), None)
        ok = _USABLE[cls] = owner is not None and vars(owner)["update_flat"] is not None and all(
            getattr(cls, name) is getattr(owner, name) for name in ("update", "flat_group"))
    return ok and not ("update" in opt.__dict__ or "update_flat" in opt.__dict__)


def apply(opt: Any, work: list) -> list:
    """Run ``opt.update_flat(flat, gflat, group)`` for each group's pack where it can be used
    (``opt.flat_group(group)`` and the conditions in the module docstring); return the items
    of ``work`` ((group, parameter, gradient), grouped by group) left for the per-parameter
    loop. Each packed parameter's version is advanced as a step's change requires."""
    packs = opt.__dict__.setdefault("_packs", {})
    rest: list = []
    i, n = 0, len(work)
    while i < n:
        group = work[i][0]
        j = i + 1
        while j < n and work[j][0] is group:
            j += 1
        items = work[i:j]
        i = j
        if not opt.flat_group(group):
            rest += items
            continue
        key = id(group)
        pack = packs.get(key)
        if pack is None or not pack.intact():
            pack = packs[key] = _build(items)
            if pack is None:
                rest += items
                continue
            for p in pack.params:  # (the entry the per-parameter loop creates for a stepped parameter)
                opt.state[p]
        members, dtype = pack.params, pack.flat.dtype
        m, k = len(members), 0
        grads: list = []
        left: list = []
        for item in items:
            g = item[2]
            if k < m and item[1] is members[k] and type(g) is np.ndarray and g.dtype is dtype:
                grads.append(g)
                k += 1
            else:
                left.append(item)
        if k < m:  # a member without such a gradient this step: parameter by parameter
            rest += items
            continue
        opt.update_flat(pack.flat, np.concatenate(grads, axis=None), group)
        v = updated(pack.flat)  # (one write into the whole flat array: every member's memory changed)
        for p in members:
            p._v = v
        rest += left
    return rest
