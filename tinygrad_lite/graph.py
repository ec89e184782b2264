"""The graph walker shared by the scalar engine (`Value`) and the tensor engine (`Tensor`).

A node is any object with these attributes:

* ``_parents``: tuple of parent nodes (empty for a leaf);
* ``_op``: ``None`` for a leaf, else an op object with ``name`` and ``vjp(node, g)``;
  ``vjp`` returns one cotangent per parent (``None`` where no gradient is needed);
* ``requires_grad``: only nodes with ``requires_grad`` take part in backward;
* ``grad``: the gradient stored after backward;
* ``_accumulate(g)``: how a leaf adds ``g`` to its ``grad``.

The walker knows nothing about numpy. Given the root and its seed cotangent it

1. orders the graph topologically, iteratively (no recursion, so a chain of a million
   nodes is fine);
2. visits nodes from the root towards the leaves, popping each node's pending cotangent
   ``dL/dnode`` from a dict, so memory of a cotangent is released as soon as it is used;
3. applies the chain rule ``dL/dparent += vjp(dL/dnode)``; a node used twice sums both
   contributions;
4. stores ``dL/dnode`` in ``node.grad`` for every non-leaf (overwritten, it is the latest
   backward's gradient) and ACCUMULATES it into leaves, after the whole pass succeeded.

The engines differ only in ``fit(parent, g)``, the hook that reduces a cotangent to its
parent's shape (numpy broadcasting for tensors, nothing for scalars).
"""

from __future__ import annotations

import gc
from typing import Any, Callable, Optional

__all__ = ["toposort", "backward", "no_grad", "enable_grad", "is_grad_enabled"]

_GRAD = [True]


def is_grad_enabled() -> bool:
    """True unless inside a ``no_grad()`` block."""
    return _GRAD[0]


class no_grad:
    """Context manager (and decorator): nothing built inside it records a graph.

    >>> with no_grad():
    ...     y = x * 2          # y.requires_grad is False, y has no parents
    """

    def __enter__(self) -> "no_grad":
        self._prev = _GRAD[0]
        _GRAD[0] = False
        return self

    def __exit__(self, *exc: Any) -> None:
        _GRAD[0] = self._prev

    def __call__(self, fn: Callable) -> Callable:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__():
                return fn(*args, **kwargs)

        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__doc__ = getattr(fn, "__doc__", None)
        return wrapper


class enable_grad(no_grad):
    """Context manager that turns graph recording back on inside a ``no_grad`` block."""

    def __enter__(self) -> "enable_grad":
        self._prev = _GRAD[0]
        _GRAD[0] = True
        return self


def toposort(root: Any) -> list:
    """Nodes reachable from ``root`` through ``requires_grad`` nodes, parents first.

    Iterative depth-first search: each node is pushed once unexpanded and once as a
    marker; it is emitted when its marker is popped, after all its parents.
    """
    order: list = []
    seen: set = set()
    stack: list = [(root, False)]
    push = stack.append
    pop = stack.pop
    emit = order.append
    mark = seen.add
    while stack:
        node, expanded = pop()
        if expanded:
            emit(node)
            continue
        if node in seen:
            continue
        mark(node)
        push((node, True))
        for p in node._parents:
            if p.requires_grad and p not in seen:
                push((p, False))
    return order


class gc_paused:
    """Pause Python's cycle collector for the duration of a backward sweep.

    A sweep allocates many short-lived objects but creates no reference cycles, so the
    collector has nothing to find; left on, it would re-scan the whole (large) graph many
    times per sweep. The previous state is restored on exit.
    """

    def __enter__(self) -> None:
        self._was_on = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: Any) -> None:
        if self._was_on:
            gc.enable()


def backward(root: Any, seed: Any, fit: Optional[Callable[[Any, Any], Any]] = None,
             trace: Optional[Callable[[Any, Any, tuple], None]] = None) -> None:
    """Reverse-mode sweep from ``root`` with cotangent ``seed`` (dL/droot).

    ``fit(parent, g)`` reduces a cotangent to the parent's shape; ``trace(node, g, grads)``,
    if given, is called after each node's vjp with the cotangent it received and the ones
    it sends to its parents (the backward trace of ``tl.viz``).
    """
    with gc_paused():
        _sweep(root, seed, fit, trace)


def _sweep(root: Any, seed: Any, fit: Optional[Callable[[Any, Any], Any]],
           trace: Optional[Callable[[Any, Any, tuple], None]]) -> None:
    order = toposort(root)
    pending = {root: seed}
    pop = pending.pop
    get = pending.get
    leaves = []
    for node in reversed(order):
        g = pop(node, None)
        if g is None:
            continue
        op = node._op
        if op is None:
            leaves.append((node, g))
            if trace is not None:
                trace(node, g, ())
            continue
        node.grad = g
        grads = op.vjp(node, g)
        if trace is not None:
            trace(node, g, grads)
        for p, gp in zip(node._parents, grads):
            if gp is None or not p.requires_grad:
                continue
            if fit is not None:
                gp = fit(p, gp)
            q = get(p)
            pending[p] = gp if q is None else q + gp
    for leaf, g in leaves:
        leaf._accumulate(g)
