r"""Activation checkpointing (torch's ``torch.utils.checkpoint``): a segment of the forward
keeps no intermediate values; its backward runs the segment's forward again to get them.

``checkpoint(fn, *args, **kwargs)`` returns ``fn(*args, **kwargs)`` (a Tensor, or tuples,
lists and dicts nesting them: every tensor in it is an output). Inside the graph the
call is ONE node (a ``tl.autograd.Function``) whose parents are the Tensor arguments and
every tensor the segment reads from outside (its parameters, tensors it closes over or
gets as keywords). Its vjp recomputes the segment with recording on and sweeps the
recomputed nodes only, from the outputs' cotangents to those parents:

    dL/dinput = J_fn(input)^T dL/doutput     (the same values as without checkpointing)

so the memory of a segment's intermediate values is held during its own backward only,
at the price of a second forward. The default random generator's state is restored for
the recomputation (``preserve_rng_state``), so dropout draws the same masks. A recomputed
output whose shape or dtype differs from the first run's raises.

Per-sample gradients: the node keeps the segment's batch state; a parameter inside the
segment gets its per-sample gradient on read, from one recomputation per sample (exact,
and slower than without checkpointing). Higher order: under ``create_graph=True`` the
recomputed sweep is itself recorded.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from .. import _pytree, graph
from .. import random as _random
from ..autograd import _Collect
from ..autograd_function import Function
from ..batchstate import fit
from ..conventions import check_bool, checked_order
from ..ops import base
from ..tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential"]


def _outputs(out: Any) -> tuple:
    """The leaves of the segment's output (a Tensor, or tuples/lists/dicts nesting them) and
    its structure, so tensors inside nested containers are outputs of the node too."""
    leaves, spec = _pytree.flatten(out)
    return tuple(leaves), spec


def _boundary(outs: tuple, since: int, skip: set) -> list:
    """The tensors the segment read from outside: leaves requiring grad and nodes built
    before the segment started (stamp ``< since``), reached from its outputs."""
    found, seen = [], set(skip)
    stack = [o for o in outs if isinstance(o, Tensor) and o.requires_grad]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if t._op is None or t._stamp < since:
            if t.requires_grad:
                found.append(t)
            continue
        stack.extend(p for p in t._parents if p.requires_grad)
    return found


class _Segment:
    """One checkpointed call: the function, its arguments and the random state it ran with."""

    def __init__(self, fn: Callable, args: tuple, kwargs: dict, preserve: bool) -> None:
        self.fn, self.args, self.kwargs = fn, args, kwargs
        gen = _random.default_generator()
        self.rng = gen.bit_generator.state if preserve else None
        # the arguments enter as fresh leaves: their history is outside the segment
        self.leaves = [a.detach().requires_grad_(a.requires_grad) if isinstance(a, Tensor) else a for a in args]
        since = base.bump()
        with graph.enable_grad():
            out = fn(*self.leaves, **kwargs)
        outs, self.spec = _outputs(out)
        self.meta = [(o._data.shape, o._data.dtype) if isinstance(o, Tensor) else None for o in outs]
        self.boundary = _boundary(outs, since, {id(a) for a in self.leaves if isinstance(a, Tensor)})
        # what the node returns: the values with their batch state, no graph (it is dropped here)
        self.values = tuple(base.make(o._data, None, (), None, False, o._bs, getattr(o, "_mix", None) if o._bs
                                      else None) if isinstance(o, Tensor) else o for o in outs)

    def rerun(self, graphed: bool) -> tuple:
        """The segment's forward again, recording, on fresh leaves of the same argument values
        (on the arguments themselves in a ``create_graph`` backward, so the gradients it
        records depend on them)."""
        gen = _random.default_generator()
        now = gen.bit_generator.state
        if self.rng is not None:
            gen.bit_generator.state = self.rng
        try:
            leaves = list(self.args) if graphed else [
                a.detach().requires_grad_(a.requires_grad) if isinstance(a, Tensor) else a for a in self.leaves]
            since = base.bump()
            with graph.enable_grad():
                outs, _ = _outputs(self.fn(*leaves, **self.kwargs))
        finally:
            if self.rng is not None:
                gen.bit_generator.state = now
        meta = [(o._data.shape, o._data.dtype) if isinstance(o, Tensor) else None for o in outs]
        if self.meta is not None and meta != self.meta:
            raise RuntimeError(f"checkpoint: recomputing the segment gave outputs {meta}, the first run gave "
                               f"{self.meta}; the function must compute the same thing every time it is called")
        return leaves, outs, since

    def grads(self, gs: tuple) -> tuple:
        """dL/d(each argument Tensor, then each boundary tensor), from the outputs' cotangents."""
        graphed = graph.is_grad_enabled()  # a create_graph backward: record the recomputed sweep
        leaves, outs, since = self.rerun(graphed)
        ins = [t for t in leaves if isinstance(t, Tensor)] + self.boundary
        mine = {id(t) for t in ins}
        wanted = [t for t in ins if t.requires_grad]
        pairs = [(o, g) for o, g in zip(outs, gs) if isinstance(o, Tensor) and o.requires_grad and g is not None]
        orders = [[t for t in checked_order(o) if t._op is None or id(t) in mine or t._stamp > since]
                  for o, _ in pairs]
        if graphed:
            from .. import higher
            found = higher.grads([o for o, _ in pairs], [g for _, g in pairs], orders, wanted) if pairs else {}
        else:
            found = {}
            ctx = _Collect({id(t): t for t in wanted}, found)
            st = graph.state
            lazy, st.lazy = st.lazy, False  # (inside a default backward: plain arrays here, not factors)
            try:
                for (o, g), order in zip(pairs, orders):
                    seed = np.asarray(g._data, dtype=o._data.dtype)
                    graph.backward(o, seed, fit, None, ctx, order, writes=False)
            finally:
                st.lazy = lazy
        return tuple(found.get(id(t)) if t.requires_grad else None for t in ins)


class _Checkpoint(Function):
    @staticmethod
    def forward(ctx: Any, segment: _Segment, *tensors: Tensor) -> Any:
        ctx.segment = segment
        return segment.values if len(segment.values) != 1 else segment.values[0]

    @staticmethod
    def backward(ctx: Any, *gs: Any) -> tuple:
        return (None,) + ctx.segment.grads(gs)


def checkpoint(function: Callable, *args: Any, use_reentrant: Optional[bool] = None, context_fn: Any = None,
               determinism_check: str = "default", debug: bool = False, preserve_rng_state: bool = True,
               **kwargs: Any) -> Any:
    """``function(*args, **kwargs)``, keeping none of its intermediate values for the backward,
    which recomputes them (see the module docstring). ``use_reentrant`` (True, False or None)
    and ``debug`` are accepted; both of torch's variants give the same gradients here, with
    parameters, closed-over tensors and keyword tensors included. ``determinism_check``:
    ``"default"`` (recomputed outputs must match the first run's shapes and dtypes) or
    ``"none"``."""
    if not callable(function):
        raise TypeError(f"checkpoint: function must be callable, got {type(function).__name__}")
    if use_reentrant is not None:
        check_bool("checkpoint", "use_reentrant", use_reentrant)
    check_bool("checkpoint", "preserve_rng_state", preserve_rng_state)
    check_bool("checkpoint", "debug", debug)
    if context_fn is not None:
        raise NotImplementedError("checkpoint: context_fn is not supported")
    if determinism_check not in ("default", "none"):
        raise ValueError(f"checkpoint: determinism_check must be 'default' or 'none', got {determinism_check!r}")
    if not graph.is_grad_enabled():
        return function(*args, **kwargs)
    segment = _Segment(function, args, kwargs, bool(preserve_rng_state))
    if determinism_check == "none":
        segment.meta = None  # type: ignore[assignment]
    tensors = [t for t in segment.leaves if isinstance(t, Tensor)] + segment.boundary
    originals = [a for a in args if isinstance(a, Tensor)] + segment.boundary
    if not any(t.requires_grad for t in tensors):
        return _pytree.unflatten(segment.spec, list(segment.values))
    out = _Checkpoint.apply(segment, *originals)
    return _pytree.unflatten(segment.spec, list(out) if len(segment.values) != 1 else [out])


def checkpoint_sequential(functions: Any, segments: int, input: Any, use_reentrant: Optional[bool] = None,
                          **kwargs: Any) -> Any:
    """Run ``functions`` (a ``Sequential`` or a list of modules/callables) on ``input`` in
    ``segments`` consecutive chunks, each but the last under ``checkpoint``."""
    if isinstance(functions, (str, bytes)) or not (hasattr(functions, "children") or hasattr(functions, "__iter__")):
        raise TypeError("checkpoint_sequential: functions must be a Sequential or a list of modules/callables, "
                        f"got {type(functions).__name__}")
    fns = list(functions.children()) if hasattr(functions, "children") else list(functions)
    for i, f in enumerate(fns):
        if not callable(f):
            raise TypeError(f"checkpoint_sequential: functions[{i}] is a {type(f).__name__}, not a callable")
    if isinstance(segments, bool) or not isinstance(segments, int) or not 1 <= segments:
        raise ValueError(f"checkpoint_sequential: segments must be an int >= 1, got {segments!r}")
    size = max(1, len(fns) // segments)

    def run(chunk: list) -> Callable:
        def go(x: Any) -> Any:
            for f in chunk:
                x = f(x)
            return x
        return go

    end = 0
    x = input
    for start in range(0, len(fns) - size, size)[:segments - 1]:
        end = start + size
        x = checkpoint(run(fns[start:end]), x, use_reentrant=use_reentrant, **kwargs)
    return run(fns[end:])(x)
