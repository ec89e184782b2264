"""The graph walker shared by the scalar engine (`Value`) and the tensor engine (`Tensor`),
and the per-thread recording state (grad mode, running modules, anomaly mode).

A node is any object with these attributes:

* ``_parents``: tuple of parent nodes (empty for a leaf);
* ``_op``: ``None`` for a leaf, else an op object with ``name``, ``rule`` and ``vjp(node, g)``;
  ``vjp`` returns one cotangent per parent (``None`` where no gradient is needed);
* ``requires_grad``: only nodes with ``requires_grad`` take part in backward;
* ``grad``: the gradient stored after backward;
* ``_accumulate(g)``: how a leaf adds ``g`` to its ``grad``;
* ``_internal``: true on a node nobody outside the graph can reach (its ``grad`` is not written).

The walker knows nothing about numpy. Given the root and its seed cotangent it

1. orders the graph topologically, iteratively (no recursion, so a chain of a million
   nodes is fine);
2. visits nodes from the root towards the leaves, popping each node's pending cotangent
   ``dL/dnode`` from a dict, so memory of a cotangent is released as soon as it is used;
3. applies the chain rule ``dL/dparent += vjp(dL/dnode)``; a node used twice sums both
   contributions;
4. stores ``dL/dnode`` in ``node.grad`` for every non-leaf (overwritten, it is the latest
   backward's gradient) and ACCUMULATES it into leaves, after the whole pass succeeded.

A Value graph (numbers, ``_scalar`` nodes) without a trace takes a shorter road through
step 2-4: every node's ``grad`` starts at -0.0 and each cotangent is added straight into
it, as micrograd does, with no dict of pending ones; each leaf then adds this backward's
total to the gradient it had. The bits are those of the general walk (which a trace takes).

Hooks make the one walker serve every pass: ``fit(parent, g)`` reduces a cotangent to its
parent's shape (numpy broadcasting for tensors, nothing for scalars); ``trace(node, g,
grads)`` sees each step (the backward trace of ``tl.viz``); ``ctx`` is a per-backward
object whose ``visit(node, g, grads)`` sees each step's full-shape cotangents before
``fit`` (per-sample bookkeeping keeps the sample axis there) and whose ``finish(leaves)``
runs after the sweep, before any leaf is written. A ``create_graph=True`` backward (``higher``)
runs this same walker over stand-ins of the nodes whose op is each op's vjp on Tensors.

Recording state is per thread, as in PyTorch: ``no_grad`` in one thread leaves other
threads recording.
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import threading
from operator import attrgetter
from typing import Any, Callable, Iterator, Optional

__all__ = ["toposort", "backward", "no_grad", "inference_mode", "enable_grad", "is_grad_enabled", "set_grad_enabled",
           "is_inference_mode_enabled", "state"]


class _State(threading.local):
    """Per-thread recording state. ``grad``: graphs are recorded; ``modules``: the modules
    running forward (outermost first); ``anomaly``: ``detect_anomaly`` is active."""

    def __init__(self) -> None:
        self.grad = True
        self.modules: list = []
        self.anomaly = False
        self.inference = False  # inside an ``inference_mode()`` block
        self.lazy = False  # inside a default (per-sample) backward: weight gradients may stay factored

    @contextlib.contextmanager
    def running(self, module: Any) -> Iterator[None]:
        """``module`` on the running-module stack for the block (a forward with hooks)."""
        self.modules.append(module)
        try:
            yield
        finally:
            self.modules.pop()


state = _State()


# A backward's mode -> ``state.lazy`` during it: what ``ops.fused.Linear`` may keep as factors (all
# of a batched input's weight gradients in the per-sample "rows" mode; in a backward that keeps
# nothing per sample, those of SGD-held weights, which the step applies from the factors)
LAZY = {"rows": True, "plain": "plain"}


def is_grad_enabled() -> bool:
    """True unless inside a ``no_grad()`` block (of this thread)."""
    return state.grad


def is_inference_mode_enabled() -> bool:
    """True inside an ``inference_mode()`` block (of this thread), as torch's."""
    return state.inference


class ThreadFlag:
    """Context manager (and decorator) that sets one per-thread flag of ``state`` (named by
    ``attr``) to ``mode`` and restores the previous value on exit; nesting and overlapping
    blocks restore exactly."""

    attr = "grad"

    def __init__(self, mode: bool = True) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"{type(self).__name__}: mode must be a bool, got {type(mode).__name__}")
        self._init(mode)

    def _init(self, mode: bool) -> "ThreadFlag":
        self._mode = mode
        self._prev: list = []
        self._applied = False  # the mode was set at construction (set_grad_enabled), not yet entered
        return self

    def __enter__(self) -> "ThreadFlag":
        if self._applied:  # set when constructed: entering keeps it, exiting restores
            self._applied = False
            return self
        self._prev.append(getattr(state, self.attr))
        setattr(state, self.attr, self._mode)
        return self

    def __exit__(self, *exc: Any) -> None:
        setattr(state, self.attr, self._prev.pop())

    def __call__(self, fn: Callable) -> Callable:
        if not callable(fn):
            raise TypeError(f"{type(self).__name__} decorates a function, got {type(fn).__name__}")
        if self._applied:  # a decorator acts when the function runs: undo the construction's effect
            self._applied = False
            setattr(state, self.attr, self._prev.pop())
        mode = self._mode
        cls = type(self)

        if inspect.isgeneratorfunction(fn):  # the mode holds while the generator's body runs
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                gen = fn(*args, **kwargs)
                send, value = gen.send, None
                while True:
                    try:
                        with object.__new__(cls)._init(mode):
                            out = send(value)
                    except StopIteration as stop:
                        return stop.value
                    try:
                        value, send = (yield out), gen.send
                    except GeneratorExit:
                        with object.__new__(cls)._init(mode):
                            gen.close()
                        raise
                    except BaseException as exc:  # thrown in: pass it to the wrapped generator
                        value, send = exc, gen.throw
        else:
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                with object.__new__(cls)._init(mode):
                    return fn(*args, **kwargs)

        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__doc__ = getattr(fn, "__doc__", None)
        wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
        return wrapper


class set_grad_enabled(ThreadFlag):
    """Sets graph recording to ``mode`` in this thread, as PyTorch's: at once when called
    (``set_grad_enabled(False)`` as a statement turns recording off until turned on again);
    as a context manager the previous mode comes back on exit; as a decorator the mode
    holds while the function runs."""

    def __init__(self, mode: bool) -> None:
        super().__init__(mode)
        self._prev.append(state.grad)
        state.grad = mode
        self._applied = True


class _FixedMode(set_grad_enabled):
    """A grad-mode block whose mode is fixed by its class (``_fixed``): used bare as a
    decorator, called with no arguments as a context manager or decorator."""

    _fixed = False

    def __new__(cls, fn: Any = None) -> Any:
        self = object.__new__(cls)._init(cls._fixed)
        if callable(fn):  # bare @no_grad
            return self(fn)
        if fn is not None:
            raise TypeError(f"{cls.__name__} takes no arguments (or decorates a function), got {type(fn).__name__}")
        return self

    def __init__(self, fn: Any = None) -> None:
        pass


class no_grad(_FixedMode):
    """Context manager (and decorator, with or without parentheses): nothing built inside
    it records a graph, in this thread.

    >>> with no_grad():
    ...     y = x * 2          # y.requires_grad is False, y has no parents
    """

    _fixed = False


class inference_mode(_FixedMode):
    """torch's ``inference_mode`` (context manager and decorator, bare or called): inside it
    nothing records a graph (as ``no_grad``) and ``is_inference_mode_enabled()`` is True;
    ``inference_mode(False)`` turns recording on and inference mode off inside, as torch's."""

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode) and not isinstance(mode, bool):  # bare @inference_mode
            return object.__new__(cls)._init(False)(mode)
        if not isinstance(mode, bool):
            raise TypeError(f"inference_mode: mode must be a bool, got {type(mode).__name__}")
        return object.__new__(cls)._init(not mode)  # (the recording mode inside)

    def __enter__(self) -> "ThreadFlag":
        self.__dict__.setdefault("_was", []).append(state.inference)
        state.inference = not self._mode
        return super().__enter__()

    def __exit__(self, *exc: Any) -> None:
        super().__exit__(*exc)
        state.inference = self._was.pop()


class enable_grad(_FixedMode):
    """Context manager (and decorator): graph recording back on inside a ``no_grad`` block."""

    _fixed = True


def toposort(root: Any, every: bool = False, versions: bool = False) -> list:
    """Nodes reachable from ``root``, parents first: through ``requires_grad`` nodes (what a
    backward visits), or with ``every=True`` through all parents, constants included, the
    first parent's subgraph before the second's (what pictures and traces show).

    With ``versions=True`` (a Tensor graph's backward) it also refuses a graph whose values
    changed in place after they were used: an op node's ``_stamp`` is the version clock
    when it was built, a value's ``_v`` the clock when its data last changed
    (``RuntimeError`` when ``_v > _stamp``). Stamps are unique and grow with creation, so
    that order is the leaves, then the op nodes sorted by stamp: one visit per node and a
    sort, instead of a depth-first search that visits every node twice.

    Otherwise an iterative depth-first search: a node being expanded is pushed back with a
    marker above it, then its parents; it is emitted when the marker is popped, after all
    its parents (at once when all its parents are already done).
    """
    if versions and not every:
        return _by_stamp(root)
    order: list = []
    seen: set = set()
    stack: list = [root]
    push = stack.append
    pop = stack.pop
    emit = order.append
    mark = seen.add
    while stack:
        node = pop()
        if node is _MARK:  # everything pushed after the marker is done: emit its node
            emit(pop())
            continue
        if node in seen:
            continue
        mark(node)
        if every:
            push(node)
            push(_MARK)
            for p in reversed(node._parents):
                if p not in seen:
                    push(p)
            continue
        waits = False  # a node whose parents are all done is emitted at once (no marker)
        for p in node._parents:
            if p._rg:
                if p not in seen:
                    if not waits:
                        waits = True
                        push(node)
                        push(_MARK)
                    push(p)
            elif p._op is not None:
                raise flag_cleared(node, p)
        if not waits:
            emit(node)
    return order


_MARK = object()  # pushed above a node being expanded, in toposort's stack


def flag_cleared(node: Any, p: Any) -> RuntimeError:
    """The error for a value an op made whose ``requires_grad`` was then set to False by hand
    (torch refuses that assignment): the gradient through it would be silently cut."""
    return RuntimeError(
        f"backward: a value made by op '{p._op.name}' (used by op '{node._op.name}') had its requires_grad set to "
        "False after it was built; only a leaf's flag can change (as in torch), so the gradient through it would "
        "be cut silently. Use .detach() for a value that needs no gradient, and keep requires_grad as it was")


_STAMP = attrgetter("_stamp")


def values_unread(node: Any, p: Any) -> bool:
    """Whether ``node``'s op never reads the values of its parent ``p`` (only its shape and
    dtype, as an embedding lookup's gradient needs of the table): every position of ``p``
    among the parents is in the op's ``unread``, so an in-place change of ``p`` after the
    node was built does not make ``node``'s gradient wrong. (If ``p``'s own op reads its
    output, ``ops.base.check_writes`` refuses that change at ``p``.)"""
    unread = getattr(node._op, "unread", ())
    return bool(unread) and all(i in unread for i, q in enumerate(node._parents) if q is p)


def _by_stamp(root: Any) -> list:
    """``toposort(root, versions=True)``: the leaves, then the op nodes by creation stamp."""
    leaves: list = []
    nodes: list = []
    seen = {root}
    stack = [root]
    pop = stack.pop
    push = stack.append
    mark = seen.add
    while stack:
        node = pop()
        if node._op is None:
            leaves.append(node)
            continue
        nodes.append(node)
        stamp = node._stamp
        if node._v > stamp and node._v != getattr(node, "_moved", 0) and getattr(node._op, "reads_output", False):
            from .ops.base import output_changed  # (its own output, which its gradient reads, changed)
            raise output_changed(node)
        for p in node._parents:
            if p._v > stamp and (not values_unread(node, p) or getattr(p, "_moved", 0) > stamp):
                raise RuntimeError(
                    f"backward: a value of shape {getattr(p, 'shape', ())} used by op '{node._op.name}' was changed "
                    "in place (by an in-place op such as add_ or relu_, an assignment to .data, or an optimizer step) "
                    "after the graph was built; its gradient would be computed at the wrong point. Recompute the "
                    "forward pass")
            if p._rg:
                if p not in seen:
                    mark(p)
                    push(p)
            elif p._op is not None:
                raise flag_cleared(node, p)
    nodes.sort(key=_STAMP)
    leaves += nodes
    return leaves


def backward(root: Any, seed: Any, fit: Optional[Callable[[Any, Any], Any]] = None,
             trace: Optional[Callable[[Any, Any, tuple], None]] = None, ctx: Any = None,
             order: Optional[list] = None, writes: bool = True, hooks: bool = True) -> None:
    """Reverse-mode sweep from ``root`` with cotangent ``seed`` (dL/droot).

    ``fit(parent, g)`` reduces a cotangent to the parent's shape; ``trace(node, g, grads)``,
    if given, is called after each node's vjp with the cotangent it received and the ones
    it sends to its parents; ``ctx.visit(node, g, grads)`` likewise, before ``fit``, and
    ``ctx.finish(leaves)`` after the sweep (it may raise: then no leaf is written). With
    ``writes=False`` the ctx takes the cotangents itself: no ``.grad`` is written at all.
    ``order`` is ``toposort(root)`` when the caller already has it. With ``hooks=False`` no
    user hook runs (a picture's own sweep: looking at a graph must not call user code).
    """
    # Python's cycle collector is paused for the sweep: it allocates many short-lived objects
    # but creates no reference cycles, and would otherwise re-scan a large graph many times
    was_on = gc.isenabled()
    if was_on:
        gc.disable()
    try:
        _sweep(root, seed, fit, trace, ctx, toposort(root) if order is None else order, writes, hooks)
    finally:
        if was_on:
            gc.enable()


# held while a leaf adds a gradient to its .grad and during a scalar (Value) sweep, whose nodes'
# grads are its scratch: backward calls from several threads on shared leaves or one graph add up
ACCUMULATE = threading.RLock()

# Hooks of Tensors (``hooks.py`` fills it): id(tensor) -> (weak ref, weak ref to {id: fn}); the sweep
# looks at it only when it is not empty
TENSOR_HOOKS: dict = {}
# Post-accumulate hooks of leaves (``register_post_accumulate_grad_hook``): id(tensor) -> (weak ref,
# weak ref to {id: fn}); read once per backward, after each leaf's gradient was added to ``.grad``
POST_HOOKS: dict = {}


def _hooks() -> Any:
    from . import hooks

    return hooks


def _sweep(root: Any, seed: Any, fit: Optional[Callable[[Any, Any], Any]],
           trace: Optional[Callable[[Any, Any, tuple], None]], ctx: Any, order: list, writes: bool,
           hooks: bool = True) -> None:
    if fit is None and trace is None and ctx is None and writes and not TENSOR_HOOKS and getattr(root, "_scalar", 0):
        # a Value graph (numbers: no shapes to fit, no hooks): each cotangent is added straight
        # into its node's grad, as micrograd does, without a table of pending ones. Every node
        # starts at -0.0, which keeps the first cotangent as it is (-0.0 + x == x, also for
        # x = +-0.0); then each leaf adds this backward's total to the grad it had before
        with ACCUMULATE:  # (the nodes' grads are this sweep's scratch: one scalar sweep at a time)
            kept = []
            for node in order:
                if node._op is None:
                    kept.append((node, node._grad))
                node._grad = -0.0
            root._grad = seed
            for node in reversed(order):
                op = node._op
                if op is not None:
                    for p, gp in zip(node._parents, op.vjp(node, node._grad)):
                        if p._rg:
                            p._grad += gp
            for leaf, before in kept:
                leaf._grad = before + leaf._grad
        return
    pending = {root: seed}
    pop = pending.pop
    visit = ctx.visit if ctx is not None else None
    hooked = trace is not None or visit is not None
    user = (TENSOR_HOOKS or None) if hooks else None  # register_hook / module backward hooks (usually none)
    sweep = object() if user is not None else None
    leaves = []
    for node in reversed(order):
        g = pop(node, None)
        if g is None:
            continue
        if user is not None:
            entry = user.get(id(node))
            if entry is not None and entry[0]() is node:
                g = _hooks().run(node, g, entry[1]() or {}, pending, sweep)
                if g is None:
                    continue
        op = node._op
        if op is None:
            leaves.append((node, g))
            if trace is not None:
                trace(node, g, ())
            continue
        if writes and not node._internal:
            node._grad = g  # a non-leaf's .grad: the latest backward's gradient (not kept on the
            # former nodes of in-place writes, which nobody outside the graph can reach)
        grads = op.vjp(node, g)
        if hooked:
            if trace is not None:
                trace(node, g, grads)
            if visit is not None:
                visit(node, g, grads)
        for p, gp in zip(node._parents, grads):
            if gp is None or not p._rg:
                continue
            if fit is not None:
                d = p._data  # a Tensor: fit only a cotangent of another shape or dtype
                if gp.shape != d.shape or gp.dtype is not d.dtype:
                    gp = fit(p, gp)
            if p in pending:
                pending[p] = pending[p] + gp
            else:
                pending[p] = gp
    if ctx is not None:
        ctx.finish(leaves)
        if not writes:
            return
    post = (POST_HOOKS or None) if hooks else None
    unknown = ctx is None and not getattr(root, "_scalar", 0)  # (a Tensor pass without batched input)
    for leaf, g in leaves:
        leaf._accumulate(g)
        if unknown:
            leaf._last_batch = None  # (its batch is unknown, as ctx.finish records for such a pass)
        if post is not None and id(leaf) in post:
            _hooks().after_accumulate(leaf)
