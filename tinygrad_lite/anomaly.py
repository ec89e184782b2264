"""Anomaly detection: find the op (and the line of user code) that first made a NaN or Inf.

Inside ``with tl.detect_anomaly():`` (per thread, like grad mode) every recorded op
remembers the module path and the file and line of the user's code that created it, and

* a forward op that turns finite inputs into a non-finite output raises
  ``FloatingPointError`` at once;
* a backward step that turns a finite cotangent into a non-finite one raises
  ``FloatingPointError`` naming the op that did it.

Outside the context nothing is recorded or checked, so normal runs pay nothing.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, Optional

import numpy as np

from .batchstate import module_path
from .graph import ThreadFlag

_PKG = os.path.dirname(os.path.abspath(__file__))


class detect_anomaly(ThreadFlag):
    """Context manager (and decorator): raise ``FloatingPointError`` at the first op whose
    forward turns finite inputs into NaN/Inf, or whose backward turns a finite cotangent
    into NaN/Inf, naming the op, its module path and the user's file and line. Per thread."""

    attr = "anomaly"

    def __init__(self, check_nan: bool = True) -> None:
        if not isinstance(check_nan, bool):
            raise TypeError(f"detect_anomaly: check_nan must be a bool, got {check_nan!r}")
        self._init(check_nan)


def _user_frame() -> tuple:
    """(file, line) of the innermost caller outside this package."""
    f: Optional[Any] = sys._getframe(2)
    while f is not None:
        fn = os.path.abspath(f.f_code.co_filename)
        if not fn.startswith(_PKG + os.sep):
            return fn, f.f_lineno
        f = f.f_back
    return "<unknown>", 0


def _finite(x: Any) -> bool:
    try:
        return bool(np.all(np.isfinite(x)))
    except TypeError:  # integer or bool arrays
        return True


def where(node: Any) -> str:
    """'op 'name' in module 'path' (created at file:line)' for an op node."""
    src = getattr(node, "_src", None)
    name = node._op.name if node._op is not None else "leaf"
    if src is None:
        return f"op '{name}'"
    path, fn, line = src
    mod = f" in module '{path}'" if path else ""
    return f"op '{name}'{mod} (created at {fn}:{line})"


def created(t: Any) -> None:
    """Called for every op node built inside ``detect_anomaly``: remember where, and check
    that a finite forward stays finite."""
    fn, line = _user_frame()
    t._src = (module_path(), fn, line)
    if not _finite(t.data) and all(_finite(p.data) for p in t._parents):
        raise FloatingPointError(f"detect_anomaly: the forward of {where(t)} turned finite inputs into "
                                 "NaN/Inf")


def backward_check(inner: Optional[Callable]) -> Callable:
    """A walker trace hook that raises at the first step turning a finite cotangent into a
    non-finite one (chained with ``inner``, the caller's own trace, if any)."""

    def hook(node: Any, g: Any, grads: tuple) -> None:
        if inner is not None:
            inner(node, g, grads)
        if grads and _finite(g):
            for p, gp in zip(node._parents, grads):
                if gp is not None and not _finite(gp):
                    pname = getattr(p, "name", None) or f"input of shape {np.shape(p.data)}"
                    raise FloatingPointError(
                        f"detect_anomaly: the backward of {where(node)} turned a finite cotangent into NaN/Inf "
                        f"for its parent {pname}")

    return hook
