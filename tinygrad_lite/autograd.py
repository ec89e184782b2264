"""``tl.autograd``: gradients of outputs with respect to chosen inputs, with PyTorch's names.

``grad(outputs, inputs, grad_outputs)`` returns ``sum_k d<outputs[k], grad_outputs[k]>/d input``
for each input (a vector-Jacobian product) by the same reverse sweep as
``Tensor.backward``, but takes the cotangents of the inputs itself: no ``.grad`` (of a leaf or
of an intermediate result) and nothing per-sample is written. ``backward(tensors,
grad_tensors)`` is ``Tensor.backward`` for a list of tensors (their gradients add up).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Optional, Sequence, Union

import numpy as np

from . import graph
from .batchstate import fit
from .conventions import check_bool, check_flags, checked_order, seed_of
from .tensor import Tensor

__all__ = ["grad", "backward"]

Tensors = Union[Tensor, Sequence[Tensor]]


class _Collect:
    """A sweep context that keeps the cotangents reaching the wanted tensors (and writes no
    ``.grad``): an intermediate one's when the sweep visits it, a leaf's at the end."""

    def __init__(self, wanted: dict, found: dict) -> None:
        self.wanted, self.found = wanted, found

    def _take(self, node: Any, g: Any) -> None:
        if id(node) in self.wanted:
            old = self.found.get(id(node))
            self.found[id(node)] = np.array(g) if old is None else old + g

    def visit(self, node: Any, g: Any, grads: tuple) -> None:
        self._take(node, g)

    def finish(self, leaves: list) -> None:
        for leaf, g in leaves:
            self._take(leaf, g)


def _tensors(where: str, name: str, value: Any) -> list:
    """``value`` as a list of Tensors: one Tensor, or any iterable of them (a list, a generator,
    ``filter(...)``, ``dict.values()``, as torch takes); else ``TypeError`` naming ``name``."""
    items = None
    if isinstance(value, Tensor):
        items = [value]
    elif not isinstance(value, (str, bytes, np.ndarray)) and isinstance(value, Iterable):
        items = list(value)
    if items is None or not all(isinstance(t, Tensor) for t in items):
        raise TypeError(f"{where}: {name} must be a Tensor or an iterable of Tensors, got {type(value).__name__}")
    return items


def _grad_list(where: str, grads: Any, n: int) -> list:
    if grads is None:
        return [None] * n
    items = [grads] if isinstance(grads, Tensor) or (isinstance(grads, np.ndarray) and n == 1) else list(grads)
    if len(items) != n:
        raise ValueError(f"{where}: got {len(items)} gradient(s) for {n} output(s)")
    return items


def grad(outputs: Tensors, inputs: Tensors, grad_outputs: Any = None, retain_graph: Optional[bool] = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: Optional[bool] = None,
         is_grads_batched: bool = False, materialize_grads: bool = False) -> tuple:
    """The gradients ``sum_k J_k^T v_k`` of ``outputs`` (``v_k`` = ``grad_outputs[k]``, 1 for a
    one-element output when None) with respect to each of ``inputs``, as a tuple of Tensors.

    No ``.grad`` is changed. An input the outputs do not depend on raises RuntimeError unless
    ``allow_unused`` (its entry is None) or ``materialize_grads`` (zeros). With
    ``create_graph=True`` the gradients are computed with differentiable ops (module ``higher``):
    they require grad when they depend on a tensor that does, and can be differentiated again
    (Hessian-vector products, gradient penalties); a ``grad_outputs`` Tensor that requires
    grad takes part too; a batched input keeps nothing per-sample (as ``per_sample=False``).
    ``is_grads_batched=True``: axis 0 of every ``grad_outputs`` entry indexes B cotangents, and
    each gradient comes back stacked, of shape (B, *input.shape) (one sweep per cotangent);
    ``retain_graph`` and ``only_inputs`` are accepted (the graph lives while referenced).
    """
    where = "autograd.grad"
    graphed = check_flags(where, retain_graph, create_graph)
    check_bool(where, "only_inputs", only_inputs)
    if check_bool(where, "is_grads_batched", is_grads_batched):
        return _batched(where, outputs, inputs, grad_outputs, create_graph, allow_unused, materialize_grads)
    if check_bool(where, "materialize_grads", materialize_grads) and allow_unused is False:
        raise ValueError(f"{where}: materialize_grads=True needs allow_unused True or None, got allow_unused=False")
    allow_unused = materialize_grads if allow_unused is None else check_bool(where, "allow_unused", allow_unused)
    outs = _tensors(where, "outputs", outputs)
    ins = _tensors(where, "inputs", inputs)
    if not ins:
        raise RuntimeError(f"{where}: inputs cannot be empty")
    for i, t in enumerate(ins):
        if not t.requires_grad:
            raise RuntimeError(f"{where}: input {i} (shape {t.shape}) does not require grad")
    given = _grad_list(where, grad_outputs, len(outs))
    seeds = [seed_of(t, g, where) for t, g in zip(outs, given)]
    orders = [checked_order(t) for t in outs]  # every check before any sweep
    if graphed:
        from . import higher
        found = higher.grads(outs, [higher.seed(g, s) for g, s in zip(given, seeds)], orders, ins)
        return _results(where, ins, found, allow_unused, materialize_grads, lambda g: g)
    found = {}
    ctx = _Collect({id(t): t for t in ins}, found)
    trace = None
    if graph.state.anomaly:
        from .anomaly import backward_check
        trace = backward_check(None)
    for t, seed, order in zip(outs, seeds, orders):
        graph.backward(t, seed, fit, trace, ctx, order, writes=False)
    return _results(where, ins, found, allow_unused, materialize_grads, Tensor)


def _batched(where: str, outputs: Tensors, inputs: Tensors, grad_outputs: Any, create_graph: bool,
             allow_unused: Optional[bool], materialize: bool) -> tuple:
    """``grad`` with ``is_grads_batched=True``: one vector-Jacobian product per row b of the
    cotangents, ``grad(outputs, inputs, [v[b] for v in grad_outputs])``, stacked along a new
    axis 0 (differentiably with ``create_graph``); an input no output reaches stays None."""
    if grad_outputs is None:
        raise RuntimeError(f"{where}: is_grads_batched=True needs grad_outputs (a batch of cotangents per output)")
    outputs, inputs = _tensors(where, "outputs", outputs), _tensors(where, "inputs", inputs)  # (iterables: once)
    gs = _grad_list(where, grad_outputs, len(outputs))
    sizes = {np.shape(g.data if isinstance(g, Tensor) else g)[:1] for g in gs}
    if len(sizes) != 1 or () in sizes:
        raise ValueError(f"{where}: with is_grads_batched=True every grad_outputs entry needs the same leading "
                         f"(batch) axis, got leading sizes {sorted(sizes)}")
    (B,), = sizes
    rows = [grad(outputs, inputs, [g[b] for g in gs], create_graph=create_graph, allow_unused=allow_unused,
                 materialize_grads=materialize) for b in range(B)]
    ins = _tensors(where, "inputs", inputs)
    out = []
    for i, t in enumerate(ins):
        col = [r[i] for r in rows]
        if B == 0:
            out.append(Tensor(np.zeros((0,) + t.shape, t.dtype)))
        elif any(c is None for c in col):
            out.append(None)
        elif create_graph:
            from .ops.layout import stack
            out.append(stack(col, 0))
        else:
            out.append(Tensor(np.stack([c._data for c in col])))
    return tuple(out)


def _results(where: str, ins: list, found: dict, allow_unused: bool, materialize: bool, wrap: Any) -> tuple:
    """The gradient of each input (``wrap`` makes a found one a Tensor), None or zeros when unused."""
    result = []
    for i, t in enumerate(ins):
        g = found.get(id(t))
        if g is None and not allow_unused:
            raise RuntimeError(f"{where}: input {i} (shape {t.shape}) was not used in the graph of the outputs; "
                               "pass allow_unused=True to get None for it")
        if g is None and materialize:
            result.append(Tensor(np.zeros_like(t._data)))
        else:
            result.append(None if g is None else wrap(g))
    return tuple(result)


def backward(tensors: Tensors, grad_tensors: Any = None, retain_graph: Optional[bool] = None,
             create_graph: bool = False, inputs: Optional[Tensors] = None) -> None:
    """``Tensor.backward`` of each of ``tensors`` with its gradient (``grad_tensors[k]``, 1 for a
    one-element tensor when None): the leaves' ``.grad`` get the sum. With ``inputs``, only
    those tensors' ``.grad`` are accumulated (by :func:`grad`)."""
    where = "autograd.backward"
    graphed = check_flags(where, retain_graph, create_graph)
    ts = _tensors(where, "tensors", tensors)
    gs = _grad_list(where, grad_tensors, len(ts))
    if inputs is not None:
        ins = _tensors(where, "inputs", inputs)
        for t, g in zip(ins, grad(ts, ins, gs, allow_unused=True, create_graph=graphed)):
            if g is not None:
                t._accumulate(np.array(g._data) if graphed else g._data)
                t._last_batch = None  # (a batch this pass does not record: all_reduce_gradients asks for n=)
                if id(t) in graph.POST_HOOKS:
                    from . import hooks

                    hooks.after_accumulate(t)
        return
    for t, g in zip(ts, gs):
        seed_of(t, g, where)  # every check before any sweep
    for t, g in zip(ts, gs):
        t.backward(g, retain_graph=retain_graph, create_graph=graphed)
