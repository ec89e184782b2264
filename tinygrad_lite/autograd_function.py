r"""``tl.autograd.Function``: an op whose forward and backward the user writes (PyTorch's API).

A subclass defines two static methods and is used through ``apply``::

    class Exp(tl.autograd.Function):
        @staticmethod
        def forward(ctx, x):            # Tensors in, Tensor(s) out; runs without recording
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):           # one cotangent per output, one gradient per input
            (y,) = ctx.saved_tensors
            return g * y                # dL/dx = dL/dy * exp(x)

    y = Exp.apply(x)

The graph records ONE node for the call, whose vjp is the user's ``backward``: for each
forward argument ``x_j`` it returns ``dL/dx_j = sum_k (dL/dy_k)^T dy_k/dx_j`` (or ``None``).
torch's rules hold: ``ctx.save_for_backward`` / ``ctx.saved_tensors`` (a saved tensor
changed in place before the backward is refused), ``ctx.needs_input_grad``,
``ctx.mark_non_differentiable``, ``ctx.set_materialize_grads`` (a bool), ``ctx.save_for_forward``
(kept apart in ``ctx.saved_for_forward``: forward mode here runs through ``backward``), any other attribute on
``ctx``; the new style (``forward`` without ``ctx`` plus ``setup_context(ctx, inputs,
output)``); ``vjp`` as another name of ``backward``; a gradient with a broadcast shape is
summed to its input's shape, another shape raises naming the Function.

Higher order: with ``create_graph=True`` the user's ``backward`` runs recording, so a
backward written with Tensor ops is differentiated again (``once_differentiable`` refuses).

Per-sample gradients: the node keeps the batch state the forward's own ops computed
(row b of a BATCHED output depends on row b of the inputs only). A parameter fed directly
into the Function from a batched input gets its per-sample gradient, on read, from ``B``
calls of ``backward`` with the cotangent of one sample each (the vjp is linear in it). An
output whose batch state the forward lost (numpy on ``.data``) or that reduces over the
sample axis is MIXED: ``.grad`` is filled, reading per-sample gradients raises naming the
Function. Several differentiable outputs are packed in one node and sliced out of it.

This module touches only the nodes it builds; ``ctx`` lives on the node.
"""

from __future__ import annotations

import functools
import inspect
import math
from typing import Any, Callable, Optional

import numpy as np

from . import graph
from .batchstate import BATCHED, MIXED, STAT, fit, mixed
from .ops import base
from .persample import Rows
from .tensor import Tensor

__all__ = ["Function", "FunctionCtx", "once_differentiable"]


class FunctionCtx:
    """The ``ctx`` of one ``apply``: what ``forward`` keeps for ``backward``."""

    def __init__(self, needs: tuple) -> None:
        self.needs_input_grad = needs
        self.materialize_grads = True
        self._saved: tuple = ()
        self._versions: tuple = ()
        self.saved_for_forward: tuple = ()
        self._nondiff: set = set()
        self._name = "Function"

    def save_for_backward(self, *tensors: Any) -> None:
        """Keep ``tensors`` (Tensors or None) for ``backward`` (``ctx.saved_tensors``)."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"{self._name}.save_for_backward: argument {i} is a {type(t).__name__}; only "
                                "Tensors or None can be saved (keep other values as attributes of ctx)")
        self._saved = tensors
        self._versions = tuple(None if t is None else t._v for t in tensors)

    def save_for_forward(self, *tensors: Any) -> None:
        """Keep ``tensors`` (Tensors or None) for a forward-mode ``jvp``, as torch: they are
        ``ctx.saved_for_forward`` and do not change ``ctx.saved_tensors`` (which keeps what
        ``save_for_backward`` saved). Forward-mode derivatives here (``tl.autograd.forward_ad``)
        are computed from the Function's ``backward`` by a double reverse sweep, never by a
        ``jvp`` method, so nothing reads them; code written for torch that saves them runs
        unchanged."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"{self._name}.save_for_forward: argument {i} is a {type(t).__name__}; only "
                                "Tensors or None can be saved (keep other values as attributes of ctx)")
        self.saved_for_forward = tensors

    @property
    def saved_tensors(self) -> tuple:
        """The tensors given to ``save_for_backward``; refused if one changed in place since."""
        for t, v in zip(self._saved, self._versions):
            if t is not None and t._v != v:
                raise RuntimeError(f"{self._name}.backward: a tensor of shape {t.shape} saved with "
                                   "save_for_backward was changed in place after it was saved; its gradient would "
                                   "be computed at the wrong point")
        return self._saved

    def mark_non_differentiable(self, *tensors: Any) -> None:
        """Outputs that get no gradient (indices, masks): returned without requiring grad, and
        ``backward`` receives zeros (or None, see ``set_materialize_grads``) for them."""
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise RuntimeError(f"{self._name}.mark_non_differentiable: argument {i} is a {type(t).__name__}; "
                                   "only the Tensors forward returns can be marked")
        self._nondiff.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        """``True`` (the default): an output that received no gradient is given zeros in
        ``backward``; ``False``: None. As torch, ``value`` must be a Python bool (0, 1, numpy
        bools and bool Tensors are refused with a TypeError, nothing changed)."""
        if not isinstance(value, bool):
            raise TypeError(f"{self._name}.set_materialize_grads: value must be a bool, got "
                            f"{type(value).__name__} {value!r}")
        self.materialize_grads = value

    def mark_dirty(self, *tensors: Any) -> None:
        raise RuntimeError(f"{self._name}: mark_dirty (a Function changing its input in place) is not supported; "
                           "return a new tensor from forward instead")


def once_differentiable(fn: Callable) -> Callable:
    """Decorator of a ``backward`` that is not itself differentiable: a ``create_graph=True``
    backward through it raises instead of silently losing the second-order terms."""
    @functools.wraps(fn)
    def wrapper(ctx: Any, *grads: Any) -> Any:
        if graph.state.grad and any(isinstance(g, Tensor) and g.requires_grad for g in grads):
            raise RuntimeError(f"{ctx._name}.backward is marked once_differentiable: it cannot be differentiated "
                               "again (create_graph=True)")
        with graph.no_grad():
            return fn(ctx, *grads)

    wrapper._once = True  # type: ignore[attr-defined]
    return wrapper


class Function:
    """Base class of a user-written op (see the module docstring); call ``Fn.apply(*args)``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"{type(self).__name__}: call {type(self).__name__}.apply(...), with forward and "
                           "backward as static methods (a Function object is not called)")

    @staticmethod
    def forward(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("a Function subclass must define forward as a static method")

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Any) -> None:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        raise NotImplementedError("a Function subclass must define backward (or vjp) as a static method")

    @staticmethod
    def vjp(ctx: Any, *grad_outputs: Any) -> Any:
        raise NotImplementedError("a Function subclass must define backward (or vjp) as a static method")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` on ``args`` and record the call as one node of the graph."""
        return _apply(cls, args, kwargs)


def _user_backward(cls: type) -> Callable:
    if cls.backward is not Function.backward:
        return cls.backward
    if cls.vjp is not Function.vjp:
        return cls.vjp
    raise NotImplementedError(f"{cls.__name__}: a Function subclass must define backward (or vjp) as a static method")


def _bind(cls: type, fn: Callable, args: tuple, kwargs: dict, skip_ctx: bool) -> tuple:
    """Keyword arguments (and defaults) of ``forward`` as positional ones, as torch's apply."""
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())[1 if skip_ctx else 0:]
    try:
        bound = sig.replace(parameters=params).bind(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{cls.__name__}.apply: {e}") from None
    bound.apply_defaults()
    if bound.kwargs:
        raise TypeError(f"{cls.__name__}.apply: forward takes **kwargs, which apply cannot pass on")
    return tuple(bound.args)


def _apply(cls: type, args: tuple, kwargs: dict) -> Any:
    if cls is Function:
        raise TypeError("Function.apply: subclass Function and define forward and backward")
    new_style = cls.setup_context is not Function.setup_context
    if kwargs:
        args = _bind(cls, cls.forward, args, kwargs, not new_style)
    recording = graph.state.grad
    ctx = FunctionCtx(tuple(isinstance(a, Tensor) and a.requires_grad and recording for a in args))
    ctx._name = cls.__name__
    with graph.no_grad():
        if new_style:
            out = cls.forward(*args)
            cls.setup_context(ctx, args, out)
        else:
            out = cls.forward(ctx, *args)
    outs = out if isinstance(out, tuple) else (out,)
    parents = tuple(a for a in args if isinstance(a, Tensor))
    diff = [k for k, o in enumerate(outs) if isinstance(o, Tensor) and o._data.dtype.kind == "f"
            and id(o) not in ctx._nondiff]
    if not (recording and diff and any(p.requires_grad for p in parents)):
        return out if not ctx._nondiff else _detach_marked(out, outs, ctx)
    spec = [("d", diff.index(k)) if k in diff else ("n", o._data.shape, o._data.dtype) if isinstance(o, Tensor)
            else ("x",) for k, o in enumerate(outs)]
    op = FunctionOp(cls, ctx, [outs[k] for k in diff], spec, [k for k, a in enumerate(args) if isinstance(a, Tensor)],
                    len(args))
    bs, mix = op.state_of(parents)
    node = base.make(op.pack(bs), op, parents, None, True, bs, mix)
    made = [node] if len(diff) == 1 else [op.unpack(node, i) for i in range(len(diff))]
    result = list(outs)
    for k, t in zip(diff, made):
        result[k] = t
    # a saved output is the recorded one, so a second-order backward sees its dependence on the inputs
    swap = {id(outs[k]): t for k, t in zip(diff, made)}
    ctx._saved = tuple(swap.get(id(t), t) for t in ctx._saved)
    ctx._versions = tuple(None if t is None else t._v for t in ctx._saved)
    for k, o in enumerate(outs):
        if k not in diff and isinstance(o, Tensor) and o.requires_grad:
            result[k] = o.detach()
    return tuple(result) if isinstance(out, tuple) else result[0]


def _detach_marked(out: Any, outs: tuple, ctx: FunctionCtx) -> Any:
    res = tuple(o.detach() if isinstance(o, Tensor) and id(o) in ctx._nondiff and o.requires_grad else o
                for o in outs)
    return res if isinstance(out, tuple) else res[0]


class FunctionOp(base.Op):
    """The graph op of one ``apply``: its vjp calls the user's ``backward``."""

    local = False

    def __init__(self, cls: type, ctx: FunctionCtx, outs: list, spec: list, where: list, nargs: int) -> None:
        self.cls, self.ctx, self.spec, self.nargs, self.where = cls, ctx, spec, nargs, where
        self.name = cls.__name__
        self.rule = f"{cls.__name__}.backward (user-written)"
        self.shapes = [o._data.shape for o in outs]
        self.dtypes = [o._data.dtype for o in outs]
        self.outs = outs
        self.packed_batch = False
        self.sample_cache: dict = {}  # per-sample gradients of the parameters not read yet (_SampleCalls)

    # ---------------------------------------------------------------- forward side
    def state_of(self, parents: tuple) -> tuple:
        """The output's batch state: the one the forward's ops computed, when it is BATCHED."""
        if not any(p._bs for p in parents):
            return 0, None
        for o in self.outs:
            if o._bs & MIXED:
                return MIXED, o._mix
        lead = {o._data.shape[0] if o._data.ndim else None for o in self.outs}
        if all(o._bs == BATCHED for o in self.outs) and len(lead) == 1:
            return BATCHED, None
        why = (f"custom Function '{self.name}' reduces over the sample axis"
               if any(o._bs & STAT for o in self.outs) else
               f"custom Function '{self.name}' returned an output whose rows the forward's tensor ops did not "
               "track (computed outside them)")
        return mixed(why, *parents)

    def pack(self, bs: int) -> np.ndarray:
        """The node's data: the one differentiable output, or all of them flattened (per sample
        when batched) and joined."""
        outs, self.outs = self.outs, ()  # (the forward's outputs are not kept: the node holds the values)
        if len(outs) == 1:
            return outs[0]._data
        dt = np.result_type(*self.dtypes)
        self.packed_batch = bool(bs & BATCHED)
        if self.packed_batch:
            B = self.shapes[0][0]
            return np.concatenate([o._data.reshape(B, math.prod(o._data.shape[1:])).astype(dt, copy=False)
                                   for o in outs], 1)
        return np.concatenate([o._data.reshape(-1).astype(dt, copy=False) for o in outs])

    def _span(self, i: int) -> tuple:
        sizes = [math.prod(s[1:]) if self.packed_batch else math.prod(s) for s in self.shapes]
        start = sum(sizes[:i])
        return start, start + sizes[i]

    def unpack(self, node: Any, i: int) -> Any:
        """Output ``i`` sliced out of the packed node (recorded ops, so its cotangent flows back)."""
        a, b = self._span(i)
        t = node[:, a:b] if self.packed_batch else node[a:b]
        t = t.reshape(self.shapes[i])
        return t if t.dtype == self.dtypes[i] else t.to(self.dtypes[i])

    # ---------------------------------------------------------------- backward side
    def _cotangents(self, g: Any, on_tensors: bool) -> list:
        if len(self.shapes) == 1:
            parts = [g]
        else:
            parts = []
            for i, s in enumerate(self.shapes):
                a, b = self._span(i)
                piece = (g[:, a:b] if self.packed_batch else g[a:b]).reshape(s)
                if piece.dtype != self.dtypes[i]:  # each output's cotangent in its own dtype
                    piece = piece.to(self.dtypes[i]) if on_tensors else piece.astype(self.dtypes[i])
                parts.append(piece)
        if not on_tensors:
            # without materialized grads an output that sent no cotangent gets None, as torch; the
            # outputs share one node here, so an all-zero cotangent stands for none (the same maths)
            bare = not self.ctx.materialize_grads and len(parts) > 1
            parts = [None if bare and not np.any(p) else base.const(np.asarray(p)) for p in parts]
        return parts

    def _call(self, parts: list) -> tuple:
        """The user's backward on the outputs' cotangents ``parts`` (Tensors; zeros, or None
        without materialized grads, for a non-differentiable output; None for a non-Tensor
        one): one gradient per forward argument."""
        ctx = self.ctx
        grads = [parts[s[1]] if s[0] == "d" else
                 base.const(np.zeros(s[1], s[2])) if s[0] == "n" and ctx.materialize_grads else None
                 for s in self.spec]
        res = _user_backward(self.cls)(ctx, *grads)
        res = res if isinstance(res, tuple) else (res,)
        if len(res) > self.nargs and all(r is None for r in res[self.nargs:]):
            res = res[:self.nargs]
        if len(res) != self.nargs:
            raise RuntimeError(f"{self.name}.backward returned an incorrect number of gradients (expected "
                               f"{self.nargs}, one per forward argument, got {len(res)})")
        for j, r in enumerate(res):
            if r is not None and j not in self.where:
                raise RuntimeError(f"{self.name}.backward returned a gradient (not None) at index {j}, but forward's "
                                   "argument there is not a Tensor")
        return res

    def _check(self, j: int, r: Any, p: Any, on_tensors: bool) -> Any:
        if r is None:
            return None
        arr = r._data if isinstance(r, Tensor) else np.asarray(r)
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"{self.name}.backward returned a gradient of dtype {arr.dtype} at index {j} "
                            f"(a {type(r).__name__}); expected a Tensor, an array of numbers or None")
        if on_tensors and not isinstance(r, Tensor):
            r = base.const(arr.astype(p._data.dtype))
        want = p._data.shape
        if not base.broadcasts_to(want, arr.shape):
            raise RuntimeError(f"{self.name}.backward returned an invalid gradient at index {j}: got shape "
                               f"{arr.shape}, expected a shape compatible with {want}")
        if on_tensors:
            return r
        return arr if arr.dtype == p._data.dtype else arr.astype(p._data.dtype)

    def _once(self, node: Any, g: Any) -> tuple:
        with graph.no_grad():
            res = self._call(self._cotangents(g, False))
        out = []
        for j, p in zip(self.where, node._parents):
            r = self._check(j, res[j], p, False)
            out.append(None if r is None or not p.requires_grad else r)
        return tuple(out)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        k = g.ndim - node._data.ndim
        if k <= 0:
            return self._once(node, np.asarray(g))
        # a stack of per-sample cotangents (leading axes): one backward call per slice
        lead = g.shape[:k]
        slices = [self._once(node, g[idx]) for idx in np.ndindex(*lead)]
        out = []
        for i, p in enumerate(node._parents):
            if all(s[i] is None for s in slices):
                out.append(None)
                continue
            rows = [np.zeros(p._data.shape, p._data.dtype) if s[i] is None else fit(p, s[i]) for s in slices]
            out.append(np.stack(rows).reshape(lead + p._data.shape))
        return tuple(out)

    def tvjp(self, node: Any, g: Any) -> tuple:
        if getattr(_user_backward(self.cls), "_once", False):  # values now, an error if differentiated again
            # (as torch: constants unless the cotangent itself requires grad, whose path then raises)
            grads, delayed = self.vjp(node, g._data), _Delayed(self.name)
            return tuple(None if r is None else base.make(np.asarray(r), delayed, (g,), None, g._rg) for r in grads)
        res = self._call(self._cotangents(g, True))
        return tuple(self._check(j, res[j], p, True) if p.requires_grad else None
                     for j, p in zip(self.where, node._parents))

    def sample_rows(self, node: Any, g: np.ndarray, i: int, scale: float) -> Optional[Rows]:
        """Per-sample gradient of the unbatched parent ``i``: built on read from B backward calls."""
        return _SampleCalls(self, node, np.asarray(g), i, scale)


class _Delayed(base.Op):
    """The op of a gradient a ``once_differentiable`` backward computed under ``create_graph=True``:
    its values are right, and a backward that reaches it raises (it cannot be differentiated)."""

    def __init__(self, fn: str) -> None:
        self.fn = fn
        self.name = "once_differentiable"
        self.rule = f"{fn}.backward is marked once_differentiable: no derivative"

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        raise RuntimeError(f"trying to differentiate twice a function that was marked with once_differentiable "
                           f"({self.fn}.backward)")

    tvjp = vjp


class _SampleCalls(Rows):
    """``S[b] = scale * vjp_i(g restricted to sample b)``: exact, since a vjp is linear in its
    cotangent; built only when read, one user ``backward`` call per sample, whose results for
    the node's other unbatched parents are kept until their rows are read."""

    __slots__ = ("op", "node", "g", "i")

    def __init__(self, op: FunctionOp, node: Any, g: np.ndarray, i: int, scale: float) -> None:
        p = node._parents[i]
        self.op, self.node, self.g, self.i = op, node, g, i
        self.scale, self.shape, self.dtype, self.B = scale, p._data.shape, p._data.dtype, g.shape[0]

    def dense(self, out: Optional[np.ndarray] = None) -> np.ndarray:
        cache = self.op.sample_cache
        if cache.get("g") is not self.g or self.i not in cache:
            cache.clear()
            cache["g"] = self.g
            parents = self.node._parents
            want = [j for j, p in enumerate(parents) if p.requires_grad and not p._bs & BATCHED]
            for j in want:
                cache[j] = np.zeros((self.B,) + parents[j]._data.shape, parents[j]._data.dtype)
            for b in range(self.B):
                gb = np.zeros_like(self.g)
                gb[b] = self.g[b]
                res = self.op._once(self.node, gb)
                for j in want:
                    if res[j] is not None:
                        cache[j][b] = fit(parents[j], res[j])
        S = cache.pop(self.i)
        if len(cache) == 1:  # every kept part was read
            cache.clear()
        if self.scale != 1.0:
            S *= self.scale
        if out is not None:
            out[...] = S
            return out
        return S
