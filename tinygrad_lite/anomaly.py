"""Anomaly detection: find the op (and the line of user code) that first made a NaN or Inf.

Inside ``with tl.detect_anomaly():`` (per thread, like grad mode) every recorded op node
remembers where it was made, ``node._src = (module path, file, line)``: the dotted path of
the innermost running module (``'layers.2'``; ``''`` outside any module) and the file and
line of the innermost frame outside this package (the user's code, not the library's). Then

* a forward op whose inputs are all finite and whose output holds a NaN or an Inf raises
  ``FloatingPointError`` at once (with ``.node`` the new node, ``.operands`` its inputs and
  ``.op`` the op's name, so ``tl.viz.draw_graph(exc)`` draws the graph that led there);
* a backward step that receives a finite cotangent ``g = dL/dnode`` and sends a non-finite
  one to a parent (``sqrt`` at 0: ``g / (2 sqrt(0)) = inf``) raises ``FloatingPointError``
  naming the op that did it (``.node`` is that op's node); so does a node whose finite
  cotangents add up to Inf (two branches of 1.5e308); no leaf's ``grad`` is written.

An op that records nothing (no input requires grad, or ``no_grad``) is checked in the
forward as well (a preprocessing step that divides 0 by 0), and named by its op.

Outside the context nothing is recorded or checked, so normal runs pay nothing; other
threads are unaffected. ``detect_anomaly(check_nan=False)`` switches checking off inside an
enclosing block (as in PyTorch); blocks nest and restore the previous mode on exit.
"""

from __future__ import annotations

import math
import os
import sys
from typing import Any, Callable, Optional

import numpy as np

from .batchstate import module_path
from .graph import ThreadFlag, state

__all__ = ["detect_anomaly", "where"]

_PKG = os.path.dirname(os.path.abspath(__file__)) + os.sep


class detect_anomaly(ThreadFlag):
    """Context manager (and decorator): raise ``FloatingPointError`` at the first op whose
    forward turns finite inputs into NaN/Inf, or whose backward turns a finite cotangent
    into NaN/Inf, naming the op, its module path and the user's file and line. Per thread.

    >>> with tl.detect_anomaly():
    ...     loss = model(x).log().mean()   # FloatingPointError here if log meets a 0
    ...     loss.backward()                # ... or here, at the op whose vjp makes the Inf
    """

    attr = "anomaly"

    def __init__(self, check_nan: bool = True) -> None:
        if not isinstance(check_nan, bool):
            raise TypeError(f"detect_anomaly: check_nan must be a bool, got {check_nan!r}")
        self._init(check_nan)


# ------------------------------------------------------------------------------ where ------
def _user_frame() -> tuple:
    """(file, line) of the innermost frame outside this package: the user's code."""
    f: Optional[Any] = sys._getframe(1)
    while f is not None:
        fn = os.path.abspath(f.f_code.co_filename)
        if not fn.startswith(_PKG):
            return fn, f.f_lineno
        f = f.f_back
    return "<unknown>", 0


def _bad(x: Any) -> str:
    """'' when every entry of ``x`` is finite, else 'NaN', 'Inf' or 'NaN and Inf'."""
    if type(x) is float:
        return "" if math.isfinite(x) else ("NaN" if x != x else "Inf")
    a = np.asarray(x)
    if a.dtype.kind not in "fc" or np.isfinite(a).all():
        return ""
    nan, inf = bool(np.isnan(a).any()), bool(np.isinf(a).any())
    return "NaN and Inf" if nan and inf else ("NaN" if nan else "Inf")


def where(node: Any) -> str:
    """``op 'log' in module 'layers.2' (created at file.py:12)`` for an op node; the module
    and place are known for nodes built inside ``detect_anomaly``."""
    name = node._op.name if node._op is not None else "leaf"
    src = getattr(node, "_src", None)
    if src is None:
        return f"op '{name}' (built outside detect_anomaly, so its place is unknown)"
    path, fn, line = src
    mod = f"in module '{path}'" if path else "outside any module"
    return f"op '{name}' {mod} (created at {fn}:{line})"


def _parent_name(node: Any, i: int) -> str:
    p = node._parents[i]
    nm = getattr(p, "name", None)
    kind = "leaf" if p._op is None else f"output of '{p._op.name}'"
    shape = tuple(np.shape(p.data))
    return f"input {i} ({f'{nm!r}, ' if nm else ''}{kind}, shape {shape})"


# ------------------------------------------------------------------------------ forward ----
def _forward_error(node: Any, bad: str) -> FloatingPointError:
    e = FloatingPointError(f"detect_anomaly: the forward of {where(node)} turned finite inputs into {bad}")
    e.node = node  # type: ignore[attr-defined]
    e.operands = tuple(node._parents)  # type: ignore[attr-defined]
    e.op = node._op.name  # type: ignore[attr-defined]
    return e


def created(t: Any) -> None:
    """Called for every Tensor op node built inside ``detect_anomaly``: remember where, and
    check that a finite forward stays finite."""
    fn, line = _user_frame()
    t._src = (module_path(), fn, line)
    bad = _bad(t.data)
    if bad and not any(_bad(p.data) for p in t._parents) and not _bad_constant(t._ctx):
        raise _forward_error(t, bad)


def _bad_constant(ctx: Any) -> bool:
    """Whether the op's constants (kept as its ctx: the number of ``x + c``, the bounds of a
    clamp) include a non-finite float: an input already non-finite (``x + float('-inf')``)."""
    return any(type(c) is float and not math.isfinite(c) or isinstance(c, np.floating) and not np.isfinite(c)
               for c in (ctx if type(ctx) is tuple else (ctx,)))


def computed(t: Any, op: Any, parents: tuple, ctx: Any = None) -> None:
    """Called for a Tensor op built inside ``detect_anomaly`` that records nothing (no input
    requires grad, or ``no_grad``): the same forward check (``.node`` is the result, which
    has no op: ``.op`` names it)."""
    bad = _bad(t._data)
    if bad and not any(_bad(getattr(p, "_data", p)) for p in parents) and not _bad_constant(ctx):
        fn, line = _user_frame()
        path = module_path()
        mod = f"in module '{path}'" if path else "outside any module"
        e = FloatingPointError(f"detect_anomaly: the forward of op '{op.name}' {mod} (created at {fn}:{line}) "
                               f"turned finite inputs into {bad}")
        e.node = t  # type: ignore[attr-defined]
        e.operands = tuple(parents)  # type: ignore[attr-defined]
        e.op = op.name  # type: ignore[attr-defined]
        raise e


def note_value(v: Any) -> None:
    """Called for a ``Value`` op node built inside a module or inside ``detect_anomaly``:
    ``v._mod`` is the innermost running module (``draw_graph`` groups by it); in anomaly
    mode also ``v._src`` and the forward check, as for Tensors."""
    mods = state.modules
    if mods:
        v._mod = mods[-1]
    if state.anomaly:
        created(v)


# ------------------------------------------------------------------------------ backward ---
def backward_check(inner: Optional[Callable]) -> Callable:
    """A walker trace hook that raises at the first step turning a finite cotangent into a
    non-finite one (chained after ``inner``, the caller's own trace, if any)."""

    finite: dict = {}  # id(node) -> whether every cotangent sent to it so far was finite

    def hook(node: Any, g: Any, grads: tuple) -> None:
        if inner is not None:
            inner(node, g, grads)
        bad = _bad(g)
        if bad and finite.get(id(node)):  # finite parts that add up to Inf (NaN after an inf - inf)
            what = "leaf" if node._op is None else "output of " + where(node)
            named = f" {node.name!r}" if getattr(node, "name", None) else ""
            e = FloatingPointError(
                f"detect_anomaly: the cotangents sent to the {what}{named} of shape {tuple(np.shape(node.data))} "
                f"are finite but add up to {bad} (the sum overflows)")
            e.node = node  # type: ignore[attr-defined]
            raise e
        if not grads or bad:
            return
        for i, (p, gp) in enumerate(zip(node._parents, grads)):
            if gp is None or not p.requires_grad:
                continue
            bad = _bad(gp)
            finite[id(p)] = finite.get(id(p), True) and not bad
            if bad:
                rule = getattr(node._op, "rule", "")
                e = FloatingPointError(
                    f"detect_anomaly: the backward of {where(node)} turned a finite cotangent into {bad} "
                    f"for its {_parent_name(node, i)}" + (f"; its derivative rule: {rule}" if rule else ""))
                e.node = node  # type: ignore[attr-defined]
                raise e

    return hook
