r"""``tl.autograd.forward_ad``: PyTorch's dual-tensor API for forward-mode derivatives.

::

    with fwAD.dual_level():
        x = fwAD.make_dual(primal, tangent)      # x carries the direction v = tangent
        y = f(x)
        out, jvp = fwAD.unpack_dual(y)           # jvp = J_f(primal) v

How it is computed here: the library records reverse-mode graphs only, so a dual tensor is
a node of the graph (an identity of its primal that requires grad) registered with its
tangent, and ``unpack_dual(y)`` computes ``J v`` from the graph between the duals and ``y``
by the double-backward trick: with a cotangent ``u`` of ``y``'s shape, ``g(u) = J^T u`` is
linear in ``u`` and ``d<g(u), v>/du = J v`` (two reverse sweeps, the first recorded with
``create_graph=True``; the values are exact, not finite differences). Every op on the path
needs a differentiable backward (the ``create_graph`` ones), and the forward must run with
grad mode on (the graph is what carries the tangent). ``unpack_dual`` of a tensor that no
dual of the level reaches has tangent ``None``, as in torch.

The level's duals are kept in a per-thread stack of levels (weakly: a dual that is
garbage-collected leaves it); leaving ``dual_level()`` forgets them.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from typing import Any, Iterator, NamedTuple, Optional

import numpy as np

from . import autograd as _ag
from . import graph
from .tensor import Tensor

__all__ = ["dual_level", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual", "UnpackedDualTensor"]


class UnpackedDualTensor(NamedTuple):
    """What ``unpack_dual`` returns: the primal value and its tangent (``J v``, or None)."""

    primal: Any
    tangent: Optional[Tensor]


class _Levels(threading.local):
    def __init__(self) -> None:
        self.stack: list = []  # one dict per open level: id(dual) -> (weak ref to the dual, tangent)


_levels = _Levels()


def enter_dual_level() -> int:
    """Open a new level (``dual_level()`` does this for a block); returns its index."""
    _levels.stack.append({})
    return len(_levels.stack) - 1


def exit_dual_level(*, level: Optional[int] = None) -> None:
    """Close the innermost level (``level``, if given, must be it): its duals lose their tangents."""
    if not _levels.stack:
        raise RuntimeError("forward_ad.exit_dual_level: no dual level is open")
    if level is not None and (isinstance(level, bool) or not isinstance(level, int)
                              or level != len(_levels.stack) - 1):
        raise RuntimeError(f"forward_ad.exit_dual_level: level {level!r} is not the innermost open level "
                           f"({len(_levels.stack) - 1})")
    _levels.stack.pop()


@contextlib.contextmanager
def dual_level() -> Iterator[int]:
    """A block inside which dual tensors carry tangents."""
    level = enter_dual_level()
    try:
        yield level
    finally:
        exit_dual_level(level=level)


def _table(where: str, level: Optional[int]) -> dict:
    if not _levels.stack:
        raise RuntimeError(f"forward_ad.{where}: no dual level is open; use `with forward_ad.dual_level():`")
    if level is None:
        return _levels.stack[-1]
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level < len(_levels.stack):
        raise RuntimeError(f"forward_ad.{where}: level {level!r} is not an open dual level")
    return _levels.stack[level]


def make_dual(tensor: Tensor, tangent: Any, *, level: Optional[int] = None) -> Tensor:
    """A tensor with ``tensor``'s values carrying the direction ``tangent`` (same shape;
    cast to ``tensor``'s floating dtype). Gradients of a reverse pass through it still reach
    ``tensor`` when that requires grad."""
    table = _table("make_dual", level)
    if not isinstance(tensor, Tensor):
        raise TypeError(f"forward_ad.make_dual: tensor must be a Tensor, got {type(tensor).__name__}")
    if tensor.dtype.kind != "f":
        raise TypeError(f"forward_ad.make_dual: the primal must be floating point, got dtype {tensor.dtype}")
    t = tangent._data if isinstance(tangent, Tensor) else np.asarray(tangent)
    if t.dtype.kind not in "fiub":
        raise TypeError(f"forward_ad.make_dual: the tangent must be a Tensor or an array of real numbers, got "
                        f"{type(tangent).__name__} (dtype {t.dtype})")
    if t.shape != tensor.shape:
        raise ValueError(f"forward_ad.make_dual: the tangent's shape {t.shape} differs from the primal's "
                         f"{tensor.shape}")
    if not graph.state.grad:
        raise RuntimeError("forward_ad.make_dual: grad mode is off (no_grad); the tangent is carried by the "
                           "recorded graph, so forward-mode derivatives need it on")
    if tensor.requires_grad:
        dual = tensor.view(tensor.shape) if hasattr(tensor, "view") else tensor * 1
    else:
        dual = tensor.detach().requires_grad_(True)
    if isinstance(tangent, Tensor) and tangent.requires_grad:  # (a tangent that is itself differentiated)
        tan = tangent if tangent.dtype == tensor.dtype else tangent.to(tensor.dtype)
    else:
        tan = Tensor(np.array(t, dtype=tensor.dtype))
    table[id(dual)] = (weakref.ref(dual), tan)
    return dual


def unpack_dual(tensor: Any, *, level: Optional[int] = None) -> UnpackedDualTensor:
    """``(tensor, J v)``: the tangent of ``tensor`` along the level's duals (None when no dual
    of the level reaches it, or outside any level)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"forward_ad.unpack_dual: tensor must be a Tensor, got {type(tensor).__name__}")
    if not _levels.stack:
        return UnpackedDualTensor(tensor, None)
    table = _table("unpack_dual", level)
    entry = table.get(id(tensor))
    if entry is not None and entry[0]() is tensor:
        return UnpackedDualTensor(tensor, entry[1])
    if not tensor.requires_grad or not table:
        return UnpackedDualTensor(tensor, None)
    reached = {id(t) for t in graph.toposort(tensor)}
    duals = [(ref(), v) for key, (ref, v) in list(table.items()) if key in reached and ref() is not None]
    if not duals:
        return UnpackedDualTensor(tensor, None)
    u = Tensor(np.zeros(tensor.shape, tensor.dtype), requires_grad=True)
    gs = _ag.grad([tensor], [d for d, _ in duals], grad_outputs=[u], create_graph=True, allow_unused=True)
    with graph.enable_grad():
        terms = [(g * v).sum() for g, (_, v) in zip(gs, duals) if g is not None and g.requires_grad]
    if not terms:  # J^T u does not depend on u: y does not depend on the duals after all
        return UnpackedDualTensor(tensor, Tensor(np.zeros(tensor.shape, tensor.dtype)))
    with graph.enable_grad():
        dot = terms[0]
        for t in terms[1:]:
            dot = dot + t
    # J v stays a function of the primals and tangents outside that require grad (reverse over forward)
    outer = any(v.requires_grad or d._op is not None for d, v in duals)
    (jv,) = _ag.grad([dot], [u], allow_unused=True, materialize_grads=True, create_graph=outer)
    return UnpackedDualTensor(tensor, jv if outer else Tensor(np.array(jv._data, dtype=tensor.dtype)))
