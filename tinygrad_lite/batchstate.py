"""Batch state: which nodes carry samples, tracked at forward time (one rule per op kind).

Every Tensor carries a batch state ``_bs`` (bit flags, computed once per op at forward):

* ``0``        independent of the batch (parameters and what is computed from them);
* ``BATCHED``  axis 0 indexes samples, and row b depends on sample b only;
* ``STAT``     a batch statistic: a mean or sum over the sample axis of batched terms,
               possibly combined LINEARLY with other statistics or constants (a cost);
* ``MIXED``    samples were mixed (``x - x.mean(0)``, ``x.T @ x``, a sum over axis 0 used
               inside the model, a non-linear function of a batch statistic ...); the node
               keeps in ``_mix`` which op did it and in which module.

An op's ``batch`` attribute names (or is) the rule here that computes its output's state.
Mixing is not an error at forward or backward time: ``.grad`` is always filled, and only
READING per-sample gradients of a mixed graph raises, quoting ``_mix``. This file also
holds ``unbroadcast`` / ``fit``, the walker's reduction hook for tensors.
It touches nothing but the nodes it is given and the thread's running-module stack.
"""

from __future__ import annotations

import itertools
from typing import Any, Optional

import numpy as np

from .graph import state

BATCHED, STAT, MIXED = 1, 2, 4


def module_path(stack: Optional[tuple] = None) -> str:
    """Dotted path of the innermost module of ``stack`` (default: the modules running now),
    e.g. ``layers.2``; '' outside any module."""
    stack = tuple(state.modules) if stack is None else stack
    names = []
    for parent, child in zip(stack, stack[1:]):
        # (a descendant, not only a child: a ModuleList or ModuleDict between them is never called)
        for name, m in parent.named_modules():
            if m is child and name:
                names.append(name)
                break
        else:
            names.append(type(child).__name__)
    if not names and stack:
        return type(stack[0]).__name__
    return ".".join(names)


def _where(why: str, stack: Optional[tuple] = None) -> str:
    where = module_path(stack)
    return why + (f" in module '{where}'" if where else " outside any module")


class _Origin:
    """Where a batch statistic was born: the op and the running modules, turned into text
    only if an error message needs it (the statistic is made on every training step)."""

    __slots__ = ("op", "stack")

    def __init__(self, op: str) -> None:
        self.op = op
        self.stack = tuple(state.modules)

    def __str__(self) -> str:
        return _where(f"op '{self.op}' over the sample axis", self.stack)


def stat_origin(op: str) -> _Origin:
    """Where a batch statistic is born (kept on STAT nodes, quoted by mixing errors)."""
    return _Origin(op)


def origin(parents: Any) -> tuple:
    """The batch a value made outside the graph from ``parents`` belongs to: the inputs made with
    ``batched=True`` that its batched parents come from. A per-sample gradient over ``x / 255``
    is of x's batch however often that value is made again (two costs over it add their rows).
    A constant made for a batch (a recurrent layer's zero state) keeps ``()``: it names none."""
    out: dict = {}
    for p in parents:
        if getattr(p, "_bs", 0) & BATCHED:
            o = getattr(p, "_origin", None)
            for q in (p,) if o is None else o:
                out[id(q)] = q
    return tuple(out.values())


_SERIALS = itertools.count(1)  # (next() on a count is atomic: two threads never get one number)


def batch_ident(leaves: Any, B: int) -> tuple:
    """What names the batch of a backward whose batched leaves are ``leaves``: ``(B, serials)``,
    the serial numbers of the inputs they come from (``origin``; each input gets one on first
    use, kept in its ``_bid``). Two records with equal idents are of one batch; serials are never
    reused (as ``id()`` is), so an ident still names its batch after the inputs are gone."""
    serials = []
    for q in origin(leaves):
        s = getattr(q, "_bid", None)
        if s is None:
            s = q._bid = next(_SERIALS)
        serials.append(s)
    return (B, tuple(sorted(serials)))


def _origin(*inputs: Any) -> Optional[_Origin]:
    for t in inputs:
        if getattr(t, "_bs", 0) & STAT:
            return t._mix
    return None


def mixed(why: str, *inputs: Any) -> tuple:
    """State MIXED with its reason: an input's earlier reason if it had one, else ``why``
    (and where the batch statistic involved came from)."""
    for t in inputs:
        if getattr(t, "_bs", 0) & MIXED:
            return MIXED, t._mix
    msg = _where(why)
    origin = _origin(*inputs)
    if origin:
        msg += f" (the batch statistic comes from {origin})"
    return MIXED, msg


def elementwise(op: str, out_shape: tuple, a: Any, b: Any, linear_in: str = "ab") -> tuple:
    """Batch state of an elementwise op of ``a`` and ``b`` with broadcast ``out_shape``.

    ``linear_in`` says in which operands the op is linear with the other operand fixed
    (``"ab"`` for +/-, ``"a"`` for a / b, ``"ab*"`` for a * b: linear in each alone).
    """
    sa, sb = a._bs, b._bs
    s = sa | sb
    if s & MIXED:
        return mixed(op, a, b)
    if s & BATCHED:
        if s & STAT:
            return mixed(f"op '{op}' combines a batch statistic (a mean/sum over the sample axis) "
                         "with per-sample values", a, b)
        for t in (a, b):
            if t._bs & BATCHED and (t._data.ndim != len(out_shape) or t._data.shape[0] != out_shape[0]):
                return mixed(f"op '{op}' broadcasts a batched operand of shape {t._data.shape} to "
                             f"{out_shape}, moving or repeating the sample axis")
        return BATCHED, None
    # STAT: allowed while the op is linear in the statistic and its other operand needs no grad
    if linear_in == "ab":
        return STAT, _origin(a, b)
    stat, other = (a, b) if sa & STAT else (b, a)
    if sa & STAT and sb & STAT:
        return mixed(f"op '{op}' multiplies/divides two batch statistics", a, b)
    if linear_in == "a" and stat is b:
        return mixed(f"op '{op}' divides by a batch statistic", a, b)
    if other.requires_grad:
        return mixed(f"op '{op}' multiplies a batch statistic by a value that requires grad "
                     "(its per-sample split is undefined)", a, b)
    return STAT, _origin(a, b)


def unary(op: str, x: Any, linear: bool = False) -> tuple:
    """Batch state of an elementwise function of one input."""
    s = x._bs
    if s & MIXED:
        return MIXED, x._mix
    if s & STAT and not linear:
        return mixed(f"op '{op}' applies a non-linear function to a batch statistic", x)
    return s, (x._mix if s & (MIXED | STAT) else None)


def derived(op: str, out_shape: Optional[tuple], *inputs: Any, over_samples: bool = False) -> tuple:
    """Batch state of a value computed WITHOUT a gradient from ``inputs`` (a comparison, a
    predicate, an index such as argmax): it carries no cotangent, but a mask or an index
    made from a batch statistic, or over the sample axis, makes whatever it selects depend
    on the other samples, so it is MIXED. Row b of a value computed row by row from
    batched inputs stays BATCHED (``over_samples``: the function reduced the sample axis)."""
    s = 0
    for t in inputs:
        s |= getattr(t, "_bs", 0)
    if not s:
        return 0, None
    if s & MIXED:
        return mixed(op, *inputs)
    if s & STAT:
        return mixed(f"op '{op}' computes a mask or an index from a batch statistic", *inputs)
    if over_samples:
        return mixed(f"op '{op}' reduces over the sample axis", *inputs)
    if out_shape is not None:
        for t in inputs:
            d = getattr(t, "_data", None)
            if getattr(t, "_bs", 0) & BATCHED and (d.ndim != len(out_shape) or d.shape[0] != out_shape[0]):
                return mixed(f"op '{op}' broadcasts a batched operand of shape {d.shape} to {out_shape}, "
                             "moving or repeating the sample axis", *inputs)
    return BATCHED, None


def reduction(op: str, x: Any, axes: Optional[tuple], is_sum_or_mean: bool) -> tuple:
    """Batch state of a reduction over ``axes`` (normalised, or None = all)."""
    s = x._bs
    if not s & BATCHED:
        if s & STAT and not is_sum_or_mean:
            return mixed(f"op '{op}' applied to a batch statistic", x)
        return s, (x._mix if s & (MIXED | STAT) else None)
    if axes is None or 0 in axes:
        if is_sum_or_mean:
            return STAT, stat_origin(op)
        return mixed(f"op '{op}' over the sample axis (axis 0)", x)
    return BATCHED, None


def along_axis(op: str, x: Any, axis: int) -> tuple:
    """Batch state of an op acting along one axis (softmax, log_softmax)."""
    s = x._bs
    if s & BATCHED and axis % x._data.ndim == 0:
        return mixed(f"op '{op}' along the sample axis (axis 0)", x)
    return unary(op, x)


def same_rows(op: str, x: Any, out: np.ndarray, keeps_rows: bool) -> tuple:
    """Batch state of a layout op (reshape, transpose, indexing)."""
    s = x._bs
    if s & BATCHED and not keeps_rows:
        return mixed(f"op '{op}' moves, merges or selects along the sample axis "
                     f"(shape {x._data.shape} -> {out.shape})", x)
    return s, (x._mix if s & (MIXED | STAT) else None)


def union(inputs: Any) -> int:
    """The batch-state flags of any of ``inputs``."""
    s = 0
    for t in inputs:
        s |= getattr(t, "_bs", 0)
    return s


def joined(op: str, ts: list, out_shape: tuple, along_samples: bool) -> tuple:
    """Batch state of concatenation: batched pieces keep their rows when joined along
    another axis (every piece then spans the same samples)."""
    s = union(ts)
    if s & MIXED:
        return mixed(op, *ts)
    if s & BATCHED:
        if s & STAT or along_samples:
            return mixed(f"op '{op}' joins along the sample axis or joins a batch statistic with "
                         "per-sample values", *ts)
        return BATCHED, None
    return STAT, _origin(*ts)


def matmul(a: Any, b: Any) -> tuple:
    """Batch state of ``a @ b``: samples stay independent when the batched operand keeps
    its axis 0 as a broadcast batch axis (x @ W with x (B, n) or (B, ..., m, n); W @ x with
    x (B, ..., n, k))."""
    sa, sb = a._bs, b._bs
    s = sa | sb
    if s & MIXED:
        return mixed("matmul", a, b)
    na, nb = a._data.ndim, b._data.ndim
    if s & STAT:
        if s & BATCHED:
            return mixed("op 'matmul' combines a batch statistic with per-sample values", a, b)
        if sa & STAT and sb & STAT:
            return mixed("op 'matmul' multiplies two batch statistics", a, b)
        other = b if sa & STAT else a
        if other.requires_grad:
            return mixed("op 'matmul' multiplies a batch statistic by a value that requires grad", a, b)
        return STAT, _origin(a, b)
    ok = True
    if sa & BATCHED:
        ok = (na == 2 and nb <= 2 and not sb & BATCHED) or (na >= 3 and nb <= na)
    if sb & BATCHED and ok:
        ok = nb >= 3 and na <= nb
    if not ok:
        return mixed(f"op 'matmul' of shapes {a._data.shape} @ {b._data.shape} contracts or moves the "
                     "sample axis", a, b)
    return BATCHED, None


# --------------------------------------------------------------- unbroadcasting ----------
def unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``g`` (a cotangent of numpy's broadcast of an array of ``shape``) back to ``shape``:
    d/dx of sum_j y_j with y = broadcast(x) adds the cotangents of all copies of x_i."""
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g


def unbroadcast_keep0(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Like ``unbroadcast`` to ``(B, *shape)``: axis 0 of ``g`` is the sample axis and is kept."""
    B = g.shape[0]
    rest = g.shape[1:]
    if len(shape) <= len(rest):
        extra = len(rest) - len(shape)
        if extra:
            g = g.sum(axis=tuple(range(1, 1 + extra)))
        axes = tuple(i + 1 for i, n in enumerate(shape) if n == 1 and g.shape[i + 1] != 1)
        if axes:
            g = g.sum(axis=axes, keepdims=True)
        return g
    # the parameter's own axis 0 lines up with the sample axis
    inner = unbroadcast_keep0(g, shape[1:])
    if shape[0] == 1:
        return inner.reshape((B, 1) + tuple(shape[1:]))
    out = np.zeros((B,) + tuple(shape), dtype=g.dtype)
    ar = np.arange(B)
    out[ar, ar] = inner
    return out


def fit(p: Any, g: np.ndarray) -> np.ndarray:
    """The walker's reduction hook for tensors: cotangent to the parent's shape and dtype."""
    d = p._data
    if g.shape != d.shape:
        g = unbroadcast(g, d.shape)
    if g.dtype is not d.dtype and g.dtype != d.dtype:
        g = g.astype(d.dtype)
    return g
