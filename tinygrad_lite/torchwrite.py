"""In-place changes of a tensor: the rule every in-place method follows (``_assign``) and
torch's ``x[index] = value`` (``__setitem__``).

* Outside a recorded graph (``no_grad()``, or nothing involved requires grad) the data
  changes in place; a leaf that requires grad may change only under ``no_grad()``.
* Inside a recorded graph (the tensor, or the value written into it, requires grad) the
  change is recorded as torch records it: ``h.relu_()`` makes ``h`` the output of a relu
  whose input is ``h`` as it was. The tensor object keeps its identity and its memory (so
  aliases see the new values); its former node moves to a new internal Tensor holding a
  copy of the old values (a store ``x[index] = v`` that nothing else reads keeps only the
  region it overwrote: ``formers``), which the new op reads, and the ops of the value written read it
  too (``y[i] *= 2`` reads ``y[i]``). An op built BEFORE the change that used ``h`` finds its
  input out of date at backward, which then points it at that former node (``formers``). A view
  (a slice, reshape, transpose or diagonal sharing the memory of a tensor computed in the
  graph) changed in place writes through, as torch: that tensor becomes the node
  ``region_write`` of its former values and the view's new ones, and the view its ``region``
  (``ops.region``). Other views of that tensor which the caller holds (``z = y[1]``, also as
  the written value's argument, ``y[0].add_(z)``) see its new values, as torch's: the ops of
  the written value read a stand-in for their former values, and a held view becomes a region
  of the new values, at the write or, kept outside it, at the next backward
  (``formers.refresh_views``). A view taken of a tensor while it required no grad
  (``v = out[1]`` with ``out = tl.zeros(...)``, ``x.clone()``, ``h.detach()``) writes through
  to it the same way (``formers.buffer_of``). A view of a leaf that requires grad, or one
  taken under ``no_grad()`` of a value that requires grad, is refused.

A write gives the tensor a new version, which the backward of a graph built before it
checks (``formers``), and kept per-sample factors made from this memory are multiplied out
first.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from . import formers as _formers
from .conventions import DtypeError, ShapeMismatchError, check_fits, store
from .formers import (
    buffer_of,
    constant_views,
    hollow_values,
    note_store,
    remember,
    stand_in,
    take_node,
    undo_for,
    valid_since,
    view_chain,
)
from .graph import state, values_unread
from .intcast import int_fill
from .keptinputs import before_write
from .ops import base
from .ops.base import last_write, wrote
from .ops.elementwise import CAST
from .ops.indexing import torch_order
from .ops.layout import EXPAND, index_keeps_rows, indexed, normalise_index
from .ops.memory import _ONLY_LIST, _ONLY_SLOT, _count, _slot_count
from .ops.region import REGION, REGIONWRITE, layout_of, region
from .ops.scatter import INDEXPUT
from .ops.select import WHERE
from .torchextra import ExtraMethods

_new = object.__new__


class WriteMethods(ExtraMethods):
    """Mixin of ``Tensor`` (see the module docstring)."""

    __slots__ = ()

    def _writable(self, who: str, src: Any = None) -> None:
        """In-place writes are for data outside a graph (a leaf that requires grad only under
        ``no_grad()``, as torch); inside a recorded graph they are refused, not recorded."""
        if self._records(who, src):
            raise RuntimeError(f"{who}: in-place changes are not recorded in the graph; inside a graph build a new "
                               "tensor instead (clone(), where(), masked_fill()), or do it under `tl.no_grad()`")

    def _records(self, who: str, src: Any = None) -> bool:
        """Whether an in-place change by ``who`` (writing ``src``) is recorded in the graph;
        a leaf that requires grad is refused while gradients are recorded."""
        if not state.grad:
            return False
        if self.requires_grad and self._op is None:
            raise RuntimeError(f"{who}: a leaf tensor that requires grad cannot be changed in place while gradients "
                               "are recorded; do it inside `with tl.no_grad():`")
        home = getattr(self, "_home", None)
        if home is not None and not home[1] and self._op is None and home[0]._rg and home[0]._data is self._data.base:
            raise RuntimeError(f"{who}: this tensor (shape {self._data.shape}) is a view, taken under no_grad(), of a "
                               "tensor that requires grad; as in torch, it cannot be changed in place while "
                               "gradients are recorded: change it inside `with tl.no_grad():`, or take the view "
                               "outside no_grad()")
        return bool(self.requires_grad or getattr(src, "requires_grad", False))

    def _assign(self, who: str, src: Any, fn: Any, casting: str = "same_kind") -> Any:
        """This tensor takes the value of ``fn(x)``, out-of-place Tensor code run on this
        tensor as it is now: recorded in the graph when ``_records`` says so, else a plain
        write of the data. A result that does not fit this shape or dtype changes nothing."""
        if self._records(who, src):
            return recorded(self, who, fn, casting)
        try:
            values = fn(self).data
        except (ValueError, TypeError) as e:
            raise type(e)(f"{who}: {e}") from None
        return store(self, values, who, casting)

    def __setitem__(self, index: Any, value: Any) -> None:
        """``x[index] = value``: the indexed elements take ``value`` (a number, array or Tensor,
        broadcast to the indexed shape and converted to this tensor's dtype, as torch's); the
        index is anything ``x[index]`` reads (slices, ints, None, ``...``, integer or boolean
        arrays and Tensors). A value that does not broadcast raises a ``ValueError`` (also a
        ``RuntimeError``, as torch's) naming both shapes, and nothing is written. Inside a
        graph (this tensor or ``value`` requires grad) the write is recorded: the gradient
        reaches ``value`` from the written elements and the former values from the others."""
        parts = torch_order(index, self.data.shape)
        if parts is not None:  # (an integer apart from an index array: torch applies the integers
            self._records("setitem", value)  # first, so the write goes through that view, after
            self[parts[0]][parts[1]] = value  # the checks of a write into this tensor itself)
            return
        rec = self._records("setitem", value)
        d = self.data
        v = np.asarray(value.data if isinstance(value, base.Tensor) else value)
        idx, advanced = normalise_index(index, d.shape, "setitem")
        target = indexed(d, idx, "setitem", index)
        if advanced and isinstance(value, (base.Tensor, np.ndarray)) and v.dtype.kind == "f" and d.dtype.kind in "biu":
            raise DtypeError(f"setitem: an index array cannot store float values (dtype {v.dtype}) in a tensor of "
                             f"dtype {d.dtype}, as torch's index_put refuses (they would be truncated); convert "
                             "them first (.round().long(), .to(...))")
        if v.ndim == 0 and d.dtype.kind in "iu" and not isinstance(value, (base.Tensor, np.ndarray)):
            v = np.asarray(int_fill("setitem", value, d.dtype))  # a number: torch's range rule (no inf, nan, 1e30)
        if v.dtype.kind not in "biuf":
            raise TypeError(f"setitem: value of dtype {v.dtype} cannot be stored in a tensor of dtype {d.dtype}")
        extra = v.ndim - np.ndim(target)  # (leading size-1 axes of the value are dropped, as torch's)
        if extra > 0 and all(n == 1 for n in v.shape[:extra]):
            v = v.reshape(v.shape[extra:])
            if isinstance(value, base.Tensor):
                value = value.reshape(v.shape)
        try:
            np.broadcast_to(v, np.shape(target))
        except ValueError:
            raise ShapeMismatchError(f"setitem: a value of shape {v.shape} cannot be broadcast to the indexed shape "
                                     f"{np.shape(target)} (tensor shape {d.shape})") from None
        if not d.flags.writeable:
            raise ValueError("setitem: this tensor's data is read-only (a broadcast view, or an array marked "
                             "read-only)")
        if isinstance(value, base.Tensor) and _same_memory(value._data, target):
            return  # x[i] = x[i]: Python's `x[i] += v` stores the view it already changed in place
        if rec:
            vt = value if isinstance(value, base.Tensor) else base.const(v)
            if vt._data.dtype != d.dtype and d.dtype.kind == "f":
                vt = CAST(vt, d.dtype)
            keeps = bool(d.ndim) and index_keeps_rows(idx, d.shape)
            recorded(self, "setitem", lambda x, values=True: INDEXPUT(x, vt, idx, False, keeps, index_parts(index),
                                                                       values=values), "same_kind", region=idx)
            return
        before_write(self)  # kept gradients made from this memory are multiplied out first
        undo = undo_for(self, idx)  # (the values it overwrites may be needed to rebuild a former node)
        d[idx] = v
        self._v = wrote(d)
        if undo is not None:
            note_store(undo, self._v)


def _same_memory(a: np.ndarray, b: Any) -> bool:
    """Whether ``a`` and ``b`` are the same elements of the same memory (one view twice)."""
    return (isinstance(b, np.ndarray) and a.shape == b.shape and a.strides == b.strides and a.dtype == b.dtype
            and a.__array_interface__["data"][0] == b.__array_interface__["data"][0] and np.may_share_memory(a, b))


def index_parts(index: Any) -> tuple:
    """The Tensors of an index (their batch state decides whether a write mixes samples)."""
    parts = index if isinstance(index, tuple) else (index,)
    return tuple(i for i in parts if isinstance(i, base.Tensor))


def _former(t: Any, copy: bool = True) -> Any:
    """A new Tensor standing for ``t`` as it is now: its node (op, parents, batch state) and
    a copy of its values (its own array when ``copy`` is False: values that will not change)."""
    old = _new(base.Tensor)
    for cls in type(t).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            if slot not in ("__weakref__", "__dict__"):
                try:
                    setattr(old, slot, getattr(t, slot))
                except AttributeError:  # (a slot this node never set)
                    pass
    if copy:
        old._data = t._data.copy(order="K")  # (the same layout: views of t map onto it)
    return old


def _fresh(t: Any) -> bool:
    """True when ``t`` is an op's result whose array, though numpy made it a view (a reshaped
    or sliced private buffer, as logsumexp's or repeat's), shares no memory with its inputs:
    a new tensor, which an in-place change may overwrite, as in torch."""
    if t._op is None or not t._parents:
        return False
    for p in t._parents:
        root = getattr(p, "_data", None)
        while isinstance(root, np.ndarray) and isinstance(root.base, np.ndarray):
            root = root.base
        if not isinstance(root, np.ndarray) or np.may_share_memory(t._data, root):
            return False
    return True


def recorded(t: Any, who: str, fn: Any, casting: str, region: Any = None) -> Any:
    """``t`` becomes the node ``fn(former t)`` (see the module docstring); every check runs,
    and ``fn`` is computed, before ``t`` changes. A view of a tensor built in the graph is
    written through: that tensor becomes ``region_write(its former self, the new values)``
    and the view (with the views between them) its ``region`` (``ops.region``).

    ``region``: the index ``fn`` writes when its op (``index_put``) needs no values of the
    former ``t`` for its backward. The former node then keeps only the values of that region
    when nothing else reads it (a loop of stores into one buffer keeps the overwritten rows,
    not a copy of the buffer per store), and ``formers`` rebuilds its values if a backward
    needs them."""
    d = t._data
    view = None
    if d.base is not None:
        view = view_chain(t) or buffer_of(t)
        if view is None and not _fresh(t):
            raise RuntimeError(f"{who}: this tensor (shape {d.shape}) shares the memory of a tensor that is not a "
                               "result in this graph (a view of a leaf that requires grad, a view taken under "
                               "no_grad() of a value that requires grad, or an array from outside), so an in-place "
                               "change inside a recorded graph cannot be followed: write through that tensor itself "
                               "(x[index] = value), or change a clone() of this one")
    if not d.flags.writeable:
        raise ValueError(f"{who}: this tensor's data is read-only (an array marked read-only)")
    # (a hollow former node keeps no values: so only when its own op never reads them, as
    # index_put's backward, which needs only shapes; relu's or exp's reads its output)
    held = constant_views(t if view is None else view[0], () if view is None else view[1])
    hollow = region is not None and view is None and (t._op is None or t._op is INDEXPUT) and not held
    if view is None:
        old = _former(t, copy=not hollow)  # (hollow: fn reads t's values before the write, no copy kept)
    else:
        owner, chain = view
        old_owner = _former(owner)
        layouts = [layout_of(c._data, owner._data) for c in chain]
        old = stand_in(old_owner, layouts[0])
    try:
        r = fn(old, values=False) if hollow else fn(old)  # (hollow: r's values are a stand-in, see below)
    except (ValueError, TypeError) as e:
        raise type(e)(f"{who}: {e}") from None
    rd = r._data
    check_fits(who, rd, d, casting, r.requires_grad)
    if not r.requires_grad and t.requires_grad:  # (a comparison: the values, with a zero gradient, as torch)
        r = WHERE(base.const(np.True_), r, old)
        rd = r._data
    if rd.dtype != d.dtype:
        r = CAST(r, d.dtype)
    if rd.shape != d.shape:
        r = EXPAND(r, d.shape)
    if view is None:
        kept = _reads_former(r, t, old)
        undo = None
        if old._data is d:  # nothing but r reads the former values: keep the region it overwrites
            undo = (region, np.array(d[region]))
            old._data = hollow_values(d)
        old._internal = weakref.ref(t) if undo is not None else True  # (formers.rebuild finds t)
        since = valid_since(t)
        before_write(t)  # kept gradients made from this memory are multiplied out first
        if hollow:
            d[region] = r._parents[1]._data  # (the store itself: r holds no values)
        else:
            np.copyto(d, r._data)
        version = wrote(d)
        take_node(t, r, version)
        remember(t, old, version, since, undo)
        _regions_of(t, kept + [(v, stand_in(old, layout_of(v._data, d))) for v in held], version, since)
        return t
    kept = _reads_former(r, owner, old_owner)  # (first: the views' chains to the owner are intact)
    _reads_former(r, t, old)
    formers = [(t, old)]
    for c, lay in zip(chain[1:], layouts[1:]):  # (the views between them, as they were)
        formers.append((c, stand_in(old_owner, lay)))
        _reads_former(r, c, formers[-1][1])
    formers += [(v, stand_in(old_owner, layout_of(v._data, owner._data))) for v in held]
    old_owner._internal = True
    new = REGIONWRITE(old_owner, r, layouts[0], values=False)  # (the write below puts the values in place)
    since = valid_since(owner)
    before_write(owner)
    np.copyto(d, r._data)  # (into the owner's memory)
    version = wrote(d)
    take_node(owner, new, version)
    remember(owner, old_owner, version, since, _hollowed(owner, old_owner, old, layouts[0]))
    _regions_of(owner, formers + [(c, f) for c, f in kept if all(c is not v for v in chain)], version, since)
    return t


def _hollowed(owner: Any, old_owner: Any, old: Any, lay: tuple) -> Any:
    """After a write through a view: the former node of its owner keeps only the region the
    write overwrote (``old``, the view as it was, takes its own copy of it) when nothing else
    holds its values and its own backward reads none (``formers``). Returns the undo record,
    or None when the former node keeps all its values."""
    if old_owner._op not in (None, INDEXPUT, REGIONWRITE) or old._op is not REGION or old._parents[0] is not old_owner:
        return None
    old._data = np.array(old._data)
    if _slot_count(old_owner, "_data") != _ONLY_SLOT:  # (another stand-in or a moved view reads its values)
        return None
    old_owner._data = hollow_values(old_owner._data)
    old_owner._internal = weakref.ref(owner)
    return (_formers.AtLayout(lay), old._data)


def _regions_of(owner: Any, views: list, version: int, since: int) -> None:
    """The views of ``owner``'s memory, ``[(view, its former node)]``, become regions of its
    new values (``ops.region``); ops built before that read a view read its former node then
    (``formers``)."""
    d = owner._data
    for c, former in views:
        since_c = max(since, c._v)
        take_node(c, REGION(owner, layout_of(c._data, d)), version)
        remember(c, former, version, since_c)


def _reads_former(r: Any, t: Any, old: Any) -> list:
    """Ops of the written value ``r`` that read ``t`` read it as it was before the write, so
    they read ``old`` from now on (``y[:, 0] *= 3`` is ``y[:, 0] = y[:, 0] * 3``: its getitem
    read the former ``y``). Only nodes built since ``t``'s own node can read ``t``. A view of
    ``t`` that nothing but this graph holds (a temporary) moves to the former values. A view
    of ``t`` the caller keeps (``z = y[1]; y[0].add_(z)``) stays a view of ``t``: the ops of
    ``r`` read a stand-in for its former values instead, and ``[(kept view, its stand-in)]``
    is returned (the caller makes them regions of ``t``'s new values, as torch's views see
    the new values)."""
    d = t._data
    # (a node older than t's values, which a write through a view may have changed since t was
    # built, read other values: it is not moved, and its backward refuses)
    since = max(getattr(t, "_stamp", -1) if t._op is not None else -1, t._v, old._v, last_write(d))
    nodes, held, seen, todo = [], {}, set(), [r]
    while todo:
        node = todo.pop()
        nodes.append(node)
        for p in node._parents:
            if p._data.base is d:
                held[id(p)] = held.get(id(p), 0) + 1
            if p is not t and p._op is not None and p._stamp > since and id(p) not in seen:
                seen.add(id(p))
                todo.append(p)
    node = p = None  # (counted below: only the list and the parents may hold a node)
    if old._data is d and any((p is t or p._data.base is d) and node is not r and not values_unread(node, p)
                              for node in nodes for p in node._parents):
        old._data = d.copy(order="K")  # (a hollow former read by another op: it keeps all values)
    former = old._data
    same = former.strides == d.strides
    keep = set()  # (a view held elsewhere has more references)
    for i in range(len(nodes)):
        k = id(nodes[i])
        if k in held and (not same or _count(nodes, i) != _ONLY_LIST + held[k]):
            keep.add(k)
    stand_ins, kept = {}, []
    for node in nodes:
        if id(node) in keep and same and (view_chain(node) or (None,))[0] is t:
            stand_ins[id(node)] = stand_in(old, layout_of(node._data, d))
            kept.append((node, stand_ins[id(node)]))
    for node in nodes:
        if id(node) in keep:
            continue
        if any(p is t or id(p) in stand_ins for p in node._parents):
            node._parents = tuple(old if p is t else stand_ins.get(id(p), p) for p in node._parents)
        v = node._data
        if v.base is d and node is not r:
            node._data = region(former, layout_of(v, d))
    return kept


# torch's in-place twins ``x.name_(...)`` of out-of-place methods ``x.name(...)``: each stores
# ``x.name(...)`` in ``x`` by the rule above (a twin is defined when ``name`` exists)
VALUE_TWINS = (
    "absolute", "acos", "acosh", "addbmm", "addcdiv", "addcmul", "addmm", "addmv", "addr", "arccos", "arccosh",
    "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "asin", "asinh", "atan", "atan2", "atanh", "baddbmm",
    "bitwise_and", "bitwise_left_shift", "bitwise_not", "bitwise_or", "bitwise_right_shift", "bitwise_xor",
    "ceil", "copysign", "cos", "cosh", "cumprod", "cumsum", "deg2rad", "digamma", "divide", "eq", "erf", "erfc",
    "erfinv", "exp2", "expm1", "fix", "float_power", "floor", "floor_divide", "fmod", "frac", "gcd", "ge",
    "greater", "greater_equal", "gt", "heaviside", "hypot", "i0", "igamma", "igammac", "lcm", "ldexp", "le", "lerp",
    "less", "less_equal", "lgamma", "log", "log10", "log1p", "log2", "logical_and", "logical_not", "logical_or",
    "logical_xor", "logit", "lt", "multiply", "mvlgamma", "nan_to_num", "ne", "negative", "nextafter",
    "not_equal", "polygamma", "pow", "rad2deg", "reciprocal", "relu", "remainder", "renorm", "round", "rsqrt",
    "sgn", "sigmoid", "sign", "sin", "sinc", "sinh", "sqrt", "square", "subtract", "tan", "tanh", "tril",
    "triu", "true_divide", "trunc", "xlogy")
SHAPE_TWINS = ("squeeze", "unsqueeze", "t", "swapaxes", "swapdims")


def _grad_operand(args: tuple, kwargs: dict) -> Any:
    """The first operand that requires grad (None if none does)."""
    for a in (*args, *kwargs.values()):
        if getattr(a, "requires_grad", False):
            return a
    return None


def value_twin(name: str) -> Any:
    """The method ``name_``: ``name`` computed and stored in place."""
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return self._assign(name + "_", _grad_operand(args, kwargs), lambda x: getattr(x, name)(*args, **kwargs))

    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"``{name}`` in place: this tensor takes the values of ``self.{name}(...)`` (recorded in a graph)."
    return method


def shape_twin(name: str, who: str = "") -> Any:
    """The method ``name_`` (or ``who``): this tensor takes the shape (and view) of
    ``self.name(...)``; its values do not change, so its former node keeps the same memory.
    ``transpose_(dim0, dim1)`` is ``swapaxes``'s twin (torch has no other meaning for it)."""
    who = who or name + "_"

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not self._records(who):
            self._data = getattr(self, name)(*args, **kwargs)._data
            self._v = base.bump()
            return self
        old = _former(self, copy=False)  # (the values do not change: the former node may share them)
        old._internal = True
        r = getattr(old, name)(*args, **kwargs)
        since = valid_since(self)
        self._data = r._data
        version = base.bump()
        take_node(self, r, version)
        remember(self, old, version, since)
        return self

    method.__name__ = method.__qualname__ = who
    method.__doc__ = f"``{name}`` in place: this tensor takes the shape of ``self.{name}(...)``, values unchanged."
    return method


def detach_(self: Any) -> Any:
    """Cut this tensor from the graph in place: it becomes a leaf that does not require grad,
    with the same values (ops built before now that read it refuse to backward)."""
    self._op, self._parents, self._ctx, self._rg = None, (), None, False
    self._bs &= 1  # (keeps the batched flag, as ``detach()``)
    self._grad = self._lazy = None
    self._v = self._moved = base.bump()
    return self


def add_twins(cls: Any) -> None:
    """Give ``cls`` the in-place twins of the methods it has (and does not define itself)."""
    for name in VALUE_TWINS:
        if hasattr(cls, name) and not hasattr(cls, name + "_"):
            setattr(cls, name + "_", value_twin(name))
    for name in SHAPE_TWINS:
        if hasattr(cls, name) and not hasattr(cls, name + "_"):
            setattr(cls, name + "_", shape_twin(name))
    if hasattr(cls, "swapaxes") and not hasattr(cls, "transpose_"):  # torch's only meaning: swap dim0, dim1
        cls.transpose_ = shape_twin("swapaxes", "transpose_")
    if not hasattr(cls, "detach_"):
        cls.detach_ = detach_
