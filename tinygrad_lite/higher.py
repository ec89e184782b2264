"""Higher-order gradients: the backward sweep of ``create_graph=True``.

It is the one walker of ``graph`` run over stand-ins of the graph's nodes (``_Lifted``):
a stand-in's op calls the real op's ``tvjp`` (its vjp written with Tensor ops) where the
plain sweep calls the numpy ``vjp``, the reduction hook ``fit`` sums a broadcast cotangent
with Tensor ops, and the walker adds the cotangents of a node used twice with Tensor ``+``.
Every cotangent is thus a Tensor recorded in the graph (grad mode is on during the sweep,
as in PyTorch): dL/dx is a function of x built from differentiable ops, and can be
differentiated again, any number of times. The plain sweep is not touched.

An op without a differentiable backward refuses such a sweep (``NotImplementedError``
naming it) before any ``.grad`` is written. Nothing per-sample is kept: a batched input
behaves as with ``per_sample=False``. Backward hooks (``register_hook``, a module's
backward hooks) see numpy cotangents and are refused here too.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Optional

import numpy as np

from . import graph
from . import ops as _ops
from .ops import base
from .tensor import Tensor

__all__ = ["backward", "grads", "recompute"]


class _Lifted:
    """The stand-in of the graph node ``t`` in a ``create_graph`` sweep."""

    __slots__ = ("t", "_parents", "_op", "_rg", "_data")
    _internal = False  # (the sweep writes its grad: see the setter)

    @property
    def _grad(self) -> Any:
        return self.t._grad

    @_grad.setter
    def _grad(self, g: Tensor) -> None:  # a non-leaf's .grad: its values, as the plain sweep writes them
        self.t._grad = np.array(g._data)

    @property
    def _last_batch(self) -> Any:
        return self.t._last_batch

    @_last_batch.setter
    def _last_batch(self, value: Any) -> None:  # (the sweep records no batch: all_reduce_gradients asks for n=)
        self.t._last_batch = value

    def _accumulate(self, g: Tensor) -> None:
        self.t._accumulate(np.array(g._data))
        if id(self.t) in graph.POST_HOOKS:
            from . import hooks

            hooks.after_accumulate(self.t)


class _OnTensors:
    """The op of every lifted non-leaf: the real op's vjp on Tensors."""

    name = "create_graph"

    @staticmethod
    def vjp(n: _Lifted, g: Tensor) -> tuple:
        t = n.t
        grads = t._op.tvjp(t, g)
        at = getattr(t._op, "tvjp_reads", None)  # (set on the ops whose torch backward reads such a value)
        if at is None or not graph.state.grad:
            return grads
        # a cotangent that came out constant (relu's, abs's: a derivative piecewise constant in
        # the input) is still a function of the value torch's backward reads there (relu's
        # output, abs's input), with derivative 0: a gradient taken of it gives zeros there, as
        # torch's, not "unused"
        x = t if at < 0 else t._parents[at]
        return tuple(_KEPT(gp, x) if isinstance(gp, Tensor) and not gp._rg and x._rg else gp for gp in grads)


class _Kept(base.Op):
    """``g`` unchanged, and a function of ``x`` with derivative 0."""

    name, rule = "kept", "d/dg = 1, d/dx = 0"

    def __call__(self, g: Tensor, x: Tensor) -> Tensor:
        return base.make(g._data, self, (g, x), None, True)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        return g, np.zeros(node._parents[1]._data.shape, node._parents[1]._data.dtype)

    def tvjp(self, node: Any, g: Tensor) -> tuple:
        return g, base.const(np.zeros(node._parents[1]._data.shape, node._parents[1]._data.dtype))


_KEPT = _Kept()


class _NoGrad:
    requires_grad = _rg = False
    _op = None


_OP, _NONE = _OnTensors(), _NoGrad()


def lift(order: list, wanted: Optional[set] = None, leaves: Optional[set] = None) -> dict:
    """Stand-ins of the nodes of ``order`` (parents first), by ``id`` of the real node. With
    ``wanted`` (ids of tensors), only the nodes a wanted one is reached from take cotangents,
    and a node none of whose parents leads to a wanted one ends the sweep (as a leaf): a
    branch that leads to no wanted input is not differentiated at all. The nodes of
    ``leaves`` (ids) end the sweep whatever made them."""
    m: dict = {}
    for t in order:
        n = _Lifted()
        n.t, n._data = t, t._data
        if leaves is not None and id(t) in leaves:
            n._parents, n._op, n._rg = (), None, wanted is None or id(t) in wanted
            m[id(t)] = n
            continue
        n._parents = ps = tuple(m.get(id(p), _NONE) for p in t._parents)
        if wanted is None:
            n._op, n._rg = (None if t._op is None else _OP), True
        else:
            up = any(p._rg for p in ps)
            n._op, n._rg = (_OP if up else None), up or id(t) in wanted
        m[id(t)] = n
    return m


def fit(p: Any, g: Tensor) -> Tensor:
    """The walker's reduction hook on Tensors: ``g`` summed over the axes broadcasting added
    or stretched, to ``p``'s shape, and cast to its dtype (differentiable ops)."""
    d = p._data
    if g.shape != d.shape:
        k = g.ndim - d.ndim
        axes = tuple(range(k)) + tuple(k + i for i, n in enumerate(d.shape) if n == 1 and g.shape[k + i] != 1)
        if axes:
            g = _ops.SUM(g, axes, True)
        g = _ops.RESHAPE(g, d.shape)
    if g.dtype != d.dtype:
        g = _ops.CAST(g, d.dtype)
    return g


def seed(gradient: Any, arr: np.ndarray) -> Tensor:
    """The sweep's seed as a Tensor: ``gradient`` itself when it is a Tensor that requires grad
    (the result is then differentiable with respect to it too), else the constant ``arr``."""
    if isinstance(gradient, Tensor) and gradient.requires_grad:
        return gradient if gradient.dtype == arr.dtype else gradient.astype(arr.dtype)
    return base.const(arr)


def _refuse_hooks(order: list) -> None:
    table = graph.TENSOR_HOOKS
    for t in order if table else ():
        entry = table.get(id(t))
        if entry is not None and entry[0]() is t and entry[1]():
            raise NotImplementedError(f"create_graph=True: the tensor of shape {t._data.shape} has a backward hook "
                                      "(register_hook, or a module's backward hook); hooks see numpy cotangents and "
                                      "are not supported with create_graph")


def _on_arrays(trace: Optional[Callable]) -> Optional[Callable]:
    """A trace hook (a user's, or anomaly mode's) called with the real nodes and the values."""
    if trace is None:
        return None

    def hook(n: _Lifted, g: Tensor, gs: tuple) -> None:
        trace(n.t, g._data, tuple(None if x is None else x._data for x in gs))

    return hook


def _sweep(t: Tensor, s: Tensor, order: list, trace: Optional[Callable], ctx: Any, writes: bool,
           wanted: Optional[set] = None, leaves: Optional[set] = None) -> None:
    _refuse_hooks(order)
    m = lift(order, wanted, leaves)
    st = graph.state
    anomaly = st.anomaly
    if anomaly:  # each step is checked as the plain sweep checks it, naming the op differentiated
        from .anomaly import backward_check
        trace = backward_check(trace)
    with graph.enable_grad():
        st.anomaly = False  # (not the forward checks of the ops the steps are made of)
        try:
            graph.backward(m[id(t)], s, fit, _on_arrays(trace), ctx, list(m.values()), writes)
        finally:
            st.anomaly = anomaly


def backward(t: Tensor, s: Tensor, order: list, trace: Optional[Callable] = None) -> None:
    """``t.backward(create_graph=True)`` from the seed ``s``: the leaves' ``.grad`` accumulate
    the gradient's values (numpy arrays, as the plain sweep's). A warning says so where torch's
    ``.grad`` would be a Tensor in the graph: a penalty built from ``.grad`` is a constant here."""
    warnings.warn("backward(create_graph=True): .grad holds the gradient's values as numpy arrays, so anything "
                  "computed from .grad is a constant to a later backward; for gradients to differentiate again "
                  "(a gradient penalty, a Hessian-vector product) use tl.autograd.grad(outputs, inputs, "
                  "create_graph=True)", UserWarning, stacklevel=3)
    _sweep(t, s, order, trace, None, True)


class _Take:
    """A sweep context keeping the (Tensor) cotangents reaching the wanted tensors."""

    def __init__(self, wanted: set, found: dict) -> None:
        self.wanted, self.found = wanted, found

    def _take(self, n: _Lifted, g: Tensor) -> None:
        k = id(n.t)
        if k in self.wanted:
            old = self.found.get(k)
            self.found[k] = g if old is None else old + g

    def visit(self, n: _Lifted, g: Tensor, gs: tuple) -> None:
        self._take(n, g)

    def finish(self, leaves: list) -> None:
        for n, g in leaves:
            self._take(n, g)


def grads(outs: list, seeds: list, orders: list, ins: list, stop: bool = False) -> dict:
    """``autograd.grad(..., create_graph=True)``: id of each input reached -> its gradient,
    a Tensor recorded in the graph (``seeds``: one Tensor per output). With ``stop`` the
    inputs end the sweep (leaves): their own histories are not differentiated."""
    wanted = {id(t) for t in ins}
    found: dict = {}
    for t, s, order in zip(outs, seeds, orders):
        _sweep(t, s, order, None, _Take(wanted, found), False, wanted, wanted if stop else None)
    return found


def recompute(node: Any, g: Tensor, fn: Callable) -> tuple:
    """An op's ``tvjp`` by recomputation: ``fn(*parents)`` rebuilds the node's output with
    differentiable ops (the same maths as its forward), and a nested ``create_graph`` sweep
    from it with the seed ``g`` gives the parents' cotangents as Tensors. The sweep covers
    the rebuilt nodes only (those newer than ``node``): the parents are its leaves (they end
    the sweep), so a parameter that also reaches a parent through the older graph (a layer
    applied twice, a bias made from the weight) takes only this op's own cotangent here, not
    the one through that parent's history (the outer sweep adds that one)."""
    ps = node._parents
    out = fn(*ps)
    want = [p for p in ps if p.requires_grad]
    if not (want and out.requires_grad):
        return tuple(None for _ in ps)
    from .conventions import checked_order
    mine, stamp = {id(p) for p in ps}, node._stamp
    order = [t for t in checked_order(out) if t._op is None or id(t) in mine or t._stamp > stamp]
    found = grads([out], [g], [order], want, stop=True)
    # (a tensor that is two of the parents, einsum(x, x): its whole cotangent goes to the first)
    return tuple(found.get(id(p)) if p.requires_grad and all(q is not p for q in ps[:i]) else None
                 for i, p in enumerate(ps))
