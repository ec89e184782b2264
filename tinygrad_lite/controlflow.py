"""torch's structured control flow, run eagerly: ``tl.cond(pred, true_fn, false_fn, operands)``
and ``tl.while_loop(cond_fn, body_fn, carried_inputs)``.

``cond`` returns ``true_fn(*operands)`` if ``pred`` else ``false_fn(*operands)``;
``while_loop`` runs ``val = body_fn(*val)`` while ``cond_fn(*val)``. The branch and the body
are called on the operands themselves, so the graph they build is the one recorded:
gradients (and per-sample gradients) flow through the branch taken and every iteration.

The checks are torch's. ``cond`` takes ``pred`` a bool (or a Python number) or a tensor of
one element, and ``operands`` a tuple or list. With a Python ``pred`` nothing else is
checked, as in torch. With a tensor ``pred`` torch compiles both branches, so it also
requires tensor leaves in ``operands`` and branches whose outputs have the same structure,
with tensors of the same dtype and number of axes (sizes may differ) or ints at each
leaf; to check this the branch not taken is run too, on detached copies of the operands,
without recording a graph and with the library's random generator restored afterwards (a
branch must not write to anything else, as torch requires). ``while_loop`` takes carried
inputs (a tuple or list; leaves tensors or ints), a ``cond_fn`` giving a bool or a 0-d bool
tensor, and a ``body_fn`` giving as many leaves as were carried, each a tensor of the same
shape and dtype (an int where an int was carried); with no iteration the carried inputs are
returned as copies. The module keeps no state.
"""

from __future__ import annotations

import numbers
from typing import Any, Callable, Sequence

import numpy as np

from ._pytree import flatten, same_structure, spec_str, unflatten
from .graph import no_grad
from .ops.base import ArgumentError
from .random import fork_rng
from .tensor import Tensor

__all__ = ["cond", "while_loop"]


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral)


def _operands(who: str, name: str, operands: Any, allow_int: bool) -> list:
    """The leaves of ``operands`` (a tuple or list of nested tuples, lists and dicts), each a
    Tensor (or an int when ``allow_int``)."""
    if not isinstance(operands, (tuple, list)):
        raise TypeError(f"{who}: {name} must be a tuple or list, got {type(operands).__name__}")
    leaves = flatten(operands)[0]
    for v in leaves:
        if not (isinstance(v, Tensor) or (allow_int and _is_int(v))):
            kinds = "tensors or ints" if allow_int else "tensors"
            raise ArgumentError(f"{who}: {name} must be a tuple of (nested tuples, lists or dicts of) {kinds}, "
                                f"got a leaf of type {type(v).__name__}")
    return leaves


def _pred(pred: Any) -> bool:
    if isinstance(pred, Tensor):
        if pred.data.size != 1:
            raise ArgumentError(f"cond: pred must be a bool or a one-element tensor, got a tensor of shape "
                                f"{pred.data.shape}")
        return bool(pred.data.reshape(()))
    if isinstance(pred, (bool, np.bool_, numbers.Real)):
        return bool(pred)
    raise ArgumentError(f"cond: pred must be a bool or a tensor, got {type(pred).__name__}")


def _copy(v: Any) -> Any:
    return v.detach().clone() if isinstance(v, Tensor) else v


def _same_outputs(a: Any, b: Any) -> None:
    """torch's rule for the two branches' outputs: one structure, and at each leaf two tensors
    of one dtype and number of axes, or two ints."""
    if not same_structure(a, b):
        raise ArgumentError(f"cond: the branches must return the same structure, got "
                            f"{spec_str(flatten(a)[1])} and {spec_str(flatten(b)[1])}")
    for k, (x, y) in enumerate(zip(flatten(a)[0], flatten(b)[0])):
        if isinstance(x, Tensor) and isinstance(y, Tensor):
            if x.data.dtype != y.data.dtype or x.data.ndim != y.data.ndim:
                raise ArgumentError(f"cond: output {k} of the branches differs: dtype {x.data.dtype} with "
                                    f"{x.data.ndim} axes against dtype {y.data.dtype} with {y.data.ndim} axes")
        elif not all(_is_int(v) and not isinstance(v, (bool, np.bool_)) for v in (x, y)):
            raise ArgumentError(f"cond: each output of a branch must be a tensor (in both branches) or an int, "
                                f"got {type(x).__name__} and {type(y).__name__} at output {k}")


def cond(pred: Any, true_fn: Callable, false_fn: Callable, operands: Sequence = ()) -> Any:
    """``true_fn(*operands)`` if ``pred`` else ``false_fn(*operands)``, with torch's checks
    (see the module docstring): ``pred`` a bool or a one-element tensor."""
    for name, f in (("true_fn", true_fn), ("false_fn", false_fn)):
        if not callable(f):
            raise TypeError(f"cond: {name} must be callable, got {type(f).__name__}")
    take = _pred(pred)
    if not isinstance(operands, (tuple, list)):
        raise TypeError(f"cond: operands must be a tuple or list, got {type(operands).__name__}")
    if not isinstance(pred, Tensor):
        return (true_fn if take else false_fn)(*operands)
    leaves = _operands("cond", "operands", operands, False)
    copies = unflatten(flatten(operands)[1], [_copy(v) for v in leaves])
    with no_grad(), fork_rng():  # the other branch: for its output's structure only
        other = (false_fn if take else true_fn)(*copies)
    out = (true_fn if take else false_fn)(*operands)
    _same_outputs(out, other)
    return out


def _cond_value(c: Any) -> bool:
    if isinstance(c, (bool, np.bool_)):
        return bool(c)
    if isinstance(c, Tensor) and c.data.shape == () and c.data.dtype == np.bool_:
        return bool(c.data)
    what = f"a tensor of shape {c.data.shape} and dtype {c.data.dtype}" if isinstance(c, Tensor) else \
        type(c).__name__
    raise ArgumentError(f"while_loop: cond_fn must return a bool or a 0-d bool tensor, got {what}")


def while_loop(cond_fn: Callable, body_fn: Callable, carried_inputs: Sequence) -> Any:
    """``val = carried_inputs; while cond_fn(*val): val = body_fn(*val)``; returns the last
    ``body_fn`` output (copies of the carried inputs if it never ran), with torch's checks on
    each iteration's output (see the module docstring)."""
    who = "while_loop"
    if not callable(cond_fn) or not callable(body_fn):
        raise TypeError(f"{who}: cond_fn and body_fn must be callable, got {type(cond_fn).__name__} and "
                        f"{type(body_fn).__name__}")
    first = _operands(who, "carried_inputs", carried_inputs, True)
    spec = flatten(carried_inputs)[1]
    val, out, ran = carried_inputs, None, False
    while _cond_value(cond_fn(*val)):
        out, ran = body_fn(*val), True
        leaves = flatten(out)[0]
        if len(leaves) != len(first):
            raise ArgumentError(f"{who}: body_fn must return as many values as carried_inputs holds "
                                f"({len(first)}), got {len(leaves)}")
        for k, (new, old) in enumerate(zip(leaves, first)):
            if isinstance(old, Tensor):
                if not isinstance(new, Tensor) or new.data.shape != old.data.shape or \
                        new.data.dtype != old.data.dtype:
                    got = f"shape {new.data.shape}, dtype {new.data.dtype}" if isinstance(new, Tensor) else \
                        type(new).__name__
                    raise ArgumentError(f"{who}: body_fn's output {k} must be a tensor of the carried shape "
                                        f"{old.data.shape} and dtype {old.data.dtype}, got {got}")
            elif not _is_int(new) or isinstance(new, Tensor):
                raise ArgumentError(f"{who}: body_fn's output {k} must be an int (an int was carried), got "
                                    f"{type(new).__name__}")
        val = unflatten(spec, leaves)
    if ran:
        return out
    return unflatten(spec, [v.clone() if isinstance(v, Tensor) else v for v in first])
